package checkpoint

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mamba.go/common/atomicfile"
	"mamba.go/common/internal/testmodel"
	"mamba.go/common/model"
	"mamba.go/common/refcase"
)

// caseDirs lists the reference case folders available: the shared HF
// transformers cases and the project's own testdata/cases.
func caseDirs() []string {
	var dirs []string
	if shared := refcase.SharedDir(); shared != "" {
		dirs = append(dirs, refcase.Dirs(filepath.Join(shared, "reference", "hf-transformers"))...)
	}
	if root := refcase.RepoRoot(); root != "" {
		dirs = append(dirs, refcase.Dirs(filepath.Join(root, "testdata", "cases"))...)
	}
	return dirs
}

// weightTensors lists every tensor of w by name, for comparisons.
func weightTensors(w *model.Weights) map[string][]float32 {
	m := map[string][]float32{"embedding": w.Embedding, "norm_f": w.NormF, "lm_head": w.LMHead}
	for i, l := range w.Layers {
		p := fmt.Sprintf("layers.%d.", i)
		for k, v := range map[string][]float32{"norm": l.Norm, "in_proj": l.InProj, "conv1d.weight": l.Conv1dWeight,
			"conv1d.bias": l.Conv1dBias, "x_proj": l.XProj, "dt_proj.weight": l.DtProjWeight,
			"dt_proj.bias": l.DtProjBias, "A": l.A, "D": l.D, "out_proj": l.OutProj} {
			m[p+k] = v
		}
	}
	return m
}

// requireSameWeights asserts that every value of every tensor is bit-identical.
func requireSameWeights(t *testing.T, want, got *model.Weights, what string) {
	t.Helper()
	require.Equal(t, want.Config.PaddedVocab(), got.Config.PaddedVocab(), what)
	wc, gc := want.Config, got.Config
	wc.VocabSize, gc.VocabSize = 0, 0
	require.Equal(t, wc, gc, what)
	wt, gt := weightTensors(want), weightTensors(got)
	for name, wv := range wt {
		gv := gt[name]
		require.Len(t, gv, len(wv), "%s: %s", what, name)
		for i := range wv {
			if math.Float32bits(wv[i]) != math.Float32bits(gv[i]) {
				require.Failf(t, "weights differ", "%s: %s[%d] = %v, want %v", what, name, i, gv[i], wv[i])
			}
		}
	}
}

func exportBytes(t *testing.T, dir string, negExp ...func(float32) float32) []byte {
	t.Helper()
	ck, err := Open(dir)
	require.NoError(t, err)
	defer ck.Close()
	if len(negExp) > 0 {
		ck.NegExp = negExp[0]
	}
	var buf bytes.Buffer
	require.NoError(t, ck.WriteModelBin(&buf))
	require.EqualValues(t, ck.ModelBinSize(), buf.Len())
	return buf.Bytes()
}

// TestCaseFormatsAgree loads each case's model.bin, hf/ and state-spaces/
// and requires bit-identical weights; exporting either checkpoint must give
// the case's model.bin byte for byte (but for the vocab_size of the header,
// which HF configs only know padded).
func TestCaseFormatsAgree(t *testing.T) {
	dirs := caseDirs()
	if len(dirs) == 0 {
		t.Skip("no case folders: ../shared is absent and testdata/cases is empty")
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			mbPath := filepath.Join(dir, "model.bin")
			mb, err := model.LoadModelBin(mbPath)
			require.NoError(t, err)
			defer mb.Close()
			mbBytes, err := os.ReadFile(mbPath)
			require.NoError(t, err)
			n := 0
			for _, f := range []string{"hf", "state-spaces"} {
				ckDir := filepath.Join(dir, f)
				if !IsCheckpointDir(ckDir) {
					continue
				}
				n++
				name, negExp := writerRounding(t, mb, ckDir)
				t.Logf("%s: model.bin's A has %s's rounding", f, name)
				ck, err := Open(ckDir)
				require.NoError(t, err, f)
				ck.NegExp = negExp
				w, err := ck.Weights()
				require.NoError(t, err, f)
				w.SetCloser(ck)
				requireSameWeights(t, mb, w, f)
				if f == "state-spaces" {
					assert.Equal(t, mb.Config, w.Config)
				} else if w.Config.VocabSize != mb.Config.VocabSize {
					assert.Equal(t, mb.Config.PaddedVocab(), w.Config.VocabSize, "HF configs give the padded vocabulary, or the vocabulary itself")
				}
				require.NoError(t, w.Close())

				got := exportBytes(t, ckDir, negExp)
				require.Len(t, got, len(mbBytes))
				if w.Config.VocabSize == mb.Config.VocabSize {
					assert.True(t, bytes.Equal(mbBytes, got), "%s: export differs from model.bin", f)
				} else {
					v := 12 // the byte offset of vocab_size in the header
					if mb.Config.Arch != model.Mamba1 {
						v = 16 // model.bin version 2 names the architecture first
					}
					assert.True(t, bytes.Equal(mbBytes[:v], got[:v]) && bytes.Equal(mbBytes[v+4:], got[v+4:]),
						"%s: export differs from model.bin beyond the header's vocab_size", f)
				}
			}
			if n == 0 {
				t.Skip("no hf/ or state-spaces/ checkpoint in this case")
			}
		})
	}
}

