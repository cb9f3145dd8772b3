//go:build !cuda

// Command mamba-cuda generates text with the CUDA implementation. This is
// the build without the cuda tag, which only says how to build the real one.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "mamba-cuda: built without the cuda tag, so without the GPU code: build it with `make cuda`")
	os.Exit(1)
}
