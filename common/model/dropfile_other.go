//go:build !linux

package model

// dropFilePages: elsewhere than Linux the pages stay; the kernel reclaims
// clean file pages under memory pressure all the same.
func dropFilePages(b []byte) {}
