package learning

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mamba.go/common/model"
	"mamba.go/common/model/modeltest"
	"mamba.go/common/trace"
)

func TestBCDtNorm(t *testing.T) {
	dtLow, B, C := []float32{3, 4}, []float32{1, -1, 1, -1}, []float32{0, 0, 0}
	bcdtNorm(dtLow, B, C, 1e-6)
	// RMS(3, 4) = sqrt(12.5); B is already of RMS 1; all-zero C stays zero.
	s := float32(1 / math.Sqrt(12.5+1e-6))
	assert.InDeltaSlice(t, []float32{3 * s, 4 * s}, dtLow, 1e-7)
	assert.InDeltaSlice(t, []float32{1, -1, 1, -1}, B, 1e-6)
	assert.Equal(t, []float32{0, 0, 0}, C)
}

// A Falcon-Mamba model runs the norms, reports them as bcdt_norm right
// after x_proj, and so differs from Mamba-1 on the same weights.
func TestFalconMambaStep(t *testing.T) {
	c := model.NewFalconConfig(2, 37, 10, 30, 3, 7, 3, false, 1e-6)
	path := filepath.Join(t.TempDir(), "model.bin")
	require.NoError(t, model.WriteRandomModelBin(path, c, 3))
	w, err := model.LoadModelBin(path)
	require.NoError(t, err)
	defer w.Close()
	m, err := New(w)
	require.NoError(t, err)
	rec := &trace.Recorder{}
	m.SetTracer(rec)
	falcon := modeltest.Feed(t, m, []int{1, 5, 36})

	var ops []model.Op
	for _, e := range rec.Recorded.Entries {
		if e.Pos == 0 && e.Layer == 0 {
			ops = append(ops, e.Op)
		}
	}
	want := []model.Op{}
	for _, o := range model.OpsFor(c) {
		if o.PerLayer {
			want = append(want, o.Op)
		}
	}
	assert.Equal(t, want, ops)

	w.Config.Arch, w.Config.MixerEps = model.Mamba1, 0
	m1, err := New(w)
	require.NoError(t, err)
	assert.NotEqual(t, falcon, modeltest.Feed(t, m1, []int{1, 5, 36}))
}
