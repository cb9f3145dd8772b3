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

// layerOffsets are the byte offsets of one layer's weights in the weights
// allocation.
type layerOffsets struct {
	inProj  int64 // [2di][d]
	convW   int64 // [di][k]
	convB   int64 // [di]
	xProj   int64 // [r+2n][di]
	dtW     int64 // [di][r]
	dtB     int64 // [di]
	A       int64 // [di][n]
	D       int64 // [di]
	outProj int64 // [d][di]
	norm    int64 // [d]
}

// weightLayout is where each weight lives in the weights allocation.
type weightLayout struct {
	size      int64
	embedding int64 // [V][d]
	layers    []layerOffsets
	normF     int64 // [d]
	lmHead    int64 // [V][d]; equal to embedding when the head is tied
}

// sharesHead reports whether the output head is the embedding itself (a
// tied head), so that it is uploaded once.
func sharesHead(w *model.Weights) bool {
	return len(w.LMHead) > 0 && len(w.Embedding) == len(w.LMHead) && &w.LMHead[0] == &w.Embedding[0]
}

// planWeights lays out the weights of a model of config c; a tied head
// shares the embedding's memory.
func planWeights(c model.Config, tied bool) weightLayout {
	s := shapeOf(c)
	var a arena
	w := weightLayout{layers: make([]layerOffsets, s.L)}
	w.embedding = a.place(s.vocabPadded * s.d)
	for l := range w.layers {
		w.layers[l] = layerOffsets{
			inProj:  a.place(2 * s.di * s.d),
			convW:   a.place(s.di * s.k),
			convB:   a.place(s.di),
			xProj:   a.place((s.r + 2*s.n) * s.di),
			dtW:     a.place(s.di * s.r),
			dtB:     a.place(s.di),
			A:       a.place(s.di * s.n),
			D:       a.place(s.di),
			outProj: a.place(s.d * s.di),
			norm:    a.place(s.d),
		}
	}
	w.normF = a.place(s.d)
	if tied {
		w.lmHead = w.embedding
	} else {
		w.lmHead = a.place(s.vocabPadded * s.d)
	}
	w.size = a.size
	return w
}

// hostTensor is one weight on the host and where it goes on the device.
type hostTensor struct {
	name string
	data []float32
	off  int64
}

// tensors pairs every host weight of w with its device offset, in upload
// order, checking each length against the layout.
func (lay weightLayout) tensors(w *model.Weights) ([]hostTensor, error) {
	s := shapeOf(w.Config)
	var ts []hostTensor
	var err error
	add := func(name string, data []float32, off int64, n int) {
		ts = append(ts, hostTensor{name, data, off})
		if len(data) != n && err == nil {
			err = fmt.Errorf("cuda: %s has %d values, want %d", name, len(data), n)
		}
	}
	add("embedding", w.Embedding, lay.embedding, s.vocabPadded*s.d)
	for l := range w.Layers {
		lw, o := &w.Layers[l], lay.layers[l]
		p := fmt.Sprintf("layers.%d.", l)
		add(p+"in_proj", lw.InProj, o.inProj, 2*s.di*s.d)
		add(p+"conv1d.weight", lw.Conv1dWeight, o.convW, s.di*s.k)
		add(p+"conv1d.bias", lw.Conv1dBias, o.convB, s.di)
		add(p+"x_proj", lw.XProj, o.xProj, (s.r+2*s.n)*s.di)
		add(p+"dt_proj.weight", lw.DtProjWeight, o.dtW, s.di*s.r)
		add(p+"dt_proj.bias", lw.DtProjBias, o.dtB, s.di)
		add(p+"A", lw.A, o.A, s.di*s.n)
		add(p+"D", lw.D, o.D, s.di)
		add(p+"out_proj", lw.OutProj, o.outProj, s.d*s.di)
		add(p+"norm", lw.Norm, o.norm, s.d)
	}
	add("norm_f", w.NormF, lay.normF, s.d)
	if lay.lmHead != lay.embedding {
		add("lm_head", w.LMHead, lay.lmHead, s.vocabPadded*s.d)
	}
	return ts, err
}

// workLayout is where the activations of one step and the recurrent state
// live in the work allocation.
type workLayout struct {
	size   int64
	h      int64 // [d]     the residual stream
	u      int64 // [di]    SiLU(conv(x)), the scan's input
	z      int64 // [di]    the gate branch of in_proj
	xDBC   int64 // [r+2n]  x_proj's output: Δ_low, B, C
	y      int64 // [di]    the gated scan output
	logits int64 // [V]
	argmax int64 // [1]     int32
	conv   int64 // [L][di][k]  state
	ssm    int64 // [L][di][n]  state
}

func planWork(c model.Config) workLayout {
	s := shapeOf(c)
	var a arena
	w := workLayout{
		h:      a.place(s.d),
		u:      a.place(s.di),
		z:      a.place(s.di),
		xDBC:   a.place(s.r + 2*s.n),
		y:      a.place(s.di),
		logits: a.place(s.vocabPadded),
		argmax: a.place(1),
		conv:   a.place(s.L * s.di * s.k),
		ssm:    a.place(s.L * s.di * s.n),
	}
	w.size = a.size
	return w
}

// checkShape refuses a model the kernels cannot run.
func checkShape(c model.Config) error {
	if c.Arch != model.Mamba1 {
		return fmt.Errorf("cuda: %s models are %w yet (learning and fused run them)", c.Arch, model.ErrUnsupported)
	}
	if maxD := (maxSharedBytes - staticSharedBytes) / 4; c.DModel > maxD {
		return fmt.Errorf("cuda: d_model %d is too wide: RMSNorm(h) must fit in a block's shared memory (d_model ≤ %d)",
			c.DModel, maxD)
	}
	return nil
}
