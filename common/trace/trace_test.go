package trace_test

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mamba.go/common/model"
	"mamba.go/common/npy"
	"mamba.go/common/refcase"
	"mamba.go/common/trace"
)

func defaultCase(t *testing.T) string {
	dir := filepath.Join(refcase.RepoRoot(), "testdata", "cases", "default")
	if _, err := os.Stat(filepath.Join(dir, trace.IndexFile)); err != nil {
		t.Skip("testdata/cases/default has no trace: run make testdata")
	}
	return dir
}

// Every project case's trace has every op of its architecture
// (model.OpsFor), in order, for its first tokens, with the model's shapes; and its lm_head entries are the logits.npy rows
// bit for bit (both are float32 roundings of the same float64 reference).
func TestCaseTracesMatchTheirModelAndLogits(t *testing.T) {
	defaultCase(t)
	archs := map[model.Arch]int{}
	for _, dir := range refcase.Dirs(filepath.Join(refcase.RepoRoot(), "testdata", "cases")) {
		c, err := refcase.Load(dir)
		require.NoError(t, err)
		require.NotNil(t, c.Trace, dir)
		w, err := model.LoadModelBin(filepath.Join(dir, "model.bin"))
		require.NoError(t, err)
		cfg := w.Config
		w.Close()
		require.NoError(t, c.Trace.Check(cfg), dir)
		archs[cfg.Arch]++

		// The keys a step reports, in order: the embedding, every layer's
		// ops, the head's.
		ops := model.OpsFor(cfg)
		var want []trace.Key
		for pos := range 3 {
			for _, o := range ops {
				if !o.PerLayer {
					want = append(want, trace.Key{Pos: pos, Layer: -1, Op: o.Op})
				}
				if o.Op == model.OpEmbedding {
					for l := range cfg.NLayers {
						for _, lo := range ops {
							if lo.PerLayer {
								want = append(want, trace.Key{Pos: pos, Layer: l, Op: lo.Op})
							}
						}
					}
				}
			}
		}
		assert.Equal(t, 3, c.Trace.Positions())
		require.Len(t, c.Trace.Entries, len(want), dir)
		assert.Len(t, want, 3*(3+cfg.NLayers*(len(ops)-3)), "embedding, norm_f, lm_head and the layers' ops")
		lmHeads := 0
		for i, e := range c.Trace.Entries {
			assert.Equal(t, want[i], e.Key(), "%s entry %d", dir, i)
			info, ok := model.LookupOp(cfg, e.Op)
			require.True(t, ok)
			assert.Len(t, e.Values, info.Len(cfg), "%s entry %d (%s)", dir, i, e.Key())
			if e.Op == model.OpLMHead {
				// logits.npy may leave out the padding's columns (transformers' dumps).
				assert.Equal(t, c.Logits.Row(e.Pos), e.Values[:c.Logits.Cols], "%s position %d", dir, e.Pos)
				lmHeads++
			}
		}
		assert.Equal(t, 3, lmHeads)
	}
	assert.NotZero(t, archs[model.Mamba1], "no Mamba-1 case")
	assert.NotZero(t, archs[model.Mamba2], "no Mamba-2 case")
	assert.NotZero(t, archs[model.FalconMamba], "no Falcon-Mamba case")
}

func writeCase(t *testing.T, index string, values []float32) string {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, trace.IndexFile), []byte(index), 0o644))
	f, err := os.Create(filepath.Join(dir, trace.ValuesFile))
	require.NoError(t, err)
	require.NoError(t, npy.Write(f, &npy.Array{Rows: 1, Cols: len(values), Data: values}))
	require.NoError(t, f.Close())
	return dir
}

func TestLoadRefusesBadTraces(t *testing.T) {
	got, err := trace.Load(t.TempDir())
	assert.NoError(t, err)
	assert.Nil(t, got, "no trace.json: no trace")

	for name, tc := range map[string]struct {
		index  string
		values []float32
		want   string
	}{
		"not json":     {`[{"pos": 0,`, []float32{1}, "trace.json"},
		"no such op":   {`[{"pos": 0, "layer": -1, "op": "attention", "len": 1}]`, []float32{1}, `"attention" is no op`},
		"past the end": {`[{"pos": 0, "layer": -1, "op": "embedding", "len": 3}]`, []float32{1, 2}, "3 values at offset 0"},
		"left over":    {`[{"pos": 0, "layer": -1, "op": "embedding", "len": 1}]`, []float32{1, 2}, "trace.npy: 2 values, "},
		"negative pos": {`[{"pos": -1, "layer": -1, "op": "embedding", "len": 1}]`, []float32{1}, "position -1"},
		"negative len": {`[{"pos": 0, "layer": -1, "op": "embedding", "len": -1}]`, []float32{1}, "-1 values"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := trace.Load(writeCase(t, tc.index, tc.values))
			assert.ErrorContains(t, err, tc.want)
		})
	}

	// A trace.json without its trace.npy names the missing file.
	dir := writeCase(t, `[]`, nil)
	require.NoError(t, os.Remove(filepath.Join(dir, trace.ValuesFile)))
	_, err = trace.Load(dir)
	assert.ErrorContains(t, err, trace.ValuesFile)
}

