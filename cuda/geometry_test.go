package cuda

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"mamba.go/common/model"
)

// h200SMs is the H200's multiprocessor count.
const h200SMs = 132

// A geometry covers every row exactly once: the last block reaches the last
// row and no block starts past it.
func checkCovers(t *testing.T, g matVecGrid, rows int, what string) {
	t.Helper()
	assert.Contains(t, []int{1, 2, 4, 8}, g.wpr, what)
	rpb := g.rowsPerBlock()
	assert.Equal(t, warpsPerBlock, rpb*g.wpr, what)
	assert.GreaterOrEqual(t, g.blocks*rpb, rows, what+": rows left over")
	assert.Less(t, (g.blocks-1)*rpb, rows, what+": a block with no rows")
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
		for _, sms := range []int{1, 46, h200SMs} {
			s := shapeOf(c)
			p := makePlan(s, sms)
			checkCovers(t, p.inProjConv, 2*s.di, name+" in_proj")
			checkCovers(t, p.xProj, s.r+2*s.n, name+" x_proj")
			checkCovers(t, p.outProj, s.d, name+" out_proj")
			checkCovers(t, p.head, s.vocabPadded, name+" lm_head")
			assert.LessOrEqual(t, p.inProjConv.wpr, maxNormWPR, name)
			assert.LessOrEqual(t, p.head.wpr, maxNormWPR, name)
			assert.GreaterOrEqual(t, p.dtScanGate*warpsPerBlock, s.di, name+" scan")
			assert.Less(t, (p.dtScanGate-1)*warpsPerBlock, s.di, name+" scan")
		}
	}
}

// The split along columns is used where it pays: x_proj of 2.8b (192 rows
// of 5120) is spread over 8 warps a row; lm_head (50280 rows) is not split.
func TestPlanSplitsShortMatrices(t *testing.T) {
	s := shapeOf(model.Shapes["2.8b"])
	p := makePlan(s, h200SMs)
	assert.Equal(t, 8, p.xProj.wpr)
	assert.Equal(t, 192, p.xProj.blocks)
	assert.Equal(t, 1, p.head.wpr)
	assert.Equal(t, 1, p.inProjConv.wpr) // 10240 rows fill the GPU already
	assert.Equal(t, 4, p.outProj.wpr)

	// A row too short for a second warp stays on one.
	assert.Equal(t, 1, planMatVecGrid(4, 255, h200SMs, 8).wpr)
	assert.Equal(t, 2, planMatVecGrid(4, 256, h200SMs, 8).wpr)
}
