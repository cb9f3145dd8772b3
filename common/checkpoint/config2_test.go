package checkpoint

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mamba.go/common/model"
)

// The config.json of state-spaces/mamba2-130m.
const mamba2_130m = `{"d_model": 768, "d_intermediate": 0, "n_layer": 24, "vocab_size": 50277,
 "ssm_cfg": {"layer": "Mamba2"}, "attn_layer_idx": [], "attn_cfg": {}, "rms_norm": true,
 "residual_in_fp32": true, "fused_add_norm": true, "pad_vocab_size_multiple": 16, "tie_embeddings": true}`

// A transformers Mamba2Config as mistralai/Mamba-Codestral-7B-v0.1 has it,
// with Python's Infinity.
const codestral = `{"architectures": ["Mamba2ForCausalLM"], "bos_token_id": 0, "chunk_size": 256,
 "conv_kernel": 4, "eos_token_id": 0, "expand": 2, "head_dim": 64, "hidden_act": "silu",
 "hidden_size": 4096, "initializer_range": 0.1, "layer_norm_epsilon": 1e-05, "model_type": "mamba2",
 "n_groups": 8, "num_heads": 128, "num_hidden_layers": 64, "pad_token_id": 0,
 "rescale_prenorm_residual": false, "residual_in_fp32": true, "rms_norm": true, "state_size": 128,
 "tie_word_embeddings": false, "time_step_floor": 0.0001, "time_step_limit": [0.0, Infinity],
 "time_step_max": 0.1, "time_step_min": 0.001, "time_step_rank": 256, "torch_dtype": "bfloat16",
 "transformers_version": "4.44.0.dev0", "use_bias": false, "use_cache": true, "use_conv_bias": true,
 "vocab_size": 32768}`

func TestParseMamba2StateSpaces(t *testing.T) {
	mc, err := ParseConfig([]byte(mamba2_130m))
	require.NoError(t, err)
	assert.Equal(t, DialectStateSpaces, mc.Dialect)
	want := model.Shapes2["130m"]
	assert.Equal(t, want, mc.Config)
	assert.Equal(t, 16, mc.PadMultiple)
	assert.True(t, mc.ConvBias)
}

func TestParseMamba2HF(t *testing.T) {
	mc, err := ParseConfig([]byte(codestral))
	require.NoError(t, err)
	c := mc.Config
	assert.Equal(t, model.Mamba2, c.Arch)
	assert.Equal(t, 128, c.NHeads)
	assert.Equal(t, 8, c.NGroups)
	assert.Equal(t, 8192, c.DInner)
	assert.Equal(t, 0, c.DtRank)
	assert.False(t, c.TiedHead)
	assert.True(t, math.IsInf(float64(c.DtMax), 1))
	assert.Equal(t, float32(0), c.DtMin)
	assert.Equal(t, 8192+2*8*128, c.ConvDim())

	// transformers' defaults where keys are absent: 8 groups, untied.
	mc, err = ParseConfig([]byte(`{"model_type": "mamba2", "hidden_size": 256, "num_hidden_layers": 2, "vocab_size": 16, "num_heads": 8}`))
	require.NoError(t, err)
	assert.Equal(t, 8, mc.NGroups)
	assert.Equal(t, 128, mc.DState)
	assert.False(t, mc.TiedHead)
}

func TestParseMamba2Limits(t *testing.T) {
	mc, err := ParseConfig([]byte(`{"d_model": 32, "n_layer": 1, "vocab_size": 10,
		"ssm_cfg": {"layer": "Mamba2", "headdim": 16, "d_state": 8, "dt_limit": [0.001, 0.1], "norm_before_gate": true}}`))
	require.NoError(t, err)
	assert.Equal(t, float32(0.001), mc.DtMin)
	assert.Equal(t, float32(0.1), mc.DtMax)
	assert.True(t, mc.NormBeforeGate)
	assert.Equal(t, 4, mc.NHeads)
}

