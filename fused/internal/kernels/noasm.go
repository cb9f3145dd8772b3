//go:build !amd64 || purego

package kernels

// asmKernels: none in this build; the generic Go kernels run.
func asmKernels() []kernelSet { return nil }
