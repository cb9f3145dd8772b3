package model

import (
	"errors"
	"fmt"
	"io"

	"mamba.go/common/quant"
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

	// The products' weights kept as bfloat16 (their bits, bf16.go) when
	// the Weights are (Weights.BF16); the float32 fields of the same
	// names are nil then. Same shapes; Mamba-2 has no XProj, DtProjWeight.
	InProjBF16, XProjBF16, DtProjWeightBF16, OutProjBF16 []uint16

	// The products' weights kept in a block format (quant.Q8_0, Q4_0:
	// GGUF's blocks, as a .gguf file holds them or quantized at load) when
	// their Data is not nil; the float32 and bfloat16 fields of the same
	// names are nil then. A matrix whose rows are not whole blocks
	// (quant.Quantizable) stays float32.
	InProjQ, XProjQ, DtProjWeightQ, OutProjQ quant.Blocks
}

// Weights is a whole model. The slices may point into a memory-mapped file:
// treat them as read-only.
type Weights struct {
	Config    Config
	Embedding []float32 // [padded_vocab][d]
	Layers    []Layer   // [n_layers]
	NormF     []float32 // [d] final RMSNorm weight
	LMHead    []float32 // [padded_vocab][d]; the same slice as Embedding when the head is tied

	// BF16: the products' weights, the embedding and the head are kept as
	// bfloat16, in the BF16 fields here and in each Layer, and their
	// float32 fields are nil (NarrowToBF16 makes such weights; so does the
	// checkpoint loader, asked to). Only fused runs them: Check refuses
	// them, CheckBF16 checks them.
	BF16          bool
	EmbeddingBF16 []uint16 // [padded_vocab][d]
	LMHeadBF16    []uint16 // [padded_vocab][d]; the same slice as EmbeddingBF16 when the head is tied

	// The embedding and the head in a block format, as the Layers' Q
	// fields (their float32 and bfloat16 fields are nil when these are set).
	EmbeddingQ quant.Blocks // [padded_vocab][d]
	LMHeadQ    quant.Blocks // [padded_vocab][d]; the same blocks as EmbeddingQ when the head is tied

	closer io.Closer // what holds the slices' memory (a mapping, an open file, NarrowToBF16's block), if any
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

// FileMaps is what closes weights that lie in read-only file mappings
// (LoadModelBin's mapping, a checkpoint's files): FileMapped reports
// whether b lies wholly in one of them.
type FileMaps interface{ FileMapped(b []byte) bool }

// FileMapped reports whether b lies in a read-only memory map of the
// weights' files (a model.bin, a checkpoint's safetensors or pickle),
// whose pages the kernel can drop from the process and read back from the
// file at any time. fused uses it to copy such weights into 2 MB pages
// without holding both copies. Weights made in memory (NarrowToBF16's
// block, converted tensors) are not: dropping their pages would lose them.
func (w *Weights) FileMapped(b []byte) bool {
	fm, ok := w.closer.(FileMaps)
	return ok && fm.FileMapped(b)
}

// SetCloser attaches what Close releases (a mapping, an open file); loaders
// outside this package use it.
func (w *Weights) SetCloser(c io.Closer) { w.closer = c }

// LayerTensor is one tensor of a layer: its name, where it lives in the
// Layer, its shape for a model of some Config, and its name in a PyTorch
// checkpoint.
type LayerTensor struct {
	Name       string        // model.bin's name, and the docs' (in_proj, conv1d.weight, ...)
	Data       *[]float32    // the Layer's field
	Shape      []int         // [rows][cols], or [n] for a vector
	Checkpoint string        // after "backbone.layers.N." in a checkpoint; A is stored as A_log there
	BF16       *[]uint16     // the Layer's bfloat16 field for a product's weights; nil: always float32
	Q          *quant.Blocks // the Layer's block-format field for a product's weights; nil: never quantized
}

// Len is the number of values the tensor has: the product of its shape.
func (t LayerTensor) Len() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Tensors is the table of a layer's tensors, in model.bin order (each kind
// for all layers in turn, in this order; norm last although it comes first
// in a block). It is the one list of them: the model.bin reader and writer,
// Check, the checkpoint loader, the random models and cuda's device layout
// all walk it.
func (l *Layer) Tensors(c Config) []LayerTensor {
	if c.Arch == Mamba2 {
		return l.tensors2(c)
	}
	d, di, r, n, k := c.DModel, c.DInner, c.DtRank, c.DState, c.DConv
	return []LayerTensor{
		{"in_proj", &l.InProj, []int{2 * di, d}, "mixer.in_proj.weight", &l.InProjBF16, &l.InProjQ},
		{"conv1d.weight", &l.Conv1dWeight, []int{di, k}, "mixer.conv1d.weight", nil, nil},
		{"conv1d.bias", &l.Conv1dBias, []int{di}, "mixer.conv1d.bias", nil, nil},
		{"x_proj", &l.XProj, []int{r + 2*n, di}, "mixer.x_proj.weight", &l.XProjBF16, &l.XProjQ},
		{"dt_proj.weight", &l.DtProjWeight, []int{di, r}, "mixer.dt_proj.weight", &l.DtProjWeightBF16, &l.DtProjWeightQ},
		{"dt_proj.bias", &l.DtProjBias, []int{di}, "mixer.dt_proj.bias", nil, nil},
		{"A", &l.A, []int{di, n}, "mixer.A_log", nil, nil},
		{"D", &l.D, []int{di}, "mixer.D", nil, nil},
		{"out_proj", &l.OutProj, []int{d, di}, "mixer.out_proj.weight", &l.OutProjBF16, &l.OutProjQ},
		{"norm", &l.Norm, []int{d}, "norm.weight", nil, nil},
	}
}

// NumLayerTensors is the number of tensors of a layer of config c,
// len(Layer.Tensors(c)): 10 in Mamba-1, 9 in Mamba-2.
func NumLayerTensors(c Config) int { return len((&Layer{}).Tensors(c)) }

// NewWeights returns weights of config c whose tensors are all zeros, with
// the head tied to the embedding when c says so; fill them in place.
func NewWeights(c Config) *Weights {
	d, v := c.DModel, c.PaddedVocab()
	w := &Weights{Config: c, Embedding: make([]float32, v*d), NormF: make([]float32, d),
		Layers: make([]Layer, c.NLayers)}
	for i := range w.Layers {
		for _, t := range w.Layers[i].Tensors(c) {
			*t.Data = make([]float32, t.Len())
		}
	}
	w.LMHead = w.Embedding
	if !c.TiedHead {
		w.LMHead = make([]float32, v*d)
	}
	return w
}

// tensors2 is Tensors for a Mamba-2 layer, in model.bin version 2's order.
func (l *Layer) tensors2(c Config) []LayerTensor {
	d, di, h, cd, k := c.DModel, c.DInner, c.NHeads, c.ConvDim(), c.DConv
	return []LayerTensor{
		{"in_proj", &l.InProj, []int{c.InProjRows(), d}, "mixer.in_proj.weight", &l.InProjBF16, &l.InProjQ},
		{"conv1d.weight", &l.Conv1dWeight, []int{cd, k}, "mixer.conv1d.weight", nil, nil},
		{"conv1d.bias", &l.Conv1dBias, []int{cd}, "mixer.conv1d.bias", nil, nil},
		{"dt_bias", &l.DtProjBias, []int{h}, "mixer.dt_bias", nil, nil},
		{"A", &l.A, []int{h}, "mixer.A_log", nil, nil},
		{"D", &l.D, []int{h}, "mixer.D", nil, nil},
		{"gated_norm", &l.GatedNorm, []int{di}, "mixer.norm.weight", nil, nil},
		{"out_proj", &l.OutProj, []int{d, di}, "mixer.out_proj.weight", &l.OutProjBF16, &l.OutProjQ},
		{"norm", &l.Norm, []int{d}, "norm.weight", nil, nil},
	}
}

// ErrBF16Weights: the weights are kept as bfloat16, which only fused runs.
var ErrBF16Weights = errors.New("the weights are kept as bfloat16 and this implementation runs float32 weights (load them with -weights f32)")

// Check verifies that every tensor has the length its Config asks for, so
// that an implementation can index without bounds surprises. It refuses
// weights kept as bfloat16 (ErrBF16Weights): see CheckBF16.
func (w *Weights) Check() error {
	if w.BF16 {
		return ErrBF16Weights
	}
	return w.check()
}

// CheckBF16 is Check for an implementation that runs weights kept as
// bfloat16 as well as float32 ones: it checks whichever w holds.
func (w *Weights) CheckBF16() error { return w.check() }

func (w *Weights) check() error {
	c := w.Config
	if err := c.Validate(); err != nil {
		return err
	}
	vd := c.PaddedVocab() * c.DModel
	emb, head := len(w.Embedding), len(w.LMHead)
	if w.BF16 {
		emb, head = len(w.EmbeddingBF16), len(w.LMHeadBF16)
	}
	if emb != vd {
		return fmt.Errorf("embedding has %d values, want %d", emb, vd)
	}
	if head != vd {
		return fmt.Errorf("lm_head has %d values, want %d", head, vd)
	}
	if len(w.NormF) != c.DModel {
		return fmt.Errorf("norm_f has %d values, want %d", len(w.NormF), c.DModel)
	}
	if len(w.Layers) != c.NLayers {
		return fmt.Errorf("%d layers, want %d", len(w.Layers), c.NLayers)
	}
	for i := range w.Layers {
		for _, t := range w.Layers[i].Tensors(c) {
			n := len(*t.Data)
			if w.BF16 && t.BF16 != nil {
				n = len(*t.BF16)
			}
			if n != t.Len() {
				return fmt.Errorf("layer %d %s has %d values, want %d", i, t.Name, n, t.Len())
			}
		}
	}
	return nil
}

// Quantized reports whether any of w's matrices is kept in a block format
// (the Q fields).
func (w *Weights) Quantized() bool {
	if w.EmbeddingQ.Data != nil || w.LMHeadQ.Data != nil {
		return true
	}
	for i := range w.Layers {
		for _, t := range w.Layers[i].Tensors(w.Config) {
			if t.Q != nil && t.Q.Data != nil {
				return true
			}
		}
	}
	return false
}
