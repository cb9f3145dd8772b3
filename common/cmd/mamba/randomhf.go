package main

// random-model -format hf: a random model written as a checkpoint folder in
// transformers' layout (what `mamba download` fetches from an -hf repo):
//
//	config.json                    transformers' MambaConfig or FalconMambaConfig
//	model.safetensors              every tensor, F32 or BF16
//	  or model-0000i-of-0000N.safetensors + model.safetensors.index.json
//	                               when the tensors pass the shard size (5 GB,
//	                               save_pretrained's max_shard_size)
//
// The tensors are names.go's HF names and shapes (conv1d.weight [di][1][k],
// A stored as A_log = log(−A), no lm_head when the head is tied), with the
// values of model.RandomWeights(c, seed): the folder loads to the model
// that `random-model -format modelbin` writes with the same seed, up to the
// rounding to bfloat16 with -dtype BF16 and the rounding of A's log and
// exp (an ulp or two: a float32 log(k) is rarely one whose exp is k). The values are streamed from the
// generator into the files, so that a 7B model is written with a few MB of
// memory: a safetensors header needs only the shapes, known beforehand.

import (
	endian "encoding/binary" // binary is binary_test.go's helper
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"mamba.go/common/atomicfile"
	"mamba.go/common/checkpoint"
	"mamba.go/common/model"
	"mamba.go/common/progress"
)

// defaultShardBytes is the largest shard written, in bytes of tensor data:
// transformers' save_pretrained default max_shard_size, "5GB".
const defaultShardBytes = 5_000_000_000

// hfTensor is one tensor of the folder, in the order the generator draws it.
type hfTensor struct {
	name  string // its name in the file
	shape []int
	bytes int64
	shard int   // index into the folder's weight files
	begin int64 // offset of its data in its shard's data
}

// writeRandomCheckpoint writes the folder dir (new or empty) holding the
// random model of config c and seed, every tensor as dtype (F32 or BF16),
// in shards of at most shardBytes of data each.
func writeRandomCheckpoint(dir string, c model.Config, seed uint64, dtype checkpoint.DType, shardBytes int64) error {
	if c.Arch == model.Mamba2 {
		return fmt.Errorf("-format hf: writes Mamba-1 and Falcon-Mamba checkpoints only (Mamba-2: use -format modelbin)")
	}
	if dtype != checkpoint.F32 && dtype != checkpoint.BF16 {
		return fmt.Errorf("-dtype %s: want F32 or BF16", dtype)
	}
	if shardBytes <= 0 {
		return fmt.Errorf("-shard-bytes %d: want a positive size", shardBytes)
	}
	if err := c.Validate(); err != nil {
		return err
	}
	cfg, err := hfConfigJSON(c, dtype)
	if err != nil {
		return err
	}
	created, err := newOrEmptyDir(dir)
	if err != nil {
		return err
	}
	ts, err := hfLayout(c, dtype)
	if err != nil {
		return err
	}
	files, dataBytes := assignShards(ts, shardBytes)
	// A write that fails (a full disk) takes back what it wrote, so that
	// the folder is as it was and the command can run again.
	ok := false
	defer func() {
		if ok {
			return
		}
		for _, f := range append(files, checkpoint.ShardIndexFile, checkpoint.ConfigFile) {
			os.Remove(filepath.Join(dir, f))
		}
		if created {
			os.Remove(dir)
		}
	}()

	// The generator writes every tensor's bytes, in order, into a pipe;
	// each shard takes its share of them after its header. The bar counts
	// them against the data of every shard.
	start, bar := time.Now(), newBar()
	defer bar.Done()
	var total int64
	for _, n := range dataBytes {
		total += n
	}
	name := filepath.Base(dir)
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		counted := &progress.CountingWriter{W: pw, Report: func(n int64) { bar.Update(name, n, total) }}
		pw.CloseWithError(writeRandomValues(counted, c, seed, dtype))
	}()
	defer func() { pr.Close(); <-done }() // stops the generator if a write failed
	for i, f := range files {
		header := safetensorsHeader(ts, i, dtype)
		err := writeShard(filepath.Join(dir, f), func(w io.Writer) error {
			if _, err := w.Write(header); err != nil {
				return err
			}
			_, err := io.CopyN(w, pr, dataBytes[i])
			return err
		})
		if err != nil {
			return err
		}
	}
	if n, err := io.Copy(io.Discard, pr); err != nil || n != 0 {
		return fmt.Errorf("%s: the generator gave %d bytes more than the layout (%v)", dir, n, err)
	}
	if len(files) > 1 {
		if err := writeJSONFile(filepath.Join(dir, checkpoint.ShardIndexFile), shardIndex(ts, files, dataBytes)); err != nil {
			return err
		}
	}
	// config.json last: a folder left by an interrupted write is no checkpoint.
	if err := writeJSONFile(filepath.Join(dir, checkpoint.ConfigFile), cfg); err != nil {
		return err
	}
	ok = true
	bar.Done()
	what := files[0]
	if len(files) > 1 {
		what = fmt.Sprintf("%d shards", len(files))
	}
	fmt.Fprintf(stderr, "wrote %s (%s, %s of tensors) in %.1f s\n", dir, what, size(total), time.Since(start).Seconds())
	return nil
}

