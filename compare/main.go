// Command compare proves that the implementations agree with each other and
// with PyTorch: for every reference case, model format and implementation it
// feeds the case's tokens from an empty state and measures the logits
// against the case's logits.npy, checks the greedy continuation, saves the
// state half-way and restores it into a fresh model, and compares every
// row's logits with the case's first row (the baseline).
//
//	compare [-impl learning,fused] [-tol 1e-5] [-trace] [-trace-tol 1e-4] [-html FILE] CASE_DIR...
//
// It prints one table row per (case, format, implementation) and exits
// non-zero when any row fails. Under the table, for every failing row (every
// row with -trace), the first op where its trace parts from the reference's
// trace (trace.json in the case) and from the baseline's: token, layer, op,
// error and scale (localise.go). -html writes the same localisations as one
// page of heatmaps, every op's error on every traced token (htmlreport.go).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"mamba.go/common/checkpoint"
	"mamba.go/common/load"
	"mamba.go/common/model"
	"mamba.go/common/refcase"
	"mamba.go/common/trace"
)

// DefaultTol is the tolerance every implementation's tests use too.
const DefaultTol = refcase.DefaultTol

func main() {
	code, err := run(os.Args[1:], os.Stdout)
	if err != nil {
		fmt.Fprintf(os.Stderr, "compare: %v\n", err)
		if code == 0 {
			code = 2
		}
	}
	os.Exit(code)
}

// row is one line of the table.
type row struct {
	caseName, format, impl string
	res                    *refcase.Result
	note                   string
	pass                   bool
	trace                  *trace.Trace // recorded when localising; nil otherwise
	findings               []string     // where this row first parts from the reference and the baseline
	compared               []comparison // the localisations behind findings, for -html
}

// options are the command line's settings.
type options struct {
	tol, traceTol float64
	traceAll      bool   // localise every row, not only failing ones
	html          string // -html: the page to write; "" none
}

func run(args []string, stdout io.Writer) (int, error) {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	implList := fs.String("impl", strings.Join(implOrder, ","), "comma-separated implementations to run, in this order; a case's first row (its first model format, the first implementation) is the baseline every other row is compared with")
	var o options
	fs.Float64Var(&o.tol, "tol", DefaultTol, "max logit error relative to the case's largest |logit|")
	fs.BoolVar(&o.traceAll, "trace", false, "localise every row (failing rows always are): the first op where its trace parts from the reference's and the baseline's")
	fs.Float64Var(&o.traceTol, "trace-tol", DefaultTraceTol, "a row's first divergence from a trace is the first op whose error exceeds this fraction of its vector's largest |value|")
	fs.StringVar(&o.html, "html", "", "localise every row (as -trace) and write `FILE`: one self-contained HTML page with, per row, a heatmap of every op's error on every traced token and its first divergence marked (docs/compare.md)")
	usage := func(w io.Writer) {
		fmt.Fprintf(w, "usage: compare [-impl %s] [-tol %g] [-trace] [-trace-tol %g] [-html FILE] CASE_DIR...\n", strings.Join(implOrder, ","), DefaultTol, DefaultTraceTol)
		fs.SetOutput(w)
		fs.PrintDefaults()
	}
	fs.Usage = func() {}
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) { // -h: the usage on stdout, exit 0
			usage(stdout)
			return 0, nil
		}
		return 2, err
	}
	fs.Usage = func() { usage(os.Stderr) }
	if fs.NArg() == 0 {
		fs.Usage()
		return 2, errors.New("no case folder given")
	}
	names, err := parseImpls(*implList)
	if err != nil {
		return 2, err
	}
	if o.html != "" {
		if err := checkReportPath(o.html); err != nil { // before the cases run, not after
			return 2, fmt.Errorf("-html: %w", err)
		}
		o.traceAll = true // the page shows every row's localisation
	}

	var rows []row
	for _, dir := range fs.Args() {
		rows = append(rows, compareCase(dir, names, o)...)
	}
	failed := printTable(stdout, rows, o.tol)
	if o.html != "" {
		if err := writeReport(o.html, rows, o.traceTol); err != nil {
			return 2, fmt.Errorf("-html: %w", err)
		}
	}
	if failed > 0 {
		return 1, fmt.Errorf("%d of %d checks failed", failed, len(rows))
	}
	return 0, nil
}

func parseImpls(list string) ([]string, error) {
	var names []string
	for _, n := range strings.Split(list, ",") {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		if _, ok := impls[n]; !ok {
			if hint, ok := implHints[n]; ok {
				return nil, fmt.Errorf("implementation %q is not in this build: %s", n, hint)
			}
			known := make([]string, 0, len(impls))
			for k := range impls {
				known = append(known, k)
			}
			return nil, fmt.Errorf("unknown implementation %q (this build has %s)", n, strings.Join(known, ", "))
		}
		names = append(names, n)
	}
	if len(names) == 0 {
		return nil, errors.New("-impl names no implementation")
	}
	return names, nil
}

