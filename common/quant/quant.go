// Package quant holds the block formats that quantized weights are kept in:
// GGUF's (ggml's) Q8_0 and Q4_0, their float16 scales, and the reference
// quantize and dequantize of each, value by value. A quantized matrix is
// [rows][cols] with cols a multiple of BlockSize: each row is cols/32
// blocks, one after the other, rows after each other, exactly as a GGUF
// file stores the tensor (so a file's bytes are used as they are).
//
//	Q8_0 block (34 bytes): d float16, q [32]int8          w[j] = d·q[j]
//	Q4_0 block (18 bytes): d float16, q [16]byte          w[j] = d·(nibble[j] − 8)
//	                       nibble[j] = q[j] & 15 for j < 16, q[j−16] >> 4 for j ≥ 16
//
// The kernels that multiply by such weights (fused/internal/kernels) widen
// each value with this formula and sum in float32, so a product with
// quantized weights equals the float32 product with the dequantized ones
// (Dequantize) up to float32 rounding.
package quant

import (
	"fmt"
	"math"
)

// Type is a tensor's element type, numbered as ggml numbers them (the
// numbers a GGUF file stores).
type Type uint32

// The types a GGUF file of a Mamba model may hold. F32, F16 and BF16 are
// exact formats; Q8_0 and Q4_0 are the block formats of this package; the
// K-quants (super-blocks of 256) are read by the GGUF loader.
const (
	F32  Type = 0
	F16  Type = 1
	Q4_0 Type = 2
	Q8_0 Type = 8
	Q4_K Type = 12
	Q5_K Type = 13
	Q6_K Type = 14
	BF16 Type = 30
)

// String is the type's name as ggml and llama.cpp spell it.
func (t Type) String() string {
	switch t {
	case F32:
		return "F32"
	case F16:
		return "F16"
	case Q4_0:
		return "Q4_0"
	case Q8_0:
		return "Q8_0"
	case Q4_K:
		return "Q4_K"
	case Q5_K:
		return "Q5_K"
	case Q6_K:
		return "Q6_K"
	case BF16:
		return "BF16"
	}
	return fmt.Sprintf("type %d", uint32(t))
}

// BlockSize is the number of weights a Q8_0 or Q4_0 block holds.
const BlockSize = 32

// The bytes of one block: a float16 scale and the 32 values.
const (
	Q8_0BlockBytes = 2 + BlockSize   // 34: 8.5 bits a weight
	Q4_0BlockBytes = 2 + BlockSize/2 // 18: 4.5 bits a weight
)

// Blocks is a matrix kept in a block format: Data is its rows of Type's
// blocks. The zero Blocks holds nothing (the matrix is kept otherwise).
type Blocks struct {
	Type Type
	Data []byte
}

// BlockBytes is the size of one block of t (Q8_0, Q4_0), 0 for others.
func BlockBytes(t Type) int {
	switch t {
	case Q8_0:
		return Q8_0BlockBytes
	case Q4_0:
		return Q4_0BlockBytes
	}
	return 0
}

// Bytes is the size of n values of t in blocks (n a multiple of BlockSize).
func Bytes(t Type, n int) int { return n / BlockSize * BlockBytes(t) }

// Quantizable reports whether a matrix of cols columns can be kept in
// blocks: each row must be whole blocks. A matrix whose rows are not
// (Mamba-1's dt_proj, [di][r] with r = 48 in mamba-130m) stays float32, as
// llama.cpp's quantizer leaves it.
func Quantizable(cols int) bool { return cols > 0 && cols%BlockSize == 0 }

// ParseType reads the names the -weights and -type flags take: q8_0, q4_0.
func ParseType(s string) (Type, error) {
	switch s {
	case "q8_0", "Q8_0":
		return Q8_0, nil
	case "q4_0", "Q4_0":
		return Q4_0, nil
	}
	return 0, fmt.Errorf("quantized type %q: want q8_0 or q4_0", s)
}

// Quantize returns src (a multiple of BlockSize values) in t's blocks.
func Quantize(t Type, src []float32) []byte {
	dst := make([]byte, Bytes(t, len(src)))
	QuantizeInto(t, dst, src)
	return dst
}

