//go:build !linux

package fused

// twoMBPages: the copy into 2 MB pages is Linux's only.
func twoMBPages() bool { return false }
