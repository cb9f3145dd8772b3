package cuda

// The kernels on the CPU: cuda/emu/run.sh builds cuda/emu (the kernels'
// CUDA C compiled by g++ over a small CUDA shim, each CUDA thread a fiber,
// with cuda/mamba.go's launch sequence mirrored) and runs this test with
// CUDA_EMU set to it. Without CUDA_EMU the test is skipped.

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mamba.go/common/model"
	"mamba.go/common/model/modeltest"
	"mamba.go/common/sample"
	"mamba.go/learning"
)

// emuShapes are small (the emulator runs every CUDA thread) but take every
// path: float4 and scalar rows, dt_rank and d_state above 32, one,
// 2, 4 and 8 warps per row (the sms lists), tied and untied heads,
// d_conv 1, a vocabulary that is not a multiple of 8.
var emuShapes = []struct {
	name string
	c    model.Config
	sms  []int // multiprocessor counts to plan for: they change warps per row
}{
	{"d48-tied", model.Config{NLayers: 2, VocabSize: 37, DModel: 48, DInner: 96, DtRank: 3, DState: 7, DConv: 4, TiedHead: true}, []int{132}},
	{"d64-untied", model.Config{NLayers: 2, VocabSize: 300, DModel: 64, DInner: 128, DtRank: 4, DState: 16, DConv: 4}, []int{1, 132}},
	{"odd", model.Config{NLayers: 2, VocabSize: 77, DModel: 10, DInner: 30, DtRank: 5, DState: 8, DConv: 3}, []int{132}},
	{"wide-state", model.Config{NLayers: 1, VocabSize: 50, DModel: 40, DInner: 80, DtRank: 40, DState: 48, DConv: 4, TiedHead: true}, []int{132}},
	{"k1-n1", model.Config{NLayers: 1, VocabSize: 9, DModel: 4, DInner: 8, DtRank: 1, DState: 1, DConv: 1}, []int{132}},
	{"long-rows", model.Config{NLayers: 1, VocabSize: 40, DModel: 1024, DInner: 2048, DtRank: 64, DState: 16, DConv: 4, TiedHead: true}, []int{1, 132}},
	{"long-odd-rows", model.Config{NLayers: 1, VocabSize: 20, DModel: 1030, DInner: 2062, DtRank: 65, DState: 16, DConv: 4}, []int{46}},
	{"vocab1003", model.Config{NLayers: 1, VocabSize: 1003, DModel: 16, DInner: 32, DtRank: 1, DState: 16, DConv: 4, TiedHead: true}, []int{132}},
}

var emuTokens = []int{0, 5, 3, 7, 1, 2, 8}

func TestEmulator(t *testing.T) {
	emu := os.Getenv("CUDA_EMU")
	if emu == "" {
		t.Skip("CUDA_EMU is not set: cuda/emu/run.sh builds the emulator and runs this test")
	}
	for _, sh := range emuShapes {
		for _, sms := range sh.sms {
			t.Run(fmt.Sprintf("%s-sms%d", sh.name, sms), func(t *testing.T) {
				c := sh.c
				dir := t.TempDir()
				// norms, D, conv bias and dt bias vary, so that every term counts.
				w := modeltest.Weights(t, c, 5)
				p := makePlan(shapeOf(c), sms)
				t.Logf("%s, plan %+v", c, p)
				writeEmuInput(t, dir, w, p)

				out, err := exec.Command(emu, dir).CombinedOutput()
				require.NoError(t, err, "emulator: %s", out)

				ref, err := learning.New(w)
				require.NoError(t, err)
				vp := c.PaddedVocab()
				logits := readFloats(t, filepath.Join(dir, "logits.bin"))
				best := readFloats(t, filepath.Join(dir, "argmax.bin")) // int32s, read as bits
				require.Len(t, logits, len(emuTokens)*vp)
				var worst float64
				for i, tok := range emuTokens {
					want, err := ref.Forward(tok)
					require.NoError(t, err)
					got := logits[i*vp : (i+1)*vp]
					for j, v := range got {
						require.False(t, math.IsNaN(float64(v)), "token %d: logit %d is NaN (never written?)", i, j)
					}
					rel := maxAbsDiff(got, want) / maxAbs(want)
					worst = math.Max(worst, rel)
					assert.LessOrEqual(t, rel, 1e-5, "token %d: logits off by %.3g relative", i, rel)
					gotBest := int(int32(math.Float32bits(best[i])))
					assert.Equal(t, sample.Argmax(got[:c.VocabSize]), gotBest, "token %d: argmax", i)
				}
				t.Logf("worst relative logit error %.3g", worst)
				rs, err := ref.State()
				require.NoError(t, err)
				conv := readFloats(t, filepath.Join(dir, "conv.bin"))
				ssm := readFloats(t, filepath.Join(dir, "ssm.bin"))
				assert.LessOrEqual(t, maxAbsDiff(conv, rs.Conv), 1e-5*math.Max(1, maxAbs(rs.Conv)), "conv state")
				assert.LessOrEqual(t, maxAbsDiff(ssm, rs.SSM), 1e-5*math.Max(1, maxAbs(rs.SSM)), "ssm state")
			})
		}
	}
}

