package kernels

import (
	"unsafe"

	"mamba.go/common/model"
	"mamba.go/common/quant"
)

// The weights of the products as fused keeps them: float32; float32
// packed into 3.5 bytes a weight, losslessly (packed.go, the default); or
// bfloat16 when the model's weights are kept so (model.Weights.BF16,
// -weights bf16). Packed and bfloat16 weights are widened to float32 by
// the kernel that loads them, so every product still sums in float32; what
// changes is the bytes each token streams: 7/8 of float32's packed, half
// as bfloat16. The vectors (norms, conv, A, D, biases) are float32 always.
// Weights in GGUF's Q8_0 or Q4_0 blocks (blocks.go) are widened and scaled
// block by block, the activations float32 still.

// Matrix is a product's weights, [rows][cols] row-major: f32, bf16
// (bfloat16 bits), packed (packed.m not nil) or blocks (blocks.data not
// nil); the others are nil. The
// zero Matrix has no weights (a barrier with nothing to warm).
type Matrix struct {
	f32    []float32
	bf16   []uint16
	packed packedRows
	blocks blockRows // GGUF's Q8_0 or Q4_0 blocks (blocks.go) when blocks.data is not nil
}

// F32 is float32 weights as a Matrix.
func F32(w []float32) Matrix { return Matrix{f32: w} }

// Format names how the weights are kept: "float32", "packed",
// "bfloat16", "Q8_0" or "Q4_0" ("" for no weights).
func (a Matrix) Format() string {
	switch {
	case a.blocks.data != nil:
		return a.blocks.t.String()
	case a.packed.m != nil:
		return "packed"
	case a.bf16 != nil:
		return "bfloat16"
	case a.f32 != nil:
		return "float32"
	}
	return ""
}

// Escapes is how many weights of a packed matrix lie outside its 15 top
// bytes and are added after the sum (packed.go); 0 for the other formats.
func (a Matrix) Escapes() int {
	if a.packed.m == nil {
		return 0
	}
	return len(a.packed.m.escapes)
}

// Len is the number of values.
func (a Matrix) Len() int {
	if a.packed.m != nil {
		return a.packed.rows() * a.packed.m.cols
	}
	return len(a.f32) + len(a.bf16) + a.blocks.len()
}

// From is the matrix from value i on: From(row·cols) starts at a row (a
// packed matrix starts only at rows).
func (a Matrix) From(i int) Matrix {
	switch {
	case a.blocks.data != nil:
		return Matrix{blocks: blockRows{a.blocks.t, a.blocks.at(i)}}
	case a.packed.m != nil:
		return Matrix{packed: a.packed.from(a.packedRow(i))}
	case a.bf16 != nil:
		return Matrix{bf16: a.bf16[i:]}
	}
	return Matrix{f32: a.f32[i:]}
}

// Part is the values [i, j): a block a worker streams.
func (a Matrix) Part(i, j int) Matrix {
	switch {
	case a.blocks.data != nil:
		return Matrix{blocks: blockRows{a.blocks.t, a.blocks.data[a.blocks.byteOf(i):a.blocks.byteOf(j)]}}
	case a.packed.m != nil:
		return Matrix{packed: a.packed.part(a.packedRow(i), a.packedRow(j))}
	case a.bf16 != nil:
		return Matrix{bf16: a.bf16[i:j]}
	}
	return Matrix{f32: a.f32[i:j]}
}

// packedRow is the row that value i of a packed matrix starts.
func (a Matrix) packedRow(i int) int {
	if i%a.packed.m.cols != 0 {
		panic("kernels: a packed matrix is cut only between rows")
	}
	return i / a.packed.m.cols
}

// Bytes are the memory the values are in, as bytes: what a worker
// streams.
func (a Matrix) Bytes() []byte {
	switch {
	case a.blocks.data != nil:
		return a.blocks.data
	case a.packed.m != nil:
		return a.packed.groups
	case len(a.bf16) > 0:
		return unsafe.Slice((*byte)(unsafe.Pointer(&a.bf16[0])), 2*len(a.bf16))
	}
	return float32Bytes(a.f32)
}

