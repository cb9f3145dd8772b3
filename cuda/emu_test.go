package cuda

// The kernels on the CPU: cuda/emu/run.sh builds cuda/emu (the kernels'
// CUDA C compiled by g++ over a small CUDA shim, each CUDA thread a fiber,
// with cuda/mamba.go's launch sequence mirrored) and runs this test with
// CUDA_EMU set to it. Without CUDA_EMU the test is skipped.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
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
// d_conv 1, a vocabulary that is not a multiple of 8; and Falcon-Mamba
// (bcdt_norm) with r and n of 1 and above 32.
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
	{"falcon-odd-untied", modeltest.FalconShapes[0].Config, []int{132}},
	{"falcon-r1-n1", modeltest.FalconShapes[1].Config, []int{132}},
	{"falcon-wide-state", modeltest.FalconShapes[2].Config, []int{46}},
	{"falcon-r300-n260", model.NewFalconConfig(1, 40, 32, 64, 300, 260, 4, true, 1e-6), []int{132}},
}

var emuTokens = []int{0, 5, 3, 7, 1, 2, 8}

// emuOccupancies are the GPUs to plan for: one block on one multiprocessor
// (every block walks many row groups), a mid-sized GPU, an H200.
var emuOccupancies = []occupancy{{1, 1, 1, 1}, {46, 2, 4, 3}, {132, 3, 3, 3}}

// emuStep is one step of the emulator's host loop: cuda/mamba.go's run with
// the head mode, the token the host writes (−1: the one the previous step
// left on the device) and the sampler's inputs.
type emuStep struct {
	mode        string // feed, logits, argmax, sample
	token       int
	coin        float32
	temperature float32
	topP        float32
}

// The kernels of a step, both ways mamba.go drives them, against learning:
//   - plain: the host gives every token, and the head returns the logits
//     (Forward) or also the argmax (ForwardArgmax);
//   - graph: the launch sequence that is captured into CUDA graphs: a
//     prompt fed without the head (Feed), then greedy tokens that the head's
//     argmax leaves in step_control for the next step, then tokens the
//     device samples and feeds itself.
//
// The logits of every step that runs the head are compared with learning's
// fed the same tokens, the chosen tokens with sample.Argmax and
// sample.Sampler on the emulator's own logits, and the state at the end.
func TestEmulator(t *testing.T) {
	emu := os.Getenv("CUDA_EMU")
	if emu == "" {
		t.Skip("CUDA_EMU is not set: cuda/emu/run.sh builds the emulator and runs this test")
	}
	for _, sh := range emuShapes {
		for _, sms := range sh.sms {
			o := emuOccupancies[2]
			switch sms {
			case 1:
				o = emuOccupancies[0]
			case 46:
				o = emuOccupancies[1]
			}
			for _, path := range []string{"plain", "graph"} {
				t.Run(fmt.Sprintf("%s-sms%d-%s", sh.name, sms, path), func(t *testing.T) {
					runEmulator(t, emu, sh.c, o, path)
				})
			}
		}
	}
}

