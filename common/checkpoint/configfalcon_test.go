package checkpoint

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mamba.go/common/model"
)

// The config.json of tiiuae/falcon-mamba-7b (its expand of 16 disagrees
// with its intermediate_size; transformers, and the weights, use the latter).
const falconMamba7b = `{"_name_or_path": "./", "architectures": ["FalconMambaForCausalLM"], "bos_token_id": 0,
 "conv_kernel": 4, "eos_token_id": 11, "expand": 16, "hidden_act": "silu", "hidden_size": 4096,
 "initializer_range": 0.1, "intermediate_size": 8192, "layer_norm_epsilon": 1e-05,
 "model_type": "falcon_mamba", "num_hidden_layers": 64, "pad_token_id": 11,
 "rescale_prenorm_residual": false, "residual_in_fp32": true, "state_size": 16,
 "tie_word_embeddings": false, "time_step_floor": 0.0001, "time_step_init_scheme": "random",
 "time_step_max": 0.1, "time_step_min": 0.001, "time_step_rank": 256, "time_step_scale": 1.0,
 "torch_dtype": "bfloat16", "transformers_version": "4.43.0.dev0", "use_bias": false,
 "use_cache": true, "use_conv_bias": true, "vocab_size": 65024, "use_mambapy": false,
 "mixer_rms_eps": 1e-06}`

func TestParseFalconMamba(t *testing.T) {
	mc, err := ParseConfig([]byte(falconMamba7b))
	require.NoError(t, err)
	assert.Equal(t, DialectHF, mc.Dialect)
	assert.Equal(t, model.NewFalconConfig(64, 65024, 4096, 8192, 256, 16, 4, false, 1e-6), mc.Config)
	assert.True(t, mc.ConvBias)

	// FalconMambaConfig's defaults where keys are absent: tied, expand 2,
	// dt_rank auto, mixer_rms_eps 1e-6.
	mc, err = ParseConfig([]byte(`{"model_type": "falcon_mamba", "hidden_size": 40, "num_hidden_layers": 2, "vocab_size": 100}`))
	require.NoError(t, err)
	assert.Equal(t, model.NewFalconConfig(2, 100, 40, 80, 3, 16, 4, true, 1e-6), mc.Config)

	// Another epsilon, an unlimited time_step_limit, rms_norm true, no conv bias.
	mc, err = ParseConfig([]byte(`{"model_type": "falcon_mamba", "hidden_size": 40, "num_hidden_layers": 2,
		"vocab_size": 100, "mixer_rms_eps": 1e-5, "time_step_limit": [0.0, Infinity], "rms_norm": true, "use_conv_bias": false}`))
	require.NoError(t, err)
	assert.Equal(t, float32(1e-5), mc.MixerEps)
	assert.False(t, mc.ConvBias)
}

func TestParseFalconMambaRefuses(t *testing.T) {
	base := `{"model_type": "falcon_mamba", "hidden_size": 40, "num_hidden_layers": 2, "vocab_size": 100`
	for _, tc := range []struct{ extra, want string }{
		{`"mixer_rms_eps": 0`, "mixer_rms_eps is 0"},
		{`"mixer_rms_eps": "small"`, "mixer_rms_eps: not a number"},
		{`"layer_norm_epsilon": 1e-6`, "layer_norm_epsilon is 1e-06"},
		{`"use_bias": true`, "use_bias is true"},
		{`"hidden_act": "gelu"`, `hidden_act is "gelu"`},
		{`"rms_norm": false`, "rms_norm is false"},
		{`"time_step_limit": [0.0, 0.1]`, "time_step_limit is (0, 0.1)"},
		{`"n_groups": 8`, "n_groups: unknown key for a Falcon-Mamba config"},
		{`"time_step_rank": 0`, "dt_rank is 0"},
	} {
		_, err := ParseConfig([]byte(base + ", " + tc.extra + "}"))
		assert.ErrorContains(t, err, tc.want, tc.extra)
	}
	// Every key of the 7b config is known.
	assert.False(t, strings.Contains(falconMamba7b, "n_groups"))
}
