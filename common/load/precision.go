package load

import (
	"fmt"
	"os"

	"mamba.go/common/checkpoint"
	"mamba.go/common/memory"
	"mamba.go/common/model"
)

// Precision says how the weights of the products, the embedding and the
// head are kept in memory (model.Weights.BF16); the vectors stay float32.
type Precision int

const (
	// Float32: every implementation runs such weights.
	Float32 Precision = iota
	// BF16: half the memory and half the bytes per token; only fused runs
	// them. A bfloat16 checkpoint's tensors stay views of its files;
	// float32 or float16 ones are narrowed (model.BF16FromFloat32).
	BF16
	// Auto: BF16 when the checkpoint's tensors are bfloat16 and the model
	// as float32 would not fit in the memory available; else Float32.
	Auto
)

// ParsePrecision reads the -weights flag's values: f32, bf16 or auto.
func ParsePrecision(s string) (Precision, error) {
	switch s {
	case "f32":
		return Float32, nil
	case "bf16":
		return BF16, nil
	case "auto":
		return Auto, nil
	}
	return 0, fmt.Errorf("-weights %q: want f32, bf16 or auto", s)
}

// availableMemory is memory.AvailableMemory; tests replace it.
var availableMemory = memory.AvailableMemory

// OpenAs is Open with the weights kept as p says. note says, when it is
// not empty, what Auto chose and why (for the user: one line). Weights
// that would take more memory of their own than is available (float32
// converted from F16 or BF16, or bfloat16 narrowed from float32) are
// refused before they are made, naming the model and the sizes.
func OpenAs(path string, p Precision) (w *model.Weights, note string, err error) {
	resolved, err := Resolve(path)
	if err != nil {
		return nil, "", err
	}
	avail, known := availableMemory()
	fits := func(need int64) bool { return !known || memory.RoomFor(need, avail) }
	gb := func(n int64) float64 { return float64(n) / 1e9 }
	if st, err := os.Stat(resolved); err != nil || !st.IsDir() {
		if w, err = model.LoadModelBin(resolved); err != nil {
			return nil, "", err
		}
		if p == BF16 { // a model.bin is float32: Auto keeps it so
			if need := w.NarrowBytes(); !fits(need) {
				w.Close()
				return nil, "", fmt.Errorf("model %s: narrowed to bfloat16 its weights need %.1f GB of memory, and %.1f GB are available: run them as float32 from the file (-weights f32)", path, gb(need), gb(avail))
			}
			w.NarrowToBF16()
		}
		return w, "", nil
	}
	ck, err := checkpoint.Open(resolved)
	if err != nil {
		return nil, "", err
	}
	ck.BF16 = p == BF16
	if p == Auto && ck.ProductsBF16() {
		if need := ck.Float32Copies(); !fits(need) {
			ck.BF16 = true
			note = fmt.Sprintf("weights kept as bfloat16, as the checkpoint stores them: as float32 they would take %.1f GB, and %.1f GB are available", gb(need), gb(avail))
		}
	}
	// Float32 weights converted from F16 or BF16, or bfloat16 ones
	// narrowed from F32 or F16, take memory of their own: refuse at once
	// what would fail, after minutes, for want of it.
	if need := ck.Float32Copies(); !ck.BF16 && !fits(need) {
		ck.Close()
		return nil, "", fmt.Errorf("model %s: as float32 its weights need %.1f GB of memory, and %.1f GB are available: keep them as bfloat16 (mamba-fused -weights bf16)", path, gb(need), gb(avail))
	}
	if need := ck.BF16Copies(); ck.BF16 && !fits(need) {
		ck.Close()
		hint := ""
		if fits(ck.Float32Copies()) {
			hint = ": run them as float32 from the files (-weights f32)"
		}
		return nil, "", fmt.Errorf("model %s: narrowed to bfloat16 its weights need %.1f GB of memory, and %.1f GB are available%s", path, gb(need), gb(avail), hint)
	}
	if w, err = ck.Weights(); err != nil {
		ck.Close()
		return nil, "", err
	}
	w.SetCloser(ck)
	return w, note, nil
}
