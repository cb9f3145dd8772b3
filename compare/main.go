// Command compare proves that the implementations agree with each other and
// with PyTorch: for every reference case, model format and implementation it
// feeds the case's tokens from an empty state and measures the logits
// against the case's logits.npy, checks the greedy continuation, saves the
// state half-way and restores it into a fresh model, and compares the
// implementations' logits with each other.
//
//	compare [-impl learning,fused] [-tol 1e-5] CASE_DIR...
//
// It prints one table row per (case, format, implementation) and exits
// non-zero when any row fails.
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
}

func run(args []string, stdout io.Writer) (int, error) {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	implList := fs.String("impl", strings.Join(implOrder, ","), "comma-separated implementations to run; the first is the baseline for cross-checks")
	tol := fs.Float64("tol", DefaultTol, "max logit error relative to the case's largest |logit|")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: compare [-impl %s] [-tol %g] CASE_DIR...\n", strings.Join(implOrder, ","), DefaultTol)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2, err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2, errors.New("no case folder given")
	}
	names, err := parseImpls(*implList)
	if err != nil {
		return 2, err
	}

	var rows []row
	for _, dir := range fs.Args() {
		rows = append(rows, compareCase(dir, names, *tol)...)
	}
	failed := printTable(stdout, rows, *tol)
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
func compareCase(dir string, names []string, tol float64) []row {
	c, err := refcase.Load(dir)
	if err != nil {
		return []row{{caseName: dir, format: "-", impl: "-", note: err.Error()}}
	}
	var rows []row
	var baseline [][]float32 // logits of the first row that passed
	var baseName string
	for _, format := range c.ModelFormats() {
		w, loadNote, err := openFormat(dir, format)
		if err != nil {
			rows = append(rows, row{caseName: c.Name, format: format, impl: "-", note: err.Error()})
			continue
		}
		for _, name := range names {
			r := checkImpl(c, w, format, name, tol)
			r.note = joinNote(loadNote, r.note)
			if r.res != nil {
				if baseline == nil && r.pass {
					baseline, baseName = r.res.Logits, format+"/"+name
				} else if baseline != nil {
					d := maxDiff(baseline, r.res.Logits)
					if d == 0 {
						r.note = joinNote(r.note, "bit-identical to "+baseName)
					} else {
						r.note = joinNote(r.note, fmt.Sprintf("vs %s: %.2g rel", baseName, d/c.MaxAbsLogit()))
					}
					if d/c.MaxAbsLogit() > tol {
						r.pass = false
					}
				}
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
	fmt.Fprintf(out, "tolerance: %g of the largest |logit|; %d checks, %d failed\n", tol, len(rows), failed)
	return failed
}
