package fused

import (
	"fmt"
	"path/filepath"
	"testing"

	"mamba.go/common/model"
	"mamba.go/common/refcase"
	"mamba.go/common/refcase/refcasetest"
)

// More workers than heads: the workers without a head still own rows of
// in_proj's B and C, of out_proj and of the head.
func TestMamba2MoreWorkersThanHeads(t *testing.T) {
	dir := filepath.Join(refcase.RepoRoot(), "testdata", "cases", "m2odd") // 12 heads
	if _, err := refcase.Load(dir); err != nil {
		t.Skip("testdata/cases/m2odd is absent: run make testdata")
	}
	refcasetest.Check(t, dir, newFused(17))
}

// Mamba-2's worker count changes no bit either: every head, row and
// channel is computed by one worker with the same code, whichever it is.
// d_state 16 takes the assembly scan where the CPU has it, 12 the Go loop;
// 6 heads split unevenly over 4 workers, and head_dim 7 leaves channels
// past the last group of four.
func TestMamba2WorkerCountsAgreeBitForBit(t *testing.T) {
	for _, n := range []int{16, 12} {
		c := model.NewMamba2Config(2, 101, 21, 2, 7, 2, n, 4, true)
		t.Run(fmt.Sprintf("d_state %d", n), func(t *testing.T) {
			requireWorkerCountsAgree(t, randomWeights(t, c), []int{5, 17, 99, 0, 42}, 2, 3, 4, 7)
		})
	}
}
