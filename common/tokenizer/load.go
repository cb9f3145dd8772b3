package tokenizer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"mamba.go/common/internal/safefile"
)

// maxFile bounds tokenizer.json, read whole: GPT-NeoX-20B's is 2.1 MB, the
// largest vocabularies' under 20 MB.
const maxFile = 64 << 20

// fileJSON is the part of a HuggingFace tokenizer.json this package reads.
type fileJSON struct {
	AddedTokens   []AddedToken    `json:"added_tokens"`
	Normalizer    json.RawMessage `json:"normalizer"`
	PreTokenizer  json.RawMessage `json:"pre_tokenizer"`
	PostProcessor json.RawMessage `json:"post_processor"`
	Decoder       json.RawMessage `json:"decoder"`
	Model         *modelJSON      `json:"model"`
}

type modelJSON struct {
	Type                    string          `json:"type"`
	Dropout                 *float64        `json:"dropout"`
	UnkToken                *string         `json:"unk_token"`
	ContinuingSubwordPrefix *string         `json:"continuing_subword_prefix"`
	EndOfWordSuffix         *string         `json:"end_of_word_suffix"`
	FuseUnk                 bool            `json:"fuse_unk"`
	ByteFallback            bool            `json:"byte_fallback"`
	IgnoreMerges            bool            `json:"ignore_merges"`
	Vocab                   map[string]int  `json:"vocab"`
	Merges                  json.RawMessage `json:"merges"`
}

// Load reads a HuggingFace tokenizer.json. Errors name the file.
func Load(path string) (*Tokenizer, error) {
	data, err := safefile.ReadFile(path, maxFile)
	if err != nil {
		return nil, fmt.Errorf("tokenizer %s: %w", path, err)
	}
	t, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("tokenizer %s: %s", path, strings.TrimPrefix(err.Error(), "tokenizer: "))
	}
	return t, nil
}

// Parse builds a Tokenizer from the contents of a tokenizer.json. Only what
// this package implements is accepted: a BPE model, the normalizers of
// parseNormalizer, the ByteLevel pre-tokenizer and decoder (or none).
func Parse(data []byte) (*Tokenizer, error) {
	var f fileJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("tokenizer: bad JSON: %v", err)
	}
	if dec.More() {
		return nil, errors.New("tokenizer: bad JSON: data after the top-level object")
	}
	t, err := build(&f)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	return t, nil
}

func build(f *fileJSON) (*Tokenizer, error) {
	m := f.Model
	if m == nil {
		return nil, errors.New("no model")
	}
	if m.Type != "BPE" && !(m.Type == "" && m.Vocab != nil && m.Merges != nil) {
		return nil, fmt.Errorf("model type %q is not supported (only BPE)", m.Type)
	}
	switch {
	case m.Vocab == nil:
		return nil, errors.New("model has no vocab")
	case m.Merges == nil:
		return nil, errors.New("model has no merges")
	case m.Dropout != nil && *m.Dropout != 0:
		return nil, errors.New("BPE dropout is not supported")
	case m.ContinuingSubwordPrefix != nil && *m.ContinuingSubwordPrefix != "":
		return nil, errors.New("BPE continuing_subword_prefix is not supported")
	case m.EndOfWordSuffix != nil && *m.EndOfWordSuffix != "":
		return nil, errors.New("BPE end_of_word_suffix is not supported")
	case m.ByteFallback:
		return nil, errors.New("BPE byte_fallback is not supported")
	}
	t := &Tokenizer{
		vocab:  make(map[string]int, len(m.Vocab)+len(f.AddedTokens)),
		useRe:  true,
		cache:  newWordCache(cacheEntries),
		raw:    newAddedSet(),
		normed: newAddedSet(),
	}
	// Ids index dense tables; a file with ids far beyond its number of
	// tokens is refused rather than allowed to allocate gigabytes.
	t.maxID = 4*(len(m.Vocab)+len(f.AddedTokens)) + 1024
	if err := t.buildVocab(m.Vocab); err != nil {
		return nil, err
	}
	merges, err := parseMerges(m.Merges)
	if err != nil {
		return nil, err
	}
	if err := t.buildModel(m, merges); err != nil {
		return nil, err
	}
	if t.normalize, err = parseNormalizer(f.Normalizer); err != nil {
		return nil, err
	}
	if err := t.parsePreTokenizer(f.PreTokenizer); err != nil {
		return nil, err
	}
	if err := checkDecoder(f.Decoder); err != nil {
		return nil, err
	}
	if err := t.addTokens(f.AddedTokens); err != nil {
		return nil, err
	}
	t.buildPieces()
	return t, nil
}

func (t *Tokenizer) buildVocab(vocab map[string]int) error {
	maxID := -1
	for tok, id := range vocab {
		if id < 0 || id > t.maxID {
			return fmt.Errorf("vocab: token %q has id %d out of range (the file has %d tokens)", tok, id, len(vocab))
		}
		maxID = max(maxID, id)
	}
	t.tokens = make([]string, maxID+1)
	t.known = make([]bool, maxID+1)
	for tok, id := range vocab {
		if t.known[id] {
			a, b := t.tokens[id], tok
			if b < a {
				a, b = b, a
			}
			return fmt.Errorf("vocab: tokens %q and %q have the same id %d", a, b, id)
		}
		t.tokens[id], t.known[id] = tok, true
		t.vocab[tok] = id
	}
	return nil
}

