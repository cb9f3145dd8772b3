package kernels

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"mamba.go/common/model"
	"mamba.go/common/quant"
)

// The products with weights in blocks against the float64 loop on the
// dequantized weights (quant.Dequantize): the same sum up to float32
// rounding, for each block format, over whole rows and over a part of
// each row (ld > cols), with and without the add.

func TestBlocksMatVecIsTheDequantizedProduct(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, ty := range []quant.Type{quant.Q8_0, quant.Q4_0} {
		for _, rows := range []int{1, 3, 4, 5, 13} {
			for _, shape := range []struct{ ld, cols int }{{768, 768}, {1536, 1536}, {32, 32}, {96, 64}, {64, 32}} {
				b := quant.Quantize(ty, randVec(rng, rows*shape.ld))
				w := quant.Dequantize(ty, b)
				x := randVec(rng, shape.cols)
				want, bound := refMatVec(w, shape.ld, x, rows)
				for _, add := range []bool{false, true} {
					out := randVec(rng, rows)
					before := append([]float32(nil), out...)
					MatVec(out, Blocks(quant.Blocks{Type: ty, Data: b}), shape.ld, x, add)
					for i := range out {
						wi := want[i]
						if add {
							wi += float64(before[i])
						}
						require.InDelta(t, wi, out[i], bound[i]+1e-6, "%v rows %d ld %d cols %d add %v row %d", ty, rows, shape.ld, shape.cols, add, i)
					}
				}
			}
		}
	}
}

func TestBlocksMatMatRowAndParts(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const rows, cols, tokens = 7, 64, 3
	for _, ty := range []quant.Type{quant.Q8_0, quant.Q4_0} {
		b := quant.Quantize(ty, randVec(rng, rows*cols))
		w := quant.Dequantize(ty, b)
		m := Blocks(quant.Blocks{Type: ty, Data: b})
		require.Equal(t, ty.String(), m.Format())
		require.Equal(t, rows*cols, m.Len())
		require.Len(t, m.Bytes(), len(b))

		x := randVec(rng, tokens*cols)
		out := make([]float32, tokens*rows)
		MatMat(out, rows, m, cols, x, cols, rows, cols, tokens, false, make([]float32, 4*cols))
		for tk := range tokens {
			want, bound := refMatVec(w, cols, x[tk*cols:(tk+1)*cols], rows)
			for i := range rows {
				require.InDelta(t, want[i], out[tk*rows+i], bound[i]+1e-6, "%v token %d row %d", ty, tk, i)
			}
		}

		row := make([]float32, cols)
		Row(row, m, 5)
		require.Equal(t, w[5*cols:6*cols], row, "%v: Row is the dequantized row", ty)

		part := m.Part(2*cols, 4*cols)
		require.Equal(t, 2*cols, part.Len())
		Row(row, part, 1)
		require.Equal(t, w[3*cols:4*cols], row, "%v: Part starts at its first value", ty)
		Row(row, m.From(6*cols), 0)
		require.Equal(t, w[6*cols:7*cols], row, "%v: From starts at its first value", ty)
	}
}

func TestPackWeightsLeavesBlocksAsTheyAre(t *testing.T) {
	w, err := model.RandomWeights(model.Config{NLayers: 1, VocabSize: 32, DModel: 64, DInner: 128, DtRank: 4, DState: 4, DConv: 4, TiedHead: true}, 1)
	require.NoError(t, err)
	l := &w.Layers[0]
	l.InProjQ, l.InProj = quant.Blocks{Type: quant.Q8_0, Data: quant.Quantize(quant.Q8_0, l.InProj)}, nil
	require.True(t, w.Quantized())
	p := PackWeights(w, true, Memory{})
	require.Same(t, w, p.Weights)
	require.Equal(t, "Q8_0", p.Matrices.Layers[0].InProj.Format())
	require.Equal(t, "float32", p.Matrices.Layers[0].OutProj.Format())
}
