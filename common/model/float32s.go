package model

import (
	"encoding/binary"
	"math"
	"unsafe"
)

// hostLittleEndian is true on every machine Go commonly runs on; the
// zero-copy view of a file's float32s depends on it.
var hostLittleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// BytesAsFloat32 views little-endian float32 bytes as []float32 without a
// copy when the host is little-endian and the bytes are 4-byte aligned
// (mapped files are page-aligned and tensors start at multiples of 4), and
// decodes a copy otherwise. Trailing bytes that do not make a float are ignored.
func BytesAsFloat32(b []byte) []float32 {
	n := len(b) / 4
	if n == 0 {
		return nil
	}
	if hostLittleEndian && uintptr(unsafe.Pointer(&b[0]))%4 == 0 {
		return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), n)
	}
	out := make([]float32, n)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}
