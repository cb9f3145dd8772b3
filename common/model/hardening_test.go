//go:build unix

package model

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A state file cut right after its header says what is missing, not "EOF".
func TestHeaderOnlyStateSaysSo(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "state.bin")
	require.NoError(t, SaveState(good, filledState(smallConfig)))
	data, err := os.ReadFile(good)
	require.NoError(t, err)
	head := filepath.Join(dir, "head.bin")
	require.NoError(t, os.WriteFile(head, data[:stateHeaderSize], 0o644))
	_, err = LoadState(head, smallConfig)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "state is 64 bytes, its header needs")
}

// A named pipe given as -load-state is refused at once instead of waiting
// for a writer forever.
func TestLoadStateRefusesNamedPipe(t *testing.T) {
	p := filepath.Join(t.TempDir(), "fifo")
	require.NoError(t, syscall.Mkfifo(p, 0o644))
	_, err := LoadState(p, smallConfig)
	assert.ErrorContains(t, err, "named pipe")
	_, err = LoadModelBin(p)
	assert.ErrorContains(t, err, "named pipe")
}

// Two models of one shape have different fingerprints, a state records the
// one of the weights that made it and is refused by the other model.
func TestStateFromOtherWeightsOfTheSameShapeIsRefused(t *testing.T) {
	dir := t.TempDir()
	load := func(seed uint64) *Weights {
		p := filepath.Join(dir, "m.bin")
		require.NoError(t, WriteRandomModelBin(p, smallConfig, seed))
		w, err := LoadModelBin(p)
		require.NoError(t, err)
		t.Cleanup(func() { w.Close() })
		return w
	}
	a, b := load(1), load(2)
	fa, fb := Fingerprint(a), Fingerprint(b)
	assert.NotEqual(t, fa, fb)
	assert.Equal(t, fa, Fingerprint(a))

	s := filledState(smallConfig)
	s.Fingerprint = fa
	path := filepath.Join(dir, "state.bin")
	require.NoError(t, SaveState(path, s))
	got, err := LoadState(path, smallConfig)
	require.NoError(t, err)
	assert.Equal(t, fa, got.Fingerprint)
	assert.NoError(t, got.CheckWeights(a))
	assert.ErrorContains(t, got.CheckWeights(b), "other weights of the same shape")

	// States written before fingerprints (zeros there) still load.
	got.Fingerprint = 0
	assert.NoError(t, got.CheckWeights(b))
}

// SaveState goes through atomicfile.Write, which refuses a named pipe at
// the path and leaves it as it was.
func TestSaveStateRefusesANamedPipe(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "f")
	require.NoError(t, syscall.Mkfifo(fifo, 0o644))
	assert.ErrorContains(t, SaveState(fifo, filledState(smallConfig)), "named pipe, not a regular file")
	st, err := os.Lstat(fifo)
	require.NoError(t, err)
	assert.NotZero(t, st.Mode()&fs.ModeNamedPipe)
}
