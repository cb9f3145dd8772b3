package model

// model.bin version 2: a header that names the architecture. mamba.c's
// format has no place for heads and groups, nor for Falcon-Mamba's mixer
// epsilon, so these models get a header of their own; the rest follows
// version 1 (each kind of tensor for all layers in turn). Mamba-2:
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
//
// Falcon-Mamba (architecture 3) has Mamba-1's tensors in version 1's order;
// its header keeps words 3..9 as Mamba-2 has them and adds its own:
//
//	header, 256 bytes, little-endian:
//	  uint32 magic, int32 version 2, int32 architecture (3 = Falcon-Mamba),
//	  int32 n_layers, vocab_size (unpadded), dim, d_inner, d_state, d_conv,
//	  shared_classifier, dt_rank, float32 mixer_rms_eps, then zeros up to 256 bytes
//	float32 tensors: exactly version 1's (embedding, in_proj … norm, norm_f, lm_head)

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// ModelBinVersion2 is the version of a model.bin whose header names its
// architecture; Mamba-2 and Falcon-Mamba models are written in it, Mamba-1
// models never (mamba.c reads them).
const ModelBinVersion2 = 2

// archCodes are the architecture numbers of a version 2 header (and of the
// state file): Arch + 1.
var archCodes = map[int32]Arch{2: Mamba2, 3: FalconMamba}

// readHeader2 parses a version 2 header (magic and version already checked).
func readHeader2(h []byte) (Config, error) {
	u32 := func(i int) uint32 { return binary.LittleEndian.Uint32(h[4*i:]) }
	i32 := func(i int) int { return int(int32(u32(i))) }
	f32 := func(i int) float32 { return math.Float32frombits(u32(i)) }
	code := int32(u32(2))
	arch, ok := archCodes[code]
	if !ok {
		return Config{}, fmt.Errorf("version 2 header names architecture %d; this build reads 2 (Mamba-2) and 3 (Falcon-Mamba) (Mamba-1 models are version 1)", code)
	}
	if arch == FalconMamba {
		return readHeaderFalcon(h)
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
	return checkHeader2(h, 16, c)
}

// checkHeader2 returns c, the config read from version 2 header h, once
// every word of h from word first on (fields this version does not know)
// is zero and c is valid.
func checkHeader2(h []byte, first int, c Config) (Config, error) {
	for i := first; i < ModelBinHeaderSize/4; i++ {
		if binary.LittleEndian.Uint32(h[4*i:]) != 0 {
			return Config{}, fmt.Errorf("bad header: byte %d is not zero (written by a newer version?)", 4*i)
		}
	}
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("bad header: %w", err)
	}
	return c, nil
}

// readHeaderFalcon parses a version 2 header of architecture 3.
func readHeaderFalcon(h []byte) (Config, error) {
	u32 := func(i int) uint32 { return binary.LittleEndian.Uint32(h[4*i:]) }
	i32 := func(i int) int { return int(int32(u32(i))) }
	c := NewFalconConfig(i32(3), i32(4), i32(5), i32(6), i32(10), i32(7), i32(8), false,
		math.Float32frombits(u32(11)))
	switch v := i32(9); v {
	case 0, 1:
		c.TiedHead = v == 1
	default:
		return Config{}, fmt.Errorf("shared_classifier is %d, want 0 or 1", v)
	}
	return checkHeader2(h, 12, c)
}

// writeHeader2 writes the 256-byte version 2 header of a Mamba-2 or
// Falcon-Mamba config.
func writeHeader2(out io.Writer, c Config) error {
	b := func(v bool) uint32 {
		if v {
			return 1
		}
		return 0
	}
	words := []uint32{ModelBinMagic, ModelBinVersion2, uint32(c.Arch) + 1,
		uint32(c.NLayers), uint32(c.VocabSize), uint32(c.DModel), uint32(c.DInner),
		uint32(c.DState), uint32(c.DConv), b(c.TiedHead)}
	if c.Arch == FalconMamba {
		words = append(words, uint32(c.DtRank), math.Float32bits(c.MixerEps))
	} else {
		words = append(words, uint32(c.NHeads), uint32(c.HeadDim), uint32(c.NGroups), b(c.NormBeforeGate),
			math.Float32bits(c.DtMin), math.Float32bits(c.DtMax))
	}
	h := make([]byte, ModelBinHeaderSize)
	for i, v := range words {
		binary.LittleEndian.PutUint32(h[4*i:], v)
	}
	_, err := out.Write(h)
	return err
}
