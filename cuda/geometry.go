package cuda

// Launch geometry: how many blocks of how many threads each kernel gets.
// Pure arithmetic, kept apart from the launches so that it can be tested
// without a GPU.

const (
	// threads is the block size of every kernel but argmax: 8 warps.
	threads = 256
	// warpSize is the number of lanes in a warp.
	warpSize = 32
	// warpsPerBlock is threads / warpSize.
	warpsPerBlock = threads / warpSize
	// argmaxThreads is argmax's single block.
	argmaxThreads = 1024
	// maxSharedBytes is what a block may take of shared memory without
	// opting in to more: in_proj_conv and rmsnorm_matvec keep RMSNorm(h),
	// d floats, there, beside staticSharedBytes of their own (block_sum's
	// and row_dot's partial sums), so d_model is at most 12032 here.
	maxSharedBytes = 48 << 10
	// staticSharedBytes bounds the kernels' static shared memory (272 bytes
	// in the PTX of in_proj_conv and rmsnorm_matvec), with room to spare.
	staticSharedBytes = 1 << 10
	// warpsPerSM is how many warps we aim to have in flight per
	// multiprocessor: enough loads in flight to cover memory latency.
	warpsPerSM = 48
)

// matVecGrid is the launch geometry of one matrix–vector product kernel: wpr warps
// share each row, splitting its columns, and a block of warpsPerBlock warps
// does warpsPerBlock/wpr consecutive rows.
type matVecGrid struct {
	wpr    int // warps per row: 1, 2, 4 or 8
	blocks int // ceil(rows / rows per block)
}

// planMatVecGrid picks the geometry for a [rows][cols] product on a GPU with
// sms multiprocessors. Tall matrices (in_proj, lm_head) get one warp per
// row; short ones (x_proj, out_proj of wide models) split each row over
// more warps so that the whole GPU streams the weights, as long as every
// lane still gets at least one float4 of the row. maxWPR bounds the split
// (kernels that normalise h in every block want few, large blocks).
func planMatVecGrid(rows, cols, sms, maxWPR int) matVecGrid {
	target := sms * warpsPerSM
	wpr := 1
	for wpr < maxWPR && wpr < warpsPerBlock && rows*wpr < target && cols >= 2*wpr*warpSize*4 {
		wpr *= 2
	}
	rpb := warpsPerBlock / wpr
	return matVecGrid{wpr: wpr, blocks: ceilDiv(rows, rpb)}
}

// rowsPerBlock is how many rows one block of this geometry covers.
func (g matVecGrid) rowsPerBlock() int { return warpsPerBlock / g.wpr }

// scanBlocks is dt_scan_gate's grid: one warp per channel.
func scanBlocks(di int) int { return ceilDiv(di, warpsPerBlock) }

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// plan is the geometry of every launch of one step, one field per phase
// (model.Ops): the kernel that runs the phase, and the matrix it streams.
type plan struct {
	inProjConv matVecGrid // in_proj_conv:   in_proj [2di][d]
	xProj      matVecGrid // matvec:         x_proj [r+2n][di]
	dtScanGate int        // dt_scan_gate:   blocks, one warp per channel
	outProj    matVecGrid // matvec:         out_proj [d][di]
	head       matVecGrid // rmsnorm_matvec: lm_head [V][d]
}

// maxNormWPR bounds the split of the kernels that normalise h in every
// block (in_proj_conv, rmsnorm_matvec): more warps per row means more
// blocks, each reading h again.
const maxNormWPR = 2

// makePlan is the geometry of a step of a model of config c on a GPU with
// sms multiprocessors.
func makePlan(c configShape, sms int) plan {
	return plan{
		inProjConv: planMatVecGrid(2*c.di, c.d, sms, maxNormWPR),
		xProj:      planMatVecGrid(c.r+2*c.n, c.di, sms, warpsPerBlock),
		dtScanGate: scanBlocks(c.di),
		outProj:    planMatVecGrid(c.d, c.di, sms, warpsPerBlock),
		head:       planMatVecGrid(c.vocabPadded, c.d, sms, maxNormWPR),
	}
}
