package checkpoint

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"mamba.go/common/model"
)

// The Mamba-2 configs. Every key either is honoured, is refused unless it
// has the value we implement, or cannot change a recurrent step (the
// initialisation, the training kernels, the tokenizer's ids); any other
// key is refused by name, so that nothing a config says is silently
// dropped. docs/checkpoints.md lists them all.

// Keys of a state-spaces Mamba-2 config.json (mamba_ssm's MambaConfig) and
// of its ssm_cfg (the arguments of mamba_ssm's Mamba2), beside those that
// parseStateSpaces and parseStateSpaces2 read.
var (
	stateSpacesNoEffect = []string{
		"residual_in_fp32", // the residual stream is float32 here anyway
		"fused_add_norm",   // a kernel choice
		"attn_cfg",         // used only by attention layers, refused by attn_layer_idx
	}
	stateSpacesRead = []string{"d_model", "n_layer", "vocab_size", "pad_vocab_size_multiple", "tie_embeddings",
		"d_intermediate", "attn_layer_idx", "rms_norm", "ssm_cfg"}
	ssm2NoEffect = []string{
		"A_init_range", "dt_min", "dt_max", "dt_init_floor", "conv_init", // initialisation
		"chunk_size", "use_mem_eff_path", // the chunked (SSD) training kernel: recurrent mode has no chunks
		"layer_idx", "process_group", "sequence_parallel", "device", "dtype",
	}
)

// parseStateSpaces2 reads the Mamba-2 part of a state-spaces config: f is
// the top level (already read by parseStateSpaces), ssm its ssm_cfg.
func parseStateSpaces2(mc ModelConfig, f, ssm *fields) (ModelConfig, error) {
	if err := refuseUnknown(f, "", "Mamba-2", stateSpacesRead, stateSpacesNoEffect); err != nil {
		return mc, err
	}
	c := &mc.Config
	c.Arch = model.Mamba2
	c.DtRank = 0
	c.DState = ssm.int("d_state", 128)
	c.DConv = ssm.int("d_conv", 4)
	c.DInner = ssm.innerWidth(c.DModel, "d_inner = expand·d_model")
	c.HeadDim = ssm.int("headdim", 64)
	c.NGroups = ssm.int("ngroups", 1)
	c.NormBeforeGate = ssm.bool("norm_before_gate", false)
	c.DtMin, c.DtMax = ssm.limit("dt_limit")
	mc.ConvBias = ssm.bool("conv_bias", true)
	if ssm.has("d_ssm") && ssm.int("d_ssm", -1) != c.DInner {
		return mc, fmt.Errorf("ssm_cfg.d_ssm is %s: a gated MLP beside the SSM (d_ssm < d_inner) is not supported", ssm.raw["d_ssm"])
	}
	if ssm.bool("D_has_hdim", false) {
		return mc, fmt.Errorf("ssm_cfg.D_has_hdim is true: a D per channel is not supported (one D per head)")
	}
	if !ssm.bool("rmsnorm", true) {
		return mc, fmt.Errorf("ssm_cfg.rmsnorm is false: Mamba-2 without its gated RMSNorm is not supported")
	}
	if ssm.bool("bias", false) {
		return mc, fmt.Errorf("ssm_cfg.bias is true: in_proj/out_proj biases are not supported (the model has no slot for them)")
	}
	read := []string{"layer", "d_state", "d_conv", "expand", "headdim", "ngroups", "norm_before_gate", "dt_limit",
		"conv_bias", "d_ssm", "D_has_hdim", "rmsnorm", "bias"}
	if err := refuseUnknown(ssm, "ssm_cfg.", "Mamba-2", read, ssm2NoEffect); err != nil {
		return mc, err
	}
	if ssm.err != nil {
		return mc, fmt.Errorf("ssm_cfg: %w", ssm.err)
	}
	return mc, setHeads(c)
}

// Keys that transformers' Mamba2Config and FalconMambaConfig (and
// PretrainedConfig) share and that cannot change a recurrent step.
var hfNoEffect = []string{
	"initializer_range", "rescale_prenorm_residual", // initialisation
	"residual_in_fp32",                                          // the residual stream is float32 here anyway
	"use_cache", "bos_token_id", "eos_token_id", "pad_token_id", // generation settings
	"architectures", "torch_dtype", "dtype", "transformers_version", "_name_or_path",
	"_attn_implementation_autoset", "output_hidden_states", "output_attentions", "return_dict",
	"use_return_dict", "is_encoder_decoder", "tokenizer_class",
}

