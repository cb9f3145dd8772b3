package tracehtml

import (
	"encoding/base64"
	"fmt"
	"math"
	"strconv"

	"mamba.go/common/model"
)

// Data is everything the page shows, embedded in it as JSON.
type Data struct {
	Title   string   `json:"title"`
	Impl    string   `json:"impl"`
	Model   string   `json:"model"` // the config, as Config.String
	Arch    string   `json:"arch"`  // mamba1, mamba2, falcon
	Layers  int      `json:"layers"`
	Tokens  []Token  `json:"tokens"`
	Columns []Column `json:"columns"` // the heatmaps' token columns
	Maps    []Map    `json:"maps"`
	Missing []string `json:"missing"` // the heatmaps that could not be drawn, and why
	Notes   []string `json:"notes"`   // downsampling and what the cells are
	Ops     []OpMeta `json:"ops"`     // the architecture's ops, in execution order
	Walks   [][]Step `json:"walks"`   // per traced token, its reports in order; nil past MaxWalkTokens
}

// Token is one token of the run.
type Token struct {
	ID        int    `json:"id"`
	Text      string `json:"text"`      // its piece of text; "" without a tokenizer
	Generated bool   `json:"generated"` // made by the model (else the prompt's)
	Traced    int    `json:"traced"`    // index into Walks and the columns' tokens; -1: never fed to the model
}

// Column is one column of every heatmap: traced tokens [From, To).
type Column struct {
	From int `json:"from"`
	To   int `json:"to"`
}

// Map is one heatmap: Rows rows (channels, heads or layers) by len(Columns)
// columns (tokens), as bytes in row-major order, base64: 0 is no value,
// 1…255 are Min…Max linearly, q = 1 + round(254·(v − Min)/(Max − Min)).
type Map struct {
	Kind     string      `json:"kind"`  // delta, decay, gate, state, bcdt, resid
	Title    string      `json:"title"` // what a cell is
	Layer    int         `json:"layer"` // -1: all layers (rows are layers)
	Rows     int         `json:"rows"`
	RowLabel string      `json:"rowLabel"` // channel, head, layer, value
	PerRow   float64     `json:"perRow"`   // channels (or heads) averaged into one row
	Min      float64     `json:"min"`
	Max      float64     `json:"max"`
	Cells    string      `json:"cells"`
	values   [][]float32 // [row][column], NaN: no value
}

// OpMeta describes an op as trace.Printer prints it.
type OpMeta struct {
	Op       string `json:"op"`
	Phase    string `json:"phase"`
	Quantity string `json:"quantity"`
	Shape    string `json:"shape"`
}

// Step is one report of a token's walk.
type Step struct {
	Layer int    `json:"l"`
	Op    string `json:"o"`
	Len   int    `json:"n"`
	Norm  Num    `json:"v"`
	First []Num  `json:"f"`
}

// Num is a float written with 4 significant digits (non-finite: as a
// string, which JSON has no number for).
type Num float64

// MarshalJSON writes n in %.4g.
func (n Num) MarshalJSON() ([]byte, error) {
	f := float64(n)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte(strconv.Quote(strconv.FormatFloat(f, 'g', -1, 64))), nil
	}
	return strconv.AppendFloat(nil, f, 'g', 4, 64), nil
}

// Run says what the page is about.
type Run struct {
	Title  string
	Impl   string  // the implementation's name
	Tokens []Token // prompt then generated; Traced is filled in by Data
}

// Data returns the page's data for run: its tokens matched with the traced
// positions in order, the heatmaps downsampled to at most MaxTokens columns.
func (col *Collector) Data(run Run) *Data {
	c := col.c
	d := &Data{Title: run.Title, Impl: run.Impl, Model: c.String(), Arch: archName(c), Layers: c.NLayers}
	for _, o := range model.OpsFor(c) {
		d.Ops = append(d.Ops, OpMeta{string(o.Op), string(o.Phase), o.Quantity, o.Shape})
	}
	for i, t := range run.Tokens {
		t.Traced = -1
		if i < len(col.steps) {
			t.Traced = i
		}
		d.Tokens = append(d.Tokens, t)
	}
	for i, s := range col.steps {
		if i >= len(d.Tokens) { // positions traced beyond the tokens given
			d.Tokens = append(d.Tokens, Token{ID: -1, Traced: i})
		}
		d.Walks = append(d.Walks, s.walk)
	}
	d.Columns = columns(len(col.steps), col.opt.MaxTokens)
	col.addMaps(d)
	col.addNotes(d)
	return d
}

// columns splits n tokens into at most max consecutive groups.
func columns(n, max int) []Column {
	k := min(n, max)
	cols := make([]Column, k)
	for i := range cols {
		cols[i] = Column{i * n / k, (i + 1) * n / k}
	}
	return cols
}

