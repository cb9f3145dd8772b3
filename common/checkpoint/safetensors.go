package checkpoint

// safetensors (https://github.com/huggingface/safetensors):
//
//	uint64 little-endian N, the header length
//	N bytes of JSON: {"__metadata__": {...}, "name": {"dtype": "F32",
//	  "shape": [rows, cols], "data_offsets": [begin, end]}, ...}, padded with spaces
//	the data; offsets are relative to its start, tensors are row-major

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
)

// maxSafetensorsHeader is the largest header accepted (the format's own limit).
const maxSafetensorsHeader = 100 << 20

// stEntry is one tensor of a safetensors header, offsets relative to the data.
type stEntry struct {
	name       string
	dtype      DType
	shape      []int
	numel      int
	begin, end int64
}

// readSafetensorsHeader reads and checks the header of a safetensors file of
// size bytes; it returns the tensors and where the data starts.
func readSafetensorsHeader(r io.ReaderAt, size int64) ([]stEntry, int64, error) {
	var lenBuf [8]byte
	if size < 8 {
		return nil, 0, fmt.Errorf("file is %d bytes, too short for a safetensors header", size)
	}
	if _, err := r.ReadAt(lenBuf[:], 0); err != nil {
		return nil, 0, err
	}
	n := binary.LittleEndian.Uint64(lenBuf[:])
	if n > maxSafetensorsHeader {
		return nil, 0, fmt.Errorf("header length %d is larger than the %d bytes allowed (not a safetensors file?)", n, maxSafetensorsHeader)
	}
	if int64(n) > size-8 {
		return nil, 0, fmt.Errorf("header length %d runs past the end of the %d-byte file", n, size)
	}
	hdr := make([]byte, n)
	if _, err := r.ReadAt(hdr, 8); err != nil {
		return nil, 0, err
	}
	dataStart := 8 + int64(n)
	entries, err := parseSafetensorsJSON(hdr, size-dataStart)
	return entries, dataStart, err
}

// parseSafetensorsJSON parses the JSON header; dataLen is the size of the
// data that follows it. It refuses duplicate names, unknown dtypes, offsets
// past the data, sizes that do not match shape×dtype and overlapping tensors.
func parseSafetensorsJSON(hdr []byte, dataLen int64) ([]stEntry, error) {
	dec := json.NewDecoder(bytes.NewReader(hdr))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("header is not a JSON object")
	}
	seen := map[string]bool{}
	var entries []stEntry
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("bad header JSON: %w", err)
		}
		name, _ := tok.(string)
		if seen[name] {
			return nil, fmt.Errorf("tensor %q is listed twice", name)
		}
		seen[name] = true
		if name == "__metadata__" {
			var meta map[string]any
			if err := dec.Decode(&meta); err != nil {
				return nil, fmt.Errorf("bad __metadata__: %w", err)
			}
			continue
		}
		var e struct {
			DType   *string  `json:"dtype"`
			Shape   *[]int64 `json:"shape"`
			Offsets []int64  `json:"data_offsets"`
		}
		if err := dec.Decode(&e); err != nil {
			return nil, fmt.Errorf("tensor %q: bad header entry: %w", name, err)
		}
		if e.DType == nil || e.Shape == nil || e.Offsets == nil {
			return nil, fmt.Errorf("tensor %q: header entry lacks dtype, shape or data_offsets", name)
		}
		ent := stEntry{name: name, dtype: DType(*e.DType)}
		if ent.dtype.Size() == 0 {
			return nil, fmt.Errorf("tensor %q: unknown dtype %q", name, *e.DType)
		}
		for _, d := range *e.Shape {
			if d < 0 || d > 1<<40 {
				return nil, fmt.Errorf("tensor %q: bad shape %v", name, *e.Shape)
			}
			ent.shape = append(ent.shape, int(d))
		}
		if ent.numel, err = numelOf(ent.shape); err != nil {
			return nil, fmt.Errorf("tensor %q: %w", name, err)
		}
		if len(e.Offsets) != 2 {
			return nil, fmt.Errorf("tensor %q: data_offsets %v is not [begin, end]", name, e.Offsets)
		}
		ent.begin, ent.end = e.Offsets[0], e.Offsets[1]
		if ent.begin < 0 || ent.end < ent.begin || ent.end > dataLen {
			return nil, fmt.Errorf("tensor %q: data_offsets [%d, %d] lie outside the %d bytes of data (truncated file or lying header)", name, ent.begin, ent.end, dataLen)
		}
		if want := int64(ent.numel) * int64(ent.dtype.Size()); ent.end-ent.begin != want {
			return nil, fmt.Errorf("tensor %q: data_offsets [%d, %d] hold %d bytes, but shape %v of %s needs %d", name, ent.begin, ent.end, ent.end-ent.begin, ent.shape, ent.dtype, want)
		}
		entries = append(entries, ent)
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("bad header JSON: %w", err)
	}
	if rest := bytes.TrimRight(hdr[dec.InputOffset():], " \t\r\n\x00"); len(rest) > 0 {
		return nil, fmt.Errorf("bad header JSON: %d bytes of garbage after the object", len(rest))
	}
	sorted := append([]stEntry(nil), entries...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].begin < sorted[j].begin })
	for i := 1; i < len(sorted); i++ {
		if a, b := sorted[i-1], sorted[i]; b.begin < a.end {
			return nil, fmt.Errorf("tensors %s and %s overlap (bytes %d..%d and %d..%d)", a.name, b.name, a.begin, a.end, b.begin, b.end)
		}
	}
	return entries, nil
}

// openSafetensors indexes the tensors of one safetensors file.
func openSafetensors(path string) (*source, []*tensor, error) {
	src, err := openSource(path)
	if err != nil {
		return nil, nil, err
	}
	entries, dataStart, err := readSafetensorsHeader(src.f, src.size)
	if err != nil {
		src.Close()
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	ts := make([]*tensor, len(entries))
	for i, e := range entries {
		ts[i] = &tensor{name: e.name, dtype: e.dtype, shape: e.shape, numel: e.numel, src: src,
			off: dataStart + e.begin, size: e.end - e.begin}
	}
	return src, ts, nil
}

// readShardIndex reads model.safetensors.index.json: the shard of each tensor.
func readShardIndex(path string, data []byte) (map[string]string, error) {
	var idx struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(data, &idx); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(idx.WeightMap) == 0 {
		return nil, fmt.Errorf("%s: no weight_map", path)
	}
	for name, file := range idx.WeightMap {
		if file == "" || filepath.Base(file) != file || file == "." || file == ".." || strings.ContainsAny(file, `/\`) {
			return nil, fmt.Errorf("%s: tensor %q: shard %q is not a file name in the folder", path, name, file)
		}
	}
	return idx.WeightMap, nil
}
