package learning

import (
	"bufio"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"mamba.go/common/refcase"
)

// The layer-0 mixer of the real mamba-130m, with golden activations for a
// 10-token prompt (../shared/real/mamba-130m-layer0, see its SOURCE.md).
// in_proj and out_proj are not there, so the test starts from the in_proj
// output x, z and checks each step of learning's own functions against the
// golden intermediate.

// readMatrix reads a numpy savetxt file: one row per line.
func readMatrix(t *testing.T, path string) [][]float32 {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var rows [][]float32
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 {
			continue
		}
		row := make([]float32, len(fields))
		for i, s := range fields {
			v, err := strconv.ParseFloat(s, 64)
			require.NoError(t, err)
			row[i] = float32(v)
		}
		rows = append(rows, row)
	}
	require.NoError(t, sc.Err())
	return rows
}

func flat(rows [][]float32) []float32 {
	var out []float32
	for _, r := range rows {
		out = append(out, r...)
	}
	return out
}

// column returns column j of a [channels][time] golden file: the values of
// every channel at time step j.
func column(rows [][]float32, j int) []float32 {
	out := make([]float32, len(rows))
	for i, r := range rows {
		out[i] = r[j]
	}
	return out
}

// relErr is max |got − want| / max |want|: the error on the tensor's own scale.
func relErr(got, want []float32) float64 {
	var maxErr, maxWant float64
	for i := range want {
		maxErr = math.Max(maxErr, math.Abs(float64(got[i])-float64(want[i])))
		maxWant = math.Max(maxWant, math.Abs(float64(want[i])))
	}
	return maxErr / maxWant
}