// heatmap kinds, in the order a layer shows them, with what a cell is.
var kinds = []struct{ kind, title, title2 string }{
	{"delta", "Δ = softplus(dt_proj·Δ_low + b), per channel", "dt = clamp(softplus(dt + dt_bias)), per head"},
	{"decay", "decay = mean over s of exp(Δ·A[c][s]), per channel", "decay = exp(dt·A), per head"},
	{"gate", "gate = SiLU(z), per channel", "gate = SiLU(z), per channel"},
	{"state", "‖h[c]‖ = sqrt(Σ_s h[c][s]²) of the scan's state, per channel", "‖h[head]‖ = sqrt(Σ_p,s h²) of the scan's state, per head"},
	{"bcdt", "bcdt_norm: RMS-normed Δ_low, B, C (values r, n, n)", ""},
}

// addMaps adds every layer's heatmaps that have cells, then the residual
// norms (layers × tokens), and says which kinds had none.
func (col *Collector) addMaps(d *Data) {
	c := col.c
	drawn := map[string]bool{}
	for l := range c.NLayers {
		for _, k := range kinds {
			title := k.title
			if c.Arch == model.Mamba2 {
				title = k.title2
			}
			if title == "" || (k.kind == "bcdt" && c.Arch != model.FalconMamba) {
				continue
			}
			if m, ok := col.layerMap(l, k.kind, d.Columns); ok {
				m.Title = title
				d.Maps = append(d.Maps, m)
				drawn[k.kind] = true
			}
		}
	}
	if m, ok := col.residMap(d.Columns); ok {
		d.Maps = append(d.Maps, m)
		drawn["resid"] = true
	}
	for _, k := range append(kinds, struct{ kind, title, title2 string }{"resid", "", ""}) {
		if (k.kind == "bcdt" && c.Arch != model.FalconMamba) || drawn[k.kind] {
			continue
		}
		d.Missing = append(d.Missing, k.kind+": "+col.whyMissing(k.kind))
	}
}

// cellsOf returns one kind of a (token, layer)'s cells.
func cellsOf(lc *layerCells, kind string) []float32 {
	switch kind {
	case "delta":
		return lc.delta
	case "decay":
		return lc.decay
	case "gate":
		return lc.gate
	case "state":
		return lc.state
	case "bcdt":
		return lc.bcdt
	}
	return nil
}

// layerMap is layer l's heatmap of kind: rows are the binned channels
// (heads), each column the mean over its tokens that have the cells.
func (col *Collector) layerMap(l int, kind string, cols []Column) (Map, bool) {
	rows, full := 0, col.kindLen(kind)
	for _, s := range col.steps {
		rows = max(rows, len(cellsOf(&s.layers[l], kind)))
	}
	if rows == 0 {
		return Map{}, false
	}
	m := Map{Kind: kind, Layer: l, Rows: rows, RowLabel: col.rowLabel(kind), PerRow: float64(full) / float64(rows)}
	m.values = grid(rows, len(cols))
	for j, cl := range cols {
		for r := range rows {
			m.values[r][j] = meanOver(col.steps[cl.From:cl.To], func(s *tokenSteps) (float32, bool) {
				v := cellsOf(&s.layers[l], kind)
				if r < len(v) {
					return v[r], true
				}
				return 0, false
			})
		}
	}
	m.encode()
	return m, true
}

// residMap is the residual stream's norm ‖h‖ after each layer: layers × tokens.
func (col *Collector) residMap(cols []Column) (Map, bool) {
	c := col.c
	m := Map{Kind: "resid", Title: "‖h‖ = sqrt(Σ h²), the residual stream after each layer", Layer: -1,
		Rows: c.NLayers, RowLabel: "layer", PerRow: 1, values: grid(c.NLayers, len(cols))}
	any := false
	for j, cl := range cols {
		for l := range c.NLayers {
			m.values[l][j] = meanOver(col.steps[cl.From:cl.To], func(s *tokenSteps) (float32, bool) {
				any = any || s.layers[l].hasResid
				return float32(s.layers[l].resid), s.layers[l].hasResid
			})
		}
	}
	m.encode()
	return m, any
}

// meanOver is the mean of f over the steps where it has a value; NaN when none has.
func meanOver(steps []*tokenSteps, f func(*tokenSteps) (float32, bool)) float32 {
	var s float64
	n := 0
	for _, t := range steps {
		if v, ok := f(t); ok {
			s += float64(v)
			n++
		}
	}
	if n == 0 {
		return float32(math.NaN())
	}
	return float32(s / float64(n))
}

func grid(rows, cols int) [][]float32 {
	g := make([][]float32, rows)
	for i := range g {
		g[i] = make([]float32, cols)
	}
	return g
}

