package model

import (
	"io"
	"os"
	"strings"
	"syscall"
	"unsafe"
)

// DropFilePages drops the pages wholly inside b from the process
// (MADV_DONTNEED): they are read back from the file if touched again.
// Only bytes that lie wholly in one file mapped by MapFile (read-only, so
// nothing is lost) are dropped; anything else, Go memory above all, whose
// dropped pages would come back as zeros, is left alone. Errors only leave
// the pages resident.
func DropFilePages(b []byte) {
	if len(b) == 0 || !inOneMapping(b) {
		return
	}
	page := uintptr(syscall.Getpagesize())
	lo := uintptr(unsafe.Pointer(&b[0]))
	a, e := (lo+page-1)&^(page-1), (lo+uintptr(len(b)))&^(page-1)
	if e > a {
		syscall.Madvise(unsafe.Slice((*byte)(unsafe.Pointer(&b[a-lo])), e-a), syscall.MADV_DONTNEED)
	}
}

// inOneMapping: b lies wholly in one live MapFile mapping.
func inOneMapping(b []byte) bool {
	live.Lock()
	defer live.Unlock()
	for m := range live.maps {
		if m.FileMapped(b) {
			return true
		}
	}
	return false
}

// hugeBlock returns n zeroed uint16 in anonymous memory, what unmaps it,
// and whether it is advised MADV_HUGEPAGE, which the kernel backs with
// 2 MB pages where transparent huge pages are not off; nil if the mapping
// fails. fused streams bfloat16 weights from it as it streams float32
// ones from its own 2 MB-page copy (fused/hugepages_linux.go).
func hugeBlock(n int) ([]uint16, io.Closer, bool) {
	const huge = 2 << 20
	size := (2*n + huge - 1) &^ (huge - 1)
	b, err := syscall.Mmap(-1, 0, size+huge, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		return nil, nil, false
	}
	start := (huge - uintptr(unsafe.Pointer(&b[0]))%huge) % huge // on a 2 MB boundary
	advised := syscall.Madvise(b[start:start+uintptr(size)], madvHugePage) == nil && thpOn()
	return unsafe.Slice((*uint16)(unsafe.Pointer(&b[start])), n), anonMapping(b), advised
}

// thpOn: transparent huge pages are "always" or "madvise", not "never".
func thpOn() bool {
	b, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	return err == nil && !strings.Contains(string(b), "[never]")
}

// madvHugePage is MADV_HUGEPAGE.
const madvHugePage = 14

// anonMapping unmaps anonymous memory on Close.
type anonMapping []byte

func (m anonMapping) Close() error { return syscall.Munmap(m) }
