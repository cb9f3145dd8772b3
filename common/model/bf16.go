package model

import (
	"encoding/binary"
	"errors"
	"io"
	"math"
	"unsafe"

	"mamba.go/common/memory"
)

// bfloat16 ("brain float"): the upper 16 bits of a float32, the same sign
// and 8-bit exponent with 7 bits of mantissa instead of 23. A bfloat16 is
// widened to float32 exactly by shifting its bits up; a float32 is narrowed
// by rounding its lower 16 bits away. Weights stored as bfloat16 ([]uint16
// here, the bits) take half the memory and half the bandwidth of float32,
// with a relative rounding error of at most 2⁻⁸ per weight (half a unit in the last of 8 significant bits).

// Float32FromBF16 widens a bfloat16 (its bits) to float32, exactly.
func Float32FromBF16(b uint16) float32 { return math.Float32frombits(uint32(b) << 16) }

// BF16FromFloat32 narrows f to the nearest bfloat16, ties to even, as
// PyTorch's tensor.to(torch.bfloat16) does; NaN stays a (quiet) NaN and
// ±Inf stays ±Inf.
func BF16FromFloat32(f float32) uint16 {
	u := math.Float32bits(f)
	if u&0x7fffffff > 0x7f800000 { // NaN: keep the sign, set the quiet bit
		return uint16(u>>16) | 0x0040
	}
	// Add 0x7fff plus the bit that will be the last kept one, so that an
	// exact half rounds to the even neighbour.
	u += 0x7fff + (u>>16)&1
	return uint16(u >> 16)
}

// ToBF16 returns src narrowed to bfloat16, value by value.
func ToBF16(src []float32) []uint16 {
	out := make([]uint16, len(src))
	for i, v := range src {
		out[i] = BF16FromFloat32(v)
	}
	return out
}

