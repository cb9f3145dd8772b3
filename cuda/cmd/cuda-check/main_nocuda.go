//go:build !cuda

// Command cuda-check is the GPU machine's toolbox for cuda/gpu-check.sh.
// This is the build without the cuda tag, which only says how to build the
// real one.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "cuda-check: built without the cuda tag, so without the GPU code: build it with `make cuda`")
	os.Exit(1)
}
