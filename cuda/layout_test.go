package cuda

import (
	"fmt"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mamba.go/common/model"
)

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
		w := model.NewWeights(c)
		assert.Equal(t, tied, sharesHead(w))
		lay, err := planWeights(w)
		require.NoError(t, err)
		var spans []span
		var floats int64
		for _, x := range lay.tensors {
			spans = append(spans, span{x.name, x.off, x.off + 4*int64(len(x.data))})
			floats += int64(len(x.data))
		}
		checkSpans(t, spans, lay.size)
		assert.Equal(t, c.NumParams(), floats, "every parameter uploaded once")
		if tied {
			assert.Equal(t, lay.off.embedding, lay.off.lmHead)
		} else {
			assert.NotEqual(t, lay.off.embedding, lay.off.lmHead)
		}
	}
}

// Every tensor of model.Layer.Tensors has a field of its own, and the
// offset planWeights puts there is that tensor's.
func TestLayerFieldsFollowTheTable(t *testing.T) {
	c := model.Config{NLayers: 2, VocabSize: 9, DModel: 4, DInner: 8, DtRank: 1, DState: 2, DConv: 3}
	w := model.NewWeights(c)
	lay, err := planWeights(w)
	require.NoError(t, err)
	at := map[string]int64{}
	for _, x := range lay.tensors {
		at[x.name] = x.off
	}
	fields := map[*int64]string{}
	for l := range w.Layers {
		for _, tn := range w.Layers[l].Tensors(c) {
			f := lay.off.layers[l].field(tn.Name)
			require.NotNil(t, f, tn.Name)
			assert.NotContains(t, fields, f, "%s shares a field with %s", tn.Name, fields[f])
			fields[f] = tn.Name
			name := fmt.Sprintf("layers.%d.%s", l, tn.Name)
			assert.Equal(t, at[name], *f, name)
		}
	}
	// mapWeights moves every offset, the layers' too.
	dev := mapWeights(lay.off, func(off int64) int64 { return off + 1000 })
	assert.Equal(t, lay.off.layers[1].outProj+1000, dev.layers[1].outProj)
	assert.Equal(t, lay.off.normF+1000, dev.normF)
}

func TestWeightLayoutRefusesWrongLengths(t *testing.T) {
	c := model.Config{NLayers: 1, VocabSize: 8, DModel: 4, DInner: 8, DtRank: 1, DState: 2, DConv: 2, TiedHead: true}
	w := model.NewWeights(c)
	w.Layers[0].D = w.Layers[0].D[:3]
	_, err := planWeights(w)
	assert.ErrorContains(t, err, "layers.0.D")
	w.Layers = w.Layers[:0]
	_, err = planWeights(w)
	assert.ErrorContains(t, err, "0 layers")
}

func TestWorkLayout(t *testing.T) {
	c := model.Shapes["130m"]
	s := shapeOf(c)
	w, size := planWork(c, offset)
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
	}, size)
}

func TestCheckShape(t *testing.T) {
	assert.NoError(t, checkShape(model.Shapes["2.8b"]))
	err := checkShape(model.Shapes2["130m"])
	assert.ErrorIs(t, err, model.ErrUnsupported)
	assert.ErrorContains(t, err, "Mamba-2")
	// Falcon-Mamba: Mamba-1's tensors, and bcdt_norm for its norms.
	assert.NoError(t, checkShape(model.NewFalconConfig(2, 65024, 4096, 8192, 256, 16, 4, false, 1e-6)))
	assert.NoError(t, checkShape(model.ShapeOf(12032, 1)))
	assert.ErrorContains(t, checkShape(model.ShapeOf(12033, 1)), "d_model 12033")
}
