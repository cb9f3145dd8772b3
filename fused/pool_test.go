package fused

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"mamba.go/fused/internal/kernels"
)

func TestBarrierSeparatesPhases(t *testing.T) {
	for _, spin := range []time.Duration{0, time.Microsecond, spinFor} { // 0: always block
		for _, n := range []int{1, 2, 3, 5} {
			b := newBarrier(n, spin)
			var arrived atomic.Int64
			var bad atomic.Int64
			var wg sync.WaitGroup
			const rounds = 300
			for range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for r := range rounds {
						arrived.Add(1)
						b.wait(kernels.Matrix{})
						// Everyone of this round has arrived, nobody of the next.
						if got := arrived.Load(); got < int64(n*(r+1)) {
							bad.Add(1)
						}
						b.wait(kernels.Matrix{})
					}
				}()
			}
			wg.Wait()
			assert.Zero(t, bad.Load(), "spin %d n %d: a waiter left before all arrived", spin, n)
			assert.Equal(t, int64(n*rounds), arrived.Load())
		}
	}
}

func TestPoolRunsEveryWorkerOncePerRun(t *testing.T) {
	for _, n := range []int{1, 2, 3, 4} {
		p := newPool(n)
		counts := make([]int, n)
		data := make([]int, n)
		for run := range 50 {
			p.run(func(w int) {
				counts[w]++
				data[w] = run
				p.sync(kernels.Matrix{})
				// after the barrier every worker sees every other's write
				for _, v := range data {
					if v != run {
						counts[w] = -1000
					}
				}
			})
		}
		p.close()
		p.close() // twice is fine
		for w := range n {
			require.Equal(t, 50, counts[w], "n %d worker %d", n, w)
		}
	}
}
