//go:build unix

package atomicfile

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

// The atomic write replaces only regular files: a named pipe or a device at
// the path is refused and left as it was, a symlink is followed (its target
// gets the new bytes, the link stays a link).
func TestWriteReplacesOnlyRegularFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(p string) error {
		return Write(p, func(w io.Writer) error { _, err := w.Write([]byte("new")); return err })
	}
	fifo := filepath.Join(dir, "f")
	require.NoError(t, syscall.Mkfifo(fifo, 0o644))
	assert.ErrorContains(t, write(fifo), "named pipe, not a regular file")
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
func TestWriteRemovesStaleTemps(t *testing.T) {
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
	require.NoError(t, Write(out, func(w io.Writer) error { return nil }))
	assert.NoFileExists(t, stale)
	assert.FileExists(t, live)
	assert.FileExists(t, other, "another output's temporary files are not ours to judge")
}
