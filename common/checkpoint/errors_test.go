package checkpoint

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mamba.go/common/internal/testmodel"
	"mamba.go/common/model"
)

var small = testmodel.Config(16, 2, 37)

// hfDir writes an HF checkpoint whose tensors edit may change.
func hfDir(t *testing.T, edit func(ts []testmodel.Tensor) []testmodel.Tensor) string {
	t.Helper()
	dir := t.TempDir()
	ts := testmodel.Tensors(small, testmodel.Options{HFNames: true, Seed: 1})
	if edit != nil {
		ts = edit(ts)
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "config.json"), testmodel.HFConfig(small), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "model.safetensors"), testmodel.EncodeSafetensors(ts), 0o644))
	return dir
}

// torchDir writes a state-spaces checkpoint whose storages and views edit may change.
func torchDir(t *testing.T, edit func(ss []testmodel.Storage, rs []testmodel.Ref) ([]testmodel.Storage, []testmodel.Ref)) string {
	t.Helper()
	dir := t.TempDir()
	ss, rs := testmodel.TorchParts(testmodel.Tensors(small, testmodel.Options{Seed: 1}))
	if edit != nil {
		ss, rs = edit(ss, rs)
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "config.json"), testmodel.StateSpacesConfig(small), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "pytorch_model.bin"), testmodel.EncodeTorchZip("archive", ss, rs, zip.Store), 0o644))
	return dir
}

func find[T any](xs []T, f func(T) bool) int { return slices.IndexFunc(xs, f) }

func named(name string) func(testmodel.Tensor) bool {
	return func(t testmodel.Tensor) bool { return t.Name == name }
}

// requireLoadError asserts that Open or Weights fails with a one-line error
// that mentions each of parts.
func requireLoadError(t *testing.T, dir string, parts ...string) {
	t.Helper()
	w, err := Load(dir)
	if err == nil {
		w.Close()
	}
	require.Error(t, err)
	msg := err.Error()
	assert.NotContains(t, msg, "\n", "one-line error")
	for _, p := range parts {
		assert.Contains(t, msg, p)
	}
}

func TestMissingTensor(t *testing.T) {
	dir := hfDir(t, func(ts []testmodel.Tensor) []testmodel.Tensor {
		return slices.Delete(ts, find(ts, named("backbone.layers.1.mixer.D")), find(ts, named("backbone.layers.1.mixer.D"))+1)
	})
	requireLoadError(t, dir, "model.safetensors", "backbone.layers.1.mixer.D", "missing")
}

func TestWrongShape(t *testing.T) {
	dir := hfDir(t, func(ts []testmodel.Tensor) []testmodel.Tensor {
		i := find(ts, named("backbone.layers.0.mixer.x_proj.weight"))
		ts[i].Shape = []int{ts[i].Shape[1], ts[i].Shape[0]} // transposed: same size, wrong shape
		return ts
	})
	requireLoadError(t, dir, "model.safetensors", "backbone.layers.0.mixer.x_proj.weight", "shape")
}

func TestUnsupportedDType(t *testing.T) {
	dir := hfDir(t, func(ts []testmodel.Tensor) []testmodel.Tensor {
		i := find(ts, named("backbone.norm_f.weight"))
		ts[i].DType, ts[i].Data = "I64", make([]byte, 8*ts[i].Shape[0])
		return ts
	})
	requireLoadError(t, dir, "model.safetensors", "backbone.norm_f.weight", "I64")

	dir = torchDir(t, func(ss []testmodel.Storage, rs []testmodel.Ref) ([]testmodel.Storage, []testmodel.Ref) {
		i := find(rs, func(r testmodel.Ref) bool { return r.Name == "backbone.layers.1.mixer.D" })
		for j := range ss {
			if ss[j].Key == rs[i].Key {
				ss[j].Class, ss[j].Data = "DoubleStorage", make([]byte, 8*ss[j].Numel)
			}
		}
		return ss, rs
	})
	requireLoadError(t, dir, "pytorch_model.bin", "backbone.layers.1.mixer.D", "F64")
}

