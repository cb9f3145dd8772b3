package tokenizer

import "unicode/utf8"

// Invalid UTF-8 is replaced the way Rust's String::from_utf8_lossy does it,
// which is the "maximal subpart" practice of the Unicode standard (and
// WHATWG): one U+FFFD for each maximal prefix of a valid sequence that
// cannot be completed, and one for each byte that cannot start a sequence.
// E.g. F0 9F 98 41 gives "\uFFFD" + "A" (Go's utf8.DecodeRune would report
// three errors, one per byte).

const replacement = "\uFFFD"

// seqInfo returns, for a lead byte, the length of its sequence and the
// allowed range of the second byte; n == 0 for bytes that cannot lead.
func seqInfo(b byte) (n int, lo, hi byte) {
	switch {
	case b < 0x80:
		return 1, 0, 0
	case 0xC2 <= b && b <= 0xDF:
		return 2, 0x80, 0xBF
	case b == 0xE0:
		return 3, 0xA0, 0xBF
	case 0xE1 <= b && b <= 0xEC, b == 0xEE, b == 0xEF:
		return 3, 0x80, 0xBF
	case b == 0xED:
		return 3, 0x80, 0x9F
	case b == 0xF0:
		return 4, 0x90, 0xBF
	case 0xF1 <= b && b <= 0xF3:
		return 4, 0x80, 0xBF
	case b == 0xF4:
		return 4, 0x80, 0x8F
	}
	return 0, 0, 0
}

// validPrefix returns the length of the longest prefix of p (at most one
// sequence long) that is a valid sequence or the start of one, and the
// length of the whole sequence it belongs to (0 if p[0] cannot lead).
func validPrefix(p []byte) (got, want int) {
	want, lo, hi := seqInfo(p[0])
	if want <= 1 {
		return 1, want
	}
	got = 1
	if got < len(p) && lo <= p[1] && p[1] <= hi {
		got++
		for got < want && got < len(p) && 0x80 <= p[got] && p[got] <= 0xBF {
			got++
		}
	}
	return got, want
}

// appendLossy appends the text of b to dst. Unless final, an incomplete
// sequence at the end of b that could still be completed by more bytes is
// left out; held is its length.
func appendLossy(dst, b []byte, final bool) (out []byte, held int) {
	for len(b) > 0 {
		if b[0] < utf8.RuneSelf {
			dst = append(dst, b[0])
			b = b[1:]
			continue
		}
		got, want := validPrefix(b)
		switch {
		case got == want:
			dst = append(dst, b[:got]...)
		case got == len(b) && !final:
			return dst, got
		default:
			dst = append(dst, replacement...)
		}
		b = b[got:]
	}
	return dst, 0
}

// FirstInvalidUTF8 is the offset of the first byte of b that is not part of
// valid UTF-8 (len(b) when b is valid), for an error that points at it.
func FirstInvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, w := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && w == 1 {
			return i
		}
		i += w
	}
	return len(b)
}

// lossyString is String::from_utf8_lossy.
func lossyString(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	out, _ := appendLossy(make([]byte, 0, len(b)+8), b, true)
	return string(out)
}
