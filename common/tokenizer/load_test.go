package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// minimal is a tiny valid tokenizer.json, edited by the tests below.
func minimal() map[string]any {
	vocab := map[string]any{}
	for b := 0; b < 256; b++ {
		vocab[string(byteRune[b])] = b
	}
	vocab["Ġt"] = 256
	vocab["he"] = 257
	return map[string]any{
		"added_tokens": []any{map[string]any{
			"id": 258, "content": "<|endoftext|>", "special": true, "normalized": false,
			"single_word": false, "lstrip": false, "rstrip": false,
		}},
		"normalizer":    map[string]any{"type": "NFC"},
		"pre_tokenizer": map[string]any{"type": "ByteLevel", "add_prefix_space": false},
		"decoder":       map[string]any{"type": "ByteLevel"},
		"model":         map[string]any{"type": "BPE", "vocab": vocab, "merges": []any{"Ġ t", []any{"h", "e"}}},
	}
}

func parseMap(t *testing.T, m map[string]any) (*Tokenizer, error) {
	t.Helper()
	data, err := json.Marshal(m)
	require.NoError(t, err)
	return Parse(data)
}

func TestParseMinimal(t *testing.T) {
	tk, err := parseMap(t, minimal())
	require.NoError(t, err)
	assert.Equal(t, 259, tk.VocabSize())
	assert.Equal(t, []int{256, 257, 258}, tk.Encode(" the<|endoftext|>"))
	id, ok := tk.TokenID("<|endoftext|>")
	assert.True(t, ok)
	assert.Equal(t, 258, id)
	_, ok = tk.TokenID("nope")
	assert.False(t, ok)
	assert.True(t, tk.IsSpecial(258))
	assert.False(t, tk.IsSpecial(256))
}

func TestParseErrors(t *testing.T) {
	edit := func(f func(m map[string]any)) map[string]any {
		m := minimal()
		f(m)
		return m
	}
	model := func(m map[string]any) map[string]any { return m["model"].(map[string]any) }
	cases := []struct {
		name string
		m    map[string]any
		want string
	}{
		{"not BPE", edit(func(m map[string]any) { model(m)["type"] = "WordPiece" }), `model type "WordPiece" is not supported`},
		{"no model", edit(func(m map[string]any) { delete(m, "model") }), "no model"},
		{"no vocab", edit(func(m map[string]any) { delete(model(m), "vocab") }), "model has no vocab"},
		{"no merges", edit(func(m map[string]any) { delete(model(m), "merges") }), "model has no merges"},
		{"merge of unknown token", edit(func(m map[string]any) { model(m)["merges"] = []any{"Ġ x"} }), `merges: entry 1 makes "Ġx", which is not in the vocab`},
		{"merge part unknown", edit(func(m map[string]any) { model(m)["merges"] = []any{[]any{"zz", "t"}} }), `merges: entry 1 names "zz"`},
		{"merge with three parts", edit(func(m map[string]any) { model(m)["merges"] = []any{"a b c"} }), `not two tokens separated by one space`},
		{"merge pair of three", edit(func(m map[string]any) { model(m)["merges"] = []any{[]any{"a", "b", "c"}} }), `neither "a b" nor ["a", "b"]`},
		{"merges not a list", edit(func(m map[string]any) { model(m)["merges"] = 5 }), "merges: not a list"},
		{"negative id", edit(func(m map[string]any) { model(m)["vocab"].(map[string]any)["he"] = -1 }), `"he" has id -1 out of range`},
		{"huge id", edit(func(m map[string]any) { model(m)["vocab"].(map[string]any)["he"] = 1 << 40 }), `"he" has id 1099511627776 out of range`},
		{"huge added id", edit(func(m map[string]any) {
			m["added_tokens"].([]any)[0].(map[string]any)["id"] = 1 << 30
		}), "has id 1073741824 out of range"},
		{"duplicate id", edit(func(m map[string]any) { model(m)["vocab"].(map[string]any)["he"] = 256 }), "have the same id 256"},
		{"normalizer", edit(func(m map[string]any) { m["normalizer"] = map[string]any{"type": "Lowercase"} }), `normalizer type "Lowercase" is not supported`},
		{"pre-tokenizer", edit(func(m map[string]any) { m["pre_tokenizer"] = map[string]any{"type": "Whitespace"} }), `pre_tokenizer type "Whitespace" is not supported`},
		{"no pre-tokenizer", edit(func(m map[string]any) { m["pre_tokenizer"] = nil }), "pre_tokenizer: none"},
		{"decoder", edit(func(m map[string]any) { m["decoder"] = map[string]any{"type": "WordPiece"} }), `decoder type "WordPiece" is not supported`},
		{"dropout", edit(func(m map[string]any) { model(m)["dropout"] = 0.1 }), "dropout is not supported"},
		{"byte fallback", edit(func(m map[string]any) { model(m)["byte_fallback"] = true }), "byte_fallback is not supported"},
		{"unk not in vocab", edit(func(m map[string]any) { model(m)["unk_token"] = "<unk>" }), `unk_token "<unk>" is not in the vocab`},
		{"added id clash", edit(func(m map[string]any) {
			m["added_tokens"].([]any)[0].(map[string]any)["id"] = 257
		}), `"<|endoftext|>" has id 257, which the vocab gives to "he"`},
		{"added id disagrees with vocab", edit(func(m map[string]any) {
			m["added_tokens"].([]any)[0].(map[string]any)["content"] = "he"
		}), `"he" has id 258 but the vocab gives it 257`},
		{"added without id", edit(func(m map[string]any) {
			delete(m["added_tokens"].([]any)[0].(map[string]any), "id")
		}), "has no id"},
		{"added empty", edit(func(m map[string]any) {
			m["added_tokens"].([]any)[0].(map[string]any)["content"] = ""
		}), "empty content"},
	}
	for _, c := range cases {
		_, err := parseMap(t, c.m)
		if assert.Error(t, err, c.name) {
			assert.Contains(t, err.Error(), c.want, c.name)
			assert.NotContains(t, err.Error(), "\n", c.name)
		}
	}
}

