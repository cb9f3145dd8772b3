package fused

import (
	"mamba.go/fused/internal/kernels"

	"fmt"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"mamba.go/common/memory"
)

// The worker pool. A token's step is a sequence of matrix–vector products
// that each depend on the one before, so the workers run the whole step in
// lockstep (SPMD, like an OpenMP parallel region): every worker executes the
// same program over its own share of rows or channels, and a barrier
// separates the phases that need each other's results. The goroutines live
// as long as the model: nothing is spawned per token or per product.

// barrier makes n goroutines wait for each other. A waiter first spins on
// the generation counter, then blocks on a condition variable so that idle
// workers between tokens do not burn a core. The spin is long (spinFor):
// waking a parked goroutine is slow (the waker's P, busy with its own
// share, gets the woken goroutine), and a late worker holds up every later
// phase. And the spin gives the core away now and then: when another
// process holds one of the cores, the worker we wait for may be queued
// behind us. docs/fused.md ("The barrier") says why.
type barrier struct {
	n        int32
	spinFor  time.Duration // how long to poll gen before blocking
	count    atomic.Int32  // arrivals in the current generation
	gen      atomic.Uint32 // bumped by the last arrival, releasing the others
	sleepers atomic.Int32  // waiters blocked on cond
	sink     atomic.Uint32 // what warm loaded, stored so the loads are kept
	mu       sync.Mutex
	cond     sync.Cond
	_        [64]byte // keep the hot counters off other data's cache lines
}

func newBarrier(n int, spinFor time.Duration) *barrier {
	b := &barrier{n: int32(n), spinFor: spinFor}
	b.cond.L = &b.mu
	return b
}

// wait returns once all n goroutines have called it. While it polls, it
// warms next (up to warmBytes of it, a chunk between polls): the block of
// weights the caller streams in its next phase. A worker that arrives
// early so turns its wait into a prefetch, and starts the next phase from
// its cache instead of from a cold stream whose prefetchers still have to
// ramp up (docs/fused.md, "Waiting that prefetches", says what it gains
// and docs/benchmarks.md measures it).
func (b *barrier) wait(next kernels.Matrix) {
	block := next.Bytes()
	block = block[:min(len(block), warmBytes)]
	g := b.gen.Load()
	if b.count.Add(1) == b.n {
		b.count.Store(0)
		b.gen.Add(1)
		// A waiter counts itself in sleepers before its last look at gen, and
		// we bumped gen before looking at sleepers: one of us sees the other.
		if b.sleepers.Load() > 0 {
			b.mu.Lock()
			b.cond.Broadcast()
			b.mu.Unlock()
		}
		return
	}
	if b.spinFor > 0 {
		start := time.Now()
		var sum float32
		for i := 1; ; i++ {
			if b.gen.Load() != g {
				break
			}
			if len(block) > 0 {
				k := min(len(block), warmChunk)
				sum += warm(block[:k])
				block = block[k:]
				if len(block) == 0 {
					b.sink.Store(math.Float32bits(sum))
				}
				continue
			}
			if i&1023 == 0 {
				if int(b.n) > runtime.GOMAXPROCS(0) { // read each time: it can change at run time
					runtime.Gosched() // the worker we wait for may need our P
				}
				osYield() // … or our core
				if time.Since(start) > b.spinFor {
					break
				}
			}
		}
		if b.gen.Load() != g {
			return
		}
	}
	b.mu.Lock()
	b.sleepers.Add(1)
	for b.gen.Load() == g {
		b.cond.Wait()
	}
	b.sleepers.Add(-1)
	b.mu.Unlock()
}

// warmBytes is how much of the next phase's block a waiting worker loads
// into its cache (L2 is 1 MB a core here), warmChunk how much between two
// polls of the barrier.
const (
	warmBytes = 512 << 10
	warmChunk = 16 << 10
)

// warm loads one byte of every 64-byte cache line of b and returns their
// sum (as integers: weights' bits summed as floats could be subnormal
// numbers, which are slow to add).
func warm(b []byte) float32 {
	var s uint32
	for i := 0; i < len(b); i += 64 {
		s += uint32(b[i])
	}
	return float32(s)
}

// pool runs fn(worker) on n workers at once: worker 0 is the caller's own
// goroutine, workers 1..n-1 are goroutines started once by newPool.
type pool struct {
	n    int
	fn   func(worker int) // the program of the current run; set before start
	bar  *barrier         // the phase barrier that fn uses between its phases
	gate *barrier         // start and end of a run
	quit atomic.Bool
	done sync.WaitGroup
}

// spinFor is how long a waiting worker polls before it blocks.
const spinFor = 200 * time.Microsecond

func newPool(n int) *pool {
	p := &pool{n: n, bar: newBarrier(n, spinFor), gate: newBarrier(n, spinFor)}
	p.done.Add(n - 1)
	for w := 1; w < n; w++ {
		go p.worker(w)
	}
	return p
}

func (p *pool) worker(w int) {
	defer p.done.Done()
	debug.SetPanicOnFault(true) // for this goroutine, for good: see call
	for {
		p.gate.wait(kernels.Matrix{}) // start
		if p.quit.Load() {
			return
		}
		p.call(w)
		p.gate.wait(kernels.Matrix{}) // end
	}
}

// run executes fn on every worker and returns when all have finished.
func (p *pool) run(fn func(worker int)) {
	p.fn = fn
	p.gate.wait(kernels.Matrix{}) // start: publishes fn to the workers
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	p.call(0)
	p.gate.wait(kernels.Matrix{}) // end
}

// call runs fn for worker w. A memory fault in it at an address of a
// mapped model file is a weight read from a file that was truncated or
// rewritten under the running program (SIGBUS): the program ends with one
// line saying so, instead of the runtime's crash report. It cannot go on:
// the other workers wait for this one at the next barrier, and a step half
// done cannot be undone. Any other fault is a bug and panics as usual.
// (Weights packed or copied into memory of their own at New are not read
// from the file.)
func (p *pool) call(w int) {
	defer func() {
		if r := recover(); r != nil {
			if f, ok := r.(interface{ Addr() uintptr }); ok && memory.InMappedFile(f.Addr()) {
				fmt.Fprintf(os.Stderr, "fused: model file changed while in use (truncated or rewritten while memory-mapped; fault at %#x): run again on an unchanging file\n", f.Addr())
				os.Exit(1)
			}
			panic(r)
		}
	}()
	p.fn(w)
}

// sync is the barrier between two phases of fn; next is the block of
// weights the caller streams next, warmed while it waits (see wait).
func (p *pool) sync(next kernels.Matrix) { p.bar.wait(next) }

// close stops the workers.
func (p *pool) close() {
	if p.quit.Swap(true) {
		return
	}
	p.gate.wait(kernels.Matrix{}) // the workers see quit and return
	p.done.Wait()
}

// split returns worker w's share [lo, hi) of n items cut into p nearly equal
// contiguous parts.
func split(n, p, w int) (lo, hi int) {
	return n * w / p, n * (w + 1) / p
}
