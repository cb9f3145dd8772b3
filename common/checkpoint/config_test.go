package checkpoint

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mamba.go/common/model"
	"mamba.go/common/refcase"
)

// The config.json of state-spaces/mamba-130m.
const mamba130m = `{"d_model": 768, "n_layer": 24, "vocab_size": 50277, "ssm_cfg": {}, "rms_norm": true,
 "residual_in_fp32": true, "fused_add_norm": true, "pad_vocab_size_multiple": 8}`

// Every key of mamba_ssm's MambaConfig and of its Mamba's ssm_cfg, at the
// values implemented here.
const stateSpacesAllKeys = `{"d_model": 64, "d_intermediate": 0, "n_layer": 2, "vocab_size": 500,
 "ssm_cfg": {"layer": "Mamba1", "d_state": 8, "d_conv": 3, "expand": 2, "dt_rank": "auto", "dt_min": 0.001,
  "dt_max": 0.1, "dt_init": "random", "dt_scale": 1.0, "dt_init_floor": 0.0001, "conv_bias": true, "bias": false,
  "use_fast_path": true},
 "attn_layer_idx": [], "attn_cfg": {}, "rms_norm": true, "residual_in_fp32": true, "fused_add_norm": true,
 "pad_vocab_size_multiple": 16, "tie_embeddings": false}`

func TestRealStateSpacesConfigs(t *testing.T) {
	mc, err := ParseConfig([]byte(mamba130m))
	require.NoError(t, err)
	assert.Equal(t, DialectStateSpaces, mc.Dialect)
	assert.Equal(t, model.Config{NLayers: 24, VocabSize: 50277, DModel: 768, DInner: 1536, DtRank: 48, DState: 16, DConv: 4, TiedHead: true}, mc.Config)
	assert.Equal(t, 8, mc.PadMultiple)

	mc, err = ParseConfig([]byte(stateSpacesAllKeys))
	require.NoError(t, err)
	assert.Equal(t, model.Config{NLayers: 2, VocabSize: 500, DModel: 64, DInner: 128, DtRank: 4, DState: 8, DConv: 3}, mc.Config)
	assert.Equal(t, 16, mc.PadMultiple)

	// The reference cases' state-spaces configs, ../shared's and the project's.
	var files []string
	if shared := refcase.SharedDir(); shared != "" {
		found, _ := filepath.Glob(filepath.Join(shared, "reference", "hf-transformers", "*", "state-spaces", ConfigFile))
		files = append(files, found...)
	}
	found, _ := filepath.Glob(filepath.Join(refcase.RepoRoot(), "testdata", "cases", "*", "state-spaces", ConfigFile))
	files = append(files, found...)
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		_, err = ParseConfig(data)
		assert.NoError(t, err, f)
	}
}

// The three ways a config writes a non-finite float, wherever a float is read.
var infinities = map[string]string{
	"bare (Python's json)": `Infinity`,
	"a string":             `"Infinity"`,
	"transformers ≥ 5":     `{"__float__": "Infinity"}`,
}

