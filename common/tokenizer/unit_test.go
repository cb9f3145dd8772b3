package tokenizer

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestByteLevelAlphabet(t *testing.T) {
	assert.Equal(t, 'Ġ', byteRune[' '])
	assert.Equal(t, 'Ċ', byteRune['\n'])
	assert.Equal(t, 'ĉ', byteRune['\t'])
	assert.Equal(t, 'A', byteRune['A'])
	assert.Equal(t, 'é', byteRune[0xE9])
	assert.Equal(t, rune(0x143), byteRune[0xAD])
	seen := map[rune]bool{}
	for b := 0; b < 256; b++ {
		r := byteRune[b]
		assert.False(t, seen[r], "rune %U twice", r)
		seen[r] = true
		back, ok := runeByte(r)
		assert.True(t, ok)
		assert.Equal(t, byte(b), back)
	}
	_, ok := runeByte(' ')
	assert.False(t, ok, "a plain space is not in the alphabet")
	assert.Equal(t, "ĠhelloĊ", byteLevelString(" hello\n"))
	assert.Equal(t, []byte(" hello\n"), byteLevelDecode("ĠhelloĊ"))
	assert.Equal(t, []byte("  "), byteLevelDecode("  "), "tokens outside the alphabet decode to themselves")
}

func TestPreTokenize(t *testing.T) {
	cases := map[string][]string{
		"Hello world":        {"Hello", " world"},
		"Hello  world":       {"Hello", " ", " world"},
		"Hello   world":      {"Hello", "  ", " world"},
		"a\tb":               {"a", "\t", "b"},
		"a \tb":              {"a", " ", "\t", "b"},
		"end   ":             {"end", "   "},
		"I'm it's they'LL":   {"I", "'m", " it", "'s", " they", "'", "LL"},
		"''s":                {"''", "s"},
		"3.14, 2024":         {"3", ".", "14", ",", " 2024"},
		"x² ½ Ⅻ ٣":           {"x", "²", " ½", " Ⅻ", " ٣"},
		"\u00a0word":         {"\u00a0", "word"},
		"a \u00a0b":          {"a", " ", "\u00a0", "b"},
		"\n\n  x":            {"\n\n ", " x"},
		"🐍🐍 ok":              {"🐍🐍", " ok"},
		"e\u0301":            {"e", "\u0301"},
		"\U00010D40's":       {"\U00010D40", "'s"}, // Garay digit: \p{N} in Unicode 16
		"\U00010940's":       {"\U00010940'", "s"}, // Unicode 17: unassigned for HF
		"tab\t\t\nend":       {"tab", "\t\t", "\n", "end"},
		" ":                  {" "},
		"a  ":                {"a", "  "},
		"!!!?? x":            {"!!!??", " x"},
		"d'oh":               {"d", "'", "oh"},
		"x'":                 {"x", "'"},
		"日本語のテキスト":           {"日本語のテキスト"},
		"mixed中文and English": {"mixed中文and", " English"},
	}
	for in, want := range cases {
		assert.Equal(t, want, PreTokenize(in), "%q", in)
	}
	assert.Empty(t, PreTokenize(""))
}

func TestLossyUTF8(t *testing.T) {
	cases := []struct{ in, want string }{
		{"plain", "plain"},
		// The example of the Unicode standard, section 3.9 (U+FFFD substitution).
		{"\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64", "a\uFFFD\uFFFD\uFFFDb\uFFFDc\uFFFD\uFFFDd"},
		{"\xF0\x9F\x98", "\uFFFD"},
		{"\xF0\x9F\x98A", "\uFFFDA"},
		{"\xC0\x80", "\uFFFD\uFFFD"},
		{"\xED\xA0\x80", "\uFFFD\uFFFD\uFFFD"}, // a surrogate
		{"\xF4\x90\x80\x80", "\uFFFD\uFFFD\uFFFD\uFFFD"},
		{"\xE2\x82", "\uFFFD"},
		{"\xE2\x82\xAC", "€"},
		{"\xFF\xFE", "\uFFFD\uFFFD"},
		{"\xE0\x80\x80", "\uFFFD\uFFFD\uFFFD"},
		{"\xF0\x90\x80", "\uFFFD"},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, lossyString([]byte(c.in)), "%q", c.in)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		b := make([]byte, r.IntN(12))
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		s := lossyString(b)
		require.True(t, utf8.ValidString(s))
		if utf8.Valid(b) {
			require.Equal(t, string(b), s)
		}
	}
}

