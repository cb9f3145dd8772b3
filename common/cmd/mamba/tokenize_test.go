package main

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const testTokenizer = "../../tokenizer/testdata/tokenizer.json"

func TestTokenizeDetokenize(t *testing.T) {
	text := "Hello  world<|endoftext|>\nThe model's state: 3.14 — résumé 🐍"
	var out bytes.Buffer
	require.NoError(t, runTokenize([]string{"-z", testTokenizer}, strings.NewReader(text), &out))
	assert.True(t, strings.HasPrefix(out.String(), "[") && strings.HasSuffix(out.String(), "]\n"), out.String())
	assert.Contains(t, out.String(), ",0,") // <|endoftext|> is id 0

	var back bytes.Buffer
	require.NoError(t, runDetokenize([]string{"-z", testTokenizer}, bytes.NewReader(out.Bytes()), &back))
	assert.Equal(t, text, back.String())

	back.Reset()
	require.NoError(t, runDetokenize([]string{"-z", testTokenizer, "-skip-special"}, bytes.NewReader(out.Bytes()), &back))
	assert.Equal(t, strings.Replace(text, "<|endoftext|>", "", 1), back.String())
}

func TestTokenizeEmpty(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, runTokenize([]string{"-z", testTokenizer}, strings.NewReader(""), &out))
	assert.Equal(t, "[]\n", out.String())
}

func TestTokenizeErrors(t *testing.T) {
	var out bytes.Buffer
	err := runTokenize(nil, strings.NewReader("x"), &out)
	assert.ErrorContains(t, err, "-z TOKENIZER is required")

	err = runTokenize([]string{"-z", testTokenizer}, strings.NewReader("ok\xffno"), &out)
	assert.ErrorContains(t, err, "not valid UTF-8 (first bad byte at offset 2)")

	err = runTokenize([]string{"-z", "no/such/tokenizer.json"}, strings.NewReader("x"), &out)
	assert.ErrorContains(t, err, "no/such/tokenizer.json")

	err = runTokenize([]string{"-z", testTokenizer, "extra"}, strings.NewReader("x"), &out)
	assert.ErrorContains(t, err, `unexpected argument "extra"`)

	for in, want := range map[string]string{
		`["a"]`:     `entry 0 of the array is "a", not a token id`,
		`[1, 1.5]`:  "entry 1 of the array is 1.5, not a token id",
		`[1, [2]]`:  "entry 1 of the array is a nested [, not a token id",
		`[1, true]`: "entry 1 of the array is true, not a token id",
		`{"a": 1}`:  "not a JSON array of token ids",
		`[1, 2`:     "not a JSON array of token ids",
		``:          "not a JSON array of token ids",
	} {
		err = runDetokenize([]string{"-z", testTokenizer}, strings.NewReader(in), &out)
		assert.ErrorContains(t, err, want, in)
	}

	// The text is written as the ids are read: that of the array comes
	// before the error about what follows it.
	out.Reset()
	err = runDetokenize([]string{"-z", testTokenizer}, strings.NewReader(`[262] [2]`), &out)
	assert.ErrorContains(t, err, "more than one JSON value")
	assert.Equal(t, " the", out.String())
}

// tokenize reads at most maxTokenizeInput bytes: one more is refused with
// one line, instead of being read whole (1 GB of text once took 7 GB).
func TestTokenizeInputIsBounded(t *testing.T) {
	defer func(n int64) { maxTokenizeInput = n }(maxTokenizeInput)
	maxTokenizeInput = 1000
	var out bytes.Buffer
	require.NoError(t, runTokenize([]string{"-z", testTokenizer}, strings.NewReader(strings.Repeat("a", 1000)), &out))
	err := runTokenize([]string{"-z", testTokenizer}, strings.NewReader(strings.Repeat("a", 1001)), &out)
	assert.EqualError(t, err, "stdin holds more than 1000 bytes (1000 B), the limit of a prompt")
}

// idStream is a JSON array of n ids, all 262 (" the"), made as it is read; at
// its end it records how much text out had received by then.
type idStream struct {
	n, sent    int
	out        *bytes.Buffer
	outAtClose int
}

func (s *idStream) Read(p []byte) (int, error) {
	switch {
	case s.sent > s.n:
		return 0, io.EOF
	case s.sent == s.n:
		s.outAtClose = s.out.Len()
		s.sent++
		return copy(p, "262]"), nil
	case s.sent == 0:
		s.sent++
		return copy(p, "["), nil
	}
	k := min(len(p)/4, s.n-s.sent)
	for i := range k {
		copy(p[4*i:], "262,")
	}
	s.sent += k
	return 4 * k, nil
}

// detokenize streams: the text of the first ids is written before the
// last are read, so that a long array (10 M ids once took 566 MB) is not
// held in memory.
func TestDetokenizeStreams(t *testing.T) {
	var out bytes.Buffer
	in := &idStream{n: 200_000, out: &out}
	require.NoError(t, runDetokenize([]string{"-z", testTokenizer}, in, &out))
	assert.Equal(t, 4*200_000, out.Len())
	assert.Greater(t, in.outAtClose, 4*100_000, "most of the text was out before the array ended")
}

func TestDetokenizeSkipsUnknownIDs(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, runDetokenize([]string{"-z", testTokenizer}, strings.NewReader(`[-5, 99999, 0]`), &out))
	assert.Equal(t, "<|endoftext|>", out.String())
}

func TestCommandsRegistered(t *testing.T) {
	for _, name := range []string{"tokenize", "detokenize"} {
		c, ok := commands[name]
		require.True(t, ok, name)
		assert.NotEmpty(t, c.summary)
	}
}
