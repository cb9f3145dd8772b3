package quant

import "math"

// IEEE 754 half precision (float16): 1 sign bit, 5 exponent bits (bias
// 15), 10 mantissa bits. The blocks' scales are kept so, and GGUF's F16
// tensors.

// Float32FromF16 widens a float16 (its bits) to float32, exactly:
// subnormals, infinities and NaNs included.
func Float32FromF16(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // infinity or NaN
		return math.Float32frombits(sign | 0xff<<23 | mant<<13)
	case exp == 0: // zero or subnormal: ±mant·2^−24
		v := float32(mant) * (1.0 / (1 << 24))
		if sign != 0 {
			v = -v
		}
		return v
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
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
