//go:build cuda

package cuda

// Tests that need a GPU: the CUDA implementation held to model.Mamba's
// contract (common/model/modeltest) and against learning on random models
// of awkward shapes, on both launch paths, with decoding on the device and
// the tracer. Built here with
//
//	make cuda   (bin/cuda.test, among others)
//
// and run on the GPU machine by cuda/gpu-check.sh: bin/cuda.test -test.v.
// On a machine without a GPU the binary stops at once with the precheck's
// one-line error (precheck.go).

import (
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mamba.go/common/generate"
	"mamba.go/common/model"
	"mamba.go/common/model/modeltest"
	"mamba.go/common/sample"
	"mamba.go/learning"
)

// gpuTol is compare's DefaultTol: logits within 1e-5 of the largest |logit|.
const gpuTol = 1e-5

// gpuShapes exercise every path of the kernels: float4 and scalar rows
// (widths that are and are not multiples of 4), dt_rank and d_state below,
// at and above a warp's 32 lanes, tied and untied heads, a vocabulary that
// is not a multiple of 8.
var gpuShapes = map[string]model.Config{
	"d48-r3-tied":      {NLayers: 2, VocabSize: 1000, DModel: 48, DInner: 96, DtRank: 3, DState: 16, DConv: 4, TiedHead: true},
	"d64-r5-untied":    {NLayers: 3, VocabSize: 1001, DModel: 64, DInner: 128, DtRank: 5, DState: 16, DConv: 4},
	"odd-everything":   {NLayers: 2, VocabSize: 77, DModel: 13, DInner: 27, DtRank: 1, DState: 5, DConv: 3},
	"wide-state":       {NLayers: 2, VocabSize: 300, DModel: 80, DInner: 160, DtRank: 40, DState: 48, DConv: 4, TiedHead: true},
	"k1-n1":            {NLayers: 1, VocabSize: 9, DModel: 4, DInner: 8, DtRank: 1, DState: 1, DConv: 1},
	"long-rows-d1000":  {NLayers: 1, VocabSize: 2000, DModel: 1000, DInner: 2000, DtRank: 63, DState: 16, DConv: 4, TiedHead: true},
	"scalar-d1001-r33": {NLayers: 1, VocabSize: 513, DModel: 1001, DInner: 2002, DtRank: 33, DState: 16, DConv: 4},
}

func randomWeights(t *testing.T, c model.Config, seed uint64) *model.Weights {
	t.Helper()
	path := filepath.Join(t.TempDir(), "model.bin")
	require.NoError(t, model.WriteRandomModelBin(path, c, seed))
	w, err := model.LoadModelBin(path)
	require.NoError(t, err)
	t.Cleanup(func() { w.Close() })
	return w
}

// Both ways of launching a step: replaying its CUDA graph, and kernel by
// kernel.
var gpuPaths = map[string]bool{"graph": true, "plain": false}

// newCUDA makes the model on one launch path.
func newCUDA(graphs bool) model.New {
	return func(w *model.Weights) (model.Mamba, error) {
		m, err := New(w)
		if err == nil {
			m.SetGraphs(graphs)
		}
		return m, err
	}
}

func newLearning(w *model.Weights) (model.Mamba, error) { return learning.New(w) }

func TestConformance(t *testing.T) {
	for path, graphs := range gpuPaths {
		t.Run(path, func(t *testing.T) { modeltest.Run(t, newCUDA(graphs), newLearning) })
	}
}

// Logits and the final state against learning's on gpuShapes and
// modeltest.FalconShapes (bcdt_norm's launch), on both paths.
func TestAgainstLearning(t *testing.T) {
	var shapes []modeltest.Shape
	for name, c := range gpuShapes {
		shapes = append(shapes, modeltest.Shape{Name: name, Config: c})
	}
	shapes = append(shapes, modeltest.FalconShapes...)
	for path, graphs := range gpuPaths {
		t.Run(path, func(t *testing.T) { modeltest.Agree(t, newCUDA(graphs), newLearning, shapes) })
	}
}

// Greedy and sampled decoding on the device, both paths: a prompt fed
// without the head (Feed), then tokens that the device chooses and feeds
// itself (ForwardArgmax, ForwardSample), against sample.Argmax and
// sample.Sampler on the logits of a second model fed the same tokens.
func TestDecodingOnTheDevice(t *testing.T) {
	c := gpuShapes["d64-r5-untied"]
	w := randomWeights(t, c, 13)
	for path, graphs := range gpuPaths {
		t.Run(path, func(t *testing.T) {
			ref, err := New(w)
			require.NoError(t, err)
			defer ref.Close()
			m, err := New(w)
			require.NoError(t, err)
			defer m.Close()
			m.SetGraphs(graphs)
			prompt := []int{3, 1, 4, 1, 5}
			for _, tok := range prompt[:len(prompt)-1] {
				require.NoError(t, m.Feed(tok))
				_, err := ref.Forward(tok)
				require.NoError(t, err)
			}
			tok := prompt[len(prompt)-1]
			for i := 0; i < 6; i++ {
				logits, err := ref.Forward(tok)
				require.NoError(t, err)
				next, err := m.ForwardArgmax(tok)
				require.NoError(t, err)
				assert.Equal(t, sample.Argmax(logits[:c.VocabSize]), next, "greedy token %d", i)
				tok = next
			}
			for i, tp := range [][2]float32{{1, 0.9}, {0.8, 1}, {1.2, 0.5}, {1, 0.9}, {1, 1}} {
				seed := uint64(100 + i)
				cpu, dev := sample.New(c.VocabSize, tp[0], tp[1], seed), sample.New(c.VocabSize, tp[0], tp[1], seed)
				logits, err := ref.Forward(tok)
				require.NoError(t, err)
				next, err := m.ForwardSample(tok, dev)
				require.NoError(t, err)
				want, err := cpu.Sample(logits)
				require.NoError(t, err)
				assert.Equal(t, want, next, "sampled token %d (T %g, p %g)", i, tp[0], tp[1])
				tok = next
			}
			rs, err := ref.State()
			require.NoError(t, err)
			ms, err := m.State()
			require.NoError(t, err)
			assert.LessOrEqual(t, modeltest.MaxAbsDiff(ms.SSM, rs.SSM), gpuTol*math.Max(1, modeltest.MaxAbs(rs.SSM)), "ssm state")
		})
	}
}

