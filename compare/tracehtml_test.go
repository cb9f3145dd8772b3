package main

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mamba.go/common/cli"
	"mamba.go/common/model"
	"mamba.go/common/refcase"
	"mamba.go/common/trace"
	"mamba.go/common/tracehtml"
	"mamba.go/fused"
	"mamba.go/learning"
)

// tracePage runs the command line with -trace-html on a case's model.bin
// and returns the page and the data it embeds.
func tracePage(t *testing.T, caseName string, newModel model.New, tokens string) (string, *tracehtml.Data) {
	path := filepath.Join(t.TempDir(), "page.html")
	bin := filepath.Join(refcase.RepoRoot(), "testdata", "cases", caseName, "model.bin")
	var stdout, stderr strings.Builder
	require.NoError(t, cli.Run("mamba-test", []string{bin, "-tokens", tokens, "-n", "2", "-t", "0", "-trace-html", path}, &stdout, &stderr, newModel))
	page, err := os.ReadFile(path)
	require.NoError(t, err)
	m := regexp.MustCompile(`(?s)<script type="application/json" id="data">(.*?)</script>`).FindSubmatch(page)
	require.NotNil(t, m, "no data in the page")
	var d tracehtml.Data
	require.NoError(t, json.Unmarshal(m[1], &d))
	return string(page), &d
}

func learningNew(w *model.Weights) (model.Mamba, error) { return learning.New(w) }
func fusedNew(w *model.Weights) (model.Mamba, error)    { return fused.New(w) }

// cellsOf decodes a heatmap's bytes into values (NaN: no value).
func cellsOf(t *testing.T, m tracehtml.Map) []float64 {
	b, err := base64.StdEncoding.DecodeString(m.Cells)
	require.NoError(t, err)
	out := make([]float64, len(b))
	for i, q := range b {
		out[i] = m.Dequantise(q)
	}
	return out
}

func findMap(d *tracehtml.Data, kind string, layer int) (tracehtml.Map, bool) {
	for _, m := range d.Maps {
		if m.Kind == kind && m.Layer == layer {
			return m, true
		}
	}
	return tracehtml.Map{}, false
}

// The page's Δ cells are the traced softplus values, averaged over the
// channels of a row, within the quantisation step; it names no network
// address; the walk of each token is its reports in -trace's order.
func TestTraceHTMLDeltaIsTracedSoftplus(t *testing.T) {
	for _, impl := range []struct {
		name string
		new  model.New
	}{{"learning", learningNew}, {"fused", fusedNew}} {
		t.Run(impl.name, func(t *testing.T) {
			page, d := tracePage(t, "default", impl.new, "5,6,7,8")
			assert.NotRegexp(t, `(?i)https?://`, page)
			assert.Contains(t, page, "Content-Security-Policy")
			require.Len(t, d.Tokens, 6)
			assert.False(t, d.Tokens[3].Generated)
			assert.True(t, d.Tokens[4].Generated)
			assert.Empty(t, d.Missing)

			w, err := model.LoadModelBin(filepath.Join(refcase.RepoRoot(), "testdata", "cases", "default", "model.bin"))
			require.NoError(t, err)
			defer w.Close()
			m, err := impl.new(w)
			require.NoError(t, err)
			defer m.Close()
			rec := &trace.Recorder{}
			m.(model.Traceable).SetTracer(rec)
			for _, tok := range []int{5, 6, 7, 8, d.Tokens[4].ID} {
				_, err := m.Forward(tok)
				require.NoError(t, err)
			}
			delta, ok := findMap(d, "delta", 1)
			require.True(t, ok)
			cells, cols := cellsOf(t, delta), len(d.Columns)
			step := (delta.Max - delta.Min) / 254
			per := int(delta.PerRow)
			for _, e := range rec.Recorded.Entries {
				if e.Op != model.OpSoftplus || e.Layer != 1 {
					continue
				}
				for r := range delta.Rows {
					var s float64
					for _, v := range e.Values[r*per : (r+1)*per] {
						s += float64(v)
					}
					assert.InDelta(t, s/float64(per), cells[r*cols+e.Pos], step/2+1e-7, "token %d row %d", e.Pos, r)
				}
			}
			require.Len(t, d.Walks, 5)
			if impl.name == "learning" {
				assert.Len(t, d.Walks[0], 1+2*12+2) // embedding, every layer's ops, the head
			}
			assert.Equal(t, "embedding", d.Walks[0][0].Op)
		})
	}
}

