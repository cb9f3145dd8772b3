package model

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"

	"mamba.go/common/atomicfile"
	"mamba.go/common/internal/safefile"
)

// State is the recurrent state of a Mamba model after some tokens: all it
// remembers of the past. Its size does not grow with the sequence.
type State struct {
	Config Config // the model the state belongs to
	// Fingerprint identifies the weights that made the state (Fingerprint
	// of them); 0 when unknown. Two models of one shape differ here.
	Fingerprint uint64
	Conv        []float32 // [n_layers][conv_dim][d_conv]  the last d_conv inputs of each channel's convolution, oldest first
	SSM         []float32 // [n_layers][d_inner][d_state] h, the selective-scan state; Mamba-2: [n_layers][n_heads][head_dim][d_state]
}

// conv_dim is d_inner in Mamba-1 and d_inner + 2·n_groups·d_state in
// Mamba-2, whose convolution runs over x, B and C (Config.ConvDim).

// NewState returns the empty state (all zeros) for c.
func NewState(c Config) *State {
	return &State{
		Config: c,
		Conv:   make([]float32, c.NLayers*c.ConvStateLen()),
		SSM:    make([]float32, c.NLayers*c.SSMStateLen()),
	}
}

// Clone returns a deep copy.
func (s *State) Clone() *State {
	return &State{Config: s.Config, Fingerprint: s.Fingerprint, Conv: append([]float32(nil), s.Conv...), SSM: append([]float32(nil), s.SSM...)}
}

// CheckFor refuses a state that was not made by a model of config c.
func (s *State) CheckFor(c Config) error {
	if err := s.checkConfig(c); err != nil {
		return err
	}
	if len(s.Conv) != c.NLayers*c.ConvStateLen() || len(s.SSM) != c.NLayers*c.SSMStateLen() {
		return fmt.Errorf("state has %d conv and %d ssm values, want %d and %d",
			len(s.Conv), len(s.SSM), c.NLayers*c.ConvStateLen(), c.NLayers*c.SSMStateLen())
	}
	return nil
}

// CheckFingerprint refuses a state whose fingerprint names other weights
// than fp (the model's Fingerprint): a state of the same shape from other
// weights would load and quietly mean nothing. Every implementation's
// SetState calls it; a state of fingerprint 0 (unknown) passes.
func (s *State) CheckFingerprint(fp uint64) error {
	if s.Fingerprint == 0 || s.Fingerprint == fp {
		return nil
	}
	return fmt.Errorf("state was saved from other weights of the same shape (weights fingerprint %016x, this model's is %016x); a Fingerprint of 0 loads it anyway", s.Fingerprint, fp)
}

// checkConfig refuses a state whose header names another model than c.
func (s *State) checkConfig(c Config) error {
	sc := s.Config
	if sc.Arch != c.Arch {
		return fmt.Errorf("state is for a %s model, this model is %s", sc.Arch, c.Arch)
	}
	if sc.NHeads != c.NHeads || sc.HeadDim != c.HeadDim || sc.NGroups != c.NGroups {
		return fmt.Errorf("state is for another model (%s), this model is %s", stateShape(sc), stateShape(c))
	}
	if sc.NLayers != c.NLayers || sc.DModel != c.DModel || sc.DInner != c.DInner ||
		sc.DState != c.DState || sc.DConv != c.DConv || sc.DtRank != c.DtRank || sc.PaddedVocab() != c.PaddedVocab() {
		return fmt.Errorf("state is for another model (%s), this model is %s", stateShape(sc), stateShape(c))
	}
	return nil
}

func stateShape(c Config) string {
	if c.Arch == Mamba2 {
		return fmt.Sprintf("Mamba-2 n_layers=%d padded_vocab=%d d_model=%d d_inner=%d n_heads=%d head_dim=%d n_groups=%d d_state=%d d_conv=%d",
			c.NLayers, c.PaddedVocab(), c.DModel, c.DInner, c.NHeads, c.HeadDim, c.NGroups, c.DState, c.DConv)
	}
	return fmt.Sprintf("n_layers=%d padded_vocab=%d d_model=%d d_inner=%d dt_rank=%d d_state=%d d_conv=%d",
		c.NLayers, c.PaddedVocab(), c.DModel, c.DInner, c.DtRank, c.DState, c.DConv)
}

// CheckWeights refuses a state saved from other weights than w (same
// shape, other training: the state would load and quietly mean nothing).
// A state whose fingerprint is unknown (0) passes, and so does one that
// carries the fingerprint of w's float32 values unrounded
// (fingerprintUnrounded), which the state files of float32 weights
// carried before Fingerprint rounded them.
func (s *State) CheckWeights(w *Weights) error {
	if s.Fingerprint == 0 {
		return nil
	}
	fp := Fingerprint(w)
	if s.Fingerprint == fp || !w.BF16 && s.Fingerprint == fingerprintUnrounded(w) {
		return nil
	}
	return fmt.Errorf("state was saved from other weights of the same shape (weights fingerprint %016x, this model's is %016x)", s.Fingerprint, fp)
}

