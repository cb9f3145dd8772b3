package checkpoint

import (
	"fmt"
	"math"
	"slices"

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
var falconNoEffect = slices.Concat(hfNoEffect, []string{ // config2.go: Mamba2Config's too
	"time_step_scale", "time_step_min", "time_step_max", "time_step_init_scheme", "time_step_floor", // dt_proj's initialisation
	"use_falcon_mambapy", "use_mambapy", "use_associative_scan", // training kernels: the parallel scan
	"_from_model_config", // generation settings
})

// parseFalcon reads transformers' FalconMambaConfig, with its defaults
// where a key is absent.
func parseFalcon(f *fields) (ModelConfig, error) {
	mc := ModelConfig{Dialect: DialectHF}
	c := &mc.Config
	c.Arch = model.FalconMamba
	c.DModel = f.int("hidden_size", 768)
	c.NLayers = f.int("num_hidden_layers", 32)
	c.VocabSize = f.int("vocab_size", 50280)
	parseHFMixer(f, &mc) // config.go: MambaConfig's keys
	eps := f.float("mixer_rms_eps", model.DefaultMixerEps)
	c.MixerEps = float32(eps)
	if !(eps > 0 && eps < 1) {
		return mc, fmt.Errorf("mixer_rms_eps is %g, want 0 < ε < 1", eps)
	}
	if err := refuseHFUnsupported(f, "LayerNorm models are not supported (only RMSNorm)"); err != nil {
		return mc, err
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
