package tokenizer

import (
	"encoding/json"
	"fmt"
	"unicode"
	"unicode/utf8"
)

// Added tokens are split out of the text before anything else, as HF's
// AddedVocabulary does: first the tokens with normalized=false are found in
// the raw text, then the pieces between them are normalized and the tokens
// with normalized=true (their content normalized too) are found in those.
// Matching is leftmost-longest, non-overlapping, with HF's handling of the
// single_word, lstrip and rstrip flags.

// AddedToken is one entry of the file's "added_tokens".
type AddedToken struct {
	ID         int    `json:"id"`
	Content    string `json:"content"`
	SingleWord bool   `json:"single_word"`
	LStrip     bool   `json:"lstrip"`
	RStrip     bool   `json:"rstrip"`
	Normalized bool   `json:"normalized"`
	Special    bool   `json:"special"`
}

// segment is a byte range of a text: an added token (id >= 0) or text
// still to be tokenized (id < 0).
type segment struct {
	start, end int
	id         int
}

// addedSet finds one group of added tokens with a byte trie.
type addedSet struct {
	nodes  []trieNode
	tokens []*AddedToken // by pattern index
	root   [256]int32    // first byte -> node, 0 for none
}

type trieNode struct {
	edges   []trieEdge
	pattern int32 // index in tokens of the pattern ending here, -1 if none
}

type trieEdge struct {
	b  byte
	to int32
}

func newAddedSet() *addedSet {
	return &addedSet{nodes: []trieNode{{pattern: -1}}}
}

func (a *addedSet) empty() bool { return len(a.tokens) == 0 }

// add inserts pattern (the token's content, normalized if the token is).
// Of two tokens with the same pattern the first added wins, as in HF's
// Aho-Corasick automaton.
func (a *addedSet) add(pattern string, tok *AddedToken) {
	if pattern == "" {
		return
	}
	cur := int32(0)
	for i := 0; i < len(pattern); i++ {
		cur = a.child(cur, pattern[i], true)
	}
	if a.nodes[cur].pattern < 0 {
		a.nodes[cur].pattern = int32(len(a.tokens))
		a.tokens = append(a.tokens, tok)
	}
}

func (a *addedSet) child(n int32, b byte, create bool) int32 {
	if n == 0 {
		if c := a.root[b]; c != 0 || !create {
			return c
		}
	} else {
		for _, e := range a.nodes[n].edges {
			if e.b == b {
				return e.to
			}
		}
		if !create {
			return 0
		}
	}
	c := int32(len(a.nodes))
	a.nodes = append(a.nodes, trieNode{pattern: -1})
	if n == 0 {
		a.root[b] = c
	} else {
		a.nodes[n].edges = append(a.nodes[n].edges, trieEdge{b, c})
	}
	return c
}

// find returns the leftmost-longest match at or after from.
func (a *addedSet) find(s string, from int) (start, end int, tok *AddedToken, ok bool) {
	for i := from; i < len(s); i++ {
		n := a.root[s[i]]
		if n == 0 {
			continue
		}
		best, bestEnd := int32(-1), 0
		for j := i; ; {
			if p := a.nodes[n].pattern; p >= 0 {
				best, bestEnd = p, j+1
			}
			j++
			if j >= len(s) {
				break
			}
			if n = a.child(n, s[j], false); n == 0 {
				break
			}
		}
		if best >= 0 {
			return i, bestEnd, a.tokens[best], true
		}
	}
	return 0, 0, nil, false
}

// split appends to dst the segments of s, HF's find_matches: the token
// segments and the text between them, in order, skipping empty text.
func (a *addedSet) split(s string, dst []segment) []segment {
	if a.empty() {
		if s != "" {
			dst = append(dst, segment{0, len(s), -1})
		}
		return dst
	}
	startOffset := 0
	for from := 0; from < len(s); {
		start, stop, tok, ok := a.find(s, from)
		if !ok {
			break
		}
		from = stop // the automaton goes on after the match itself
		if tok.SingleWord {
			startSpace := start == 0 || !endsWithWord(s[:start])
			stopSpace := stop == len(s) || !startsWithWord(s[stop:])
			if !startSpace || !stopSpace {
				continue
			}
		}
		if tok.LStrip {
			start = max(spaceRunStartAtEnd(s[:start]), startOffset)
		}
		if tok.RStrip {
			stop += spaceRunAtStart(s[stop:])
		}
		if startOffset < start {
			dst = append(dst, segment{startOffset, start, -1})
		}
		dst = append(dst, segment{start, stop, tok.ID})
		startOffset = stop
	}
	if startOffset < len(s) {
		dst = append(dst, segment{startOffset, len(s), -1})
	}
	return dst
}

// isWordRune is Rust regex's \w: Alphabetic, marks, decimal digits,
// connector punctuation and the join controls.
func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.Is(unicode.Nl, r) || unicode.Is(unicode.Other_Alphabetic, r) ||
		unicode.IsMark(r) || unicode.Is(unicode.Nd, r) || unicode.Is(unicode.Pc, r) ||
		r == 0x200C || r == 0x200D
}

func endsWithWord(s string) bool {
	r, w := utf8.DecodeLastRuneInString(s)
	return w > 0 && isWordRune(r)
}

func startsWithWord(s string) bool {
	r, w := utf8.DecodeRuneInString(s)
	return w > 0 && isWordRune(r)
}

// spaceRunStartAtEnd is where the whitespace at the end of s begins.
func spaceRunStartAtEnd(s string) int {
	i := len(s)
	for i > 0 {
		r, w := utf8.DecodeLastRuneInString(s[:i])
		if !unicode.IsSpace(r) {
			break
		}
		i -= w
	}
	return i
}

// spaceRunAtStart is the length of the whitespace at the start of s.
func spaceRunAtStart(s string) int {
	i := 0
	for i < len(s) {
		r, w := utf8.DecodeRuneInString(s[i:])
		if !unicode.IsSpace(r) {
			break
		}
		i += w
	}
	return i
}

// UnmarshalJSON reads an added token; a missing "normalized" means true, as
// in HF, and a missing "id" is an error.
func (a *AddedToken) UnmarshalJSON(b []byte) error {
	type plain AddedToken
	p := struct {
		plain
		ID *int `json:"id"`
	}{plain: plain{Normalized: true}}
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	if p.ID == nil {
		return fmt.Errorf("added token %q has no id", p.Content)
	}
	*a = AddedToken(p.plain)
	a.ID = *p.ID
	return nil
}
