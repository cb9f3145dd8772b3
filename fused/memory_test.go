package fused

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mamba.go/common/memory"
	"mamba.go/common/model"
)

// twoMBPages: the copy into 2 MB pages is tried here (Linux, transparent
// huge pages not off).
func twoMBPages() bool { return memory.THPOn() }

// withMemory makes availableMemory report n bytes for the test.
func withMemory(t *testing.T, n int64) {
	old := availableMemory
	availableMemory = func() (int64, bool) { return n, true }
	t.Cleanup(func() { availableMemory = old })
}

// sparseWeights loads a model.bin of config c whose weights are a hole in
// the file: its full size, all zeros, no disk and no memory until read.
func sparseWeights(t *testing.T, c model.Config) *model.Weights {
	t.Helper()
	path := filepath.Join(t.TempDir(), "model.bin")
	f, err := os.Create(path)
	require.NoError(t, err)
	require.NoError(t, model.WriteModelBinHeader(f, c))
	require.NoError(t, f.Truncate(model.ModelBinHeaderSize+4*c.NumParams()))
	require.NoError(t, f.Close())
	w, err := model.LoadModelBin(path)
	if errors.Is(err, syscall.ENOMEM) {
		// qemu-user (make test-avx2) cannot map tens of GB into the
		// emulated process's address space; a real Linux process can.
		t.Skipf("this process cannot map a %d-byte file: %v", model.ModelBinHeaderSize+4*c.NumParams(), err)
	}
	require.NoError(t, err)
	t.Cleanup(func() { w.Close() })
	return w
}

// A float32 falcon-mamba-7b (29 GB) on a machine with 24 GB available is
// neither packed nor copied: New runs it from the file's mapping at once,
// allocating nothing of its size, and says why.
func TestSevenBillionFloat32WeightsRunFromTheMapping(t *testing.T) {
	c := model.ShapesFalcon["falcon-mamba-7b"]
	w := sparseWeights(t, c)
	require.Greater(t, 4*c.NumParams(), int64(28e9))
	withMemory(t, 24e9)
	m, err := NewOptions(w, Options{Workers: 2})
	require.NoError(t, err)
	defer m.Close()
	n, _ := m.Packed()
	assert.Zero(t, n, "not packed")
	n, _ = m.HugePages()
	assert.Zero(t, n, "not copied into 2 MB pages")
	assert.Same(t, w, m.w, "the weights as they are, in the file's mapping")
	assert.Contains(t, m.Fallback(), "packing would take 25.")
	assert.Contains(t, m.Fallback(), "GB of memory, and 24.0 GB are available")
}

// Packing and the copy into 2 MB pages are each asked of the memory
// available: where it is too little they are skipped, the model runs from
// the mapping with the same logits, and Fallback says which copy it was.
func TestCopiesThatDoNotFitAreSkipped(t *testing.T) {
	c := smallShapes["130m-2layers"] // 45 MB: above hugePagesMin
	w := randomWeights(t, c)
	ref, err := NewOptions(w, Options{Workers: 2, SmallPages: true, Unpacked: true})
	require.NoError(t, err)
	defer ref.Close()
	want, err := ref.Forward(7)
	require.NoError(t, err)

	withMemory(t, 1<<40)
	m, err := NewOptions(w, Options{Workers: 2})
	require.NoError(t, err)
	n, _ := m.Packed()
	assert.Positive(t, n, "packed where it fits")
	assert.Empty(t, m.Fallback())
	require.NoError(t, m.Close())

	withMemory(t, 16<<20)
	for _, opt := range []Options{{Workers: 2}, {Workers: 2, SmallPages: true}} {
		m, err := NewOptions(w, opt)
		require.NoError(t, err)
		n, _ := m.Packed()
		assert.Zero(t, n, "%+v", opt)
		n, _ = m.HugePages()
		assert.Zero(t, n, "%+v", opt)
		assert.Same(t, w, m.w)
		assert.Contains(t, m.Fallback(), "packing would take 0.0", "%+v", opt)
		assert.Contains(t, m.Fallback(), "GB of memory, and 0.0 GB are available", "%+v", opt)
		got, err := m.Forward(7)
		require.NoError(t, err)
		assert.Equal(t, want, got, "%+v", opt)
		require.NoError(t, m.Close())
	}

	// Packing off: the 2 MB-page copy is asked in turn, where the OS has
	// such pages; packing is not mentioned.
	m, err = NewOptions(w, Options{Workers: 2, Unpacked: true})
	require.NoError(t, err)
	defer m.Close()
	n, _ = m.HugePages()
	assert.Zero(t, n)
	assert.NotContains(t, m.Fallback(), "packing")
	if twoMBPages() {
		assert.Contains(t, m.Fallback(), "copying into 2 MB pages would take 0.0")
	}
	got, err := m.Forward(7)
	require.NoError(t, err)
	assert.Equal(t, want, got)
}

// Options.Progress hears of packing, and of the copy into 2 MB pages, as
// they go: done grows to total, and the last call has done == total.
func TestProgressReachesTotal(t *testing.T) {
	c := smallShapes["130m-2layers"]
	w := randomWeights(t, c)
	type call struct{ done, total int64 }
	for _, tc := range []struct {
		name string
		opt  Options
		want bool // a copy is made, so Progress is called
	}{
		{"packing", Options{Workers: 2}, true},
		{"2 MB pages", Options{Workers: 2, Unpacked: true}, twoMBPages()},
		{"no copy", Options{Workers: 2, Unpacked: true, SmallPages: true}, false},
	} {
		var calls []call
		opt := tc.opt
		opt.Progress = func(done, total int64) { calls = append(calls, call{done, total}) }
		m, err := NewOptions(w, opt)
		require.NoError(t, err)
		require.NoError(t, m.Close())
		if !tc.want {
			assert.Empty(t, calls, tc.name)
			continue
		}
		require.Greater(t, len(calls), 4, "%s: reported as it goes (%d MB), not only at the end", tc.name, weightsMB(c))
		last := calls[len(calls)-1]
		assert.Equal(t, last.total, last.done, tc.name)
		assert.GreaterOrEqual(t, last.total, 4*c.NumParams()-int64(4*c.PaddedVocab()*c.DModel), "%s: every tensor's bytes", tc.name)
		for i := 1; i < len(calls); i++ {
			assert.Equal(t, last.total, calls[i].total, tc.name)
			assert.GreaterOrEqual(t, calls[i].done, calls[i-1].done, "%s: call %d", tc.name, i)
		}
	}
}

func weightsMB(c model.Config) int64 { return 4 * c.NumParams() >> 20 }
