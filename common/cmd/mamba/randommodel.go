package main

import (
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"mamba.go/common/checkpoint"
	"mamba.go/common/model"
)

func init() {
	commands["random-model"] = command{
		summary: "write a model of a real model's shape with random weights (for benchmarks): model.bin or an HF folder",
		run:     runRandomModel,
	}
}

func runRandomModel(args []string) error {
	fs := flag.NewFlagSet("random-model", flag.ContinueOnError)
	shapes1 := maps.Clone(model.Shapes)
	maps.Copy(shapes1, model.ShapesFalcon) // Falcon-Mamba has Mamba-1's shape
	names := slices.Sorted(maps.Keys(shapes1))
	names2 := slices.Sorted(maps.Keys(model.Shapes2))
	shape := fs.String("shape", "130m", "model shape: "+strings.Join(names, ", ")+" (Mamba-2: "+strings.Join(names2, ", ")+")")
	arch := fs.Int("arch", 1, "architecture: 1 (Mamba-1 and Falcon-Mamba) or 2 (Mamba-2)")
	seed := fs.Uint64("seed", 1, "random seed (same seed, same weights)")
	format := fs.String("format", "modelbin", "modelbin: mamba.c's model.bin (float32), a file; hf: a checkpoint folder in transformers' layout (config.json, safetensors)")
	dtype := fs.String("dtype", "F32", "with -format hf: the tensors' type, F32 or BF16 (rounded to nearest even; bf16 too)")
	shardBytes := fs.Int64("shard-bytes", defaultShardBytes, "with -format hf: the most tensor data in one safetensors file; more goes into shards with model.safetensors.index.json")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: mamba random-model [-arch 1|2] [-shape 130m] [-seed 1] OUT.bin")
		fmt.Fprintln(fs.Output(), "       mamba random-model -format hf [-dtype F32|BF16] [-shape falcon-mamba-7b] [-seed 1] OUTDIR")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return fmt.Errorf("want one output path")
	}
	shapes := shapes1
	switch *arch {
	case 1:
	case 2:
		shapes, names = model.Shapes2, names2
	default:
		return fmt.Errorf("-arch %d: want 1 (Mamba-1 and Falcon-Mamba) or 2 (Mamba-2)", *arch)
	}
	c, ok := shapes[*shape]
	if !ok {
		return fmt.Errorf("unknown shape %q for -arch %d (have %s)", *shape, *arch, strings.Join(names, ", "))
	}
	dt := checkpoint.DType(strings.ToUpper(*dtype)) // bf16 as -weights spells it, BF16 as safetensors does
	switch *format {
	case "modelbin":
		if dt != checkpoint.F32 {
			return fmt.Errorf("-dtype %s: a model.bin is float32; -dtype needs -format hf", *dtype)
		}
		return writeRandomModelBin(fs.Arg(0), c, *seed)
	case "hf":
		return writeRandomCheckpoint(fs.Arg(0), c, *seed, dt, *shardBytes)
	}
	return fmt.Errorf("-format %q: want modelbin or hf", *format)
}

// writeRandomModelBin writes the model.bin of model.WriteRandomModelBin(path,
// c, seed), byte for byte, with a bar on a terminal and a "wrote" line
// (a 7B model takes minutes).
func writeRandomModelBin(path string, c model.Config, seed uint64) error {
	if err := c.Validate(); err != nil {
		return err
	}
	total := model.ModelBinHeaderSize + 4*c.NumParams()
	return writeReporting(path, total, func(out io.Writer) error {
		if err := model.WriteModelBinHeader(out, c); err != nil {
			return err
		}
		buf := make([]float32, 1<<16)
		return model.RandomTensors(c, seed, func(_ string, _, n int, gen func(i int) float32) error {
			for i := 0; i < n; { // n values from gen, a chunk at a time
				chunk := buf[:min(n-i, len(buf))]
				for j := range chunk {
					chunk[j] = gen(i + j)
				}
				if err := model.WriteFloat32s(out, chunk); err != nil {
					return err
				}
				i += len(chunk)
			}
			return nil
		})
	})
}
