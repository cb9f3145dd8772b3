package learning

import "math"

// The operations that only Mamba-2 has, one function each (the others,
// rmsNorm, matVec, shiftAndAppend, depthwiseConv, silu, addBias, softplus,
// gate and addResidual, are Mamba-1's, in ops.go). Shapes: h = n_heads,
// p = head_dim, g = n_groups, n = d_state, di = h·p.

// clampTo: x[i] = min(max(x[i], lo), hi), in place: time_step_limit.
// With (0, +Inf), the default, it changes no Δ (a softplus is positive).
func clampTo(x []float32, lo, hi float32) {
	for i, v := range x {
		x[i] = min(max(v, lo), hi)
	}
}

// headScan advances the SSM state of every head by one step and reads it
// out. Head hd belongs to group gr = hd / (h/g) and uses that group's B and
// C; every channel of the head shares the head's one Δ and one A, so
//
//	dA            = exp(Δ[hd]·A[hd])              one exponential per head
//	state[hd][c][s] = dA · state[hd][c][s] + (Δ[hd]·B[gr][s]) · x[hd][c]
//	y[hd][c]      = Σ_s C[gr][s] · state[hd][c][s]
//
// for every channel c < p and state index s < n. Mamba-1's selectiveScan
// has an A, hence an exponential, per channel and state index. As there,
// A = −exp(A_log) < 0, made once by the loader (checkpoint.NegExp) from the
// checkpoint's A_log, so dA = exp(Δ·A) ∈ (0, 1) is a decay.
// ssmState: [h][p][n]; x, y: [di] = [h][p]; dt, A: [h]; B, C: [g][n]
func headScan(y, ssmState, x, dt, A, B, C []float32, p, g int) {
	nh := len(dt)
	n := len(B) / g
	perGroup := nh / g
	for hd := range nh {
		gr := hd / perGroup
		Bg, Cg := B[gr*n:(gr+1)*n], C[gr*n:(gr+1)*n]
		dA := float32(math.Exp(float64(dt[hd] * A[hd])))
		for c := range p {
			i := hd*p + c
			st := ssmState[i*n : (i+1)*n]
			var yc float32
			for s := range n {
				dB := dt[hd] * Bg[s]
				st[s] = dA*st[s] + dB*x[i]
				yc += Cg[s] * st[s]
			}
			y[i] = yc
		}
	}
}

// skipDHeads: y[hd][c] += D[hd] · x[hd][c], the skip connection around the
// scan with one D per head.
// y, x: [h][p]; D: [h]
func skipDHeads(y, D, x []float32, p int) {
	for i := range y {
		y[i] += D[i/p] * x[i]
	}
}

// groupRMSNorm normalises y within each of g equal groups of channels and
// scales by w, in place (the RMSNorm of mamba_ssm's RMSNormGated with
// group_size = di/g):
//
//	y[i] = y[i] / sqrt(mean over i's group of y² + eps) · w[i]
//
// y, w: [di]
func groupRMSNorm(y, w []float32, g int, eps float32) {
	size := len(y) / g
	for gr := range g {
		part := y[gr*size : (gr+1)*size]
		var ss float32
		for _, v := range part {
			ss += v * v
		}
		scale := 1 / float32(math.Sqrt(float64(ss/float32(size)+eps)))
		for i := range part {
			part[i] = part[i] * scale * w[gr*size+i]
		}
	}
}
