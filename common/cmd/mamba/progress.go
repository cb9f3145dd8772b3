package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// progress draws "name  12.3 MB / 517.0 MB  2%" on one line of stderr,
// redrawn with \r at most a few times a second, and only when stderr is a
// terminal: logs and tests get no bar.
type progress struct {
	mu    sync.Mutex
	out   io.Writer
	last  time.Time
	name  string
	shown bool
}

func newProgress() *progress {
	st, err := os.Stderr.Stat()
	if err != nil || st.Mode()&os.ModeCharDevice == 0 {
		return &progress{}
	}
	return &progress{out: os.Stderr}
}

// update reports done of total bytes (total < 0: unknown).
func (p *progress) update(name string, done, total int64) {
	if p == nil || p.out == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if name != p.name && p.shown {
		fmt.Fprintln(p.out)
	}
	now := time.Now()
	if name == p.name && now.Sub(p.last) < 200*time.Millisecond && done != total {
		return
	}
	p.name, p.last, p.shown = name, now, true
	if total > 0 {
		fmt.Fprintf(p.out, "\r%s  %s / %s  %3d%%", name, size(done), size(total), done*100/total)
	} else {
		fmt.Fprintf(p.out, "\r%s  %s", name, size(done))
	}
}

// done ends the line.
func (p *progress) done() {
	if p == nil || p.out == nil || !p.shown {
		return
	}
	fmt.Fprintln(p.out)
	p.shown = false
}

func size(n int64) string {
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

// countingWriter reports the bytes written through it.
type countingWriter struct {
	w      io.Writer
	n      int64
	report func(n int64)
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	c.report(c.n)
	return n, err
}