func TestStreamDecoderHoldsIncompleteCharacters(t *testing.T) {
	tk := smallTokenizer(t)
	byteID := func(b byte) int {
		id, ok := tk.TokenID(string(byteRune[b]))
		require.True(t, ok)
		return id
	}
	d := tk.NewStreamDecoder()
	assert.Equal(t, "", d.Add(byteID(0xF0)))
	assert.Equal(t, "", d.Add(byteID(0x9F)))
	assert.Equal(t, "", d.Add(byteID(0x90)))
	assert.Equal(t, "🐍", d.Add(byteID(0x8D)))
	assert.Equal(t, "", d.Add(byteID(0xE2)))
	assert.Equal(t, "\uFFFDA", d.Add(byteID('A')), "a sequence that cannot complete becomes U+FFFD")
	assert.Equal(t, "", d.Add(byteID(0xE2)))
	assert.Equal(t, "", d.Add(byteID(0x82)))
	assert.Equal(t, "\uFFFD", d.Flush(), "what is held back is flushed lossily")
	assert.Equal(t, "", d.Flush())
	assert.Equal(t, "", d.Add(-1))
	assert.Equal(t, "", d.Add(1<<40))
	assert.Equal(t, "<|endoftext|>", d.Add(0))
	d.SkipSpecial = true
	assert.Equal(t, "", d.Add(0))
}

func TestStreamEqualsDecode(t *testing.T) {
	tk := smallTokenizer(t)
	r := rand.New(rand.NewPCG(3, 4))
	for range 3000 {
		ids := make([]int, r.IntN(10))
		for i := range ids {
			switch r.IntN(3) {
			case 0:
				ids[i] = 2 + 0x80 + r.IntN(0x80) // the high bytes
			default:
				ids[i] = r.IntN(tk.VocabSize()+3) - 1
			}
		}
		for _, skip := range []bool{false, true} {
			require.Equal(t, tk.Decode(ids, skip), streamAll(tk, ids, skip), "%v", ids)
		}
	}
}

func TestMergeHeapEqualsScan(t *testing.T) {
	tk := smallTokenizer(t)
	r := rand.New(rand.NewPCG(5, 6))
	alphabet := []byte("  aeiouthsnrlmd.,'\n\xc3\xa9")
	for range 3000 {
		n := 1 + r.IntN(3*longWord)
		w := make([]byte, n)
		for i := range w {
			w[i] = alphabet[r.IntN(len(alphabet))]
		}
		sym := tk.model.initial(nil, string(w))
		a := tk.model.mergeScanAll(append([]int32(nil), sym...))
		b := tk.model.mergeHeap(append([]int32(nil), sym...))
		require.Equal(t, a, b, "%q", w)
	}
}

// mergeScanAll is mergeScan without its length limit, for the test above.
func (m *bpeModel) mergeScanAll(sym []int32) []int32 {
	for len(sym) > 1 {
		best, rank := -1, noRank
		for i := 0; i+1 < len(sym); i++ {
			if mg := m.pairRank(sym[i], sym[i+1]); mg.rank < rank {
				best, rank = i, mg.rank
			}
		}
		if best < 0 {
			break
		}
		sym[best] = m.pairRank(sym[best], sym[best+1]).id
		sym = append(sym[:best+1], sym[best+2:]...)
	}
	return sym
}

func TestLongWords(t *testing.T) {
	tk := smallTokenizer(t)
	for _, w := range []string{strings.Repeat("a", 10000), strings.Repeat("the", 3000), strings.Repeat("1", 5000), strings.Repeat(" ", 5000)} {
		ids := tk.Encode(w)
		assert.Equal(t, w, tk.Decode(ids, false))
	}
}

func TestCacheIsBounded(t *testing.T) {
	c := newWordCache(4)
	for i := range 10 {
		c.put(strings.Repeat("x", i+1), []int32{int32(i)})
		assert.LessOrEqual(t, c.len(), 4)
	}
	ids, ok := c.get(strings.Repeat("x", 10))
	assert.True(t, ok)
	assert.Equal(t, []int32{9}, ids)
	c.put(strings.Repeat("y", cacheWordLen+1), []int32{1})
	_, ok = c.get(strings.Repeat("y", cacheWordLen+1))
	assert.False(t, ok, "long words are not cached")
}

func TestConcurrentEncode(t *testing.T) {
	tk := smallTokenizer(t)
	text := strings.Repeat("The model's state: 3.14 — résumé 🐍\n", 50)
	want := tk.Encode(text)
	done := make(chan []int)
	for range 8 {
		go func() { done <- tk.Encode(text) }()
	}
	for range 8 {
		assert.Equal(t, want, <-done)
	}
}
