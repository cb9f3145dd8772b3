package checkpoint

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"mamba.go/common/model"
)

// The two config.json dialects a Mamba-1 checkpoint comes with.
const (
	// DialectStateSpaces is the config of the state-spaces/mamba-* repos
	// (mamba_ssm's MambaConfig): d_model, n_layer, the unpadded vocab_size,
	// ssm_cfg, pad_vocab_size_multiple, tie_embeddings.
	DialectStateSpaces = "state-spaces"
	// DialectHF is transformers' MambaConfig (the state-spaces/mamba-*-hf
	// repos): hidden_size, num_hidden_layers, state_size, conv_kernel,
	// expand, intermediate_size, time_step_rank, a vocab_size that is already
	// padded, use_bias, use_conv_bias, tie_word_embeddings.
	DialectHF = "hf"
)

// ModelConfig is what a config.json says about the model, in our terms.
type ModelConfig struct {
	model.Config
	Dialect  string
	ConvBias bool // conv1d has a bias; when false the bias is all zeros
	// PadMultiple is state-spaces' pad_vocab_size_multiple (8 when the
	// config does not say): the embedding has VocabSize rounded up to it
	// rows. 0 in transformers' configs, whose vocab_size is the rows.
	PadMultiple int
}

// ParseConfig reads a config.json of either dialect. The vocabulary of an HF
// config is already padded (50280 for the real models, whose tokenizer has
// 50277 tokens) and the unpadded size is written nowhere: VocabSize is then
// vocab_size as is, so the logits cover the same padded vocabulary and the
// few padding ids count as tokens (their embedding rows are untrained, their
// logits very negative).
func ParseConfig(data []byte) (ModelConfig, error) {
	var raw map[string]json.RawMessage
	// transformers writes Python's json: an unlimited time_step_limit is
	// [0.0, Infinity], which is no JSON number.
	dec := json.NewDecoder(bytes.NewReader(pythonJSON(data)))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return ModelConfig{}, fmt.Errorf("not a JSON object: %w", err)
	}
	if raw == nil {
		return ModelConfig{}, fmt.Errorf("not a JSON object")
	}
	if _, err := dec.Token(); err != io.EOF { // as tokenizer.json: one object, nothing after it
		return ModelConfig{}, fmt.Errorf("trailing data after the JSON object")
	}
	f := fields{raw: raw}
	var mc ModelConfig
	var err error
	// transformers' configs come first: the -hf repos' MambaConfig also
	// carries state-spaces' n_layer (and some d_model, d_inner), without
	// the rest of that dialect.
	hf := f.has("hidden_size") || f.has("num_hidden_layers")
	switch {
	case hf && f.str("model_type", "mamba") == "mamba2":
		mc, err = parseHF2(&f)
	case hf && f.str("model_type", "mamba") == "falcon_mamba":
		mc, err = parseFalcon(&f)
	case hf:
		mc, err = parseHF(&f)
	case f.has("d_model") || f.has("n_layer"):
		mc, err = parseStateSpaces(&f)
	default:
		return ModelConfig{}, fmt.Errorf("not a Mamba config: neither d_model/n_layer (state-spaces) nor hidden_size/num_hidden_layers (transformers MambaConfig)")
	}
	if err == nil {
		err = f.err
	}
	if err != nil {
		return ModelConfig{}, err
	}
	if err := mc.Config.Validate(); err != nil {
		return ModelConfig{}, fmt.Errorf("%s config: %w", mc.Dialect, err)
	}
	return mc, nil
}

func parseStateSpaces(f *fields) (ModelConfig, error) {
	mc := ModelConfig{Dialect: DialectStateSpaces, ConvBias: true}
	c := &mc.Config
	c.DModel = f.int("d_model", -1)
	c.NLayers = f.int("n_layer", -1)
	c.VocabSize = f.int("vocab_size", -1)
	mc.PadMultiple = f.int("pad_vocab_size_multiple", 8)
	if mc.PadMultiple == 0 {
		// mamba_ssm pads with vocab_size % pad_vocab_size_multiple: a division by zero.
		return mc, fmt.Errorf("pad_vocab_size_multiple is 0, want ≥ 1 (the embedding has vocab_size rounded up to a multiple of it)")
	}
	c.TiedHead = f.bool("tie_embeddings", true)
	if d := f.int("d_intermediate", 0); d != 0 {
		return mc, fmt.Errorf("d_intermediate is %d: Mamba blocks with an MLP are not supported", d)
	}
	if len(f.raw["attn_layer_idx"]) > 0 && string(f.raw["attn_layer_idx"]) != "[]" && string(f.raw["attn_layer_idx"]) != "null" {
		return mc, fmt.Errorf("attn_layer_idx is set: hybrid attention models are not supported")
	}
	if !f.bool("rms_norm", true) {
		return mc, fmt.Errorf("rms_norm is false: LayerNorm models are not supported (only RMSNorm)")
	}
	ssm := fields{}
	if r, ok := f.raw["ssm_cfg"]; ok && string(r) != "null" {
		dec := json.NewDecoder(bytes.NewReader(r))
		dec.UseNumber()
		if err := dec.Decode(&ssm.raw); err != nil || ssm.raw == nil {
			return mc, fmt.Errorf("ssm_cfg is not a JSON object")
		}
	}
	switch layer := ssm.str("layer", "Mamba1"); {
	case ssm.err != nil:
		return mc, fmt.Errorf("ssm_cfg: %w", ssm.err)
	case layer == "Mamba1":
	case layer == "Mamba2":
		return parseStateSpaces2(mc, f, &ssm)
	default:
		return mc, fmt.Errorf("ssm_cfg.layer is %q: only Mamba1 and Mamba2 models are supported", layer)
	}
	if err := refuseUnknown(f, "", "Mamba", stateSpacesRead, stateSpacesNoEffect); err != nil {
		return mc, err
	}
	c.DState = ssm.int("d_state", 16)
	c.DConv = ssm.int("d_conv", 4)
	c.DInner = ssm.innerWidth(c.DModel, "d_inner = expand·d_model")
	c.DtRank = ssm.rank("dt_rank", c.DModel)
	mc.ConvBias = ssm.bool("conv_bias", true)
	if ssm.bool("bias", false) {
		return mc, fmt.Errorf("ssm_cfg.bias is true: in_proj/out_proj biases are not supported (the model has no slot for them)")
	}
	if err := refuseUnknown(&ssm, "ssm_cfg.", "Mamba", ssm1Read, ssm1NoEffect); err != nil {
		return mc, err
	}
	if ssm.err != nil {
		return mc, fmt.Errorf("ssm_cfg: %w", ssm.err)
	}
	return mc, nil
}