// Keys of transformers' Mamba2Config (and of PretrainedConfig) that cannot
// change a recurrent step.
var hf2NoEffect = slices.Concat(hfNoEffect, []string{
	"chunk_size",                                        // the chunked (SSD) forward: recurrent mode has no chunks
	"time_step_rank",                                    // Mamba2Config keeps it, but Mamba-2 has no Δ projection
	"time_step_min", "time_step_max", "time_step_floor", // initialisation of dt_bias
})

// parseHF2 reads transformers' Mamba2Config (model_type "mamba2"), with its
// defaults where a key is absent.
func parseHF2(f *fields) (ModelConfig, error) {
	mc := ModelConfig{Dialect: DialectHF}
	c := &mc.Config
	c.Arch = model.Mamba2
	c.DModel = f.int("hidden_size", 4096)
	c.NLayers = f.int("num_hidden_layers", 64)
	c.VocabSize = f.int("vocab_size", 32768)
	c.DState = f.int("state_size", 128)
	c.DConv = f.int("conv_kernel", 4)
	c.DInner = f.innerWidth(c.DModel, "intermediate_size = expand·hidden_size")
	c.HeadDim = f.int("head_dim", 64)
	c.NGroups = f.int("n_groups", 8)
	c.TiedHead = f.bool("tie_word_embeddings", false)
	// transformers' Mamba2Config has no norm_before_gate and its code always
	// gates first; mamba_ssm's configs have it, and converted ones keep it.
	c.NormBeforeGate = f.bool("norm_before_gate", false)
	c.DtMin, c.DtMax = f.limit("time_step_limit")
	mc.ConvBias = f.bool("use_conv_bias", true)
	if err := refuseHFUnsupported(f, "Mamba-2 without its gated RMSNorm is not supported"); err != nil {
		return mc, err
	}
	read := []string{"model_type", "hidden_size", "num_hidden_layers", "vocab_size", "state_size", "conv_kernel",
		"expand", "head_dim", "n_groups", "num_heads", "tie_word_embeddings", "norm_before_gate", "time_step_limit",
		"use_conv_bias", "use_bias", "hidden_act", "rms_norm", "layer_norm_epsilon"}
	if err := refuseUnknown(f, "", "Mamba-2", read, hf2NoEffect); err != nil {
		return mc, err
	}
	if f.err != nil {
		return mc, f.err
	}
	if err := setHeads(c); err != nil {
		return mc, err
	}
	if nh := f.int("num_heads", 128); nh != c.NHeads {
		return mc, fmt.Errorf("num_heads is %d, but expand·hidden_size / head_dim is %d", nh, c.NHeads)
	}
	return mc, nil
}

// setHeads derives n_heads = d_inner / head_dim.
func setHeads(c *model.Config) error {
	if c.HeadDim <= 0 || c.DInner <= 0 || c.DInner%c.HeadDim != 0 {
		return fmt.Errorf("d_inner %d (expand·d_model) is not a multiple of head_dim %d", c.DInner, c.HeadDim)
	}
	c.NHeads = c.DInner / c.HeadDim
	return nil
}

// refuseHFUnsupported refuses the values of the keys transformers'
// Mamba2Config and FalconMambaConfig share that the model has no code for:
// use_bias true, a hidden_act other than SiLU, rms_norm false (noRMSNorm
// says why) and a layer_norm_epsilon other than model.RMSEps.
func refuseHFUnsupported(f *fields, noRMSNorm string) error {
	if f.bool("use_bias", false) {
		return fmt.Errorf("use_bias is true: in_proj/out_proj biases are not supported (the model has no slot for them)")
	}
	if act := f.str("hidden_act", "silu"); act != "silu" && act != "swish" {
		return fmt.Errorf("hidden_act is %q: only silu is supported", act)
	}
	if !f.bool("rms_norm", true) {
		return fmt.Errorf("rms_norm is false: %s", noRMSNorm)
	}
	if eps := f.float("layer_norm_epsilon", model.RMSEps); float32(eps) != model.RMSEps {
		return fmt.Errorf("layer_norm_epsilon is %g: only %g is supported", eps, model.RMSEps)
	}
	return nil
}

