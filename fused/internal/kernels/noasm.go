//go:build !amd64 || purego

package fused

// asmKernels: none in this build; the generic Go kernels run.
func asmKernels() []kernelSet { return nil }
