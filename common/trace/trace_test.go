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

// Every project case's trace has every op of its model (model.OpsFor), in
// order, for its first tokens, with the model's shapes; and its lm_head entries are the
// logits.npy rows bit for bit (both are float32 roundings of the same
// float64 reference).
func TestCaseTracesMatchTheirModelAndLogits(t *testing.T) {
	defaultCase(t)
	for _, dir := range refcase.Dirs(filepath.Join(refcase.RepoRoot(), "testdata", "cases")) {
		c, err := refcase.Load(dir)
		require.NoError(t, err)
		w, err := model.LoadModelBin(filepath.Join(dir, "model.bin"))
		require.NoError(t, err)
		cfg := w.Config
		w.Close()
		if cfg.Arch == model.Mamba2 && c.Trace == nil {
			continue // make_case2.py writes no trace
		}
		require.NotNil(t, c.Trace, dir)
		require.NoError(t, c.Trace.Check(cfg), dir)
		ops := model.OpsFor(cfg)

		perToken := 2 + cfg.NLayers*(len(ops)-3) + 1
		assert.Equal(t, 3, c.Trace.Positions())
		require.Len(t, c.Trace.Entries, 3*perToken)
		lmHeads := 0
		for i, e := range c.Trace.Entries {
			j := i % perToken
			var want model.Op
			switch {
			case j == 0:
				want = model.OpEmbedding
			case j == perToken-2:
				want = model.OpNormF
			case j == perToken-1:
				want = model.OpLMHead
			default:
				want = ops[1+(j-1)%(len(ops)-3)].Op
				assert.Equal(t, (j-1)/(len(ops)-3), e.Layer)
			}
			assert.Equal(t, want, e.Op, "%s entry %d", dir, i)
			if e.Op == model.OpLMHead {
				assert.Equal(t, c.Logits.Row(e.Pos), e.Values, "%s position %d", dir, e.Pos)
				lmHeads++
			}
		}
		assert.Equal(t, 3, lmHeads)
	}
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
	assert.Equal(t, model.PhaseInProjConv, cmp.First.Phase())
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
}
