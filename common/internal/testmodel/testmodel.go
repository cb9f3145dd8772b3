// Package testmodel writes small random Mamba checkpoints in the formats
// people have (safetensors, PyTorch's zip pickle, both config dialects) so
// that tests have something to load on a fresh clone, without Python.
package testmodel

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"

	"mamba.go/common/model"
	"mamba.go/common/quant"
)

// Tensor is one named tensor with its little-endian bytes.
type Tensor struct {
	Name  string
	DType string // "F32", "F16", "BF16" (or anything, to test refusals)
	Shape []int
	Data  []byte
}

// Config is a small model config with the real models' proportions.
func Config(dModel, nLayers, vocab int) model.Config {
	return model.Config{NLayers: nLayers, VocabSize: vocab, DModel: dModel, DInner: 2 * dModel,
		DtRank: (dModel + 15) / 16, DState: 4, DConv: 4, TiedHead: true}
}

// Options shape the checkpoint Tensors makes.
type Options struct {
	HFNames   bool   // backbone.embeddings.weight and no lm_head (tied); else state-spaces names with lm_head
	DType     string // element type of every tensor: F32 (default), F16 or BF16
	EmbedRows int    // rows of the embedding; 0: the padded vocabulary
	Seed      uint64
}

// Tensors makes random tensors for config c, in the order torch would save them.
func Tensors(c model.Config, o Options) []Tensor {
	if o.DType == "" {
		o.DType = "F32"
	}
	rows := o.EmbedRows
	if rows == 0 {
		rows = c.PaddedVocab()
	}
	rng := rand.New(rand.NewPCG(o.Seed, 77))
	var ts []Tensor
	add := func(name string, gen func(i int) float32, shape ...int) {
		n := 1
		for _, d := range shape {
			n *= d
		}
		v := make([]float32, n)
		for i := range v {
			v[i] = gen(i)
		}
		ts = append(ts, Tensor{Name: name, DType: o.DType, Shape: shape, Data: Encode(v, o.DType)})
	}
	uni := func(scale float64) func(int) float32 {
		return func(int) float32 { return float32((2*rng.Float64() - 1) * scale) }
	}
	d, di, r, n, k := c.DModel, c.DInner, c.DtRank, c.DState, c.DConv
	emb := "backbone.embedding.weight"
	if o.HFNames {
		emb = "backbone.embeddings.weight"
	}
	add(emb, uni(1), rows, d)
	for i := range c.NLayers {
		p := "backbone.layers." + strconv.Itoa(i) + "."
		add(p+"norm.weight", func(int) float32 { return float32(0.5 + rng.Float64()) }, d)
		add(p+"mixer.A_log", func(j int) float32 { return float32(math.Log(float64(j%n+1)) + 0.1*rng.Float64()) }, di, n)
		add(p+"mixer.D", uni(1), di)
		add(p+"mixer.conv1d.weight", uni(0.5), di, 1, k)
		add(p+"mixer.conv1d.bias", uni(0.5), di)
		add(p+"mixer.in_proj.weight", uni(1/math.Sqrt(float64(d))), 2*di, d)
		add(p+"mixer.x_proj.weight", uni(1/math.Sqrt(float64(di))), r+2*n, di)
		add(p+"mixer.dt_proj.weight", uni(1/math.Sqrt(float64(r))), di, r)
		add(p+"mixer.dt_proj.bias", func(int) float32 { return float32(-4 + rng.Float64()) }, di)
		add(p+"mixer.out_proj.weight", uni(1/math.Sqrt(float64(di))), d, di)
	}
	add("backbone.norm_f.weight", func(int) float32 { return float32(0.5 + rng.Float64()) }, d)
	if !o.HFNames {
		ts = append(ts, Tensor{Name: "lm_head.weight", DType: ts[0].DType, Shape: ts[0].Shape, Data: ts[0].Data})
	}
	return ts
}

// Encode writes float32 values as dtype, rounding to nearest even.
func Encode(v []float32, dtype string) []byte {
	switch dtype {
	case "F16", "BF16":
		out := make([]byte, 2*len(v))
		for i, x := range v {
			var h uint16
			if dtype == "F16" {
				h = quant.F16FromFloat32(x)
			} else {
				b := math.Float32bits(x)
				b += 0x7fff + (b>>16)&1
				h = uint16(b >> 16)
			}
			binary.LittleEndian.PutUint16(out[2*i:], h)
		}
		return out
	default:
		out := make([]byte, 4*len(v))
		for i, x := range v {
			binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(x))
		}
		return out
	}
}

