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
	"mamba.go/fused/internal/kernels"
)

// Benchmarks. Whole steps: fused's Forward on the 130m-shaped random model
// that `make bench` caches (.cache/bench/130m.bin; set MAMBA_BENCH_MODEL
// to use another). Phase functions: each at the 130m sizes, beside the
// plain loop of the learning functions it replaces (written out here,
// since learning exports nothing but the model). The products and scan
// alone are benchmarked in internal/kernels.

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
	b.Run(kernels.Name()+"-unpacked", run(Options{Unpacked: true}))
	b.Run(kernels.Name()+"-smallpages", run(Options{SmallPages: true}))
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
		if kernels.Name() == "go" {
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
	b.Run(kernels.Name()+"-unpacked", func(b *testing.B) {
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
	b.Run(kernels.Name()+"-token-by-token", func(b *testing.B) {
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

// The 130m sizes: d 768, di 1536, r 48, n 16, V 50280.
const (
	bD, bDi, bR, bN, bV = 768, 1536, 48, 16, 50280
)

// BenchmarkMatVecAllWorkers: the float32 product split by rows between
// every worker of a pool, as a step runs it, in GB/s of weights.
func BenchmarkMatVecAllWorkers(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, sz := range []struct {
		name       string
		rows, cols int
	}{
		{"in_proj-1536x768-cached", 2 * bDi, bD}, // 4.7 MB: fits the 32 MB L3
		{"head-50280x768-dram", bV, bD},          // 154 MB: streams from memory
	} {
		w := kernels.F32(randVec(rng, sz.rows*sz.cols))
		x := randVec(rng, sz.cols)
		out := make([]float32, sz.rows)
		b.Run(sz.name, func(b *testing.B) {
			p := newPool(maxWorkers())
			defer p.close()
			fn := func(wk int) {
				lo, hi := split(sz.rows, p.n, wk)
				kernels.MatVec(out[lo:hi], w.Part(lo*sz.cols, hi*sz.cols), sz.cols, x, false)
			}
			b.SetBytes(int64(4 * sz.rows * sz.cols))
			for b.Loop() {
				p.run(fn)
			}
		})
	}
}

func maxWorkers() int { return max(1, runtime.GOMAXPROCS(0)) }

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
				dtProjSoftplus(dt, kernels.F32(dtW), dtLow, bias, 0, bDi)
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
			p.sync(kernels.Matrix{})
		}
	}
	for b.Loop() {
		p.run(fn)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rounds), "ns/sync")
}