// writerRounding finds which exp the writer of a case's model.bin used for
// A = -exp(A_log): PyTorch's (the project's testdata, kroggen's export.py)
// or NumPy's (the shared HF transformers cases). One of them must
// reproduce every value of A exactly.
func writerRounding(t *testing.T, mb *model.Weights, ckDir string) (string, func(float32) float32) {
	t.Helper()
	ck, err := Open(ckDir)
	require.NoError(t, err)
	defer ck.Close()
	name, ok, err := ck.MatchRounding(mb)
	require.NoError(t, err)
	require.True(t, ok, "%s: model.bin's A matches neither PyTorch's nor NumPy's float32 exp", ckDir)
	return name, ck.NegExp
}

// writeAll writes the same random model in every format into dir/<format>.
func writeAll(t *testing.T, dir string, c model.Config, o testmodel.Options) []string {
	t.Helper()
	var dirs []string
	for _, f := range []testmodel.Format{testmodel.HFSafetensors, testmodel.HFShards, testmodel.StateSpacesTorch, testmodel.StateSpacesSafets} {
		d := filepath.Join(dir, string(f))
		require.NoError(t, testmodel.WriteCheckpoint(d, c, f, o))
		dirs = append(dirs, d)
	}
	return dirs
}

// TestSyntheticFormatsAgree needs no reference data: the same random model
// written in each format, each dtype, loads bit-identically, and its
// export loads back bit-identically.
func TestSyntheticFormatsAgree(t *testing.T) {
	c := testmodel.Config(24, 2, 101)
	for _, dt := range []string{"F32", "F16", "BF16"} {
		t.Run(dt, func(t *testing.T) {
			tmp := t.TempDir()
			dirs := writeAll(t, tmp, c, testmodel.Options{DType: dt, Seed: 7})
			first, err := Load(dirs[0])
			require.NoError(t, err)
			defer first.Close()
			// The values are the file's values converted to float32, A = -exp(A_log).
			ts := testmodel.Tensors(c, testmodel.Options{DType: dt, Seed: 7, HFNames: true})
			want := make([]float32, len(first.Embedding))
			decode(want, ts[0].Data, DType(dt))
			assert.Equal(t, want, first.Embedding)
			alog := make([]float32, c.DInner*c.DState)
			decode(alog, ts[2].Data, DType(dt))
			require.Equal(t, "backbone.layers.0.mixer.A_log", ts[2].Name)
			for i, a := range alog {
				require.Equal(t, NegExp(a), first.Layers[0].A[i])
			}
			for _, d := range dirs {
				w, err := Load(d)
				require.NoError(t, err, d)
				requireSameWeights(t, first, w, d)
				require.NoError(t, w.Close())

				out := filepath.Join(tmp, filepath.Base(d)+".bin")
				require.NoError(t, atomicfile.Write(out, func(wr io.Writer) error {
					ck, err := Open(d)
					if err != nil {
						return err
					}
					defer ck.Close()
					return ck.WriteModelBin(wr)
				}))
				exported, err := model.LoadModelBin(out)
				require.NoError(t, err)
				requireSameWeights(t, first, exported, d+" exported")
				require.NoError(t, exported.Close())
			}
		})
	}
}

// TestRealTorchFixture loads a tiny checkpoint that real torch.save wrote
// (testdata/make_torch_fixture.py): BF16, F16 and F32 tensors, two views at
// offsets into one storage, a head sharing the embedding's storage; it must
// match the same values written as F32 safetensors.
func TestRealTorchFixture(t *testing.T) {
	want, err := Load(filepath.Join("testdata", "torch-views", "hf"))
	require.NoError(t, err)
	defer want.Close()
	got, err := Load(filepath.Join("testdata", "torch-views", "state-spaces"))
	require.NoError(t, err)
	defer got.Close()
	requireSameWeights(t, want, got, "torch-views")
	assert.Equal(t, 13, got.Config.VocabSize)
	assert.Equal(t, 16, want.Config.VocabSize)
	assert.NotZero(t, got.Layers[0].D[0])
	assert.NotEqual(t, got.Layers[0].D, got.Layers[0].DtProjBias)
}

// layerPlan and model.Layer.Tensors must list the same tensors in the same
// order: layerSetter puts the j-th kind into the j-th tensor.
func TestLayerKindsFollowModelOrder(t *testing.T) {
	want := map[string]string{
		"mixer.in_proj.weight": "in_proj", "mixer.conv1d.weight": "conv1d.weight", "mixer.conv1d.bias": "conv1d.bias",
		"mixer.x_proj.weight": "x_proj", "mixer.dt_proj.weight": "dt_proj.weight", "mixer.dt_proj.bias": "dt_proj.bias",
		"mixer.A_log": "A", "mixer.D": "D", "mixer.out_proj.weight": "out_proj", "norm.weight": "norm",
	}
	ts := (&model.Layer{}).Tensors(model.Config{})
	layerKinds, shapes := layerPlan(model.Shapes["130m"])
	require.Len(t, layerKinds, len(ts))
	require.Equal(t, []int{1536, 1, 4}, shapes["mixer.conv1d.weight"])
	for j, kind := range layerKinds {
		assert.Equal(t, want[kind], ts[j].Name, kind)
	}
}
