package cuda

import "fmt"

// Launch geometry: how many blocks of how many threads each kernel gets.
// Pure arithmetic, kept apart from the launches so that it can be tested
// without a GPU.

const (
	// threads is the block size of every kernel but sample: 8 warps.
	threads = 256
	// warpSize is the number of lanes in a warp.
	warpSize = 32
	// warpsPerBlock is threads / warpSize.
	warpsPerBlock = threads / warpSize
	// sampleThreads is sample's single block.
	sampleThreads = 1024
	// maxSharedBytes is what a block may take of shared memory without
	// opting in to more: the matrix–vector kernels stage their input vector
	// there (in_proj_conv and head d floats, matvec_v2 di floats), beside
	// staticSharedBytes of their own (block_sum's, argmax's and the row
	// pieces' partial results), so d_model and d_inner are at most 12032.
	maxSharedBytes = 48 << 10
	// staticSharedBytes bounds those kernels' static shared memory (at most
	// 528 bytes in their PTX), with room to spare.
	staticSharedBytes = 1 << 10
)

// matVecGrid is the launch geometry of one matrix–vector product kernel
// (matvec.cuh): wpr warps share each row, splitting its columns, a block of
// warpsPerBlock warps does a group of warpsPerBlock/wpr consecutive rows at
// a time, and block b does groups b, b + blocks, b + 2·blocks, … .
type matVecGrid struct {
	wpr    int // warps per row: 1, 2, 4 or 8
	blocks int // at most the blocks that fit on the GPU at once, at most one per group
}

// rowsPerBlock is how many rows one group of this geometry covers.
func (g matVecGrid) rowsPerBlock() int { return warpsPerBlock / g.wpr }

// groups is the number of row groups of a [rows][…] matrix.
func (g matVecGrid) groups(rows int) int { return ceilDiv(rows, g.rowsPerBlock()) }

// planMatVecGrid picks the geometry for a [rows][cols] product with a
// kernel of which resident blocks fit on the GPU at once (multiprocessors ×
// blocks per multiprocessor). The grid is never larger than that: one wave,
// every block streaming until the matrix is done, instead of a last wave
// that leaves most of the GPU idle. Of the splits 1, 2, 4, 8 warps per row
// (each lane keeping at least one float4 of the row), it takes the one that
// gives the busiest warp the fewest columns to read — the time of the
// launch — and the smaller split unless the wider one gains 5%: tall matrices (lm_head) stay at
// one warp a row, short wide ones (x_proj, out_proj) spread over more warps
// so that every multiprocessor streams, and in_proj of 2.8b (10240 rows,
// 1280 groups of 8 on a 528-block GPU: 2.42 groups a block, so 3 for some)
// splits in two to even the blocks out (4.85 groups of 4: 5).
func planMatVecGrid(rows, cols, resident int) matVecGrid {
	if resident < 1 {
		resident = 1
	}
	var best matVecGrid
	bestCost := -1
	for wpr := 1; wpr <= warpsPerBlock; wpr *= 2 {
		if wpr > 1 && cols < wpr*warpSize*4 {
			break
		}
		g := matVecGrid{wpr: wpr}
		groups := g.groups(rows)
		g.blocks = min(groups, resident)
		cost := ceilDiv(groups, g.blocks) * ceilDiv(cols, wpr)
		// A wider split costs two barriers per group: take it only for a
		// clear (5%) gain.
		if bestCost < 0 || 100*cost < 95*bestCost {
			best, bestCost = g, cost
		}
	}
	return best
}

// scanBlocks is dt_scan_gate's grid: one warp per channel.
func scanBlocks(di int) int { return ceilDiv(di, warpsPerBlock) }

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// occupancy is what the GPU holds at once: its multiprocessors, and how many
// blocks of each matrix–vector kernel fit on one (the driver's occupancy
// calculator, from the kernel's registers and shared memory).
type occupancy struct {
	sms        int
	inProjConv int // blocks of in_proj_conv per multiprocessor
	matVec     int // of matvec_v2
	head       int // of head
}

// plan is the geometry of every launch of one step, one field per phase
// (model.Ops): the kernel that runs the phase, and the matrix it streams.
type plan struct {
	inProjConv matVecGrid // in_proj_conv:   in_proj [2di][d]
	xProj      matVecGrid // matvec_v2:      x_proj [r+2n][di]
	dtScanGate int        // dt_scan_gate:   blocks, one warp per channel
	outProj    matVecGrid // matvec_v2:      out_proj [d][di]
	head       matVecGrid // head:           lm_head [V][d]
}

// makePlan is the geometry of a step of a model of config c on a GPU of
// occupancy o.
func makePlan(c configShape, o occupancy) plan {
	return plan{
		inProjConv: planMatVecGrid(2*c.di, c.d, o.sms*o.inProjConv),
		xProj:      planMatVecGrid(c.r+2*c.n, c.di, o.sms*o.matVec),
		dtScanGate: scanBlocks(c.di),
		outProj:    planMatVecGrid(c.d, c.di, o.sms*o.matVec),
		head:       planMatVecGrid(c.vocabPadded, c.d, o.sms*o.head),
	}
}

// checkStaging refuses a model whose vectors do not fit in a block's shared
// memory, where the matrix–vector kernels stage them: d for in_proj_conv
// and head, di for matvec_v2.
func checkStaging(c configShape) error {
	maxCols := (maxSharedBytes - staticSharedBytes) / 4
	if c.di > maxCols {
		return fmt.Errorf("cuda: d_inner %d is too wide: x_proj's and out_proj's input must fit in a block's shared memory (d_inner ≤ %d)",
			c.di, maxCols)
	}
	return nil
}

// planMatVecGridV1 is matvec_v1's geometry, which cuda-check bench-matvec
// launches it with: one row group per block, however many waves that makes,
// and as many warps per row (up to maxWPR: 2 for the products that
// normalised h in every block, 8 for the others) as it takes to give 48
// warps to every multiprocessor while each lane keeps two float4s.
func planMatVecGridV1(rows, cols, sms, maxWPR int) matVecGrid {
	wpr := 1
	for wpr < maxWPR && wpr < warpsPerBlock && rows*wpr < sms*48 && cols >= 2*wpr*warpSize*4 {
		wpr *= 2
	}
	g := matVecGrid{wpr: wpr}
	g.blocks = g.groups(rows)
	return g
}
