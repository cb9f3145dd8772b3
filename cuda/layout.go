package cuda

import (
	"fmt"

	"mamba.go/common/model"
)

// Device memory layout. The weights go into one allocation and the
// activations and the state into another; every tensor starts on a
// 256-byte boundary, so that rows of a matrix whose width is a multiple of
// 4 can be read as float4 (16-byte aligned) and accesses coalesce.

// tensorAlign is the alignment of every tensor, in bytes.
const tensorAlign = 256

// arena hands out aligned offsets in one allocation.
type arena struct{ size int64 }

// place reserves n float32s and returns their byte offset.
func (a *arena) place(n int) int64 {
	off := (a.size + tensorAlign - 1) / tensorAlign * tensorAlign
	a.size = off + 4*int64(n)
	return off
}

// configShape are the sizes the kernels see, as ints.
type configShape struct {
	L, d, di, r, n, k int
	vocab             int // unpadded: argmax looks at these
	vocabPadded       int // rows of the embedding and the head
}

func shapeOf(c model.Config) configShape {
	return configShape{L: c.NLayers, d: c.DModel, di: c.DInner, r: c.DtRank, n: c.DState, k: c.DConv,
		vocab: c.VocabSize, vocabPadded: c.PaddedVocab()}
}

// layerTensors are one layer's weights under the names the kernels use:
// their byte offsets in the weights allocation (T = int64) or their device
// addresses (T = cu.DevicePtr, cuda.go's devLayer). The fields are the
// tensors of model.Layer.Tensors, which field binds to them by name: that
// table, not this struct, says what a layer has and how long each tensor is.
type layerTensors[T any] struct {
	inProj  T // [2di][d]
	convW   T // [di][k]
	convB   T // [di]
	xProj   T // [r+2n][di]
	dtW     T // [di][r]
	dtB     T // [di]
	A       T // [di][n]
	D       T // [di]
	outProj T // [d][di]
	norm    T // [d]
}

// field is the field that holds the tensor of model.Layer.Tensors called
// name (a test checks that every tensor of the table has one).
func (l *layerTensors[T]) field(name string) *T {
	switch name {
	case "in_proj":
		return &l.inProj
	case "conv1d.weight":
		return &l.convW
	case "conv1d.bias":
		return &l.convB
	case "x_proj":
		return &l.xProj
	case "dt_proj.weight":
		return &l.dtW
	case "dt_proj.bias":
		return &l.dtB
	case "A":
		return &l.A
	case "D":
		return &l.D
	case "out_proj":
		return &l.outProj
	case "norm":
		return &l.norm
	}
	return nil
}

// weightTensors are every weight of the model: byte offsets (T = int64) or
// device addresses (T = cu.DevicePtr, devWeights).
type weightTensors[T any] struct {
	embedding T // [V][d]
	layers    []layerTensors[T]
	normF     T // [d]
	lmHead    T // [V][d]; equal to embedding when the head is tied
}

// mapWeights turns every offset of o into at(offset): the device address
// of each weight, once the allocation is made.
func mapWeights[T any](o weightTensors[int64], at func(int64) T) weightTensors[T] {
	w := weightTensors[T]{embedding: at(o.embedding), normF: at(o.normF), lmHead: at(o.lmHead),
		layers: make([]layerTensors[T], len(o.layers))}
	for l := range o.layers {
		for _, t := range (&model.Layer{}).Tensors(model.Config{}) {
			*w.layers[l].field(t.Name) = at(*o.layers[l].field(t.Name))
		}
	}
	return w
}

// weightLayout is where each weight lives in the weights allocation.
type weightLayout struct {
	size    int64
	off     weightTensors[int64]
	tensors []hostTensor // every weight with its offset, in upload order
}

// hostTensor is one weight on the host and where it goes on the device.
type hostTensor struct {
	name string
	data []float32
	off  int64
}

