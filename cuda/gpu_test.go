//go:build cuda

package cuda

// Tests that need a GPU: the CUDA implementation against learning on
// random models of awkward shapes. Built here with
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

var gpuTokens = []int{0, 5, 3, 7, 1, 2, 8, 4, 6, 5, 5, 0}

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

func TestAgainstLearning(t *testing.T) {
	for name, c := range gpuShapes {
		for path, graphs := range gpuPaths {
			t.Run(name+"-"+path, func(t *testing.T) { againstLearning(t, c, graphs) })
		}
	}
}

func againstLearning(t *testing.T, c model.Config, graphs bool) {
	{
		{
			w := randomWeights(t, c, 7)
			ref, err := learning.New(w)
			require.NoError(t, err)
			m, err := New(w)
			require.NoError(t, err)
			defer m.Close()
			m.SetGraphs(graphs)
			t.Logf("%s on %s, plan %+v", c, m.Device(), m.plan)

			var worst float64
			var logits [][]float32
			for i, tok := range gpuTokens {
				want, err := ref.Forward(tok)
				require.NoError(t, err)
				got, err := m.Forward(tok)
				require.NoError(t, err)
				require.Len(t, got, c.PaddedVocab())
				rel := maxAbsDiff(got, want) / maxAbs(want)
				worst = math.Max(worst, rel)
				assert.LessOrEqual(t, rel, gpuTol, "token %d: logits off by %.3g relative", i, rel)
				logits = append(logits, append([]float32(nil), got...))
			}
			t.Logf("worst relative logit error %.3g", worst)

			// The state matches learning's.
			rs, gs := ref.State(), m.State()
			assert.LessOrEqual(t, maxAbsDiff(gs.Conv, rs.Conv), gpuTol*math.Max(1, maxAbs(rs.Conv)), "conv state")
			assert.LessOrEqual(t, maxAbsDiff(gs.SSM, rs.SSM), gpuTol*math.Max(1, maxAbs(rs.SSM)), "ssm state")

			// Reset, and the same tokens give the same logits bit for bit.
			m.Reset()
			for i, tok := range gpuTokens {
				got, err := m.Forward(tok)
				require.NoError(t, err)
				assert.Equal(t, logits[i], got, "after Reset, token %d", i)
			}
		}
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
				assert.Equal(t, cpu.Sample(logits), next, "sampled token %d (T %g, p %g)", i, tp[0], tp[1])
				tok = next
			}
			rs, err := ref.StateErr()
			require.NoError(t, err)
			ms, err := m.StateErr()
			require.NoError(t, err)
			assert.LessOrEqual(t, maxAbsDiff(ms.SSM, rs.SSM), gpuTol*math.Max(1, maxAbs(rs.SSM)), "ssm state")
		})
	}
}

// The tracer sees every phase end cuda keeps, in order, with the right
// lengths, and what it changes is what the following kernels read.
func TestTracer(t *testing.T) {
	c := gpuShapes["d48-r3-tied"]
	w := randomWeights(t, c, 17)
	m, err := New(w)
	require.NoError(t, err)
	defer m.Close()
	clean, err := m.Forward(2)
	require.NoError(t, err)
	clean = append([]float32(nil), clean...)
	m.Reset()

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
		want = append(want, fmt.Sprintf("0/%d/silu/%d", l, di), fmt.Sprintf("0/%d/x_proj/%d", l, xr),
			fmt.Sprintf("0/%d/gate/%d", l, di), fmt.Sprintf("0/%d/residual/%d", l, d))
	}
	want = append(want, fmt.Sprintf("0/-1/lm_head/%d", vp))
	assert.Equal(t, want, seen)
	assert.NotEqual(t, clean, traced, "the planted change reached the logits")
}

// ForwardArgmax picks what sample.Argmax picks from Forward's logits, and a
// state copied into a fresh model continues bit for bit.
func TestArgmaxAndStateRestore(t *testing.T) {
	c := gpuShapes["d64-r5-untied"]
	w := randomWeights(t, c, 11)
	a, err := New(w)
	require.NoError(t, err)
	defer a.Close()
	b, err := New(w)
	require.NoError(t, err)
	defer b.Close()

	half := len(gpuTokens) / 2
	for i, tok := range gpuTokens {
		logits, err := a.Forward(tok)
		require.NoError(t, err)
		best, err := b.ForwardArgmax(tok)
		require.NoError(t, err)
		assert.Equal(t, sample.Argmax(logits[:c.VocabSize]), best, "token %d", i)
		if i+1 == half {
			s, err := a.StateErr()
			require.NoError(t, err)
			fresh, err := New(w)
			require.NoError(t, err)
			require.NoError(t, fresh.SetState(s))
			for j := half; j < len(gpuTokens); j++ {
				want, err := a.Forward(gpuTokens[j])
				require.NoError(t, err)
				want = append([]float32(nil), want...)
				got, err := fresh.Forward(gpuTokens[j])
				require.NoError(t, err)
				assert.Equal(t, want, got, "restored state, token %d", j)
			}
			require.NoError(t, fresh.Close())
			require.NoError(t, a.SetState(s)) // back to half-way for the rest of the loop
		}
	}
	var _ generate.ArgmaxForwarder = a
	var _ generate.SampleForwarder = a
	var _ generate.Feeder = a
}

func TestBadInputAndClose(t *testing.T) {
	c := gpuShapes["k1-n1"]
	w := randomWeights(t, c, 3)
	m, err := New(w)
	require.NoError(t, err)
	_, err = m.Forward(c.VocabSize)
	assert.Error(t, err)
	_, err = m.ForwardArgmax(-1)
	assert.Error(t, err)
	other := model.NewState(gpuShapes["odd-everything"])
	assert.Error(t, m.SetState(other))
	require.NoError(t, m.Close())
	require.NoError(t, m.Close(), "Close twice")
	_, err = m.Forward(0)
	assert.ErrorIs(t, err, errClosed)
}