// LayerMatrices are the products of one layer (Mamba-2 has no XProj and
// no DtProj).
type LayerMatrices struct {
	InProj  Matrix // [2·di][d]     Mamba-2: [2di+2gn+h][d]
	XProj   Matrix // [r+2n][di]
	DtProj  Matrix // [di][r]
	OutProj Matrix // [d][di]
}

// Matrices are the model's products, its embedding and its head.
type Matrices struct {
	Layers    []LayerMatrices // [n_layers]
	Embedding Matrix          // [V][d]
	LMHead    Matrix          // [V][d]
}

// Of takes w's products in whichever precision w keeps them.
func Of(w *model.Weights) Matrices {
	pick := func(f []float32, b []uint16, q quant.Blocks) Matrix {
		if q.Data != nil {
			return Blocks(q)
		}
		if w.BF16 && b != nil {
			return Matrix{bf16: b}
		}
		return Matrix{f32: f}
	}
	ms := Matrices{Embedding: pick(w.Embedding, w.EmbeddingBF16, w.EmbeddingQ), LMHead: pick(w.LMHead, w.LMHeadBF16, w.LMHeadQ)}
	for i := range w.Layers {
		l := &w.Layers[i]
		ms.Layers = append(ms.Layers, LayerMatrices{
			InProj:  pick(l.InProj, l.InProjBF16, l.InProjQ),
			XProj:   pick(l.XProj, l.XProjBF16, l.XProjQ),
			DtProj:  pick(l.DtProjWeight, l.DtProjWeightBF16, l.DtProjWeightQ),
			OutProj: pick(l.OutProj, l.OutProjBF16, l.OutProjQ),
		})
	}
	return ms
}

// MatVec: out[i] (+)= Σ_j W[i·ld + j] · x[j] for i < len(out),
// j < len(x), learning's matVec over a block of W's rows and columns (row
// stride ld), with add learning's addResidual in the same pass.
func MatVec(out []float32, w Matrix, ld int, x []float32, add bool) {
	switch {
	case w.blocks.data != nil:
		matVecBlocksGeneric(out, w.blocks, ld, x, add)
	case w.packed.m != nil:
		matVecPacked(out, w.packed, ld, x, add)
	case w.bf16 != nil:
		kern.matVecBF16(out, w.bf16, ld, x, add)
	default:
		kern.matVec(out, w.f32, ld, x, add)
	}
}

// MatMat: out[t·ldo + i] (+)= Σ_j W[i·ldw + j]·x[t·ldx + j] for rows i,
// tokens t and cols j: one MatVec per token, the weights read once (the
// batched prompt's products). scratch ([4][cols] at least) takes packed
// weights unpacked, four rows at a time.
func MatMat(out []float32, ldo int, w Matrix, ldw int, x []float32, ldx int, rows, cols, tokens int, add bool, scratch []float32) {
	switch {
	case w.blocks.data != nil:
		matMatBlocksRows(out, ldo, w.blocks, ldw, x, ldx, rows, cols, tokens, add, scratch)
	case w.packed.m != nil:
		matMatPacked(out, ldo, w.packed, x, ldx, rows, tokens, add, scratch)
	case w.bf16 != nil:
		kern.matMatBF16(out, ldo, w.bf16, ldw, x, ldx, rows, cols, tokens, add)
	default:
		kern.matMat(out, ldo, w.f32, ldw, x, ldx, rows, cols, tokens, add)
	}
}

// Row writes row i of m, [rows][len(dst)], to dst as float32: the
// embedding of token i.
func Row(dst []float32, m Matrix, i int) {
	d := len(dst)
	switch {
	case m.blocks.data != nil:
		quant.DequantizeInto(m.blocks.t, dst, m.blocks.at(i*d))
	case m.packed.m != nil:
		unpackRows(dst, m.packed.from(i), 1)
	case m.bf16 != nil:
		for j, b := range m.bf16[i*d : (i+1)*d] {
			dst[j] = model.Float32FromBF16(b)
		}
	default:
		copy(dst, m.f32[i*d:(i+1)*d])
	}
}
