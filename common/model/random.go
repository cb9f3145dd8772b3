package model

import (
	"io"
	"math"
	"math/rand/v2"

	"mamba.go/common/atomicfile"
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

// ShapesFalcon are the Falcon-Mamba shapes (falcon.go), for benchmarks
// with random weights: tiiuae/falcon-mamba-7b's config (its own 65024-token
// vocabulary, an untied head, mixer_rms_eps 1e-6).
var ShapesFalcon = map[string]Config{
	"falcon-mamba-7b": NewFalconConfig(64, 65024, 4096, 8192, 256, 16, 4, false, DefaultMixerEps),
}

// ShapeOf is the config of a state-spaces Mamba with this width and depth.
func ShapeOf(dModel, nLayers int) Config {
	return Config{NLayers: nLayers, VocabSize: 50277, DModel: dModel, DInner: 2 * dModel,
		DtRank: (dModel + 15) / 16, DState: 16, DConv: 4, TiedHead: true}
}

// WriteRandomModelBin writes a model.bin of config c with random weights of
// a sensible scale (so activations stay finite over long runs), streaming
// them so that even the 10 GiB 2.8b shape never sits in memory. The same
// seed gives the same file, the one EncodeModelBin(RandomWeights(c, seed))
// writes. It is for benchmarks and tests: the model says nothing.
func WriteRandomModelBin(path string, c Config, seed uint64) error {
	if err := c.Validate(); err != nil {
		return err
	}
	return atomicfile.Write(path, func(out io.Writer) error {
		if err := WriteModelBinHeader(out, c); err != nil {
			return err
		}
		buf := make([]float32, 1<<16)
		return randomTensors(c, seed, func(_ string, _, n int, gen func(i int) float32) error {
			// Write n values from gen a chunk at a time.
			for i := 0; i < n; {
				chunk := buf[:min(n-i, len(buf))]
				for j := range chunk {
					chunk[j] = gen(i + j)
				}
				if err := WriteFloat32s(out, chunk); err != nil {
					return err
				}
				i += len(chunk)
			}
			return nil
		})
	})
}

// RandomWeights is the model WriteRandomModelBin writes, in memory: for
// tests of small shapes.
func RandomWeights(c Config, seed uint64) (*Weights, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	w := NewWeights(c)
	index := layerTensorIndex(c)
	err := randomTensors(c, seed, func(name string, layer, n int, gen func(i int) float32) error {
		var dst []float32
		switch {
		case layer >= 0:
			dst = *w.Layers[layer].Tensors(c)[index[name]].Data
		case name == "embedding":
			dst = w.Embedding
		case name == "norm_f":
			dst = w.NormF
		case name == "lm_head":
			dst = w.LMHead
		}
		for i := range dst[:n] {
			dst[i] = gen(i)
		}
		return nil
	})
	return w, err
}

// RandomTensors draws the tensors of RandomWeights(c, seed) one at a time,
// for writers of other formats that stream them (a checkpoint folder):
// put gets each tensor's name (Layer.Tensors' names, "embedding", "norm_f",
// "lm_head"), its layer (-1 for the embedding, norm_f and lm_head), its
// length and the generator of its values, to be called for i = 0..n-1 in
// order (the values are RandomWeights' only when every put does so; a put
// that calls none just lists the tensors). The order is model.bin's.
func RandomTensors(c Config, seed uint64, put func(name string, layer, n int, gen func(i int) float32) error) error {
	if err := c.Validate(); err != nil {
		return err
	}
	return randomTensors(c, seed, put)
}

// layerTensorIndex is the position of each of Layer.Tensors(c), by name.
func layerTensorIndex(c Config) map[string]int {
	m := map[string]int{}
	for i, t := range (&Layer{}).Tensors(c) {
		m[t.Name] = i
	}
	return m
}

// randomTensors draws every tensor of a random model of config c, in
// model.bin order, and hands each to put with its name, its layer (-1 for
// the embedding, norm_f and lm_head), its length and the generator of its
// values (called for i = 0..n-1 in order).
func randomTensors(c Config, seed uint64, put func(name string, layer, n int, gen func(i int) float32) error) error {
	rng := rand.New(rand.NewPCG(seed, 0x6d616d6261))
	// uniform in ±1/sqrt(fanIn), PyTorch's default Linear init.
	uniform := func(fanIn int) func(int) float32 {
		bound := 1 / math.Sqrt(float64(fanIn))
		return func(int) float32 { return float32((2*rng.Float64() - 1) * bound) }
	}
	constant := func(v float32) func(int) float32 { return func(int) float32 { return v } }
	d, di, r, n, k := c.DModel, c.DInner, c.DtRank, c.DState, c.DConv
	init := map[string]func(int) float32{
		"in_proj":        uniform(d),
		"conv1d.weight":  uniform(k),
		"conv1d.bias":    uniform(k),
		"x_proj":         uniform(di),
		"dt_proj.weight": uniform(r),
		"dt_proj.bias":   constant(-4.6),                                   // softplus⁻¹(0.01)
		"A":              func(i int) float32 { return -float32(i%n + 1) }, // A = −(1..n) in each channel
		"D":              constant(1),
		"out_proj":       uniform(di),
		"norm":           constant(1),
	}
	if c.Arch == Mamba2 {
		h := c.NHeads
		init["dt_bias"] = constant(-4.6)                             // softplus⁻¹(0.01)
		init["A"] = func(i int) float32 { return -float32(i%h + 1) } // A = −(1..n_heads)
		init["gated_norm"] = constant(1)
	}
	if err := put("embedding", -1, c.PaddedVocab()*d, uniform(d)); err != nil {
		return err
	}
	for _, t := range (&Layer{}).Tensors(c) {
		for layer := range c.NLayers {
			if err := put(t.Name, layer, t.Len(), init[t.Name]); err != nil {
				return err
			}
		}
	}
	if err := put("norm_f", -1, d, constant(1)); err != nil {
		return err
	}
	if !c.TiedHead {
		return put("lm_head", -1, c.PaddedVocab()*d, uniform(d))
	}
	return nil
}