func runEmulator(t *testing.T, emu string, c model.Config, o occupancy, path string) {
	dir := t.TempDir()
	// norms, D, conv bias and dt bias vary, so that every term counts.
	w := modeltest.Weights(t, c, 5)
	p := makePlan(shapeOf(c), o)
	t.Logf("%s, plan %+v", c, p)

	var steps []emuStep
	coins := sample.New(c.VocabSize, 1, 1, 99)  // the host's draws for the sampled steps
	expect := sample.New(c.VocabSize, 1, 1, 99) // the CPU sampler, drawing the same coins
	if path == "plain" {
		for i, tok := range emuTokens {
			mode := "logits"
			if i%2 == 1 {
				mode = "argmax"
			}
			steps = append(steps, emuStep{mode: mode, token: tok})
		}
	} else {
		for _, tok := range emuTokens[:3] {
			steps = append(steps, emuStep{mode: "feed", token: tok})
		}
		steps = append(steps, emuStep{mode: "argmax", token: emuTokens[3]})
		for i := 0; i < 3; i++ {
			steps = append(steps, emuStep{mode: "argmax", token: -1})
		}
		for i, tp := range []float32{0.9, 1, 0.5} {
			steps = append(steps, emuStep{mode: "sample", token: -1, coin: coins.Coin(), temperature: 0.8 + 0.2*float32(i), topP: tp})
		}
	}
	writeEmuInput(t, dir, w, p, steps)
	out, err := exec.Command(emu, dir).CombinedOutput()
	require.NoError(t, err, "emulator: %s", out)

	ref, err := learning.New(w)
	require.NoError(t, err)
	vp := c.PaddedVocab()
	logits := readFloats(t, filepath.Join(dir, "logits.bin"))
	tokens := readInts(t, filepath.Join(dir, "tokens.bin"))
	require.Len(t, tokens, len(steps))
	var worst float64
	heads, fed := 0, -1
	for i, st := range steps {
		tok := st.token
		if tok < 0 {
			tok = fed // what the previous step chose on the device
		}
		want, err := ref.Forward(tok)
		require.NoError(t, err)
		fed = tokens[i]
		if st.mode == "feed" {
			assert.Equal(t, tok, tokens[i], "step %d: feed leaves the token", i)
			continue
		}
		require.GreaterOrEqual(t, len(logits), (heads+1)*vp, "step %d: no logits", i)
		got := logits[heads*vp : (heads+1)*vp]
		heads++
		for j, v := range got {
			require.False(t, math.IsNaN(float64(v)), "step %d: logit %d is NaN (never written?)", i, j)
		}
		rel := modeltest.MaxAbsDiff(got, want) / modeltest.MaxAbs(want)
		worst = math.Max(worst, rel)
		assert.LessOrEqual(t, rel, 1e-5, "step %d: logits off by %.3g relative", i, rel)
		switch st.mode {
		case "logits":
			assert.Equal(t, tok, tokens[i], "step %d: the head without argmax leaves the token", i)
		case "argmax":
			assert.Equal(t, sample.Argmax(got[:c.VocabSize]), tokens[i], "step %d: argmax", i)
		case "sample":
			// expect draws the same coins as the steps' (Coin and Sample draw one each).
			expect.Temperature, expect.TopP = st.temperature, st.topP
			want, err := expect.Sample(got)
			require.NoError(t, err)
			assert.Equal(t, want, tokens[i], "step %d: sampled token (T %g, p %g, coin %g)",
				i, st.temperature, st.topP, st.coin)
		}
	}
	t.Logf("worst relative logit error %.3g over %d heads", worst, heads)
	rs, err := ref.State()
	require.NoError(t, err)
	conv := readFloats(t, filepath.Join(dir, "conv.bin"))
	ssm := readFloats(t, filepath.Join(dir, "ssm.bin"))
	assert.LessOrEqual(t, modeltest.MaxAbsDiff(conv, rs.Conv), 1e-5*math.Max(1, modeltest.MaxAbs(rs.Conv)), "conv state")
	assert.LessOrEqual(t, modeltest.MaxAbsDiff(ssm, rs.SSM), 1e-5*math.Max(1, modeltest.MaxAbs(rs.SSM)), "ssm state")
}