// writeShard writes a weight file whole or not at all (a variable for the
// test that fails a write half-way).
var writeShard = atomicfile.Write

// newOrEmptyDir creates dir, or checks that it is an empty folder: the old
// files of a folder (a stale shard index, say) would mix with the new ones.
// created says whether it made the folder.
func newOrEmptyDir(dir string) (created bool, err error) {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return false, err
		}
		return true, nil
	case err != nil:
		return false, fmt.Errorf("%s: want a new or empty folder for the checkpoint: %w", dir, err)
	case len(entries) > 0:
		return false, fmt.Errorf("%s: folder is not empty (holds %s): a checkpoint is written only into a new or empty folder", dir, entries[0].Name())
	}
	return false, nil
}

// hfLayout lists the tensors of the random model of config c in the order
// model.RandomTensors draws them, with their names and shapes in
// transformers' files (common/checkpoint/names.go).
func hfLayout(c model.Config, dtype checkpoint.DType) ([]hfTensor, error) {
	byName := map[string]model.LayerTensor{}
	for _, t := range (&model.Layer{}).Tensors(c) {
		byName[t.Name] = t
	}
	d, pv := c.DModel, c.PaddedVocab()
	var ts []hfTensor
	// A put that calls no generator draws nothing: this only lists them.
	err := model.RandomTensors(c, 0, func(name string, layer, n int, _ func(int) float32) error {
		var t hfTensor
		switch name {
		case "embedding":
			t = hfTensor{name: "backbone.embeddings.weight", shape: []int{pv, d}}
		case "norm_f":
			t = hfTensor{name: "backbone.norm_f.weight", shape: []int{d}}
		case "lm_head":
			t = hfTensor{name: "lm_head.weight", shape: []int{pv, d}}
		default:
			lt, ok := byName[name]
			if !ok {
				return fmt.Errorf("tensor %q has no checkpoint name", name)
			}
			t = hfTensor{name: "backbone.layers." + strconv.Itoa(layer) + "." + lt.Checkpoint, shape: lt.Shape}
			if name == "conv1d.weight" { // a Conv1d's weight is [out][in/groups][k]
				t.shape = []int{lt.Shape[0], 1, lt.Shape[1]}
			}
		}
		t.bytes = int64(n) * int64(dtype.Size())
		ts = append(ts, t)
		return nil
	})
	return ts, err
}

// assignShards puts the tensors, in order, into as few shards as hold at
// most maxBytes of data each (a larger tensor gets a shard of its own), as
// save_pretrained does. It returns the file names, "model.safetensors"
// alone when one shard holds everything, and the data bytes of each.
func assignShards(ts []hfTensor, maxBytes int64) (files []string, dataBytes []int64) {
	dataBytes = []int64{0}
	for i := range ts {
		cur := len(dataBytes) - 1
		if dataBytes[cur] > 0 && dataBytes[cur]+ts[i].bytes > maxBytes {
			dataBytes = append(dataBytes, 0)
			cur++
		}
		ts[i].shard, ts[i].begin = cur, dataBytes[cur]
		dataBytes[cur] += ts[i].bytes
	}
	if len(dataBytes) == 1 {
		return []string{checkpoint.SafetensorsFile}, dataBytes
	}
	for i := range dataBytes {
		files = append(files, fmt.Sprintf("model-%05d-of-%05d.safetensors", i+1, len(dataBytes)))
	}
	return files, dataBytes
}

// safetensorsHeader is the start of shard's file: the header's length
// (uint64, little-endian), then the JSON header padded with spaces to a
// multiple of 8 bytes, so that the data that follows stays aligned.
func safetensorsHeader(ts []hfTensor, shard int, dtype checkpoint.DType) []byte {
	hdr := map[string]any{"__metadata__": map[string]string{"format": "pt"}}
	for _, t := range ts {
		if t.shard == shard {
			hdr[t.name] = map[string]any{"dtype": dtype, "shape": t.shape, "data_offsets": []int64{t.begin, t.begin + t.bytes}}
		}
	}
	js, _ := json.Marshal(hdr) // strings, ints and slices of them: cannot fail
	for len(js)%8 != 0 {
		js = append(js, ' ')
	}
	return append(endian.LittleEndian.AppendUint64(nil, uint64(len(js))), js...)
}

