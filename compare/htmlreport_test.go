package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mamba.go/common/model"
	"mamba.go/common/refcase"
)

// htmlRun runs compare -html with -impl list on testdata/cases/default
// and returns its output and the data its page embeds.
func htmlRun(t *testing.T, list string) (string, string, *reportData) {
	path := filepath.Join(t.TempDir(), "c.html")
	dir := filepath.Join(refcase.RepoRoot(), "testdata", "cases", "default")
	var out bytes.Buffer
	_, _ = run([]string{"-html", path, "-impl", list, dir}, &out)
	page, err := os.ReadFile(path)
	require.NoError(t, err, out.String())
	m := regexp.MustCompile(`(?s)<script type="application/json" id="data">(.*?)</script>`).FindSubmatch(page)
	require.NotNil(t, m, "no data in the page")
	var d reportData
	require.NoError(t, json.Unmarshal(m[1], &d))
	return out.String(), string(page), &d
}

// findErrorMap is the page's heatmap of row format/impl against vs.
func findErrorMap(t *testing.T, d *reportData, row, vs string) errorMap {
	for _, m := range d.Maps {
		if m.Format+"/"+m.Impl == row && m.Vs == vs {
			return m
		}
	}
	require.Failf(t, "no heatmap", "%s vs %s", row, vs)
	return errorMap{}
}

// cellValue reads a cell back from the page's JSON: nil when not compared.
func cellValue(t *testing.T, m errorMap, r, tok int) any {
	b, err := json.Marshal(m.Err[r][tok])
	require.NoError(t, err)
	var v any
	require.NoError(t, json.Unmarshal(b, &v))
	return v
}

// With the D skip deleted from learning, the page marks the first
// divergence of the broken row, against the reference and against
// learning, at the token, layer and op that compare's text names.
func TestHTMLMarksTheTextsFirstDivergence(t *testing.T) {
	impls["broken"] = brokenLearning(breaks[0].learning)
	defer delete(impls, "broken")
	out, page, d := htmlRun(t, "learning,broken")
	assert.Contains(t, page, "Content-Security-Policy")
	assert.NotRegexp(t, `(?i)https?://`, page)
	at := regexp.MustCompile(`first divergence: token (\d+), layer (\d+), op (\w+)`)
	for _, vs := range []string{"reference", "model.bin/learning"} {
		line := finding(out, "model.bin/broken", vs)
		want := at.FindStringSubmatch(line)
		require.NotNil(t, want, "no first divergence in the text: %q\n%s", line, out)
		assert.Equal(t, []string{"0", "0", string(model.OpSkipD)}, want[1:], line)

		m := findErrorMap(t, d, "model.bin/broken", vs)
		assert.Contains(t, line, m.Line)
		require.NotNil(t, m.First, "%s: no first divergence on the page", vs)
		assert.Equal(t, want[1:], []string{strconv.Itoa(m.First.Token), strconv.Itoa(m.First.Layer), m.First.Op}, vs)
		r := m.Rows[m.First.Row]
		assert.Equal(t, []any{m.First.Layer, m.First.Op}, []any{r.Layer, r.Op}, "the marked row is the first divergence's")
		assert.Equal(t, "learning/mamba.go:167", r.Source)
		assert.NotEmpty(t, r.Href)
		v, ok := cellValue(t, m, m.First.Row, m.First.Token).(float64)
		require.True(t, ok)
		assert.Greater(t, v, d.TraceTol)
	}
	assert.Nil(t, findErrorMap(t, d, "model.bin/learning", "reference").First, "the unbroken row does not diverge")
}

// Without a break, no heatmap marks a divergence and no cell is over the
// trace tolerance.
func TestHTMLWithoutBreakShowsNoDivergence(t *testing.T) {
	out, _, d := htmlRun(t, "learning")
	require.Len(t, d.Maps, 5, "model.bin vs the reference; hf and state-spaces vs it and model.bin\n%s", out)
	for _, m := range d.Maps {
		assert.Nil(t, m.First, "%s/%s vs %s", m.Format, m.Impl, m.Vs)
		assert.NotContains(t, m.Line, "first divergence")
		assert.Positive(t, m.Tokens)
		for r := range m.Rows {
			for tok := range m.Tokens {
				if v, ok := cellValue(t, m, r, tok).(float64); ok {
					assert.LessOrEqual(t, v, d.TraceTol, "%s/%s vs %s: %s token %d", m.Format, m.Impl, m.Vs, m.Rows[r].Op, tok)
				}
			}
		}
	}
}

// A page that cannot be written is refused in one line naming it, before
// any case runs.
func TestHTMLRefusesPathWithoutFolder(t *testing.T) {
	dir := t.TempDir()
	for _, path := range []string{filepath.Join(dir, "no", "c.html"), dir} {
		var out bytes.Buffer
		code, err := run([]string{"-html", path, "-impl", "learning", "no-such-case"}, &out)
		require.Error(t, err)
		assert.Equal(t, 2, code)
		assert.Contains(t, err.Error(), "-html: "+path)
		assert.NotContains(t, err.Error(), "\n")
		assert.Empty(t, out.String(), "no case ran")
	}
}
