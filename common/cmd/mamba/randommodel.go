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
	shape := fs.String("shape", "130m", "model shape: "+strings.Join(names, ", "))
	seed := fs.Uint64("seed", 1, "random seed (same seed, same file)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: mamba random-model [-shape 130m] [-seed 1] OUT.bin")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return fmt.Errorf("want one output path")
	}
	c, ok := model.Shapes[*shape]
	if !ok {
		return fmt.Errorf("unknown shape %q (have %s)", *shape, strings.Join(names, ", "))
	}
	return model.WriteRandomModelBin(fs.Arg(0), c, *seed)
}