// QuantizeInto writes src in t's blocks to dst (Bytes(t, len(src)) bytes).
func QuantizeInto(t Type, dst []byte, src []float32) {
	bb := BlockBytes(t)
	if bb == 0 || len(src)%BlockSize != 0 || len(dst) != Bytes(t, len(src)) {
		panic(fmt.Sprintf("quant: %d values into %d bytes of %v", len(src), len(dst), t))
	}
	for b := 0; b < len(src)/BlockSize; b++ {
		x, blk := src[b*BlockSize:(b+1)*BlockSize], dst[b*bb:(b+1)*bb]
		if t == Q8_0 {
			quantizeBlockQ8_0(blk, x)
		} else {
			quantizeBlockQ4_0(blk, x)
		}
	}
}

// quantizeBlockQ8_0: d = max|x|/127, q[j] = round(x[j]/d), as ggml's
// quantize_row_q8_0_ref (the scale is rounded to float16 after the values
// are, as there).
func quantizeBlockQ8_0(blk []byte, x []float32) {
	var amax float32
	for _, v := range x {
		amax = max(amax, abs32(v))
	}
	d := amax / 127
	var id float32
	if d != 0 {
		id = 1 / d
	}
	putF16(blk, F16FromFloat32(d))
	for j, v := range x {
		blk[2+j] = byte(int8(roundHalfAway(v * id)))
	}
}

// quantizeBlockQ4_0: m is the value of largest magnitude (with its sign),
// d = m/−8, nibble[j] = min(15, ⌊x[j]/d + 8.5⌋), as ggml's
// quantize_row_q4_0_ref: the largest value maps to −8 exactly and 0 to 8.
func quantizeBlockQ4_0(blk []byte, x []float32) {
	var amax, m float32
	for _, v := range x {
		if abs32(v) > amax {
			amax, m = abs32(v), v
		}
	}
	d := m / -8
	var id float32
	if d != 0 {
		id = 1 / d
	}
	putF16(blk, F16FromFloat32(d))
	nibble := func(v float32) byte { return byte(min(15, int8(v*id+8.5))) }
	for j := range BlockSize / 2 {
		blk[2+j] = nibble(x[j]) | nibble(x[j+BlockSize/2])<<4
	}
}

// Dequantize returns the float32 values of t's blocks src.
func Dequantize(t Type, src []byte) []float32 {
	bb := BlockBytes(t)
	if bb == 0 {
		panic(fmt.Sprintf("quant: dequantize %v", t))
	}
	dst := make([]float32, len(src)/bb*BlockSize)
	DequantizeInto(t, dst, src)
	return dst
}

// DequantizeInto writes the values of t's blocks src to dst
// (len(dst)/BlockSize blocks are read).
func DequantizeInto(t Type, dst []float32, src []byte) {
	bb := BlockBytes(t)
	for b := 0; b < len(dst)/BlockSize; b++ {
		blk, w := src[b*bb:(b+1)*bb], dst[b*BlockSize:(b+1)*BlockSize]
		d := BlockScale(blk)
		switch t {
		case Q8_0: // w[j] = d·q[j]
			for j := range w {
				w[j] = d * float32(int8(blk[2+j]))
			}
		case Q4_0: // w[j] = d·(nibble[j] − 8)
			for j := range BlockSize / 2 {
				w[j] = d * float32(int(blk[2+j]&15)-8)
				w[j+BlockSize/2] = d * float32(int(blk[2+j]>>4)-8)
			}
		default:
			panic(fmt.Sprintf("quant: dequantize %v", t))
		}
	}
}

// BlockScale is a block's d: its first two bytes, a little-endian float16.
func BlockScale(blk []byte) float32 { return Float32FromF16(getF16(blk)) }

func getF16(b []byte) uint16    { return uint16(b[0]) | uint16(b[1])<<8 }
func putF16(b []byte, h uint16) { b[0], b[1] = byte(h), byte(h>>8) }

func abs32(v float32) float32 { return math.Float32frombits(math.Float32bits(v) &^ (1 << 31)) }

// roundHalfAway is C's roundf: to the nearest integer, halves away from 0.
func roundHalfAway(v float32) float32 { return float32(math.Round(float64(v))) }
