package model

import (
	"io"
	"syscall"
	"unsafe"
)

// DropFilePages drops the pages wholly inside b, which must lie in a
// read-only file mapping, from the process (MADV_DONTNEED): they are read
// back from the file if touched again. Errors only leave them resident.
func DropFilePages(b []byte) {
	page := uintptr(syscall.Getpagesize())
	if len(b) == 0 {
		return
	}
	lo := uintptr(unsafe.Pointer(&b[0]))
	a, e := (lo+page-1)&^(page-1), (lo+uintptr(len(b)))&^(page-1)
	if e > a {
		syscall.Madvise(unsafe.Slice((*byte)(unsafe.Pointer(&b[a-lo])), e-a), syscall.MADV_DONTNEED)
	}
}

// hugeBlock returns n zeroed uint16 in anonymous memory advised
// MADV_HUGEPAGE, which the kernel backs with 2 MB pages where transparent
// huge pages are not off, and what unmaps it; nil if the mapping fails.
// fused streams bfloat16 weights from it as it streams float32 ones from
// its own 2 MB-page copy (fused/hugepages_linux.go).
func hugeBlock(n int) ([]uint16, io.Closer) {
	const huge = 2 << 20
	size := (2*n + huge - 1) &^ (huge - 1)
	b, err := syscall.Mmap(-1, 0, size+huge, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		return nil, nil
	}
	start := (huge - uintptr(unsafe.Pointer(&b[0]))%huge) % huge // on a 2 MB boundary
	syscall.Madvise(b[start:start+uintptr(size)], madvHugePage)  // an error only costs the 2 MB pages
	return unsafe.Slice((*uint16)(unsafe.Pointer(&b[start])), n), anonMapping(b)
}

// madvHugePage is MADV_HUGEPAGE.
const madvHugePage = 14

// anonMapping unmaps anonymous memory on Close.
type anonMapping []byte

func (m anonMapping) Close() error { return syscall.Munmap(m) }