// The keys of a state-spaces Mamba-1 config's ssm_cfg (the arguments of
// mamba_ssm's Mamba) that parseStateSpaces reads, and those that cannot
// change a recurrent step. The top level's are config2.go's
// stateSpacesRead and stateSpacesNoEffect, Mamba-2's too.
var (
	ssm1Read     = []string{"layer", "d_state", "d_conv", "expand", "dt_rank", "conv_bias", "bias"}
	ssm1NoEffect = []string{
		"dt_min", "dt_max", "dt_init", "dt_scale", "dt_init_floor", // dt_proj's initialisation
		"use_fast_path",                // the fused training kernel: the same math
		"layer_idx", "device", "dtype", // bookkeeping
	}
)

// VocabRows is the range of rows the embedding (and an untied head) may
// have: at least VocabSize, at most VocabSize rounded up to a multiple of
// model.VocabMultiple or of PadMultiple, whichever is more. The rows past
// VocabSize are padding (mamba_ssm pads to pad_vocab_size_multiple); a
// checkpoint with more rows than that was saved for another vocabulary.
func (mc ModelConfig) VocabRows() (lo, hi int) {
	hi = mc.PaddedVocab()
	if m := mc.PadMultiple; m > 0 {
		hi = max(hi, (mc.VocabSize+m-1)/m*m)
	}
	return mc.VocabSize, hi
}

func parseHF(f *fields) (ModelConfig, error) {
	mc := ModelConfig{Dialect: DialectHF}
	c := &mc.Config
	if mt := f.str("model_type", "mamba"); f.err != nil {
		return mc, f.err
	} else if mt != "mamba" {
		return mc, fmt.Errorf("model_type is %q: only \"mamba\" (Mamba-1), \"mamba2\" and \"falcon_mamba\" are supported", mt)
	}
	c.DModel = f.int("hidden_size", -1)
	c.NLayers = f.int("num_hidden_layers", -1)
	c.VocabSize = f.int("vocab_size", -1)
	parseHFMixer(f, &mc)
	if err := refuseHFUnsupported(f, "LayerNorm models are not supported (only RMSNorm)"); err != nil {
		return mc, err
	}
	if f.has("mixer_rms_eps") {
		return mc, fmt.Errorf("mixer_rms_eps is Falcon-Mamba's key, but model_type is \"mamba\": refusing rather than ignoring it")
	}
	if lo, hi := f.limit("time_step_limit"); f.err == nil && (lo != 0 || !math.IsInf(float64(hi), 1)) {
		return mc, fmt.Errorf("time_step_limit is (%g, %g): Mamba-1 has no clamp of Δ (only [0, Infinity] is accepted)", lo, hi)
	}
	// The -hf repos repeat state-spaces' keys beside transformers' own:
	// they must say the same.
	for _, k := range [][2]string{{"n_layer", "num_hidden_layers"}, {"d_model", "hidden_size"}, {"d_inner", "intermediate_size"}} {
		if f.has(k[0]) && f.int(k[0], -1) != f.int(k[1], -1) {
			return mc, fmt.Errorf("%s is %s but %s is %s: which is it?", k[0], f.raw[k[0]], k[1], f.raw[k[1]])
		}
	}
	if f.has("ssm_cfg") && strings.TrimSpace(string(f.raw["ssm_cfg"])) != "{}" {
		return mc, fmt.Errorf("ssm_cfg is %q in a transformers MambaConfig: refusing rather than ignoring it", f.raw["ssm_cfg"])
	}
	if err := refuseUnknown(f, "", "Mamba", hfMambaRead, hfMambaNoEffect); err != nil {
		return mc, err
	}
	return mc, nil
}

