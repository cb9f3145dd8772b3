package main

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mamba.go/common/atomicfile"
	"mamba.go/common/checkpoint"
	"mamba.go/common/internal/testmodel"
	"mamba.go/common/load"
	"mamba.go/common/model"
)

// randomHFShapes are a small Mamba-1 (tied head, a vocabulary that gets
// padded) and a small Falcon-Mamba (untied head, mixer norms).
var randomHFShapes = map[string]model.Config{
	"mamba1": testmodel.Config(16, 2, 37),
	"falcon": model.NewFalconConfig(2, 40, 16, 32, 2, 4, 4, false, model.DefaultMixerEps),
}

// roundedVectors is want with every tensor rounded to bfloat16, as a BF16
// folder stores them: the products through RoundedToBF16, the vectors
// value by value (A stays as it is: it is stored as A_log, see below).
func roundedVectors(want *model.Weights) *model.Weights {
	r := want.RoundedToBF16()
	round := func(v []float32) []float32 {
		out := make([]float32, len(v))
		for i, x := range v {
			out[i] = model.Float32FromBF16(model.BF16FromFloat32(x))
		}
		return out
	}
	r.NormF = round(r.NormF)
	for i := range r.Layers {
		for _, t := range r.Layers[i].Tensors(r.Config) {
			if t.BF16 == nil && t.Name != "A" {
				*t.Data = round(*t.Data)
			}
		}
	}
	return r
}

// requireSameWeights checks every float32 tensor of got against want, bit
// for bit, but A, which a folder stores as a rounded log: within an ulp or
// two as F32, within bfloat16's 2⁻⁹ of log(−A) as BF16 (|ΔA/A| ≤
// 2⁻⁹·log 16 < 0.6%).
func requireSameWeights(t *testing.T, want, got *model.Weights, bf16 bool) {
	t.Helper()
	c := want.Config
	require.Equal(t, c.PaddedVocab(), got.Config.VocabSize, "an HF vocab_size is the padded one")
	gc := got.Config
	gc.VocabSize = c.VocabSize
	require.Equal(t, c, gc)
	require.Equal(t, want.Embedding, got.Embedding, "embedding")
	require.Equal(t, want.LMHead, got.LMHead, "lm_head")
	require.Equal(t, want.NormF, got.NormF, "norm_f")
	for i := range want.Layers {
		gt := got.Layers[i].Tensors(c)
		for j, wt := range want.Layers[i].Tensors(c) {
			if wt.Name == "A" {
				tol := 3e-7 // 2.5 float32 ulps
				if bf16 {
					tol = 0.006
				}
				for k, a := range *wt.Data {
					require.InEpsilon(t, a, (*gt[j].Data)[k], tol, "layer %d A[%d]", i, k)
				}
				continue
			}
			require.Equal(t, *wt.Data, *gt[j].Data, "layer %d %s", i, wt.Name)
		}
	}
}

func TestRandomCheckpointLoadsToRandomWeights(t *testing.T) {
	for name, c := range randomHFShapes {
		want, err := model.RandomWeights(c, 9)
		require.NoError(t, err)
		for _, dtype := range []checkpoint.DType{checkpoint.F32, checkpoint.BF16} {
			t.Run(name+"/"+string(dtype), func(t *testing.T) {
				dir := filepath.Join(t.TempDir(), "ckpt")
				require.NoError(t, writeRandomCheckpoint(dir, c, 9, dtype, defaultShardBytes))
				assert.FileExists(t, filepath.Join(dir, checkpoint.SafetensorsFile))
				assert.NoFileExists(t, filepath.Join(dir, checkpoint.ShardIndexFile))
				got, err := checkpoint.Load(dir)
				require.NoError(t, err)
				defer got.Close()
				if dtype == checkpoint.F32 {
					requireSameWeights(t, want, got, false)
				} else {
					requireSameWeights(t, roundedVectors(want), got, true)
				}
			})
		}
	}
}

func TestRandomCheckpointKeptAsBF16(t *testing.T) {
	for name, c := range randomHFShapes {
		t.Run(name, func(t *testing.T) {
			want, err := model.RandomWeights(c, 4)
			require.NoError(t, err)
			dir := filepath.Join(t.TempDir(), "ckpt")
			require.NoError(t, writeRandomCheckpoint(dir, c, 4, checkpoint.BF16, defaultShardBytes))
			w, note, err := load.OpenAs(dir, load.BF16)
			require.NoError(t, err)
			defer w.Close()
			assert.Empty(t, note)
			require.True(t, w.BF16)
			assert.Equal(t, model.ToBF16(want.Embedding), w.EmbeddingBF16)
			assert.Equal(t, model.ToBF16(want.LMHead), w.LMHeadBF16)
			for i := range want.Layers {
				assert.Equal(t, model.ToBF16(want.Layers[i].InProj), w.Layers[i].InProjBF16)
				assert.Equal(t, model.ToBF16(want.Layers[i].XProj), w.Layers[i].XProjBF16)
				assert.Equal(t, model.ToBF16(want.Layers[i].DtProjWeight), w.Layers[i].DtProjWeightBF16)
				assert.Equal(t, model.ToBF16(want.Layers[i].OutProj), w.Layers[i].OutProjBF16)
			}
			// A small model fits as float32: auto keeps float32, silently.
			auto, note, err := load.OpenAs(dir, load.Auto)
			require.NoError(t, err)
			defer auto.Close()
			assert.False(t, auto.BF16)
			assert.Empty(t, note)
		})
	}
}