// compareCase runs every format and implementation on one case. A case or
// format that cannot be read is a failing row: the rest still runs.
//
// The case's first row with logits (its first format, the first
// implementation of -impl) is the baseline; every other row's NOTE says
// how far its logits are from the baseline's, and a row further than tol
// from a baseline that passed fails. When the baseline itself failed, the
// reference alone decides the other rows, and the baseline's NOTE says how
// far it is from the first row that passed.
func compareCase(dir string, names []string, o options) []row {
	c, err := refcase.Load(dir)
	if err != nil {
		return []row{{caseName: dir, format: "-", impl: "-", note: err.Error()}}
	}
	var rows []row
	base, firstPass := -1, -1 // indexes into rows
	for _, format := range c.ModelFormats() {
		w, loadNote, err := openFormat(dir, format)
		if err == nil && c.Trace != nil {
			if err = c.Trace.Check(w.Config); err != nil {
				err = fmt.Errorf("%s: %w", filepath.Join(dir, trace.IndexFile), err)
				w.Close()
			}
		}
		if err != nil {
			rows = append(rows, row{caseName: c.Name, format: format, impl: "-", note: err.Error()})
			continue
		}
		for _, name := range names {
			r := checkImpl(c, w, format, name, o.tol)
			r.note = joinNote(loadNote, r.note)
			newModel := func() (model.Mamba, error) { return impls[name](w) }
			if r.res == nil {
				rows = append(rows, r)
				continue
			}
			if base < 0 {
				// The baseline: its trace is kept, to localise the rows that disagree with it.
				base = len(rows)
				r.trace, _ = recordTrace(newModel, c, r.impl)
			} else {
				b := &rows[base]
				d := maxDiff(b.res.Logits, r.res.Logits) / c.MaxAbsLogit()
				r.note = joinNote(r.note, vsNote(d, b))
				if b.pass && d > rowTol(name, o.tol) {
					r.pass = false
				}
			}
			if l := lossy[name]; l != nil && (o.traceAll || !r.pass) {
				// Its weights are not the case's: it parts from the reference at
				// the first rounded weight. Its twin runs the same ones.
				l.localise(&r, newModel, c, w, o.traceTol)
			} else if o.traceAll || !r.pass {
				var b *row // nil: r is the baseline
				if base < len(rows) {
					b = &rows[base]
				}
				localiseRow(&r, b, newModel, c, w.Config, o.traceTol)
			}
			if base < len(rows) && !rows[base].pass && r.pass && firstPass < 0 {
				// The baseline failed: say how far it is from this, the first row that passed.
				firstPass = len(rows)
				b := &rows[base]
				b.note = joinNote(b.note, vsNote(maxDiff(r.res.Logits, b.res.Logits)/c.MaxAbsLogit(), &r)+" (the first row that passed)")
				if r.trace = record(&r, newModel, c); r.trace != nil && b.trace != nil {
					b.addLocalisation(localise(r.trace, b.trace, w.Config, r.format+"/"+r.impl, o.traceTol))
				}
			}
			if base != len(rows) {
				r.trace = nil // only the baseline's is needed later
			}
			rows = append(rows, r)
		}
		w.Close()
	}
	if len(rows) == 0 {
		rows = append(rows, row{caseName: c.Name, format: "-", impl: "-", note: "no model.bin, hf/ or state-spaces/ in the case"})
	}
	return rows
}

// localiseRow adds to r where its trace first parts from the reference's
// (when the case has one) and from the baseline b's (nil when r is the
// baseline); mc is the model's config.
func localiseRow(r, b *row, newModel func() (model.Mamba, error), c *refcase.Case, mc model.Config, tol float64) {
	if r.trace = record(r, newModel, c); r.trace == nil {
		return
	}
	if c.Trace != nil {
		r.addLocalisation(localise(c.Trace, r.trace, mc, "reference", tol))
	} else if b == nil {
		r.findings = append(r.findings, "nothing to localise against: the case has no trace.json, and this row is the baseline")
	}
	if b != nil && b.trace != nil {
		r.addLocalisation(localise(b.trace, r.trace, mc, b.format+"/"+b.impl, tol))
	}
}

// vsNote says how far a row's logits are, relative to the case's largest
// |logit|, from those of row b.
func vsNote(rel float64, b *row) string {
	if rel == 0 {
		return "bit-identical to " + b.format + "/" + b.impl
	}
	return fmt.Sprintf("vs %s/%s: %.2g rel", b.format, b.impl, rel)
}

