//go:build amd64 && !purego

package kernels

import (
	"math/rand/v2"
	"os"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The Mamba-2 head scan's assembly is what runs: each set holds its own
// kernel, the chosen set is the one in use, and the wrappers hand the
// assembly every whole group of four channels of a d_state it can take.

// funcName is the name of the function f holds, package path cut.
func funcName(f any) string {
	name := runtime.FuncForPC(reflect.ValueOf(f).Pointer()).Name()
	return name[strings.LastIndex(name, ".")+1:]
}

func TestHeadScanKernelChosen(t *testing.T) {
	want := map[string]string{"avx512": "headScanAVX512Slices", "avx2": "headScanAVX2Slices", "go": "headScanGeneric"}
	for _, k := range availableKernels() {
		assert.Equal(t, want[k.name], funcName(k.headScan), "set %s", k.name)
	}
	assert.Equal(t, want[kern.name], funcName(kern.headScan), "the set in use, %s", kern.name)
	if os.Getenv("MAMBA_FUSED_KERNELS") == "" && !raceEnabled {
		switch {
		case cpuAVX512:
			assert.Equal(t, "headScanAVX512Slices", funcName(kern.headScan))
		case cpuAVX2FMA:
			assert.Equal(t, "headScanAVX2Slices", funcName(kern.headScan))
		}
	}
}

// headScanGroups' routing, with kernels that record their calls.
func TestHeadScanGroupsRouting(t *testing.T) {
	type call struct {
		who         string
		channels, n int
	}
	var calls []call
	kernel := func(y, state, x, B, C *float32, dA, dt float32, channels, n int) {
		calls = append(calls, call{"kernel", channels, n})
	}
	narrower := func(y, state, x, B, C []float32, dA, dt float32) {
		calls = append(calls, call{"narrower", len(y), len(B)})
	}
	cases := []struct {
		lanes, n, p int
		want        []call
	}{
		{8, 128, 64, []call{{"kernel", 64, 128}}},
		{16, 128, 64, []call{{"kernel", 64, 128}}},
		{8, 16, 7, []call{{"kernel", 4, 16}}}, // channels 4..6: headScanGeneric
		{16, 24, 64, []call{{"narrower", 64, 24}}},
		{8, 12, 64, []call{{"narrower", 64, 12}}},
		{8, 16, 3, nil}, // no whole group: headScanGeneric alone
	}
	for _, c := range cases {
		calls = nil
		rng := rand.New(rand.NewPCG(31, 32))
		y, state, x := make([]float32, c.p), randVec(rng, c.p*c.n), randVec(rng, c.p)
		B, C := randVec(rng, c.n), randVec(rng, c.n)
		headScanGroups(c.lanes, kernel, narrower, y, state, x, B, C, 0.5, 0.1)
		assert.Equal(t, c.want, calls, "lanes %d n %d p %d", c.lanes, c.n, c.p)
	}
}

// The assembly kernels called directly, on the 130m head (d_state 128,
// head_dim 64), against headScanGeneric: whatever the wrappers do, the
// assembly itself is tested.
func TestHeadScanAssembly(t *testing.T) {
	kernels := map[string]func(y, state, x, B, C *float32, dA, dt float32, channels, n int){}
	if cpuAVX2FMA {
		kernels["avx2"] = headScan4AVX2
	}
	if cpuAVX512 {
		kernels["avx512"] = headScan4AVX512
	}
	if len(kernels) == 0 {
		t.Skip("this CPU has neither AVX2+FMA nor AVX-512")
	}
	for name, kernel := range kernels {
		t.Run(name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(33, 34))
			const n, p = 128, 64
			state, x, B, C := randVec(rng, p*n+n), randVec(rng, p), randVec(rng, n), randVec(rng, n)
			state[p*n] = 42 // one past the head: untouched
			want := append([]float32(nil), state...)
			wantY, y := make([]float32, p), make([]float32, p+1)
			headScanGeneric(wantY, want[:p*n], x, B, C, 0.9, 0.3)
			kernel(&y[0], &state[0], &x[0], &B[0], &C[0], 0.9, 0.3, p, n)
			require.InDeltaSlice(t, want, state, 1e-6)
			require.InDeltaSlice(t, wantY, y[:p], 1e-5)
			assert.Equal(t, float32(42), state[p*n])
			assert.Zero(t, y[p])
		})
	}
}
