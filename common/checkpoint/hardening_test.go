package checkpoint

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Small config mistakes get their own message, and a config.json with
// something after its object is refused as tokenizer.json is.
func TestConfigMistakesSayWhat(t *testing.T) {
	for _, c := range []struct{ json, want string }{
		{`{"hidden_size": 8, "num_hidden_layers": 1, "vocab_size": 10, "model_type": 5}`, `model_type: not a string: "5"`},
		{`{"d_model": 8, "n_layer": 1, "vocab_size": 10, "ssm_cfg": {"expand": 0}}`, "expand: is 0, want ≥ 1"},
		{`{"hidden_size": 8, "num_hidden_layers": 1, "vocab_size": 10, "expand": 0}`, "expand: is 0, want ≥ 1"},
		{`{"d_model": 8, "n_layer": 1, "vocab_size": 10, "ssm_cfg": {"layer": "Mamba2", "expand": 0}}`, "expand: is 0, want ≥ 1"},
		{`{"hidden_size": 8, "num_hidden_layers": 1, "vocab_size": 10, "model_type": "mamba2", "expand": 0}`, "expand: is 0, want ≥ 1"},
		{`{"d_model": 8, "n_layer": 1, "vocab_size": 10} garbage`, "trailing data after the JSON object"},
		{`{"d_model": 8, "n_layer": 1, "vocab_size": 10}{}`, "trailing data after the JSON object"},
	} {
		_, err := ParseConfig([]byte(c.json))
		require.Error(t, err, c.json)
		assert.Contains(t, err.Error(), c.want, c.json)
	}
	_, err := ParseConfig([]byte("{\"d_model\": 8, \"n_layer\": 1, \"vocab_size\": 10}\n\t "))
	assert.NoError(t, err, "whitespace after the object is fine")
	_, err = ParseConfig([]byte(`{"hidden_size": 8, "num_hidden_layers": 1, "vocab_size": 10, "expand": 0, "intermediate_size": 16}`))
	assert.NoError(t, err, "expand is unused when intermediate_size is given")
}

// Strings from files are quoted in errors: a tensor name holding a terminal
// escape sequence cannot recolour or rewrite the user's terminal.
func TestErrorsQuoteStringsFromFiles(t *testing.T) {
	hdr := "{\"\\u001b]0;pwned\\u0007\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}," +
		"\"\\u001b]0;pwned\\u0007\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}"
	_, err := parseSafetensorsJSON([]byte(hdr), 4)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "\x1b")
	assert.Contains(t, err.Error(), `\x1b]0;pwned\a`)

	_, err = parseSafetensorsJSON([]byte("{\"a\": {\"dtype\": \"\\u001b[2J\", \"shape\": [1], \"data_offsets\": [0, 4]}}"), 4)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "\x1b")
}
