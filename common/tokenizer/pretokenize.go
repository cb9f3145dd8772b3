package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// The ByteLevel pre-tokenizer splits text with GPT-2's pattern
//
//	's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//
// hand-coded here: nextPiece returns where the piece starting at i ends,
// trying the alternatives in the pattern's order. \p{L} is unicode.IsLetter,
// \p{N} unicode.IsNumber and \s unicode.IsSpace (the White_Space property),
// which are the Unicode definitions the Oniguruma regex in HF tokenizers uses.

type charClass uint8

const (
	classOther charClass = iota
	classLetter
	classNumber
	classSpace
)

var asciiClass [utf8.RuneSelf]charClass

func init() {
	for c := 0; c < utf8.RuneSelf; c++ {
		asciiClass[c] = classifySlow(rune(c))
	}
}

func classifySlow(r rune) charClass {
	switch {
	case unicode.IsLetter(r):
		return classLetter
	case unicode.IsNumber(r):
		return classNumber
	case unicode.IsSpace(r):
		return classSpace
	}
	return classOther
}

// classAt returns the class of the rune at s[i] and its width in bytes.
// s must be valid UTF-8.
func classAt(s string, i int) (charClass, int) {
	if c := s[i]; c < utf8.RuneSelf {
		return asciiClass[c], 1
	}
	r, w := utf8.DecodeRuneInString(s[i:])
	return classifySlow(r), w
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