// parseMerges accepts both spellings: "a b" strings and ["a", "b"] pairs.
func parseMerges(raw json.RawMessage) ([][2]string, error) {
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, fmt.Errorf("merges: not a list: %v", err)
	}
	out := make([][2]string, len(items))
	for i, it := range items {
		var s string
		if err := json.Unmarshal(it, &s); err == nil {
			a, b, ok := strings.Cut(s, " ")
			if !ok || strings.Contains(b, " ") || a == "" || b == "" {
				return nil, fmt.Errorf("merges: entry %d %q is not two tokens separated by one space", i+1, s)
			}
			out[i] = [2]string{a, b}
			continue
		}
		var pair []string
		if err := json.Unmarshal(it, &pair); err != nil || len(pair) != 2 {
			return nil, fmt.Errorf("merges: entry %d is neither \"a b\" nor [\"a\", \"b\"]: %.40q", i+1, it)
		}
		out[i] = [2]string{pair[0], pair[1]}
	}
	return out, nil
}

func (t *Tokenizer) buildModel(m *modelJSON, merges [][2]string) error {
	b := &bpeModel{merges: make(map[uint64]merge, len(merges)), unk: -1, fuseUnk: m.FuseUnk}
	for i, p := range merges {
		a, ok1 := t.vocab[p[0]]
		c, ok2 := t.vocab[p[1]]
		n, ok3 := t.vocab[p[0]+p[1]]
		switch {
		case !ok1:
			return fmt.Errorf("merges: entry %d names %q, which is not in the vocab", i+1, p[0])
		case !ok2:
			return fmt.Errorf("merges: entry %d names %q, which is not in the vocab", i+1, p[1])
		case !ok3:
			return fmt.Errorf("merges: entry %d makes %q, which is not in the vocab", i+1, p[0]+p[1])
		}
		// A repeated pair keeps its last rank, like HF's HashMap collect.
		b.merges[pairKey(int32(a), int32(c))] = merge{rank: int32(i), id: int32(n)}
	}
	for c := 0; c < 256; c++ {
		b.byteID[c] = -1
		if id, ok := t.vocab[string(byteRune[c])]; ok {
			b.byteID[c] = int32(id)
		}
	}
	if m.UnkToken != nil {
		id, ok := t.vocab[*m.UnkToken]
		if !ok {
			return fmt.Errorf("unk_token %q is not in the vocab", *m.UnkToken)
		}
		b.unk = int32(id)
	}
	if m.IgnoreMerges {
		b.wholeID = make(map[string]int32, len(t.vocab))
		for tok, id := range t.vocab {
			b.wholeID[string(byteLevelDecode(tok))] = int32(id)
		}
	}
	t.model = b
	return nil
}

func (t *Tokenizer) parsePreTokenizer(raw json.RawMessage) error {
	if isNull(raw) {
		return errors.New("pre_tokenizer: none; only ByteLevel is supported")
	}
	var spec struct {
		Type           string `json:"type"`
		AddPrefixSpace bool   `json:"add_prefix_space"`
		UseRegex       *bool  `json:"use_regex"`
	}
	if err := json.Unmarshal(raw, &spec); err != nil {
		return fmt.Errorf("pre_tokenizer: %v", err)
	}
	if spec.Type != "ByteLevel" {
		return fmt.Errorf("pre_tokenizer type %q is not supported (only ByteLevel)", spec.Type)
	}
	t.addPrefixSpace = spec.AddPrefixSpace
	t.useRe = spec.UseRegex == nil || *spec.UseRegex
	return nil
}

func checkDecoder(raw json.RawMessage) error {
	if isNull(raw) {
		return errors.New("decoder: none; only ByteLevel is supported")
	}
	var spec struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(raw, &spec); err != nil {
		return fmt.Errorf("decoder: %v", err)
	}
	if spec.Type != "ByteLevel" {
		return fmt.Errorf("decoder type %q is not supported (only ByteLevel)", spec.Type)
	}
	return nil
}

// addTokens registers the added tokens: their ids must agree with the vocab
// and be unique; the raw set gets the normalized=false ones, the normalized
// set the others with their content normalized. Special tokens go in first,
// then the others, each in file order, as HF builds its automata.
func (t *Tokenizer) addTokens(tokens []AddedToken) error {
	t.added = make(map[int]*AddedToken, len(tokens))
	seen := make(map[string]bool, len(tokens))
	for i := range tokens {
		tok := &tokens[i]
		switch {
		case tok.Content == "":
			return fmt.Errorf("added_tokens: entry %d has empty content", i+1)
		case tok.ID < 0 || tok.ID > t.maxID:
			return fmt.Errorf("added_tokens: %q has id %d out of range", tok.Content, tok.ID)
		case seen[tok.Content]:
			return fmt.Errorf("added_tokens: %q appears twice", tok.Content)
		case t.added[tok.ID] != nil:
			return fmt.Errorf("added_tokens: %q and %q have the same id %d", t.added[tok.ID].Content, tok.Content, tok.ID)
		}
		if id, ok := t.vocab[tok.Content]; ok && id != tok.ID {
			return fmt.Errorf("added_tokens: %q has id %d but the vocab gives it %d", tok.Content, tok.ID, id)
		}
		if tok.ID < len(t.tokens) && t.known[tok.ID] && t.tokens[tok.ID] != tok.Content {
			return fmt.Errorf("added_tokens: %q has id %d, which the vocab gives to %q", tok.Content, tok.ID, t.tokens[tok.ID])
		}
		seen[tok.Content] = true
		t.added[tok.ID] = tok
		t.vocab[tok.Content] = tok.ID
	}
	order := make([]*AddedToken, 0, len(tokens))
	for i := range tokens {
		order = append(order, &tokens[i])
	}
	sort.SliceStable(order, func(i, j int) bool { return order[i].Special && !order[j].Special })
	for _, tok := range order {
		if !tok.Normalized {
			t.raw.add(tok.Content, tok)
			continue
		}
		pattern := tok.Content
		if t.normalize != nil {
			pattern = t.normalize(pattern)
		}
		t.normed.add(pattern, tok)
	}
	return nil
}
