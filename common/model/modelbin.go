package model

// mamba.c's model.bin, exactly as kroggen/mamba.c's export.py writes it:
//
//	header, 256 bytes, little-endian:
//	  uint32 magic 0x4d616d62 ("Mamb"), int32 version 1,
//	  int32 n_layers, vocab_size (unpadded), dim, d_inner, dt_rank, d_state,
//	  d_conv, shared_classifier, then zeros up to 256 bytes
//	float32 tensors, each kind for all layers in turn:
//	  embedding [padded_vocab][dim]
//	  in_proj [L][2·d_inner][dim], conv1d.weight [L][d_inner][d_conv],
//	  conv1d.bias [L][d_inner], x_proj [L][dt_rank+2·d_state][d_inner],
//	  dt_proj.weight [L][d_inner][dt_rank], dt_proj.bias [L][d_inner],
//	  A [L][d_inner][d_state] (= −exp(A_log)), D [L][d_inner],
//	  out_proj [L][dim][d_inner], norm [L][dim]
//	norm_f [dim]
//	lm_head [padded_vocab][dim], only when shared_classifier is 0
//
// mamba.c has no Mamba-2 and no Falcon-Mamba. Their models are written as
// version 2 of the format, whose header names the architecture (modelbin2.go
// and docs/checkpoints.md); Mamba-1 models are always written as version 1,
// so that mamba.c reads them.

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"

	"mamba.go/common/atomicfile"
	"mamba.go/common/memory"
)

const (
	// ModelBinMagic is "Mamb" read as a little-endian uint32.
	ModelBinMagic   = 0x4d616d62
	ModelBinVersion = 1
	// ModelBinHeaderSize is the fixed size of the header; tensors start here.
	ModelBinHeaderSize = 256
)

// readHeader parses and validates the 256-byte header.
func readHeader(h []byte) (Config, error) {
	if len(h) < ModelBinHeaderSize {
		return Config{}, fmt.Errorf("file is %d bytes, shorter than the %d-byte header", len(h), ModelBinHeaderSize)
	}
	u32 := func(i int) uint32 { return binary.LittleEndian.Uint32(h[4*i:]) }
	if m := u32(0); m != ModelBinMagic {
		return Config{}, fmt.Errorf("bad magic %#08x, want %#08x (not a mamba.c model.bin)", m, ModelBinMagic)
	}
	switch v := int32(u32(1)); v {
	case ModelBinVersion:
	case ModelBinVersion2:
		return readHeader2(h)
	default:
		return Config{}, fmt.Errorf("unsupported version %d, want %d (Mamba-1, mamba.c's) or %d (Mamba-2, Falcon-Mamba)", v, ModelBinVersion, ModelBinVersion2)
	}
	i32 := func(i int) int { return int(int32(u32(i))) }
	c := Config{
		NLayers: i32(2), VocabSize: i32(3), DModel: i32(4), DInner: i32(5),
		DtRank: i32(6), DState: i32(7), DConv: i32(8),
	}
	switch shared := i32(9); shared {
	case 0:
	case 1:
		c.TiedHead = true
	default:
		return Config{}, fmt.Errorf("shared_classifier is %d, want 0 or 1", shared)
	}
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("bad header: %w", err)
	}
	return c, nil
}

// modelBinSize is the exact length of a model.bin with this config.
func modelBinSize(c Config) int64 {
	return ModelBinHeaderSize + 4*c.NumParams()
}

// LoadModelBin memory-maps a model.bin and returns weights that point into
// the mapping: start-up copies nothing, and the OS pages weights in as they
// are read. Close the weights to unmap.
func LoadModelBin(path string) (*Weights, error) {
	data, closer, err := memory.MapFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	w, err := parseModelBin(data)
	if err != nil {
		closer.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	w.closer = closer
	return w, nil
}

// parseModelBin slices a whole model.bin held in memory into Weights.
func parseModelBin(data []byte) (*Weights, error) {
	c, err := readHeader(data)
	if err != nil {
		return nil, err
	}
	if want := modelBinSize(c); int64(len(data)) != want {
		return nil, fmt.Errorf("file is %d bytes but its header (%s) needs %d: truncated or not this model",
			len(data), c, want)
	}
	all := BytesAsFloat32(data[ModelBinHeaderSize:])
	next := func(n int) []float32 {
		s := all[:n:n]
		all = all[n:]
		return s
	}
	w := &Weights{Config: c, Layers: make([]Layer, c.NLayers)}
	w.Embedding = next(c.PaddedVocab() * c.DModel)
	// Each kind is stored for all layers before the next kind.
	for k := range NumLayerTensors(c) {
		for i := range w.Layers {
			t := w.Layers[i].Tensors(c)[k]
			*t.Data = next(t.Len())
		}
	}
	w.NormF = next(c.DModel)
	if c.TiedHead {
		w.LMHead = w.Embedding
	} else {
		w.LMHead = next(c.PaddedVocab() * c.DModel)
	}
	return w, nil
}

// WriteModelBin writes w to path in model.bin format, through a temporary
// file renamed at the end so that a failed write never leaves a half file.
func WriteModelBin(path string, w *Weights) error {
	if err := w.Check(); err != nil {
		return fmt.Errorf("%s: refusing to write inconsistent weights: %w", path, err)
	}
	return atomicfile.Write(path, func(out io.Writer) error { return EncodeModelBin(out, w) })
}

// EncodeModelBin streams w in model.bin format, tensor by tensor.
func EncodeModelBin(out io.Writer, w *Weights) error {
	if err := WriteModelBinHeader(out, w.Config); err != nil {
		return err
	}
	c := w.Config
	if err := WriteFloat32s(out, w.Embedding); err != nil {
		return err
	}
	for k := range NumLayerTensors(c) {
		for i := range w.Layers {
			if err := WriteFloat32s(out, *w.Layers[i].Tensors(c)[k].Data); err != nil {
				return err
			}
		}
	}
	if err := WriteFloat32s(out, w.NormF); err != nil {
		return err
	}
	if !c.TiedHead {
		return WriteFloat32s(out, w.LMHead)
	}
	return nil
}

// WriteModelBinHeader writes the 256-byte header for c.
func WriteModelBinHeader(out io.Writer, c Config) error {
	if c.Arch != Mamba1 {
		return writeHeader2(out, c)
	}
	h := make([]byte, ModelBinHeaderSize)
	shared := 0
	if c.TiedHead {
		shared = 1
	}
	for i, v := range []uint32{ModelBinMagic, ModelBinVersion,
		uint32(c.NLayers), uint32(c.VocabSize), uint32(c.DModel), uint32(c.DInner),
		uint32(c.DtRank), uint32(c.DState), uint32(c.DConv), uint32(shared)} {
		binary.LittleEndian.PutUint32(h[4*i:], v)
	}
	_, err := out.Write(h)
	return err
}

// WriteFloat32s writes xs little-endian, in chunks so that no copy of a
// whole tensor is made.
func WriteFloat32s(out io.Writer, xs []float32) error {
	var buf [16 << 10]byte
	for len(xs) > 0 {
		n := min(len(xs), len(buf)/4)
		for i, x := range xs[:n] {
			binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(x))
		}
		if _, err := out.Write(buf[:4*n]); err != nil {
			return err
		}
		xs = xs[n:]
	}
	return nil
}