func TestRealMamba130mLayer0Mixer(t *testing.T) {
	shared := refcase.SharedDir()
	if shared == "" {
		t.Skip("../shared is absent: no real mamba-130m mixer weights")
	}
	dir := filepath.Join(shared, "real", "mamba-130m-layer0")
	weight := func(name string) []float32 { return flat(readMatrix(t, filepath.Join(dir, "real_weights", name))) }
	golden := func(name string) [][]float32 { return readMatrix(t, filepath.Join(dir, "real_txt", name)) }

	const di, n, k, r, steps = 1536, 16, 4, 48, 10
	convW, convB := weight("conv1d_weight.txt"), weight("conv1d_bias.txt")
	xProj := weight("x_proj_weight.txt")
	dtW, dtB := weight("dt_proj_weight.txt"), weight("dt_proj_bias.txt")
	aLog, D := weight("A_log.txt"), weight("D.txt")
	require.Len(t, xProj, (r+2*n)*di)
	require.Len(t, dtW, di*r)

	// A = −exp(A_log), as the loaders compute it.
	A := make([]float32, len(aLog))
	for i, v := range aLog {
		A[i] = -float32(math.Exp(float64(v)))
	}
	goldA := flat(golden("6a_A_raw.txt"))

	xs, zs := golden("2a_hidden_states_after_chunk.txt"), golden("2b_gate_after_chunk.txt") // [di][steps]
	goldConv := golden("4_hidden_states_after_conv.txt")                                    // [di][steps]
	goldXDBC := golden("5a_ssm_parameters.txt")                                             // [steps][r+2n]
	goldDt := golden("5b_discrete_time_step.txt")                                           // [di][steps]
	goldScan := golden("7a_scan_output_raw.txt")                                            // [di][steps]
	goldD := golden("7b_scan_output_with_D.txt")
	goldGate := golden("7c_scan_output_gated.txt")

	// Tolerance, relative to the scale of each result. The golden values
	// were computed in float32 by PyTorch and printed with 9 significant
	// digits; our float32 loops sum in another order, so both sides carry a
	// few float32 roundings (2^-24 ≈ 6e-8 each) per term. Measured worst:
	// conv+SiLU 1.1e-7, x_proj 1.9e-6, dt 2.0e-6, scan/+D/gate 2.5e-6. The
	// computation is deterministic, so 1e-5 (4× the worst) is a safe bound,
	// and still far below what a wrong formula (a missing D, a wrong sign in
	// exp(Δ·A), a conv tap off by one) produces: 1e-2 or more.
	const tol = 1e-5
	var worst [4]float64 // conv+SiLU, x_proj, dt, scan…gate
	check := func(what string, step int, got, want []float32) {
		t.Helper()
		e := relErr(got, want)
		require.LessOrEqualf(t, e, tol, "%s at step %d: rel err %.3g", what, step, e)
	}
	checkScaled := func(what string, step int, got, want, scale []float32) {
		t.Helper()
		var maxErr, maxScale float64
		for c := range want {
			maxErr = math.Max(maxErr, math.Abs(float64(got[c])-float64(want[c])))
			maxScale = math.Max(maxScale, float64(scale[c]))
		}
		worst[3] = math.Max(worst[3], maxErr/maxScale)
		require.LessOrEqualf(t, maxErr/maxScale, tol, "%s at step %d: err %.3g on a scale of %.3g", what, step, maxErr, maxScale)
	}
	check("A = -exp(A_log)", 0, A, goldA)

	conv := make([]float32, di*k)
	ssm := make([]float32, di*n)
	u, xDBC, dt, y := make([]float32, di), make([]float32, r+2*n), make([]float32, di), make([]float32, di)
	for s := 0; s < steps; s++ {
		// conv shift-and-append, depthwise conv + bias, SiLU
		shiftAndAppend(conv, column(xs, s), k)
		depthwiseConv(u, conv, convW, convB, k)
		silu(u)
		check("conv+SiLU", s, u, column(goldConv, s))

		// x_proj → Δ_low, B, C
		matVec(xDBC, xProj, u)
		check("x_proj", s, xDBC, goldXDBC[s])

		// Δ = softplus(dt_proj · Δ_low + bias)
		matVec(dt, dtW, xDBC[:r])
		addBias(dt, dtB)
		softplus(dt)
		check("dt", s, dt, column(goldDt, s))

		// The scan's output is a sum of n terms C[s]·h[c][s] that cancel a
		// lot (|y| ≤ 1.5e3 while the terms reach 4e3), so its float32 error
		// is measured on the scale of the terms: scale[c] = Σ_s |C[s]·h[c][s]| + |D[c]·u[c]|.
		selectiveScan(y, ssm, u, dt, A, xDBC[r:r+n], xDBC[r+n:])
		scale := termScale(ssm, xDBC[r+n:], D, u, n)
		checkScaled("scan", s, y, column(goldScan, s), scale)
		skipD(y, D, u)
		checkScaled("+D", s, y, column(goldD, s), scale)
		z := column(zs, s)
		for c := range scale {
			scale[c] *= float32(math.Abs(float64(z[c] / (1 + float32(math.Exp(float64(-z[c])))))))
		}
		gate(y, z)
		checkScaled("gate", s, y, column(goldGate, s), scale)
		for i, e := range []float64{
			relErr(u, column(goldConv, s)), relErr(xDBC, goldXDBC[s]), relErr(dt, column(goldDt, s)),
		} {
			worst[i] = math.Max(worst[i], e)
		}
	}
	t.Logf("worst rel err: conv+SiLU %.2g, x_proj %.2g, dt %.2g, scan/+D/gate %.2g", worst[0], worst[1], worst[2], worst[3])
}

// termScale is, per channel, the magnitude of the terms that make the scan's
// output with its D skip: Σ_s |C[s]·h[c][s]| + |D[c]·u[c]|.
func termScale(ssm, C, D, u []float32, n int) []float32 {
	scale := make([]float32, len(u))
	for c := range u {
		var a float32
		for s := 0; s < n; s++ {
			a += float32(math.Abs(float64(C[s] * ssm[c*n+s])))
		}
		scale[c] = a + float32(math.Abs(float64(D[c]*u[c])))
	}
	return scale
}
