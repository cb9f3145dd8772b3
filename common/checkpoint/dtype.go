package checkpoint

import (
	"encoding/binary"
	"fmt"
	"math"

	"mamba.go/common/model"
	"mamba.go/common/quant"
)

// DType is an element type as safetensors names it ("F32", "BF16", ...).
// PyTorch storages map onto the same names (FloatStorage is F32).
type DType string

// The element types a checkpoint tensor may have; only F32, F16 and BF16
// can be loaded, the others are known so that a header can be checked.
const (
	F32  DType = "F32"
	F16  DType = "F16"
	BF16 DType = "BF16"
)

// dtypeSizes are the element sizes of every dtype safetensors defines.
var dtypeSizes = map[DType]int{
	"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1,
	"I16": 2, "U16": 2, "F16": 2, "BF16": 2,
	"I32": 4, "U32": 4, "F32": 4,
	"I64": 8, "U64": 8, "F64": 8,
}

// Size is the size of one element in bytes, 0 for an unknown dtype.
func (d DType) Size() int { return dtypeSizes[d] }

// Loadable reports whether tensors of this dtype can be converted to float32.
func (d DType) Loadable() bool { return d == F32 || d == F16 || d == BF16 }

func checkLoadable(d DType) error {
	if !d.Loadable() {
		return fmt.Errorf("dtype %q is not supported (want F32, F16 or BF16)", d)
	}
	return nil
}

// decode converts little-endian elements of dtype d from src into dst,
// len(dst) of them; src must hold at least len(dst)·d.Size() bytes.
func decode(dst []float32, src []byte, d DType) {
	switch d {
	case F32:
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
		}
	case F16:
		for i := range dst {
			dst[i] = quant.Float32FromF16(binary.LittleEndian.Uint16(src[2*i:]))
		}
	case BF16:
		for i := range dst {
			dst[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(src[2*i:])) << 16)
		}
	default:
		panic("decode: unsupported dtype " + string(d)) // callers check Loadable first
	}
}

// decodeBF16 is decode into bfloat16: BF16 elements are copied, F32 and
// F16 ones narrowed to the nearest bfloat16 (model.BF16FromFloat32).
func decodeBF16(dst []uint16, src []byte, d DType) {
	switch d {
	case BF16:
		for i := range dst {
			dst[i] = binary.LittleEndian.Uint16(src[2*i:])
		}
	case F32:
		for i := range dst {
			dst[i] = model.BF16FromFloat32(math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:])))
		}
	case F16:
		for i := range dst {
			dst[i] = model.BF16FromFloat32(quant.Float32FromF16(binary.LittleEndian.Uint16(src[2*i:])))
		}
	default:
		panic("decodeBF16: unsupported dtype " + string(d)) // callers check Loadable first
	}
}

// NegExp is A = −exp(A_log) in float32 exactly as PyTorch computes it on
// the CPU: its float32 exp is SLEEF's expf_u10 (Cody-Waite reduction by ln 2
// in two parts, a degree-6 polynomial with fused multiply-adds, scaling by
// 2^q; at most 1 ulp off), in the AVX2, AVX512 and NEON builds alike. It
// matches torch.exp bit for bit (checked on 2 million inputs against torch
// 1.13), so a model.bin written by -torch.exp(A_log) (kroggen's export.py,
// the project's testdata) is reproduced exactly; the correctly rounded
// float32(math.Exp(float64(a))) differs from it for about 9% of inputs.
// This is what loaders use unless Checkpoint.NegExp says otherwise.
func NegExp(a float32) float32 { return -sleefExp(a) }

// NegExpNumPy is A = −exp(A_log) as NumPy's float32 SIMD exp computes it
// (Cody-Waite reduction, a Remez rational approximation P5/Q2 with fused
// multiply-adds, scaling by 2^k; max error 2.52 ulp): the rounding of the
// model.bin files in ../shared/reference/hf-transformers, which NegExp
// misses by one ulp for 4 of the 16 values log(1..16) that A_log is
// initialised with (see docs/checkpoints.md).
func NegExpNumPy(a float32) float32 { return -npExp(a) }

func sleefExp(d float32) float32 {
	const (
		rln2 = float32(1.442695040888963407359924681001892137426645954152985934135449406931)
		l2u  = float32(0.693145751953125)
		l2l  = float32(1.428606765330187045e-06)
	)
	switch {
	case d != d:
		return d
	case d > 100:
		return float32(math.Inf(1))
	case d < -104:
		return 0
	}
	q := float32(math.RoundToEven(float64(float32(d * rln2)))) // explicit conversions keep Go from fusing (arm64)
	s := fma32(q, -l2u, d)
	s = fma32(q, -l2l, s)
	u := float32(0.000198527617612853646278381)
	u = fma32(u, s, 0.00139304355252534151077271)
	u = fma32(u, s, 0.00833336077630519866943359)
	u = fma32(u, s, 0.0416664853692054748535156)
	u = fma32(u, s, 0.166666671633720397949219)
	u = fma32(u, s, 0.5)
	u = 1 + fma32(float32(s*s), u, s)
	return float32(math.Ldexp(float64(u), int(q)))
}

