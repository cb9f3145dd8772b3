package kernels

import (
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"mamba.go/common/memory"
	"mamba.go/common/model"
)

// Packing a model's float32 products (packed.go) when fused's New sets it
// up, into one block of memory from common/memory.

// Memory is what packing asks of fused: whether the block fits in the
// memory available, the weights' tensors as bytes, and where to report
// progress (fused's memory.go and tensors.go).
type Memory struct {
	// RoomFor says whether a copy of need bytes fits in the memory
	// available, and if not why, in words naming what.
	RoomFor func(what string, need int64) (ok bool, why string)
	// Tensors lists the tensors of w to copy, as bytes.
	Tensors func(w *model.Weights) []Tensor
	// Progress starts a piece of work of total bytes: add counts bytes
	// done, finish reports it done.
	Progress func(total int64) (add func(n int64), finish func())
}

// Tensor is one tensor of the weights as bytes: where they are, how many,
// and how to point the tensor's slice at a copy of them.
type Tensor struct {
	Ptr   unsafe.Pointer
	Size  uintptr
	Point func(to unsafe.Pointer)
}

// packPieceBytes: a matrix is read in pieces of about this many bytes;
// where it lies in a file's mapping, each piece is dropped from the
// process once read, so that the process never holds a whole matrix
// twice (its peak RSS stays about the size of the file).
const packPieceBytes = 2 << 20

// packInMemoryMax: products not in a file's mapping are packed only while
// they come to less than this, where holding them twice costs little (the
// test models).
const packInMemoryMax = 32 << 20

// Packing is what PackWeights made: a copy Weights of the weights whose
// tensors lie in one block of memory of their own, in 2 MB pages unless
// smallPages, and its products Matrices: every float32 in_proj, out_proj,
// embedding and head that packs (whole groups of 8 a row, few escapes)
// packed into the block, the other products and the vectors copied into
// it as they are. Weights' packed tensors stay where they were, unread
// (fused reads Matrices).
type Packing struct {
	Weights     *model.Weights
	Matrices    Matrices
	PackedBytes int          // the bytes packed; 0: nothing packed, Weights is w
	Block       []byte       // the block
	Mapping     memory.Arena // the block's mapping, to unmap once the weights are unused (nil: nothing to unmap)
	Huge        bool         // the block is advised for 2 MB pages
	Skipped     string       // why nothing was packed for want of memory (RoomFor); "" otherwise
}