// record returns r's trace, recorded now unless it already was; a model
// that cannot be traced gets a finding that says why, and nil.
func record(r *row, newModel func() (model.Mamba, error), c *refcase.Case) *trace.Trace {
	if r.trace != nil {
		return r.trace
	}
	t, err := recordTrace(newModel, c, r.impl)
	if err != nil {
		r.findings = append(r.findings, "no trace: "+err.Error())
	}
	return t
}

// openFormat loads one model format of a case. A checkpoint folder stores
// A_log, and A = −exp(A_log) depends on the float32 exp that computes it:
// PyTorch's (the loader's default, what mamba_ssm and mamba.c's export.py
// use) and NumPy's differ by one ulp on some values. When the case has a
// model.bin, the checkpoint is loaded with the rounding that reproduces its
// A, so that the formats can be compared bit for bit; the note says when
// that is not PyTorch's.
func openFormat(dir, format string) (*model.Weights, string, error) {
	path := filepath.Join(dir, format)
	refPath := filepath.Join(dir, "model.bin")
	if !checkpoint.IsCheckpointDir(path) {
		w, err := load.Open(path)
		return w, "", err
	}
	ck, err := checkpoint.Open(path)
	if err != nil {
		return nil, "", err
	}
	note := ""
	if ref, err := model.LoadModelBin(refPath); err == nil {
		name, ok, err := ck.MatchRounding(ref)
		ref.Close()
		switch {
		case err != nil:
			ck.Close()
			return nil, "", err
		case !ok:
			note = "A matches model.bin's under no known exp rounding"
		case name != checkpoint.Roundings[0].Name:
			note = "A = -exp(A_log) rounded by " + name + "'s exp, as model.bin's"
		}
	}
	w, err := ck.Weights()
	if err != nil {
		ck.Close()
		return nil, "", err
	}
	w.SetCloser(ck)
	return w, note, nil
}

// checkImpl runs one implementation on one loaded format of a case.
func checkImpl(c *refcase.Case, w *model.Weights, format, name string, tol float64) row {
	r := row{caseName: c.Name, format: format, impl: name}
	newModel := func() (model.Mamba, error) { return impls[name](w) }
	m, err := newModel()
	if errors.Is(err, model.ErrUnsupported) {
		r.pass, r.note = true, "skipped: "+err.Error()
		return r
	}
	if err != nil {
		r.note = err.Error()
		return r
	}
	defer m.Close()
	res, err := refcase.Check(c, m, newModel)
	if err != nil {
		r.note = err.Error()
		return r
	}
	r.res, r.pass = res, res.Pass(tol)
	if l := lossy[name]; l != nil {
		r.pass, r.note = l.judge(c, w, res, tol)
		return r
	}
	if !res.GreedyOK {
		r.note = joinNote(r.note, fmt.Sprintf("greedy got %v want %v", res.GreedyGot, c.Greedy.Tokens))
	}
	if !res.StateRestoreOK {
		r.note = joinNote(r.note, "state restore changed the logits")
	}
	return r
}

func maxDiff(a, b [][]float32) float64 {
	var d float64
	for i := range a {
		for j := range a[i] {
			d = math.Max(d, math.Abs(float64(a[i][j])-float64(b[i][j])))
		}
	}
	return d
}

func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	if b == "" {
		return a
	}
	return a + "; " + b
}

func yesNo(ok bool) string {
	if ok {
		return "ok"
	}
	return "NO"
}

// printTable writes the rows and returns how many failed.
func printTable(out io.Writer, rows []row, tol float64) int {
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "CASE\tFORMAT\tIMPL\tMAX ABS ERR\tREL ERR\tARGMAX\tGREEDY\tSTATE\tRESULT\tNOTE\n")
	failed := 0
	for _, r := range rows {
		verdict := "PASS"
		if r.pass && r.res == nil {
			verdict = "SKIP"
		}
		if !r.pass {
			verdict = "FAIL"
			failed++
		}
		if r.res == nil {
			fmt.Fprintf(tw, "%s\t%s\t%s\t-\t-\t-\t-\t-\t%s\t%s\n", r.caseName, r.format, r.impl, verdict, r.note)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.3g\t%.3g\t%d/%d\t%s\t%s\t%s\t%s\n",
			r.caseName, r.format, r.impl, r.res.MaxAbsErr, r.res.MaxRelErr, r.res.ArgmaxAgree, r.res.Positions,
			yesNo(r.res.GreedyOK), yesNo(r.res.StateRestoreOK), verdict, r.note)
	}
	tw.Flush()
	printFindings(out, rows)
	fmt.Fprintf(out, "tolerance: %g of the largest |logit|%s; %d checks, %d failed\n", tol, lossyTolerances(rows, tol), len(rows), failed)
	return failed
}
