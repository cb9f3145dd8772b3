package model

// model.bin version 2: the Mamba-2 layout. mamba.c's format has no place
// for heads and groups, so a Mamba-2 model gets a header of its own; the
// rest follows version 1 (each kind of tensor for all layers in turn):
//
//	header, 256 bytes, little-endian:
//	  uint32 magic 0x4d616d62 ("Mamb"), int32 version 2,
//	  int32 architecture (2 = Mamba-2),
//	  int32 n_layers, vocab_size (unpadded), dim, d_inner, d_state, d_conv,
//	  shared_classifier, n_heads, head_dim, n_groups, norm_before_gate,
//	  float32 dt_min, dt_max (time_step_limit), then zeros up to 256 bytes
//	float32 tensors (h = n_heads, g·n = n_groups·d_state, cd = d_inner + 2·g·n):
//	  embedding [padded_vocab][dim]
//	  in_proj [L][2·d_inner + 2·g·n + h][dim]   rows: z, x, B, C, Δ
//	  conv1d.weight [L][cd][d_conv], conv1d.bias [L][cd]
//	  dt_bias [L][h], A [L][h] (= −exp(A_log)), D [L][h]
//	  gated_norm [L][d_inner], out_proj [L][dim][d_inner], norm [L][dim]
//	norm_f [dim]
//	lm_head [padded_vocab][dim], only when shared_classifier is 0

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// ModelBinVersion2 is the version of a model.bin whose header names its
// architecture; only Mamba-2 models are written in it.
const ModelBinVersion2 = 2

// archCodes are the architecture numbers of a version 2 header.
var archCodes = map[int32]Arch{2: Mamba2}

// readHeader2 parses a version 2 header (magic and version already checked).
func readHeader2(h []byte) (Config, error) {
	u32 := func(i int) uint32 { return binary.LittleEndian.Uint32(h[4*i:]) }
	i32 := func(i int) int { return int(int32(u32(i))) }
	f32 := func(i int) float32 { return math.Float32frombits(u32(i)) }
	code := int32(u32(2))
	arch, ok := archCodes[code]
	if !ok {
		return Config{}, fmt.Errorf("version 2 header names architecture %d; this build reads 2 (Mamba-2) (Mamba-1 models are version 1)", code)
	}
	c := Config{
		Arch: arch, NLayers: i32(3), VocabSize: i32(4), DModel: i32(5), DInner: i32(6),
		DState: i32(7), DConv: i32(8),
		Mamba2Config: Mamba2Config{NHeads: i32(10), HeadDim: i32(11), NGroups: i32(12),
			DtMin: f32(14), DtMax: f32(15)},
	}
	for _, b := range []struct {
		name string
		i    int
		dst  *bool
	}{{"shared_classifier", 9, &c.TiedHead}, {"norm_before_gate", 13, &c.NormBeforeGate}} {
		switch v := i32(b.i); v {
		case 0, 1:
			*b.dst = v == 1
		default:
			return Config{}, fmt.Errorf("%s is %d, want 0 or 1", b.name, v)
		}
	}
	for i := 16; i < ModelBinHeaderSize/4; i++ {
		if u32(i) != 0 {
			return Config{}, fmt.Errorf("bad header: byte %d is not zero (written by a newer version?)", 4*i)
		}
	}
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("bad header: %w", err)
	}
	return c, nil
}

// writeHeader2 writes the 256-byte version 2 header of a Mamba-2 config.
func writeHeader2(out io.Writer, c Config) error {
	b := func(v bool) uint32 {
		if v {
			return 1
		}
		return 0
	}
	h := make([]byte, ModelBinHeaderSize)
	for i, v := range []uint32{ModelBinMagic, ModelBinVersion2, 2,
		uint32(c.NLayers), uint32(c.VocabSize), uint32(c.DModel), uint32(c.DInner),
		uint32(c.DState), uint32(c.DConv), b(c.TiedHead),
		uint32(c.NHeads), uint32(c.HeadDim), uint32(c.NGroups), b(c.NormBeforeGate),
		math.Float32bits(c.DtMin), math.Float32bits(c.DtMax)} {
		binary.LittleEndian.PutUint32(h[4*i:], v)
	}
	_, err := out.Write(h)
	return err
}
