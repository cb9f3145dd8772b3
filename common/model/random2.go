package model

import (
	"io"
	"math"
	"math/rand/v2"
)

// Shapes2 are the shapes of the state-spaces Mamba-2 models, for
// benchmarks with random weights: mamba_ssm's Mamba2 defaults (expand 2,
// head_dim 64, n_groups 1, d_state 128, d_conv 4), the GPT-NeoX-20B
// vocabulary and a tied head.
var Shapes2 = map[string]Config{
	"130m": Shape2Of(768, 24),
	"370m": Shape2Of(1024, 48),
	"780m": Shape2Of(1536, 48),
	"1.3b": Shape2Of(2048, 48),
	"2.7b": Shape2Of(2560, 64),
}

// Shape2Of is the config of a state-spaces Mamba-2 with this width and depth.
func Shape2Of(dModel, nLayers int) Config {
	return NewMamba2Config(nLayers, 50277, dModel, 2, 64, 1, 128, 4, true)
}

// encodeRandom2 is encodeRandom for a Mamba-2 config, in model.bin
// version 2's order.
func encodeRandom2(out io.Writer, c Config, seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, 0x6d616d6261))
	buf := make([]float32, 0, 1<<16)
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
	uniform := func(fanIn int) func(int) float32 {
		bound := 1 / math.Sqrt(float64(fanIn))
		return func(int) float32 { return float32((2*rng.Float64() - 1) * bound) }
	}
	constant := func(v float32) func(int) float32 { return func(int) float32 { return v } }
	d, di, h, cd, k, L := c.DModel, c.DInner, c.NHeads, c.ConvDim(), c.DConv, c.NLayers
	if err := WriteModelBinHeader(out, c); err != nil {
		return err
	}
	steps := []struct {
		n   int
		gen func(int) float32
	}{
		{c.PaddedVocab() * d, uniform(d)},                         // embedding
		{L * c.InProjRows() * d, uniform(d)},                      // in_proj
		{L * cd * k, uniform(k)},                                  // conv1d weight
		{L * cd, uniform(k)},                                      // conv1d bias
		{L * h, constant(-4.6)},                                   // dt_bias: softplus⁻¹(0.01)
		{L * h, func(i int) float32 { return -float32(i%h + 1) }}, // A = −(1..h)
		{L * h, constant(1)},                                      // D
		{L * di, constant(1)},                                     // gated_norm
		{L * d * di, uniform(di)},                                 // out_proj
		{L * d, constant(1)},                                      // norms
		{d, constant(1)},                                          // norm_f
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
