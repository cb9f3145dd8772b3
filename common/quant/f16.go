package quant

import "math"

// IEEE 754 half precision (float16): 1 sign bit, 5 exponent bits (bias
// 15), 10 mantissa bits. The blocks' scales are kept so, and GGUF's F16
// tensors.

// Float32FromF16 widens a float16 (its bits) to float32 exactly: every
// half, subnormals, infinities and NaNs included, is a float32.
func Float32FromF16(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // inf or NaN, keeping the payload
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp != 0: // normal
		return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
	case mant == 0: // ±0
		return math.Float32frombits(sign)
	default: // subnormal: normalise the mantissa
		e := uint32(127 - 15 + 1)
		for mant&0x400 == 0 {
			mant <<= 1
			e--
		}
		return math.Float32frombits(sign | e<<23 | (mant&0x3ff)<<13)
	}
}

// F16FromFloat32 narrows f to the nearest float16, ties to even; values
// beyond float16's range become infinities, NaN stays NaN.
func F16FromFloat32(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xff
	mant := b & 0x7fffff
	if exp == 0xff { // infinity or NaN (keep a NaN a NaN)
		if mant != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 { // a float16 subnormal or zero: round mant·2^(exp−150) to a multiple of 2^−24
		if e < -10 {
			return sign
		}
		m := mant | 1<<23 // the implicit bit
		shift := uint32(14 - e)
		half := uint32(1) << (shift - 1)
		r := m >> shift
		if rem := m & (1<<shift - 1); rem > half || (rem == half && r&1 == 1) {
			r++
		}
		return sign | uint16(r)
	}
	r := uint32(e)<<10 | mant>>13
	if rem := mant & 0x1fff; rem > 0x1000 || (rem == 0x1000 && r&1 == 1) {
		r++ // may carry into the exponent, up to infinity: still right
	}
	return sign | uint16(r)
}