func TestBiasRefused(t *testing.T) {
	dir := hfDir(t, func(ts []testmodel.Tensor) []testmodel.Tensor {
		return append(ts, testmodel.Tensor{Name: "backbone.layers.0.mixer.out_proj.bias", DType: "F32", Shape: []int{16}, Data: make([]byte, 64)})
	})
	requireLoadError(t, dir, "backbone.layers.0.mixer.out_proj.bias", "not supported")

	dir = hfDir(t, nil)
	var cfg map[string]any
	require.NoError(t, json.Unmarshal(testmodel.HFConfig(small), &cfg))
	cfg["use_bias"] = true
	b, _ := json.Marshal(cfg)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644))
	requireLoadError(t, dir, "config.json", "use_bias")
}

func TestUnexpectedTensor(t *testing.T) {
	dir := hfDir(t, func(ts []testmodel.Tensor) []testmodel.Tensor {
		return append(ts, testmodel.Tensor{Name: "backbone.layers.2.norm.weight", DType: "F32", Shape: []int{16}, Data: make([]byte, 64)})
	})
	requireLoadError(t, dir, "backbone.layers.2.norm.weight", "unexpected")
}

// TestLyingHeader: a safetensors header whose sizes do not add up.
func TestLyingHeader(t *testing.T) {
	rewrite := func(t *testing.T, edit func(hdr map[string]any, data []byte) []byte) string {
		dir := hfDir(t, nil)
		path := filepath.Join(dir, "model.safetensors")
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		n := binary.LittleEndian.Uint64(b)
		var hdr map[string]any
		require.NoError(t, json.Unmarshal(b[8:8+n], &hdr))
		data := edit(hdr, b[8+n:])
		h, _ := json.Marshal(hdr)
		var out bytes.Buffer
		binary.Write(&out, binary.LittleEndian, uint64(len(h)))
		out.Write(h)
		out.Write(data)
		require.NoError(t, os.WriteFile(path, out.Bytes(), 0o644))
		return dir
	}
	offsets := func(hdr map[string]any, name string) []any {
		return hdr[name].(map[string]any)["data_offsets"].([]any)
	}
	t.Run("truncated", func(t *testing.T) {
		dir := rewrite(t, func(hdr map[string]any, data []byte) []byte { return data[:len(data)-10] })
		requireLoadError(t, dir, "model.safetensors", "outside", "truncated")
	})
	t.Run("size not shape", func(t *testing.T) {
		dir := rewrite(t, func(hdr map[string]any, data []byte) []byte {
			hdr["backbone.norm_f.weight"].(map[string]any)["shape"] = []int{15}
			return data
		})
		requireLoadError(t, dir, "model.safetensors", "backbone.norm_f.weight", "needs")
	})
	t.Run("overlap", func(t *testing.T) {
		dir := rewrite(t, func(hdr map[string]any, data []byte) []byte {
			a := offsets(hdr, "backbone.layers.0.mixer.D")
			b := offsets(hdr, "backbone.layers.0.mixer.dt_proj.bias") // same size, 4·di bytes
			b[0], b[1] = a[0].(float64)+4, a[1].(float64)+4
			return data
		})
		requireLoadError(t, dir, "model.safetensors", "overlap")
	})
	t.Run("header length", func(t *testing.T) {
		dir := hfDir(t, nil)
		path := filepath.Join(dir, "model.safetensors")
		b, _ := os.ReadFile(path)
		binary.LittleEndian.PutUint64(b, uint64(len(b)))
		require.NoError(t, os.WriteFile(path, b, 0o644))
		requireLoadError(t, dir, "model.safetensors", "header length")
	})
}

