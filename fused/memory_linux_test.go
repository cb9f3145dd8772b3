//go:build linux

package fused

// twoMBPages: the copy into 2 MB pages is tried here (transparent huge
// pages not off).
func twoMBPages() bool { return thpEnabled() }
