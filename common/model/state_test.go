package model

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func filledState(c Config) *State {
	s := NewState(c)
	for i := range s.Conv {
		s.Conv[i] = float32(i) * 0.5
	}
	for i := range s.SSM {
		s.SSM[i] = -float32(i) * 0.25
	}
	return s
}

func TestStateRoundTrip(t *testing.T) {
	s := filledState(smallConfig)
	path := filepath.Join(t.TempDir(), "state.bin")
	require.NoError(t, SaveState(path, s))
	got, err := LoadState(path, smallConfig)
	require.NoError(t, err)
	assert.Equal(t, s.Conv, got.Conv)
	assert.Equal(t, s.SSM, got.SSM)
	assert.NoError(t, got.CheckFor(smallConfig))
}

func TestStateFromAnotherModelIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.bin")
	require.NoError(t, SaveState(path, filledState(smallConfig)))
	other := smallConfig
	other.DState = 4
	_, err := LoadState(path, other)
	require.Error(t, err)
	assert.Contains(t, err.Error(), path)
	assert.Contains(t, err.Error(), "state is for another model")

	// Same sizes but another vocabulary: still another model.
	other = smallConfig
	other.VocabSize = 50
	_, err = LoadState(path, other)
	assert.ErrorContains(t, err, "another model")
}

func TestStateRefusesDamagedBytes(t *testing.T) {
	data, err := filledState(smallConfig).MarshalBinary()
	require.NoError(t, err)
	var s State
	assert.ErrorContains(t, s.UnmarshalBinary(data[:10]), "shorter than its 64-byte header")
	assert.ErrorContains(t, s.UnmarshalBinary(data[:len(data)-1]), "its header needs")
	bad := append([]byte(nil), data...)
	bad[0] ^= 0xff
	assert.ErrorContains(t, s.UnmarshalBinary(bad), "bad magic")
	bad = append([]byte(nil), data...)
	bad[4] = 9
	assert.ErrorContains(t, s.UnmarshalBinary(bad), "unsupported state version 9")
}

func TestLoadStateRefusesWrongFiles(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "state.bin")
	require.NoError(t, SaveState(good, filledState(smallConfig)))
	data, err := os.ReadFile(good)
	require.NoError(t, err)

	short := filepath.Join(dir, "short.bin")
	require.NoError(t, os.WriteFile(short, data[:len(data)-4], 0o644))
	_, err = LoadState(short, smallConfig)
	assert.ErrorContains(t, err, "its header needs")

	long := filepath.Join(dir, "long.bin")
	require.NoError(t, os.WriteFile(long, append(data, 1, 2, 3, 4), 0o644))
	_, err = LoadState(long, smallConfig)
	assert.ErrorContains(t, err, "its header needs")

	_, err = LoadState("/dev/zero", smallConfig)
	assert.ErrorContains(t, err, "not a regular file")
	_, err = LoadState(dir, smallConfig)
	assert.ErrorContains(t, err, "not a regular file")

	// A model file given as a state: refused from its header.
	mb, _ := writeRandom(t, smallConfig)
	_, err = LoadState(mb, smallConfig)
	assert.ErrorContains(t, err, "not a mamba.go state file")
}

func TestValidateRefusesOverflowingSizes(t *testing.T) {
	// Every size within its own bound, but the product overflows int64·4.
	c := Config{NLayers: 4095, VocabSize: 12264528, DModel: 1 << 24, DInner: 1 << 24, DtRank: 8395299, DState: 1, DConv: 4}
	assert.ErrorContains(t, c.Validate(), "implausible sizes")
	assert.NoError(t, Shapes["2.8b"].Validate())
}

// FuzzStateFile: any bytes are a state or an error, never a panic, and a
// state that decodes encodes back to the same bytes.
func FuzzStateFile(f *testing.F) {
	data, err := filledState(smallConfig).MarshalBinary()
	require.NoError(f, err)
	f.Add(data)
	f.Add(data[:stateHeaderSize])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		var s State
		if s.UnmarshalBinary(b) != nil {
			return
		}
		out, err := s.MarshalBinary()
		require.NoError(t, err)
		assert.Equal(t, b[:44], out[:44], "config and fingerprint")
		assert.Equal(t, len(b), len(out))
	})
}

// transformers' configs give the padded vocabulary, model.bin and
// state-spaces' the unpadded one: the same weights, and the same state,
// whatever the format they were loaded from.
func TestStateFromAnyFormatOfTheSameWeights(t *testing.T) {
	unpadded := Config{NLayers: 2, VocabSize: 1003, DModel: 8, DInner: 16, DtRank: 1, DState: 4, DConv: 4, TiedHead: true}
	padded := unpadded
	padded.VocabSize = unpadded.PaddedVocab()
	w, err := RandomWeights(unpadded, 3)
	require.NoError(t, err)
	hf := *w
	hf.Config = padded
	assert.Equal(t, Fingerprint(w), Fingerprint(&hf))

	s := NewState(unpadded)
	s.Fingerprint = Fingerprint(w)
	path := filepath.Join(t.TempDir(), "s.state")
	require.NoError(t, SaveState(path, s))
	got, err := LoadState(path, padded)
	require.NoError(t, err)
	require.NoError(t, got.CheckFor(padded))
	require.NoError(t, got.CheckWeights(&hf))

	other := unpadded
	other.VocabSize = 1009 // another padded size
	_, err = LoadState(path, other)
	assert.ErrorContains(t, err, "state is for another model")
}