func npExp(x float32) float32 {
	const (
		magic = float32(12582912) // 0x1.8p23: adding and subtracting it rounds to an integer
		c1    = float32(-6.93145752e-1)
		c2    = float32(-1.42860677e-6)
		p0    = float32(9.999999999980870924916e-01)
		p1    = float32(7.257664613233124478488e-01)
		p2    = float32(2.473615434895520810817e-01)
		p3    = float32(5.114512081637298353406e-02)
		p4    = float32(6.757896990527504603057e-03)
		p5    = float32(5.082762527590693718096e-04)
		q0    = float32(1)
		q1    = float32(-2.742335390411667452936e-01)
		q2    = float32(2.159509375685829852307e-02)
		log2e = float32(1.442695040888963407359924681001892137)
	)
	switch {
	case x != x:
		return x
	case x >= 88.72283935546875:
		return float32(math.Inf(1))
	case x <= -103.97208404541015625:
		return 0
	}
	q := float32(x * log2e) // explicit conversions keep Go from fusing (arm64)
	q = float32(q + magic)
	q -= magic
	r := fma32(q, c1, x)
	r = fma32(q, c2, r)
	num := fma32(p5, r, p4)
	num = fma32(num, r, p3)
	num = fma32(num, r, p2)
	num = fma32(num, r, p1)
	num = fma32(num, r, p0)
	den := fma32(q2, r, q1)
	den = fma32(den, r, q0)
	return float32(math.Ldexp(float64(num/den), int(q)))
}

// fma32 is a float32 fused multiply-add, a·b+c rounded once. The product of
// two float32s is exact in float64; the float64 sum can only round wrongly
// to float32 when it lands exactly on a float32 rounding midpoint, and then
// the sign of its own rounding error decides.
func fma32(a, b, c float32) float32 {
	p := float64(a) * float64(b)
	s := p + float64(c)
	r := float32(s)
	if float64(r) == s || math.IsInf(s, 0) || math.IsNaN(s) {
		return r
	}
	up, down := float32(math.Nextafter(s, math.Inf(1))), float32(math.Nextafter(s, math.Inf(-1)))
	if up == down {
		return r
	}
	bb := s - p // TwoSum: s + e == p + c exactly
	e := (p - (s - bb)) + (float64(c) - bb)
	switch {
	case e > 0:
		return up
	case e < 0:
		return down
	}
	return r
}

// Rounding is a named way of computing A = −exp(A_log).
type Rounding struct {
	Name   string
	NegExp func(float32) float32
}

// Roundings are the float32 exps model.bin writers are known to use:
// PyTorch's (the default) and NumPy's.
var Roundings = []Rounding{{"PyTorch", NegExp}, {"NumPy", NegExpNumPy}}

// MatchRounding finds which of Roundings turns the checkpoint's A_log into
// exactly the A of ref (a model.bin of the same model), and sets
// ck.NegExp to it. ok is false when none does.
func (ck *Checkpoint) MatchRounding(ref *model.Weights) (name string, ok bool, err error) {
	saved := ck.NegExp
	defer func() {
		if !ok {
			ck.NegExp = saved
		}
	}()
	ck.NegExp = func(a float32) float32 { return a } // load A_log itself
	var alog [][]float32
	for _, s := range ck.slots {
		if s.negExp {
			v, err := s.load(ck.NegExp)
			if err != nil {
				return "", false, err
			}
			alog = append(alog, v)
		}
	}
	if len(alog) != len(ref.Layers) {
		return "", false, fmt.Errorf("%d layers, the reference has %d", len(alog), len(ref.Layers))
	}
	for _, r := range Roundings {
		same := true
		for i, l := range alog {
			if len(l) != len(ref.Layers[i].A) {
				return "", false, fmt.Errorf("layer %d: A has %d values, the reference %d", i, len(l), len(ref.Layers[i].A))
			}
			for j, a := range l {
				same = same && math.Float32bits(r.NegExp(a)) == math.Float32bits(ref.Layers[i].A[j])
			}
		}
		if same {
			ck.NegExp = r.NegExp
			return r.Name, true, nil
		}
	}
	return "", false, nil
}
