//go:build unix

package model

import "unsafe"

// FileMapped: b lies wholly in the mapping.
func (m *mapping) FileMapped(b []byte) bool {
	if len(b) == 0 || len(m.data) == 0 {
		return false
	}
	lo, p := uintptr(unsafe.Pointer(&m.data[0])), uintptr(unsafe.Pointer(&b[0]))
	return p >= lo && p+uintptr(len(b)) <= lo+uintptr(len(m.data))
}
