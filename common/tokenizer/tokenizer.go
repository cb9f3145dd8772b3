// Package tokenizer is a byte-level BPE tokenizer that reads HuggingFace
// tokenizer.json files, such as GPT-NeoX-20B's (used by the Mamba models),
// and encodes and decodes exactly as HF's Rust tokenizers library does with
// encode(text, add_special_tokens=False) and decode(ids, skip_special_tokens).
//
// See docs/tokenizer.md for how byte-level BPE works and how this package
// is organised.
package tokenizer

import "unicode/utf8"

// Tokenizer encodes text into token ids and back. It is safe for
// concurrent use.
type Tokenizer struct {
	vocab  map[string]int // model vocab and added tokens
	tokens []string       // model vocab by id ("" where known is false)
	known  []bool
	added  map[int]*AddedToken
	// addedForm is the spelling of each added token that HF decodes and
	// shows: its content, normalized if the token is.
	addedForm map[int]string

	normalize      normalizer
	addPrefixSpace bool
	useRe          bool
	model          *bpeModel

	raw    *addedSet // added tokens with normalized=false
	normed *addedSet // added tokens with normalized=true
	cache  *wordCache

	pieces  [][]byte // bytes of each id, nil if the id does not exist
	special []bool
	maxID   int // the highest id a file may use (while loading)
}

// VocabSize is the number of ids: one more than the highest id of the
// vocabulary and the added tokens (50277 for GPT-NeoX-20B).
func (t *Tokenizer) VocabSize() int {
	n := len(t.tokens)
	for id := range t.added {
		n = max(n, id+1)
	}
	return n
}

// TokenID returns the id of a token given as it is spelled in the file
// (byte-level runes for vocabulary tokens, e.g. "Ġthe"; plain text for
// added tokens, e.g. "<|endoftext|>").
func (t *Tokenizer) TokenID(token string) (int, bool) {
	id, ok := t.vocab[token]
	return id, ok
}

// Token returns the spelling of id, and whether id exists: as HF's
// id_to_token, the vocabulary token, or an added token's content
// (normalized if the token is).
func (t *Tokenizer) Token(id int) (string, bool) {
	if s, ok := t.addedForm[id]; ok {
		return s, true
	}
	if id >= 0 && id < len(t.tokens) && t.known[id] {
		return t.tokens[id], true
	}
	return "", false
}

// IsSpecial reports whether id is an added token marked special.
func (t *Tokenizer) IsSpecial(id int) bool {
	a, ok := t.added[id]
	return ok && a.Special
}

// AddedTokens returns the file's added tokens.
func (t *Tokenizer) AddedTokens() []AddedToken {
	out := make([]AddedToken, 0, len(t.added))
	for _, a := range t.added {
		out = append(out, *a)
	}
	return out
}

// Encode returns the ids of text, as HF's encode(text,
// add_special_tokens=False): added tokens are split out, the rest is
// normalized, pre-tokenized and run through BPE. Text that is not valid
// UTF-8 is first made valid as Rust's String::from_utf8_lossy does (one
// U+FFFD per maximal invalid subpart), so Encode never fails.
func (t *Tokenizer) Encode(text string) []int {
	if !utf8.ValidString(text) {
		text = lossyString([]byte(text))
	}
	e := encoder{t: t, ids: make([]int32, 0, len(text)/3+4)}
	e.segs = t.raw.split(text, e.segs)
	for _, sg := range e.segs {
		if sg.id >= 0 {
			e.ids = append(e.ids, int32(sg.id))
			continue
		}
		piece := text[sg.start:sg.end]
		if t.normalize != nil {
			piece = t.normalize(piece)
		}
		e.sub = t.normed.split(piece, e.sub[:0])
		for _, s2 := range e.sub {
			if s2.id >= 0 {
				e.ids = append(e.ids, int32(s2.id))
			} else {
				e.text(piece[s2.start:s2.end])
			}
		}
	}
	out := make([]int, len(e.ids))
	for i, id := range e.ids {
		out[i] = int(id)
	}
	return out
}

// encoder holds the buffers of one Encode call.
type encoder struct {
	t         *Tokenizer
	ids       []int32
	segs, sub []segment
	scratch   []int32
}

// text encodes a piece of normalized text without added tokens.
func (e *encoder) text(s string) {
	if s == "" {
		return
	}
	if e.t.addPrefixSpace && s[0] != ' ' {
		s = " " + s
	}
	if !e.t.useRe {
		e.word(s)
		return
	}
	for i := 0; i < len(s); {
		j := nextPiece(s, i)
		e.word(s[i:j])
		i = j
	}
}

// word encodes one pre-token, through the cache.
func (e *encoder) word(w string) {
	if ids, ok := e.t.cache.get(w); ok {
		e.ids = append(e.ids, ids...)
		return
	}
	n := len(e.ids)
	e.ids = e.t.model.tokenize(e.ids, w, &e.scratch)
	e.t.cache.put(w, e.ids[n:])
}
