package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mamba.go/common/tokenizer"
)

func TestExportTokenizer(t *testing.T) {
	out := filepath.Join(t.TempDir(), "tokenizer.bin")
	require.NoError(t, runExportTokenizer([]string{testTokenizer, out}))

	f, err := os.Open(out)
	require.NoError(t, err)
	defer f.Close()
	pieces, err := tokenizer.ReadMambaC(f)
	require.NoError(t, err)
	tk, err := tokenizer.Load(testTokenizer)
	require.NoError(t, err)
	want, err := tk.MambaCPieces() // checked byte by byte in package tokenizer
	require.NoError(t, err)
	assert.Equal(t, want, pieces)
	assert.Len(t, pieces, 1006)
	assert.Equal(t, "<|endoftext|>", string(pieces[0]))
	assert.Equal(t, " the", string(pieces[262]))
}

func TestExportTokenizerRefuses(t *testing.T) {
	dir := t.TempDir()
	assert.ErrorContains(t, runExportTokenizer([]string{testTokenizer}), "want tokenizer.json and OUT.bin")
	assert.ErrorContains(t, runExportTokenizer([]string{"no/such.json", filepath.Join(dir, "a.bin")}), "no/such.json")

	// Writing over the source.
	src := filepath.Join(dir, "tokenizer.json")
	data, err := os.ReadFile(testTokenizer)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(src, data, 0o644))
	assert.ErrorContains(t, runExportTokenizer([]string{src, src}), "refusing to overwrite the source")
	after, err := os.ReadFile(src)
	require.NoError(t, err)
	assert.Equal(t, data, after)

	// An id with no token: nothing is written.
	var m map[string]any
	require.NoError(t, json.Unmarshal(data, &m))
	added := m["added_tokens"].([]any)
	added[len(added)-1].(map[string]any)["id"] = 1010
	holed, err := json.Marshal(m)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(src, holed, 0o644))
	out := filepath.Join(dir, "holed.bin")
	assert.ErrorContains(t, runExportTokenizer([]string{src, out}), "has no token")
	assert.NoFileExists(t, out)
}
