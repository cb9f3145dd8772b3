package trace

import (
	"fmt"
	"math"

	"mamba.go/common/model"
)

// NonFinite is a tracer that remembers the first report holding a NaN or
// an infinity: the op that made the first non-finite value (everything
// after it inherits it). With -trace, the command line names it when the
// logits cannot be sampled.
type NonFinite struct {
	Found bool
	Pos   int
	Layer int
	Op    model.Op
	Index int     // the first non-finite value's index in the op's vector
	Value float32 // NaN, +Inf or -Inf
}

// Trace looks for a non-finite value until it has found one.
func (n *NonFinite) Trace(pos, layer int, op model.Op, values []float32) {
	if n.Found {
		return
	}
	for i, v := range values {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			*n = NonFinite{Found: true, Pos: pos, Layer: layer, Op: op, Index: i, Value: v}
			return
		}
	}
}

// String says where the first non-finite value appeared.
func (n *NonFinite) String() string {
	if !n.Found {
		return "no op reported a non-finite value"
	}
	where := "layer " + fmt.Sprint(n.Layer)
	if n.Layer < 0 {
		where = "outside the layers"
	}
	return fmt.Sprintf("the first non-finite value is %v at index %d of op %s, %s, token position %d", n.Value, n.Index, n.Op, where, n.Pos)
}
