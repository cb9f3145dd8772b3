package checkpoint

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mamba.go/common/model"
)

// The config.json of state-spaces/mamba-2.8b-hf (transformers 4.39): it
// carries state-spaces' n_layer without d_model, so it must be read as
// transformers' dialect, not as state-spaces'.
const mamba28bHF = `{
  "architectures": ["MambaForCausalLM"], "bos_token_id": 0, "conv_kernel": 4, "eos_token_id": 0, "expand": 2,
  "fused_add_norm": true, "hidden_act": "silu", "hidden_size": 2560, "initializer_range": 0.1, "intermediate_size": 5120,
  "layer_norm_epsilon": 1e-05, "model_type": "mamba", "n_layer": 64, "num_hidden_layers": 64, "pad_token_id": 0,
  "pad_vocab_size_multiple": 8, "rescale_prenorm_residual": false, "residual_in_fp32": true, "rms_norm": true,
  "state_size": 16, "time_step_floor": 0.0001, "time_step_init_scheme": "random", "time_step_max": 0.1,
  "time_step_min": 0.001, "time_step_rank": 160, "time_step_scale": 1.0, "torch_dtype": "float32",
  "transformers_version": "4.39.0.dev0", "use_bias": false, "use_cache": true, "use_conv_bias": true, "vocab_size": 50280}`

// state-spaces/mamba-130m-hf's, which also has d_model, d_inner and an
// empty ssm_cfg.
const mamba130mHF = `{"architectures": ["MambaForCausalLM"], "bos_token_id": 0, "conv_kernel": 4, "d_inner": 1536,
  "d_model": 768, "eos_token_id": 0, "expand": 2, "fused_add_norm": true, "hidden_act": "silu", "hidden_size": 768,
  "initializer_range": 0.1, "intermediate_size": 1536, "layer_norm_epsilon": 1e-05, "model_type": "mamba",
  "n_layer": 24, "num_hidden_layers": 24, "pad_token_id": 0, "pad_vocab_size_multiple": 8,
  "rescale_prenorm_residual": false, "residual_in_fp32": true, "rms_norm": true, "ssm_cfg": {}, "state_size": 16,
  "time_step_floor": 0.0001, "time_step_init_scheme": "random", "time_step_max": 0.1, "time_step_min": 0.001,
  "time_step_rank": 48, "time_step_scale": 1.0, "torch_dtype": "float32", "transformers_version": "4.39.0.dev0",
  "use_bias": false, "use_cache": true, "use_conv_bias": true, "vocab_size": 50280}`

func TestRealHFMambaConfigs(t *testing.T) {
	for name, tc := range map[string]struct {
		cfg  string
		want model.Config
	}{
		"mamba-2.8b-hf": {mamba28bHF, model.Config{NLayers: 64, VocabSize: 50280, DModel: 2560, DInner: 5120, DtRank: 160, DState: 16, DConv: 4, TiedHead: true}},
		"mamba-130m-hf": {mamba130mHF, model.Config{NLayers: 24, VocabSize: 50280, DModel: 768, DInner: 1536, DtRank: 48, DState: 16, DConv: 4, TiedHead: true}},
	} {
		mc, err := ParseConfig([]byte(tc.cfg))
		require.NoError(t, err, name)
		assert.Equal(t, DialectHF, mc.Dialect, name)
		assert.Equal(t, tc.want, mc.Config, name)
	}
}

// A MambaConfig key whose value would change the step is refused by name,
// never ignored; so is a key nobody knows.
func TestHFMambaConfigRefusesWhatItCannotHonour(t *testing.T) {
	for change, want := range map[string]string{
		`"hidden_act": "silu"`:          `hidden_act is "gelu"`,
		`"layer_norm_epsilon": 1e-05`:   "layer_norm_epsilon is 1e-06",
		`"rms_norm": true`:              "rms_norm is false",
		`"use_cache": true`:             "mixer_rms_eps is Falcon-Mamba's key",
		`"time_step_floor": 0.0001`:     "time_step_limit is (0.1, 1)",
		`"n_layer": 64`:                 "n_layer is 63 but num_hidden_layers is 64",
		`"initializer_range": 0.1`:      "mystery_key: unknown key for a Mamba config",
		`"pad_vocab_size_multiple": 8,`: `ssm_cfg is "{\"d_state\": 8}"`,
	} {
		bad := map[string]string{
			`"hidden_act": "silu"`:          `"hidden_act": "gelu"`,
			`"layer_norm_epsilon": 1e-05`:   `"layer_norm_epsilon": 1e-06`,
			`"rms_norm": true`:              `"rms_norm": false`,
			`"use_cache": true`:             `"use_cache": true, "mixer_rms_eps": 1e-3`,
			`"time_step_floor": 0.0001`:     `"time_step_floor": 0.0001, "time_step_limit": [0.1, 1.0]`,
			`"n_layer": 64`:                 `"n_layer": 63`,
			`"initializer_range": 0.1`:      `"initializer_range": 0.1, "mystery_key": 1`,
			`"pad_vocab_size_multiple": 8,`: `"pad_vocab_size_multiple": 8, "ssm_cfg": {"d_state": 8},`,
		}[change]
		cfg := strings.Replace(mamba28bHF, change, bad, 1)
		require.NotEqual(t, mamba28bHF, cfg, change)
		_, err := ParseConfig([]byte(cfg))
		require.Error(t, err, change)
		assert.Contains(t, err.Error(), want, change)
	}
}
