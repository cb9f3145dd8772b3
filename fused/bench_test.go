package fused

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"mamba.go/common/model"
	"mamba.go/common/refcase"
)

// Benchmarks. Whole steps: fused and learning's Forward on the 130m-shaped
// random model that `make bench` caches (.cache/bench/130m.bin; set
// MAMBA_BENCH_MODEL to use another). Kernels: each fused kernel at the
// 130m sizes, beside the plain loop of the learning functions it replaces
// (written out here, since learning exports nothing but the model). The
// products report bytes of weights per op, so -bench prints GB/s.

func benchWeights(b *testing.B) *model.Weights {
	path := os.Getenv("MAMBA_BENCH_MODEL")
	if path == "" {
		if root := refcase.RepoRoot(); root != "" {
			path = filepath.Join(root, ".cache", "bench", "130m.bin")
		}
	}
	if _, err := os.Stat(path); err != nil {
		b.Skip("no benchmark model: run `make bench` once, or set MAMBA_BENCH_MODEL")
	}
	w, err := model.LoadModelBin(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { w.Close() })
	return w
}

func weightBytes(c model.Config) int64 {
	per := int64(2*c.DInner*c.DModel + c.XProjRows()*c.DInner + c.DInner*c.DtRank + c.DModel*c.DInner)
	return 4 * (int64(c.NLayers)*per + int64(c.PaddedVocab()*c.DModel))
}

func benchForward(b *testing.B, m model.Mamba) {
	tok := 0
	b.SetBytes(weightBytes(m.Config()))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Forward(tok); err != nil {
			b.Fatal(err)
		}
		tok = (tok + 1) % 1000
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tok/s")
}

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

// BenchmarkForward: one token's step, with each kernel set, the products
// packed (packed.go) in 2 MB pages; and, for the fastest set, float32 in 2
// MB pages (-unpacked) and packed in 4 KB pages (-smallpages). MB/s counts
// float32's bytes: packed steps stream 7/8 of them.
func BenchmarkForward(b *testing.B) {
	w := benchWeights(b)
	run := func(opt Options) func(b *testing.B) {
		return func(b *testing.B) {
			m, err := NewOptions(w, opt)
			if err != nil {
				b.Fatal(err)
			}
			defer m.Close()
			benchForward(b, m)
		}
	}
	forEachKernelSet(b, run(Options{}))
	b.Run(kern.name+"-unpacked", run(Options{Unpacked: true}))
	b.Run(kern.name+"-smallpages", run(Options{SmallPages: true}))
}

// packedAndFloat32 are the benchmark model with its products packed and
// kept float32, closed when b ends.
func packedAndFloat32(b *testing.B) (packed, float32s *Mamba) {
	w := benchWeights(b)
	var err error
	if packed, err = New(w); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { packed.Close() })
	if float32s, err = NewOptions(w, Options{Unpacked: true}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { float32s.Close() })
	return packed, float32s
}

// BenchmarkForwardPacked: packed and float32 products side by side, token
// by token in turn in one process, so that the machine's bandwidth, which
// moves from minute to minute, moves under both alike: reports each one's
// tok/s and packed's speed-up.
func BenchmarkForwardPacked(b *testing.B) {
	pk, f32 := packedAndFloat32(b)
	var tPacked, tF32 time.Duration
	tok := 0
	for b.Loop() {
		for i, m := range []*Mamba{pk, f32} {
			start := time.Now()
			if _, err := m.Forward(tok); err != nil {
				b.Fatal(err)
			}
			if i == 0 {
				tPacked += time.Since(start)
			} else {
				tF32 += time.Since(start)
			}
		}
		tok = (tok + 1) % 1000
	}
	b.ReportMetric(float64(b.N)/tPacked.Seconds(), "packed-tok/s")
	b.ReportMetric(float64(b.N)/tF32.Seconds(), "float32-tok/s")
	b.ReportMetric(tF32.Seconds()/tPacked.Seconds(), "speed-up")
}

// BenchmarkPhasesPacked: BenchmarkPhases' profile of packed and float32
// products side by side, the two models stepping in turn.
func BenchmarkPhasesPacked(b *testing.B) {
	pk, f32 := packedAndFloat32(b)
	tPacked, tF32 := timePhases(pk), timePhases(f32)
	tok := 0
	for b.Loop() {
		for _, m := range []*Mamba{pk, f32} {
			if _, err := m.Forward(tok); err != nil {
				b.Fatal(err)
			}
		}
		tok = (tok + 1) % 1000
	}
	reportPhases(b, tPacked, "-packed")
	reportPhases(b, tF32, "-float32")
}

