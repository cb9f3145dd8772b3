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

// matVec is the geometry of one matrix–vector product kernel: wpr warps
// share each row, splitting its columns, and a block of warpsPerBlock warps
// does warpsPerBlock/wpr consecutive rows.
type matVec struct {
	wpr    int // warps per row: 1, 2, 4 or 8
	blocks int // ceil(rows / rows per block)
}

// planMatVec picks the geometry for a [rows][cols] product on a GPU with
// sms multiprocessors. Tall matrices (in_proj, lm_head) get one warp per
// row; short ones (x_proj, out_proj of wide models) split each row over
// more warps so that the whole GPU streams the weights, as long as every
// lane still gets at least one float4 of the row. maxWPR bounds the split
// (kernels that normalise h in every block want few, large blocks).
func planMatVec(rows, cols, sms, maxWPR int) matVec {
	target := sms * warpsPerSM
	wpr := 1
	for wpr < maxWPR && wpr < warpsPerBlock && rows*wpr < target && cols >= 2*wpr*warpSize*4 {
		wpr *= 2
	}
	rpb := warpsPerBlock / wpr
	return matVec{wpr: wpr, blocks: ceilDiv(rows, rpb)}
}

// rowsPerBlock is how many rows one block of this geometry covers.
func (g matVec) rowsPerBlock() int { return warpsPerBlock / g.wpr }

// scanBlocks is dt_scan_gate's grid: one warp per channel.
func scanBlocks(di int) int { return ceilDiv(di, warpsPerBlock) }

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// plan is the geometry of every launch of one step.
type plan struct {
	inProj  matVec // in_proj_conv: [2di][d]
	xProj   matVec // matvec:       [r+2n][di]
	outProj matVec // matvec:       [d][di]
	lmHead  matVec // rmsnorm_matvec: [V][d]
	scan    int    // dt_scan_gate blocks
}

// maxNormWPR bounds the split of the kernels that normalise h in every
// block (in_proj_conv, rmsnorm_matvec): more warps per row means more
// blocks, each reading h again.
const maxNormWPR = 2

// makePlan is the geometry of a step of a model of config c on a GPU with
// sms multiprocessors.
func makePlan(c configShape, sms int) plan {
	return plan{
		inProj:  planMatVec(2*c.di, c.d, sms, maxNormWPR),
		xProj:   planMatVec(c.r+2*c.n, c.di, sms, warpsPerBlock),
		outProj: planMatVec(c.d, c.di, sms, warpsPerBlock),
		lmHead:  planMatVec(c.vocabPadded, c.d, sms, maxNormWPR),
		scan:    scanBlocks(c.di),
	}
}