// hfMambaRead are the keys parseHF reads or checks.
var hfMambaRead = []string{"model_type", "hidden_size", "num_hidden_layers", "vocab_size", "state_size",
	"conv_kernel", "expand", "intermediate_size", "time_step_rank", "tie_word_embeddings", "use_conv_bias",
	"use_bias", "hidden_act", "layer_norm_epsilon", "rms_norm", "time_step_limit",
	"n_layer", "d_model", "d_inner", "ssm_cfg"}

// hfMambaNoEffect are transformers' MambaConfig's (and the -hf repos')
// keys that cannot change a recurrent step.
var hfMambaNoEffect = slices.Concat(hfNoEffect, []string{ // config2.go
	"time_step_scale", "time_step_min", "time_step_max", "time_step_init_scheme", "time_step_floor", // dt_proj's initialisation
	"use_mambapy", "use_associative_scan", // training kernels: the parallel scan
	"fused_add_norm",          // a kernel fusion of the residual add and the norm: the same math
	"pad_vocab_size_multiple", // vocab_size is already padded in these configs
	"_from_model_config",      // generation settings
})

// parseHFMixer reads the keys past the model's size that transformers'
// MambaConfig and FalconMambaConfig share (the mixer's shape, the head's
// tying, the conv's bias), with MambaConfig's defaults; c.DModel is read.
func parseHFMixer(f *fields, mc *ModelConfig) {
	c := &mc.Config
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
}

// innerWidth is the mixer's width expand·dModel, expand read from the
// config (default 2): an expand of 0 is refused by name (what says what it
// multiplies), where mulInt alone would leave a d_inner of −1 to explain.
func (f *fields) innerWidth(dModel int, what string) int {
	expand := f.int("expand", 2)
	if expand == 0 {
		f.fail("expand", "is 0, want ≥ 1 (%s)", what)
		return -1
	}
	return mulInt(expand, dModel)
}

func mulInt(a, b int) int {
	if a <= 0 || b <= 0 || a > math.MaxInt32 || b > math.MaxInt32 {
		return -1
	}
	return a * b
}

// fields reads typed values from a JSON object, remembering the first error.
type fields struct {
	raw map[string]json.RawMessage
	err error
}

func (f *fields) has(key string) bool {
	r, ok := f.raw[key]
	return ok && string(r) != "null"
}

// absent reports whether key is missing, so that the caller takes its
// default. A key that is there as null is refused by name (want says what
// it should be) and counts as absent: Python passes None on, which either
// fails or, for a flag, reads as false, and never means the default.
// Keys for which mamba_ssm gives None a meaning (d_ssm, attn_layer_idx,
// ssm_cfg) are read with has.
func (f *fields) absent(key, want string) bool {
	r, ok := f.raw[key]
	if !ok {
		return true
	}
	if string(r) == "null" {
		f.fail(key, "is null, want %s", want)
		return true
	}
	return false
}

func (f *fields) fail(key, format string, args ...any) {
	if f.err == nil {
		f.err = fmt.Errorf("%s: "+format, append([]any{key}, args...)...)
	}
}

// int reads an integer field; def < 0 means the field is required.
func (f *fields) int(key string, def int) int {
	if f.absent(key, "an integer") {
		if def < 0 {
			f.fail(key, "missing")
		}
		return def
	}
	var n json.Number
	if err := json.Unmarshal(f.raw[key], &n); err != nil {
		f.fail(key, "not a number: %q", f.raw[key])
		return -1
	}
	v, err := n.Int64()
	if err != nil {
		// 16.0 is an integer too.
		x, ferr := n.Float64()
		if ferr != nil || x != math.Trunc(x) || math.Abs(x) > 1<<40 {
			f.fail(key, "not an integer: %q", n)
			return -1
		}
		v = int64(x)
	}
	if v < 0 || v > 1<<40 {
		f.fail(key, "out of range: %d", v)
		return -1
	}
	return int(v)
}

func (f *fields) bool(key string, def bool) bool {
	if f.absent(key, "true or false") {
		return def
	}
	var b bool
	if err := json.Unmarshal(f.raw[key], &b); err != nil {
		f.fail(key, "not a boolean: %q", f.raw[key])
	}
	return b
}

func (f *fields) str(key, def string) string {
	if f.absent(key, "a string") {
		return def
	}
	var s string
	if err := json.Unmarshal(f.raw[key], &s); err != nil {
		f.fail(key, "not a string: %q", f.raw[key])
	}
	return s
}

// rank reads dt_rank / time_step_rank: an integer or "auto", ceil(d_model/16)
// (mamba_ssm's and transformers' default); null is no rank (in Python a
// None rank fails to build the model) and is refused.
func (f *fields) rank(key string, dModel int) int {
	if f.absent(key, `an integer or "auto"`) || string(f.raw[key]) == `"auto"` {
		if dModel <= 0 {
			return -1
		}
		return (dModel + 15) / 16
	}
	return f.int(key, -1)
}
