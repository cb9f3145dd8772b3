package main

import (
	"fmt"
	"io"

	"mamba.go/common/model"
	"mamba.go/common/refcase"
	"mamba.go/common/trace"
)

// DefaultTraceTol is the largest error allowed in one op's result, relative
// to that vector's largest |value|, before compare calls it the first
// divergence. Correct float32 implementations land within 1e-5 of the
// float64 reference on every op of the project's cases (the scan, whose
// output cancels larger terms, is the noisiest: 9.4e-6; every other op
// stays under 1.2e-6), and the mistakes it is there to find land at 1e-2 or
// more; docs/compare.md has the measurements.
const DefaultTraceTol = 1e-4

// crossTraceTokens is how many tokens of a case compare traces to localise
// a disagreement between two implementations (the reference's trace has
// its own length, 3 tokens for the project's cases).
const crossTraceTokens = 16

// recordTrace runs a fresh model over the case's first tokens with a
// Recorder as its tracer.
func recordTrace(newModel func() (model.Mamba, error), c *refcase.Case, impl string) (*trace.Trace, error) {
	m, err := newModel()
	if err != nil {
		return nil, err
	}
	defer m.Close()
	tm, ok := m.(model.Traceable)
	if !ok {
		return nil, fmt.Errorf("%s reports no trace", impl)
	}
	n := min(len(c.Tokens), crossTraceTokens)
	if c.Trace != nil {
		n = max(n, c.Trace.Positions())
	}
	rec := &trace.Recorder{MaxPos: n}
	tm.SetTracer(rec)
	m.Reset()
	for i, tok := range c.Tokens[:n] {
		if _, err := m.Forward(tok); err != nil {
			return nil, fmt.Errorf("token %d: %w", i, err)
		}
	}
	tm.SetTracer(nil)
	return &rec.Recorded, nil
}

// comparison is one localisation of a row: its trace measured against
// another (the reference's, the baseline's, a twin's), every entry's error,
// the first divergence among them and the line compare prints for it.
type comparison struct {
	vs    string       // what the row's trace was compared with
	mc    model.Config // the model's
	diffs []trace.Diff // every entry present in both, in execution order
	cmp   trace.Comparison
	line  string
}

// localise says where got first parts from want, the trace of the
// reference or of another row (named by vs), both of a model of config mc.
// The page of -html draws the same diffs and marks the same first one.
func localise(want, got *trace.Trace, mc model.Config, vs string, tol float64) comparison {
	c := comparison{vs: vs, mc: mc, diffs: trace.Diffs(want, got)}
	c.cmp = trace.FirstOver(c.diffs, tol)
	c.line = localisationLine(c.cmp, want, got, mc, vs, tol)
	return c
}

// localisationLine is the one line compare prints for cmp.
func localisationLine(cmp trace.Comparison, want, got *trace.Trace, mc model.Config, vs string, tol float64) string {
	if cmp.Compared == 0 {
		return "no op in common with " + vs
	}
	if d := cmp.First; d != nil {
		return fmt.Sprintf("first divergence: %s%s: max abs err %.3g (scale %.3g) vs %s", d.Key, phaseNote(d, mc, want, got), d.MaxAbsErr, d.Scale, vs)
	}
	w := cmp.Worst
	if w.Rel() == 0 {
		return fmt.Sprintf("bit-identical in %d tokens to %s", min(want.Positions(), got.Positions()), vs)
	}
	return fmt.Sprintf("no divergence over %g in %d tokens vs %s (largest: %s, %.2g of scale %.3g)",
		tol, min(want.Positions(), got.Positions()), vs, w.Key, w.Rel(), w.Scale)
}

// addLocalisation keeps c on r: its line among r's findings, its errors for
// the page of -html.
func (r *row) addLocalisation(c comparison) {
	r.findings = append(r.findings, c.line)
	r.compared = append(r.compared, c)
}

// phaseNote names the phase of the divergent op when one of the traces
// reports only phase ends (fused, cuda): the bug is then somewhere in that
// phase, not necessarily in the op that ends it. The phases are those of
// mc's architecture.
func phaseNote(d *trace.Diff, mc model.Config, a, b *trace.Trace) string {
	if d.Phase(mc) == "" || (reportsEveryOp(a, mc) && reportsEveryOp(b, mc)) {
		return ""
	}
	return fmt.Sprintf(" (end of phase %s)", d.Phase(mc))
}

// reportsEveryOp says whether t has every op of mc's architecture.
func reportsEveryOp(t *trace.Trace, mc model.Config) bool {
	seen := map[model.Op]bool{}
	for _, e := range t.Entries {
		seen[e.Op] = true
	}
	for _, o := range model.OpsFor(mc) {
		if !seen[o.Op] {
			return false
		}
	}
	return true
}

// printFindings writes the localisation lines of the rows that have any.
func printFindings(out io.Writer, rows []row) {
	for _, r := range rows {
		for _, f := range r.findings {
			fmt.Fprintf(out, "%s %s/%s: %s\n", r.caseName, r.format, r.impl, f)
		}
	}
}