// The head's fused argmax picks what a greedy sample.Sampler picks (the
// first maximum, sample.Argmax) and refuses what it refuses (the first NaN
// or ±Inf, leaving −1 − its id): ties across threads, warps and blocks,
// NaNs, infinities, lengths below and above a block, one block and several
// (the last block merges the others').
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
		"minus-inf-late":     set(fill(5000, 1), 4999, -inf, 4000, 3),
		"nan-last-block":     set(fill(50277, 0), 50276, nan, 12, 1),
		"inf-before-nan":     set(fill(3000, 0), 2900, nan, 2100, -inf, 2500, inf),
	}
	for name, x := range cases {
		for _, blocks := range []int{1, 3, 8} {
			t.Run(fmt.Sprintf("%s-%dblocks", name, blocks), func(t *testing.T) {
				dir := t.TempDir()
				in, out := filepath.Join(dir, "x.bin"), filepath.Join(dir, "best.bin")
				writeFloats(t, in, x)
				msg, err := exec.Command(emu, "-argmax", fmt.Sprint(blocks), in, out).CombinedOutput()
				require.NoError(t, err, "emulator: %s", msg)
				want, err := sample.New(len(x), 0, 1, 1).Sample(x)
				assertChoice(t, want, err, readInts(t, out)[0])
			})
		}
	}
}

// assertChoice: the device left in step_control what sample.Sampler chose
// (want, err): want, or −1 − id for a *sample.NonFiniteError of id.
func assertChoice(t *testing.T, want int, err error, got int) {
	t.Helper()
	var nf *sample.NonFiniteError
	if errors.As(err, &nf) {
		id, bad := nonFiniteID(int32(got))
		if assert.True(t, bad, "the device chose %d from a logit of %v at %d", got, nf.Value, nf.ID) {
			assert.Equal(t, nf.ID, id, "the first non-finite logit")
		}
		return
	}
	require.NoError(t, err)
	assert.Equal(t, want, got)
}

// The device sampler draws what sample.Sampler's algorithm draws with the
// same coin when its running sums are exact (sampleExact): with and without
// a nucleus, at several temperatures, on peaked, flat and tied logits, and
// a vocabulary of one. sample.Sampler adds float32s one by one, which
// drifts over many tokens; on the small vocabularies the device also draws
// exactly what it draws, on 50277 tokens the test counts how often the two
// differ.
func TestEmulatorSample(t *testing.T) {
	emu := os.Getenv("CUDA_EMU")
	if emu == "" {
		t.Skip("CUDA_EMU is not set: cuda/emu/run.sh builds the emulator and runs this test")
	}
	rng := uint64(12345)
	next := func() float32 { // xorshift, for the test's logits
		rng ^= rng << 13
		rng ^= rng >> 7
		rng ^= rng << 17
		return float32(rng>>40) / float32(1<<24)
	}
	logitSets := map[string][]float32{"one": {0.3}}
	for _, n := range []int{7, 1000, 50277} {
		peaked, flat, tied := make([]float32, n), make([]float32, n), make([]float32, n)
		for i := range peaked {
			peaked[i] = 12 * next() * next()
			flat[i] = next()
			tied[i] = float32(int(4 * next()))
		}
		logitSets[fmt.Sprintf("peaked%d", n)] = peaked
		logitSets[fmt.Sprintf("flat%d", n)] = flat
		logitSets[fmt.Sprintf("tied%d", n)] = tied
	}
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	for name, kv := range map[string][2]float32{"nan0": {0, nan}, "nan-late": {49000, nan}, "plus-inf": {600, inf}, "minus-inf": {50276, -inf}} {
		x := append([]float32(nil), logitSets["flat50277"]...)
		x[int(kv[0])] = kv[1]
		logitSets[name] = x
	}
	logitSets["nan-then-inf"] = []float32{0.5, inf, 2, nan}
	mismatches, draws := 0, 0
	for name, logits := range logitSets {
		for _, tp := range [][2]float32{{1, 0.9}, {0.7, 0.5}, {1.3, 1}, {1, 0.999}} {
			t.Run(fmt.Sprintf("%s-T%g-p%g", name, tp[0], tp[1]), func(t *testing.T) {
				dir := t.TempDir()
				in, out := filepath.Join(dir, "logits.bin"), filepath.Join(dir, "token.bin")
				writeFloats(t, in, logits)
				for seed := uint64(1); seed <= 4; seed++ {
					cpu := sample.New(len(logits), tp[0], tp[1], seed)
					coin := sample.New(len(logits), tp[0], tp[1], seed).Coin()
					want, cpuErr := cpu.Sample(logits)
					msg, err := exec.Command(emu, "-sample", fmt.Sprint(sampleThreads), in, fmt.Sprint(coin),
						fmt.Sprint(tp[0]), fmt.Sprint(tp[1]), out).CombinedOutput()
					require.NoError(t, err, "emulator: %s", msg)
					got := readInts(t, out)[0]
					if cpuErr != nil { // a non-finite logit: nothing is drawn
						assertChoice(t, want, cpuErr, got)
						continue
					}
					draws++
					if got != want {
						mismatches++
					}
					assert.Equal(t, sampleExact(logits, tp[0], tp[1], coin), got, "seed %d, coin %.9g", seed, coin)
					if len(logits) <= 1000 {
						assert.Equal(t, want, got, "seed %d, coin %.9g: sample.Sampler", seed, coin)
					}
				}
			})
		}
	}
	t.Logf("%d of %d draws differ from sample.Sampler's float32 running sums", mismatches, draws)
}

