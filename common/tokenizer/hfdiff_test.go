package tokenizer

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestHFDiff is a development check against HF on random texts for any
// tokenizer, e.g. the real GPT-NeoX one:
//
//	node testdata/make.js --diff ../../../shared/tokenizer/gpt-neox-20b.tokenizer.json 20000 /tmp/diff.jsonl
//	MAMBA_HF_DIFF=/tmp/diff.jsonl go test -run HFDiff ./tokenizer/
//
// The file's first line names the tokenizer; the others are cases.
func TestHFDiff(t *testing.T) {
	path := os.Getenv("MAMBA_HF_DIFF")
	if path == "" {
		t.Skip("set MAMBA_HF_DIFF to a file written by testdata/make.js --diff")
	}
	type header struct {
		Tokenizer string `json:"tokenizer"`
	}
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var h header
	require.NoError(t, json.Unmarshal(data[:indexByte(data, '\n')], &h))
	tk, err := Load(h.Tokenizer)
	require.NoError(t, err)
	cases := readJSONL[encodeCase](t, path)[1:]
	require.NotEmpty(t, cases)
	checkEncodeCases(t, tk, cases)
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return len(b)
}