// The argmax kernel picks what sample.Argmax picks: ties across threads
// and warps, NaNs, infinities, lengths below and above the block.
func TestEmulatorArgmax(t *testing.T) {
	emu := os.Getenv("CUDA_EMU")
	if emu == "" {
		t.Skip("CUDA_EMU is not set: cuda/emu/run.sh builds the emulator and runs this test")
	}
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	fill := func(n int, v float32) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = v
		}
		return x
	}
	set := func(x []float32, kv ...float32) []float32 {
		for i := 0; i < len(kv); i += 2 {
			x[int(kv[i])] = kv[i+1]
		}
		return x
	}
	ramp := make([]float32, 5000)
	for i := range ramp {
		ramp[i] = float32(i % 1500)
	}
	cases := map[string][]float32{
		"one":                {3},
		"ascending":          {1, 2, 3},
		"zeros":              fill(50277, 0),
		"tie-two-warps":      set(fill(50277, -1), 4000, 7, 33, 7, 5000, 7),
		"tie-same-thread":    set(fill(4000, 0), 2049, 1, 1025, 1, 2048+1024+1, 1),
		"ramp-ties":          ramp,
		"last":               set(fill(1003, 0), 1002, 1),
		"all-minus-inf":      fill(2000, -inf),
		"plus-inf":           set(fill(2000, 1), 1500, inf, 1700, inf),
		"nan-at-0":           set(fill(2000, 1), 0, nan, 7, 5),
		"nan-elsewhere":      set(fill(2000, 1), 3, nan, 1999, nan, 1000, 2),
		"nan-and-minus-inf":  set(fill(100, -inf), 50, nan),
		"minus-inf-then-big": set(fill(100, -inf), 99, -1e38),
	}
	for name, x := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			in, out := filepath.Join(dir, "x.bin"), filepath.Join(dir, "best.bin")
			f, err := os.Create(in)
			require.NoError(t, err)
			require.NoError(t, binary.Write(f, binary.LittleEndian, x))
			require.NoError(t, f.Close())
			msg, err := exec.Command(emu, "-argmax", fmt.Sprint(argmaxThreads), in, out).CombinedOutput()
			require.NoError(t, err, "emulator: %s", msg)
			b, err := os.ReadFile(out)
			require.NoError(t, err)
			assert.Equal(t, sample.Argmax(x), int(int32(binary.LittleEndian.Uint32(b))))
		})
	}
}

// writeEmuInput writes config.txt and weights.bin for cuda/emu (emu.cpp).
func writeEmuInput(t *testing.T, dir string, w *model.Weights, p plan) {
	t.Helper()
	s := shapeOf(w.Config)
	lay, err := planWeights(w)
	require.NoError(t, err)
	ts := lay.tensors
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "%d %d %d %d %d %d %d %d %d %d %g\n", s.L, s.d, s.di, s.r, s.n, s.k, s.vocab, s.vocabPadded,
		threads, argmaxThreads, float32(1e-5))
	fmt.Fprintf(&cfg, "%d %d %d %d %d %d %d %d %d\n", p.inProjConv.wpr, p.inProjConv.blocks, p.xProj.wpr, p.xProj.blocks,
		p.outProj.wpr, p.outProj.blocks, p.head.wpr, p.head.blocks, p.dtScanGate)
	fmt.Fprintf(&cfg, "%d", len(emuTokens))
	for _, tok := range emuTokens {
		fmt.Fprintf(&cfg, " %d", tok)
	}
	fmt.Fprintf(&cfg, "\n%d\n", len(ts))
	f, err := os.Create(filepath.Join(dir, "weights.bin"))
	require.NoError(t, err)
	for _, tn := range ts {
		fmt.Fprintf(&cfg, "%s %d\n", tn.name, len(tn.data))
		require.NoError(t, binary.Write(f, binary.LittleEndian, tn.data))
	}
	require.NoError(t, f.Close())
	require.NoError(t, os.WriteFile(filepath.Join(dir, "config.txt"), []byte(cfg.String()), 0o644))
}

func readFloats(t *testing.T, path string) []float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	x := make([]float32, len(b)/4)
	for i := range x {
		x[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return x
}
