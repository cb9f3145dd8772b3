package model

import (
	"fmt"
	"io"
)

// Layer holds the weights of one residual block: h += Mixer(RMSNorm(h)).
// Shapes use d = DModel, di = DInner, r = DtRank, n = DState, k = DConv;
// they are Mamba-1's. A Mamba-2 layer (Tensors2) has no XProj and no
// DtProjWeight, and other shapes for some of the rest: with h = NHeads,
// g·n = NGroups·DState and cd = ConvDim() = di + 2·g·n,
//
//	InProj       [2·di+2·g·n+h][d]  rows give z (di), x (di), B (g·n), C (g·n), Δ (h)
//	Conv1dWeight [cd][k], Conv1dBias [cd]  over x, B and C together
//	DtProjBias   [h]   dt_bias, added to Δ before the softplus
//	A, D         [h]   one scalar per head
//	GatedNorm    [di]  weight of the RMSNorm after the gate
type Layer struct {
	Norm         []float32 // [d]          RMSNorm weight before the mixer
	InProj       []float32 // [2·di][d]    rows 0..di-1 give x, rows di..2di-1 give the gate z
	Conv1dWeight []float32 // [di][k]      depthwise causal convolution, one filter per channel
	Conv1dBias   []float32 // [di]
	XProj        []float32 // [r+2n][di]   rows give Δ_low (r), then B (n), then C (n)
	DtProjWeight []float32 // [di][r]      lifts Δ_low back to one Δ per channel
	DtProjBias   []float32 // [di]
	A            []float32 // [di][n]      A = −exp(A_log), negative so the state decays
	D            []float32 // [di]         skip connection y += D·x
	OutProj      []float32 // [d][di]
	GatedNorm    []float32 // Mamba-2 only: [di] RMSNormGated weight (mixer.norm.weight)
}

// Weights is a whole model. The slices may point into a memory-mapped file:
// treat them as read-only.
type Weights struct {
	Config    Config
	Embedding []float32 // [padded_vocab][d]
	Layers    []Layer   // [n_layers]
	NormF     []float32 // [d] final RMSNorm weight
	LMHead    []float32 // [padded_vocab][d]; the same slice as Embedding when the head is tied

	closer io.Closer // the mapping or file behind the slices, if any
}

// Close releases the file behind the weights; the slices must not be used after.
func (w *Weights) Close() error {
	if w == nil || w.closer == nil {
		return nil
	}
	c := w.closer
	w.closer = nil
	return c.Close()
}

// SetCloser attaches what Close releases (a mapping, an open file); loaders
// outside this package use it.
func (w *Weights) SetCloser(c io.Closer) { w.closer = c }

// LayerTensor is one tensor of a layer: its name, where it lives in the
// Layer, and the number of values its Config asks for.
type LayerTensor struct {
	Name string
	Data *[]float32
	Len  int
}

// Tensors lists the layer's tensors in model.bin order (each kind for all
// layers in turn, in this order; norm last although it comes first in a
// block), so that readers and writers of the format, and the checkpoint
// loaders that stream it, walk one list.
func (l *Layer) Tensors(c Config) []LayerTensor {
	if c.Arch == Mamba2 {
		return l.tensors2(c)
	}
	d, di, r, n, k := c.DModel, c.DInner, c.DtRank, c.DState, c.DConv
	return []LayerTensor{
		{"in_proj", &l.InProj, 2 * di * d},
		{"conv1d.weight", &l.Conv1dWeight, di * k},
		{"conv1d.bias", &l.Conv1dBias, di},
		{"x_proj", &l.XProj, (r + 2*n) * di},
		{"dt_proj.weight", &l.DtProjWeight, di * r},
		{"dt_proj.bias", &l.DtProjBias, di},
		{"A", &l.A, di * n},
		{"D", &l.D, di},
		{"out_proj", &l.OutProj, d * di},
		{"norm", &l.Norm, d},
	}
}

// tensors2 is Tensors for a Mamba-2 layer, in model.bin version 2's order.
func (l *Layer) tensors2(c Config) []LayerTensor {
	d, di, h, cd, k := c.DModel, c.DInner, c.NHeads, c.ConvDim(), c.DConv
	return []LayerTensor{
		{"in_proj", &l.InProj, c.InProjRows() * d},
		{"conv1d.weight", &l.Conv1dWeight, cd * k},
		{"conv1d.bias", &l.Conv1dBias, cd},
		{"dt_bias", &l.DtProjBias, h},
		{"A", &l.A, h},
		{"D", &l.D, h},
		{"gated_norm", &l.GatedNorm, di},
		{"out_proj", &l.OutProj, d * di},
		{"norm", &l.Norm, d},
	}
}

// Check verifies that every tensor has the length its Config asks for, so
// that an implementation can index without bounds surprises.
func (w *Weights) Check() error {
	c := w.Config
	if err := c.Validate(); err != nil {
		return err
	}
	vd := c.PaddedVocab() * c.DModel
	if len(w.Embedding) != vd {
		return fmt.Errorf("embedding has %d values, want %d", len(w.Embedding), vd)
	}
	if len(w.LMHead) != vd {
		return fmt.Errorf("lm_head has %d values, want %d", len(w.LMHead), vd)
	}
	if len(w.NormF) != c.DModel {
		return fmt.Errorf("norm_f has %d values, want %d", len(w.NormF), c.DModel)
	}
	if len(w.Layers) != c.NLayers {
		return fmt.Errorf("%d layers, want %d", len(w.Layers), c.NLayers)
	}
	for i := range w.Layers {
		for _, t := range w.Layers[i].Tensors(c) {
			if len(*t.Data) != t.Len {
				return fmt.Errorf("layer %d %s has %d values, want %d", i, t.Name, len(*t.Data), t.Len)
			}
		}
	}
	return nil
}