func TestNotAConfig(t *testing.T) {
	for name, text := range map[string]string{
		"array":     `[1, 2]`,
		"other":     `{"architectures": ["GPT2LMHeadModel"], "n_embd": 768}`,
		"garbage":   `{"d_model": 64, `,
		"string":    `"hello"`,
		"bad type":  `{"d_model": "sixty-four", "n_layer": 2, "vocab_size": 10}`,
		"no layer":  `{"d_model": 64, "vocab_size": 10}`,
		"mamba3":    `{"d_model": 64, "n_layer": 2, "vocab_size": 10, "ssm_cfg": {"layer": "Mamba3"}}`,
		"hf mamba3": `{"model_type": "mamba3", "hidden_size": 64, "num_hidden_layers": 2, "vocab_size": 16}`,
		"zero":      `{"d_model": 0, "n_layer": 2, "vocab_size": 10}`,
	} {
		t.Run(name, func(t *testing.T) {
			dir := hfDir(t, nil)
			require.NoError(t, os.WriteFile(filepath.Join(dir, "config.json"), []byte(text), 0o644))
			requireLoadError(t, dir, "config.json")
		})
	}
}

func TestTruncatedPickle(t *testing.T) {
	dir := torchDir(t, nil)
	path := filepath.Join(dir, "pytorch_model.bin")
	zr, err := zip.OpenReader(path)
	require.NoError(t, err)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range zr.File {
		rc, _ := f.Open()
		var data bytes.Buffer
		data.ReadFrom(rc)
		rc.Close()
		b := data.Bytes()
		if filepath.Base(f.Name) == "data.pkl" {
			b = b[:len(b)/2]
		}
		w, _ := zw.CreateHeader(&zip.FileHeader{Name: f.Name, Method: zip.Store})
		w.Write(b)
	}
	zr.Close()
	zw.Close()
	require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
	requireLoadError(t, dir, "pytorch_model.bin", "data.pkl", "pickle")

	// A file cut short loses the zip directory.
	dir = torchDir(t, nil)
	path = filepath.Join(dir, "pytorch_model.bin")
	b, _ := os.ReadFile(path)
	require.NoError(t, os.WriteFile(path, b[:len(b)/2], 0o644))
	requireLoadError(t, dir, "pytorch_model.bin", "not a PyTorch zip checkpoint")
}

func TestLegacyTorchFormat(t *testing.T) {
	dir := torchDir(t, nil)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "pytorch_model.bin"), []byte("\x80\x02\x8a\x0alz\xfc\x9cF\xf9 j\xa8P\x19."), 0o644))
	requireLoadError(t, dir, "pytorch_model.bin", "legacy")
}

func TestMissingStorage(t *testing.T) {
	dir := torchDir(t, func(ss []testmodel.Storage, rs []testmodel.Ref) ([]testmodel.Storage, []testmodel.Ref) {
		ss[len(ss)-1].Omit = true
		return ss, rs
	})
	requireLoadError(t, dir, "pytorch_model.bin", "backbone.norm_f.weight", "missing")
}

