package load

import (
	"fmt"
	"os"

	"mamba.go/common/checkpoint"
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

// availableMemory is model.AvailableMemory; tests replace it.
var availableMemory = model.AvailableMemory

// OpenAs is Open with the weights kept as p says. note says, when it is
// not empty, what Auto chose and why (for the user: one line).
func OpenAs(path string, p Precision) (w *model.Weights, note string, err error) {
	resolved, err := Resolve(path)
	if err != nil {
		return nil, "", err
	}
	if st, err := os.Stat(resolved); err != nil || !st.IsDir() {
		if w, err = model.LoadModelBin(resolved); err != nil {
			return nil, "", err
		}
		if p == BF16 { // a model.bin is float32: Auto keeps it so
			w.NarrowToBF16()
		}
		return w, "", nil
	}
	ck, err := checkpoint.Open(resolved)
	if err != nil {
		return nil, "", err
	}
	ck.BF16 = p == BF16
	avail, known := availableMemory()
	if p == Auto && ck.ProductsBF16() {
		need := ck.Float32Copies()
		if known && need+need/10 > avail {
			ck.BF16 = true
			note = fmt.Sprintf("weights kept as bfloat16, as the checkpoint stores them: as float32 they would take %.1f GB, and %.1f GB are available", float64(need)/1e9, float64(avail)/1e9)
		}
	}
	// Float32 weights converted from F16 or BF16 take memory of their own:
	// refuse at once what would fail, after minutes, for want of it.
	if need := ck.Float32Copies(); !ck.BF16 && known && need+need/10 > avail {
		ck.Close()
		return nil, "", fmt.Errorf("model %s: as float32 its weights need %.1f GB of memory, and %.1f GB are available: keep them as bfloat16 (mamba-fused -weights bf16)", path, float64(need)/1e9, float64(avail)/1e9)
	}
	if w, err = ck.Weights(); err != nil {
		ck.Close()
		return nil, "", err
	}
	w.SetCloser(ck)
	return w, note, nil
}