// refuseUnknown refuses the first key (in sorted order, so the error is
// always the same) that is neither read nor known to have no effect.
func refuseUnknown(f *fields, prefix, arch string, read, noEffect []string) error {
	keys := make([]string, 0, len(f.raw))
	for k := range f.raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !slices.Contains(read, k) && !slices.Contains(noEffect, k) {
			return fmt.Errorf("%s%s: unknown key for a %s config; refusing rather than ignoring it", prefix, k, arch)
		}
	}
	return nil
}

// float reads a number field (floatValue's forms).
func (f *fields) float(key string, def float64) float64 {
	if f.absent(key, "a number") {
		return def
	}
	x, ok := floatValue(f.raw[key])
	if !ok {
		f.fail(key, "not a number: %s", f.raw[key])
		return def
	}
	return x
}

// nonFinite are the names Python gives the floats JSON has no number for.
var nonFinite = map[string]float64{"Infinity": math.Inf(1), "-Infinity": math.Inf(-1), "NaN": math.NaN()}

// floatTag is the key of transformers' (≥ 5) tagged non-finite float,
// {"__float__": "Infinity"} (configuration_utils.py's _FLOAT_TAG_KEY).
const floatTag = "__float__"

// floatValue reads one JSON value as a float64. Besides a number, a
// non-finite float is taken in the three ways configs write it: Python's
// json writes a bare Infinity, -Infinity or NaN (which pythonJSON has
// quoted), other tools the same words as strings, and transformers ≥ 5 an
// object {"__float__": "Infinity"} whose one key is the tag and whose value
// is one of the words.
func floatValue(r json.RawMessage) (float64, bool) {
	var s string
	if json.Unmarshal(r, &s) == nil {
		if x, ok := nonFinite[s]; ok {
			return x, true
		}
	}
	var tagged map[string]json.RawMessage
	if json.Unmarshal(r, &tagged) == nil && tagged != nil {
		if len(tagged) != 1 || json.Unmarshal(tagged[floatTag], &s) != nil {
			return 0, false
		}
		x, ok := nonFinite[s]
		return x, ok
	}
	var n json.Number
	if json.Unmarshal(r, &n) != nil {
		return 0, false
	}
	x, err := n.Float64()
	return x, err == nil
}

// limit reads a time_step_limit / dt_limit pair [min, max], each a float
// in floatValue's forms; absent means (0, +Inf).
func (f *fields) limit(key string) (lo, hi float32) {
	lo, hi = model.DtUnlimited[0], model.DtUnlimited[1]
	if f.absent(key, "a pair [min, max]") {
		return lo, hi
	}
	var pair []json.RawMessage
	if err := json.Unmarshal(f.raw[key], &pair); err != nil || len(pair) != 2 {
		f.fail(key, "not a pair [min, max]: %s", f.raw[key])
		return lo, hi
	}
	var v [2]float32
	for i, r := range pair {
		x, ok := floatValue(r)
		if !ok {
			f.fail(key, "not a pair of numbers: %s", f.raw[key])
			return lo, hi
		}
		v[i] = float32(x)
	}
	if !(v[0] >= 0 && v[0] < v[1]) {
		f.fail(key, "want 0 ≤ min < max, got %s", f.raw[key])
		return lo, hi
	}
	return v[0], v[1]
}

// pythonJSON quotes the bare Infinity, -Infinity and NaN that Python's json
// writes for non-finite floats, so that Go's decoder reads them as strings.
func pythonJSON(data []byte) []byte {
	if !bytes.Contains(data, []byte("Infinity")) && !bytes.Contains(data, []byte("NaN")) {
		return data
	}
	var out strings.Builder
	inString, escaped := false, false
	for i := 0; i < len(data); i++ {
		ch := data[i]
		if inString {
			out.WriteByte(ch)
			switch {
			case escaped:
				escaped = false
			case ch == '\\':
				escaped = true
			case ch == '"':
				inString = false
			}
			continue
		}
		if ch == '"' {
			inString = true
			out.WriteByte(ch)
			continue
		}
		matched := false
		for _, tok := range []string{"-Infinity", "Infinity", "NaN"} {
			if bytes.HasPrefix(data[i:], []byte(tok)) {
				out.WriteString(`"` + tok + `"`)
				i += len(tok) - 1
				matched = true
				break
			}
		}
		if !matched {
			out.WriteByte(ch)
		}
	}
	return []byte(out.String())
}