// Fingerprint is a cheap identity of a model's weights, recorded in the
// state files it saves: FNV-1a (64 bit) over the config and, for every
// tensor, its length and the bits of 4 values at its start, 4 at its middle
// and 4 at its end. It reads a few pages per tensor, not the weights, and
// is the same for the same weights in any file format (it hashes float32
// values, not file bytes). A is left out: it is −exp(A_log), computed by
// whoever converted the checkpoint, and converters may differ by an ulp.
//
// The values of the tensors that can be kept as bfloat16 (the products'
// weights, the embedding, the head: Weights.BF16) are hashed rounded to
// bfloat16 (BF16FromFloat32), as narrowing rounds them, and a bfloat16
// value as its float32 widening: one checkpoint has one fingerprint, run
// as float32, narrowed to bfloat16 at load, or kept as the bfloat16 it
// stores, so that a state saved under one loads under the others. Two
// trainings of one shape still differ in the rounded values: a weight
// changes bfloat16's 8 significant bits at a relative change of 2⁻⁸, and
// the hash takes 12 of each tensor's.
func Fingerprint(w *Weights) uint64 { return fingerprint(w, true) }

// fingerprintUnrounded is Fingerprint over the float32 values' own bits,
// the products' unrounded: what the first state files of float32 weights
// carry. For weights kept as bfloat16 it is Fingerprint.
func fingerprintUnrounded(w *Weights) uint64 { return fingerprint(w, false) }

// fingerprint is Fingerprint; round rounds the values of the tensors that
// can be kept as bfloat16.
func fingerprint(w *Weights, round bool) uint64 {
	const prime = 1099511628211
	h := uint64(14695981039346656037)
	mix := func(v uint64) {
		for range 8 {
			h ^= v & 0xff
			h *= prime
			v >>= 8
		}
	}
	c := w.Config
	// The padded vocabulary: transformers' configs give only that one, and
	// the same weights must give the same fingerprint in every format.
	for _, v := range []int{c.NLayers, c.PaddedVocab(), c.DModel, c.DInner, c.DtRank, c.DState, c.DConv} {
		mix(uint64(v))
	}
	// A tensor mixes in its length and 12 of its values as float32 bits.
	values := func(n int, bits func(i int) uint32) {
		mix(uint64(n))
		for _, start := range []int{0, n/2 - 2, n - 4} {
			for i := max(start, 0); i < min(start+4, n); i++ {
				mix(uint64(bits(i)))
			}
		}
	}
	vector := func(x []float32) { values(len(x), func(i int) uint32 { return math.Float32bits(x[i]) }) }
	product := func(x []float32) {
		if !round {
			vector(x)
			return
		}
		values(len(x), func(i int) uint32 { return uint32(BF16FromFloat32(x[i])) << 16 })
	}
	productBF16 := func(x []uint16) { values(len(x), func(i int) uint32 { return uint32(x[i]) << 16 }) }
	if w.BF16 {
		productBF16(w.EmbeddingBF16)
	} else {
		product(w.Embedding)
	}
	for i := range w.Layers {
		for _, t := range w.Layers[i].Tensors(c) {
			switch {
			case t.Name == "A":
			case t.BF16 == nil:
				vector(*t.Data)
			case w.BF16:
				productBF16(*t.BF16)
			default:
				product(*t.Data)
			}
		}
	}
	vector(w.NormF)
	if w.BF16 {
		productBF16(w.LMHeadBF16)
	} else {
		product(w.LMHead)
	}
	if h == 0 {
		h = 1 // 0 means unknown
	}
	return h
}

// The state file: a 64-byte little-endian header, then Conv, then SSM as float32.
//
//	uint32 magic 0x7453624d ("MbSt"), uint32 version 2,
//	int32 n_layers, vocab_size, d_model, d_inner, dt_rank, d_state, d_conv,
//	uint64 weights fingerprint (0: unknown),
//	int32 architecture (1 = Mamba-1, 2 = Mamba-2, 3 = Falcon-Mamba), n_heads, head_dim, n_groups
//	(0 in Mamba-1), zeros to 64 bytes
//
// Version 1 (before Mamba-2) has no architecture and is read as a Mamba-1
// state; its words 9 and 10 are the fingerprint, or zeros in the first files.
const (
	stateMagic      = 0x7453624d
	stateVersion    = 2
	stateVersion1   = 1
	stateHeaderSize = 64
)

