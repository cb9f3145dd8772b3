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
// would not fit in the memory available. On a terminal, packing and the
// copy into 2 MB pages draw a bar while they run.
package main

import (
	"flag"
	"fmt"
	"os"
	"unsafe"

	"mamba.go/common/cli"
	"mamba.go/common/model"
	"mamba.go/common/progress"
	"mamba.go/fused"
)

func main() {
	var f flags
	cli.MainOptions("mamba-fused", f.newModel, f.options())
}

// flags are mamba-fused's own flags, beside common/cli's.
type flags struct{ packed, hugePages bool }

// options gives common/cli the flags to parse and list with its own.
func (f *flags) options() cli.Options {
	return cli.Options{BF16Weights: true, Flags: func(fs *flag.FlagSet) {
		fs.BoolVar(&f.packed, "packed", true, "pack the float32 products into 3.5 bytes a weight, without loss, so that each token streams 1/8 fewer bytes; -packed=false keeps them as float32")
		fs.BoolVar(&f.hugePages, "hugepages", true, "put the weights in 2 MB pages where Linux gives them; -hugepages=false: 4 KB pages, and float32 weights that are not packed stay in the file's memory map")
	}}
}

// newModel makes the fused model with f's settings and says on stderr
// which kernels run and where the weights are.
func (f *flags) newModel(w *model.Weights) (model.Mamba, error) {
	bar := progress.New(os.Stderr, progress.Bytes) // drawn on a terminal only
	m, err := fused.NewOptions(w, fused.Options{SmallPages: !f.hugePages, Unpacked: !f.packed,
		Progress: bar.Reporter("mamba-fused: weights")})
	bar.Clear()
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
}

// bf16Bytes views bfloat16 values as their bytes.
func bf16Bytes(v []uint16) []byte {
	if len(v) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), 2*len(v))
}
