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
// Euclidean norm ‖v‖ = sqrt(Σ v²) and its first few values. The output is
// deterministic (fixed formats), so docs/course.md can quote it and a test
// can check the quote.
//
//	token 5 at position 0
//	layer  phase         op         value   shape     len      ‖v‖  first values
//	    -  -             embedding  h       [d]        64   0.1598  0.01234 -0.02345 …
type Printer struct {
	W      io.Writer
	Values int   // how many leading values to print (0: 4)
	Err    error // the first write error
	header bool
	pos    int
}

// Trace prints one op's result.
func (p *Printer) Trace(pos, layer int, op model.Op, values []float32) {
	if !p.header || pos != p.pos {
		if p.header {
			p.printf("\n")
		}
		p.header, p.pos = true, pos
		p.printf("position %d\n", pos)
		p.printf("%5s  %-12s  %-9s  %-6s  %-6s  %6s  %9s  %s\n", "layer", "phase", "op", "value", "shape", "len", "‖v‖", "first values")
	}
	info, _ := model.LookupOp(op)
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
	p.printf("%5s  %-12s  %-9s  %-6s  %-6s  %6d  %9.4g  %s\n", l, phase, op, info.Quantity, info.Shape, len(values), norm(values), strings.Join(first, " "))
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
