package main

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"mamba.go/common/model"
	"mamba.go/common/refcase"
)

// Lossy implementations run other weights than the case's on purpose:
// fused-bf16 rounds the products' weights to bfloat16. Such a row is
// judged twice:
//
//   - against the reference, on a tolerance of its own (what rounding the
//     weights costs), with argmax and greedy reported but not required: a
//     near-tie between two logits may flip under an error of that size;
//   - against its twin, a float32 implementation run on the same rounded
//     weights (model.Weights.RoundedToBF16), on -tol like any exact row:
//     this is what proves the lossy kernels right.
//
// The state restore must still be bit-identical. docs/compare.md says how
// the tolerance was chosen.
type lossyImpl struct {
	tol     float64   // of the largest |logit|, against the reference
	what    string    // what the twin runs, for the NOTE
	newTwin model.New // the twin, given the case's weights
}

// lossy are the lossy implementations, by name (impl_fused.go adds fused-bf16).
var lossy = map[string]*lossyImpl{}

// BF16Tol is fused-bf16's tolerance against the reference: 2% of the
// largest |logit|. Rounding a weight to bfloat16 moves it by up to 2⁻⁸
// (0.39%) of itself; on the project's cases and transformers' the logits
// moved by 0.11% to 0.89% of the largest |logit| (docs/compare.md), and
// 2% leaves a margin of 2.2× over the worst.
const BF16Tol = 0.02

// rowTol is the tolerance a row of implementation name has against the
// reference and the baseline.
func rowTol(name string, tol float64) float64 {
	if l := lossy[name]; l != nil {
		return l.tol
	}
	return tol
}

// judge decides a lossy row: res is its result against the reference, tol
// is -tol, the twin's tolerance.
func (l *lossyImpl) judge(c *refcase.Case, w *model.Weights, res *refcase.Result, tol float64) (bool, string) {
	pass := res.MaxRelErr <= l.tol && res.StateRestoreOK
	twin, err := l.newTwin(w)
	if err != nil {
		return false, "twin: " + err.Error()
	}
	defer twin.Close()
	var twinLogits [][]float32
	for _, tok := range c.Tokens {
		logits, err := twin.Forward(tok)
		if err != nil {
			return false, "twin: " + err.Error()
		}
		twinLogits = append(twinLogits, slices.Clone(logits))
	}
	worst := maxDiff(res.Logits, twinLogits) / c.MaxAbsLogit()
	pass = pass && worst <= tol
	note := fmt.Sprintf("vs %s: %.2g rel", l.what, worst)
	if !res.GreedyOK || res.ArgmaxAgree != res.Positions {
		note += "; argmax/greedy of the rounded weights differ (not required)"
	}
	if !res.StateRestoreOK {
		note += "; state restore changed the logits"
	}
	return pass, note
}

// localise adds to r where its trace first parts from its twin's.
func (l *lossyImpl) localise(r *row, newModel func() (model.Mamba, error), c *refcase.Case, w *model.Weights, tol float64) {
	if r.trace = record(r, newModel, c); r.trace == nil {
		return
	}
	twin, err := recordTrace(func() (model.Mamba, error) { return l.newTwin(w) }, c, "twin")
	if err != nil {
		r.findings = append(r.findings, "no trace of the twin: "+err.Error())
		return
	}
	r.addLocalisation(localise(twin, r.trace, w.Config, l.what, tol))
}

// lossyTolerances names the lossy tolerances the rows used, for the
// table's last line; tol is -tol.
func lossyTolerances(rows []row, tol float64) string {
	seen := map[string]bool{}
	for _, r := range rows {
		if lossy[r.impl] != nil {
			seen[r.impl] = true
		}
	}
	var parts []string
	for name := range seen {
		l := lossy[name]
		parts = append(parts, fmt.Sprintf("%s: %g vs the reference, %g vs %s", name, l.tol, tol, l.what))
	}
	sort.Strings(parts)
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, "; ") + ")"
}
