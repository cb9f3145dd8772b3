package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Benchmarks of the kernels at the 130m sizes, with each kernel set this
// CPU has, beside the plain loop of the learning functions they replace
// (written out here, since learning exports nothing but the model). The
// products report bytes of weights per op, so -bench prints GB/s.

// forEachKernelSet runs f as a sub-benchmark per kernel set this CPU has
// (avx512, avx2, go), with that set in use: the names say which ran.
func forEachKernelSet(b *testing.B, f func(b *testing.B)) {
	saved := kern
	defer func() { kern = saved }()
	for _, k := range availableKernels() {
		kern = k
		b.Run(k.name, f)
	}
}

func BenchmarkMatVec(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, sz := range []struct {
		name       string
		rows, cols int
	}{
		{"in_proj-1536x768-cached", 2 * bDi, bD}, // 4.7 MB: fits the 32 MB L3
		{"head-50280x768-dram", bV, bD},          // 154 MB: streams from memory
	} {
		w := randVec(rng, sz.rows*sz.cols)
		x := randVec(rng, sz.cols)
		out := make([]float32, sz.rows)
		b.Run(sz.name+"/fused", func(b *testing.B) {
			forEachKernelSet(b, func(b *testing.B) {
				b.SetBytes(int64(4 * len(w)))
				for b.Loop() {
					MatVec(out, F32(w), sz.cols, x, false)
				}
			})
		})
		b.Run(sz.name+"/plain", func(b *testing.B) {
			b.SetBytes(int64(4 * len(w)))
			for b.Loop() {
				plainMatVec(out, w, x)
			}
		})
		pk := packed(w, sz.cols)
		b.Run(sz.name+"/packed", func(b *testing.B) {
			forEachKernelSet(b, func(b *testing.B) {
				b.SetBytes(int64(4 * len(w))) // float32's bytes: packed streams 7/8 of them
				for b.Loop() {
					MatVec(out, Matrix{packed: pk}, sz.cols, x, false)
				}
			})
		})
	}
}

func BenchmarkScanGate(b *testing.B) {
	rng := rand.New(rand.NewPCG(2, 2))
	ssm := randVec(rng, bDi*bN)
	u, dt, D, z := randVec(rng, bDi), randVec(rng, bDi), randVec(rng, bDi), randVec(rng, bDi)
	A, B, C := randVec(rng, bDi*bN), randVec(rng, bN), randVec(rng, bN)
	for i := range A {
		A[i] = -float32(i%bN + 1)
		ssm[i] *= 1e-3
	}
	for i := range dt {
		dt[i] = 0.01
	}
	y := make([]float32, bDi)
	b.Run("fused", func(b *testing.B) {
		forEachKernelSet(b, func(b *testing.B) {
			for b.Loop() {
				Scan(y, ssm, u, dt, A, B, C, D, z, 0, bDi)
			}
		})
	})
	b.Run("plain", func(b *testing.B) { // selectiveScan, skipD, gate
		for b.Loop() {
			for c := range bDi {
				h, a := ssm[c*bN:(c+1)*bN], A[c*bN:(c+1)*bN]
				var sum float32
				for s := range bN {
					dA := float32(math.Exp(float64(dt[c] * a[s])))
					h[s] = dA*h[s] + dt[c]*B[s]*u[c]
					sum += C[s] * h[s]
				}
				y[c] = sum
			}
			for c := range y {
				y[c] += D[c] * u[c]
			}
			for c := range y {
				zc := z[c] / (1 + float32(math.Exp(float64(-z[c]))))
				y[c] *= zc
			}
		}
	})
}

// BenchmarkMatMat: the batched prompt's product, 256 rows of in_proj's
// width by a chunk of promptChunk tokens, in cache, in GFLOP/s.
func BenchmarkMatMat(b *testing.B) {
	rng := rand.New(rand.NewPCG(6, 6))
	rows, cols, T := 256, bD, promptChunk
	w, x, out := randVec(rng, rows*cols), randVec(rng, T*cols), make([]float32, T*rows)
	forEachKernelSet(b, func(b *testing.B) {
		for b.Loop() {
			kern.matMat(out, rows, w, cols, x, cols, rows, cols, T, false)
		}
		b.ReportMetric(float64(2*rows*cols*T)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
}
