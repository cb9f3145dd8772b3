package model

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A state saved from a float32 model.bin loads into the same file narrowed
// to bfloat16 (-weights bf16) and back, and a state of other weights of the
// same shape is still refused by both.
func TestStateOfFloat32WeightsLoadsUnderBF16(t *testing.T) {
	dir := t.TempDir()
	load := func(seed uint64, bf16 bool) *Weights {
		p := filepath.Join(dir, "m.bin")
		require.NoError(t, WriteRandomModelBin(p, smallConfig, seed))
		w, err := LoadModelBin(p)
		require.NoError(t, err)
		t.Cleanup(func() { w.Close() })
		if bf16 {
			w.NarrowToBF16()
		}
		return w
	}
	f32, bf16 := load(1, false), load(1, true)
	other32, other16 := load(2, false), load(2, true)
	for _, tc := range []struct {
		name       string
		from, into *Weights
		same       bool
	}{
		{"f32 into bf16", f32, bf16, true},
		{"bf16 into f32", bf16, f32, true},
		{"f32 into f32", f32, f32, true},
		{"other f32 into bf16", other32, bf16, false},
		{"other bf16 into f32", other16, f32, false},
		{"other f32 into f32", other32, f32, false},
	} {
		s := NewState(smallConfig)
		s.Fingerprint = Fingerprint(tc.from)
		err := s.CheckWeights(tc.into)
		if tc.same {
			assert.NoError(t, err, tc.name)
		} else {
			assert.ErrorContains(t, err, "other weights of the same shape", tc.name)
		}
	}
}

// A state file of float32 weights that carries the fingerprint of their
// unrounded values still loads into them; into other weights it does not.
func TestUnroundedFingerprintIsAccepted(t *testing.T) {
	a, err := RandomWeights(smallConfig, 1)
	require.NoError(t, err)
	b, err := RandomWeights(smallConfig, 2)
	require.NoError(t, err)
	require.NotEqual(t, Fingerprint(a), fingerprintUnrounded(a), "random float32 weights are not bfloat16 values")
	s := NewState(smallConfig)
	s.Fingerprint = fingerprintUnrounded(a)
	assert.NoError(t, s.CheckWeights(a))
	assert.ErrorContains(t, s.CheckWeights(b), "other weights of the same shape")
}

// CheckFingerprint, which every SetState calls, refuses a state naming
// other weights and takes one naming these or none.
func TestCheckFingerprint(t *testing.T) {
	s := NewState(Config{NLayers: 1, VocabSize: 8, DModel: 4, DInner: 8, DtRank: 1, DState: 2, DConv: 2})
	assert.NoError(t, s.CheckFingerprint(42), "fingerprint 0: unknown")
	s.Fingerprint = 42
	assert.NoError(t, s.CheckFingerprint(42))
	assert.ErrorContains(t, s.CheckFingerprint(43), "other weights of the same shape")
}