// MarshalBinary encodes the state in the versioned state format.
func (s *State) MarshalBinary() ([]byte, error) {
	var b bytes.Buffer
	if err := s.Encode(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Encode writes the state in the versioned state format.
func (s *State) Encode(w io.Writer) error {
	c := s.Config
	h := make([]byte, stateHeaderSize)
	for i, v := range []uint32{stateMagic, stateVersion, uint32(c.NLayers), uint32(c.VocabSize),
		uint32(c.DModel), uint32(c.DInner), uint32(c.DtRank), uint32(c.DState), uint32(c.DConv)} {
		binary.LittleEndian.PutUint32(h[4*i:], v)
	}
	binary.LittleEndian.PutUint64(h[36:], s.Fingerprint)
	for i, v := range []uint32{uint32(c.Arch) + 1, uint32(c.NHeads), uint32(c.HeadDim), uint32(c.NGroups)} {
		binary.LittleEndian.PutUint32(h[44+4*i:], v)
	}
	if _, err := w.Write(h); err != nil {
		return err
	}
	if err := WriteFloat32s(w, s.Conv); err != nil {
		return err
	}
	return WriteFloat32s(w, s.SSM)
}

// UnmarshalBinary decodes a state written by MarshalBinary.
func (s *State) UnmarshalBinary(data []byte) error {
	c, fp, err := parseStateHeader(data)
	if err != nil {
		return err
	}
	nConv := c.NLayers * c.ConvStateLen()
	if want := stateSize(c); int64(len(data)) != want {
		return fmt.Errorf("state is %d bytes, its header needs %d", len(data), want)
	}
	body := data[stateHeaderSize:]
	s.Config, s.Fingerprint = c, fp
	s.Conv = decodeFloat32s(body[:4*nConv])
	s.SSM = decodeFloat32s(body[4*nConv:])
	return nil
}

// stateSize is the length of the state file of a model of config c.
func stateSize(c Config) int64 {
	return stateHeaderSize + 4*int64(c.NLayers)*(int64(c.ConvStateLen())+int64(c.SSMStateLen()))
}

// parseStateHeader reads the model config and the weights fingerprint
// from a state file's header.
func parseStateHeader(data []byte) (Config, uint64, error) {
	if len(data) < stateHeaderSize {
		return Config{}, 0, fmt.Errorf("state is %d bytes, shorter than its %d-byte header", len(data), stateHeaderSize)
	}
	u32 := func(i int) uint32 { return binary.LittleEndian.Uint32(data[4*i:]) }
	if u32(0) != stateMagic {
		return Config{}, 0, errors.New("not a mamba.go state file (bad magic)")
	}
	v := u32(1)
	if v != stateVersion && v != stateVersion1 {
		return Config{}, 0, fmt.Errorf("unsupported state version %d, want %d or %d", v, stateVersion1, stateVersion)
	}
	i32 := func(i int) int { return int(int32(u32(i))) }
	c := Config{NLayers: i32(2), VocabSize: i32(3), DModel: i32(4), DInner: i32(5), DtRank: i32(6), DState: i32(7), DConv: i32(8)}
	if v == stateVersion {
		switch a := i32(11); a {
		case 1:
		case 2:
			// The state does not depend on time_step_limit or the gate's order.
			c.Arch = Mamba2
			c.Mamba2Config = Mamba2Config{NHeads: i32(12), HeadDim: i32(13), NGroups: i32(14),
				DtMin: DtUnlimited[0], DtMax: DtUnlimited[1]}
		case 3:
			// Falcon-Mamba's state is Mamba-1's; it does not depend on mixer_rms_eps.
			c.Arch, c.MixerEps = FalconMamba, DefaultMixerEps
		default:
			return Config{}, 0, fmt.Errorf("state names architecture %d, want 1 (Mamba-1), 2 (Mamba-2) or 3 (Falcon-Mamba)", a)
		}
	}
	if err := c.Validate(); err != nil {
		return Config{}, 0, fmt.Errorf("bad state header: %w", err)
	}
	return c, binary.LittleEndian.Uint64(data[36:]), nil
}

func decodeFloat32s(b []byte) []float32 {
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

// SaveState writes s to path, atomically: a file being read (a model that
// is memory-mapped, say) is replaced, never truncated under its reader.
func SaveState(path string, s *State) error {
	return atomicfile.Write(path, s.Encode)
}

// LoadState reads a state file and checks that it belongs to a model of
// config c. The header is checked before the rest is read, so that a wrong
// path (a model file, /dev/zero) is refused without reading it whole.
func LoadState(path string, c Config) (*State, error) {
	f, _, err := safefile.Open(path) // a named pipe or a device is refused before it can block
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	defer f.Close()
	header := make([]byte, stateHeaderSize)
	n, _ := io.ReadFull(f, header)
	sc, _, err := parseStateHeader(header[:n])
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := (&State{Config: sc}).checkConfig(c); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	data := make([]byte, stateSize(c)+1) // one byte more, to notice a longer file
	copy(data, header)
	n, err = io.ReadFull(f, data[stateHeaderSize:])
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF { // a short file is told by its size below
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	s := new(State)
	if err := s.UnmarshalBinary(data[:stateHeaderSize+n]); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}