// BenchmarkPrompt: a 512-token prompt through ForwardPrompt (batched) with
// each assembly kernel set (the Go set takes a minute a prompt), with the
// fastest set on float32 products (-unpacked), and through Forward token
// by token, tok/s of the prompt.
func BenchmarkPrompt(b *testing.B) {
	w := benchWeights(b)
	m, err := New(w)
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	tokens := make([]int, 512)
	for i := range tokens {
		tokens[i] = (i*7919 + 13) % w.Config.VocabSize
	}
	forEachKernelSet(b, func(b *testing.B) {
		if kern.name == "go" {
			b.Skip("the Go kernels: a minute a prompt")
		}
		b.ReportAllocs()
		for b.Loop() {
			m.Reset()
			if _, err := m.ForwardPrompt(tokens); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*len(tokens))/b.Elapsed().Seconds(), "tok/s")
	})
	b.Run(kern.name+"-unpacked", func(b *testing.B) {
		f32, err := NewOptions(w, Options{Unpacked: true})
		if err != nil {
			b.Fatal(err)
		}
		defer f32.Close()
		for b.Loop() {
			f32.Reset()
			if _, err := f32.ForwardPrompt(tokens); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*len(tokens))/b.Elapsed().Seconds(), "tok/s")
	})
	b.Run(kern.name+"-token-by-token", func(b *testing.B) {
		for b.Loop() {
			m.Reset()
			for _, tok := range tokens {
				if _, err := m.Forward(tok); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(b.N*len(tokens))/b.Elapsed().Seconds(), "tok/s")
	})
}

// plainMatVec is learning's matVec.
func plainMatVec(out, w, x []float32) {
	cols := len(x)
	for i := range out {
		row := w[i*cols : (i+1)*cols]
		var sum float32
		for j, v := range row {
			sum += v * x[j]
		}
		out[i] = sum
	}
}

// The 130m sizes: d 768, di 1536, r 48, n 16, V 50280.
const (
	bD, bDi, bR, bN, bV = 768, 1536, 48, 16, 50280
)

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
					matVec(out, matrix{f32: w}, sz.cols, x)
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
					matVec(out, matrix{packed: pk}, sz.cols, x)
				}
			})
		})
		for _, m := range []matrix{{f32: w}, {packed: pk}} {
			name := "/fused-all-workers"
			if m.packed.m != nil {
				name = "/packed-all-workers"
			}
			b.Run(sz.name+name, func(b *testing.B) {
				p := newPool(maxWorkers())
				defer p.close()
				fn := func(wk int) {
					lo, hi := split(sz.rows, p.n, wk)
					matVec(out[lo:hi], m.part(lo*sz.cols, hi*sz.cols), sz.cols, x)
				}
				b.SetBytes(int64(4 * len(w)))
				for b.Loop() {
					p.run(fn)
				}
			})
		}
	}
}

func maxWorkers() int { return max(1, runtime.GOMAXPROCS(0)) }

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
				scanSkipGate(y, ssm, u, dt, A, B, C, D, z, 0, bDi)
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

func BenchmarkConvSiLU(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 3))
	k := 4
	conv, x, w, bias := randVec(rng, bDi*k), randVec(rng, bDi), randVec(rng, bDi*k), randVec(rng, bDi)
	u := make([]float32, bDi)
	b.Run("fused", func(b *testing.B) {
		for b.Loop() {
			convSiLU(u, conv, x, w, bias, k, 0, bDi)
		}
	})
	b.Run("plain", func(b *testing.B) { // shiftAndAppend, depthwiseConv, silu
		for b.Loop() {
			for c := range x {
				win := conv[c*k : (c+1)*k]
				copy(win, win[1:])
				win[k-1] = x[c]
			}
			for c := range u {
				sum := bias[c]
				for j := 0; j < k; j++ {
					sum += conv[c*k+j] * w[c*k+j]
				}
				u[c] = sum
			}
			for i, v := range u {
				u[i] = v / (1 + float32(math.Exp(float64(-v))))
			}
		}
	})
}

func BenchmarkDtSoftplus(b *testing.B) {
	rng := rand.New(rand.NewPCG(4, 4))
	dtW, dtLow, bias := randVec(rng, bDi*bR), randVec(rng, bR), randVec(rng, bDi)
	dt := make([]float32, bDi)
	b.Run("fused", func(b *testing.B) {
		forEachKernelSet(b, func(b *testing.B) {
			for b.Loop() {
				dtProjSoftplus(dt, matrix{f32: dtW}, dtLow, bias, 0, bDi)
			}
		})
	})
	b.Run("plain", func(b *testing.B) { // matVec, addBias, softplus
		for b.Loop() {
			plainMatVec(dt, dtW, dtLow)
			for i := range dt {
				dt[i] += bias[i]
			}
			for i, v := range dt {
				if v <= 20 {
					dt[i] = float32(math.Log1p(math.Exp(float64(v))))
				}
			}
		}
	})
}

func BenchmarkRMSNorm(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 5))
	h, g := randVec(rng, bD), randVec(rng, bD)
	normed := make([]float32, bD)
	for b.Loop() {
		rmsNorm(normed, h, g)
	}
}

// BenchmarkBarrier is the cost of one phase boundary with every worker.
func BenchmarkBarrier(b *testing.B) {
	p := newPool(maxWorkers())
	defer p.close()
	const rounds = 1000
	fn := func(int) {
		for range rounds {
			p.sync(matrix{})
		}
	}
	for b.Loop() {
		p.run(fn)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rounds), "ns/sync")
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
