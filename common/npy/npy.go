// Package npy reads and writes the float32 2-D arrays of NumPy's .npy
// format (version 1 and 2 headers, little-endian '<f4', C order): the
// format in which reference logits are dumped.
package npy

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// Array is a row-major float32 matrix.
type Array struct {
	Rows, Cols int
	Data       []float32 // [Rows][Cols]
}

// Row returns row i.
func (a *Array) Row(i int) []float32 { return a.Data[i*a.Cols : (i+1)*a.Cols] }

var npyMagic = []byte("\x93NUMPY")

var (
	descrRe = regexp.MustCompile(`'descr':\s*'([^']*)'`)
	orderRe = regexp.MustCompile(`'fortran_order':\s*(True|False)`)
	shapeRe = regexp.MustCompile(`'shape':\s*\(([^)]*)\)`)
)

// ReadFile reads a 1-D or 2-D float32 .npy file (1-D arrays become one row).
func ReadFile(path string) (*Array, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	a, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return a, nil
}

// Parse decodes a .npy file held in memory.
func Parse(data []byte) (*Array, error) {
	if len(data) < 10 || string(data[:6]) != string(npyMagic) {
		return nil, fmt.Errorf("not a .npy file")
	}
	var hlen, off int
	switch data[6] {
	case 1:
		hlen, off = int(binary.LittleEndian.Uint16(data[8:])), 10
	case 2, 3:
		if len(data) < 12 {
			return nil, fmt.Errorf("truncated .npy header")
		}
		hlen, off = int(binary.LittleEndian.Uint32(data[8:])), 12
	default:
		return nil, fmt.Errorf("unsupported .npy version %d", data[6])
	}
	if off+hlen > len(data) {
		return nil, fmt.Errorf("truncated .npy header")
	}
	header := string(data[off : off+hlen])
	m := descrRe.FindStringSubmatch(header)
	if m == nil || m[1] != "<f4" {
		return nil, fmt.Errorf("dtype is not little-endian float32 ('<f4'): %q", header)
	}
	if o := orderRe.FindStringSubmatch(header); o == nil || o[1] != "False" {
		return nil, fmt.Errorf("Fortran-ordered arrays are not supported")
	}
	s := shapeRe.FindStringSubmatch(header)
	if s == nil {
		return nil, fmt.Errorf("no shape in header %q", header)
	}
	var dims []int
	for _, f := range strings.Split(s[1], ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("bad shape %q", s[1])
		}
		dims = append(dims, n)
	}
	a := &Array{}
	switch len(dims) {
	case 1:
		a.Rows, a.Cols = 1, dims[0]
	case 2:
		a.Rows, a.Cols = dims[0], dims[1]
	default:
		return nil, fmt.Errorf("want a 1-D or 2-D array, shape is %v", dims)
	}
	body := data[off+hlen:]
	want, ok := dataBytes(a.Rows, a.Cols)
	if !ok {
		return nil, fmt.Errorf("shape %v needs 4·%d·%d bytes of data, more than a file can hold (data is %d bytes)", dims, a.Rows, a.Cols, len(body))
	}
	if len(body) != want {
		return nil, fmt.Errorf("data is %d bytes, shape %v needs %d", len(body), dims, want)
	}
	a.Data = make([]float32, a.Rows*a.Cols)
	for i := range a.Data {
		a.Data[i] = math.Float32frombits(binary.LittleEndian.Uint32(body[4*i:]))
	}
	return a, nil
}

// dataBytes is 4·rows·cols, the bytes of a float32 array of that shape;
// ok is false when the product passes math.MaxInt (it would wrap, and a
// huge shape would then pass for a small one).
func dataBytes(rows, cols int) (n int, ok bool) {
	if cols != 0 && rows > math.MaxInt/4/cols {
		return 0, false
	}
	return 4 * rows * cols, true
}

// Write writes a as a version-1 .npy file.
func Write(w io.Writer, a *Array) error {
	header := fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': (%d, %d), }", a.Rows, a.Cols)
	// Pad with spaces so that the data starts at a multiple of 64, ending in '\n'.
	total := 10 + len(header) + 1
	header += strings.Repeat(" ", (64-total%64)%64) + "\n"
	h := append([]byte{}, npyMagic...)
	h = append(h, 1, 0)
	h = binary.LittleEndian.AppendUint16(h, uint16(len(header)))
	h = append(h, header...)
	if _, err := w.Write(h); err != nil {
		return err
	}
	buf := make([]byte, 4*len(a.Data))
	for i, v := range a.Data {
		binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
	}
	_, err := w.Write(buf)
	return err
}