func TestViews(t *testing.T) {
	// D and dt_proj.bias of layer 0 as two views into one storage, at offsets.
	shared := func(ss []testmodel.Storage, rs []testmodel.Ref) ([]testmodel.Storage, []testmodel.Ref) {
		iD := find(rs, func(r testmodel.Ref) bool { return r.Name == "backbone.layers.0.mixer.D" })
		iB := find(rs, func(r testmodel.Ref) bool { return r.Name == "backbone.layers.0.mixer.dt_proj.bias" })
		sD := find(ss, func(s testmodel.Storage) bool { return s.Key == rs[iD].Key })
		sB := find(ss, func(s testmodel.Storage) bool { return s.Key == rs[iB].Key })
		pad := make([]byte, 12) // three floats before D
		data := slices.Concat(pad, ss[sD].Data, ss[sB].Data)
		ss = append(ss, testmodel.Storage{Key: "joined", Class: "FloatStorage", Data: data, Numel: len(data) / 4})
		rs[iD].Key, rs[iD].Offset = "joined", 3
		rs[iB].Key, rs[iB].Offset = "joined", 3+rs[iD].Shape[0]
		return ss, rs
	}
	want, err := Load(torchDir(t, nil))
	require.NoError(t, err)
	defer want.Close()
	got, err := Load(torchDir(t, shared))
	require.NoError(t, err)
	defer got.Close()
	requireSameWeights(t, want, got, "views")

	t.Run("non-contiguous", func(t *testing.T) {
		dir := torchDir(t, func(ss []testmodel.Storage, rs []testmodel.Ref) ([]testmodel.Storage, []testmodel.Ref) {
			i := find(rs, func(r testmodel.Ref) bool { return r.Name == "backbone.layers.1.mixer.out_proj.weight" })
			rs[i].Stride = []int{1, rs[i].Shape[0]} // a transposed view
			return ss, rs
		})
		requireLoadError(t, dir, "pytorch_model.bin", "backbone.layers.1.mixer.out_proj.weight", "non-contiguous")
	})
	t.Run("past storage", func(t *testing.T) {
		dir := torchDir(t, func(ss []testmodel.Storage, rs []testmodel.Ref) ([]testmodel.Storage, []testmodel.Ref) {
			i := find(rs, func(r testmodel.Ref) bool { return r.Name == "backbone.layers.1.mixer.D" })
			rs[i].Offset = 1
			return ss, rs
		})
		requireLoadError(t, dir, "pytorch_model.bin", "backbone.layers.1.mixer.D", "outside its storage")
	})
	t.Run("deflated", func(t *testing.T) {
		dir := t.TempDir()
		ss, rs := testmodel.TorchParts(testmodel.Tensors(small, testmodel.Options{Seed: 1}))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "config.json"), testmodel.StateSpacesConfig(small), 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "pytorch_model.bin"), testmodel.EncodeTorchZip("x", ss, rs, zip.Deflate), 0o644))
		got, err := Load(dir)
		require.NoError(t, err)
		defer got.Close()
		requireSameWeights(t, want, got, "deflated")
		assert.Equal(t, exportBytes(t, dir), exportBytes(t, torchDir(t, nil)))
	})
}

// separateHead stores lm_head.weight apart from the embedding, one bit off
// (byte 100: value 25).
func separateHead(ss []testmodel.Storage, rs []testmodel.Ref) ([]testmodel.Storage, []testmodel.Ref) {
	head := slices.Clone(ss[0].Data)
	head[100] ^= 1
	ss = append(ss, testmodel.Storage{Key: "head", Class: "FloatStorage", Data: head, Numel: ss[0].Numel})
	rs[len(rs)-1].Key = "head"
	return ss, rs
}

func TestTiedHeadMustMatch(t *testing.T) {
	dir := torchDir(t, separateHead)
	requireLoadError(t, dir, "pytorch_model.bin", "lm_head.weight", "differs")
	ck, err := Open(dir)
	require.NoError(t, err)
	defer ck.Close()
	require.Error(t, ck.WriteModelBin(&bytes.Buffer{}))
}

func TestUntiedHead(t *testing.T) {
	dir := torchDir(t, separateHead)
	var cfg map[string]any
	require.NoError(t, json.Unmarshal(testmodel.StateSpacesConfig(small), &cfg))
	cfg["tie_embeddings"] = false
	b, _ := json.Marshal(cfg)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644))
	w, err := Load(dir)
	require.NoError(t, err)
	defer w.Close()
	assert.False(t, w.Config.TiedHead)
	for i := range w.Embedding { // the flipped bit is in byte 100, value 25
		require.Equal(t, i != 25, w.Embedding[i] == w.LMHead[i], "value %d", i)
	}
}

