//go:build unix

package model

import "unsafe"

// FileMapped reports whether b lies in the read-only memory map of the
// weights' file (LoadModelBin), whose pages the kernel can drop from the
// process and read back from the file at any time. fused uses it to copy
// such weights into 2 MB pages without holding both copies. Weights made
// in memory (NarrowToBF16's block, converted tensors) are not: dropping
// their pages would lose them.
func (w *Weights) FileMapped(b []byte) bool {
	m, ok := w.closer.(*mapping)
	if !ok || len(b) == 0 || len(m.data) == 0 {
		return false
	}
	lo, p := uintptr(unsafe.Pointer(&m.data[0])), uintptr(unsafe.Pointer(&b[0]))
	return p >= lo && p+uintptr(len(b)) <= lo+uintptr(len(m.data))
}