// StateSpacesConfig is a state-spaces config.json for c.
func StateSpacesConfig(c model.Config) []byte {
	b, _ := json.Marshal(map[string]any{
		"d_model": c.DModel, "n_layer": c.NLayers, "vocab_size": c.VocabSize,
		"ssm_cfg":  map[string]any{"d_state": c.DState, "d_conv": c.DConv, "expand": c.DInner / c.DModel},
		"rms_norm": true, "residual_in_fp32": true, "fused_add_norm": true, "pad_vocab_size_multiple": 8,
	})
	return b
}

// HFConfig is a transformers MambaConfig config.json for c (vocab_size padded).
func HFConfig(c model.Config) []byte {
	b, _ := json.Marshal(map[string]any{
		"architectures": []string{"MambaForCausalLM"}, "model_type": "mamba",
		"hidden_size": c.DModel, "num_hidden_layers": c.NLayers, "vocab_size": c.PaddedVocab(),
		"state_size": c.DState, "conv_kernel": c.DConv, "expand": c.DInner / c.DModel,
		"intermediate_size": c.DInner, "time_step_rank": c.DtRank, "use_bias": false,
		"use_conv_bias": true, "tie_word_embeddings": c.TiedHead,
	})
	return b
}

// EncodeSafetensors encodes tensors as a safetensors file.
func EncodeSafetensors(ts []Tensor) []byte {
	hdr := map[string]any{"__metadata__": map[string]string{"format": "pt"}}
	off := 0
	for _, t := range ts {
		hdr[t.Name] = map[string]any{"dtype": t.DType, "shape": t.Shape, "data_offsets": []int{off, off + len(t.Data)}}
		off += len(t.Data)
	}
	h, _ := json.Marshal(hdr)
	for len(h)%8 != 0 {
		h = append(h, ' ')
	}
	var buf bytes.Buffer
	binary.Write(&buf, binary.LittleEndian, uint64(len(h)))
	buf.Write(h)
	for _, t := range ts {
		buf.Write(t.Data)
	}
	return buf.Bytes()
}

// Storage is one storage of a torch zip checkpoint.
type Storage struct {
	Key   string
	Class string // FloatStorage, HalfStorage, BFloat16Storage, ...
	Data  []byte
	Numel int
	Omit  bool // referenced by the pickle but absent from the archive
}

// Ref is one tensor of a torch zip checkpoint: a view of a storage.
type Ref struct {
	Name          string
	Key           string
	Offset        int
	Shape, Stride []int
}

var storageClass = map[string]string{"F32": "FloatStorage", "F16": "HalfStorage", "BF16": "BFloat16Storage", "F64": "DoubleStorage", "I64": "LongStorage"}
var classSize = map[string]int{"FloatStorage": 4, "HalfStorage": 2, "BFloat16Storage": 2, "DoubleStorage": 8, "LongStorage": 8}

// TorchParts turns tensors into storages and views as torch.save would:
// one storage per tensor, except that a tensor whose bytes equal the first
// tensor's (a tied head) shares its storage.
func TorchParts(ts []Tensor) ([]Storage, []Ref) {
	var ss []Storage
	var rs []Ref
	for _, t := range ts {
		key := strconv.Itoa(len(ss))
		if len(ss) > 0 && t.Name == "lm_head.weight" && bytes.Equal(t.Data, ss[0].Data) {
			key = ss[0].Key
		} else {
			cl := storageClass[t.DType]
			ss = append(ss, Storage{Key: key, Class: cl, Data: t.Data, Numel: len(t.Data) / classSize[cl]})
		}
		rs = append(rs, Ref{Name: t.Name, Key: key, Shape: t.Shape, Stride: Contiguous(t.Shape)})
	}
	return ss, rs
}

// Contiguous is the row-major stride of shape.
func Contiguous(shape []int) []int {
	s := make([]int, len(shape))
	acc := 1
	for i := len(shape) - 1; i >= 0; i-- {
		s[i] = acc
		acc *= shape[i]
	}
	return s
}

