package load

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mamba.go/common/internal/testmodel"
	"mamba.go/common/model"
)

func TestParsePrecision(t *testing.T) {
	for s, want := range map[string]Precision{"f32": Float32, "bf16": BF16, "auto": Auto} {
		p, err := ParsePrecision(s)
		require.NoError(t, err)
		assert.Equal(t, want, p)
	}
	_, err := ParsePrecision("fp16")
	assert.EqualError(t, err, `-weights "fp16": want f32, bf16 or auto`)
}

// withMemory makes availableMemory report n bytes for the test.
func withMemory(t *testing.T, n int64) {
	old := availableMemory
	availableMemory = func() (int64, bool) { return n, true }
	t.Cleanup(func() { availableMemory = old })
}

// TestOpenAs: f32 and bf16 do as they say for every kind of file; auto
// keeps a bfloat16 checkpoint as bfloat16 only when float32 would not fit,
// and a float32 one or a model.bin as float32 always.
func TestOpenAs(t *testing.T) {
	tmp := t.TempDir()
	ck16 := filepath.Join(tmp, "bf16")
	require.NoError(t, testmodel.WriteCheckpoint(ck16, small, testmodel.HFSafetensors, testmodel.Options{Seed: 1, DType: "BF16"}))
	ck32 := filepath.Join(tmp, "f32")
	require.NoError(t, testmodel.WriteCheckpoint(ck32, small, testmodel.HFSafetensors, testmodel.Options{Seed: 1}))
	ref, err := Open(ck32)
	require.NoError(t, err)
	defer ref.Close()
	mb := filepath.Join(tmp, "model.bin")
	require.NoError(t, model.WriteModelBin(mb, ref))
	f32Bytes := int64(model.ModelBinHeaderSize) + 4*small.NumParams()

	for _, tc := range []struct {
		path   string
		p      Precision
		memory int64
		bf16   bool
		note   string
	}{
		{ck16, Float32, 1 << 40, false, ""},
		{ck16, BF16, 1 << 40, true, ""},
		{ck16, Auto, 1 << 40, false, ""},
		{ck16, Auto, f32Bytes, true, "weights kept as bfloat16, as the checkpoint stores them: as float32 they would take"},
		{ck32, Auto, f32Bytes / 2, false, ""}, // views of the file, but A and the like
		{ck32, BF16, 1 << 40, true, ""},
		{mb, Auto, 1, false, ""},
		{mb, BF16, 1 << 40, true, ""},
	} {
		withMemory(t, tc.memory)
		w, note, err := OpenAs(tc.path, tc.p)
		require.NoError(t, err, tc.path)
		assert.Equal(t, tc.bf16, w.BF16, "%s %v memory %d", tc.path, tc.p, tc.memory)
		require.NoError(t, w.CheckBF16())
		if tc.note == "" {
			assert.Empty(t, note)
		} else {
			assert.Contains(t, note, tc.note)
		}
		if tc.path != ck16 { // the same float32 values, narrowed or not
			want := ref.Embedding
			if w.BF16 {
				assert.Equal(t, model.ToBF16(want), w.EmbeddingBF16)
			} else {
				assert.Equal(t, want, w.Embedding)
			}
		}
		require.NoError(t, w.Close())
	}
	// As float32, a bfloat16 checkpoint that would not fit is refused at
	// once; a float32 one is views of its file, and loads.
	withMemory(t, f32Bytes/2)
	for _, p := range []Precision{Float32, Auto} {
		if p == Auto {
			withMemory(t, 1<<40) // auto keeps float32 when it fits …
			w, _, err := OpenAs(ck16, p)
			require.NoError(t, err)
			require.False(t, w.BF16)
			w.Close()
			continue
		}
		_, _, err = OpenAs(ck16, p)
		assert.ErrorContains(t, err, "as float32 its weights need")
		assert.ErrorContains(t, err, "keep them as bfloat16 (mamba-fused -weights bf16)")
	}
	withMemory(t, f32Bytes/2)
	w32, _, err := OpenAs(ck32, Float32)
	require.NoError(t, err)
	w32.Close()
	_, _, err = OpenAs(filepath.Join(tmp, "nothing"), BF16)
	assert.ErrorContains(t, err, "no such file")
}
