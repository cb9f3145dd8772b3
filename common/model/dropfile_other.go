//go:build !linux

package model

import "io"

// DropFilePages: elsewhere than Linux the pages stay; the kernel reclaims
// clean file pages under memory pressure all the same.
func DropFilePages(b []byte) {}

// hugeBlock: 2 MB pages are asked for on Linux only.
func hugeBlock(n int) ([]uint16, io.Closer, bool) { return nil, nil, false }
