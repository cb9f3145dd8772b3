//go:build unix

package model

import (
	"io"
	"io/fs"
	"os"
	"os/exec"
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

// The atomic write replaces only regular files: a named pipe or a device at
// the path is refused and left as it was, a symlink is followed (its target
// gets the new bytes, the link stays a link).
func TestWriteFileAtomicReplacesOnlyRegularFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(p string) error {
		return WriteFileAtomic(p, func(w io.Writer) error { _, err := w.Write([]byte("new")); return err })
	}
	fifo := filepath.Join(dir, "f")
	require.NoError(t, syscall.Mkfifo(fifo, 0o644))
	assert.ErrorContains(t, write(fifo), "named pipe, not a regular file")
	assert.ErrorContains(t, SaveState(fifo, filledState(smallConfig)), "named pipe")
	st, err := os.Lstat(fifo)
	require.NoError(t, err)
	assert.NotZero(t, st.Mode()&fs.ModeNamedPipe)

	if os.Geteuid() == 0 { // only root can make a device node: /dev/null's twin
		null := filepath.Join(dir, "n")
		require.NoError(t, syscall.Mknod(null, syscall.S_IFCHR|0o666, 1<<8|3))
		assert.ErrorContains(t, write(null), "character device")
		st, err := os.Lstat(null)
		require.NoError(t, err)
		assert.NotZero(t, st.Mode()&fs.ModeCharDevice)
	}

	target := filepath.Join(dir, "t.st")
	require.NoError(t, os.WriteFile(target, []byte("old"), 0o644))
	link := filepath.Join(dir, "l")
	require.NoError(t, os.Symlink("t.st", link))
	require.NoError(t, write(link))
	st, err = os.Lstat(link)
	require.NoError(t, err)
	assert.NotZero(t, st.Mode()&fs.ModeSymlink, "the link is still a link")
	got, err := os.ReadFile(target)
	require.NoError(t, err)
	assert.Equal(t, "new", string(got))

	// A link to a file that does not exist yet: the file is made there.
	require.NoError(t, os.Symlink("new.st", filepath.Join(dir, "dangling")))
	require.NoError(t, write(filepath.Join(dir, "dangling")))
	got, err = os.ReadFile(filepath.Join(dir, "new.st"))
	require.NoError(t, err)
	assert.Equal(t, "new", string(got))

	assert.ErrorContains(t, write(dir), "folder")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		assert.NotContains(t, e.Name(), tempMarker, "no temporary file is left")
	}
}

// A temporary file left by a process that no longer runs (killed with
// SIGKILL) is removed by the next write of the same path; one of a process
// that runs is kept.
func TestWriteFileAtomicRemovesStaleTemps(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.bin")
	cmd := exec.Command("true")
	require.NoError(t, cmd.Run())
	deadPID := cmd.Process.Pid // has exited and been reaped
	stale := filepath.Join(dir, tempPrefix("out.bin", deadPID)+"123")
	live := filepath.Join(dir, tempPrefix("out.bin", os.Getppid())+"456")
	other := filepath.Join(dir, tempPrefix("other.bin", deadPID)+"789")
	for _, p := range []string{stale, live, other} {
		require.NoError(t, os.WriteFile(p, []byte("x"), 0o644))
	}
	require.NoError(t, WriteFileAtomic(out, func(w io.Writer) error { return nil }))
	assert.NoFileExists(t, stale)
	assert.FileExists(t, live)
	assert.FileExists(t, other, "another output's temporary files are not ours to judge")
}