// sampleExact is sample.Sampler.Sample at temperature > 0 with coin as its
// draw, its probabilities computed as it computes them, but its running
// sums (the nucleus mass, the CDFs) in float64.
func sampleExact(logits []float32, temperature, topP, coin float32) int {
	maxv := logits[sample.Argmax(logits)]
	probs := make([]float32, len(logits))
	var sum float64
	for i, l := range logits {
		probs[i] = float32(math.Exp(float64((l - maxv) / temperature)))
		sum += float64(probs[i])
	}
	for i := range probs {
		probs[i] = float32(float64(probs[i]) / sum)
	}
	if !(topP > 0 && topP < 1) {
		var cdf float64
		for i, p := range probs {
			cdf += float64(p)
			if float64(coin) < cdf {
				return i
			}
		}
		return len(probs) - 1
	}
	if len(probs) == 1 {
		return 0
	}
	cutoff := (1 - topP) / float32(len(probs)-1)
	var order []int
	for i, p := range probs {
		if p >= cutoff {
			order = append(order, i)
		}
	}
	sort.SliceStable(order, func(a, b int) bool { return probs[order[a]] > probs[order[b]] })
	var mass float64
	last := len(order) - 1
	for i, idx := range order {
		mass += float64(probs[idx])
		if mass > float64(topP) {
			last = i
			break
		}
	}
	r := float64(coin * float32(mass))
	var cdf float64
	for _, idx := range order[:last+1] {
		cdf += float64(probs[idx])
		if r < cdf {
			return idx
		}
	}
	return order[last]
}