func TestCheckRefusesATraceOfAnotherShape(t *testing.T) {
	c := model.Config{NLayers: 1, VocabSize: 8, DModel: 2, DInner: 4, DtRank: 1, DState: 1, DConv: 2}
	ok := &trace.Trace{Entries: []trace.Entry{{0, -1, model.OpEmbedding, make([]float32, 2)}, {0, 0, model.OpXProj, make([]float32, 3)}}}
	assert.NoError(t, ok.Check(c))
	for want, e := range map[string]trace.Entry{
		"2 values, want 3":        {0, 0, model.OpXProj, make([]float32, 2)},
		"in layer 1 of a 1-layer": {0, 1, model.OpNorm, make([]float32, 2)},
		"is no layer's":           {0, 0, model.OpEmbedding, make([]float32, 2)},
		`"attention" is no op`:    {0, -1, "attention", nil},
	} {
		assert.ErrorContains(t, (&trace.Trace{Entries: []trace.Entry{e}}).Check(c), want)
	}

	// A Mamba-2 trace is checked against Mamba-2's ops and lengths:
	// in_proj is z, x, B, C and Δ (2·4 + 2·1·1 + 2 = 12), not Mamba-1's x and z (8).
	c2 := model.NewMamba2Config(1, 8, 2, 2, 2, 1, 1, 2, true)
	ok = &trace.Trace{Entries: []trace.Entry{{0, 0, model.OpInProj, make([]float32, 12)}, {0, 0, model.OpDtLimit, make([]float32, 2)}}}
	assert.NoError(t, ok.Check(c2))
	for want, e := range map[string]trace.Entry{
		"8 values, want 12":            {0, 0, model.OpInProj, make([]float32, 8)},
		`"x_proj" is no op of Mamba-2`: {0, 0, model.OpXProj, make([]float32, 3)},
		"2 values, want 6":             {0, 0, model.OpConv, make([]float32, 2)}, // x, B, C: 4 + 2·1·1
	} {
		assert.ErrorContains(t, (&trace.Trace{Entries: []trace.Entry{e}}).Check(c2), want)
	}
	assert.ErrorContains(t, (&trace.Trace{Entries: []trace.Entry{{0, 0, model.OpDtLimit, make([]float32, 2)}}}).Check(c),
		`"dt_limit" is no op of Mamba-1`)
}

func TestFirstDivergence(t *testing.T) {
	want := &trace.Trace{Entries: []trace.Entry{
		{0, -1, model.OpEmbedding, []float32{1, -2}},
		{0, 0, model.OpNorm, []float32{10, 20}},
		{0, 0, model.OpInProj, []float32{1, 1}},
		{0, 0, model.OpSiLU, []float32{0.5, 0.25}},
	}}
	// got reports phase ends only (no norm), and parts at silu, then stays off.
	got := &trace.Trace{Entries: []trace.Entry{
		{0, -1, model.OpEmbedding, []float32{1, -2}},
		{0, 0, model.OpInProj, []float32{1, 1 + 1e-7}},
		{0, 0, model.OpSiLU, []float32{0.5, 0.75}},
	}}
	cmp := trace.FirstDivergence(want, got, 1e-5)
	require.NotNil(t, cmp.First)
	assert.Equal(t, trace.Key{Pos: 0, Layer: 0, Op: model.OpSiLU}, cmp.First.Key)
	assert.InDelta(t, 0.5, cmp.First.MaxAbsErr, 1e-9)
	assert.Equal(t, 0.5, cmp.First.Scale)
	assert.Equal(t, model.PhaseInProjConv, cmp.First.Phase(model.Config{}))
	assert.Equal(t, 3, cmp.Compared, "norm is in want only")
	assert.Equal(t, "token 0, layer 0, op silu", cmp.First.Key.String())

	// Under a looser tolerance nothing parts; the worst entry is reported.
	cmp = trace.FirstDivergence(want, got, 2)
	assert.Nil(t, cmp.First)
	assert.Equal(t, model.OpSiLU, cmp.Worst.Op)

	// NaN and a length mismatch are divergences, however loose the tolerance.
	nan := &trace.Trace{Entries: []trace.Entry{{0, -1, model.OpEmbedding, []float32{1, float32(math.NaN())}}}}
	assert.NotNil(t, trace.FirstDivergence(want, nan, 1e30).First)
	short := &trace.Trace{Entries: []trace.Entry{{0, -1, model.OpEmbedding, []float32{1}}}}
	assert.NotNil(t, trace.FirstDivergence(want, short, 1e30).First)
}