// shardIndex is model.safetensors.index.json: the total size of the
// tensors and the shard of each.
func shardIndex(ts []hfTensor, files []string, dataBytes []int64) any {
	var total int64
	for _, n := range dataBytes {
		total += n
	}
	weightMap := map[string]string{}
	for _, t := range ts {
		weightMap[t.name] = files[t.shard]
	}
	return map[string]any{"metadata": map[string]any{"total_size": total}, "weight_map": weightMap}
}

// writeRandomValues writes the values of every tensor of the random model
// of config c and seed as little-endian dtype, in hfLayout's order, with A
// turned into A_log. It holds one chunk of values at a time.
func writeRandomValues(out io.Writer, c model.Config, seed uint64, dtype checkpoint.DType) error {
	vals := make([]float32, 1<<16)
	raw := make([]byte, 4*len(vals))
	return model.RandomTensors(c, seed, func(name string, _, n int, gen func(int) float32) error {
		for i := 0; i < n; {
			chunk := vals[:min(n-i, len(vals))]
			for j := range chunk {
				chunk[j] = gen(i + j)
			}
			if name == "A" { // stored as A_log = log(−A), which the loader exps back
				for j, a := range chunk {
					chunk[j] = float32(math.Log(-float64(a)))
				}
			}
			if _, err := out.Write(encodeValues(raw, chunk, dtype)); err != nil {
				return err
			}
			i += len(chunk)
		}
		return nil
	})
}

// encodeValues writes vals as little-endian dtype into raw (4 bytes per
// value of room) and returns the bytes written; BF16 rounds to nearest
// even, as torch's .to(torch.bfloat16).
func encodeValues(raw []byte, vals []float32, dtype checkpoint.DType) []byte {
	if dtype == checkpoint.BF16 {
		for i, v := range vals {
			endian.LittleEndian.PutUint16(raw[2*i:], model.BF16FromFloat32(v))
		}
		return raw[:2*len(vals)]
	}
	for i, v := range vals {
		endian.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	return raw[:4*len(vals)]
}

// hfConfigJSON is config.json for c in transformers' dialect: the keys of
// the -hf repos' configs (tiiuae/falcon-mamba-7b's for Falcon-Mamba, with
// expand = intermediate_size / hidden_size where that repo says 16, a value
// transformers ignores), every one of which checkpoint.ParseConfig reads
// or knows to have no effect. vocab_size is the padded vocabulary, as in
// those repos.
func hfConfigJSON(c model.Config, dtype checkpoint.DType) (any, error) {
	cfg := map[string]any{
		"hidden_size": c.DModel, "num_hidden_layers": c.NLayers, "vocab_size": c.PaddedVocab(),
		"state_size": c.DState, "conv_kernel": c.DConv, "intermediate_size": c.DInner,
		"time_step_rank": c.DtRank, "tie_word_embeddings": c.TiedHead,
		"use_bias": false, "use_conv_bias": true, "hidden_act": "silu", "layer_norm_epsilon": 1e-5,
		"initializer_range": 0.1, "rescale_prenorm_residual": false, "residual_in_fp32": true,
		"time_step_floor": 1e-4, "time_step_init_scheme": "random", "time_step_max": 0.1,
		"time_step_min": 0.001, "time_step_scale": 1.0, "use_cache": true, "bos_token_id": 0,
		"torch_dtype": map[checkpoint.DType]string{checkpoint.F32: "float32", checkpoint.BF16: "bfloat16"}[dtype],
	}
	if c.DInner%c.DModel == 0 {
		cfg["expand"] = c.DInner / c.DModel
	}
	switch c.Arch {
	case model.Mamba1:
		cfg["architectures"] = []string{"MambaForCausalLM"}
		cfg["model_type"] = "mamba"
		cfg["eos_token_id"], cfg["pad_token_id"] = 0, 0
	case model.FalconMamba:
		cfg["architectures"] = []string{"FalconMambaForCausalLM"}
		cfg["model_type"] = "falcon_mamba"
		cfg["eos_token_id"], cfg["pad_token_id"] = 11, 11
		cfg["use_mambapy"] = false
		// 1e-06 rather than float64(float32(1e-6))'s 9.999999974752427e-07.
		cfg["mixer_rms_eps"] = json.Number(strconv.FormatFloat(float64(c.MixerEps), 'g', -1, 32))
	default:
		return nil, fmt.Errorf("-format hf: no transformers config for %s", c)
	}
	return cfg, nil
}

// writeJSONFile writes v as indented JSON (transformers writes sorted keys,
// two spaces), atomically.
func writeJSONFile(path string, v any) error {
	js, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return atomicfile.Write(path, func(w io.Writer) error {
		_, err := w.Write(append(js, '\n'))
		return err
	})
}
