// Package trace records, reads, compares and prints the named intermediate
// vectors of a step (model.OpsFor: Mamba-1's model.Ops or Mamba-2's
// model.Ops2) that an implementation reports to a model.Tracer:
//
//   - Recorder keeps a copy of every report: a Trace;
//   - Load reads the trace a reference case carries (trace.json, trace.npy:
//     every op of its first tokens, from compare/reference/mamba_ref.py or
//     mamba2_ref.py);
//   - FirstDivergence walks two traces in execution order and finds the
//     first op where they part, which is how compare localises a bug;
//   - Printer writes one token's walk through the model, op by op, for
//     people learning Mamba (bin/mamba-learning -trace, docs/course.md).
package trace

import (
	"fmt"

	"mamba.go/common/model"
)

// Entry is one reported vector: op's result for the token at position Pos
// in layer Layer (-1 for the embedding and the head).
type Entry struct {
	Pos    int
	Layer  int
	Op     model.Op
	Values []float32
}

// Key names an entry: the same op of the same layer at the same position.
type Key struct {
	Pos, Layer int
	Op         model.Op
}

// Key is e's name.
func (e *Entry) Key() Key { return Key{e.Pos, e.Layer, e.Op} }

func (k Key) String() string {
	if k.Layer < 0 {
		return fmt.Sprintf("token %d, op %s", k.Pos, k.Op)
	}
	return fmt.Sprintf("token %d, layer %d, op %s", k.Pos, k.Layer, k.Op)
}

// Trace is a list of entries in the order they were reported.
type Trace struct {
	Entries []Entry
}

// Positions is the number of token positions the trace covers.
func (t *Trace) Positions() int {
	n := 0
	for _, e := range t.Entries {
		n = max(n, e.Pos+1)
	}
	return n
}

// Check makes sure every entry names an op of c's architecture
// (model.OpsFor(c)) with the length that op has for a model of shape c,
// and a layer the model has.
func (t *Trace) Check(c model.Config) error {
	for i, e := range t.Entries {
		info, ok := model.LookupOp(c, e.Op)
		switch {
		case !ok:
			return fmt.Errorf("entry %d: %q is no op of %s", i, e.Op, c.Arch)
		case info.PerLayer && (e.Layer < 0 || e.Layer >= c.NLayers):
			return fmt.Errorf("entry %d: op %s in layer %d of a %d-layer model", i, e.Op, e.Layer, c.NLayers)
		case !info.PerLayer && e.Layer != -1:
			return fmt.Errorf("entry %d: op %s is no layer's, has layer %d", i, e.Op, e.Layer)
		case len(e.Values) != info.Len(c):
			return fmt.Errorf("entry %d (%s): %d values, want %d", i, e.Key(), len(e.Values), info.Len(c))
		}
	}
	return nil
}

// Recorder is a model.Tracer that keeps a copy of every report in
// Recorded, up to position MaxPos (exclusive; 0: all).
type Recorder struct {
	Recorded Trace
	MaxPos   int
}

// Trace appends a copy of values.
func (r *Recorder) Trace(pos, layer int, op model.Op, values []float32) {
	if r.MaxPos > 0 && pos >= r.MaxPos {
		return
	}
	r.Recorded.Entries = append(r.Recorded.Entries, Entry{pos, layer, op, append([]float32(nil), values...)})
}

// Chain is a Tracer that calls each of its tracers in turn (nil ones are
// skipped): a tracer that changes values, then one that records them.
type Chain []model.Tracer

// Trace calls every tracer of c.
func (c Chain) Trace(pos, layer int, op model.Op, values []float32) {
	for _, t := range c {
		if t != nil {
			t.Trace(pos, layer, op, values)
		}
	}
}