// encode quantises m.values into m.Cells over their finite range.
func (m *Map) encode() {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, row := range m.values {
		for _, v := range row {
			if f := float64(v); !math.IsNaN(f) && !math.IsInf(f, 0) {
				lo, hi = math.Min(lo, f), math.Max(hi, f)
			}
		}
	}
	if lo > hi {
		lo, hi = 0, 0
	}
	m.Min, m.Max = lo, hi
	b := make([]byte, 0, m.Rows*len(m.values[0]))
	for _, row := range m.values {
		for _, v := range row {
			b = append(b, quantise(float64(v), lo, hi))
		}
	}
	m.Cells = base64.StdEncoding.EncodeToString(b)
}

// quantise is v's byte: 0 for no value, else 1 + round(254·(v−lo)/(hi−lo)).
func quantise(v, lo, hi float64) byte {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return 0
	case hi == lo:
		return 128
	}
	return byte(1 + math.Round(254*(v-lo)/(hi-lo)))
}

// Dequantise is the value a cell's byte q stands for (NaN for no value):
// the page's reading of Map.Cells.
func (m *Map) Dequantise(q byte) float64 {
	if q == 0 {
		return math.NaN()
	}
	if m.Max == m.Min {
		return m.Min
	}
	return m.Min + float64(q-1)/254*(m.Max-m.Min)
}

// kindLen is how many channels (heads, values) one kind's cells bin.
func (col *Collector) kindLen(kind string) int {
	c := col.c
	switch {
	case kind == "bcdt":
		return c.XProjRows()
	case kind == "gate" || c.Arch != model.Mamba2:
		return c.DInner
	}
	return c.NHeads
}

func (col *Collector) rowLabel(kind string) string {
	switch {
	case kind == "bcdt":
		return "value"
	case kind == "gate" || col.c.Arch != model.Mamba2:
		return "channel"
	}
	return "head"
}

// needs are the ops each kind's cells are computed from.
func (col *Collector) needs(kind string) []model.Op {
	c := col.c
	dt := model.OpSoftplus
	if c.Arch == model.Mamba2 {
		dt = model.OpDtLimit
	}
	b := model.OpXProj
	switch c.Arch {
	case model.Mamba2:
		b = model.OpSiLU
	case model.FalconMamba:
		b = model.OpBCDtNorm
	}
	switch kind {
	case "delta", "decay":
		return []model.Op{dt, model.OpResidual}
	case "gate":
		return []model.Op{model.OpInProj, model.OpResidual}
	case "state":
		return []model.Op{dt, b, model.OpSiLU, model.OpResidual}
	case "bcdt":
		return []model.Op{model.OpBCDtNorm}
	}
	return []model.Op{model.OpResidual}
}

// whyMissing names the ops a kind needs that the trace lacked.
func (col *Collector) whyMissing(kind string) string {
	var lacking []model.Op
	for _, op := range col.needs(kind) {
		if !col.seen[op] {
			lacking = append(lacking, op)
		}
	}
	if len(lacking) == 0 {
		return "no token had all of its reports"
	}
	return fmt.Sprintf("not drawn: the trace has no %v report (this implementation reports only some ops, e.g. phase ends)", lacking)
}

// addNotes says what the page averaged and recomputed.
func (col *Collector) addNotes(d *Data) {
	n := len(col.steps)
	if len(d.Columns) < n {
		d.Notes = append(d.Notes, fmt.Sprintf("downsampled: %d tokens shown as %d columns, each the mean of %.3g tokens", n, len(d.Columns), float64(n)/float64(len(d.Columns))))
	}
	for _, m := range d.Maps {
		if m.Layer > 0 {
			break
		}
		if m.PerRow > 1 {
			d.Notes = append(d.Notes, fmt.Sprintf("downsampled: %s rows are means of %.3g consecutive %ss", m.Kind, m.PerRow, m.RowLabel))
		}
	}
	if n > col.opt.MaxWalkTokens {
		d.Notes = append(d.Notes, fmt.Sprintf("the op-by-op walk is kept for the first %d of %d tokens", col.opt.MaxWalkTokens, n))
	}
	state := "from a zero state"
	if col.opt.InitialSSM != nil {
		state = "from the loaded state"
	}
	d.Notes = append(d.Notes, "the trace reports no SSM state: its norm is recomputed here "+state+
		" by the scan's recurrence h = exp(Δ·A)·h + Δ·B·u, from the traced Δ, B and u and the model's A")
}

func archName(c model.Config) string {
	switch c.Arch {
	case model.Mamba2:
		return "mamba2"
	case model.FalconMamba:
		return "falcon"
	}
	return "mamba1"
}
