package kernels

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mamba.go/common/refcase"
)

// commonTops are 15 top bytes: the bands of ±2⁻⁹ … 2⁻¹, where a layer's
// weights lie.
var commonTops = []byte{0x3f, 0x3e, 0x3d, 0x3c, 0x3b, 0x3a, 0x39, 0x38, 0xbf, 0xbe, 0xbd, 0xbc, 0xbb, 0xba, 0xb9}

// randPackable is a [rows][cols] matrix whose weights have the 15
// commonTops top bytes, each tens of times, and random low 3 bytes; and
// odd weights (large, tiny, negative zero, subnormal: top bytes without a
// code, escapes) at the positions escapeAt.
func randPackable(rng *rand.Rand, rows, cols int, escapeAt ...int) []float32 {
	w := make([]float32, rows*cols)
	for i := range w {
		w[i] = math.Float32frombits(uint32(commonTops[rng.IntN(len(commonTops))])<<24 | rng.Uint32()&0xffffff)
	}
	odd := []float32{3.5, -1e-9, float32(math.Copysign(0, -1)), math.Float32frombits(0x80000005), -2.75e6}
	for k, i := range escapeAt {
		w[i] = odd[k%len(odd)]
	}
	return w
}

// packed packs w into a new block with its slack.
func packed(w []float32, cols int) packedRows {
	n := len(w) / packedGroup * packedGroupBytes
	mem := make([]byte, n+packedSlack)
	return packedRows{groups: mem[:n], m: packMatrix(mem, w, cols)}
}

// useKernels makes k the kernel set in use until the test ends.
func useKernels(t *testing.T, k kernelSet) {
	saved := kern
	kern = k
	t.Cleanup(func() { kern = saved })
}

func TestPackedTable(t *testing.T) {
	var count [256]int
	for b, n := range map[int]int{0x3d: 90, 0xbd: 80, 0x00: 70, 0x3c: 10, 0x01: 10, 0x02: 10, 0x03: 10, 0x04: 10,
		0x05: 10, 0x06: 10, 0x07: 10, 0x08: 10, 0x09: 10, 0x0a: 10, 0x0b: 10, 0x0c: 10, 0x0d: 5, 0x0e: 3} {
		count[b] = n
	}
	top, escapes := packedTable(&count)
	assert.Equal(t, byte(0), top[0], "code 0 is the top byte 0")
	assert.Equal(t, byte(0x3d), top[1], "commonest first")
	assert.Equal(t, byte(0xbd), top[2])
	assert.Equal(t, byte(0x01), top[3], "ties: the smaller byte first")
	assert.Equal(t, byte(0x3c), top[15])
	assert.Equal(t, 5+3, escapes, "the 16th and 17th other bytes have no code")
	assert.True(t, packs(8*256, 8, 8))
	assert.False(t, packs(8*256, 8, 9), "more than one escape in 256")
	assert.False(t, packs(12*4, 12, 0), "rows not whole groups of 8")
	assert.False(t, packs(0, 8, 0))
}

// TestPackUnpackExact: unpacking gives back every weight bit for bit, the
// escapes too, with every kernel set, from any row on.
func TestPackUnpackExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	rows, cols := 13, 48
	w := randPackable(rng, rows, cols, 0, 7, 100, 101, 300, rows*cols-1)
	p := packed(w, cols)
	require.Len(t, p.m.escapes, 6, "the odd weights are escapes")
	forEachSet(t, func(t *testing.T, k kernelSet) {
		useKernels(t, k)
		got := make([]float32, rows*cols+1)
		got[rows*cols] = 42
		unpackRows(got, p, rows)
		for i := range w {
			require.Equal(t, math.Float32bits(w[i]), math.Float32bits(got[i]), "weight %d", i)
		}
		assert.Equal(t, float32(42), got[rows*cols], "wrote past the rows")
		from := make([]float32, 2*cols)
		unpackRows(from, p.from(2), 2)
		assert.Equal(t, w[2*cols:4*cols], from, "rows 2 and 3")
		// The slack is for the 32-byte loads only: unpacking with none
		// (not from packMatrix) still reads nothing past the groups.
		tight := make([]byte, cols/8*packedGroupBytes)
		copy(tight, p.groups)
		one := make([]float32, cols)
		k.unpack(one, tight, &p.m.top)
		want := append([]float32(nil), w[:cols]...)
		want[0], want[7] = 0, 0 // the escapes of row 0
		assert.Equal(t, want, one, "row 0, escapes as 0")
	})
}

