package memory

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCgroupRoom(t *testing.T) {
	root := t.TempDir()
	write := func(rel, name, data string) {
		dir := filepath.Join(root, rel)
		require.NoError(t, os.MkdirAll(dir, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644))
	}
	_, ok := cgroupRoom(root, "/a/b")
	assert.False(t, ok, "no files: no limit")
	_, ok = cgroupRoom(root, "")
	assert.False(t, ok, "no cgroup v2")
	write("a/b", "memory.max", "max\n")
	_, ok = cgroupRoom(root, "/a/b")
	assert.False(t, ok, "max: no limit")

	// 8 GiB limit, 3 GiB used of which 2 GiB inactive file cache: 7 GiB of room.
	write("a/b", "memory.max", "8589934592\n")
	write("a/b", "memory.current", "3221225472\n")
	write("a/b", "memory.stat", "anon 1073741824\nfile 2147483648\ninactive_file 2147483648\n")
	n, ok := cgroupRoom(root, "/a/b")
	assert.True(t, ok)
	assert.Equal(t, int64(7<<30), n)

	// A parent's tighter limit counts.
	write("a", "memory.max", "4294967296\n")
	write("a", "memory.current", "1073741824\n")
	n, ok = cgroupRoom(root, "/a/b")
	assert.True(t, ok)
	assert.Equal(t, int64(3<<30), n)

	proc := filepath.Join(root, "cgroup")
	require.NoError(t, os.WriteFile(proc, []byte("1:name=systemd:/x\n0::/a/b\n"), 0o644))
	assert.Equal(t, "/a/b", ownCgroup(proc))
	require.NoError(t, os.WriteFile(proc, []byte("9:pids:/\n"), 0o644))
	assert.Equal(t, "", ownCgroup(proc), "cgroup v1 only")
}

func TestAvailableMemoryReadsMeminfo(t *testing.T) {
	if _, err := os.Stat("/proc/meminfo"); err != nil {
		t.Skip("no /proc/meminfo here")
	}
	n, ok := AvailableMemory()
	require.True(t, ok)
	assert.Greater(t, n, int64(1<<20))
}

func TestRoomFor(t *testing.T) {
	assert.True(t, RoomFor(100, 110))
	assert.False(t, RoomFor(100, 109))
	assert.True(t, RoomFor(0, 0))
}
