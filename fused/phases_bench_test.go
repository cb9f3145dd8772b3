package fused

import (
	"testing"
	"time"

	"mamba.go/common/model"
)

// BenchmarkPhases is the per-phase profile of a step: a tracer notes the
// time of every phase end (worker 0 reports it after the phase's barrier,
// so the time between two reports is the phase's wall time on all workers,
// waits for the slowest included), and each phase's total over the layers
// is reported in µs per token. The tracer's own barriers (one per report)
// add a few µs per phase. The file stands alone, so that it can be copied
// beside an older fused to profile it the same way.
func BenchmarkPhases(b *testing.B) {
	w := benchWeights(b)
	m, err := New(w)
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	total := timePhases(m)
	tok := 0
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Forward(tok); err != nil {
			b.Fatal(err)
		}
		tok = (tok + 1) % 1000
	}
	reportPhases(b, total, "")
}

// phaseNames are the phases of a step, in order.
var phaseNames = []string{"in_proj_conv", "x_proj", "dt_scan_gate", "out_proj", "head"}

// timePhases sets m's tracer to add each phase's wall time to the map it
// returns.
func timePhases(m *Mamba) map[string]time.Duration {
	// The op that ends each phase, and the op that ends the phase before it.
	ends := map[model.Op]string{
		model.OpInProj:   "in_proj_conv",
		model.OpXProj:    "x_proj",
		model.OpSoftplus: "dt_scan_gate",
		model.OpResidual: "out_proj",
		model.OpLMHead:   "head",
	}
	total := map[string]time.Duration{}
	var last time.Time
	m.SetTracer(model.TracerFunc(func(pos, layer int, op model.Op, values []float32) {
		now := time.Now()
		if name, ok := ends[op]; ok {
			total[name] += now.Sub(last)
		}
		last = now
	}))
	return total
}

// reportPhases reports each phase's µs per token, its name suffixed.
func reportPhases(b *testing.B, total map[string]time.Duration, suffix string) {
	for _, name := range phaseNames {
		b.ReportMetric(float64(total[name].Microseconds())/float64(b.N), name+suffix+"-µs/tok")
	}
}
