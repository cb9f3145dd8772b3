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

func TestAgainstLearning(t *testing.T) {
	for name, c := range gpuShapes {
		t.Run(name, func(t *testing.T) {
			w := randomWeights(t, c, 7)
			ref, err := learning.New(w)
			require.NoError(t, err)
			m, err := New(w)
			require.NoError(t, err)
			defer m.Close()
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
		})
	}
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
