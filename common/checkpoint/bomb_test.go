package checkpoint

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/nlpodyssey/gopickle/pickle"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mamba.go/common/internal/testmodel"
)

// allocated is what f allocates, garbage included: an upper bound of the
// memory it holds at any time.
func allocated(f func()) uint64 {
	var a, b runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

// bombOps are the one-byte opcodes that build something on the stack, the
// material of pickle memory bombs ('(' MARK, '}' EMPTY_DICT, ']' EMPTY_LIST,
// ')' EMPTY_TUPLE, '2' DUP, 'N' NONE, 0x88 NEWTRUE).
var bombOps = []byte{'(', '}', ']', ')', '2', 'N', 0x88}

func bomb(op byte, n int) []byte {
	return []byte("\x80\x02}" + strings.Repeat(string(op), n) + ".")
}

// opCost is an upper bound of what gopickle allocates per opcode: the
// budget built on it then bounds the unpickler's memory.
func TestOpCostBoundsGopickle(t *testing.T) {
	const n = 1 << 16
	for _, op := range bombOps {
		got := allocated(func() {
			u := pickle.NewUnpickler(bytes.NewReader(bomb(op, n)))
			u.Load()
		})
		assert.LessOrEqual(t, float64(got)/n, float64(opCost[op]), "opcode %q", op)
	}
}

// A pickle of N bytes makes the unpickler allocate at most
// pickleBudget(N) = 96·N + 64 KiB: bombs of every kind are refused before
// they run (a 64 KB archive inflating to a data.pkl of MARKs ran out of
// memory; 16 MiB of them took 4 GB).
func TestUnpicklerMemoryIsBounded(t *testing.T) {
	const n = 1 << 18
	for _, op := range bombOps {
		data := bomb(op, n)
		got := allocated(func() { unpickleStateDict(data) })
		assert.LessOrEqual(t, got, uint64(pickleBudget(len(data))), "opcode %q: %d bytes for a %d-byte pickle", op, got, len(data))
	}
	// A real state dict's pickle is well inside the budget.
	ss, rs := testmodel.TorchParts(testmodel.Tensors(testmodel.Config(8, 4, 5), testmodel.Options{}))
	zb := testmodel.EncodeTorchZip("a", ss, rs, zip.Store)
	zr, err := zip.NewReader(bytes.NewReader(zb), int64(len(zb)))
	require.NoError(t, err)
	for _, zf := range zr.File {
		if filepath.Base(zf.Name) == "data.pkl" {
			data, err := readEntry(zf, maxPickle)
			require.NoError(t, err)
			cost, err := scanPickleCount(data)
			require.NoError(t, err)
			assert.Less(t, cost, pickleBudget(len(data))/2, "a real pickle has room to spare")
			t.Logf("a real state dict: %d bytes, cost %.1f per byte, budget %d", len(data), float64(cost)/float64(len(data)), pickleBudget(len(data)))
			_, err = unpickleStateDict(data)
			require.NoError(t, err)
		}
	}
}

// A data.pkl whose announced size is over the limit is refused before it is
// inflated (the archive is a few KB).
func TestHugePickleRefusedBeforeReading(t *testing.T) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create("archive/data.pkl")
	require.NoError(t, err)
	_, err = io.Copy(w, io.LimitReader(repeatReader('('), maxPickle+1))
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	assert.Less(t, buf.Len(), 64<<10)
	p := filepath.Join(t.TempDir(), "pytorch_model.bin")
	require.NoError(t, os.WriteFile(p, buf.Bytes(), 0o644))
	_, _, err = openPyTorch(p)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "more than the")
}

type repeatReader byte

func (r repeatReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

// FuzzPickleMemory: whatever data.pkl holds, unpickling it allocates
// within pickleBudget of its size.
func FuzzPickleMemory(f *testing.F) {
	for _, op := range bombOps {
		f.Add(bomb(op, 1000))
	}
	f.Add([]byte("\x80\x02}q\x00(X\x01\x00\x00\x00a]q\x01u."))
	f.Fuzz(func(t *testing.T, data []byte) {
		got := allocated(func() { unpickleStateDict(data) })
		require.LessOrEqual(t, got, uint64(pickleBudget(len(data))))
	})
}
