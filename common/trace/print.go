package trace

import (
	"fmt"
	"io"
	"math"
	"strings"

	"mamba.go/common/model"
)

// Printer is a model.Tracer that writes each op's result as one line: its
// layer, phase, op, the quantity's name and shape, its length, its
// Euclidean norm ‖v‖ = sqrt(Σ v²) and its first few values. The ops, their
// phases and shapes are those of Config's architecture (model.OpsFor), and
// the columns are as wide as its longest names. The output is deterministic
// (fixed formats), so docs/course.md can quote it and a test can check the
// quote.
//
//	token 5 at position 0
//	layer  phase         op         value   shape     len      ‖v‖  first values
//	    -  -             embedding  h       [d]        64   0.1598  0.01234 -0.02345 …
type Printer struct {
	W      io.Writer
	Config model.Config // the model's: which ops its step has, and their shapes
	Values int          // how many leading values to print (0: 4)
	Err    error        // the first write error
	header bool
	pos    int
	width  [3]int // of the op, value and shape columns
}

// Trace prints one op's result.
func (p *Printer) Trace(pos, layer int, op model.Op, values []float32) {
	if !p.header || pos != p.pos {
		if p.header {
			p.printf("\n")
		}
		p.header, p.pos = true, pos
		p.printf("position %d\n", pos)
		p.width = [3]int{}
		for _, o := range model.OpsFor(p.Config) {
			p.width = [3]int{max(p.width[0], len(o.Op)), max(p.width[1], len(o.Quantity)), max(p.width[2], len(o.Shape))}
		}
		p.printf("%5s  %-12s  %-*s  %-*s  %-*s  %6s  %9s  %s\n", "layer", "phase", p.width[0], "op", p.width[1], "value",
			p.width[2], "shape", "len", "‖v‖", "first values")
	}
	info, _ := model.LookupOp(p.Config, op)
	l, phase := "-", string(info.Phase)
	if layer >= 0 {
		l = fmt.Sprint(layer)
	}
	if phase == "" {
		phase = "-"
	}
	n := p.Values
	if n <= 0 {
		n = 4
	}
	var first []string
	for i, v := range values {
		if i == n {
			first = append(first, "…")
			break
		}
		first = append(first, fmt.Sprintf("%10.4g", v))
	}
	p.printf("%5s  %-12s  %-*s  %-*s  %-*s  %6d  %9.4g  %s\n", l, phase, p.width[0], op, p.width[1], info.Quantity,
		p.width[2], info.Shape, len(values), norm(values), strings.Join(first, " "))
}

func (p *Printer) printf(format string, args ...any) {
	if p.Err == nil {
		_, p.Err = fmt.Fprintf(p.W, format, args...)
	}
}

// norm is sqrt(Σ v²), summed in float64.
func norm(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}