// EncodeTorchZip encodes a state dict in PyTorch's zip format, with a
// pickle like the one torch.save writes (protocol 2). The storages are
// stored with method (zip.Store as torch does, or zip.Deflate).
func EncodeTorchZip(archive string, ss []Storage, rs []Ref, method uint16) []byte {
	var p bytes.Buffer
	str := func(s string) {
		p.WriteByte('X')
		binary.Write(&p, binary.LittleEndian, uint32(len(s)))
		p.WriteString(s)
	}
	num := func(n int) {
		p.WriteByte('J')
		binary.Write(&p, binary.LittleEndian, int32(n))
	}
	tuple := func(xs []int) {
		p.WriteByte('(')
		for _, x := range xs {
			num(x)
		}
		p.WriteByte('t')
	}
	class := map[string]string{}
	for _, s := range ss {
		class[s.Key] = s.Class
	}
	numel := map[string]int{}
	for _, s := range ss {
		numel[s.Key] = s.Numel
	}
	p.WriteString("\x80\x02ccollections\nOrderedDict\nq\x00)Rq\x01(")
	for _, r := range rs {
		str(r.Name)
		p.WriteString("ctorch._utils\n_rebuild_tensor_v2\n(")
		p.WriteByte('(')
		str("storage")
		p.WriteString("ctorch\n" + class[r.Key] + "\n")
		str(r.Key)
		str("cpu")
		num(numel[r.Key])
		p.WriteString("tQ")
		num(r.Offset)
		tuple(r.Shape)
		tuple(r.Stride)
		p.WriteString("\x89ccollections\nOrderedDict\n)RtR")
	}
	p.WriteString("u.")
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	put := func(name string, data []byte) {
		w, _ := zw.CreateHeader(&zip.FileHeader{Name: archive + "/" + name, Method: method})
		w.Write(data)
	}
	put("data.pkl", p.Bytes())
	put("byteorder", []byte("little"))
	for _, s := range ss {
		if !s.Omit {
			put("data/"+s.Key, s.Data)
		}
	}
	put("version", []byte("3\n"))
	zw.Close()
	return buf.Bytes()
}

// Format is a checkpoint layout WriteCheckpoint can write.
type Format string

const (
	HFSafetensors     Format = "hf"           // config.json (HF) + model.safetensors, HF names, no lm_head
	StateSpacesTorch  Format = "state-spaces" // config.json (state-spaces) + pytorch_model.bin with lm_head
	HFShards          Format = "hf-sharded"   // HF, tensors split over two shards + index
	StateSpacesSafets Format = "ss-safetensors"
)

// WriteCheckpoint writes a random checkpoint folder for c in format f.
func WriteCheckpoint(dir string, c model.Config, f Format, o Options) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	write := func(name string, data []byte) error { return os.WriteFile(filepath.Join(dir, name), data, 0o644) }
	o.HFNames = f == HFSafetensors || f == HFShards
	ts := Tensors(c, o)
	switch f {
	case HFSafetensors:
		if err := write("config.json", HFConfig(c)); err != nil {
			return err
		}
		return write("model.safetensors", EncodeSafetensors(ts))
	case HFShards:
		if err := write("config.json", HFConfig(c)); err != nil {
			return err
		}
		half := len(ts) / 2
		names := []string{"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"}
		wm := map[string]string{}
		for i, t := range ts {
			wm[t.Name] = names[min(i/half, 1)]
		}
		idx, _ := json.Marshal(map[string]any{"metadata": map[string]any{}, "weight_map": wm})
		if err := write("model.safetensors.index.json", idx); err != nil {
			return err
		}
		if err := write(names[0], EncodeSafetensors(ts[:half])); err != nil {
			return err
		}
		return write(names[1], EncodeSafetensors(ts[half:]))
	case StateSpacesTorch:
		if err := write("config.json", StateSpacesConfig(c)); err != nil {
			return err
		}
		ss, rs := TorchParts(ts)
		return write("pytorch_model.bin", EncodeTorchZip("pytorch_model", ss, rs, zip.Store))
	case StateSpacesSafets:
		if err := write("config.json", StateSpacesConfig(c)); err != nil {
			return err
		}
		return write("model.safetensors", EncodeSafetensors(ts))
	}
	return fmt.Errorf("unknown format %q", f)
}
