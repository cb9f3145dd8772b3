package fused

import (
	"unsafe"

	"mamba.go/common/model"
)

// Packing a model's float32 products (packed.go) when New sets it up.

// packPieceBytes: a matrix is read in pieces of about this many bytes;
// where it lies in a file's mapping, each piece is dropped from the
// process once read, so that the process never holds a whole matrix
// twice (its peak RSS stays about the size of the file).
const packPieceBytes = 2 << 20

// packedWeights returns w's products with every float32 in_proj, out_proj,
// embedding and head that packs (whole groups of 8 a row, few escapes)
// packed into one block of memory
// of its own, in 2 MB pages unless smallPages; the bytes packed; and the
// block's mapping, to unmap once the matrices are unused (nil: nothing to
// unmap). Weights kept as bfloat16 stay as they are.
func packedWeights(w *model.Weights, smallPages bool) (ms matrices, packedBytes int, mapping []byte) {
	ms = matricesOf(w)
	if w.BF16 {
		return ms, 0, nil
	}
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
	// First pass: each product's table, and which pack.
	size := 0
	kept := products[:0]
	for _, p := range products {
		src := p.to[0].f32
		var count [256]int
		eachPiece(w, src, p.cols, func(_ int, piece []float32) { countTopBytes(&count, piece) })
		var escapes int
		p.top, escapes = packedTable(&count)
		if !packs(len(src), p.cols, escapes) {
			continue
		}
		p.at = size
		size += (len(src)/packedGroup*packedGroupBytes + packedSlack + 63) &^ 63
		kept = append(kept, p)
	}
	if size == 0 {
		return ms, 0, nil
	}
	// Second pass: pack them.
	mem, mapping := newArena(size, !smallPages)
	for _, p := range kept {
		src := p.to[0].f32
		n := len(src) / packedGroup * packedGroupBytes
		pm := &packedMatrix{top: p.top, cols: p.cols}
		rb := packedRowBytes(p.cols)
		eachPiece(w, src, p.cols, func(row0 int, piece []float32) {
			pm.pack(mem[p.at+row0*rb:], piece, row0)
		})
		for _, to := range p.to {
			*to = matrix{packed: packedRows{groups: mem[p.at : p.at+n : p.at+n+packedSlack], m: pm}}
		}
		packedBytes += n
	}
	return ms, packedBytes, mapping
}

// eachPiece calls fn on src, [rows][cols], in pieces of whole rows of
// about packPieceBytes, each with its first row. Where src lies in a file's
// mapping of w, each piece is faulted in with one call before and dropped
// from the process after.
func eachPiece(w *model.Weights, src []float32, cols int, fn func(row0 int, piece []float32)) {
	if len(src) == 0 {
		return
	}
	mapped := w.FileMapped(unsafe.Slice((*byte)(unsafe.Pointer(&src[0])), 4*len(src)))
	rows := max(1, packPieceBytes/(4*cols))
	for r := 0; r*cols < len(src); r += rows {
		piece := src[r*cols : min((r+rows)*cols, len(src))]
		b := unsafe.Slice((*byte)(unsafe.Pointer(&piece[0])), 4*len(piece))
		if mapped {
			populate(b)
		}
		fn(r, piece)
		if mapped {
			dropPages(b)
		}
	}
}
