package memory

import (
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// DropFilePages leaves Go memory alone: dropped, its pages would read back
// as zeros.
func TestDropFilePagesIgnoresGoMemory(t *testing.T) {
	b := make([]byte, 1<<20)
	for i := range b {
		b[i] = 7
	}
	DropFilePages(b)
	assert.Equal(t, byte(7), b[len(b)/2])
}

// A mapped file's pages are dropped and read back unchanged; bytes that
// straddle two mappings are not one mapping's, and stay.
func TestDropFilePagesReadsBackTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	want := make([]byte, 64<<10)
	for i := range want {
		want[i] = byte(i * 7)
	}
	require.NoError(t, os.WriteFile(path, want, 0o644))
	data, closer, err := MapFile(path)
	require.NoError(t, err)
	defer closer.Close()
	assert.True(t, inOneMapping(data[5:]))
	DropFilePages(data[5:])
	assert.Equal(t, want, data)
	require.NoError(t, closer.Close())
	assert.False(t, inOneMapping(want), "Go memory")
}

// NewArena's memory starts on a 2 MB boundary, is zeroed and writable,
// and lies inside the mapping that Close unmaps.
func TestNewArenaStartsOnA2MBBoundary(t *testing.T) {
	mem, arena, _ := NewArena(3<<20+5, true)
	require.NotNil(t, arena)
	require.Len(t, mem, 3<<20+5)
	assert.Zero(t, uintptr(unsafe.Pointer(&mem[0]))%HugePage)
	assert.Equal(t, 3<<20+5+HugePage, len(arena))
	lo := uintptr(unsafe.Pointer(&arena[0]))
	assert.GreaterOrEqual(t, uintptr(unsafe.Pointer(&mem[0])), lo)
	assert.LessOrEqual(t, uintptr(unsafe.Pointer(&mem[len(mem)-1])), lo+uintptr(len(arena)-1))
	assert.Zero(t, mem[len(mem)-1])
	mem[len(mem)-1] = 1
	PopulateWrite(mem[:HugePage])
	require.NoError(t, arena.Close())
	assert.NoError(t, Arena(nil).Close())
}