func TestRecorderAndChain(t *testing.T) {
	rec := &trace.Recorder{MaxPos: 1}
	double := model.TracerFunc(func(_, _ int, _ model.Op, v []float32) {
		for i := range v {
			v[i] *= 2
		}
	})
	ch := trace.Chain{double, nil, rec}
	buf := []float32{1, 2}
	ch.Trace(0, -1, model.OpEmbedding, buf)
	ch.Trace(1, -1, model.OpEmbedding, buf)
	assert.Equal(t, []float32{4, 8}, buf, "the chain's first tracer changed the values twice")
	require.Len(t, rec.Recorded.Entries, 1, "position 1 is past MaxPos")
	assert.Equal(t, []float32{2, 4}, rec.Recorded.Entries[0].Values)
	buf[0] = 99
	assert.Equal(t, float32(2), rec.Recorded.Entries[0].Values[0], "the recorder keeps a copy")
}

func TestPrinter(t *testing.T) {
	var out bytes.Buffer
	p := &trace.Printer{W: &out, Values: 2}
	p.Trace(0, -1, model.OpEmbedding, []float32{3, 4, 0})
	p.Trace(0, 0, model.OpXProj, []float32{1e-6, -0.5})
	p.Trace(1, -1, model.OpLMHead, []float32{1})
	lines := strings.Split(out.String(), "\n")
	assert.Equal(t, "position 0", lines[0])
	assert.Contains(t, lines[1], "‖v‖")
	assert.Equal(t, "    -  -             embedding  h       [d]          3          5           3          4 …", lines[2])
	assert.Equal(t, "    0  x_proj        x_proj     xDBC    [r+2n]       2        0.5       1e-06       -0.5", lines[3])
	assert.Equal(t, "", lines[4])
	assert.Equal(t, "position 1", lines[5])

	// Mamba-2's ops, phases and shapes, in columns as wide as its names.
	out.Reset()
	p = &trace.Printer{W: &out, Values: 1, Config: model.NewMamba2Config(1, 8, 2, 2, 2, 1, 1, 2, true)}
	p.Trace(0, 0, model.OpInProj, []float32{3, 4})
	p.Trace(0, 0, model.OpGroupNorm, []float32{1})
	p.Trace(0, 0, model.OpGate, []float32{1})
	lines = strings.Split(out.String(), "\n")
	assert.Equal(t, "layer  phase         op          value   shape           len        ‖v‖  first values", lines[1])
	assert.Equal(t, "    0  in_proj_conv  in_proj     zxbcdt  [2di+2gn+h]       2          5           3 …", lines[2])
	assert.Equal(t, "    0  out_proj      group_norm  y       [di]              1          1           1", lines[3])
	assert.Equal(t, "    0  dt_scan_gate  gate        y       [di]              1          1           1", lines[4])
}

// A NaN on either side is a divergence, never "no divergence": the scale
// of a vector holding a NaN is that of its numbers.
func TestDivergenceWithNaN(t *testing.T) {
	nan := float32(math.NaN())
	key := trace.Key{Pos: 0, Layer: 0, Op: model.OpScan}
	for name, tc := range map[string][2][]float32{
		"NaN in the reference": {{1, nan}, {1, 2}},
		"NaN in the row":       {{1, 2}, {1, nan}},
	} {
		ref := &trace.Trace{Entries: []trace.Entry{{Pos: key.Pos, Layer: key.Layer, Op: key.Op, Values: tc[0]}}}
		got := &trace.Trace{Entries: []trace.Entry{{Pos: key.Pos, Layer: key.Layer, Op: key.Op, Values: tc[1]}}}
		d := trace.FirstDivergence(ref, got, 1e-4)
		require.NotNil(t, d.First, name)
		assert.Equal(t, key, d.First.Key, name)
		assert.True(t, math.IsInf(d.First.Rel(), 1), "%s: rel %g", name, d.First.Rel())
	}
}
