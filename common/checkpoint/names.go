package checkpoint

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"mamba.go/common/model"
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

// layerPlan lists the per-layer tensors of a model of config c by their
// checkpoint names, in model.Layer.Tensors' order (model.bin order, which
// layerSetter relies on), with the shape each has in a checkpoint: the
// table's, except conv1d.weight, which a Conv1d stores as [rows][1][k].
func layerPlan(c model.Config) ([]string, map[string][]int) {
	var kinds []string
	shapes := map[string][]int{}
	for _, t := range (&model.Layer{}).Tensors(c) {
		kinds = append(kinds, t.Checkpoint)
		shapes[t.Checkpoint] = t.Shape
	}
	if conv := shapes["mixer.conv1d.weight"]; len(conv) == 2 {
		shapes["mixer.conv1d.weight"] = []int{conv[0], 1, conv[1]}
	}
	return kinds, shapes
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
