package load

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mamba.go/common/internal/testmodel"
	"mamba.go/common/model"
)

// Narrowing float32 weights to bfloat16 (-weights bf16) makes a copy of
// half their size: where it would not fit in the memory available it is
// refused before it starts, in one line naming the model, the sizes and
// what runs instead; float32 from the same files, views of them, loads.
func TestNarrowingThatDoesNotFitIsRefused(t *testing.T) {
	tmp := t.TempDir()
	ck32 := filepath.Join(tmp, "f32")
	require.NoError(t, testmodel.WriteCheckpoint(ck32, small, testmodel.HFSafetensors, testmodel.Options{Seed: 1}))
	ck16 := filepath.Join(tmp, "bf16")
	require.NoError(t, testmodel.WriteCheckpoint(ck16, small, testmodel.HFSafetensors, testmodel.Options{Seed: 1, DType: "BF16"}))
	ref, err := Open(ck32)
	require.NoError(t, err)
	defer ref.Close()
	mb := filepath.Join(tmp, "model.bin")
	require.NoError(t, model.WriteModelBin(mb, ref))
	f32Bytes := 4 * small.NumParams()

	// Room for the float32 checkpoint's own copies (A and the like), not
	// for a narrowed copy of the products.
	withMemory(t, f32Bytes/4)
	for _, path := range []string{mb, ck32} {
		_, _, err := OpenAs(path, BF16)
		require.Error(t, err, path)
		assert.Contains(t, err.Error(), "model "+path+": narrowed to bfloat16 its weights need ")
		assert.Contains(t, err.Error(), "GB are available: run them as float32 from the file")
		assert.NotContains(t, err.Error(), "\n")
		for _, p := range []Precision{Float32, Auto} {
			w, _, err := OpenAs(path, p)
			require.NoError(t, err, "%s %v", path, p)
			assert.False(t, w.BF16)
			require.NoError(t, w.Close())
		}
	}
	// A bfloat16 checkpoint kept as bfloat16 is views of its files.
	w, _, err := OpenAs(ck16, BF16)
	require.NoError(t, err)
	assert.True(t, w.BF16)
	require.NoError(t, w.Close())

	// With room for the narrowed copy, it is made.
	withMemory(t, f32Bytes)
	for _, path := range []string{mb, ck32} {
		w, _, err := OpenAs(path, BF16)
		require.NoError(t, err, path)
		assert.True(t, w.BF16)
		require.NoError(t, w.Close())
	}
}