func TestNonFiniteFloats(t *testing.T) {
	for form, inf := range infinities {
		for name, cfg := range map[string]string{
			"Mamba-2": `{"model_type": "mamba2", "hidden_size": 32, "num_hidden_layers": 1, "vocab_size": 16, "num_heads": 1,
				"head_dim": 64, "n_groups": 1, "time_step_limit": [0.0, ` + inf + `]}`,
			"Mamba-2 state-spaces": `{"d_model": 32, "n_layer": 1, "vocab_size": 10,
				"ssm_cfg": {"layer": "Mamba2", "headdim": 16, "dt_limit": [0.0, ` + inf + `]}}`,
			"Mamba": `{"model_type": "mamba", "hidden_size": 32, "num_hidden_layers": 1, "vocab_size": 16,
				"time_step_limit": [0.0, ` + inf + `]}`,
			"Falcon-Mamba": `{"model_type": "falcon_mamba", "hidden_size": 32, "num_hidden_layers": 1, "vocab_size": 16,
				"time_step_limit": [0, ` + inf + `]}`,
		} {
			mc, err := ParseConfig([]byte(cfg))
			require.NoError(t, err, "%s, %s", name, form)
			if mc.Arch == model.Mamba2 {
				assert.True(t, math.IsInf(float64(mc.DtMax), 1), "%s, %s", name, form)
			}
		}
		// A limit that clamps, read in that form, is still refused where nothing clamps.
		_, err := ParseConfig([]byte(`{"model_type": "falcon_mamba", "hidden_size": 32, "num_hidden_layers": 1,
			"vocab_size": 16, "time_step_limit": [0.5, ` + inf + `]}`))
		assert.ErrorContains(t, err, "time_step_limit is (0.5, +Inf)", form)
	}

	// -Infinity and NaN are read too, and refused for what they say.
	hf2 := func(kv string) string {
		return `{"model_type": "mamba2", "hidden_size": 32, "num_hidden_layers": 1, "vocab_size": 16, "num_heads": 1,
			"head_dim": 64, "n_groups": 1, ` + kv + `}`
	}
	falcon := func(kv string) string {
		return `{"model_type": "falcon_mamba", "hidden_size": 32, "num_hidden_layers": 1, "vocab_size": 16, ` + kv + `}`
	}
	for _, tc := range []struct{ config, want string }{
		{hf2(`"time_step_limit": [{"__float__": "-Infinity"}, 0.1]`), "time_step_limit: want 0 ≤ min < max"},
		{hf2(`"time_step_limit": ["-Infinity", 0.1]`), "time_step_limit: want 0 ≤ min < max"},
		{hf2(`"time_step_limit": [0.0, {"__float__": "NaN"}]`), "time_step_limit: want 0 ≤ min < max"},
		{hf2(`"time_step_limit": [0.0, "NaN"]`), "time_step_limit: want 0 ≤ min < max"},
		{hf2(`"layer_norm_epsilon": {"__float__": "NaN"}`), "layer_norm_epsilon is NaN"},
		{falcon(`"mixer_rms_eps": {"__float__": "Infinity"}`), "mixer_rms_eps is +Inf, want 0 < ε < 1"},
		{falcon(`"mixer_rms_eps": "-Infinity"`), "mixer_rms_eps is -Inf, want 0 < ε < 1"},
		{falcon(`"mixer_rms_eps": NaN`), "mixer_rms_eps is NaN, want 0 < ε < 1"},
		// What transformers itself leaves undecoded is no float.
		{hf2(`"time_step_limit": [0.0, {"__float__": "inf"}]`), "time_step_limit: not a pair of numbers"},
		{hf2(`"time_step_limit": [0.0, {"__float__": "Infinity", "x": 1}]`), "time_step_limit: not a pair of numbers"},
		{hf2(`"time_step_limit": [0.0, {"__float__": 1}]`), "time_step_limit: not a pair of numbers"},
		{hf2(`"time_step_limit": [0.0, {}]`), "time_step_limit: not a pair of numbers"},
		{hf2(`"time_step_limit": [0.0, "inf"]`), "time_step_limit: not a pair of numbers"},
		{falcon(`"mixer_rms_eps": {"__float__": "1e-6"}`), "mixer_rms_eps: not a number"},
	} {
		_, err := ParseConfig([]byte(tc.config))
		assert.ErrorContains(t, err, tc.want, tc.config)
	}
}

func TestFloatValue(t *testing.T) {
	for in, want := range map[string]float64{
		`1e-05`: 1e-5, `0`: 0, `-2.5`: -2.5,
		`"Infinity"`: math.Inf(1), `"-Infinity"`: math.Inf(-1),
		`{"__float__": "Infinity"}`: math.Inf(1), `{"__float__": "-Infinity"}`: math.Inf(-1),
	} {
		x, ok := floatValue([]byte(in))
		require.True(t, ok, in)
		assert.Equal(t, want, x, in)
	}
	for _, in := range []string{`"NaN"`, `{"__float__": "NaN"}`} {
		x, ok := floatValue([]byte(in))
		require.True(t, ok, in)
		assert.True(t, math.IsNaN(x), in)
	}
	for _, in := range []string{`null`, `true`, `[]`, `{}`, `"x"`, `"nan"`, `{"__float__": null}`, `{"__float__": "NaN", "y": 2}`, `1e999`} {
		_, ok := floatValue([]byte(in))
		assert.False(t, ok, in)
	}
}

// transformers picks the class from model_type (AutoConfig's mapping);
// architectures names the head class and some conversions leave it out.
func TestConfigWithoutArchitectures(t *testing.T) {
	for name, tc := range map[string]struct {
		cfg  string
		arch model.Arch
	}{
		"mamba-2.8b-hf": {mamba28bHF, model.Mamba1},
		"codestral":     {codestral, model.Mamba2},
		"falcon-mamba":  {falconMamba7b, model.FalconMamba},
	} {
		cfg := strings.Replace(tc.cfg, `"architectures": ["MambaForCausalLM"], `, "", 1)
		cfg = strings.Replace(cfg, `"architectures": ["Mamba2ForCausalLM"], `, "", 1)
		cfg = strings.Replace(cfg, `"architectures": ["FalconMambaForCausalLM"], `, "", 1)
		require.NotContains(t, cfg, "architectures", name)
		with, err := ParseConfig([]byte(tc.cfg))
		require.NoError(t, err, name)
		without, err := ParseConfig([]byte(cfg))
		require.NoError(t, err, name)
		assert.Equal(t, tc.arch, without.Arch, name)
		assert.Equal(t, with, without, name)
	}
}