func TestRandomCheckpointShards(t *testing.T) {
	c := randomHFShapes["falcon"]
	tmp := t.TempDir()
	one := filepath.Join(tmp, "one")
	require.NoError(t, writeRandomCheckpoint(one, c, 3, checkpoint.BF16, defaultShardBytes))
	st, err := os.Stat(filepath.Join(one, checkpoint.SafetensorsFile))
	require.NoError(t, err)
	sharded := filepath.Join(tmp, "sharded")
	require.NoError(t, writeRandomCheckpoint(sharded, c, 3, checkpoint.BF16, st.Size()/3))
	ck, err := checkpoint.Open(sharded)
	require.NoError(t, err)
	files := ck.Files
	require.NoError(t, ck.Close())
	require.GreaterOrEqual(t, len(files), 3)
	assert.Equal(t, "model-00001-of-0000"+string(rune('0'+len(files)))+".safetensors", files[0])
	assert.NoFileExists(t, filepath.Join(sharded, checkpoint.SafetensorsFile))

	a, err := checkpoint.Load(one)
	require.NoError(t, err)
	defer a.Close()
	b, err := checkpoint.Load(sharded)
	require.NoError(t, err)
	defer b.Close()
	requireSameWeights(t, a, b, false)
}

func TestRandomCheckpointConfigIsTransformers(t *testing.T) {
	c := model.ShapesFalcon["falcon-mamba-7b"]
	cfg, err := hfConfigJSON(c, checkpoint.BF16)
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, writeJSONFile(filepath.Join(dir, "config.json"), cfg))
	data, err := os.ReadFile(filepath.Join(dir, "config.json"))
	require.NoError(t, err)
	assert.Contains(t, string(data), `"mixer_rms_eps": 1e-06,`)
	assert.Contains(t, string(data), `"torch_dtype": "bfloat16",`)
	mc, err := checkpoint.ParseConfig(data)
	require.NoError(t, err)
	assert.Equal(t, c, mc.Config) // 65024 needs no padding
	assert.True(t, mc.ConvBias)
	// tiiuae/falcon-mamba-7b: 7.27e9 parameters, 14.5 GB as bfloat16.
	assert.Equal(t, int64(7_272_665_088), c.NumParams())
}

func TestRandomModelFlags(t *testing.T) {
	tmp := t.TempDir()
	full := filepath.Join(tmp, "full")
	require.NoError(t, os.Mkdir(full, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(full, "x"), nil, 0o644))
	file := filepath.Join(tmp, "file")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	out := filepath.Join(tmp, "out")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-format", "gguf", out}, `-format "gguf": want modelbin or hf`},
		{[]string{"-format", "hf", "-dtype", "f16", out}, "-dtype F16: want F32 or BF16"},
		{[]string{"-dtype", "BF16", out}, "-dtype BF16: a model.bin is float32; -dtype needs -format hf"},
		{[]string{"-format", "hf", "-arch", "2", out}, "-format hf: writes Mamba-1 and Falcon-Mamba checkpoints only"},
		{[]string{"-format", "hf", "-shard-bytes", "0", out}, "-shard-bytes 0: want a positive size"},
		{[]string{"-shape", "falcon-mamba-7b", "-arch", "2", out}, `unknown shape "falcon-mamba-7b" for -arch 2`},
		{[]string{"-format", "hf", full}, "folder is not empty (holds x)"},
		{[]string{"-format", "hf", file}, "want a new or empty folder"},
	} {
		err := runRandomModel(tc.args)
		require.Error(t, err, "%v", tc.args)
		assert.Contains(t, err.Error(), tc.want, "%v", tc.args)
		assert.NotContains(t, err.Error(), "\n", "%v", tc.args)
	}
	assert.NoFileExists(t, out)
	assert.NoDirExists(t, out)
}

func TestRandomModelHFCommand(t *testing.T) {
	// The smallest real shape as BF16 (258 MB) is too slow for a test: the
	// writer is checked above on small shapes. Here: the command line, with
	// -dtype spelt as -weights spells it, reaches the writer (which refuses
	// the non-empty folder by name before writing anything).
	full := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(full, "config.json"), nil, 0o644))
	err := runRandomModel([]string{"-format", "hf", "-dtype", "bf16", "-shape", "falcon-mamba-7b", full})
	require.ErrorContains(t, err, "folder is not empty (holds config.json)")
}

// A write that fails half-way (a full disk, say) takes back the shards it
// wrote and the folder it made, so the same command can run again; a
// folder that was there stays, empty.
func TestRandomCheckpointFailedWriteLeavesNothing(t *testing.T) {
	c := randomHFShapes["falcon"]
	calls := 0
	writeShard = func(path string, write func(io.Writer) error) error {
		if calls++; calls == 2 {
			return errors.New("no space left on device")
		}
		return atomicfile.Write(path, write)
	}
	defer func() { writeShard = atomicfile.Write }()
	tmp := t.TempDir()
	made := filepath.Join(tmp, "new")
	err := writeRandomCheckpoint(made, c, 3, checkpoint.BF16, 4096)
	require.ErrorContains(t, err, "no space left on device")
	assert.Equal(t, 2, calls, "the second shard failed")
	assert.NoDirExists(t, made)

	calls = 0
	there := filepath.Join(tmp, "there")
	require.NoError(t, os.Mkdir(there, 0o755))
	require.Error(t, writeRandomCheckpoint(there, c, 3, checkpoint.BF16, 4096))
	entries, err := os.ReadDir(there)
	require.NoError(t, err)
	assert.Empty(t, entries)

	writeShard = atomicfile.Write
	require.NoError(t, writeRandomCheckpoint(there, c, 3, checkpoint.BF16, 4096), "runs again")
}
