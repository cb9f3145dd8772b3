package trace

import (
	"math"

	"mamba.go/common/model"
)

// Diff is how far one entry of a trace is from the same entry of a
// reference trace: the largest |got − want| over the vector, and the
// vector's scale, its largest |want|. Errors are measured against the
// scale of the vector they are in: the ops' results differ in size by
// orders of magnitude (Δ ~ 1e-2, logits ~ 1).
type Diff struct {
	Key
	MaxAbsErr float64
	Scale     float64
}

// Rel is MaxAbsErr relative to Scale (+Inf for an error on an all-zero vector).
func (d Diff) Rel() float64 {
	if d.MaxAbsErr == 0 {
		return 0
	}
	if d.Scale == 0 {
		return math.Inf(1)
	}
	return d.MaxAbsErr / d.Scale
}

// Phase is the phase of the diff's op in a step of a model of config c
// ("" for the embedding): Mamba-2's gate is in out_proj when the norm
// comes before it.
func (d Diff) Phase(c model.Config) model.Phase {
	info, _ := model.LookupOp(c, d.Op)
	return info.Phase
}

// Comparison is the result of FirstDivergence.
type Comparison struct {
	First    *Diff // the first entry over the tolerance, in execution order; nil if none
	Worst    Diff  // the largest Rel among the entries compared up to First (all if First is nil)
	Compared int   // entries present in both traces and compared
}

// FirstDivergence compares got with want entry by entry, in want's
// (execution) order, over the entries present in both: an implementation
// that reports only phase ends (fused) is compared at those. The first
// entry whose error is over tol of its scale is where the two part; every
// entry after it inherits the error, so only the first one says where a
// bug is. Entries of different lengths count as diverged (+Inf).
func FirstDivergence(want, got *Trace, tol float64) Comparison {
	return FirstOver(Diffs(want, got), tol)
}

// Diffs measures every entry of want that got has too, in want's
// (execution) order: the errors FirstDivergence walks.
func Diffs(want, got *Trace) []Diff {
	byKey := make(map[Key][]float32, len(got.Entries))
	for _, e := range got.Entries {
		byKey[e.Key()] = e.Values
	}
	var diffs []Diff
	for _, w := range want.Entries {
		if g, ok := byKey[w.Key()]; ok {
			diffs = append(diffs, diff(w, g))
		}
	}
	return diffs
}

// FirstOver is FirstDivergence over errors already measured by Diffs: the
// first diff over tol of its scale, and the worst one up to it.
func FirstOver(diffs []Diff, tol float64) Comparison {
	var c Comparison
	for i := range diffs {
		d := diffs[i]
		c.Compared++
		if d.Rel() > c.Worst.Rel() || c.Compared == 1 {
			c.Worst = d
		}
		if d.Rel() > tol {
			c.First = &d
			return c
		}
	}
	return c
}

func diff(want Entry, got []float32) Diff {
	d := Diff{Key: want.Key()}
	if len(got) != len(want.Values) {
		d.MaxAbsErr = math.Inf(1)
		return d
	}
	for i, w := range want.Values {
		g := got[i]
		if isNaN(w) && isNaN(g) {
			continue // both non-numbers: no difference to measure
		}
		if a := math.Abs(float64(w)); a > d.Scale { // a NaN in want adds nothing to the scale
			d.Scale = a
		}
		e := math.Abs(float64(g) - float64(w))
		if !(e <= d.MaxAbsErr) { // NaN (on either side) counts as the largest error
			d.MaxAbsErr = e
			if math.IsNaN(e) {
				d.MaxAbsErr = math.Inf(1)
			}
		}
	}
	return d
}

func isNaN(v float32) bool { return v != v }
