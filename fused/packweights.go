package fused

import (
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"mamba.go/common/model"
)

// Packing a model's float32 products (packed.go) when New sets it up.

// packPieceBytes: a matrix is read in pieces of about this many bytes;
// where it lies in a file's mapping, each piece is dropped from the
// process once read, so that the process never holds a whole matrix
// twice (its peak RSS stays about the size of the file).
const packPieceBytes = 2 << 20

// packInMemoryMax: products not in a file's mapping are packed only while
// they come to less than this, where holding them twice costs little (the
// test models).
const packInMemoryMax = 32 << 20

// packedWeights returns a copy hw of w whose tensors lie in one block of
// memory of their own, in 2 MB pages unless smallPages, and its products
// ms: every float32 in_proj, out_proj, embedding and head that packs
// (whole groups of 8 a row, few escapes) packed into the block, the other
// products and the vectors copied into it as they are. Also the bytes
// packed, the block, and its mapping, to unmap once the weights are unused
// (nil: nothing to unmap), and whether the block is advised for 2 MB
// pages. hw's packed tensors stay where they were, unread
// (fused reads ms). Weights kept as bfloat16, and float32 weights whose
// products outside a file's mapping come to packInMemoryMax, come back as
// they are.
func packedWeights(w *model.Weights, smallPages bool) (hw *model.Weights, ms matrices, packedBytes int, block, mapping []byte, huge bool) {
	if w.BF16 {
		return w, matricesOf(w), 0, nil, nil, false
	}
	hw = w.ShallowCopy() // w's closer stays w's: the copy closes nothing
	ms = matricesOf(hw)
	c := w.Config
	type product struct {
		to   []*matrix // the matrices that are these weights (a tied head is the embedding)
		cols int
		top  [16]byte
		at   int // its offset in the block
	}
	var products []product
	add := func(cols int, to ...*matrix) {
		if to[0].len() > 0 {
			products = append(products, product{to: to, cols: cols})
		}
	}
	if unsafe.SliceData(w.LMHead) == unsafe.SliceData(w.Embedding) { // a tied head
		add(c.DModel, &ms.embedding, &ms.lmHead)
	} else {
		add(c.DModel, &ms.embedding)
		add(c.DModel, &ms.lmHead)
	}
	// x_proj and dt_proj stay float32: 4% of a step's bytes, read from
	// cache (the barrier before each warms it), where unpacking costs more
	// time than the bytes it saves (docs/fused.md).
	for l := range ms.layers {
		lm := &ms.layers[l]
		add(c.DModel, &lm.inProj)
		add(c.DInner, &lm.outProj)
	}
	// Weights in the process's own memory (a checkpoint converted to
	// float32 at load) could not give their memory back once packed: when
	// such products come to packInMemoryMax, none is packed.
	inMemory := 0
	for _, p := range products {
		if src := p.to[0].f32; !w.FileMapped(float32Bytes(src)) {
			inMemory += 4 * len(src)
		}
	}
	if inMemory >= packInMemoryMax {
		return w, matricesOf(w), 0, nil, nil, false
	}
	// First pass: each product's table, and which pack.
	size := 0
	place := func(n int) int { // n bytes at a cache line of the block
		at := size
		size += (n + 63) &^ 63
		return at
	}
	escapes := make([]int, len(products))
	inParallel(len(products), func(i int) {
		p := &products[i]
		var count [256]int
		eachPiece(w, p.to[0].f32, p.cols, func(_ int, piece []float32) { countTopBytes(&count, piece) })
		p.top, escapes[i] = packedTable(&count)
	})
	kept := products[:0]
	packedAt := map[*float32]bool{}
	for i, p := range products {
		src := p.to[0].f32
		if !packs(len(src), p.cols, escapes[i]) {
			continue
		}
		p.at = place(len(src)/packedGroup*packedGroupBytes + packedSlack)
		kept = append(kept, p)
		packedAt[unsafe.SliceData(src)] = true
	}
	if len(kept) == 0 {
		return w, matricesOf(w), 0, nil, nil, false
	}
	// The other tensors, copied as they are (the tied head once).
	type copied struct {
		t  tensorBytes
		at int
	}
	var copies []copied
	copiedAt := map[unsafe.Pointer]int{}
	for _, t := range weightTensors(hw) {
		if t.size == 0 || packedAt[(*float32)(t.ptr)] {
			continue
		}
		at, seen := copiedAt[t.ptr]
		if !seen {
			at = place(int(t.size))
			copiedAt[t.ptr] = at
		}
		copies = append(copies, copied{t, at})
	}
	// Second pass: pack and copy.
	mem, mapping, huge := newArena(size, !smallPages)
	pms := make([]*packedMatrix, len(kept))
	inParallel(len(kept), func(i int) {
		p := kept[i]
		pm := &packedMatrix{top: p.top, cols: p.cols}
		rb := packedRowBytes(p.cols)
		eachPiece(w, p.to[0].f32, p.cols, func(row0 int, piece []float32) {
			pm.pack(mem[p.at+row0*rb:], piece, row0)
		})
		pms[i] = pm
	})
	for i, p := range kept {
		n := len(p.to[0].f32) / packedGroup * packedGroupBytes
		pm := pms[i]
		for _, to := range p.to {
			*to = matrix{packed: packedRows{groups: mem[p.at : p.at+n : p.at+n+packedSlack], m: pm}}
		}
		packedBytes += n
	}
	for _, cp := range copies {
		b := unsafe.Slice((*byte)(cp.t.ptr), cp.t.size)
		copy(mem[cp.at:], b)
		if w.FileMapped(b) {
			dropPages(b)
		}
		cp.t.point(unsafe.Pointer(&mem[cp.at]))
	}
	// The products that did not pack (x_proj, dt_proj, any other) as
	// float32 from the block, where hw's tensors now point.
	floats := matricesOf(hw)
	keep := func(m *matrix, f matrix) {
		if m.packed.m == nil {
			*m = f
		}
	}
	keep(&ms.embedding, floats.embedding)
	keep(&ms.lmHead, floats.lmHead)
	for l := range ms.layers {
		lm, fl := &ms.layers[l], floats.layers[l]
		keep(&lm.inProj, fl.inProj)
		keep(&lm.xProj, fl.xProj)
		keep(&lm.dtProj, fl.dtProj)
		keep(&lm.outProj, fl.outProj)
	}
	return hw, ms, packedBytes, mem, mapping, huge
}

// inParallel calls f(i) for every i < n, on GOMAXPROCS goroutines that
// each take the next i: the products, largest first, are packed side by
// side at start-up.
func inParallel(n int, f func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(n, runtime.GOMAXPROCS(0)) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				f(i)
			}
		})
	}
	wg.Wait()
}

// eachPiece calls fn on src, [rows][cols], in pieces of whole rows of
// about packPieceBytes, each with its first row. Where src lies in a file's
// mapping of w, each piece is faulted in with one call before and dropped
// from the process after.
func eachPiece(w *model.Weights, src []float32, cols int, fn func(row0 int, piece []float32)) {
	if len(src) == 0 {
		return
	}
	mapped := w.FileMapped(float32Bytes(src))
	rows := max(1, packPieceBytes/(4*cols))
	for r := 0; r*cols < len(src); r += rows {
		piece := src[r*cols : min((r+rows)*cols, len(src))]
		b := float32Bytes(piece)
		if mapped {
			populate(b)
		}
		fn(r, piece)
		if mapped {
			dropPages(b)
		}
	}
}

// float32Bytes views float32 values as their bytes.
func float32Bytes(v []float32) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 4*len(v))
}