// TestMatVecPackedIsFloat32MatVec: the packed product of each set sums as
// the set's float32 product does: bit for bit for rows without escapes in
// the assembly sets, whose two products share their loop; and rows with
// escapes, and the Go set, within float32 rounding of the float64 sum.
func TestMatVecPackedIsFloat32MatVec(t *testing.T) {
	forEachSet(t, func(t *testing.T, k kernelSet) {
		useKernels(t, k)
		rng := rand.New(rand.NewPCG(3, 4))
		for _, cols := range []int{8, 24, 32, 40, 768, 1544} {
			rows := 9
			w := randPackable(rng, rows, cols, 5*cols+3, 5*cols+cols-1, 8*cols)
			x := randVec(rng, cols)
			p := packed(w, cols)
			ref, bound := refMatVec(w, cols, x, rows)
			for _, add := range []bool{false, true} {
				out := make([]float32, rows+1)
				out[rows] = 42
				if add {
					for i := range rows {
						out[i] = float32(i)
					}
				}
				matVecPacked(out[:rows], p, cols, x, add)
				plain := make([]float32, rows)
				k.matVec(plain, w, cols, x, false)
				for i := range rows {
					base := 0.0
					if add {
						base = float64(i)
					}
					require.InDelta(t, base+ref[i], float64(out[i]), bound[i]+1e-6, "cols %d row %d add %v", cols, i, add)
					if k.name != "go" && i != 5 && i != 8 && !add {
						require.Equal(t, math.Float32bits(plain[i]), math.Float32bits(out[i]), "cols %d row %d: the float32 product's bits", cols, i)
					}
				}
				assert.Equal(t, float32(42), out[rows], "wrote past out")
			}
			// Without the slack after the last row (not from packMatrix):
			// the Go kernel, the same sums to rounding.
			tight := packedRows{groups: make([]byte, len(p.groups)), m: p.m}
			copy(tight.groups, p.groups)
			out2 := make([]float32, rows)
			matVecPacked(out2, tight, cols, x, false)
			for i := range rows {
				require.InDelta(t, ref[i], float64(out2[i]), bound[i]+1e-6, "cols %d row %d without slack", cols, i)
			}
			// From a later row: the view finds its own escapes.
			out := make([]float32, 4)
			matVecPacked(out, p.from(5), cols, x, false)
			for i := range out {
				require.InDelta(t, ref[5+i], float64(out[i]), bound[5+i]+1e-6, "cols %d row %d from row 5", cols, 5+i)
			}
		}
	})
}

// TestMatMatPackedIsFloat32MatMat: the batched prompt's product on packed
// weights unpacks them exactly, escapes included, so it gives the float32
// product's bits for every row count (blocks of 4 and what is left).
func TestMatMatPackedIsFloat32MatMat(t *testing.T) {
	forEachSet(t, func(t *testing.T, k kernelSet) {
		useKernels(t, k)
		rng := rand.New(rand.NewPCG(5, 6))
		cols, tokens := 96, 7
		for _, rows := range []int{1, 3, 4, 5, 11} {
			w := randPackable(rng, rows, cols, 0, rows*cols-2)
			p := packed(w, cols)
			x := randVec(rng, tokens*cols)
			got, want := make([]float32, tokens*rows), make([]float32, tokens*rows)
			scratch := make([]float32, 4*cols)
			MatMat(got, rows, Matrix{packed: p}, cols, x, cols, rows, cols, tokens, false, scratch)
			MatMat(want, rows, F32(w), cols, x, cols, rows, cols, tokens, false, nil)
			require.Equal(t, want, got, "rows %d", rows)
		}
	})
}

// TestPackedRealWeights: trained weights of the real mamba-130m (layer 0's
// x_proj and dt_proj, and ten rows of the embedding, the tied head) pack
// with few escapes and unpack bit for bit.
func TestPackedRealWeights(t *testing.T) {
	shared := refcase.SharedDir()
	if shared == "" {
		t.Skip("../shared is absent: no real mamba-130m weights")
	}
	dir := filepath.Join(shared, "real", "mamba-130m-layer0")
	for _, c := range []struct {
		file string
		cols int
	}{
		{"real_weights/x_proj_weight.txt", 1536},
		{"real_weights/dt_proj_weight.txt", 48},
		{"real_txt/0_block_input.txt", 768}, // embedding rows of the prompt
	} {
		b, err := os.ReadFile(filepath.Join(dir, c.file))
		require.NoError(t, err)
		var w []float32
		for _, f := range strings.Fields(string(b)) {
			v, err := strconv.ParseFloat(f, 32)
			require.NoError(t, err)
			w = append(w, float32(v))
		}
		require.Zero(t, len(w)%c.cols, c.file)
		p := packed(w, c.cols)
		got := make([]float32, len(w))
		unpackRows(got, p, len(w)/c.cols)
		require.Equal(t, w, got, "%s unpacks bit for bit", c.file)
		n := len(p.m.escapes)
		assert.True(t, packs(len(w), c.cols, n), "%s: %d escapes of %d weights", c.file, n, len(w))
		t.Logf("%s: %d weights, %d escapes (%.3f%%), codes for top bytes %x", c.file, len(w), n, 100*float64(n)/float64(len(w)), p.m.top)
	}
}