// BytesAsBF16 views little-endian bfloat16 bytes as []uint16 without a copy
// when the host is little-endian and the bytes are 2-byte aligned, and
// decodes a copy otherwise (BytesAsFloat32's rule). A trailing odd byte is
// ignored.
func BytesAsBF16(b []byte) []uint16 {
	n := len(b) / 2
	if n == 0 {
		return nil
	}
	if hostLittleEndian && uintptr(unsafe.Pointer(&b[0]))%2 == 0 {
		return unsafe.Slice((*uint16)(unsafe.Pointer(&b[0])), n)
	}
	out := make([]uint16, n)
	for i := range out {
		out[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return out
}

// NarrowToBF16 keeps the products' weights, the embedding and the head of
// w as bfloat16 from now on: each is narrowed (BF16FromFloat32) into one
// new block of memory, in model.bin's order, and its float32 field is
// dropped (a memory-mapped file stays mapped, since the vectors still
// point into it, but the narrowed pages leave the process). A block of
// memory.HugePagesMin or more is an arena advised for 2 MB pages on Linux
// (BF16HugePages says how much), held by w's closer and released by
// w.Close. The vectors (norms,
// conv, A, D, biases) stay float32: they are a few hundredths of the
// bytes. Weights already kept as bfloat16 are left as they are.
func (w *Weights) NarrowToBF16() { w.narrow(true) }

// NarrowedToBF16 is NarrowToBF16 on a copy of w, which is left as it was
// (the vectors are shared; the copy's block is Go memory, and closing the
// copy closes nothing). Weights kept as bfloat16 already are not narrowed
// again: the copy shares their block, valid as long as w is.
func (w *Weights) NarrowedToBF16() *Weights {
	n := w.ShallowCopy()
	n.narrow(false)
	return n
}

// BF16HugePages is the size of NarrowToBF16's block when it is memory
// advised for 2 MB pages, 0 otherwise: the block's arena, held by w's
// closer, says so.
func (w *Weights) BF16HugePages() int64 {
	if h, ok := w.closer.(hugePages); ok {
		return h.HugePages()
	}
	return 0
}

// hugePages is a closer that holds memory in 2 MB pages: HugePages is how
// many bytes.
type hugePages interface{ HugePages() int64 }

// narrowedBlock is NarrowToBF16's block in an arena: Close unmaps it, and
// advised is its bytes when in 2 MB pages, 0 otherwise.
type narrowedBlock struct {
	memory.Arena
	advised int64
}

func (b narrowedBlock) HugePages() int64 { return b.advised }

// NarrowBytes is the memory NarrowToBF16 takes: its block, 2 bytes for
// every value it narrows (0 for weights kept as bfloat16 already). The
// loader asks for it before narrowing.
func (w *Weights) NarrowBytes() int64 { return 2 * int64(w.narrowValues()) }

// narrowValues is the number of values narrow narrows.
func (w *Weights) narrowValues() int {
	if w.BF16 {
		return 0
	}
	total := 0
	for i := range w.Layers {
		for _, t := range w.Layers[i].Tensors(w.Config) {
			if t.BF16 != nil {
				total += len(*t.Data)
			}
		}
	}
	total += len(w.Embedding)
	if !w.tiedHead() {
		total += len(w.LMHead)
	}
	return total
}

// narrow is NarrowToBF16; huge allows the block in 2 MB pages.
func (w *Weights) narrow(huge bool) {
	if w.BF16 {
		return
	}
	c := w.Config
	total := w.narrowValues()
	var block []uint16
	if huge && 2*total >= memory.HugePagesMin {
		if mem, arena, advised := memory.NewArena(2*total, true); arena != nil {
			block = unsafe.Slice((*uint16)(unsafe.Pointer(&mem[0])), total)
			nb := narrowedBlock{Arena: arena}
			if advised {
				nb.advised = int64(2 * total)
			}
			w.closer = closers{w.closer, nb}
		}
	}
	if block == nil {
		block = make([]uint16, total)
	}
	narrow := func(src []float32) []uint16 {
		dst := block[:len(src):len(src)]
		block = block[len(src):]
		for i, v := range src {
			dst[i] = BF16FromFloat32(v)
		}
		// The float32 values are not read again: where they are pages of
		// the model's file, drop them from the process, so that it does
		// not hold both forms.
		if len(src) > 0 {
			if b := unsafe.Slice((*byte)(unsafe.Pointer(&src[0])), 4*len(src)); w.FileMapped(b) {
				memory.DropFilePages(b)
			}
		}
		return dst
	}
	w.EmbeddingBF16 = narrow(w.Embedding)
	for i := range w.Layers {
		for _, t := range w.Layers[i].Tensors(c) {
			if t.BF16 != nil {
				*t.BF16, *t.Data = narrow(*t.Data), nil
			}
		}
	}
	w.LMHeadBF16 = w.EmbeddingBF16
	if !w.tiedHead() {
		w.LMHeadBF16 = narrow(w.LMHead)
	}
	w.Embedding, w.LMHead, w.BF16 = nil, nil, true
}

// ShallowCopy is a copy of w that shares its tensors but not its layer
// table (so that a tensor of the copy can be replaced) and closes nothing.
func (w *Weights) ShallowCopy() *Weights {
	n := *w
	n.closer = nil
	n.Layers = append([]Layer(nil), w.Layers...)
	return &n
}

// closers close several things in turn, and say whether bytes lie in a
// file mapping of any of them (FileMaps) and how much memory in 2 MB pages
// they hold (HugePages).
type closers []io.Closer

func (cs closers) Close() error {
	var errs []error
	for _, c := range cs {
		if c != nil {
			errs = append(errs, c.Close())
		}
	}
	return errors.Join(errs...)
}

// HugePages is the bytes in 2 MB pages that cs hold.
func (cs closers) HugePages() int64 {
	var n int64
	for _, c := range cs {
		if h, ok := c.(hugePages); ok {
			n += h.HugePages()
		}
	}
	return n
}

func (cs closers) FileMapped(b []byte) bool {
	for _, c := range cs {
		if fm, ok := c.(FileMaps); ok && fm.FileMapped(b) {
			return true
		}
	}
	return false
}

// tiedHead: the head is the embedding's slice itself.
func (w *Weights) tiedHead() bool {
	return len(w.LMHead) > 0 && len(w.Embedding) > 0 && &w.LMHead[0] == &w.Embedding[0]
}

// RoundedToBF16 returns a copy of w whose products, embedding and head
// hold their values rounded to bfloat16 but stored as float32 (the
// vectors are shared with w): the float32 twin of w.NarrowToBF16(), which
// any implementation runs. An implementation running w as bfloat16 must
// agree with one running this copy as closely as two float32 ones agree.
func (w *Weights) RoundedToBF16() *Weights {
	round := func(src []float32) []float32 {
		out := make([]float32, len(src))
		for i, v := range src {
			out[i] = Float32FromBF16(BF16FromFloat32(v))
		}
		return out
	}
	r := w.ShallowCopy()
	r.Embedding = round(w.Embedding)
	r.LMHead = r.Embedding
	if !w.tiedHead() {
		r.LMHead = round(w.LMHead)
	}
	for i := range r.Layers {
		for _, t := range r.Layers[i].Tensors(w.Config) {
			if t.BF16 != nil {
				*t.Data = round(*t.Data)
			}
		}
	}
	return r
}
