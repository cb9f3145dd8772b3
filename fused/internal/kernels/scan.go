package kernels

// The scans and softplus in Go: the formulas of the assembly kernels
// (kernels_amd64.go, headscan_amd64.go), the "go" set's kernels, and what
// the assembly hands the shapes it does not take.

// Scan is the selective-scan step of channels [lo, hi), scanSkipGateGeneric's
// formula, by the kernel set in use.
func Scan(y, ssmState, u, dt, A, B, C, D, z []float32, lo, hi int) {
	kern.scan(y, ssmState, u, dt, A, B, C, D, z, lo, hi)
}

// Softplus: x[i] = softplus(x[i] + b[i]), biasSoftplusGeneric's formula,
// by the kernel set in use.
func Softplus(x, b []float32) { kern.softplus(x, b) }

// HeadScan is the scan of one Mamba-2 head, headScanGeneric's formula, by
// the kernel set in use.
func HeadScan(y, state, x, B, C []float32, dA, dt float32) {
	kern.headScan(y, state, x, B, C, dA, dt)
}

// biasSoftplusGeneric: x[i] = softplus(x[i] + b[i]), learning's addBias
// and softplus in one pass.
func biasSoftplusGeneric(x, b []float32) {
	b = b[:len(x)]
	for i, v := range x {
		x[i] = Softplus32(v + b[i])
	}
}

// scanSkipGateGeneric is the selective-scan step of channels [lo, hi)
// with its D skip and gate, in one pass per channel over its n states:
//
//	dA = exp(Δ·A[c][s]), dtU = Δ·u
//	h[c][s] = dA·h[c][s] + dtU·B[s]   (learning: selectiveScan)
//	y[c] = Σ_s C[s]·h[c][s]           (learning: selectiveScan)
//	y[c] += D[c]·u                    (learning: skipD)
//	y[c] *= SiLU(z[c])                (learning: gate)
//
// with u = u[c], Δ = dt[c]. learning computes Δ·B[s]·u as (Δ·B[s])·u; here
// Δ·u is computed once per channel, which can change the last bit.
// ssmState, A: [di][n]; u, dt, D, z, y: [di]; B, C: [n]
func scanSkipGateGeneric(y, ssmState, u, dt, A, B, C, D, z []float32, lo, hi int) {
	n := len(B)
	C = C[:n]
	for c := lo; c < hi; c++ {
		h := ssmState[c*n : (c+1)*n : (c+1)*n]
		a := A[c*n : (c+1)*n : (c+1)*n]
		dtc, uc := dt[c], u[c]
		dtU := dtc * uc
		var yc float32
		for s := range h {
			dA := Exp32(dtc * a[s])
			h[s] = dA*h[s] + dtU*B[s]
			yc += C[s] * h[s]
		}
		y[c] = (yc + D[c]*uc) * SiLU32(z[c])
	}
}

// headScanGeneric is the scan of one head, its p channels and n states:
//
//	state[i][s] = dA·state[i][s] + (Δ·x[i])·B[s]
//	y[i] = Σ_s C[s]·state[i][s]
//
// Four channels go together: their four sums are independent, so the adds
// overlap instead of waiting for each other, and each B[s], C[s] is loaded
// once for four. Each sum runs s = 0, 1, …, n−1 in order. learning
// computes (Δ·B[s])·x; here Δ·x is computed once per channel, which can
// change the last bit.
// y, x: [p]; state: [p][n]; B, C: [n]
func headScanGeneric(y, state, x, B, C []float32, dA, dt float32) {
	n := len(B)
	B, C = B[:n:n], C[:n]
	p := len(y)
	i := 0
	for ; i+4 <= p; i += 4 {
		s0 := state[i*n : (i+1)*n : (i+1)*n]
		s1 := state[(i+1)*n : (i+2)*n : (i+2)*n]
		s2 := state[(i+2)*n : (i+3)*n : (i+3)*n]
		s3 := state[(i+3)*n : (i+4)*n : (i+4)*n]
		d0, d1, d2, d3 := dt*x[i], dt*x[i+1], dt*x[i+2], dt*x[i+3]
		var a0, a1, a2, a3 float32
		for s, b := range B {
			cs := C[s]
			v0 := dA*s0[s] + d0*b
			v1 := dA*s1[s] + d1*b
			v2 := dA*s2[s] + d2*b
			v3 := dA*s3[s] + d3*b
			s0[s], s1[s], s2[s], s3[s] = v0, v1, v2, v3
			a0 += cs * v0
			a1 += cs * v1
			a2 += cs * v2
			a3 += cs * v3
		}
		y[i], y[i+1], y[i+2], y[i+3] = a0, a1, a2, a3
	}
	for ; i < p; i++ {
		st := state[i*n : (i+1)*n : (i+1)*n]
		di := dt * x[i]
		var a float32
		for s, b := range B {
			v := dA*st[s] + di*b
			st[s] = v
			a += C[s] * v
		}
		y[i] = a
	}
}
