package model

import (
	"syscall"
	"unsafe"
)

// dropFilePages drops the pages wholly inside b, which must lie in a
// read-only file mapping, from the process (MADV_DONTNEED): they are read
// back from the file if touched again. Errors only leave them resident.
func dropFilePages(b []byte) {
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
