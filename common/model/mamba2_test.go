package model

import (
	"encoding/binary"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// smallConfig2 is a Mamba-2 config whose sizes are all different: 4 heads
// of 5 channels in 2 groups, d_state 3.
var smallConfig2 = func() Config {
	c := NewMamba2Config(2, 21, 10, 2, 5, 2, 3, 3, false)
	c.NormBeforeGate = true
	c.DtMin, c.DtMax = 0.001, 0.5
	return c
}()

func TestMamba2ConfigSizes(t *testing.T) {
	c := smallConfig2
	require.NoError(t, c.Validate())
	assert.Equal(t, 4, c.NHeads)
	assert.Equal(t, 20+12, c.ConvDim())
	assert.Equal(t, 40+12+4, c.InProjRows())
	assert.Equal(t, 2, c.HeadsPerGroup())
	assert.Equal(t, 20*3, c.SSMStateLen())

	bad := c
	bad.NGroups = 3
	assert.ErrorContains(t, bad.Validate(), "not a multiple of n_groups")
	bad = c
	bad.HeadDim = 6
	assert.ErrorContains(t, bad.Validate(), "is not d_inner")
	bad = c
	bad.DtMin, bad.DtMax = 0.5, 0.1
	assert.ErrorContains(t, bad.Validate(), "time_step_limit")
	bad = c
	bad.DtRank = 3
	assert.ErrorContains(t, bad.Validate(), "no Δ projection")
}

func TestModelBin2RoundTrip(t *testing.T) {
	for _, tied := range []bool{true, false} {
		c := smallConfig2
		c.TiedHead = tied
		path, data := writeRandom(t, c)
		assert.Equal(t, modelBinSize(c), int64(len(data)))
		assert.Equal(t, uint32(ModelBinVersion2), binary.LittleEndian.Uint32(data[4:]))

		w := loadChecked(t, path, c)
		// A is −(1..h) per layer, one value per head; gated_norm is 1.
		assert.Equal(t, []float32{-1, -2, -3, -4}, w.Layers[1].A)
		assert.Equal(t, float32(1), w.Layers[1].GatedNorm[c.DInner-1])
		assert.Len(t, w.Layers[0].InProj, c.InProjRows()*c.DModel)
		assert.Nil(t, w.Layers[0].XProj)

		assertRewrites(t, w, data)
	}
}

func TestModelBin2RefusesBadHeaders(t *testing.T) {
	_, good := writeRandom(t, smallConfig2)
	put := func(i int, v uint32) []byte { return withWord(good, i, v) }
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"unknown architecture", put(2, 7), "names architecture 7"},
		{"Mamba-1 in version 2", put(2, 1), "names architecture 1"},
		{"bad norm_before_gate", put(13, 3), "norm_before_gate is 3"},
		{"heads do not fill d_inner", put(10, 3), "is not d_inner"},
		{"trailing header bytes", put(40, 1), "not zero"},
	} {
		t.Run(tc.name, func(t *testing.T) { assertLoadRefuses(t, tc.data, tc.want) })
	}
}

func TestState2RoundTripAndArchRefused(t *testing.T) {
	s := filledState(smallConfig2)
	assert.Len(t, s.Conv, 2*32*3)
	path := filepath.Join(t.TempDir(), "state.bin")
	require.NoError(t, SaveState(path, s))
	got, err := LoadState(path, smallConfig2)
	require.NoError(t, err)
	assert.Equal(t, s.SSM, got.SSM)
	assert.Equal(t, s.Conv, got.Conv)
	assert.Equal(t, Mamba2, got.Config.Arch)

	// A Mamba-1 state in a Mamba-2 model, and the other way round.
	_, err = LoadState(path, smallConfig)
	assert.ErrorContains(t, err, "state is for a Mamba-2 model, this model is Mamba-1")
	p1 := filepath.Join(t.TempDir(), "state1.bin")
	require.NoError(t, SaveState(p1, filledState(smallConfig)))
	_, err = LoadState(p1, smallConfig2)
	assert.ErrorContains(t, err, "state is for a Mamba-1 model, this model is Mamba-2")

	// Another head split of the same d_inner is another model.
	other := NewMamba2Config(2, 21, 10, 2, 10, 2, 3, 3, false)
	other.DtMin, other.DtMax = 0.001, 0.5
	_, err = LoadState(path, other)
	assert.ErrorContains(t, err, "another model")
}

func TestState1FilesStillLoad(t *testing.T) {
	// A version 1 file (before Mamba-2) is a Mamba-1 state.
	data, err := filledState(smallConfig).MarshalBinary()
	require.NoError(t, err)
	binary.LittleEndian.PutUint32(data[4:], 1)
	for i := 9; i < 13; i++ {
		binary.LittleEndian.PutUint32(data[4*i:], 0)
	}
	var s State
	require.NoError(t, s.UnmarshalBinary(data))
	assert.NoError(t, s.CheckFor(smallConfig))
}

func TestOpsFor(t *testing.T) {
	names := func(ops []OpInfo) (out []Op) {
		for _, o := range ops {
			out = append(out, o.Op)
		}
		return out
	}
	c := smallConfig2
	got := names(OpsFor(c))
	assert.Equal(t, []Op{OpEmbedding, OpNorm, OpInProj, OpConv, OpSiLU, OpDtBias, OpSoftplus, OpDtLimit,
		OpScan, OpSkipD, OpGroupNorm, OpGate, OpOutProj, OpResidual, OpNormF, OpLMHead}, got)
	c.NormBeforeGate = false
	assert.Equal(t, names(Ops2), names(OpsFor(c)))
	assert.Equal(t, names(Ops), names(OpsFor(smallConfig)))
	o, ok := LookupOp(c, OpGroupNorm)
	require.True(t, ok)
	assert.Equal(t, c.DInner, o.Len(c))
	// The same name has the architecture's length and phase.
	o, ok = LookupOp(c, OpInProj)
	require.True(t, ok)
	assert.Equal(t, c.InProjRows(), o.Len(c))
	assert.Equal(t, "[2di+2gn+h]", o.Shape)
	o, ok = LookupOp(smallConfig, OpInProj)
	require.True(t, ok)
	assert.Equal(t, 2*smallConfig.DInner, o.Len(smallConfig))
	o, _ = LookupOp(c, OpGate)
	assert.Equal(t, PhaseDtScanGate, o.Phase)
	c.NormBeforeGate = true
	o, _ = LookupOp(c, OpGate)
	assert.Equal(t, PhaseOutProj, o.Phase, "with norm_before_gate the gate follows group_norm")
	// An op of the other architecture is no op of this one, but still an op.
	_, ok = LookupOp(c, OpXProj)
	assert.False(t, ok)
	_, ok = LookupOp(smallConfig, OpGroupNorm)
	assert.False(t, ok)
	assert.True(t, IsOp(OpXProj))
	assert.True(t, IsOp(OpDtLimit))
	assert.False(t, IsOp("attention"))
}