// A NaN in norm_f makes every logit NaN: the device's argmax and sampler
// choose nothing, and ForwardArgmax, ForwardSample and Generate fail as
// sampling on the CPU fails (a *sample.NonFiniteError of token 0), instead
// of choosing token 0, the stop token, on both paths.
func TestNonFiniteLogitIsAnError(t *testing.T) {
	c := gpuShapes["d48-r3-tied"]
	w := randomWeights(t, c, 19)
	bad := *w // the same weights but for norm_f (the mapping is read-only)
	bad.NormF = append([]float32(nil), w.NormF...)
	bad.NormF[1] = float32(math.NaN())
	assertNaN0 := func(t *testing.T, err error) {
		t.Helper()
		var nf *sample.NonFiniteError
		if assert.ErrorAs(t, err, &nf) {
			assert.Equal(t, 0, nf.ID)
			assert.True(t, math.IsNaN(float64(nf.Value)), "value %v", nf.Value)
		}
	}
	for path, graphs := range gpuPaths {
		t.Run(path, func(t *testing.T) {
			m, err := New(&bad)
			require.NoError(t, err)
			defer m.Close()
			m.SetGraphs(graphs)
			for i := 0; i < 2; i++ { // a second step too: the refusal is not fed as a token
				_, err = m.ForwardArgmax(2)
				assertNaN0(t, err)
			}
			for _, tp := range [][2]float32{{1, 0.9}, {0.8, 1}} {
				_, err = m.ForwardSample(2, sample.New(c.VocabSize, tp[0], tp[1], 7))
				assertNaN0(t, err)
			}
			for _, temp := range []float32{0, 1} {
				require.NoError(t, m.Reset())
				var out []int
				_, err = generate.Generate(m, []int{3, 1, 4}, sample.New(c.VocabSize, temp, 0.9, 7),
					generate.Options{Steps: 5, StopToken: 0}, func(id int) error { out = append(out, id); return nil })
				assertNaN0(t, err)
				assert.ErrorContains(t, err, "sampling after token position 2: ")
				assert.Empty(t, out)
			}
		})
	}
}

// The tracer sees every phase end cuda keeps, in order, with the right
// lengths (Falcon-Mamba's bcdt_norm after x_proj), and what it changes is
// what the following kernels read.
func TestTracer(t *testing.T) {
	for _, c := range []model.Config{gpuShapes["d48-r3-tied"], modeltest.FalconShapes[0].Config} {
		t.Run(c.Arch.String(), func(t *testing.T) { testTracer(t, c) })
	}
}

func testTracer(t *testing.T, c model.Config) {
	w := randomWeights(t, c, 17)
	m, err := New(w)
	require.NoError(t, err)
	defer m.Close()
	clean, err := m.Forward(2)
	require.NoError(t, err)
	clean = append([]float32(nil), clean...)
	require.NoError(t, m.Reset())

	var seen []string
	m.SetTracer(model.TracerFunc(func(pos, layer int, op model.Op, v []float32) {
		seen = append(seen, fmt.Sprintf("%d/%d/%s/%d", pos, layer, op, len(v)))
		if layer == 1 && op == model.OpGate {
			for i := range v {
				v[i] = 0 // plant a bug: layer 1's mixer outputs nothing
			}
		}
	}))
	traced, err := m.Forward(2)
	require.NoError(t, err)
	d, di, xr, vp := c.DModel, c.DInner, c.DtRank+2*c.DState, c.PaddedVocab()
	var want []string
	for l := 0; l < c.NLayers; l++ {
		if l == 0 {
			want = append(want, fmt.Sprintf("0/-1/embedding/%d", d))
		}
		want = append(want, fmt.Sprintf("0/%d/silu/%d", l, di), fmt.Sprintf("0/%d/x_proj/%d", l, xr))
		if c.Arch == model.FalconMamba {
			want = append(want, fmt.Sprintf("0/%d/bcdt_norm/%d", l, xr))
		}
		want = append(want, fmt.Sprintf("0/%d/gate/%d", l, di), fmt.Sprintf("0/%d/residual/%d", l, d))
	}
	want = append(want, fmt.Sprintf("0/-1/lm_head/%d", vp))
	assert.Equal(t, want, seen)
	assert.NotEqual(t, clean, traced, "the planted change reached the logits")
}

// cuda decodes on the device through generate's optional interfaces.
var (
	_ generate.SampleForwarder = (*Mamba)(nil)
	_ generate.Feeder          = (*Mamba)(nil)
)
