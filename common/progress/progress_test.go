package progress

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// clock is a time that the test moves.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }
func drawnAt(c *clock, unit Unit) (*Bar, *bytes.Buffer) {
	var out bytes.Buffer
	b := Drawn(&out, unit)
	b.now = c.now
	return b, &out
}

func TestBarRedrawsAtMostEveryAndEndsItsLine(t *testing.T) {
	c := &clock{t: time.Unix(0, 0)}
	b, out := drawnAt(c, Bytes)
	b.Update("m.bin", 0, 2<<20)
	b.Update("m.bin", 1<<10, 2<<20) // too soon: not drawn
	c.advance(defaultEvery)
	b.Update("m.bin", 1<<20, 2<<20)
	b.Update("m.bin", 2<<20, 2<<20) // the end is always drawn
	b.Done()
	assert.Equal(t, "\rm.bin  0 B / 2.0 MiB    0%\x1b[K"+
		"\rm.bin  1.0 MiB / 2.0 MiB   50%\x1b[K"+
		"\rm.bin  2.0 MiB / 2.0 MiB  100%\x1b[K\n", out.String())
	b.Done()
	assert.True(t, strings.HasSuffix(out.String(), "100%\x1b[K\n"), "a second Done adds nothing")
}

func TestBarStartsANewLineForANewName(t *testing.T) {
	c := &clock{t: time.Unix(0, 0)}
	b, out := drawnAt(c, Bytes)
	b.Update("a", 5, -1)
	b.Update("b", 7, -1)
	b.Done()
	assert.Equal(t, "\ra  5 B\x1b[K\n\rb  7 B\x1b[K\n", out.String())
}

// Work that ends within After draws nothing; Clear erases what was drawn.
func TestBarAfterAndClear(t *testing.T) {
	c := &clock{t: time.Unix(0, 0)}
	b, out := drawnAt(c, Count("tokens"))
	b.After = time.Second
	report := b.Reporter("prompt")
	report(0, 200000)
	c.advance(time.Second - 1)
	report(200000, 200000)
	b.Clear()
	assert.Empty(t, out.String(), "done within a second: nothing drawn")

	b, out = drawnAt(c, Count("tokens"))
	b.After = time.Second
	report = b.Reporter("prompt")
	report(0, 200000)
	c.advance(time.Second)
	report(12000, 200000)
	b.Clear()
	b.Clear()
	assert.Equal(t, "\rprompt  12000/200000 tokens    6%\x1b[K\r\x1b[K", out.String())
}

// Off a terminal a bar draws nothing; nor does a nil bar.
func TestBarOffATerminalDrawsNothing(t *testing.T) {
	var out bytes.Buffer
	b := New(&out, Bytes)
	assert.False(t, b.Drawing())
	b.Update("x", 1, 2)
	b.Done()
	b.Clear()
	assert.Empty(t, out.String())

	f, err := os.CreateTemp(t.TempDir(), "log")
	require.NoError(t, err)
	defer f.Close()
	assert.False(t, IsTerminal(f), "a regular file")
	assert.False(t, New(f, Bytes).Drawing())

	var nilBar *Bar
	nilBar.Update("x", 1, 2)
	nilBar.Done()
	assert.False(t, nilBar.Drawing())
}

func TestCountingWriter(t *testing.T) {
	var out bytes.Buffer
	var seen []int64
	w := &CountingWriter{W: &out, Report: func(n int64) { seen = append(seen, n) }}
	w.Write([]byte("abc"))
	w.Write([]byte("de"))
	assert.Equal(t, []int64{3, 5}, seen)
	assert.EqualValues(t, 5, w.N)
	assert.Equal(t, "abcde", out.String())
	assert.Equal(t, "1.50 GiB", Size(3<<29))
}
