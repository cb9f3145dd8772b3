package fused

import (
	"cmp"
	"slices"
	"unsafe"

	"mamba.go/common/memory"
	"mamba.go/common/model"
	"mamba.go/fused/internal/kernels"
)

// Weights in 2 MB pages. Streaming 500 MB through 4 KB pages costs a TLB
// miss every 4 KB and keeps the page walker busy beside the prefetchers;
// with 2 MB pages a phase streams its block with one miss per 2 MB
// (docs/fused.md, "Weights in 2 MB pages"). The page cache of a file holds it
// in 4 KB pages unless it was first read into a mapping advised
// MADV_HUGEPAGE, which a program cannot count on (any earlier reader
// decides), so the weights are copied into anonymous memory advised
// MADV_HUGEPAGE (memory.NewArena), which the kernel backs with 2 MB pages
// whenever transparent huge pages are not off. Where the OS has no such
// pages (memory.THPOn is false: not Linux, or turned off) the weights
// stay where they are.

// hugePagesMin: smaller weights stay where they are (the test models).
const hugePagesMin = memory.HugePagesMin

// hugePageWeights returns a copy of w in memory advised MADV_HUGEPAGE and
// that memory (to unmap when the copy is no longer used), or w itself and
// nil when there is no point or no way: weights under hugePagesMin,
// tensors not laid out in about one block (as in model.bin, a checkpoint's
// file or its shards, or NarrowToBF16's block), transparent huge pages
// off, or the mapping refused. Where the tensors lie in a file's mapping,
// each piece is dropped from the process once copied (MADV_DONTNEED; the
// page cache keeps it), so the process never holds both copies: its peak
// RSS stays the size of the weights.
func hugePageWeights(w *model.Weights) (*model.Weights, memory.Arena) {
	hw, arena, _ := hugePagesCopy(w, nil)
	return hw, arena
}

// hugePagesCopy is hugePageWeights, which also leaves the weights where
// they are when the copy would not fit in the memory available (roomFor;
// skipped says so), and tells prog of the bytes copied.
func hugePagesCopy(w *model.Weights, prog func(done, total int64)) (hw *model.Weights, arena memory.Arena, skipped string) {
	tensors := weightTensors(w)
	lo, hi, total := uintptr(^uintptr(0)), uintptr(0), uintptr(0)
	var loPtr unsafe.Pointer // the first tensor's first byte
	seen := map[uintptr]bool{}
	for _, t := range tensors {
		if t.Size == 0 {
			continue
		}
		p := uintptr(t.Ptr)
		if p < lo {
			loPtr = t.Ptr
		}
		lo, hi = min(lo, p), max(hi, p+t.Size)
		if !seen[p] { // the tied head is the embedding
			seen[p] = true
			total += t.Size
		}
	}
	span := hi - lo
	if total < hugePagesMin || span > total+total/64 || !memory.THPOn() {
		return w, nil, ""
	}
	off := lo % 64 // keep each tensor's place within its cache line
	if ok, why := roomFor("copying into 2 MB pages", int64(span+off+memory.HugePage)); !ok {
		return w, nil, why
	}
	// The copy starts off bytes after a 2 MB boundary of the arena.
	mem, mapping, advised := memory.NewArena(int(span+off), true)
	if !advised {
		mapping.Close()
		return w, nil, ""
	}
	dst := mem[off : off+span]
	// The bytes to copy: the tensors, merged where they touch. Tensors
	// from several files (a sharded checkpoint) lie in separate mappings,
	// with unmapped gaps between them that must not be read.
	runs := byteRuns(tensors, lo)
	var copied int64
	for k := range runs {
		runs[k].mapped = w.FileMapped(unsafe.Slice((*byte)(unsafe.Add(loPtr, runs[k].a)), runs[k].b-runs[k].a))
		copied += int64(runs[k].b - runs[k].a)
	}
	pr := newProgress(prog, copied)
	for i := uintptr(0); i < span; i += memory.HugePage {
		j := min(i+memory.HugePage, span)
		// Faulting the pages in with one call per 2 MB, not one fault per
		// 4 KB page, makes the copy several times faster; populating
		// piece by piece, as the file's pieces are dropped, keeps the
		// process's resident size near the file's.
		memory.PopulateWrite(mem[i : off+j])
		for _, r := range runs {
			a, b := max(r.a, i), min(r.b, j)
			if a >= b {
				continue
			}
			src := unsafe.Slice((*byte)(unsafe.Add(loPtr, a)), b-a)
			if r.mapped {
				memory.PopulateRead(src)
			}
			copy(dst[a:b], src)
			if r.mapped { // drop the copied pages of the file from the process
				memory.DropFilePages(src)
			}
			pr.add(int64(b - a))
		}
	}
	pr.finish()
	hw = w.ShallowCopy() // w's closer stays w's: the copy closes nothing
	for _, t := range weightTensors(hw) {
		if t.Size > 0 {
			t.Point(unsafe.Pointer(&dst[uintptr(t.Ptr)-lo]))
		}
	}
	return hw, mapping, ""
}

// byteRun is bytes [a, b) after lo that hold tensors, and whether they lie
// in a file's mapping, whose pages can be dropped once copied (not so for
// tensors made in memory: dropping those pages would lose them).
type byteRun struct {
	a, b   uintptr
	mapped bool
}

// byteRuns merges the tensors' bytes into runs, in address order.
func byteRuns(tensors []kernels.Tensor, lo uintptr) []byteRun {
	ts := slices.Clone(tensors)
	slices.SortFunc(ts, func(x, y kernels.Tensor) int { return cmp.Compare(uintptr(x.Ptr), uintptr(y.Ptr)) })
	var runs []byteRun
	for _, t := range ts {
		a, b := uintptr(t.Ptr)-lo, uintptr(t.Ptr)-lo+t.Size
		if n := len(runs); n > 0 && a <= runs[n-1].b {
			runs[n-1].b = max(runs[n-1].b, b)
			continue
		}
		runs = append(runs, byteRun{a: a, b: b})
	}
	return runs
}
