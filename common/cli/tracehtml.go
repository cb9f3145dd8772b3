package cli

import (
	"fmt"

	"mamba.go/common/model"
	"mamba.go/common/trace"
	"mamba.go/common/tracehtml"
)

// traceExplorer writes -trace-html's page after the run; nil: no -trace-html.
type traceExplorer struct {
	path, name string
	col        *tracehtml.Collector
}

// startTraceHTML adds -trace-html's collector to m's tracer (beside
// -trace's printer, when there is one).
func startTraceHTML(f *flags, m model.Mamba, w *model.Weights, name string, printing model.Tracer) (*traceExplorer, error) {
	if f.traceHTML == "" {
		return nil, nil
	}
	tm, ok := m.(model.Traceable)
	if !ok {
		return nil, fmt.Errorf("-trace-html: %s's model reports no trace", name)
	}
	var opt tracehtml.Options
	if f.loadState != "" {
		if s, err := model.LoadState(f.loadState, w.Config); err == nil {
			opt.InitialSSM = s.SSM
		}
	}
	e := &traceExplorer{path: f.traceHTML, name: name, col: tracehtml.NewCollector(w, opt)}
	tm.SetTracer(trace.Chain{printing, e.col})
	return e, nil
}

// write writes the page: the prompt's tokens, then the generated ones.
func (e *traceExplorer) write(prompt []int, out *tokenOutput) error {
	if e == nil {
		return nil
	}
	var toks []tracehtml.Token
	add := func(ids []int, gen bool) {
		for _, id := range ids {
			t := tracehtml.Token{ID: id, Generated: gen}
			if out.tok != nil {
				t.Text = out.tok.Decode([]int{id}, false)
			}
			toks = append(toks, t)
		}
	}
	add(prompt, false)
	add(out.ids, true)
	d := e.col.Data(tracehtml.Run{Title: "trace explorer: " + e.name, Impl: e.name, Tokens: toks})
	if err := tracehtml.WriteFile(e.path, d); err != nil {
		return fmt.Errorf("-trace-html: %w", err)
	}
	return nil
}
