package trace

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"mamba.go/common/model"
	"mamba.go/common/npy"
)

// The files of a case's trace (compare/reference/make_case.py writes them):
//
//	trace.json  [{"pos": 0, "layer": -1, "op": "embedding", "len": 64}, ...]
//	            one object per entry, in execution order
//	trace.npy   float32 [Σ len]: the entries' values one after another
const (
	IndexFile  = "trace.json"
	ValuesFile = "trace.npy"
)

type indexEntry struct {
	Pos   int      `json:"pos"`
	Layer int      `json:"layer"`
	Op    model.Op `json:"op"`
	Len   int      `json:"len"`
}

// Load reads the trace in dir; nil and no error when dir has no trace.json.
func Load(dir string) (*Trace, error) {
	indexPath, valuesPath := filepath.Join(dir, IndexFile), filepath.Join(dir, ValuesFile)
	data, err := os.ReadFile(indexPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var index []indexEntry
	if err := json.Unmarshal(data, &index); err != nil {
		return nil, fmt.Errorf("%s: %w", indexPath, err)
	}
	values, err := npy.ReadFile(valuesPath)
	if err != nil {
		return nil, err
	}
	if values.Rows > 1 {
		return nil, fmt.Errorf("%s: %d rows, want one vector", valuesPath, values.Rows)
	}
	t := &Trace{Entries: make([]Entry, 0, len(index))}
	off := 0
	for i, e := range index {
		if !model.IsOp(e.Op) {
			return nil, fmt.Errorf("%s: entry %d: %q is no op", indexPath, i, e.Op)
		}
		if e.Pos < 0 || e.Len < 0 || e.Len > len(values.Data)-off {
			return nil, fmt.Errorf("%s: entry %d (%s): position %d, %d values at offset %d of %s's %d", indexPath, i, e.Op, e.Pos, e.Len, off, ValuesFile, len(values.Data))
		}
		t.Entries = append(t.Entries, Entry{e.Pos, e.Layer, e.Op, values.Data[off : off+e.Len : off+e.Len]})
		off += e.Len
	}
	if off != len(values.Data) {
		return nil, fmt.Errorf("%s: %d values, %s indexes %d", valuesPath, len(values.Data), indexPath, off)
	}
	return t, nil
}
