package kernels

import (
	"math/rand/v2"
	"testing"

	"mamba.go/common/model"
)

// The bfloat16 products beside the float32 ones, per kernel set, in one
// run: MB/s counts the weight bytes streamed (4 per weight for float32, 2
// for bfloat16), so equal MB/s means bfloat16 computes a product twice as
// fast.

// bf16BenchShapes: in_proj of the 130m model (fits the L3 cache) and its
// lm_head (streams from memory).
var bf16BenchShapes = []struct {
	name       string
	rows, cols int
}{
	{"in_proj-3072x768", 2 * bDi, bD},
	{"head-50280x768", bV, bD},
}

func BenchmarkMatVecBF16(b *testing.B) {
	rng := rand.New(rand.NewPCG(7, 7))
	for _, sz := range bf16BenchShapes {
		w := randVec(rng, sz.rows*sz.cols)
		w16 := model.ToBF16(w)
		x, out := randVec(rng, sz.cols), make([]float32, sz.rows)
		for _, k := range availableKernels() {
			b.Run(sz.name+"/"+k.name+"/f32", func(b *testing.B) {
				b.SetBytes(int64(4 * len(w)))
				for b.Loop() {
					k.matVec(out, w, sz.cols, x, false)
				}
			})
			b.Run(sz.name+"/"+k.name+"/bf16", func(b *testing.B) {
				b.SetBytes(int64(2 * len(w16)))
				for b.Loop() {
					k.matVecBF16(out, w16, sz.cols, x, false)
				}
			})
		}
	}
}

// BenchmarkMatMatBF16: BenchmarkMatMat's in-cache block (256 rows of
// in_proj's width by a chunk of promptChunk tokens) with float32 and with
// bfloat16 weights, in GFLOP/s.
func BenchmarkMatMatBF16(b *testing.B) {
	rng := rand.New(rand.NewPCG(8, 8))
	rows, cols, T := 256, bD, promptChunk
	w, x, out := randVec(rng, rows*cols), randVec(rng, T*cols), make([]float32, T*rows)
	w16 := model.ToBF16(w)
	gflops := func(b *testing.B) {
		b.ReportMetric(float64(2*rows*cols*T)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	}
	for _, k := range availableKernels() {
		b.Run(k.name+"/f32", func(b *testing.B) {
			for b.Loop() {
				k.matMat(out, rows, w, cols, x, cols, rows, cols, T, false)
			}
			gflops(b)
		})
		b.Run(k.name+"/bf16", func(b *testing.B) {
			for b.Loop() {
				k.matMatBF16(out, rows, w16, cols, x, cols, rows, cols, T, false)
			}
			gflops(b)
		})
	}
}
