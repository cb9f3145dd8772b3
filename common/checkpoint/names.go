package checkpoint

import (
	"fmt"

	"mamba.go/common/model"
	"slices"
	"strconv"
	"strings"
)

// Tensor names, shared by both dialects except for the embedding:
//
//	backbone.embedding.weight (state-spaces) | backbone.embeddings.weight (HF)   [vocab][d]
//	backbone.layers.N.norm.weight                                               [d]
//	backbone.layers.N.mixer.in_proj.weight                                      [2·di][d]
//	backbone.layers.N.mixer.conv1d.weight                                       [di][1][k]
//	backbone.layers.N.mixer.conv1d.bias                                         [di]
//	backbone.layers.N.mixer.x_proj.weight                                       [r+2n][di]
//	backbone.layers.N.mixer.dt_proj.weight                                      [di][r]
//	backbone.layers.N.mixer.dt_proj.bias                                        [di]
//	backbone.layers.N.mixer.A_log                                               [di][n]
//	backbone.layers.N.mixer.D                                                   [di]
//	backbone.layers.N.mixer.out_proj.weight                                     [d][di]
//	backbone.norm_f.weight                                                      [d]
//	lm_head.weight (absent from HF files when tied)                             [vocab][d]
//
// The "backbone." prefix is optional (kroggen's export.py strips it).

// canonical maps a checkpoint's tensor name to the name used here: without
// the "backbone." prefix, and "embedding" for both spellings of the embedding.
func canonical(name string) string {
	n := strings.TrimPrefix(name, "backbone.")
	if n == "embeddings.weight" {
		n = "embedding.weight"
	}
	return n
}

// layerKinds are the per-layer tensors in model.bin order: the same order
// as model.Layer.Tensors, which layerSetter relies on (a test checks it).
var layerKinds = []string{
	"mixer.in_proj.weight", "mixer.conv1d.weight", "mixer.conv1d.bias", "mixer.x_proj.weight",
	"mixer.dt_proj.weight", "mixer.dt_proj.bias", "mixer.A_log", "mixer.D",
	"mixer.out_proj.weight", "norm.weight",
}

// layerKinds2 are a Mamba-2 layer's tensors in model.bin order, the order of
// model.Layer.Tensors for a Mamba-2 config. mixer.norm.weight is the
// weight of the gated RMSNorm inside the mixer; norm.weight is the block's.
var layerKinds2 = []string{
	"mixer.in_proj.weight", "mixer.conv1d.weight", "mixer.conv1d.bias", "mixer.dt_bias", "mixer.A_log",
	"mixer.D", "mixer.norm.weight", "mixer.out_proj.weight", "norm.weight",
}

// layerPlan lists the per-layer tensors of a model of config c in model.bin
// order, with the shape each has in a checkpoint.
func layerPlan(c model.Config) ([]string, map[string][]int) {
	d, di, n, k := c.DModel, c.DInner, c.DState, c.DConv
	if c.Arch == model.Mamba2 {
		h, cd := c.NHeads, c.ConvDim()
		return layerKinds2, map[string][]int{
			"mixer.in_proj.weight": {c.InProjRows(), d}, "mixer.conv1d.weight": {cd, 1, k}, "mixer.conv1d.bias": {cd},
			"mixer.dt_bias": {h}, "mixer.A_log": {h}, "mixer.D": {h}, "mixer.norm.weight": {di},
			"mixer.out_proj.weight": {d, di}, "norm.weight": {d},
		}
	}
	r := c.DtRank
	return layerKinds, map[string][]int{
		"mixer.in_proj.weight": {2 * di, d}, "mixer.conv1d.weight": {di, 1, k}, "mixer.conv1d.bias": {di},
		"mixer.x_proj.weight": {r + 2*n, di}, "mixer.dt_proj.weight": {di, r}, "mixer.dt_proj.bias": {di},
		"mixer.A_log": {di, n}, "mixer.D": {di}, "mixer.out_proj.weight": {d, di}, "norm.weight": {d},
	}
}

// refusedKinds are tensors a Mamba-1 checkpoint may have that the model has
// no slot for.
var refusedKinds = map[string]string{
	"mixer.in_proj.bias":  "in_proj has a bias (use_bias): not supported, the model has no slot for it",
	"mixer.out_proj.bias": "out_proj has a bias (use_bias): not supported, the model has no slot for it",
}

// layerName is the canonical name of a layer's tensor.
func layerName(i int, kind string) string { return "layers." + strconv.Itoa(i) + "." + kind }

// checkUnknown refuses tensors that the model has no place for, so that no
// weight is silently dropped.
func checkUnknown(c ModelConfig, byName map[string]*tensor) error {
	for name, t := range byName {
		switch name {
		case "embedding.weight", "norm_f.weight", "lm_head.weight":
			continue
		}
		if rest, ok := strings.CutPrefix(name, "layers."); ok {
			num, kind, _ := strings.Cut(rest, ".")
			i, err := strconv.Atoi(num)
			if err == nil && strconv.Itoa(i) == num && i >= 0 && i < c.NLayers {
				if why, bad := refusedKinds[kind]; bad {
					return fmt.Errorf("%s: %s", t.where(), why)
				}
				if kinds, _ := layerPlan(c.Config); slices.Contains(kinds, kind) {
					continue
				}
			}
		}
		return fmt.Errorf("%s: unexpected tensor for a %d-layer %s model", t.where(), c.NLayers, c.Arch)
	}
	return nil
}