// PackWeights packs w's products (Packing says into what). Weights kept
// as bfloat16 or in blocks (model.Weights.Quantized), float32 weights whose products outside a file's mapping
// come to packInMemoryMax, and weights whose block would not fit in the
// memory available (mem.RoomFor, asked before reading the weights, with the
// block's size if every product packs, and again with its exact size)
// come back as they are. mem.Progress is told of the two passes over the
// products, counting and packing.
func PackWeights(w *model.Weights, smallPages bool, mem Memory) Packing {
	asTheyAre := func(skipped string) Packing { return Packing{Weights: w, Matrices: Of(w), Skipped: skipped} }
	if w.BF16 || w.Quantized() {
		return asTheyAre("")
	}
	hw := w.ShallowCopy() // w's closer stays w's: the copy closes nothing
	ms := Of(hw)
	c := w.Config
	type product struct {
		to   []*Matrix // the matrices that are these weights (a tied head is the embedding)
		cols int
		top  [16]byte
		at   int // its offset in the block
	}
	var products []product
	add := func(cols int, to ...*Matrix) {
		if to[0].Len() > 0 {
			products = append(products, product{to: to, cols: cols})
		}
	}
	if unsafe.SliceData(w.LMHead) == unsafe.SliceData(w.Embedding) { // a tied head
		add(c.DModel, &ms.Embedding, &ms.LMHead)
	} else {
		add(c.DModel, &ms.Embedding)
		add(c.DModel, &ms.LMHead)
	}
	// x_proj and dt_proj stay float32: 4% of a step's bytes, read from
	// cache (the barrier before each warms it), where unpacking costs more
	// time than the bytes it saves (docs/fused.md).
	for l := range ms.Layers {
		lm := &ms.Layers[l]
		add(c.DModel, &lm.InProj)
		add(c.DInner, &lm.OutProj)
	}
	// Weights in the process's own memory (a checkpoint converted to
	// float32 at load) could not give their memory back once packed: when
	// such products come to packInMemoryMax, none is packed.
	inMemory, productBytes := 0, int64(0)
	for _, p := range products {
		src := p.to[0].f32
		if !w.FileMapped(float32Bytes(src)) {
			inMemory += 4 * len(src)
		}
		productBytes += 4 * int64(len(src))
	}
	if inMemory >= packInMemoryMax {
		return asTheyAre("")
	}
	// The block if every product packs, the tensors copied as they are
	// besides, is what packing takes at least: ask before reading anything.
	tensors := mem.Tensors(hw)
	allPacked := map[*float32]bool{}
	least := 0
	for _, p := range products {
		least += blockBytes(len(p.to[0].f32)/packedGroup*packedGroupBytes + packedSlack)
		allPacked[unsafe.SliceData(p.to[0].f32)] = true
	}
	distinct := int64(0) // the bytes of the tensors, the tied head once
	seenAt := map[unsafe.Pointer]bool{}
	for _, t := range tensors {
		if t.Size == 0 || seenAt[t.Ptr] {
			continue
		}
		seenAt[t.Ptr] = true
		distinct += int64(t.Size)
		if !allPacked[(*float32)(t.Ptr)] {
			least += blockBytes(int(t.Size))
		}
	}
	if ok, why := mem.RoomFor("packing", int64(least)); !ok {
		return asTheyAre(why)
	}
	// Read twice, the products to count and everything to pack or copy.
	progress, finish := mem.Progress(productBytes + distinct)
	defer finish()
	// First pass: each product's table, and which pack.
	size := 0
	place := func(n int) int { // n bytes at a cache line of the block
		at := size
		size += blockBytes(n)
		return at
	}
	escapes := make([]int, len(products))
	inParallel(len(products), func(i int) {
		p := &products[i]
		var count [256]int
		eachPiece(w, mem, p.to[0].f32, p.cols, func(_ int, piece []float32) {
			countTopBytes(&count, piece)
			progress(4 * int64(len(piece)))
		})
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
		return asTheyAre("")
	}
	// The other tensors, copied as they are (the tied head once).
	type copied struct {
		t     Tensor
		at    int
		again bool // the tied head: the embedding's copy
	}
	var copies []copied
	copiedAt := map[unsafe.Pointer]int{}
	for _, t := range tensors {
		if t.Size == 0 || packedAt[(*float32)(t.Ptr)] {
			continue
		}
		at, seen := copiedAt[t.Ptr]
		if !seen {
			at = place(int(t.Size))
			copiedAt[t.Ptr] = at
		}
		copies = append(copies, copied{t, at, seen})
	}
	if ok, why := mem.RoomFor("packing", int64(size)); !ok { // some products did not pack: more to copy
		return asTheyAre(why)
	}
	// Second pass: pack and copy.
	block, mapping, huge := memory.NewArena(size, !smallPages)
	pms := make([]*packedMatrix, len(kept))
	inParallel(len(kept), func(i int) {
		p := kept[i]
		pm := &packedMatrix{top: p.top, cols: p.cols}
		rb := packedRowBytes(p.cols)
		eachPiece(w, mem, p.to[0].f32, p.cols, func(row0 int, piece []float32) {
			pm.pack(block[p.at+row0*rb:], piece, row0)
			progress(4 * int64(len(piece)))
		})
		pms[i] = pm
	})
	packedBytes := 0
	for i, p := range kept {
		n := len(p.to[0].f32) / packedGroup * packedGroupBytes
		pm := pms[i]
		for _, to := range p.to {
			*to = Matrix{packed: packedRows{groups: block[p.at : p.at+n : p.at+n+packedSlack], m: pm}}
		}
		packedBytes += n
	}
	for _, cp := range copies {
		b := unsafe.Slice((*byte)(cp.t.Ptr), cp.t.Size)
		copy(block[cp.at:], b)
		if w.FileMapped(b) {
			memory.DropFilePages(b)
		}
		cp.t.Point(unsafe.Pointer(&block[cp.at]))
		if !cp.again {
			progress(int64(cp.t.Size))
		}
	}
	// The products that did not pack (x_proj, dt_proj, any other) as
	// float32 from the block, where hw's tensors now point.
	floats := Of(hw)
	keep := func(m *Matrix, f Matrix) {
		if m.packed.m == nil {
			*m = f
		}
	}
	keep(&ms.Embedding, floats.Embedding)
	keep(&ms.LMHead, floats.LMHead)
	for l := range ms.Layers {
		lm, fl := &ms.Layers[l], floats.Layers[l]
		keep(&lm.InProj, fl.InProj)
		keep(&lm.XProj, fl.XProj)
		keep(&lm.DtProj, fl.DtProj)
		keep(&lm.OutProj, fl.OutProj)
	}
	return Packing{Weights: hw, Matrices: ms, PackedBytes: packedBytes, Block: block, Mapping: mapping, Huge: huge}
}

// blockBytes is what n bytes take in the block: they start at a cache line.
func blockBytes(n int) int { return (n + 63) &^ 63 }

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
func eachPiece(w *model.Weights, mem Memory, src []float32, cols int, fn func(row0 int, piece []float32)) {
	if len(src) == 0 {
		return
	}
	mapped := w.FileMapped(float32Bytes(src))
	rows := max(1, packPieceBytes/(4*cols))
	for r := 0; r*cols < len(src); r += rows {
		piece := src[r*cols : min((r+rows)*cols, len(src))]
		b := float32Bytes(piece)
		if mapped {
			memory.PopulateRead(b)
		}
		fn(r, piece)
		if mapped {
			memory.DropFilePages(b)
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