// writeVocabCheckpoint writes a state-spaces checkpoint of c with rows
// embedding rows, its config.json's keys changed by set.
func writeVocabCheckpoint(t *testing.T, c model.Config, rows int, set map[string]any) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, testmodel.WriteCheckpoint(dir, c, testmodel.StateSpacesSafets, testmodel.Options{EmbedRows: rows, Seed: 2}))
	var cfg map[string]any
	require.NoError(t, json.Unmarshal(testmodel.StateSpacesConfig(c), &cfg))
	maps.Copy(cfg, set)
	b, err := json.Marshal(cfg)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644))
	return dir
}

// The embedding has vocab_size rows padded to pad_vocab_size_multiple (or
// to 8, or none): rows past our 8-padding are dropped, missing padding rows
// are zeros.
func TestVocabPadding(t *testing.T) {
	c := testmodel.Config(16, 1, 37) // padded to 40
	for _, tc := range []struct{ rows, multiple int }{{37, 8}, {40, 8}, {37, 16}, {48, 16}, {64, 64}} {
		dir := writeVocabCheckpoint(t, c, tc.rows, map[string]any{"pad_vocab_size_multiple": tc.multiple})
		w, err := Load(dir)
		require.NoError(t, err, tc)
		require.Len(t, w.Embedding, 40*16)
		ts := testmodel.Tensors(c, testmodel.Options{EmbedRows: tc.rows, Seed: 2})
		want := make([]float32, 40*16)
		decode(want[:min(tc.rows, 40)*16], ts[0].Data, F32)
		assert.Equal(t, want, w.Embedding, "%v", tc)
		w.Close()
	}
}

// An embedding with fewer rows than vocab_size, or more than its padding,
// was saved for another vocabulary: refused, naming the tensor and the
// config's vocab_size, in either dialect.
func TestVocabDisagreesWithEmbedding(t *testing.T) {
	for _, tc := range []struct {
		vocab, rows, multiple int
		want                  string
	}{
		{37, 36, 8, "37..40"},
		{37, 48, 8, "37..40"},
		{37, 65, 64, "37..64"},
		{8, 512, 8, "vocab_size 8 wants 8..8"},
		{1, 512, 8, "vocab_size 1 wants 1..8"},
	} {
		c := testmodel.Config(16, 1, tc.vocab)
		dir := writeVocabCheckpoint(t, c, tc.rows, map[string]any{"pad_vocab_size_multiple": tc.multiple})
		requireLoadError(t, dir, "model.safetensors", "backbone.embedding.weight", fmt.Sprintf("%d rows", tc.rows), tc.want, "disagree on the vocabulary")
	}
	// transformers' vocab_size is the embedding's rows (padded or not).
	for _, tc := range []struct{ vocab, rows int }{{8, 512}, {500, 512}, {512, 504}} {
		dir := t.TempDir()
		c := testmodel.Config(16, 1, tc.vocab)
		ts := testmodel.Tensors(c, testmodel.Options{HFNames: true, EmbedRows: tc.rows, Seed: 3})
		require.NoError(t, os.WriteFile(filepath.Join(dir, "config.json"), testmodel.HFConfig(c), 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "model.safetensors"), testmodel.EncodeSafetensors(ts), 0o644))
		requireLoadError(t, dir, "backbone.embeddings.weight", fmt.Sprintf("%d rows", tc.rows), "disagree on the vocabulary")
	}
	// An untied head is checked as the embedding is.
	c := testmodel.Config(16, 1, 37)
	dir := t.TempDir()
	ts := testmodel.Tensors(c, testmodel.Options{Seed: 4})
	head := testmodel.Tensors(testmodel.Config(16, 1, 512), testmodel.Options{Seed: 4})[0]
	ts[len(ts)-1] = testmodel.Tensor{Name: "lm_head.weight", DType: head.DType, Shape: head.Shape, Data: head.Data}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "config.json"), writeConfig(t, testmodel.StateSpacesConfig(c), map[string]any{"tie_embeddings": false}), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "model.safetensors"), testmodel.EncodeSafetensors(ts), 0o644))
	requireLoadError(t, dir, "lm_head.weight", "512 rows", "disagree on the vocabulary")
}

