package model

import (
	"io"
	"math"
	"math/rand/v2"
)

// Shapes of the state-spaces models, for benchmarks with random weights.
// All use the GPT-NeoX-20B vocabulary, expand 2, d_state 16, d_conv 4,
// dt_rank ceil(d_model/16) and a tied head.
var Shapes = map[string]Config{
	"130m": ShapeOf(768, 24),
	"370m": ShapeOf(1024, 48),
	"790m": ShapeOf(1536, 48),
	"1.4b": ShapeOf(2048, 48),
	"2.8b": ShapeOf(2560, 64),
}

// ShapeOf is the config of a state-spaces Mamba with this width and depth.
func ShapeOf(dModel, nLayers int) Config {
	return Config{NLayers: nLayers, VocabSize: 50277, DModel: dModel, DInner: 2 * dModel,
		DtRank: (dModel + 15) / 16, DState: 16, DConv: 4, TiedHead: true}
}

// WriteRandomModelBin writes a model.bin of config c with random weights of
// a sensible scale (so activations stay finite over long runs), streaming
// them so that even the 10 GiB 2.8b shape never sits in memory. The same
// seed gives the same file. It is for benchmarks: the model says nothing.
func WriteRandomModelBin(path string, c Config, seed uint64) error {
	if err := c.Validate(); err != nil {
		return err
	}
	return WriteFileAtomic(path, func(out io.Writer) error { return encodeRandom(out, c, seed) })
}

func encodeRandom(out io.Writer, c Config, seed uint64) error {
	if c.Arch == Mamba2 {
		return encodeRandom2(out, c, seed)
	}
	rng := rand.New(rand.NewPCG(seed, 0x6d616d6261))
	buf := make([]float32, 0, 1<<16)
	// emit writes n values from gen, a chunk at a time.
	emit := func(n int, gen func(i int) float32) error {
		for i := 0; i < n; {
			buf = buf[:0]
			for ; i < n && len(buf) < cap(buf); i++ {
				buf = append(buf, gen(i))
			}
			if err := WriteFloat32s(out, buf); err != nil {
				return err
			}
		}
		return nil
	}
	// uniform in ±1/sqrt(fanIn), PyTorch's default Linear init.
	uniform := func(fanIn int) func(int) float32 {
		bound := 1 / math.Sqrt(float64(fanIn))
		return func(int) float32 { return float32((2*rng.Float64() - 1) * bound) }
	}
	constant := func(v float32) func(int) float32 { return func(int) float32 { return v } }
	d, di, r, n, k, L := c.DModel, c.DInner, c.DtRank, c.DState, c.DConv, c.NLayers
	if err := WriteModelBinHeader(out, c); err != nil {
		return err
	}
	steps := []struct {
		n   int
		gen func(int) float32
	}{
		{c.PaddedVocab() * d, uniform(d)},                              // embedding
		{L * 2 * di * d, uniform(d)},                                   // in_proj
		{L * di * k, uniform(k)},                                       // conv1d weight
		{L * di, uniform(k)},                                           // conv1d bias
		{L * (r + 2*n) * di, uniform(di)},                              // x_proj
		{L * di * r, uniform(r)},                                       // dt_proj weight
		{L * di, constant(-4.6)},                                       // dt_proj bias: softplus⁻¹(0.01)
		{L * di * n, func(i int) float32 { return -float32(i%n + 1) }}, // A = −(1..n)
		{L * di, constant(1)},                                          // D
		{L * d * di, uniform(di)},                                      // out_proj
		{L * d, constant(1)},                                           // norms
		{d, constant(1)},                                               // norm_f
	}
	if !c.TiedHead {
		steps = append(steps, struct {
			n   int
			gen func(int) float32
		}{c.PaddedVocab() * d, uniform(d)})
	}
	for _, s := range steps {
		if err := emit(s.n, s.gen); err != nil {
			return err
		}
	}
	return nil
}
