package fused

import (
	"fmt"
	"sync"

	"mamba.go/common/memory"
)

// The copies New makes of the weights (packing, or the copy into 2 MB
// pages) take memory of the process's own, as much as the weights: each
// is checked against the memory available before it starts, and where it
// would not fit New leaves the weights where they are (Fallback says why)
// instead of running out of memory halfway.

// availableMemory is memory.AvailableMemory; tests replace it.
var availableMemory = memory.AvailableMemory

// roomFor says whether a copy of need bytes fits in the memory available
// (memory.RoomFor), and if not why, in words naming what: "packing would
// take 25.4 GB of memory, and 20.1 GB are available". Where the memory
// available cannot be read, the copy is made.
func roomFor(what string, need int64) (ok bool, why string) {
	avail, known := availableMemory()
	if !known || memory.RoomFor(need, avail) {
		return true, ""
	}
	return false, fmt.Sprintf("%s would take %.1f GB of memory, and %.1f GB are available", what, float64(need)/1e9, float64(avail)/1e9)
}

// progress reports a long piece of New's work to Options.Progress: bytes
// done of total, from the goroutines that share it one at a time. A nil
// progress, or one without a func, reports nothing.
type progress struct {
	mu          sync.Mutex
	fn          func(done, total int64)
	done, total int64
}

// newProgress starts a piece of work of total bytes.
func newProgress(fn func(done, total int64), total int64) *progress {
	return &progress{fn: fn, total: total}
}

// add counts n more bytes done.
func (p *progress) add(n int64) {
	if p == nil || p.fn == nil || n == 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done = min(p.done+n, p.total)
	p.fn(p.done, p.total)
}

// finish reports the work done: its last report has done == total, also
// where it ended early (nothing packed after all).
func (p *progress) finish() {
	if p == nil || p.fn == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done < p.total {
		p.done = p.total
		p.fn(p.done, p.total)
	}
}
