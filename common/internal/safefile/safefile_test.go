//go:build unix

package safefile

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A named pipe is refused at once: opening it for reading the usual way
// would wait for a writer forever.
func TestNamedPipeRefusedWithoutBlocking(t *testing.T) {
	p := filepath.Join(t.TempDir(), "fifo")
	require.NoError(t, syscall.Mkfifo(p, 0o644))
	_, _, err := Open(p)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "named pipe")
	_, err = ReadFile(p, 100)
	require.Error(t, err)
}

// /dev/zero has no end: it is refused by its type, not read until memory runs out.
func TestDeviceRefused(t *testing.T) {
	_, err := ReadFile("/dev/zero", 1<<20)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "character device")
}

func TestSizeLimit(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	require.NoError(t, os.WriteFile(p, make([]byte, 101), 0o644))
	_, err := ReadFile(p, 100)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "101 bytes, more than the 100")
	b, err := ReadFile(p, 101)
	require.NoError(t, err)
	assert.Len(t, b, 101)
	_, _, err = Open(t.TempDir())
	assert.ErrorContains(t, err, "folder")
}