func TestParseBadJSON(t *testing.T) {
	for _, data := range []string{"", "{", "[1,2]", `{"model": 5}`, `{} {}`, "null"} {
		_, err := Parse([]byte(data))
		assert.Error(t, err, "%q", data)
	}
}

func TestLoadNamesTheFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "tokenizer.json")
	require.NoError(t, os.WriteFile(p, []byte(`{"model": {"type": "Unigram"}}`), 0o644))
	_, err := Load(p)
	require.Error(t, err)
	assert.Equal(t, "tokenizer "+p+`: model type "Unigram" is not supported (only BPE)`, err.Error())

	_, err = Load(filepath.Join(dir, "missing.json"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "missing.json")
}

func TestSmallTokenizerFileFormats(t *testing.T) {
	// The same tokenizer with "a b" merges and as compact JSON must load
	// and encode the same.
	data, err := os.ReadFile("testdata/tokenizer.json")
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(data, &m))
	model := m["model"].(map[string]any)
	var legacy []any
	for _, p := range model["merges"].([]any) {
		pair := p.([]any)
		legacy = append(legacy, pair[0].(string)+" "+pair[1].(string))
	}
	model["merges"] = legacy
	compact, err := json.Marshal(m)
	require.NoError(t, err)
	require.False(t, strings.Contains(string(compact), "\n"))
	a, err := Parse(compact)
	require.NoError(t, err)
	b := smallTokenizer(t)
	text := "The model's state:  3.14 — résumé 🐍\n\n<|endoftext|>"
	assert.Equal(t, b.Encode(text), a.Encode(text))
}

// FuzzParse: no file makes Parse panic or, if accepted, Encode and Decode.
func FuzzParse(f *testing.F) {
	data, err := json.Marshal(minimal())
	require.NoError(f, err)
	f.Add(data)
	f.Add([]byte(`{"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]}, "pre_tokenizer": {"type": "ByteLevel"}, "decoder": {"type": "ByteLevel"}}`))
	f.Add([]byte(`{"added_tokens": [{"id": 3, "content": "x", "lstrip": true, "rstrip": true, "single_word": true}], "model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}, "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": true, "use_regex": false}, "decoder": {"type": "ByteLevel"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		tk, err := Parse(data)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error on more than one line: %q", err)
			}
			return
		}
		ids := tk.Encode(" x  ax\tabé<|endoftext|>" + string(data[:min(len(data), 40)]))
		tk.Decode(append(ids, -1, 0, 1, 2, 1<<20), true)
	})
}