// matvec_v1 and matvec_v2 against a float64 product on the CPU (each row's
// error relative to Σ|W·x|, the scale of float32 rounding), on rows
// that are and are not float4-aligned, one warp and several a row, one
// block walking every row group and many.
func TestEmulatorMatVec(t *testing.T) {
	emu := os.Getenv("CUDA_EMU")
	if emu == "" {
		t.Skip("CUDA_EMU is not set: cuda/emu/run.sh builds the emulator and runs this test")
	}
	for _, sh := range []struct{ rows, cols, resident int }{
		{1, 4, 1}, {37, 1030, 1}, {37, 1030, 100}, {200, 2048, 3}, {192, 5120, 396}, {50, 3, 7}, {1000, 64, 5},
	} {
		for _, v := range []string{"v1", "v2"} {
			t.Run(fmt.Sprintf("%s-%dx%d-resident%d", v, sh.rows, sh.cols, sh.resident), func(t *testing.T) {
				g := planMatVecGrid(sh.rows, sh.cols, sh.resident)
				blocks := g.blocks
				if v == "v1" { // one group per block
					blocks = g.groups(sh.rows)
				}
				wm, x := make([]float32, sh.rows*sh.cols), make([]float32, sh.cols)
				for i := range wm {
					wm[i] = float32(math.Sin(float64(i)*0.37)) * 0.1
				}
				for i := range x {
					x[i] = float32(math.Cos(float64(i) * 0.11))
				}
				dir := t.TempDir()
				wp, xp, out := filepath.Join(dir, "w.bin"), filepath.Join(dir, "x.bin"), filepath.Join(dir, "y.bin")
				writeFloats(t, wp, wm)
				writeFloats(t, xp, x)
				msg, err := exec.Command(emu, "-matvec", v, fmt.Sprint(sh.rows), fmt.Sprint(sh.cols), fmt.Sprint(g.wpr),
					fmt.Sprint(blocks), wp, xp, out).CombinedOutput()
				require.NoError(t, err, "emulator: %s", msg)
				got := readFloats(t, out)
				// Each row's error relative to Σ_j |W[row][j]·x[j]|, the scale
				// of its float32 rounding (the sum itself may cancel to ~0).
				var rel float64
				require.Len(t, got, sh.rows)
				for r := 0; r < sh.rows; r++ {
					var s, scale float64
					for j := 0; j < sh.cols; j++ {
						p := float64(wm[r*sh.cols+j]) * float64(x[j])
						s += p
						scale += math.Abs(p)
					}
					rel = math.Max(rel, math.Abs(float64(got[r])-s)/math.Max(scale, 1e-30))
				}
				assert.LessOrEqual(t, rel, 1e-6, "%s %+v: off by %.3g relative", v, g, rel)
				t.Logf("%s %+v, %d blocks: max relative error %.3g", v, g, blocks, rel)
			})
		}
	}
}

// writeEmuInput writes config.txt and weights.bin for cuda/emu (emu.cpp).
func writeEmuInput(t *testing.T, dir string, w *model.Weights, p plan, steps []emuStep) {
	t.Helper()
	s := shapeOf(w.Config)
	lay, err := planWeights(w)
	require.NoError(t, err)
	ts := lay.tensors
	var cfg strings.Builder
	falcon := 0
	if w.Config.Arch == model.FalconMamba {
		falcon = 1
	}
	fmt.Fprintf(&cfg, "%d %d %d %d %d %d %d %d %d %d %.9g %d %.9g\n", s.L, s.d, s.di, s.r, s.n, s.k, s.vocab,
		s.vocabPadded, threads, sampleThreads, model.RMSEps, falcon, w.Config.MixerEps)
	fmt.Fprintf(&cfg, "%d %d %d %d %d %d %d %d %d\n", p.inProjConv.wpr, p.inProjConv.blocks, p.xProj.wpr, p.xProj.blocks,
		p.outProj.wpr, p.outProj.blocks, p.head.wpr, p.head.blocks, p.dtScanGate)
	fmt.Fprintf(&cfg, "%d\n", len(steps))
	for _, st := range steps {
		fmt.Fprintf(&cfg, "%s %d %.9g %.9g %.9g\n", st.mode, st.token, st.coin, st.temperature, st.topP)
	}
	fmt.Fprintf(&cfg, "%d\n", len(ts))
	f, err := os.Create(filepath.Join(dir, "weights.bin"))
	require.NoError(t, err)
	for _, tn := range ts {
		fmt.Fprintf(&cfg, "%s %d\n", tn.name, len(tn.data))
		require.NoError(t, binary.Write(f, binary.LittleEndian, tn.data))
	}
	require.NoError(t, f.Close())
	require.NoError(t, os.WriteFile(filepath.Join(dir, "config.txt"), []byte(cfg.String()), 0o644))
}

func writeFloats(t *testing.T, path string, x []float32) {
	t.Helper()
	f, err := os.Create(path)
	require.NoError(t, err)
	require.NoError(t, binary.Write(f, binary.LittleEndian, x))
	require.NoError(t, f.Close())
}

func readInts(t *testing.T, path string) []int {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	x := make([]int, len(b)/4)
	for i := range x {
		x[i] = int(int32(binary.LittleEndian.Uint32(b[4*i:])))
	}
	return x
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
