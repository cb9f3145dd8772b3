package tokenizer

import (
	"strings"
	"testing"
	"unicode"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The project's own tokenizer (testdata/tokenizer.json) and the encodings
// HF tokenizers made of the test texts (testdata/make.js): these run
// without ../shared.

func smallTokenizer(t testing.TB) *Tokenizer {
	t.Helper()
	tk, err := Load("testdata/tokenizer.json")
	require.NoError(t, err)
	return tk
}

type encodeCase struct {
	Text    string   `json:"text"`
	IDs     []int    `json:"ids"`
	Tokens  []string `json:"tokens"`
	Decoded string   `json:"decoded"`
}

func checkEncodeCases(t *testing.T, tk *Tokenizer, cases []encodeCase) {
	t.Helper()
	for _, c := range cases {
		if c.IDs == nil {
			c.IDs = []int{}
		}
		if c.Tokens == nil {
			c.Tokens = []string{}
		}
		ids := tk.Encode(c.Text)
		assert.Equal(t, c.IDs, ids, "encode %q", c.Text)
		assert.Equal(t, stripTokens(tk, c.IDs, c.Tokens), tokensOf(tk, c.IDs), "tokens of %q", c.Text)
		assert.Equal(t, c.Decoded, tk.Decode(c.IDs, false), "decode of %q", c.Text)
		assert.Equal(t, c.Decoded, streamAll(tk, c.IDs, false), "stream decode of %q", c.Text)
	}
}

func TestSmallTokenizerCases(t *testing.T) {
	tk := smallTokenizer(t)
	assert.Equal(t, 1006, tk.VocabSize()) // 998 in the vocab + 8 added tokens beyond it
	cases := readJSONL[encodeCase](t, "testdata/cases.jsonl")
	require.Greater(t, len(cases), 400)
	checkEncodeCases(t, tk, cases)
}

func TestSmallTokenizerDecodeCases(t *testing.T) {
	tk := smallTokenizer(t)
	type decodeCase struct {
		IDs         []int  `json:"ids"`
		Decoded     string `json:"decoded"`
		DecodedSkip string `json:"decoded_skip_special"`
	}
	cases := readJSONL[decodeCase](t, "testdata/decode_cases.jsonl")
	require.Len(t, cases, 150)
	for _, c := range cases {
		assert.Equal(t, c.Decoded, tk.Decode(c.IDs, false), "decode %v", c.IDs)
		assert.Equal(t, c.DecodedSkip, tk.Decode(c.IDs, true), "decode %v skipping special tokens", c.IDs)
		assert.Equal(t, c.Decoded, streamAll(tk, c.IDs, false), "stream decode %v", c.IDs)
		assert.Equal(t, c.DecodedSkip, streamAll(tk, c.IDs, true), "stream decode %v skipping special tokens", c.IDs)
	}
}

// stripTokens undoes one thing HF's token strings have and ours do not: an
// added token with lstrip or rstrip is shown by HF with the white space it
// took in (the ids are the same).
func stripTokens(tk *Tokenizer, ids []int, tokens []string) []string {
	out := append([]string{}, tokens...)
	for i, id := range ids {
		if a, ok := tk.added[id]; ok && i < len(out) && (a.LStrip || a.RStrip) {
			out[i] = strings.TrimFunc(out[i], unicode.IsSpace)
		}
	}
	return out
}
