package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"mamba.go/common/atomicfile"
	"mamba.go/common/progress"
)

// stderr is where the commands report (a variable for tests).
var stderr io.Writer = os.Stderr

// newBar is the progress bar of a command, drawn on stderr when it is a
// terminal (a variable, so that a test can draw it on a buffer).
var newBar = func() *progress.Bar { return progress.New(stderr, progress.Bytes) }

var size = progress.Size

// writeReporting writes the total bytes that encode makes to out,
// atomically, with a bar on a terminal, and then says on stderr what it
// wrote and how long it took: "wrote OUT (N MiB) in T s".
func writeReporting(out string, total int64, encode func(w io.Writer) error) error {
	start := time.Now()
	bar := newBar()
	name := filepath.Base(out)
	var written int64
	err := atomicfile.Write(out, func(w io.Writer) error {
		cw := &progress.CountingWriter{W: w, Report: func(n int64) { bar.Update(name, n, total) }}
		err := encode(cw)
		written = cw.N
		return err
	})
	bar.Done()
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "wrote %s (%s) in %.1f s\n", out, size(written), time.Since(start).Seconds())
	return nil
}
