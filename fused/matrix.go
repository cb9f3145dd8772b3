package fused

import "mamba.go/common/model"

// The weights of the products as fused keeps them: float32, or bfloat16
// when the model's weights are kept so (model.Weights.BF16, -weights bf16).
// A bfloat16 weight is widened to float32 by the kernel that loads it
// (kernels_bf16.go), so every product still sums in float32; what changes
// is that each token streams half the bytes. The vectors (norms, conv, A,
// D, biases) are float32 either way.

// matrix is a product's weights, [rows][cols] row-major: f32, or bf16
// (bfloat16 bits); the other one is nil.
type matrix struct {
	f32  []float32
	bf16 []uint16
}

// len is the number of values.
func (a matrix) len() int { return len(a.f32) + len(a.bf16) }

// from is the matrix from value i on: from(row·cols) starts at a row.
func (a matrix) from(i int) matrix {
	if a.bf16 != nil {
		return matrix{bf16: a.bf16[i:]}
	}
	return matrix{f32: a.f32[i:]}
}

// part is the values [i, j): a block a worker streams.
func (a matrix) part(i, j int) matrix {
	if a.bf16 != nil {
		return matrix{bf16: a.bf16[i:j]}
	}
	return matrix{f32: a.f32[i:j]}
}

// bytesPer is the size of one value: 4 for float32, 2 for bfloat16.
func (a matrix) bytesPer() int {
	if a.bf16 != nil {
		return 2
	}
	return 4
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
	if w.bf16 != nil {
		kern.matVecBF16(out, w.bf16, ld, x, false)
		return
	}
	matVecF32(out, w.f32, ld, x)
}

// matVecAdd: out[i] += Σ_j W[i·ld + j] · x[j], learning's matVec and
// addResidual in one pass.
func matVecAdd(out []float32, w matrix, ld int, x []float32) {
	if w.bf16 != nil {
		kern.matVecBF16(out, w.bf16, ld, x, true)
		return
	}
	matVecAddF32(out, w.f32, ld, x)
}

// matMat: out[t·ldo + i] (+)= Σ_j W[i·ldw + j]·x[t·ldx + j] for rows i,
// tokens t and cols j: one matVec per token, the weights read once (the
// batched prompt's products, prefill.go).
func matMat(out []float32, ldo int, w matrix, ldw int, x []float32, ldx int, rows, cols, tokens int, add bool) {
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
	if embedding.bf16 != nil {
		for i, b := range embedding.bf16[token*d : (token+1)*d] {
			h[i] = model.Float32FromBF16(b)
		}
		return
	}
	copy(h, embedding.f32[token*d:(token+1)*d])
}
