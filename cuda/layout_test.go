package cuda

import (
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mamba.go/common/model"
)

// testWeights are zero weights of config c, with the head tied as c says.
func testWeights(c model.Config) *model.Weights {
	f := func(n int) []float32 { return make([]float32, n) }
	d, di, r, n, k, v := c.DModel, c.DInner, c.DtRank, c.DState, c.DConv, c.PaddedVocab()
	w := &model.Weights{Config: c, Embedding: f(v * d), NormF: f(d), Layers: make([]model.Layer, c.NLayers)}
	for l := range w.Layers {
		w.Layers[l] = model.Layer{Norm: f(d), InProj: f(2 * di * d), Conv1dWeight: f(di * k), Conv1dBias: f(di),
			XProj: f((r + 2*n) * di), DtProjWeight: f(di * r), DtProjBias: f(di), A: f(di * n), D: f(di), OutProj: f(d * di)}
	}
	w.LMHead = w.Embedding
	if !c.TiedHead {
		w.LMHead = f(v * d)
	}
	return w
}

type span struct {
	name     string
	off, end int64
}

// checkSpans: aligned, inside size, no two overlapping.
func checkSpans(t *testing.T, spans []span, size int64) {
	t.Helper()
	sort.Slice(spans, func(i, j int) bool { return spans[i].off < spans[j].off })
	for i, s := range spans {
		assert.Zero(t, s.off%tensorAlign, "%s at %d is not %d-byte aligned", s.name, s.off, tensorAlign)
		assert.LessOrEqual(t, s.end, size, s.name)
		if i > 0 {
			assert.LessOrEqual(t, spans[i-1].end, s.off, "%s overlaps %s", spans[i-1].name, s.name)
		}
	}
}

func TestWeightLayout(t *testing.T) {
	for _, tied := range []bool{true, false} {
		c := model.Config{NLayers: 3, VocabSize: 101, DModel: 48, DInner: 96, DtRank: 3, DState: 16, DConv: 4, TiedHead: tied}
		w := testWeights(c)
		lay := planWeights(c, sharesHead(w))
		assert.Equal(t, tied, sharesHead(w))
		ts, err := lay.tensors(w)
		require.NoError(t, err)
		var spans []span
		var floats int64
		for _, x := range ts {
			spans = append(spans, span{x.name, x.off, x.off + 4*int64(len(x.data))})
			floats += int64(len(x.data))
		}
		checkSpans(t, spans, lay.size)
		assert.Equal(t, c.NumParams(), floats, "every parameter uploaded once")
		if tied {
			assert.Equal(t, lay.embedding, lay.lmHead)
		} else {
			assert.NotEqual(t, lay.embedding, lay.lmHead)
		}
	}
}

func TestWeightLayoutRefusesWrongLengths(t *testing.T) {
	c := model.Config{NLayers: 1, VocabSize: 8, DModel: 4, DInner: 8, DtRank: 1, DState: 2, DConv: 2, TiedHead: true}
	w := testWeights(c)
	w.Layers[0].D = w.Layers[0].D[:3]
	_, err := planWeights(c, true).tensors(w)
	assert.ErrorContains(t, err, "layers.0.D")
}

func TestWorkLayout(t *testing.T) {
	c := model.Shapes["130m"]
	s := shapeOf(c)
	w := planWork(c)
	checkSpans(t, []span{
		{"h", w.h, w.h + 4*int64(s.d)},
		{"u", w.u, w.u + 4*int64(s.di)},
		{"z", w.z, w.z + 4*int64(s.di)},
		{"xDBC", w.xDBC, w.xDBC + 4*int64(s.r+2*s.n)},
		{"y", w.y, w.y + 4*int64(s.di)},
		{"logits", w.logits, w.logits + 4*int64(s.vocabPadded)},
		{"argmax", w.argmax, w.argmax + 4},
		{"conv", w.conv, w.conv + 4*int64(s.L*s.di*s.k)},
		{"ssm", w.ssm, w.ssm + 4*int64(s.L*s.di*s.n)},
	}, w.size)
}

func TestCheckShape(t *testing.T) {
	assert.NoError(t, checkShape(model.Shapes["2.8b"]))
	err := checkShape(model.Shapes2["130m"])
	assert.ErrorIs(t, err, model.ErrUnsupported)
	assert.ErrorContains(t, err, "Mamba-2")
	assert.NoError(t, checkShape(model.ShapeOf(12032, 1)))
	assert.ErrorContains(t, checkShape(model.ShapeOf(12033, 1)), "d_model 12033")
}
