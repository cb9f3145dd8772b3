package tokenizer

import "unicode/utf8"

// The ByteLevel pre-tokenizer splits text with GPT-2's pattern
//
//	's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//
// hand-coded here: nextPiece returns where the piece starting at i ends,
// trying the alternatives in the pattern's order. \p{L}, \p{N} and \s are
// taken from hfClassRanges (unicode_table.go), which testdata/unicode.js
// reads from HF's own regex engine (Oniguruma, Unicode 16): Go's unicode
// package follows Unicode 15, and e.g. the Garay digits U+10D40.. would
// otherwise split differently.

type charClass uint8

const (
	classOther charClass = iota
	classLetter
	classNumber
	classSpace
)

// classRange gives the class of the code points lo..hi.
type classRange struct {
	lo, hi rune
	class  charClass
}

// latin1Class is the class of U+0000..U+00FF.
var latin1Class [256]charClass

func init() {
	for c := 0; c < 256; c++ {
		latin1Class[c] = classSearch(rune(c))
	}
}

// classOf is the class of r.
func classOf(r rune) charClass {
	if r < 256 {
		return latin1Class[r]
	}
	return classSearch(r)
}

// classSearch looks r up in hfClassRanges, which starts at U+0080.
func classSearch(r rune) charClass {
	if r < utf8.RuneSelf {
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z':
			return classLetter
		case '0' <= r && r <= '9':
			return classNumber
		case r == ' ', '\t' <= r && r <= '\r':
			return classSpace
		}
		return classOther
	}
	lo, hi := 0, len(hfClassRanges)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if hfClassRanges[m].hi < r {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(hfClassRanges) && hfClassRanges[lo].lo <= r {
		return hfClassRanges[lo].class
	}
	return classOther
}

// classAt returns the class of the rune at s[i] and its width in bytes.
// s must be valid UTF-8.
func classAt(s string, i int) (charClass, int) {
	if c := s[i]; c < utf8.RuneSelf {
		return latin1Class[c], 1
	}
	r, w := utf8.DecodeRuneInString(s[i:])
	return classOf(r), w
}

// runEnd returns the end of the run of runes of class cls starting at i.
func runEnd(s string, i int, cls charClass) int {
	for i < len(s) {
		c, w := classAt(s, i)
		if c != cls {
			break
		}
		i += w
	}
	return i
}

// nextPiece returns the end of the pre-token that starts at s[i].
func nextPiece(s string, i int) int {
	if s[i] == '\'' && i+1 < len(s) {
		switch s[i+1] {
		case 's', 't', 'm', 'd':
			return i + 2
		case 'r':
			if i+2 < len(s) && s[i+2] == 'e' {
				return i + 3
			}
		case 'v':
			if i+2 < len(s) && s[i+2] == 'e' {
				return i + 3
			}
		case 'l':
			if i+2 < len(s) && s[i+2] == 'l' {
				return i + 3
			}
		}
	}
	cls, w := classAt(s, i)
	if s[i] == ' ' && i+1 < len(s) {
		if next, w2 := classAt(s, i+1); next != classSpace {
			return runEnd(s, i+1+w2, next)
		}
	}
	if cls != classSpace {
		return runEnd(s, i+w, cls)
	}
	// \s+(?!\S): the whole run if it reaches the end of the text or,
	// followed by a non-space, the run but its last rune; a single space
	// rune followed by a non-space is taken by the final \s+.
	j := runEnd(s, i+w, classSpace)
	if j == len(s) {
		return j
	}
	_, lw := utf8.DecodeLastRuneInString(s[i:j])
	if j-lw > i {
		return j - lw
	}
	return j
}

// PreTokenize splits text the way the ByteLevel pre-tokenizer does (without
// the byte-level mapping); exported for tools and tests.
func PreTokenize(text string) []string {
	var out []string
	for i := 0; i < len(text); {
		j := nextPiece(text, i)
		out = append(out, text[i:j])
		i = j
	}
	return out
}
