//go:build linux

package fused

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// fixedMaps are files mapped at addresses the test chose, with a gap.
type fixedMaps [][]byte

func (f fixedMaps) Close() error {
	for _, m := range f {
		if err := unmapAt(m); err != nil {
			return err
		}
	}
	return nil
}

func (f fixedMaps) FileMapped(b []byte) bool {
	p := uintptr(unsafe.Pointer(&b[0]))
	for _, m := range f {
		lo := uintptr(unsafe.Pointer(&m[0]))
		if p >= lo && p+uintptr(len(b)) <= lo+uintptr(len(m)) {
			return true
		}
	}
	return false
}

// mapAt maps the file at path read-only over the start of at (MAP_FIXED)
// and returns that part of at.
func mapAt(t *testing.T, path string, at []byte) []byte {
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	st, err := f.Stat()
	require.NoError(t, err)
	require.LessOrEqual(t, int(st.Size()), len(at))
	addr := uintptr(unsafe.Pointer(&at[0]))
	p, _, errno := syscall.Syscall6(syscall.SYS_MMAP, addr, uintptr(st.Size()), syscall.PROT_READ,
		syscall.MAP_SHARED|syscall.MAP_FIXED, f.Fd(), 0)
	require.Zero(t, errno)
	require.Equal(t, addr, p)
	return at[:st.Size()]
}

func unmapAt(m []byte) error {
	if _, _, errno := syscall.Syscall(syscall.SYS_MUNMAP, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), 0); errno != 0 {
		return errno
	}
	return nil
}

// TestHugePagesSkipGapsBetweenFiles: weights that are views of two files
// (a sharded checkpoint) lie in two mappings with unmapped memory between
// them; the copy reads only the tensors, never the gap, and the logits
// are those of the weights left in place.
func TestHugePagesSkipGapsBetweenFiles(t *testing.T) {
	c := smallShapes["130m-2layers"]
	c.VocabSize = 50280
	w := randomWeights(t, c).NarrowedToBF16()
	dir := t.TempDir()
	write := func(name string, parts ...[]uint16) (string, int) {
		var b []byte
		for _, p := range parts {
			b = append(b, unsafe.Slice((*byte)(unsafe.Pointer(&p[0])), 2*len(p))...)
		}
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, b, 0o644))
		return path, len(b)
	}
	var layers [][]uint16
	for i := range w.Layers {
		for _, tt := range w.Layers[i].Tensors(c) {
			if tt.BF16 != nil {
				layers = append(layers, *tt.BF16)
			}
		}
	}
	a, sizeA := write("a.bin", w.EmbeddingBF16)
	b, sizeB := write("b.bin", layers...)
	// Reserve room for both files and a page between them, map the files
	// into it and unmap the page: a gap, as between a checkpoint's shards.
	page := os.Getpagesize()
	roundUp := func(n int) int { return (n + page - 1) &^ (page - 1) }
	room, err := syscall.Mmap(-1, 0, roundUp(sizeA)+page+roundUp(sizeB), syscall.PROT_NONE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	require.NoError(t, err)
	dataA := mapAt(t, a, room)
	dataB := mapAt(t, b, room[roundUp(sizeA)+page:])
	require.NoError(t, unmapAt(room[roundUp(sizeA):roundUp(sizeA)+page]))

	v := w.ShallowCopy() // to point at the files
	v.EmbeddingBF16 = unsafe.Slice((*uint16)(unsafe.Pointer(&dataA[0])), len(w.EmbeddingBF16))
	v.LMHeadBF16 = v.EmbeddingBF16
	off := 0
	for i := range v.Layers {
		for _, tt := range v.Layers[i].Tensors(c) {
			if tt.BF16 != nil {
				n := len(*tt.BF16)
				*tt.BF16 = unsafe.Slice((*uint16)(unsafe.Pointer(&dataB[2*off])), n)
				off += n
			}
		}
	}
	v.SetCloser(fixedMaps{dataA, dataB})
	defer v.Close()
	require.True(t, v.FileMapped(dataB[:64]))

	huge, err := NewOptions(v, Options{Workers: 2})
	require.NoError(t, err)
	defer huge.Close()
	if n, _ := huge.HugePages(); n == 0 {
		t.Skip("no 2 MB pages here (transparent huge pages off?)")
	}
	small, err := NewOptions(w, Options{Workers: 2, SmallPages: true})
	require.NoError(t, err)
	defer small.Close()
	for _, tok := range []int{3, 50000, 17} {
		x, err := huge.Forward(tok)
		require.NoError(t, err)
		y, err := small.Forward(tok)
		require.NoError(t, err)
		require.Equal(t, y, x, "token %d", tok)
	}
}
