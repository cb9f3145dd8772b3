// Package progress shows that long work is working. On a terminal a Bar
// is one line of stderr redrawn in place, "model.bin  12.3 MiB / 517.0 MiB
// 2%", at most five times a second; off a terminal (a log, a pipe, a test)
// it draws nothing, and the one line the command prints when the work is
// done is all there is.
package progress

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// Unit writes done of total (total < 0: not known) as a Bar shows them.
type Unit func(done, total int64) string

// Bytes shows sizes: "12.3 MiB / 517.0 MiB".
func Bytes(done, total int64) string {
	if total < 0 {
		return Size(done)
	}
	return Size(done) + " / " + Size(total)
}

// Count shows counts of things named word: "12000/200000 tokens".
func Count(word string) Unit {
	return func(done, total int64) string {
		if total < 0 {
			return fmt.Sprintf("%d %s", done, word)
		}
		return fmt.Sprintf("%d/%d %s", done, total, word)
	}
}

// Size is n bytes in B, KiB, MiB or GiB.
func Size(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// Bar is a progress line: Update redraws it, Done ends it (the line
// stays), Clear erases it (for a line that the next output should not
// follow, such as a prompt's before the generated text). A Bar that does
// not draw (off a terminal) ignores every call, as does a nil *Bar.
type Bar struct {
	// Every is the least time between two redraws of the same name.
	Every time.Duration
	// After is how long after the first Update the bar is first drawn, so
	// that work that ends sooner draws nothing.
	After time.Duration

	mu    sync.Mutex
	out   io.Writer // nil: draws nothing
	unit  Unit
	now   func() time.Time
	start time.Time // of the first Update
	last  time.Time // of the last redraw
	name  string
	shown bool // a line is drawn and not yet ended
}

// defaultEvery redraws at most five times a second: often enough to look
// alive, seldom enough to cost nothing.
const defaultEvery = 200 * time.Millisecond

// New is a bar on w showing counts in unit, drawn only when w is a
// terminal.
func New(w io.Writer, unit Unit) *Bar {
	if !IsTerminal(w) {
		return &Bar{unit: unit}
	}
	return Drawn(w, unit)
}

// Drawn is a bar drawn on w whatever w is: for a caller that knows w is a
// terminal, and for tests.
func Drawn(w io.Writer, unit Unit) *Bar {
	return &Bar{Every: defaultEvery, out: w, unit: unit, now: time.Now}
}

// IsTerminal reports whether w is a terminal (a character device).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// Drawing reports whether the bar draws anything.
func (b *Bar) Drawing() bool { return b != nil && b.out != nil }

// Update shows done of total (total < 0: not known) for name. A new name
// ends the line of the previous one and starts its own.
func (b *Bar) Update(name string, done, total int64) {
	if !b.Drawing() {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	if b.start.IsZero() {
		b.start = now
	}
	if now.Sub(b.start) < b.After {
		return
	}
	if name != b.name && b.shown {
		fmt.Fprintln(b.out)
		b.shown = false
	}
	if name == b.name && b.shown && now.Sub(b.last) < b.Every && done != total {
		return
	}
	b.name, b.last, b.shown = name, now, true
	line := name + "  " + b.unit(done, total)
	if total > 0 {
		line += fmt.Sprintf("  %3d%%", done*100/total)
	}
	fmt.Fprint(b.out, "\r"+line+eraseLine)
}

// eraseLine erases from the cursor to the end of the line: the rest of a
// longer line drawn before.
const eraseLine = "\x1b[K"

// Reporter is Update for name alone, for work that reports through a
// func(done, total int64).
func (b *Bar) Reporter(name string) func(done, total int64) {
	return func(done, total int64) { b.Update(name, done, total) }
}

// Done ends the line drawn, which stays on the screen.
func (b *Bar) Done() {
	if !b.Drawing() {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.shown {
		fmt.Fprintln(b.out)
		b.shown = false
	}
}

// Clear erases the line drawn and leaves the cursor at its start.
func (b *Bar) Clear() {
	if !b.Drawing() {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.shown {
		fmt.Fprint(b.out, "\r"+eraseLine)
		b.shown = false
	}
}

// CountingWriter passes writes to W and reports the bytes written so far
// to Report after each.
type CountingWriter struct {
	W      io.Writer
	N      int64
	Report func(n int64)
}

func (c *CountingWriter) Write(p []byte) (int, error) {
	n, err := c.W.Write(p)
	c.N += int64(n)
	if c.Report != nil {
		c.Report(c.N)
	}
	return n, err
}
