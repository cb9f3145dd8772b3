package main

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"mamba.go/common/atomicfile"
	"mamba.go/common/refcase"
	"mamba.go/common/trace"
)

// The page of -html: per row and per trace it was localised against, a
// heatmap of every (layer, op) × token's error, with the first divergence
// marked. It is self-contained as the trace explorer's (common/tracehtml):
// the data as JSON, script and style inline, and a Content-Security-Policy
// that forbids every fetch.

//go:embed htmlreport.html
var reportHTML string

//go:embed htmlreport.js
var reportJS string

// reportData is what the page embeds.
type reportData struct {
	Title    string     `json:"title"`
	TraceTol float64    `json:"traceTol"`
	Maps     []errorMap `json:"maps"`
}

// errorMap is one localisation of one row: its trace against vs's.
type errorMap struct {
	Case   string     `json:"case"`
	Format string     `json:"format"`
	Impl   string     `json:"impl"`
	Vs     string     `json:"vs"`
	Line   string     `json:"line"` // what compare prints for it
	Tokens int        `json:"tokens"`
	Rows   []errorRow `json:"rows"`  // the (layer, op) compared, in execution order
	Err    [][]relErr `json:"err"`   // [row][token]: max |got − want| / scale
	First  *firstCell `json:"first"` // the first divergence; nil: none
}

// errorRow is one (layer, op) row of a heatmap and where learning computes it.
type errorRow struct {
	Layer  int    `json:"layer"` // -1: the embedding and the head
	Op     string `json:"op"`
	Source string `json:"source"` // learning's file:line ("" when learning does not report it)
	Href   string `json:"href"`   // that file, relative to the page ("" when not found)
}

// firstCell is the first divergence: the cell (Row, Token) and its key.
type firstCell struct {
	Row   int    `json:"row"`
	Token int    `json:"token"`
	Layer int    `json:"layer"`
	Op    string `json:"op"`
}

// relErr is one cell: null when the entry was not compared, "Infinity"
// (as JSON has no number for it) for a vector of another length or a
// non-finite value, else the error to 3 digits.
type relErr float64

func (e relErr) MarshalJSON() ([]byte, error) {
	f := float64(e)
	switch {
	case math.IsNaN(f):
		return []byte("null"), nil
	case math.IsInf(f, 1):
		return []byte(`"Infinity"`), nil
	}
	return strconv.AppendFloat(nil, f, 'g', 3, 64), nil
}

// newErrorMap lays out c's diffs, for row r, as a heatmap; pageDir is the
// folder the page goes to, for the links to learning's source.
func newErrorMap(r *row, c comparison, pageDir string) errorMap {
	m := errorMap{Case: r.caseName, Format: r.format, Impl: r.impl, Vs: c.vs, Line: c.line}
	rowOf := map[trace.Key]int{} // by (layer, op), Pos 0
	for _, d := range c.diffs {
		k := trace.Key{Layer: d.Layer, Op: d.Op}
		if _, ok := rowOf[k]; !ok {
			rowOf[k] = len(m.Rows)
			src := learningSource(c.mc, d.Op)
			m.Rows = append(m.Rows, errorRow{Layer: d.Layer, Op: string(d.Op), Source: src, Href: sourceHref(src, pageDir)})
		}
		m.Tokens = max(m.Tokens, d.Pos+1)
	}
	m.Err = make([][]relErr, len(m.Rows))
	for i := range m.Err {
		m.Err[i] = make([]relErr, m.Tokens)
		for t := range m.Err[i] {
			m.Err[i][t] = relErr(math.NaN())
		}
	}
	for _, d := range c.diffs {
		m.Err[rowOf[trace.Key{Layer: d.Layer, Op: d.Op}]][d.Pos] = relErr(d.Rel())
	}
	if f := c.cmp.First; f != nil {
		m.First = &firstCell{Row: rowOf[trace.Key{Layer: f.Layer, Op: f.Op}], Token: f.Pos, Layer: f.Layer, Op: string(f.Op)}
	}
	return m
}

// sourceHref is the link from a page in pageDir to learning's file of src
// ("learning/mamba.go:126"), "" when the source is not beside this build.
func sourceHref(src, pageDir string) string {
	file, _, _ := strings.Cut(src, ":")
	root := refcase.RepoRoot()
	if file == "" || root == "" {
		return ""
	}
	path := filepath.Join(root, filepath.FromSlash(file))
	if _, err := os.Stat(path); err != nil {
		return ""
	}
	if rel, err := filepath.Rel(pageDir, path); err == nil {
		return filepath.ToSlash(rel)
	}
	return "file://" + filepath.ToSlash(path)
}

// report is the page's data for rows: every localisation of every row.
func report(rows []row, tol float64, pageDir string) *reportData {
	d := &reportData{Title: "compare: where the implementations part from the reference", TraceTol: tol}
	for i := range rows {
		for _, c := range rows[i].compared {
			d.Maps = append(d.Maps, newErrorMap(&rows[i], c, pageDir))
		}
	}
	return d
}

// checkReportPath refuses a page path whose folder does not exist, or
// that is a folder itself: the page is written after every case ran.
func checkReportPath(path string) error {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return fmt.Errorf("%s is a folder, not a file", path)
	}
	dir := filepath.Dir(path)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return fmt.Errorf("%s: no folder %s to write it in", path, dir)
	}
	return nil
}

// writeReport writes the page of -html for rows to path.
func writeReport(path string, rows []row, tol float64) error {
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return err
	}
	d := report(rows, tol, dir)
	return atomicfile.Write(path, func(w io.Writer) error { return writeReportTo(w, d) })
}

// writeReportTo writes the page for d.
func writeReportTo(w io.Writer, d *reportData) error {
	js, err := json.Marshal(d) // escapes <, > and &: safe inside <script>
	if err != nil {
		return err
	}
	r := strings.NewReplacer("{{JS}}", reportJS, "{{DATA}}", string(js))
	_, err = io.WriteString(w, r.Replace(reportHTML))
	return err
}
