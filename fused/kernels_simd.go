//go:build goexperiment.simd && amd64

package fused

import (
	"simd/archsimd"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// With GOEXPERIMENT=simd the products and the scan use Go's simd/archsimd
// vectors, 16 float32 lanes, where the CPU has AVX-512; elsewhere the
// products use gonum's SSE kernel and the scan the scalar loop.

var (
	hasAVX512 = archsimd.X86.AVX512()
	hasAVX    = archsimd.X86.AVX()
)

// clearUpper is VZEROUPPER, run before scalar float code. Scalar SSE
// instructions after AVX-512 code pay for false dependencies on the upper
// register halves, and in a GOEXPERIMENT=simd build something outside our
// kernels leaves them dirty too (docs/fused.md, "The simd build and
// VZEROUPPER").
func clearUpper() {
	if hasAVX {
		archsimd.ClearAVXUpperBits()
	}
}

// matVecF32 is matVec (matrix.go) on float32 weights:
// out[i] = Σ_j W[i·ld + j] · x[j] for i < len(out), j < len(x),
// the matrix–vector product over a block of W's rows and columns (row
// stride ld).
func matVecF32(out, w []float32, ld int, x []float32) { gemv(out, w, ld, x, false) }

// matVecAddF32 is matVecAdd on float32 weights:
// out[i] += Σ_j W[i·ld + j] · x[j], matVec accumulating.
func matVecAddF32(out, w []float32, ld int, x []float32) { gemv(out, w, ld, x, true) }

func gemv(out, w []float32, ld int, x []float32, add bool) {
	switch {
	case len(out) == 0:
	case len(x) == 0:
		if !add {
			clear(out)
		}
	case hasAVX512:
		matVec16Row(out, w, ld, x, add)
	default:
		beta := float32(0)
		if add {
			beta = 1
		}
		gonum.Implementation{}.Sgemv(blas.NoTrans, len(out), len(x), 1, w, ld, x, 1, beta, out, 1)
	}
}

// matVec16Row takes one row at a time, read front to back with four
// 16-lane accumulators: the weights stream as a single sequential run,
// which the hardware prefetchers follow best (x stays in L1). Taking four
// rows at once (each x load serving four rows) is faster in cache but
// slower from memory: four interleaved streams a row apart defeat the
// prefetchers (docs/fused.md, "The products"). The row's sum is reduced
// and stored as a vector, and VZEROUPPER ends the function: scalar SSE
// code after AVX-512 code pays for false dependencies on the upper
// register halves.
func matVec16Row(out, w []float32, ld int, x []float32, add bool) {
	n := len(x)
	body := n &^ 63
	tail := n &^ 15
	for i := range out {
		r := w[i*ld : i*ld+n]
		var a0, a1, a2, a3 archsimd.Float32x16
		j := 0
		for ; j < body; j += 64 {
			a0 = archsimd.LoadFloat32x16Slice(r[j:]).MulAdd(archsimd.LoadFloat32x16Slice(x[j:]), a0)
			a1 = archsimd.LoadFloat32x16Slice(r[j+16:]).MulAdd(archsimd.LoadFloat32x16Slice(x[j+16:]), a1)
			a2 = archsimd.LoadFloat32x16Slice(r[j+32:]).MulAdd(archsimd.LoadFloat32x16Slice(x[j+32:]), a2)
			a3 = archsimd.LoadFloat32x16Slice(r[j+48:]).MulAdd(archsimd.LoadFloat32x16Slice(x[j+48:]), a3)
		}
		for ; j < tail; j += 16 {
			a0 = archsimd.LoadFloat32x16Slice(r[j:]).MulAdd(archsimd.LoadFloat32x16Slice(x[j:]), a0)
		}
		if j < n {
			a1 = archsimd.LoadFloat32x16SlicePart(r[j:]).MulAdd(archsimd.LoadFloat32x16SlicePart(x[j:]), a1)
		}
		s := half8(half16(a0.Add(a1).Add(a2.Add(a3))))
		store1(out[i:i+1], s.AddPairs(s).AddPairs(s), add)
	}
	archsimd.ClearAVXUpperBits()
}

// store1 stores (or adds) lane 0 of v to out[0].
func store1(out []float32, v archsimd.Float32x4, add bool) {
	if add {
		v = v.Add(archsimd.LoadFloat32x4SlicePart(out))
	}
	v.StoreSlicePart(out)
}

// half16 and half8 add a vector's upper half to its lower half.
func half16(v archsimd.Float32x16) archsimd.Float32x8 { return v.GetLo().Add(v.GetHi()) }
func half8(v archsimd.Float32x8) archsimd.Float32x4   { return v.GetLo().Add(v.GetHi()) }

// sum4x16 returns [Σa0, Σa1, Σa2, Σa3], the lane sums of four vectors.
func sum4x16(a0, a1, a2, a3 archsimd.Float32x16) archsimd.Float32x4 {
	return sum4x4(half8(half16(a0)), half8(half16(a1)), half8(half16(a2)), half8(half16(a3)))
}

// sum4x4: [Σq0, Σq1, Σq2, Σq3] by horizontal pair adds.
func sum4x4(q0, q1, q2, q3 archsimd.Float32x4) archsimd.Float32x4 {
	return q0.AddPairs(q1).AddPairs(q2.AddPairs(q3))
}

// scanSkipGate: scanSkipGateGeneric with the n states of a channel in 16-lane
// vectors, on AVX-512. Four channels at a time, so that their four C·h
// sums are reduced and stored as one vector; then the D skip and the gate
// in a second pass, 16 channels a vector. The real models' n = 16 has its
// own loop: one vector per channel, B and C loaded once for all channels.
func scanSkipGate(y, ssmState, u, dt, A, B, C, D, z []float32, lo, hi int) {
	if !hasAVX512 {
		scanSkipGateGeneric(y, ssmState, u, dt, A, B, C, D, z, lo, hi)
		return
	}
	n := len(B)
	c := lo
	if n == 16 {
		Bv, Cv := archsimd.LoadFloat32x16Slice(B), archsimd.LoadFloat32x16Slice(C)
		for ; c+4 <= hi; c += 4 {
			a0 := scan16(ssmState[c*16:], A[c*16:], Bv, Cv, dt[c], u[c])
			a1 := scan16(ssmState[(c+1)*16:], A[(c+1)*16:], Bv, Cv, dt[c+1], u[c+1])
			a2 := scan16(ssmState[(c+2)*16:], A[(c+2)*16:], Bv, Cv, dt[c+2], u[c+2])
			a3 := scan16(ssmState[(c+3)*16:], A[(c+3)*16:], Bv, Cv, dt[c+3], u[c+3])
			sum4x16(a0, a1, a2, a3).StoreSlice(y[c:])
		}
	}
	for ; c < hi; c += 4 {
		var acc [4]archsimd.Float32x16
		for i := range min(4, hi-c) {
			acc[i] = scanChannel(ssmState, u, dt, A, B, C, n, c+i)
		}
		sum4x16(acc[0], acc[1], acc[2], acc[3]).StoreSlicePart(y[c:hi])
	}
	one := archsimd.BroadcastFloat32x16(1)
	var zero archsimd.Float32x16
	for c := lo; c < hi; c += 16 {
		yv := archsimd.LoadFloat32x16SlicePart(y[c:hi])
		dv := archsimd.LoadFloat32x16SlicePart(D[c:hi])
		uv := archsimd.LoadFloat32x16SlicePart(u[c:hi])
		zv := archsimd.LoadFloat32x16SlicePart(z[c:hi])
		yv = dv.MulAdd(uv, yv)                    // y += D·u
		g := zv.Div(one.Add(exp16(zero.Sub(zv)))) // SiLU(z)
		yv.Mul(g).StoreSlicePart(y[c:hi])         // y *= SiLU(z)
	}
	archsimd.ClearAVXUpperBits()
}

// scan16 advances one channel's 16 states and returns C⊙h, to be summed:
// h = dA·h + dtU·B with dA = exp(Δ·A), dtU = Δ·u.
// h, a: the channel's [16] of the state and of A
func scan16(h, a []float32, Bv, Cv archsimd.Float32x16, dt, u float32) archsimd.Float32x16 {
	dA := exp16(archsimd.LoadFloat32x16Slice(a).Mul(archsimd.BroadcastFloat32x16(dt)))
	hv := Bv.MulAdd(archsimd.BroadcastFloat32x16(dt*u), dA.Mul(archsimd.LoadFloat32x16Slice(h)))
	hv.StoreSlice(h)
	return Cv.Mul(hv)
}

// scanChannel advances channel c's n states and returns C⊙h, to be summed.
func scanChannel(ssmState, u, dt, A, B, C []float32, n, c int) archsimd.Float32x16 {
	h := ssmState[c*n : (c+1)*n]
	a := A[c*n : (c+1)*n]
	dtc := archsimd.BroadcastFloat32x16(dt[c])
	dtU := archsimd.BroadcastFloat32x16(dt[c] * u[c])
	var acc archsimd.Float32x16
	s := 0
	for ; s+16 <= n; s += 16 {
		hv := exp16(archsimd.LoadFloat32x16Slice(a[s:]).Mul(dtc)).Mul(archsimd.LoadFloat32x16Slice(h[s:]))
		hv = archsimd.LoadFloat32x16Slice(B[s:]).MulAdd(dtU, hv)
		hv.StoreSlice(h[s:])
		acc = archsimd.LoadFloat32x16Slice(C[s:]).MulAdd(hv, acc)
	}
	if s < n { // masked tail: the lanes past n load and add zeros
		hv := exp16(archsimd.LoadFloat32x16SlicePart(a[s:]).Mul(dtc)).Mul(archsimd.LoadFloat32x16SlicePart(h[s:]))
		hv = archsimd.LoadFloat32x16SlicePart(B[s:]).MulAdd(dtU, hv)
		hv.StoreSlicePart(h[s:])
		acc = archsimd.LoadFloat32x16SlicePart(C[s:]).MulAdd(hv, acc)
	}
	return acc
}

// biasSoftplus: x = softplus(x + b), 16 lanes at a time, as
// max(v, 0) + log1p(e^−|v|) with softplus32's series for log1p. No
// threshold is needed: above 17 the log1p term is below half an ulp of v,
// so the sum is v, as PyTorch's threshold makes it.
func biasSoftplus(x, b []float32) {
	if !hasAVX512 {
		biasSoftplusGeneric(x, b)
		return
	}
	b = b[:len(x)]
	var zero archsimd.Float32x16
	two := archsimd.BroadcastFloat32x16(2)
	for i := 0; i < len(x); i += 16 {
		v := archsimd.LoadFloat32x16SlicePart(x[i:]).Add(archsimd.LoadFloat32x16SlicePart(b[i:]))
		negAbs := v.Min(zero.Sub(v)) // −|v|
		t := exp16(negAbs)
		s := t.Div(two.Add(t))
		s2 := s.Mul(s)
		p := archsimd.BroadcastFloat32x16(1.0 / 13)
		p = p.MulAdd(s2, archsimd.BroadcastFloat32x16(1.0/11))
		p = p.MulAdd(s2, archsimd.BroadcastFloat32x16(1.0/9))
		p = p.MulAdd(s2, archsimd.BroadcastFloat32x16(1.0/7))
		p = p.MulAdd(s2, archsimd.BroadcastFloat32x16(1.0/5))
		p = p.MulAdd(s2, archsimd.BroadcastFloat32x16(1.0/3))
		l := two.Mul(s).MulAdd(s2.Mul(p), two.Mul(s)) // 2s·(1 + s²·p)
		v.Max(zero).Add(l).StoreSlicePart(x[i:])
	}
	archsimd.ClearAVXUpperBits()
}

// exp16 is exp32 on 16 lanes: x = k·ln2 + r, eˣ = 2ᵏ·eʳ, with the 2ᵏ
// applied by VSCALEFPS, which also makes very negative x give 0.
func exp16(x archsimd.Float32x16) archsimd.Float32x16 {
	x = x.Min(archsimd.BroadcastFloat32x16(expMax))
	k := x.Mul(archsimd.BroadcastFloat32x16(log2e)).RoundToEvenScaled(0)
	r := k.MulAdd(archsimd.BroadcastFloat32x16(-ln2Hi), x)
	r = k.MulAdd(archsimd.BroadcastFloat32x16(-ln2Lo), r)
	p := archsimd.BroadcastFloat32x16(1.9875691500e-4)
	p = p.MulAdd(r, archsimd.BroadcastFloat32x16(1.3981999507e-3))
	p = p.MulAdd(r, archsimd.BroadcastFloat32x16(8.3334519073e-3))
	p = p.MulAdd(r, archsimd.BroadcastFloat32x16(4.1665795894e-2))
	p = p.MulAdd(r, archsimd.BroadcastFloat32x16(1.6666665459e-1))
	p = p.MulAdd(r, archsimd.BroadcastFloat32x16(5.0000001201e-1))
	p = p.Mul(r.Mul(r)).Add(r).Add(archsimd.BroadcastFloat32x16(1))
	return p.Scale(k)
}
