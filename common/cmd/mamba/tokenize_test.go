package main

import (
	"bytes"
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

	err = runDetokenize([]string{"-z", testTokenizer}, strings.NewReader(`["a"]`), &out)
	assert.ErrorContains(t, err, "not a JSON array of token ids")

	err = runDetokenize([]string{"-z", testTokenizer}, strings.NewReader(`[1] [2]`), &out)
	assert.ErrorContains(t, err, "more than one JSON value")
	assert.Empty(t, out.String())
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
