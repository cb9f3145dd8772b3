package tokenizer

// Decoding follows HF's Tokenizer::decode with the ByteLevel decoder: each
// id becomes its token (an added token's content, normalized if the token
// is, else the vocabulary token); ids that are neither are skipped silently, as HF's id_to_token
// returning None skips them; special tokens are dropped when skipSpecial;
// the tokens' bytes are joined and turned into text with invalid UTF-8
// replaced as String::from_utf8_lossy does.

// pieceBytes returns the bytes id stands for and whether it is dropped
// (unknown id, or special while skipping them).
func (t *Tokenizer) pieceBytes(id int, skipSpecial bool) ([]byte, bool) {
	if id < 0 || id >= len(t.pieces) || t.pieces[id] == nil {
		return nil, false
	}
	if skipSpecial && t.special[id] {
		return nil, false
	}
	return t.pieces[id], true
}

// buildPieces precomputes the bytes of every id (nil for ids that do not
// exist; byteLevelDecode never returns nil). Like HF (0.23), an added token
// with normalized=true is decoded from its normalized content, and an id is
// special when its token string is the content of a special added token.
func (t *Tokenizer) buildPieces() {
	n := t.VocabSize()
	t.pieces = make([][]byte, n)
	t.special = make([]bool, n)
	t.addedForm = make(map[int]string, len(t.added))
	specials := make(map[string]bool)
	for _, a := range t.added {
		if a.Special {
			specials[a.Content] = true
		}
	}
	for id, tok := range t.tokens {
		if t.known[id] {
			t.pieces[id] = byteLevelDecode(tok)
			t.special[id] = specials[tok]
		}
	}
	for id, a := range t.added {
		tok := a.Content
		if a.Normalized && t.normalize != nil {
			tok = t.normalize(tok)
		}
		t.addedForm[id] = tok
		t.pieces[id] = byteLevelDecode(tok)
		t.special[id] = specials[tok]
	}
}

// Decode returns the text of ids.
func (t *Tokenizer) Decode(ids []int, skipSpecial bool) string {
	buf := make([]byte, 0, len(ids)*4)
	for _, id := range ids {
		if p, ok := t.pieceBytes(id, skipSpecial); ok {
			buf = append(buf, p...)
		}
	}
	return lossyString(buf)
}

// StreamDecoder decodes ids one at a time, as a model generates them. It
// holds back the bytes of a UTF-8 sequence that is not complete yet (a
// character split over several tokens) until it is whole, or until a byte
// that cannot continue it arrives, at which point it becomes U+FFFD as in
// Decode. The texts returned by Add and Flush, joined, equal Decode of all
// the ids.
type StreamDecoder struct {
	t *Tokenizer
	// SkipSpecial drops special tokens, like Decode's skipSpecial.
	SkipSpecial bool
	held        []byte
	out         []byte
}

// NewStreamDecoder returns a StreamDecoder that keeps special tokens; set
// its SkipSpecial field to drop them.
func (t *Tokenizer) NewStreamDecoder() *StreamDecoder {
	return &StreamDecoder{t: t}
}

// Add takes the next id and returns the text that is complete so far (may
// be "").
func (d *StreamDecoder) Add(id int) string {
	p, ok := d.t.pieceBytes(id, d.SkipSpecial)
	if !ok || len(p) == 0 {
		return ""
	}
	d.held = append(d.held, p...)
	var held int
	d.out, held = appendLossy(d.out[:0], d.held, false)
	d.held = append(d.held[:0], d.held[len(d.held)-held:]...)
	return string(d.out)
}

// Flush returns whatever is held back, lossily decoded, and resets the
// decoder for a new stream.
func (d *StreamDecoder) Flush() string {
	var s string
	if len(d.held) > 0 {
		s = lossyString(d.held)
	}
	d.held = d.held[:0]
	return s
}
