package checkpoint

import (
	"fmt"
	"math"

	"mamba.go/common/model"
)

// transformers' FalconMambaConfig (model_type "falcon_mamba", the
// tiiuae/falcon-mamba-7b repos): MambaConfig's keys plus mixer_rms_eps.
// As for Mamba-2, every key is honoured, refused unless it has the value
// implemented here, or cannot change a recurrent step; any other key is
// refused by name. docs/checkpoints.md lists them all.

// falconRead are the keys parseFalcon reads.
var falconRead = []string{"model_type", "hidden_size", "num_hidden_layers", "vocab_size", "state_size",
	"conv_kernel", "expand", "intermediate_size", "time_step_rank", "tie_word_embeddings", "use_conv_bias",
	"use_bias", "hidden_act", "layer_norm_epsilon", "mixer_rms_eps", "rms_norm", "time_step_limit"}

// falconNoEffect are FalconMambaConfig's (and PretrainedConfig's) keys
// that cannot change a recurrent step.
var falconNoEffect = []string{
	"time_step_scale", "time_step_min", "time_step_max", "time_step_init_scheme", "time_step_floor", // dt_proj's initialisation
	"initializer_range", "rescale_prenorm_residual", // initialisation
	"residual_in_fp32",                                          // the residual stream is float32 here anyway
	"use_falcon_mambapy", "use_mambapy", "use_associative_scan", // training kernels: the parallel scan
	"use_cache", "bos_token_id", "eos_token_id", "pad_token_id", "_from_model_config", // generation settings
	"architectures", "torch_dtype", "dtype", "transformers_version", "_name_or_path",
	"_attn_implementation_autoset", "output_hidden_states", "output_attentions", "return_dict",
	"use_return_dict", "is_encoder_decoder", "tokenizer_class",
}

// parseFalcon reads transformers' FalconMambaConfig, with its defaults
// where a key is absent.
func parseFalcon(f *fields) (ModelConfig, error) {
	mc := ModelConfig{Dialect: DialectHF}
	c := &mc.Config
	c.Arch = model.FalconMamba
	c.DModel = f.int("hidden_size", 768)
	c.NLayers = f.int("num_hidden_layers", 32)
	c.VocabSize = f.int("vocab_size", 50280)
	c.DState = f.int("state_size", 16)
	c.DConv = f.int("conv_kernel", 4)
	// intermediate_size wins over expand, as in transformers' modeling code:
	// tiiuae/falcon-mamba-7b says expand 16 and intermediate_size 8192 (= 2·4096).
	expand := f.int("expand", 2)
	if expand == 0 && !f.has("intermediate_size") {
		f.fail("expand", "is 0, want ≥ 1 (intermediate_size = expand·hidden_size)")
	}
	c.DInner = f.int("intermediate_size", mulInt(expand, c.DModel))
	c.DtRank = f.rank("time_step_rank", c.DModel)
	c.TiedHead = f.bool("tie_word_embeddings", true)
	mc.ConvBias = f.bool("use_conv_bias", true)
	eps := f.float("mixer_rms_eps", model.DefaultMixerEps)
	c.MixerEps = float32(eps)
	if !(eps > 0 && eps < 1) {
		return mc, fmt.Errorf("mixer_rms_eps is %g, want 0 < ε < 1", eps)
	}
	if f.bool("use_bias", false) {
		return mc, fmt.Errorf("use_bias is true: in_proj/out_proj biases are not supported (the model has no slot for them)")
	}
	if act := f.str("hidden_act", "silu"); act != "silu" && act != "swish" {
		return mc, fmt.Errorf("hidden_act is %q: only silu is supported", act)
	}
	if !f.bool("rms_norm", true) {
		return mc, fmt.Errorf("rms_norm is false: LayerNorm models are not supported (only RMSNorm)")
	}
	if eps := f.float("layer_norm_epsilon", model.RMSEps); float32(eps) != model.RMSEps {
		return mc, fmt.Errorf("layer_norm_epsilon is %g: only %g is supported", eps, model.RMSEps)
	}
	// Falcon-Mamba clamps no Δ; a time_step_limit (a Mamba-2 key) is
	// taken only when it clamps nothing either.
	if lo, hi := f.limit("time_step_limit"); f.err == nil && (lo != 0 || !math.IsInf(float64(hi), 1)) {
		return mc, fmt.Errorf("time_step_limit is (%g, %g): Falcon-Mamba has no clamp of Δ (only [0, Infinity] is accepted)", lo, hi)
	}
	if err := refuseUnknown(f, "", "Falcon-Mamba", falconRead, falconNoEffect); err != nil {
		return mc, err
	}
	return mc, f.err
}
