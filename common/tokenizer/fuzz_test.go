package tokenizer

import (
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// The fuzzers check, for any input:
//
//   - FuzzRoundTrip: decode(encode(x)) == expected(x), where expected cuts
//     x (made valid UTF-8 first, as Encode does) at the special tokens
//     <|endoftext|> and <|padding|> and normalizes each stretch between
//     them with HF's NFC. That is NFC(x) whenever x holds no special token
//     and no character HF's NFC does not know (hfNormUnknown); the cuts are
//     needed because HF splits those tokens out before normalizing (so
//     "<|endoftext|>\u0338" keeps its U+0338 where NFC(x) would make
//     "<|endoftext|≯"). It runs on the GPT-NeoX tokenizer when ../shared is
//     there, and always on the project's small one without its extra added
//     tokens (those with flags, whose normalized forms do not decode to
//     themselves, e.g. "café" decodes to "caf\uFFFD" in HF). Encode never
//     panics, and all ids are below VocabSize.
//   - FuzzStream: the stream decoder's pieces, joined, equal Decode.

func fuzzSeeds(f *testing.F) {
	for _, s := range []string{
		"", " ", "  ", "Hello  world", "Hi   Hello\n\n", "I'm it's 'RE", "3.14 ½ Ⅻ",
		"café cafe\u0301", "<|endoftext|>\u0338", "e<|endoftext|>\u0301", "<|padding|><|endoftext|",
		"\xf0\x9f\x98", "a\xffb", "\xed\xa0\x80", "\U00010D40's", "x\u0334\u0d3b", "\U00011935\U00011930",
		"🐍 👨‍👩‍👧 ❤️", "\u00a0\u3000\u2028 x", "\t\t\n  \n", strings.Repeat("ab", 40),
	} {
		f.Add([]byte(s))
	}
}

// plainSmall is the small test tokenizer with only its GPT-NeoX-like
// added tokens: <|endoftext|>, <|padding|> and the space runs.
func plainSmall(t testing.TB) *Tokenizer {
	data, err := os.ReadFile("testdata/tokenizer.json")
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	start := strings.Index(s, `"added_tokens"`)
	end := strings.Index(s, `"normalizer"`)
	keep := `"added_tokens": [
	{"id": 0, "content": "<|endoftext|>", "special": true, "normalized": false},
	{"id": 1, "content": "<|padding|>", "special": true, "normalized": false},
	{"id": 998, "content": "    ", "special": false, "normalized": true},
	{"id": 999, "content": "   ", "special": false, "normalized": true},
	{"id": 1000, "content": "  ", "special": false, "normalized": true}],
	`
	tk, err := Parse([]byte(s[:start] + keep + s[end:]))
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

// expectedRoundTrip is what decode(encode(x)) must give (see above).
func expectedRoundTrip(x string) string {
	x = lossyString([]byte(x))
	var b strings.Builder
	for {
		i, tok := -1, ""
		for _, s := range []string{"<|endoftext|>", "<|padding|>"} {
			if j := strings.Index(x, s); j >= 0 && (i < 0 || j < i) {
				i, tok = j, s
			}
		}
		if i < 0 {
			b.WriteString(nfcHF(x))
			return b.String()
		}
		b.WriteString(nfcHF(x[:i]))
		b.WriteString(tok)
		x = x[i+len(tok):]
	}
}

func checkRoundTrip(t *testing.T, tk *Tokenizer, in []byte) {
	ids := tk.Encode(string(in))
	for _, id := range ids {
		if id < 0 || id >= tk.VocabSize() {
			t.Fatalf("id %d out of range for %q", id, in)
		}
	}
	if got, want := tk.Decode(ids, false), expectedRoundTrip(string(in)); got != want {
		t.Fatalf("decode(encode(%q)) = %q, want %q (ids %v)", in, got, want, ids)
	}
}

func FuzzRoundTrip(f *testing.F) {
	fuzzSeeds(f)
	small := plainSmall(f)
	full := smallTokenizer(f)
	var neox *Tokenizer
	if hasShared() {
		neox = neoxTokenizer(f)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		checkRoundTrip(t, small, in)
		if neox != nil {
			checkRoundTrip(t, neox, in)
		}
		for _, id := range full.Encode(string(in)) { // flags and all: no panic, ids in range
			if id < 0 || id >= full.VocabSize() {
				t.Fatalf("id %d out of range for %q", id, in)
			}
		}
		if utf8.Valid(in) && !strings.Contains(string(in), "<|") && !hasNormUnknown(string(in)) {
			// The plain statement: decode(encode(x)) == NFC(x).
			if got, want := small.Decode(small.Encode(string(in)), false), nfcGo(string(in)); got != want {
				t.Fatalf("decode(encode(%q)) = %q, want NFC %q", in, got, want)
			}
		}
	})
}

func FuzzStream(f *testing.F) {
	f.Add([]byte{0xF0, 0x9F, 0x90, 0x8D, 'A', 0xE2})
	f.Add([]byte{0, 1, 0xC3, 0xFF, 0xA9})
	tk := smallTokenizer(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		// Each input byte picks an id: mostly the byte tokens (2 + byte),
		// sometimes specials or ids that do not exist.
		ids := make([]int, len(in))
		for i, b := range in {
			switch {
			case i%7 == 6:
				ids[i] = int(b) * 5
			default:
				ids[i] = 2 + int(b)
			}
		}
		for _, skip := range []bool{false, true} {
			if got, want := streamAll(tk, ids, skip), tk.Decode(ids, skip); got != want {
				t.Fatalf("stream %q, decode %q for %v", got, want, ids)
			}
		}
	})
}

func hasNormUnknown(s string) bool {
	for _, r := range s {
		if normUnknown(r) {
			return true
		}
	}
	return false
}

// nfcGo is NFC by Go's tables alone.
func nfcGo(s string) string { return norm.NFC.String(s) }
