package tokenizer

// GPT-2's byte-level alphabet: every byte value is given a printable rune so
// that a vocabulary of strings can hold arbitrary bytes. Printable bytes
// ('!'..'~', '¡'..'¬', '®'..'ÿ') stand for themselves; the 68 others (control
// characters, space, 0x7F..0xA0, 0xAD) are mapped, in increasing byte order,
// to U+0100, U+0101, ... So the space 0x20 becomes 'Ġ' (U+0120) and '\n'
// becomes 'Ċ' (U+010A).

// byteRune[b] is the rune that stands for byte b.
var byteRune [256]rune

// runeByte maps a byte-level rune back to its byte; ok is false for runes
// outside the alphabet.
func runeByte(r rune) (b byte, ok bool) {
	if r < 0 || int(r) >= len(runeToByte) || runeToByte[r] < 0 {
		return 0, false
	}
	return byte(runeToByte[r]), true
}

// runeToByte covers U+0000..U+0143, the highest rune of the alphabet.
var runeToByte [0x144]int16

func init() {
	for i := range runeToByte {
		runeToByte[i] = -1
	}
	n := rune(0)
	for b := 0; b < 256; b++ {
		if printableByte(byte(b)) {
			byteRune[b] = rune(b)
		} else {
			byteRune[b] = 256 + n
			n++
		}
		runeToByte[byteRune[b]] = int16(b)
	}
}

func printableByte(b byte) bool {
	return ('!' <= b && b <= '~') || (0xA1 <= b && b <= 0xAC) || 0xAE <= b
}

// byteLevelString returns the byte-level spelling of raw bytes.
func byteLevelString(raw string) string {
	out := make([]rune, 0, len(raw))
	for i := 0; i < len(raw); i++ {
		out = append(out, byteRune[raw[i]])
	}
	return string(out)
}

// byteLevelDecode turns a token string back into bytes the way HF's ByteLevel
// decoder does: if every rune of the token is in the alphabet, the bytes they
// stand for; otherwise (e.g. an added token made of plain spaces) the token's
// own UTF-8 bytes.
func byteLevelDecode(token string) []byte {
	out := make([]byte, 0, len(token))
	for _, r := range token {
		b, ok := runeByte(r)
		if !ok {
			return []byte(token)
		}
		out = append(out, b)
	}
	return out
}