// writeConfig is cfg with the keys of set changed.
func writeConfig(t *testing.T, cfg []byte, set map[string]any) []byte {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(cfg, &m))
	maps.Copy(m, set)
	b, err := json.Marshal(m)
	require.NoError(t, err)
	return b
}

// A model.bin has no room for a disagreement: its size follows from the
// header's vocab_size (the embedding has it padded to 8 rows), so a header
// whose vocab_size is not the embedding's is refused as the wrong size.
func TestModelBinVocabDisagreesWithEmbedding(t *testing.T) {
	c := testmodel.Config(16, 1, 512)
	w, err := model.RandomWeights(c, 1)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "model.bin")
	require.NoError(t, model.WriteModelBin(path, w))
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	for _, vocab := range []uint32{8, 1, 504, 513} {
		binary.LittleEndian.PutUint32(data[12:], vocab) // word 3: vocab_size
		require.NoError(t, os.WriteFile(path, data, 0o644))
		_, err := model.LoadModelBin(path)
		require.Error(t, err, vocab)
		assert.Contains(t, err.Error(), path)
		assert.Contains(t, err.Error(), fmt.Sprintf("vocab=%d ", vocab))
		assert.Contains(t, err.Error(), "truncated or not this model")
	}
	binary.LittleEndian.PutUint32(data[12:], 505) // the same padded vocabulary, 512: padding rows
	require.NoError(t, os.WriteFile(path, data, 0o644))
	got, err := model.LoadModelBin(path)
	require.NoError(t, err)
	assert.Equal(t, 505, got.Config.VocabSize)
	got.Close()
}

func TestNoConvBias(t *testing.T) {
	dir := hfDir(t, func(ts []testmodel.Tensor) []testmodel.Tensor {
		return slices.DeleteFunc(ts, func(t testmodel.Tensor) bool {
			return filepath.Ext(t.Name) == ".bias" && bytes.Contains([]byte(t.Name), []byte("conv1d"))
		})
	})
	requireLoadError(t, dir, "backbone.layers.0.mixer.conv1d.bias", "missing")
	var cfg map[string]any
	require.NoError(t, json.Unmarshal(testmodel.HFConfig(small), &cfg))
	cfg["use_conv_bias"] = false
	b, _ := json.Marshal(cfg)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644))
	w, err := Load(dir)
	require.NoError(t, err)
	defer w.Close()
	assert.Equal(t, make([]float32, small.DInner), w.Layers[1].Conv1dBias)
}

func TestShardIndexChecked(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, testmodel.WriteCheckpoint(dir, small, testmodel.HFShards, testmodel.Options{Seed: 1}))
	_, err := Load(dir)
	require.NoError(t, err)
	idx := filepath.Join(dir, "model.safetensors.index.json")
	b, _ := os.ReadFile(idx)
	b = bytes.Replace(b, []byte(`"backbone.norm_f.weight":"model-00002-of-00002.safetensors"`), []byte(`"backbone.norm_f.weight":"model-00001-of-00002.safetensors"`), 1)
	require.NoError(t, os.WriteFile(idx, b, 0o644))
	requireLoadError(t, dir, "backbone.norm_f.weight", "model-00002-of-00002.safetensors")
	require.NoError(t, os.WriteFile(idx, []byte(`{"weight_map": {"x": "../etc/passwd"}}`), 0o644))
	requireLoadError(t, dir, "model.safetensors.index.json", "not a file name")
}

func TestNoWeights(t *testing.T) {
	dir := hfDir(t, nil)
	require.NoError(t, os.Remove(filepath.Join(dir, "model.safetensors")))
	requireLoadError(t, dir, dir, "pytorch_model.bin")
}
