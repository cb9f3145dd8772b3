//go:build linux

package memory

import (
	"os"
	"strings"
	"syscall"
	"unsafe"
)

// Advice for madvise(2) that package syscall does not name.
const (
	madvHugePage      = 14 // MADV_HUGEPAGE
	madvPopulateRead  = 22 // MADV_POPULATE_READ (Linux 5.14): fault a range in, in one call
	madvPopulateWrite = 23 // MADV_POPULATE_WRITE
)

// THPOn: transparent huge pages are "always" or "madvise", not "never", so
// that memory advised MADV_HUGEPAGE gets 2 MB pages.
func THPOn() bool {
	b, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	return err == nil && !strings.Contains(string(b), "[never]")
}

// NewArena returns n bytes of zeroed anonymous memory that start on a
// 2 MB boundary, advised MADV_HUGEPAGE when huge and THPOn (advised says
// so), and the whole mapping, to Close once unused; or memory from Go and
// a nil Arena when the mapping is refused. The mapping is n + HugePage
// bytes, so that a 2 MB boundary lies in its first 2 MB; the pages beyond
// mem are never touched and take no memory.
func NewArena(n int, huge bool) (mem []byte, arena Arena, advised bool) {
	mapping, err := syscall.Mmap(-1, 0, n+HugePage, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		return make([]byte, n), nil, false
	}
	start := (HugePage - uintptr(unsafe.Pointer(&mapping[0]))%HugePage) % HugePage
	if huge && THPOn() {
		advised = syscall.Madvise(mapping[start:], madvHugePage) == nil
	}
	return mapping[start : start+uintptr(n)], mapping, advised
}

// Arena is the anonymous mapping behind NewArena's memory.
type Arena []byte

// Close unmaps the arena; its memory must not be used after. A nil Arena
// (memory from Go) closes nothing.
func (a Arena) Close() error {
	if a == nil {
		return nil
	}
	return syscall.Munmap(a)
}

// DropFilePages drops the pages wholly inside b from the process
// (MADV_DONTNEED): they are read back from the file if touched again.
// Only bytes that lie wholly in one file mapped by MapFile (read-only, so
// nothing is lost) are dropped; anything else, Go memory above all, whose
// dropped pages would come back as zeros, is left alone. Errors only leave
// the pages resident.
func DropFilePages(b []byte) {
	if p := pagesOf(b, true); p != nil && inOneMapping(b) {
		syscall.Madvise(p, syscall.MADV_DONTNEED)
	}
}

// PopulateRead faults in the pages b touches with one call
// (MADV_POPULATE_READ): reading a file's mapping so is several times
// faster than a fault every 4 KB. Errors (kernels before 5.14) only cost
// that time.
func PopulateRead(b []byte) {
	if p := pagesOf(b, false); p != nil {
		syscall.Madvise(p, madvPopulateRead)
	}
}

// PopulateWrite is PopulateRead for memory about to be written
// (MADV_POPULATE_WRITE): an arena's pages, faulted in one call per 2 MB
// instead of one fault per 4 KB page.
func PopulateWrite(b []byte) {
	if p := pagesOf(b, false); p != nil {
		syscall.Madvise(p, madvPopulateWrite)
	}
}

// pagesOf is the pages wholly inside b (inner), or those b touches; nil if
// none. madvise takes page-aligned addresses.
func pagesOf(b []byte, inner bool) []byte {
	if len(b) == 0 {
		return nil
	}
	page := uintptr(os.Getpagesize())
	a := uintptr(unsafe.Pointer(&b[0]))
	c := a + uintptr(len(b))
	lo, hi := a&^(page-1), (c+page-1)&^(page-1)
	if inner {
		lo, hi = (a+page-1)&^(page-1), c&^(page-1)
	}
	if hi <= lo {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(&b[0]), int(lo)-int(a))), hi-lo)
}
