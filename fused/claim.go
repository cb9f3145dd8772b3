package fused

import "sync/atomic"

// Sharing a phase's items (the rows of a product, or channels) between the
// workers. Each worker first computes its own contiguous block of the
// first staticPart of the items, the block it warmed while it waited at
// the barrier before (pool.go); the rest are claimed in chunks from an
// atomic counter by whichever worker is free. A worker held up (by a
// slower share, by another process on its core) then no longer holds up
// the others at the next barrier, and every item is still computed by
// exactly one worker with the same code, in the same order, so the
// results do not depend on the number of workers.

// staticPart is the fraction of a phase's items handed out in fixed blocks,
// as staticNum/staticDen.
const staticNum, staticDen = 3, 4

// share describes one phase's items: n of them, blocks that start at
// multiples of align (so that a vector kernel groups the same items
// whoever runs it), claimed chunk items at a time after the static part.
type share struct {
	n, align, chunk int
}

// static returns worker w's block [lo, hi) of the static part, of p workers.
func (s share) static(p, w int) (lo, hi int) {
	st := s.staticEnd()
	lo = s.alignDown(st * w / p)
	hi = s.alignDown(st * (w + 1) / p)
	if w == p-1 {
		hi = st
	}
	return lo, hi
}

func (s share) staticEnd() int { return s.alignDown(s.n * staticNum / staticDen) }

func (s share) alignDown(i int) int { return i - i%s.align }

// claimCounter counts the chunks claimed of one phase; alone on its cache line.
type claimCounter struct {
	next atomic.Int32
	_    [60]byte
}

// each calls fn(lo, hi) for worker w's static block of s, then for the
// chunks it claims from ctr until none are left. The counters of a step
// are reset before its workers start (resetClaims).
func each(w, p int, s share, ctr *claimCounter, fn func(lo, hi int)) {
	if lo, hi := s.static(p, w); lo < hi {
		fn(lo, hi)
	}
	st := s.staticEnd()
	for {
		lo := st + int(ctr.next.Add(1)-1)*s.chunk
		if lo >= s.n {
			return
		}
		fn(lo, min(lo+s.chunk, s.n))
	}
}

// resetClaims clears the counters, while no worker runs.
func resetClaims(c []claimCounter) {
	for i := range c {
		c[i].next.Store(0)
	}
}
