package model

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// smallFalcon is smallConfig as Falcon-Mamba, with an epsilon that is no
// default.
var smallFalcon = NewFalconConfig(2, 21, 6, 12, 3, 5, 3, true, 3e-6)

func TestFalconConfig(t *testing.T) {
	require.NoError(t, smallFalcon.Validate())
	assert.Equal(t, smallConfig.NumParams(), smallFalcon.NumParams(), "Mamba-1's tensors")
	assert.Contains(t, smallFalcon.String(), "Falcon-Mamba")
	assert.Contains(t, smallFalcon.String(), "mixer_rms_eps=3e-06")
	for _, eps := range []float32{0, -1e-6, 1, float32(math.NaN()), float32(math.Inf(1))} {
		bad := smallFalcon
		bad.MixerEps = eps
		assert.ErrorContains(t, bad.Validate(), "mixer_rms_eps", "%g", eps)
	}
	m1 := smallConfig
	m1.MixerEps = 1e-6
	assert.ErrorContains(t, m1.Validate(), "only Falcon-Mamba")
	bad := smallFalcon
	bad.DtRank = 0
	assert.ErrorContains(t, bad.Validate(), "dt_rank")
}

func TestOpsForFalcon(t *testing.T) {
	ops := OpsFor(smallFalcon)
	require.Len(t, ops, len(Ops)+1)
	assert.Equal(t, OpXProj, ops[5].Op)
	assert.Equal(t, OpBCDtNorm, ops[6].Op)
	assert.Equal(t, PhaseXProj, ops[6].Phase)
	assert.Equal(t, OpDtProj, ops[7].Op)
	o, ok := LookupOp(smallFalcon, OpBCDtNorm)
	require.True(t, ok)
	assert.Equal(t, 3+2*5, o.Len(smallFalcon))
	_, ok = LookupOp(smallConfig, OpBCDtNorm)
	assert.False(t, ok, "bcdt_norm is no Mamba-1 op")
}

func TestModelBinFalconRoundTrip(t *testing.T) {
	for _, tied := range []bool{true, false} {
		c := smallFalcon
		c.TiedHead = tied
		path, data := writeRandom(t, c)
		assert.Equal(t, modelBinSize(c), int64(len(data)))
		word := func(i int) uint32 { return binary.LittleEndian.Uint32(data[4*i:]) }
		assert.Equal(t, uint32(ModelBinVersion2), word(1))
		assert.Equal(t, uint32(3), word(2), "architecture 3")
		assert.Equal(t, uint32(3), word(10), "dt_rank")
		assert.Equal(t, float32(3e-6), math.Float32frombits(word(11)))

		w := loadChecked(t, path, c)
		assert.Len(t, w.Layers[1].XProj, (3+2*5)*12)

		assertRewrites(t, w, data)

		// The same tensors as a Mamba-1 model.bin, after a header of its own.
		m1 := smallConfig
		m1.TiedHead = tied
		_, data1 := writeRandom(t, m1)
		assert.Equal(t, data1[ModelBinHeaderSize:], data[ModelBinHeaderSize:])
	}
}

func TestModelBinFalconRefusesBadHeaders(t *testing.T) {
	_, good := writeRandom(t, smallFalcon)
	put := func(i int, v uint32) []byte { return withWord(good, i, v) }
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"zero epsilon", put(11, 0), "mixer_rms_eps is 0"},
		{"NaN epsilon", put(11, 0x7fc00000), "mixer_rms_eps is NaN"},
		{"bad shared_classifier", put(9, 2), "shared_classifier is 2"},
		{"no dt_rank", put(10, 0), "dt_rank is 0"},
		{"trailing header bytes", put(12, 1), "not zero"},
	} {
		t.Run(tc.name, func(t *testing.T) { assertLoadRefuses(t, tc.data, tc.want) })
	}
}

func TestStateFalconRoundTripAndArchRefused(t *testing.T) {
	s := filledState(smallFalcon)
	path := filepath.Join(t.TempDir(), "state.bin")
	require.NoError(t, SaveState(path, s))
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, uint32(3), binary.LittleEndian.Uint32(data[44:]), "architecture 3")
	got, err := LoadState(path, smallFalcon)
	require.NoError(t, err)
	assert.Equal(t, s.Conv, got.Conv)
	assert.Equal(t, s.SSM, got.SSM)
	assert.Equal(t, FalconMamba, got.Config.Arch)
	// Another epsilon is the same state shape.
	other := smallFalcon
	other.MixerEps = 1e-5
	_, err = LoadState(path, other)
	assert.NoError(t, err)

	// A Falcon-Mamba state in a Mamba-1 model of the same sizes, and the other way round.
	_, err = LoadState(path, smallConfig)
	assert.ErrorContains(t, err, "state is for a Falcon-Mamba model, this model is Mamba-1")
	p1 := filepath.Join(t.TempDir(), "state1.bin")
	require.NoError(t, SaveState(p1, filledState(smallConfig)))
	_, err = LoadState(p1, smallFalcon)
	assert.ErrorContains(t, err, "state is for a Mamba-1 model, this model is Falcon-Mamba")
}
