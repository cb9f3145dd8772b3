//go:build !unix

package model

// FileMapped reports whether b lies in a read-only memory map of the
// weights' file: never without unix memory maps.
func (w *Weights) FileMapped(b []byte) bool { return false }
