//go:build !unix

package model

// FileMapped reports whether the weights' slices point into a read-only
// memory map of their file: never without unix memory maps.
func (w *Weights) FileMapped() bool { return false }
