//go:build cuda

// Command cuda-check is the GPU machine's toolbox for cuda/gpu-check.sh:
//
//	cuda-check smoke                          load every kernel's PTX, launch one tiny kernel
//	cuda-check bench-matvec [-shape 2.8b] [-reps 50]   GB/s of matvec_v1 and matvec_v2
//	cuda-check random-model -shape 2.8b OUT   a model of a real shape with random weights
//
// MAMBA_PTX_DIR=DIR loads the kernels from DIR/NAME.ptx instead of the
// embedded PTX (for PTX compiled on the GPU machine: cuda/make-ptx.sh DIR).
// Build it with `make cuda` or `make gpu-bundle`.
package main

import (
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"

	"mamba.go/common/model"
	"mamba.go/cuda"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "smoke":
		err = cuda.Smoke(os.Stdout)
	case "bench-matvec":
		fs := flag.NewFlagSet("bench-matvec", flag.ExitOnError)
		shape := fs.String("shape", "2.8b", "model shape: "+shapes())
		reps := fs.Int("reps", 50, "timed launches per variant and matrix")
		fs.Parse(os.Args[2:])
		c, ok := model.Shapes[*shape]
		if !ok {
			fail(fmt.Errorf("no shape %q: one of %s", *shape, shapes()))
		}
		err = cuda.BenchMatVec(os.Stdout, c, *reps)
	case "random-model":
		fs := flag.NewFlagSet("random-model", flag.ExitOnError)
		shape := fs.String("shape", "130m", "model shape: "+shapes())
		seed := fs.Uint64("seed", 1, "random seed")
		fs.Parse(os.Args[2:])
		c, ok := model.Shapes[*shape]
		if !ok || fs.NArg() != 1 {
			fail(fmt.Errorf("random-model -shape SHAPE OUT: shape one of %s", shapes()))
		}
		err = model.WriteRandomModelBin(fs.Arg(0), c, *seed)
	default:
		usage()
	}
	if err != nil {
		fail(err)
	}
}

func shapes() string {
	var names []string
	for n := range model.Shapes {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: cuda-check smoke | bench-matvec [-shape S] [-reps N] | random-model -shape S OUT")
	os.Exit(2)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "cuda-check:", err)
	os.Exit(1)
}
