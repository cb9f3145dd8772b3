package kernels

import "math"

// Float32 versions of the scalar functions that learning computes through
// float64 math.Exp and math.Log1p. A token of the 130m model needs about
// 600 000 exponentials (one per SSM state entry per layer): at ~15 ns for
// math.Exp that alone would be 9 ms, more than the whole weight stream.
// These are polynomial approximations within about 2 ulp of float32, far
// inside compare's tolerance (refcase.DefaultTol: logits within 1e-5 of
// the largest |logit|).

const (
	log2e  = 1.44269504088896341
	ln2Hi  = 0.693359375 // ln 2 split in two so that k·ln2Hi is exact
	ln2Lo  = -2.12194440e-4
	expMin = -87.33654 // below this eˣ is under float32's smallest normal
	expMax = 88.72283  // above this eˣ overflows
	// shifter is 1.5·2²³: float32 sums of this size have no fraction bits.
	shifter = 12582912
)

// Exp32 is eˣ in float32, by Cody–Waite range reduction and Cephes' expf
// polynomial: x = k·ln2 + r with |r| ≤ ln2/2, eˣ = 2ᵏ·eʳ.
func Exp32(x float32) float32 {
	if x < expMin {
		return 0 // learning would return a subnormal; the difference is < 1.2e-38
	}
	if x > expMax {
		return float32(math.Inf(1))
	}
	// k = round(x·log2 e): adding and removing 1.5·2²³ rounds to an integer.
	k := (x*log2e + shifter) - shifter
	r := x - k*ln2Hi - k*ln2Lo
	p := float32(1.9875691500e-4)
	p = p*r + 1.3981999507e-3
	p = p*r + 8.3334519073e-3
	p = p*r + 4.1665795894e-2
	p = p*r + 1.6666665459e-1
	p = p*r + 5.0000001201e-1
	p = p*r*r + r + 1
	if k > 127 {
		// x in (88.38, expMax]: 2¹²⁸ is not a float32, but 2·p·2¹²⁷ is finite.
		return 2 * p * math.Float32frombits(254<<23)
	}
	return p * math.Float32frombits(uint32(int32(k)+127)<<23)
}

// SiLU32: x · σ(x) = x / (1 + e^−x), learning's silu for one value.
func SiLU32(x float32) float32 {
	return x / (1 + Exp32(-x))
}

// Softplus32: log(1 + eˣ), learning's softplus for one value, returning x
// itself above 20 as PyTorch does.
// Written as max(x, 0) + log1p(e^−|x|) so that nothing overflows, with
// log1p(t) = 2·atanh(t / (2 + t)) summed as a series: t ∈ (0, 1] makes
// s = t/(2+t) ≤ 1/3, and s¹⁵/15 is below float32's precision.
func Softplus32(x float32) float32 {
	if x > 20 {
		return x
	}
	ax := x
	if ax < 0 {
		ax = -ax
	}
	t := Exp32(-ax)
	s := t / (2 + t)
	s2 := s * s
	// atanh(s) = s + s³/3 + s⁵/5 + … + s¹³/13
	p := float32(1.0 / 13)
	p = p*s2 + 1.0/11
	p = p*s2 + 1.0/9
	p = p*s2 + 1.0/7
	p = p*s2 + 1.0/5
	p = p*s2 + 1.0/3
	l := 2 * s * (1 + s2*p)
	if x > 0 {
		return x + l
	}
	return l
}
