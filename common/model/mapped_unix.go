//go:build unix

package model

// FileMapped reports whether the weights' slices point into a read-only
// memory map of their file (LoadModelBin), whose pages the kernel can drop
// from the process and read back from the file at any time. fused uses it
// to copy such weights into 2 MB pages without holding both copies.
func (w *Weights) FileMapped() bool {
	_, ok := w.closer.(*mapping)
	return ok
}
