package tokenizer

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The vectors under ../shared/tokenizer/vectors come from HF tokenizers
// (Rust), transformers and llama.cpp; every one must match exactly.

func readJSONL[T any](t *testing.T, path string) []T {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var out []T
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var v T
		require.NoError(t, json.Unmarshal(sc.Bytes(), &v), "line %q", sc.Text())
		out = append(out, v)
	}
	require.NoError(t, sc.Err())
	return out
}

func tokensOf(tk *Tokenizer, ids []int) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i], _ = tk.Token(id)
	}
	return out
}

func TestNeoXEdgeCases(t *testing.T) {
	tk := neoxTokenizer(t)
	type edgeCase struct {
		Text    string   `json:"text"`
		IDs     []int    `json:"ids"`
		Tokens  []string `json:"tokens"`
		Decoded string   `json:"decoded"`
	}
	cases := readJSONL[edgeCase](t, filepath.Join(sharedDir(t), "tokenizer", "vectors", "neox_edge_cases.jsonl"))
	require.Len(t, cases, 245)
	for _, c := range cases {
		ids := tk.Encode(c.Text)
		if c.IDs == nil {
			c.IDs = []int{}
		}
		if c.Tokens == nil {
			c.Tokens = []string{}
		}
		assert.Equal(t, c.IDs, ids, "encode %q", c.Text)
		assert.Equal(t, c.Tokens, tokensOf(tk, c.IDs), "tokens of %q", c.Text)
		assert.Equal(t, c.Decoded, tk.Decode(c.IDs, false), "decode of %q", c.Text)
	}
}

func TestNeoXDecodeCases(t *testing.T) {
	tk := neoxTokenizer(t)
	type decodeCase struct {
		IDs         []int  `json:"ids"`
		Decoded     string `json:"decoded"`
		DecodedSkip string `json:"decoded_skip_special"`
	}
	cases := readJSONL[decodeCase](t, filepath.Join(sharedDir(t), "tokenizer", "vectors", "neox_decode_cases.jsonl"))
	require.Len(t, cases, 20)
	for _, c := range cases {
		assert.Equal(t, c.Decoded, tk.Decode(c.IDs, false), "decode %v", c.IDs)
		assert.Equal(t, c.DecodedSkip, tk.Decode(c.IDs, true), "decode %v skipping special tokens", c.IDs)
		assert.Equal(t, c.Decoded, streamAll(tk, c.IDs, false), "stream decode %v", c.IDs)
		assert.Equal(t, c.DecodedSkip, streamAll(tk, c.IDs, true), "stream decode %v skipping special tokens", c.IDs)
	}
}

func streamAll(tk *Tokenizer, ids []int, skip bool) string {
	d := tk.NewStreamDecoder()
	d.SkipSpecial = skip
	var b strings.Builder
	for _, id := range ids {
		b.WriteString(d.Add(id))
	}
	b.WriteString(d.Flush())
	return b.String()
}

func TestTransformersIntegration(t *testing.T) {
	tk := neoxTokenizer(t)
	data, err := os.ReadFile(filepath.Join(sharedDir(t), "tokenizer", "vectors", "transformers_gpt_neox_integration.json"))
	require.NoError(t, err)
	var v struct {
		Input          string   `json:"input"`
		ExpectedTokens []string `json:"expected_tokens"`
		ExpectedIDs    []int    `json:"expected_ids"`
	}
	require.NoError(t, json.Unmarshal(data, &v))
	require.NotEmpty(t, v.ExpectedIDs)
	ids := tk.Encode(v.Input)
	assert.Equal(t, v.ExpectedIDs, ids)
	assert.Equal(t, v.ExpectedTokens, tokensOf(tk, ids))
	assert.Equal(t, v.Input, tk.Decode(ids, false))
}

// TestLlamaCppVocab reads llama.cpp's vocab test: inputs in the .inp file,
// each followed by the line __ggml_vocab_test__; in the .out file one line
// per input with its ids, each preceded by a space.
func TestLlamaCppVocab(t *testing.T) {
	tk := neoxTokenizer(t)
	dir := filepath.Join(sharedDir(t), "tokenizer", "vectors")
	inp, err := os.ReadFile(filepath.Join(dir, "llamacpp-gpt-neox.inp"))
	require.NoError(t, err)
	outp, err := os.ReadFile(filepath.Join(dir, "llamacpp-gpt-neox.out"))
	require.NoError(t, err)
	const sep = "\n__ggml_vocab_test__\n"
	require.True(t, strings.HasSuffix(string(inp), sep))
	texts := strings.Split(strings.TrimSuffix(string(inp), sep), sep)
	lines := strings.Split(strings.TrimSuffix(string(outp), "\n"), "\n")
	require.Len(t, lines, len(texts))
	require.Len(t, texts, 46)
	for i, text := range texts {
		want := []int{}
		for _, f := range strings.Fields(lines[i]) {
			id, err := strconv.Atoi(f)
			require.NoError(t, err)
			want = append(want, id)
		}
		assert.Equal(t, want, tk.Encode(text), "encode %q", text)
	}
}
