package cuda

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"mamba.go/common/model"
)

// h200 is an H200's occupancy: 132 multiprocessors, and as many blocks of
// each matrix–vector kernel as its 72 registers a thread allow (3 of 256
// threads).
var h200 = occupancy{sms: 132, inProjConv: 3, matVec: 3, head: 3}

// A geometry covers every row: its groups reach the last row, every block
// has a group, and the grid is no larger than what fits at once.
func checkCovers(t *testing.T, g matVecGrid, rows, resident int, what string) {
	t.Helper()
	assert.Contains(t, []int{1, 2, 4, 8}, g.wpr, what)
	rpb := g.rowsPerBlock()
	assert.Equal(t, warpsPerBlock, rpb*g.wpr, what)
	assert.GreaterOrEqual(t, g.groups(rows)*rpb, rows, what+": rows left over")
	assert.GreaterOrEqual(t, g.blocks, 1, what)
	assert.LessOrEqual(t, g.blocks, g.groups(rows), what+": a block with no group")
	assert.LessOrEqual(t, g.blocks, max(resident, 1), what+": more blocks than fit at once")
}

func TestPlanCoversEveryShape(t *testing.T) {
	shapes := map[string]model.Config{
		"tiny-48":  {NLayers: 2, VocabSize: 1000, DModel: 48, DInner: 96, DtRank: 3, DState: 16, DConv: 4},
		"tiny-64":  {NLayers: 2, VocabSize: 1001, DModel: 64, DInner: 128, DtRank: 5, DState: 8, DConv: 4},
		"odd":      {NLayers: 1, VocabSize: 7, DModel: 5, DInner: 11, DtRank: 1, DState: 3, DConv: 2},
		"one":      {NLayers: 1, VocabSize: 1, DModel: 1, DInner: 1, DtRank: 1, DState: 1, DConv: 1},
		"wide-n64": {NLayers: 1, VocabSize: 50, DModel: 32, DInner: 64, DtRank: 2, DState: 64, DConv: 4},
	}
	for name, c := range model.Shapes {
		shapes[name] = c
	}
	for name, c := range shapes {
		for _, o := range []occupancy{{1, 1, 1, 1}, {46, 2, 4, 3}, h200} {
			s := shapeOf(c)
			p := makePlan(s, o)
			checkCovers(t, p.inProjConv, 2*s.di, o.sms*o.inProjConv, name+" in_proj")
			checkCovers(t, p.xProj, s.r+2*s.n, o.sms*o.matVec, name+" x_proj")
			checkCovers(t, p.outProj, s.d, o.sms*o.matVec, name+" out_proj")
			checkCovers(t, p.head, s.vocabPadded, o.sms*o.head, name+" lm_head")
			assert.GreaterOrEqual(t, p.dtScanGate*warpsPerBlock, s.di, name+" scan")
			assert.Less(t, (p.dtScanGate-1)*warpsPerBlock, s.di, name+" scan")
		}
	}
}

// balance is the share of the busiest warp's columns that an even split of
// the matrix over every warp of the grid would give it: 1 is perfect.
func balance(g matVecGrid, rows, cols int) float64 {
	busiest := ceilDiv(g.groups(rows), g.blocks) * ceilDiv(cols, g.wpr)
	even := float64(rows) * float64(cols) / float64(g.blocks*warpsPerBlock)
	return even / float64(busiest)
}

// On the 2.8b shapes the big products run in one wave with every warp
// within 10% of an even share (v1's grids ran in 1.62 waves), and the split
// along columns goes where it pays.
func TestPlanBalances2_8b(t *testing.T) {
	s := shapeOf(model.Shapes["2.8b"])
	p := makePlan(s, h200)
	resident := h200.sms * h200.matVec
	assert.Equal(t, resident, p.inProjConv.blocks)
	assert.Equal(t, resident, p.head.blocks)
	assert.Greater(t, balance(p.inProjConv, 2*s.di, s.d), 0.9, "in_proj %+v", p.inProjConv)
	assert.Greater(t, balance(p.outProj, s.d, s.di), 0.9, "out_proj %+v", p.outProj)
	assert.Greater(t, balance(p.head, s.vocabPadded, s.d), 0.9, "lm_head %+v", p.head)
	assert.Equal(t, 1, p.head.wpr)  // 50280 rows: one warp a row is even already
	assert.Equal(t, 8, p.xProj.wpr) // 192 rows of 5120
	assert.Equal(t, 192, p.xProj.blocks)
	assert.Greater(t, p.inProjConv.wpr, 1, "in_proj: 1280 groups of 8 rows on 396 blocks would give 4 to some, 3 to most")

	// A row too short for a second warp's float4s stays on one.
	assert.Equal(t, 1, planMatVecGrid(4, 255, 1000).wpr)
	assert.Equal(t, 2, planMatVecGrid(4, 256, 1000).wpr)
}

// matvec_v1's geometry, as it was: in_proj of 2.8b in 1280 blocks (1.62
// waves of the 6 blocks a multiprocessor that v1's 38 registers allow on an
// H200), x_proj split over 8 warps a row, out_proj over 4.
func TestPlanV1(t *testing.T) {
	s := shapeOf(model.Shapes["2.8b"])
	assert.Equal(t, matVecGrid{wpr: 1, blocks: 1280}, planMatVecGridV1(2*s.di, s.d, h200.sms, 2))
	assert.Equal(t, matVecGrid{wpr: 8, blocks: 192}, planMatVecGridV1(s.r+2*s.n, s.di, h200.sms, 8))
	assert.Equal(t, matVecGrid{wpr: 4, blocks: 1280}, planMatVecGridV1(s.d, s.di, h200.sms, 8))
	assert.Equal(t, 1, planMatVecGridV1(s.vocabPadded, s.d, h200.sms, 2).wpr)
}

func TestCheckStaging(t *testing.T) {
	assert.NoError(t, checkStaging(shapeOf(model.Shapes["2.8b"])))
	assert.ErrorContains(t, checkStaging(configShape{d: 64, di: 20000}), "d_inner 20000 is too wide")
}

// The control block's fields do not overlap and step_control is where the
// kernels expect it.
func TestControlLayout(t *testing.T) {
	l := planControl(396, 50277)
	assert.Equal(t, int64(0), l.ctl)
	offs := []int64{l.ctl, l.partV, l.partI, l.done, l.probs}
	sizes := []int64{stepControlBytes, 4 * 396, 4 * 396, 4, 4 * 50277}
	for i := range offs {
		assert.Zero(t, offs[i]%tensorAlign)
		if i > 0 {
			assert.GreaterOrEqual(t, offs[i], offs[i-1]+sizes[i-1])
		}
	}
	assert.GreaterOrEqual(t, l.size, l.probs+4*50277)
}