func TestParseMamba2Refusals(t *testing.T) {
	ss := func(ssm string) string {
		return `{"d_model": 32, "n_layer": 1, "vocab_size": 10, "ssm_cfg": {"layer": "Mamba2", "headdim": 16, ` + ssm + `}}`
	}
	hf := func(kv string) string {
		return `{"model_type": "mamba2", "hidden_size": 32, "num_hidden_layers": 1, "vocab_size": 16, "num_heads": 1, "n_groups": 1, ` + kv + `}`
	}
	for _, tc := range []struct{ config, want string }{
		{ss(`"d_ssm": 32`), "ssm_cfg.d_ssm"},
		{ss(`"D_has_hdim": true`), "ssm_cfg.D_has_hdim"},
		{ss(`"rmsnorm": false`), "ssm_cfg.rmsnorm"},
		{ss(`"bias": true`), "ssm_cfg.bias"},
		{ss(`"ngroups": 3`), "not a multiple of n_groups"},
		{ss(`"headdim": 24`), "not a multiple of head_dim"},
		{ss(`"dt_limit": [0.1, 0.01]`), "dt_limit"},
		{ss(`"dt_limit": [0, -Infinity]`), "dt_limit"},
		{ss(`"wkv": 3`), "ssm_cfg.wkv: unknown key"},
		{`{"d_model": 32, "n_layer": 1, "vocab_size": 10, "ssm_cfg": {"layer": "Mamba2", "headdim": 16}, "moe": 1}`, "moe: unknown key"},
		{hf(`"head_dim": 48`), "not a multiple of head_dim"},
		{hf(`"head_dim": 16`), "num_heads is 1"},
		{hf(`"head_dim": 64, "expand": 4, "num_heads": 2, "use_bias": true`), "use_bias"},
		{hf(`"head_dim": 64, "expand": 2, "hidden_act": "gelu"`), "hidden_act"},
		{hf(`"head_dim": 64, "expand": 2, "rms_norm": false`), "rms_norm"},
		{hf(`"head_dim": 64, "expand": 2, "layer_norm_epsilon": 1e-6`), "layer_norm_epsilon"},
		{hf(`"head_dim": 64, "expand": 2, "time_step_limit": [0.0, NaN]`), "time_step_limit"},
		{hf(`"head_dim": 64, "expand": 2, "intermediate_size": 64`), "intermediate_size: unknown key"},
	} {
		_, err := ParseConfig([]byte(tc.config))
		assert.ErrorContains(t, err, tc.want, tc.config)
	}
}

func TestPythonJSON(t *testing.T) {
	assert.Equal(t, `{"a": ["Infinity", "-Infinity", "NaN"], "s": "Infinity NaN \" Infinity"}`,
		string(pythonJSON([]byte(`{"a": [Infinity, -Infinity, NaN], "s": "Infinity NaN \" Infinity"}`))))
}

// layerPlan and model.Layer.Tensors of a Mamba-2 config list the same
// tensors in the same order.
func TestLayerKinds2FollowModelOrder(t *testing.T) {
	want := map[string]string{
		"mixer.in_proj.weight": "in_proj", "mixer.conv1d.weight": "conv1d.weight", "mixer.conv1d.bias": "conv1d.bias",
		"mixer.dt_bias": "dt_bias", "mixer.A_log": "A", "mixer.D": "D", "mixer.norm.weight": "gated_norm",
		"mixer.out_proj.weight": "out_proj", "norm.weight": "norm",
	}
	c := model.Shapes2["130m"]
	ts := (&model.Layer{}).Tensors(c)
	layerKinds2, shapes := layerPlan(c)
	require.Len(t, layerKinds2, len(ts))
	require.Equal(t, []int{c.ConvDim(), 1, 4}, shapes["mixer.conv1d.weight"])
	for j, kind := range layerKinds2 {
		assert.Equal(t, want[kind], ts[j].Name, kind)
	}
}
