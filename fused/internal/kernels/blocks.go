package kernels

import "mamba.go/common/quant"

// The products with weights in GGUF's block formats (common/quant): each
// row of W is cols/32 blocks, a float16 scale d_b and 32 small integers
// q_bj, and W[i][32b + j] = d_b·q_bj. The kernel widens each q to float32,
// sums its block against x, and scales the block's sum once:
//
//	out[i] (+)= Σ_b d_b · Σ_j q_bj · x[32b + j]
//
// which is learning's matVec on the dequantized weights (quant.Dequantize)
// up to float32 rounding: the activations stay float32. What changes is
// the bytes each token streams: 34 (Q8_0) or 18 (Q4_0) for 32 weights,
// against 128 in float32.

// blockRows is a matrix in a block format: t's blocks, row after row.
type blockRows struct {
	t    quant.Type
	data []byte
}

// Blocks is weights in a block format (quant.Q8_0, quant.Q4_0) as a
// Matrix.
func Blocks(b quant.Blocks) Matrix { return Matrix{blocks: blockRows{t: b.Type, data: b.Data}} }

// at is the matrix from value i on (i a multiple of quant.BlockSize: rows
// are whole blocks).
func (b blockRows) at(i int) []byte { return b.data[b.byteOf(i):] }

// byteOf is the offset of value i's block.
func (b blockRows) byteOf(i int) int {
	if i%quant.BlockSize != 0 {
		panic("kernels: a matrix in blocks is cut only between blocks")
	}
	return i / quant.BlockSize * quant.BlockBytes(b.t)
}

// len is the number of values (0 for no blocks).
func (b blockRows) len() int {
	if b.data == nil {
		return 0
	}
	return len(b.data) / quant.BlockBytes(b.t) * quant.BlockSize
}

// matVecBlocksGeneric: out[i] (+)= Σ_b d_b·Σ_j q_bj·x[32b + j] for
// i < len(out), over the len(x)/32 blocks of each row (row i starts at
// value i·ld).
func matVecBlocksGeneric(out []float32, w blockRows, ld int, x []float32, add bool) {
	bb := quant.BlockBytes(w.t)
	perRow := ld / quant.BlockSize * bb
	nb := len(x) / quant.BlockSize
	for i := range out {
		row := w.data[i*perRow : i*perRow+nb*bb]
		var s float32
		for b := range nb {
			blk, xb := row[b*bb:(b+1)*bb], x[b*quant.BlockSize:(b+1)*quant.BlockSize]
			d := quant.BlockScale(blk)
			if w.t == quant.Q8_0 {
				s += d * blockDotQ8_0(blk[2:], xb)
			} else {
				s += d * blockDotQ4_0(blk[2:], xb)
			}
		}
		if add {
			s += out[i]
		}
		out[i] = s
	}
}

// blockDotQ8_0: Σ_j q[j]·x[j], q int8, four partial sums.
func blockDotQ8_0(q []byte, x []float32) float32 {
	var s0, s1, s2, s3 float32
	for j := 0; j < quant.BlockSize; j += 4 {
		s0 += float32(int8(q[j])) * x[j]
		s1 += float32(int8(q[j+1])) * x[j+1]
		s2 += float32(int8(q[j+2])) * x[j+2]
		s3 += float32(int8(q[j+3])) * x[j+3]
	}
	return (s0 + s1) + (s2 + s3)
}

// blockDotQ4_0: Σ_j (nibble[j] − 8)·x[j]: byte k holds value k in its low
// nibble and value k+16 in its high one.
func blockDotQ4_0(q []byte, x []float32) float32 {
	var lo, hi float32
	for k := range quant.BlockSize / 2 {
		lo += float32(int(q[k]&15)-8) * x[k]
		hi += float32(int(q[k]>>4)-8) * x[k+quant.BlockSize/2]
	}
	return lo + hi
}

// matMatBlocksRows is matMat on a matrix in blocks: four rows at a time
// dequantized into scratch ([4][cols] at least), then the float32 kernel,
// as matMatPacked does with packed rows.
func matMatBlocksRows(out []float32, ldo int, w blockRows, ldw int, x []float32, ldx int, rows, cols, tokens int, add bool, scratch []float32) {
	for r := 0; r < rows; r += 4 {
		n := min(4, rows-r)
		for k := range n {
			quant.DequantizeInto(w.t, scratch[k*cols:(k+1)*cols], w.at((r+k)*ldw))
		}
		kern.matMat(out[r:], ldo, scratch, cols, x, ldx, n, cols, tokens, add)
	}
}
