package main

import (
	"os"
	"path/filepath"
	"testing"

	"mamba.go/common/model"
	"mamba.go/common/refcase"
	"mamba.go/fused"
	"mamba.go/learning"
)

// BenchmarkForward: one token's step of learning and of fused (its
// defaults) side by side in one run, on the 130m-shaped random model that
// `make bench` caches (.cache/bench/130m.bin; MAMBA_BENCH_MODEL names
// another). fused's own benchmarks split its step by kernel set and format.
func BenchmarkForward(b *testing.B) {
	path := os.Getenv("MAMBA_BENCH_MODEL")
	if path == "" {
		path = filepath.Join(refcase.RepoRoot(), ".cache", "bench", "130m.bin")
	}
	if _, err := os.Stat(path); err != nil {
		b.Skip("no benchmark model: run `make bench` once, or set MAMBA_BENCH_MODEL")
	}
	w, err := model.LoadModelBin(path)
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	for _, impl := range []struct {
		name string
		open model.New
	}{
		{"learning", func(w *model.Weights) (model.Mamba, error) { return learning.New(w) }},
		{"fused", func(w *model.Weights) (model.Mamba, error) { return fused.New(w) }},
	} {
		b.Run(impl.name, func(b *testing.B) {
			m, err := impl.open(w)
			if err != nil {
				b.Fatal(err)
			}
			defer m.Close()
			tok := 0
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.Forward(tok); err != nil {
					b.Fatal(err)
				}
				tok = (tok + 1) % 1000
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tok/s")
		})
	}
}
