package fused

import (
	"unsafe"

	"mamba.go/common/model"
)

// The weights of the products as fused keeps them: float32; float32
// packed into 3.5 bytes a weight, losslessly (packed.go, the default); or
// bfloat16 when the model's weights are kept so (model.Weights.BF16,
// -weights bf16). Packed and bfloat16 weights are widened to float32 by
// the kernel that loads them, so every product still sums in float32; what
// changes is the bytes each token streams: 7/8 of float32's packed, half
// as bfloat16. The vectors (norms, conv, A, D, biases) are float32 always.

// matrix is a product's weights, [rows][cols] row-major: f32, bf16
// (bfloat16 bits), or packed (packed.m not nil); the others are nil.
type matrix struct {
	f32    []float32
	bf16   []uint16
	packed packedRows
}

// len is the number of values.
func (a matrix) len() int {
	if a.packed.m != nil {
		return a.packed.rows() * a.packed.m.cols
	}
	return len(a.f32) + len(a.bf16)
}

// from is the matrix from value i on: from(row·cols) starts at a row (a
// packed matrix starts only at rows).
func (a matrix) from(i int) matrix {
	switch {
	case a.packed.m != nil:
		return matrix{packed: a.packed.from(a.packedRow(i))}
	case a.bf16 != nil:
		return matrix{bf16: a.bf16[i:]}
	}
	return matrix{f32: a.f32[i:]}
}

// part is the values [i, j): a block a worker streams.
func (a matrix) part(i, j int) matrix {
	switch {
	case a.packed.m != nil:
		return matrix{packed: a.packed.part(a.packedRow(i), a.packedRow(j))}
	case a.bf16 != nil:
		return matrix{bf16: a.bf16[i:j]}
	}
	return matrix{f32: a.f32[i:j]}
}

// packedRow is the row that value i of a packed matrix starts.
func (a matrix) packedRow(i int) int {
	if i%a.packed.m.cols != 0 {
		panic("fused: a packed matrix is cut only between rows")
	}
	return i / a.packed.m.cols
}

// bytes are the memory the values are in, as bytes: what a worker
// streams.
func (a matrix) bytes() []byte {
	switch {
	case a.packed.m != nil:
		return a.packed.groups
	case len(a.bf16) > 0:
		return unsafe.Slice((*byte)(unsafe.Pointer(&a.bf16[0])), 2*len(a.bf16))
	}
	return float32Bytes(a.f32)
}

// layerMatrices are the products of one layer (Mamba-2 has no xProj and
// no dtProj).
type layerMatrices struct {
	inProj  matrix // [2·di][d]     Mamba-2: [2di+2gn+h][d]
	xProj   matrix // [r+2n][di]
	dtProj  matrix // [di][r]
	outProj matrix // [d][di]
}

// matrices are the model's products, its embedding and its head.
type matrices struct {
	layers    []layerMatrices // [n_layers]
	embedding matrix          // [V][d]
	lmHead    matrix          // [V][d]
}

// matricesOf takes w's products in whichever precision w keeps them.
func matricesOf(w *model.Weights) matrices {
	pick := func(f []float32, b []uint16) matrix {
		if w.BF16 && b != nil {
			return matrix{bf16: b}
		}
		return matrix{f32: f}
	}
	ms := matrices{embedding: pick(w.Embedding, w.EmbeddingBF16), lmHead: pick(w.LMHead, w.LMHeadBF16)}
	for i := range w.Layers {
		l := &w.Layers[i]
		ms.layers = append(ms.layers, layerMatrices{
			inProj:  pick(l.InProj, l.InProjBF16),
			xProj:   pick(l.XProj, l.XProjBF16),
			dtProj:  pick(l.DtProjWeight, l.DtProjWeightBF16),
			outProj: pick(l.OutProj, l.OutProjBF16),
		})
	}
	return ms
}

// matVec: out[i] = Σ_j W[i·ld + j] · x[j] for i < len(out), j < len(x),
// learning's matVec over a block of W's rows and columns (row stride ld).
func matVec(out []float32, w matrix, ld int, x []float32) {
	if w.packed.m != nil {
		matVecPacked(out, w.packed, ld, x, false)
		return
	}
	if w.bf16 != nil {
		kern.matVecBF16(out, w.bf16, ld, x, false)
		return
	}
	matVecF32(out, w.f32, ld, x)
}

// matVecAdd: out[i] += Σ_j W[i·ld + j] · x[j], learning's matVec and
// addResidual in one pass.
func matVecAdd(out []float32, w matrix, ld int, x []float32) {
	if w.packed.m != nil {
		matVecPacked(out, w.packed, ld, x, true)
		return
	}
	if w.bf16 != nil {
		kern.matVecBF16(out, w.bf16, ld, x, true)
		return
	}
	matVecAddF32(out, w.f32, ld, x)
}

// matMat: out[t·ldo + i] (+)= Σ_j W[i·ldw + j]·x[t·ldx + j] for rows i,
// tokens t and cols j: one matVec per token, the weights read once (the
// batched prompt's products, prefill.go). scratch ([4][cols] at least)
// takes packed weights unpacked, four rows at a time.
func matMat(out []float32, ldo int, w matrix, ldw int, x []float32, ldx int, rows, cols, tokens int, add bool, scratch []float32) {
	if w.packed.m != nil {
		matMatPacked(out, ldo, w.packed, x, ldx, rows, tokens, add, scratch)
		return
	}
	if w.bf16 != nil {
		kern.matMatBF16(out, ldo, w.bf16, ldw, x, ldx, rows, cols, tokens, add)
		return
	}
	kern.matMat(out, ldo, w.f32, ldw, x, ldx, rows, cols, tokens, add)
}

// embed: h = embedding[token], widened when kept as bfloat16.
// h: [d]; embedding: [V][d]
func embed(h []float32, embedding matrix, token int) {
	d := len(h)
	if embedding.packed.m != nil {
		unpackRows(h, embedding.packed.from(token), 1)
		return
	}
	if embedding.bf16 != nil {
		for i, b := range embedding.bf16[token*d : (token+1)*d] {
			h[i] = model.Float32FromBF16(b)
		}
		return
	}
	copy(h, embedding.f32[token*d:(token+1)*d])
}