// The recomputed state's norms after the last token are those of
// learning's own state.
func TestTraceHTMLStateIsLearningsState(t *testing.T) {
	for _, name := range []string{"default", "m2default", "falcon"} {
		t.Run(name, func(t *testing.T) {
			w, err := model.LoadModelBin(filepath.Join(refcase.RepoRoot(), "testdata", "cases", name, "model.bin"))
			require.NoError(t, err)
			defer w.Close()
			c := w.Config
			m, err := learning.New(w)
			require.NoError(t, err)
			col := tracehtml.NewCollector(w, tracehtml.Options{MaxChannels: 1 << 20})
			m.SetTracer(col)
			toks := []int{5, 6, 7, 8}
			for _, tok := range toks {
				_, err := m.Forward(tok)
				require.NoError(t, err)
			}
			st, err := m.State()
			require.NoError(t, err)
			d := col.Data(tracehtml.Run{})
			assert.Empty(t, d.Missing)
			if c.Arch == model.FalconMamba {
				_, ok := findMap(d, "bcdt", 0)
				assert.True(t, ok, "no bcdt_norm heatmap")
			}
			for l := range c.NLayers {
				sm, ok := findMap(d, "state", l)
				require.True(t, ok)
				cells := cellsOf(t, sm)
				ssm := st.SSM[l*c.SSMStateLen() : (l+1)*c.SSMStateLen()]
				per := c.SSMStateLen() / sm.Rows // values of one row (channel or head)
				step := (sm.Max - sm.Min) / 254
				for r := range sm.Rows {
					var s float64
					for _, v := range ssm[r*per : (r+1)*per] {
						s += float64(v) * float64(v)
					}
					assert.InDelta(t, math.Sqrt(s), cells[r*len(d.Columns)+len(toks)-1], step/2+1e-6, "layer %d row %d", l, r)
				}
			}
		})
	}
}

// Over more tokens than columns, a column is the mean of its tokens, and
// the page says it downsampled.
func TestTraceHTMLDownsamplesTokens(t *testing.T) {
	w, err := model.LoadModelBin(filepath.Join(refcase.RepoRoot(), "testdata", "cases", "default", "model.bin"))
	require.NoError(t, err)
	defer w.Close()
	m, err := learning.New(w)
	require.NoError(t, err)
	full := tracehtml.NewCollector(w, tracehtml.Options{})
	half := tracehtml.NewCollector(w, tracehtml.Options{MaxTokens: 3})
	m.SetTracer(trace.Chain{full, half})
	for _, tok := range []int{5, 6, 7, 8, 9, 10} {
		_, err := m.Forward(tok)
		require.NoError(t, err)
	}
	df, dh := full.Data(tracehtml.Run{}), half.Data(tracehtml.Run{})
	require.Len(t, dh.Columns, 3)
	assert.Contains(t, strings.Join(dh.Notes, "\n"), "downsampled: 6 tokens shown as 3 columns")
	mf, _ := findMap(df, "resid", -1)
	mh, _ := findMap(dh, "resid", -1)
	cf, ch := cellsOf(t, mf), cellsOf(t, mh)
	tol := (mf.Max-mf.Min)/254 + (mh.Max-mh.Min)/254
	for l := range mf.Rows {
		for j := range 3 {
			assert.InDelta(t, (cf[l*6+2*j]+cf[l*6+2*j+1])/2, ch[l*3+j], tol, "layer %d column %d", l, j)
		}
	}
}

// A Mamba-2 page from fused draws the per-head maps from its phase ends;
// Falcon-Mamba's has bcdt_norm.
func TestTraceHTMLMamba2AndFalcon(t *testing.T) {
	_, d := tracePage(t, "m2default", fusedNew, "5,6,7")
	assert.Equal(t, "mamba2", d.Arch)
	dt, ok := findMap(d, "delta", 0)
	require.True(t, ok)
	assert.Equal(t, "head", dt.RowLabel)
	assert.Empty(t, d.Missing)
	_, d = tracePage(t, "falcon", learningNew, "5,6,7")
	_, ok = findMap(d, "bcdt", 1)
	assert.True(t, ok)
}
