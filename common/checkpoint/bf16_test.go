package checkpoint

import (
	"path/filepath"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mamba.go/common/internal/testmodel"
	"mamba.go/common/model"
)

// loadBF16 opens dir with Checkpoint.BF16 set.
func loadBF16(t *testing.T, dir string) (*Checkpoint, *model.Weights) {
	t.Helper()
	ck, err := Open(dir)
	require.NoError(t, err)
	t.Cleanup(func() { ck.Close() })
	ck.BF16 = true
	w, err := ck.Weights()
	require.NoError(t, err, dir)
	w.SetCloser(ck)
	return ck, w
}

// TestKeepBF16 loads every format and dtype with the products kept as
// bfloat16: the values are the float32 load's narrowed, BF16 tensors of
// safetensors files are views of the mapped file, and only a checkpoint
// whose products are all BF16 says so.
func TestKeepBF16(t *testing.T) {
	c := testmodel.Config(24, 2, 101)
	for _, dt := range []string{"F32", "F16", "BF16"} {
		for _, rows := range []int{0, c.VocabSize} { // 0: the padded vocabulary; else padding rows to add
			tmp := t.TempDir()
			o := testmodel.Options{DType: dt, Seed: 5, EmbedRows: rows}
			var dirs []string
			for _, f := range []testmodel.Format{testmodel.HFSafetensors, testmodel.HFShards, testmodel.StateSpacesTorch, testmodel.StateSpacesSafets} {
				if rows != 0 && (f == testmodel.HFSafetensors || f == testmodel.HFShards) {
					continue // transformers' configs give the padded vocabulary only
				}
				d := filepath.Join(tmp, string(f))
				require.NoError(t, testmodel.WriteCheckpoint(d, c, f, o))
				dirs = append(dirs, d)
			}
			for _, d := range dirs {
				f32, err := Load(d)
				require.NoError(t, err, d)
				f32.NarrowToBF16()
				ck, w := loadBF16(t, d)
				assert.Equal(t, dt == "BF16", ck.ProductsBF16(), d)
				require.True(t, w.BF16)
				require.NoError(t, w.CheckBF16())
				assert.ErrorIs(t, w.Check(), model.ErrBF16Weights)
				assert.Equal(t, f32.EmbeddingBF16, w.EmbeddingBF16, "%s %s rows %d", d, dt, rows)
				assert.Equal(t, f32.LMHeadBF16, w.LMHeadBF16, d)
				for i := range w.Layers {
					want, got := f32.Layers[i].Tensors(c), w.Layers[i].Tensors(c)
					for j := range got {
						if got[j].BF16 != nil {
							assert.Equal(t, *want[j].BF16, *got[j].BF16, "%s layer %d %s", d, i, got[j].Name)
							assert.Nil(t, *got[j].Data)
						} else {
							assert.Equal(t, *want[j].Data, *got[j].Data, "%s layer %d %s", d, i, got[j].Name)
						}
					}
				}
				assert.Equal(t, model.Fingerprint(f32), model.Fingerprint(w), d)
				if dt == "BF16" && rows == 0 && filepath.Base(d) != string(testmodel.StateSpacesTorch) {
					// Zero copies: the in_proj values lie in a file's
					// mapping. (This writer's zip entries need not start
					// at even offsets, so those are copied; torch.save
					// aligns them to 64 bytes.)
					p := uintptr(unsafe.Pointer(&w.Layers[0].InProjBF16[0]))
					inFile := false
					for _, s := range ck.sources {
						if m, err := s.mapped(); err == nil && len(m) > 0 {
							lo := uintptr(unsafe.Pointer(&m[0]))
							inFile = inFile || (p >= lo && p < lo+uintptr(len(m)))
						}
					}
					assert.True(t, inFile, "%s: BF16 in_proj is a view of the file", d)
				}
				// FileMapped says which tensors are views of the files:
				// their pages can be dropped and read back, not so the
				// narrowed ones.
				in := w.Layers[0].InProjBF16
				asBytes := unsafe.Slice((*byte)(unsafe.Pointer(&in[0])), 2*len(in))
				if dt == "BF16" && rows == 0 && filepath.Base(d) != string(testmodel.StateSpacesTorch) {
					assert.True(t, w.FileMapped(asBytes), d)
				} else if dt == "F32" {
					assert.False(t, w.FileMapped(asBytes), d)
					assert.True(t, f32.FileMapped(unsafe.Slice((*byte)(unsafe.Pointer(&f32.NormF[0])), 4*len(f32.NormF))) ||
						filepath.Base(d) == string(testmodel.StateSpacesTorch), "%s: a float32 view", d)
				}
				require.NoError(t, f32.Close())
			}
		}
	}
}
