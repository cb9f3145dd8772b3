package main

import (
	"flag"
	"fmt"
	"sort"
	"strings"

	"mamba.go/common/model"
)

func init() {
	commands["random-model"] = command{
		summary: "write a model.bin of a real model's shape with random weights (for benchmarks)",
		run:     runRandomModel,
	}
}

func runRandomModel(args []string) error {
	fs := flag.NewFlagSet("random-model", flag.ContinueOnError)
	var names []string
	for n := range model.Shapes {
		names = append(names, n)
	}
	sort.Strings(names)
	shape := fs.String("shape", "130m", "model shape: "+strings.Join(names, ", ")+" (Mamba-2: 130m, 370m, 780m, 1.3b, 2.7b)")
	arch := fs.Int("arch", 1, "architecture: 1 (Mamba-1) or 2 (Mamba-2)")
	seed := fs.Uint64("seed", 1, "random seed (same seed, same file)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: mamba random-model [-arch 1|2] [-shape 130m] [-seed 1] OUT.bin")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return fmt.Errorf("want one output path")
	}
	shapes := model.Shapes
	switch *arch {
	case 1:
	case 2:
		shapes = model.Shapes2
		names = names[:0]
		for n := range shapes {
			names = append(names, n)
		}
		sort.Strings(names)
	default:
		return fmt.Errorf("-arch %d: want 1 (Mamba-1) or 2 (Mamba-2)", *arch)
	}
	c, ok := shapes[*shape]
	if !ok {
		return fmt.Errorf("unknown shape %q (have %s)", *shape, strings.Join(names, ", "))
	}
	return model.WriteRandomModelBin(fs.Arg(0), c, *seed)
}
