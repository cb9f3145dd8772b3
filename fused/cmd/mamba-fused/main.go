// Command mamba-fused generates text with the fused (fast CPU)
// implementation. Flags: see package mamba.go/common/cli, and
//
//	-packed=false     keep float32 products as float32 instead of packing them
//	                  into 3.5 bytes a weight (the same values, without loss:
//	                  fused/packed.go; each token streams 1/8 fewer bytes)
//	-hugepages=false  leave the weights in the file's memory map (4 KB pages)
//	                  instead of copying them into 2 MB pages (packed weights
//	                  and weights narrowed to bfloat16 at load are in memory of
//	                  their own either way, in 2 MB pages where Linux gives them
//	                  unless -hugepages=false)
//	-weights bf16     keep the products' weights as bfloat16: half the memory
//	                  and half the bytes per token (auto, the default, does so
//	                  when a bfloat16 checkpoint would not fit as float32)
//
// It says on stderr which kernels run (avx512, avx2 or go; the environment
// variable MAMBA_FUSED_KERNELS picks others), with how many workers
// (GOMAXPROCS), and where the weights are: left in the file's memory map,
// with the reason, where packing them or copying them into 2 MB pages
// would not fit in the memory available.
package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"unsafe"

	"mamba.go/common/cli"
	"mamba.go/common/model"
	"mamba.go/fused"
)

func main() {
	var packed bool
	args, hugePages, err := boolFlag(os.Args[1:], "hugepages")
	if err == nil {
		args, packed, err = boolFlag(args, "packed")
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "mamba-fused: %v\n", err)
		os.Exit(1)
	}
	os.Args = append(os.Args[:1], args...)
	cli.MainOptions("mamba-fused", func(w *model.Weights) (model.Mamba, error) {
		m, err := fused.NewOptions(w, fused.Options{SmallPages: !hugePages, Unpacked: !packed})
		if err != nil {
			return nil, err
		}
		pages := "the file's memory map"
		packedBytes, packTime := m.Packed()
		switch n, took := m.HugePages(); {
		case packedBytes > 0 && n > 0:
			pages = fmt.Sprintf("2 MB pages (%.0f MB packed in %.2f s)", float64(packedBytes)/1e6, packTime.Seconds())
		case packedBytes > 0:
			pages = fmt.Sprintf("memory (%.0f MB packed in %.2f s)", float64(packedBytes)/1e6, packTime.Seconds())
		case n > 0 && took > 0:
			pages = fmt.Sprintf("2 MB pages (%.0f MB copied in %.2f s)", float64(n)/1e6, took.Seconds())
		case n > 0:
			pages = fmt.Sprintf("2 MB pages (%.0f MB, narrowed into them at load)", float64(n)/1e6)
		case w.BF16 && !w.FileMapped(bf16Bytes(w.LMHeadBF16)):
			pages = "memory (narrowed at load)"
		}
		if why := m.Fallback(); why != "" { // a copy that would not have fit in memory
			pages += ": " + why
		}
		precision := "float32"
		switch {
		case w.BF16:
			precision = "bfloat16"
		case packedBytes > 0:
			precision = "packed float32 (3.5 bytes a weight)"
		}
		fmt.Fprintf(os.Stderr, "mamba-fused: kernels %s, %d workers, %s weights in %s\n", fused.Kernels(), m.Workers(), precision, pages)
		return m, nil
	}, cli.Options{BF16Weights: true})
}

// valueFlags are the command line's flags that take a value (common/cli):
// the argument after them is not a flag.
var valueFlags = map[string]bool{"n": true, "i": true, "t": true, "p": true, "s": true, "z": true,
	"tokens": true, "save-state": true, "load-state": true, "weights": true}

// boolFlag takes -name[=bool] (true when absent) out of args, leaving
// cli's flags.
func boolFlag(args []string, flagName string) (rest []string, on bool, err error) {
	on = true
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		switch {
		case !strings.HasPrefix(a, "-"):
		case name == flagName:
			if hasValue {
				if on, err = strconv.ParseBool(value); err != nil {
					return nil, false, fmt.Errorf("-%s=%s: want true or false", flagName, value)
				}
			}
			continue
		case valueFlags[name] && !hasValue && i+1 < len(args):
			rest = append(rest, a)
			i++
			a = args[i]
		}
		rest = append(rest, a)
	}
	return rest, on, nil
}

// bf16Bytes views bfloat16 values as their bytes.
func bf16Bytes(v []uint16) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 2*len(v))
}