// A state-spaces config is read as strictly as a transformers one: a key
// that is neither honoured nor known to leave the step alone is refused by
// name, and so is a null where Python would not take the default.
func TestStateSpacesConfigIsStrict(t *testing.T) {
	ss := func(top, ssm string) string {
		return `{"d_model": 32, "n_layer": 1, "vocab_size": 10` + top + `, "ssm_cfg": {"d_state": 8` + ssm + `}}`
	}
	hf := func(kv string) string {
		return `{"model_type": "mamba", "hidden_size": 32, "num_hidden_layers": 1, "vocab_size": 16, ` + kv + `}`
	}
	for _, tc := range []struct{ config, want string }{
		{ss(`, "moe": 1`, ``), "moe: unknown key for a Mamba config"},
		{ss(`, "model_type": "mamba"`, ``), "model_type: unknown key for a Mamba config"},
		{ss(``, `, "headdim": 16`), "ssm_cfg.headdim: unknown key for a Mamba config"},
		{ss(``, `, "dt_limit": [0.0, 0.1]`), "ssm_cfg.dt_limit: unknown key for a Mamba config"},
		{ss(``, `, "d_inner": 64`), "ssm_cfg.d_inner: unknown key for a Mamba config"},
		{ss(``, `, "dt_rank": null`), `ssm_cfg: dt_rank: is null, want an integer or "auto"`},
		{ss(``, `, "d_conv": null`), "ssm_cfg: d_conv: is null, want an integer"},
		{ss(``, `, "conv_bias": null`), "ssm_cfg: conv_bias: is null, want true or false"},
		{ss(``, `, "layer": null`), "ssm_cfg: layer: is null, want a string"},
		{ss(`, "pad_vocab_size_multiple": 0`, ``), "pad_vocab_size_multiple is 0, want ≥ 1"},
		{ss(`, "pad_vocab_size_multiple": null`, ``), "pad_vocab_size_multiple: is null, want an integer"},
		{ss(`, "tie_embeddings": null`, ``), "tie_embeddings: is null, want true or false"},
		{ss(`, "rms_norm": null`, ``), "rms_norm: is null, want true or false"},
		{ss(`, "d_intermediate": null`, ``), "d_intermediate: is null, want an integer"},
		{`{"d_model": 32, "n_layer": 1, "vocab_size": 10, "pad_vocab_size_multiple": 0, "ssm_cfg": {"layer": "Mamba2", "headdim": 16}}`, "pad_vocab_size_multiple is 0"},
		{`{"d_model": 32, "n_layer": 1, "vocab_size": 10, "ssm_cfg": {"layer": "Mamba2", "headdim": 16, "dt_limit": null}}`, "ssm_cfg: dt_limit: is null"},
		{hf(`"time_step_rank": null`), `time_step_rank: is null, want an integer or "auto"`},
		{hf(`"use_conv_bias": null`), "use_conv_bias: is null, want true or false"},
		{hf(`"tie_word_embeddings": null`), "tie_word_embeddings: is null, want true or false"},
		{hf(`"layer_norm_epsilon": null`), "layer_norm_epsilon: is null, want a number"},
	} {
		_, err := ParseConfig([]byte(tc.config))
		if assert.ErrorContains(t, err, tc.want, tc.config) {
			assert.NotContains(t, err.Error(), "\n")
		}
	}

	// What mamba_ssm gives a meaning, null included, still loads.
	for _, cfg := range []string{
		ss(`, "attn_layer_idx": null, "attn_cfg": null`, `, "dt_rank": "auto"`),
		`{"d_model": 32, "n_layer": 1, "vocab_size": 10, "ssm_cfg": null}`,
		`{"d_model": 32, "n_layer": 1, "vocab_size": 10, "ssm_cfg": {"layer": "Mamba2", "headdim": 16, "d_ssm": null}}`,
		ss(`, "pad_vocab_size_multiple": 1`, `, "dt_rank": 3, "dt_min": 0.01, "dt_init": "constant", "use_fast_path": false, "layer_idx": 0`),
	} {
		_, err := ParseConfig([]byte(cfg))
		assert.NoError(t, err, cfg)
	}
}