// sharesHead reports whether the output head is the embedding itself (a
// tied head), so that it is uploaded once.
func sharesHead(w *model.Weights) bool {
	return len(w.LMHead) > 0 && len(w.Embedding) == len(w.LMHead) && &w.LMHead[0] == &w.Embedding[0]
}

// planWeights lays out the weights of w, the embedding, each layer's
// tensors in model.Layer.Tensors order, norm_f and the head (which a tied
// head shares with the embedding), pairing each with its host data and
// checking its length against the table.
func planWeights(w *model.Weights) (weightLayout, error) {
	c := w.Config
	d, v := c.DModel, c.PaddedVocab()
	var a arena
	var lay weightLayout
	var err error
	place := func(name string, data []float32, n int) int64 {
		off := a.place(n)
		lay.tensors = append(lay.tensors, hostTensor{name, data, off})
		if len(data) != n && err == nil {
			err = fmt.Errorf("cuda: %s has %d values, want %d", name, len(data), n)
		}
		return off
	}
	if len(w.Layers) != c.NLayers {
		return lay, fmt.Errorf("cuda: %d layers, want %d", len(w.Layers), c.NLayers)
	}
	lay.off.embedding = place("embedding", w.Embedding, v*d)
	lay.off.layers = make([]layerTensors[int64], c.NLayers)
	for l := range w.Layers {
		for _, t := range w.Layers[l].Tensors(c) {
			*lay.off.layers[l].field(t.Name) = place(fmt.Sprintf("layers.%d.%s", l, t.Name), *t.Data, t.Len())
		}
	}
	lay.off.normF = place("norm_f", w.NormF, d)
	lay.off.lmHead = lay.off.embedding
	if !sharesHead(w) {
		lay.off.lmHead = place("lm_head", w.LMHead, v*d)
	}
	lay.size = a.size
	return lay, err
}

// workTensors are where the activations of one step and the recurrent
// state live: byte offsets in the work allocation (T = int64) or device
// addresses (T = cu.DevicePtr, devWork).
type workTensors[T any] struct {
	h      T // [d]     the residual stream
	u      T // [di]    SiLU(conv(x)), the scan's input
	z      T // [di]    the gate branch of in_proj
	xDBC   T // [r+2n]  x_proj's output: Δ_low, B, C
	y      T // [di]    the gated scan output
	logits T // [V]
	argmax T // [1]     int32
	conv   T // [L][di][k]  state
	ssm    T // [L][di][n]  state
}

// planWork lays out the activations and the state of a model of config c
// and returns at(offset) of each, and the size of the allocation.
func planWork[T any](c model.Config, at func(int64) T) (workTensors[T], int64) {
	s := shapeOf(c)
	var a arena
	w := workTensors[T]{
		h:      at(a.place(s.d)),
		u:      at(a.place(s.di)),
		z:      at(a.place(s.di)),
		xDBC:   at(a.place(s.r + 2*s.n)),
		y:      at(a.place(s.di)),
		logits: at(a.place(s.vocabPadded)),
		argmax: at(a.place(1)),
		conv:   at(a.place(s.L * s.di * s.k)),
		ssm:    at(a.place(s.L * s.di * s.n)),
	}
	return w, a.size
}

// offset is planWork's at for byte offsets.
func offset(off int64) int64 { return off }

// checkShape refuses a model the kernels cannot run.
func checkShape(c model.Config) error {
	// Falcon-Mamba is Mamba-1's tensors and step with one more launch, bcdt_norm.
	if c.Arch != model.Mamba1 && c.Arch != model.FalconMamba {
		return fmt.Errorf("cuda: %s models are %w yet (learning and fused run them)", c.Arch, model.ErrUnsupported)
	}
	if maxD := (maxSharedBytes - staticSharedBytes) / 4; c.DModel > maxD {
		return fmt.Errorf("cuda: d_model %d is too wide: RMSNorm(h) must fit in a block's shared memory (d_model ≤ %d)",
			c.DModel, maxD)
	}
	return nil
}
