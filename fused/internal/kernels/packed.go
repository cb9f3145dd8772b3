package kernels

import (
	"cmp"
	"math"
	"slices"
)

// Packed float32 weights: the same float32 values in 3.5 bytes each
// instead of 4, without loss, so that a step streams 12.5% fewer bytes.
//
// A float32 is a sign bit, 8 exponent bits and 23 mantissa bits. Its top
// byte, the sign and the exponent's high 7 bits, says in which band of
// factor 4 the value lies, and a matrix's weights lie in few bands: a
// trained or randomly initialised layer spreads over about 8 a sign, and
// all but about one weight in a thousand (real mamba-130m) or 9,000
// (random init) over 15. So a 4-bit code into a table of 16 top bytes
// stands for the top byte, and the low 3 bytes stay as they are:
//
//	weight = low3 | top[code]<<24   (exactly)
//
// Layout: rows one after another, each in groups of 8 weights, a group
// packedGroupBytes = 28 bytes:
//
//	bytes 0..23   the low 3 bytes of weights 0..7, 3 each, little-endian
//	bytes 24..27  their codes: weight 2i's in byte 24+i's low nibble,
//	              weight 2i+1's in its high nibble
//
// top[0] is always 0x00 (zero and the tiniest positive values), codes
// 1..15 the 15 commonest other top bytes of the matrix. A weight whose top
// byte is not in the table, an escape, is packed as +0 (low3 0, code 0)
// and kept aside, exactly: a product adds escape·x[col] to its row after
// the packed row's sum, and unpacking puts it back in its place.
//
// The kernels (packed_*_amd64.s) take a group in one 32-byte load,
// the 28 bytes and 4 beyond, or two in one 64-byte load, 8 beyond; so a
// packed matrix keeps packedSlack bytes after its last group. The sums run in the order of the float32 kernels,
// so where a row has no escape the AVX2 product gives the float32
// product's bits.

const (
	packedGroup      = 8  // weights a group
	packedGroupBytes = 28 // bytes a group: 8·3 low bytes, 8 codes of 4 bits
	packedSlack      = 8  // bytes a kernel may read past the last group
)

// packedMatrix is what a whole packed matrix shares between its views.
type packedMatrix struct {
	top     [16]byte // code → top byte; top[0] = 0
	cols    int      // a multiple of packedGroup
	escapes []escape // sorted by row, then column
}

// escape is a weight whose top byte has no code, at [row][col].
type escape struct {
	row, col int32
	value    float32
}

// packedRows is a view of rows of a packed matrix: the rows from row0 on,
// as many as groups holds.
type packedRows struct {
	groups []byte        // [rows][cols/8][28]
	m      *packedMatrix // nil: not packed
	row0   int           // the view's first row in the whole matrix
}

// packedRowBytes is the bytes of a packed row of cols weights.
func packedRowBytes(cols int) int { return cols / packedGroup * packedGroupBytes }

// rows is how many rows the view holds.
func (p packedRows) rows() int { return len(p.groups) / packedRowBytes(p.m.cols) }

// from is the view from its row i on.
func (p packedRows) from(i int) packedRows {
	rb := packedRowBytes(p.m.cols)
	return packedRows{groups: p.groups[i*rb:], m: p.m, row0: p.row0 + i}
}

// part is the view's rows [i, j).
func (p packedRows) part(i, j int) packedRows {
	rb := packedRowBytes(p.m.cols)
	return packedRows{groups: p.groups[i*rb : j*rb], m: p.m, row0: p.row0 + i}
}

// escapesIn are the escapes of the view's rows [0, n).
func (p packedRows) escapesIn(n int) []escape {
	es := p.m.escapes
	a, _ := slices.BinarySearchFunc(es, int32(p.row0), func(e escape, row int32) int { return cmp.Compare(e.row, row) })
	b, _ := slices.BinarySearchFunc(es, int32(p.row0+n), func(e escape, row int32) int { return cmp.Compare(e.row, row) })
	return es[a:b]
}

// countTopBytes adds the top bytes of w to count.
func countTopBytes(count *[256]int, w []float32) {
	for _, v := range w {
		count[math.Float32bits(v)>>24]++
	}
}

// packedTable chooses a matrix's codes from the count of its top bytes:
// top[0] = 0, then the 15 commonest other top bytes (ties: the smaller
// byte first); escapes is how many weights have none.
func packedTable(count *[256]int) (top [16]byte, escapes int) {
	bytes := make([]int, 0, 255)
	for b := 1; b < 256; b++ {
		if count[b] > 0 {
			bytes = append(bytes, b)
		}
	}
	slices.SortStableFunc(bytes, func(a, b int) int { return cmp.Compare(count[b], count[a]) })
	for i, b := range bytes {
		if i < 15 {
			top[i+1] = byte(b)
		} else {
			escapes += count[b]
		}
	}
	return top, escapes
}

// packedEscapesMax: a matrix with more escapes than one weight in 256
// stays float32 (each escape costs a scattered load and a multiply).
const packedEscapesMax = 256

// packs says whether a matrix of n weights, rows of cols, with escapes
// escapes, is packed: whole groups and few escapes.
func packs(n, cols, escapes int) bool {
	return n > 0 && cols > 0 && cols%packedGroup == 0 && escapes <= n/packedEscapesMax
}

// pack packs w, whole rows of m.cols from row row0 of m, into dst
// (len(w)/8·28 bytes), and appends their escapes to m.escapes.
func (m *packedMatrix) pack(dst []byte, w []float32, row0 int) {
	var code [256]byte
	var coded [256]bool
	for c, b := range m.top {
		code[b], coded[b] = byte(c), true
	}
	for g := range len(w) / packedGroup {
		grp := dst[g*packedGroupBytes : (g+1)*packedGroupBytes]
		clear(grp[24:])
		for k, v := range w[g*packedGroup : (g+1)*packedGroup] {
			bits := math.Float32bits(v)
			if !coded[bits>>24] {
				i := g*packedGroup + k
				m.escapes = append(m.escapes, escape{row: int32(row0 + i/m.cols), col: int32(i % m.cols), value: v})
				bits = 0
			}
			grp[3*k], grp[3*k+1], grp[3*k+2] = byte(bits), byte(bits>>8), byte(bits>>16)
			grp[24+k/2] |= code[bits>>24] << (4 * (k & 1))
		}
	}
}

// packMatrix packs w, [rows][cols] with cols a multiple of 8, into dst
// (len(w)/8·28 bytes, and packedSlack more that it leaves alone), whatever
// its escapes.
func packMatrix(dst []byte, w []float32, cols int) *packedMatrix {
	var count [256]int
	countTopBytes(&count, w)
	m := &packedMatrix{cols: cols}
	m.top, _ = packedTable(&count)
	m.pack(dst, w, 0)
	return m
}

// packedWeight is weight k (0..7) of group grp.
func packedWeight(grp []byte, k int, top *[16]byte) float32 {
	low := uint32(grp[3*k]) | uint32(grp[3*k+1])<<8 | uint32(grp[3*k+2])<<16
	c := grp[24+k/2] >> (4 * (k & 1)) & 15
	return math.Float32frombits(low | uint32(top[c])<<24)
}

// unpackGeneric writes the weights of the groups in w to dst, escapes as 0.
// dst: [len(w)/28·8]
func unpackGeneric(dst []float32, w []byte, top *[16]byte) {
	for g := range len(dst) / packedGroup {
		grp := w[g*packedGroupBytes : (g+1)*packedGroupBytes]
		for k := range packedGroup {
			dst[g*packedGroup+k] = packedWeight(grp, k, top)
		}
	}
}

// matVecPackedGeneric: out[i] (+)= Σ_j W[i][j]·x[j] for packed rows W of
// len(x) weights, i < len(out), escapes as 0.
func matVecPackedGeneric(out []float32, w []byte, top *[16]byte, x []float32, add bool) {
	rb := packedRowBytes(len(x))
	for i := range out {
		row := w[i*rb : (i+1)*rb]
		var s float32
		for g := range len(x) / packedGroup {
			grp := row[g*packedGroupBytes : (g+1)*packedGroupBytes]
			for k := range packedGroup {
				s += packedWeight(grp, k, top) * x[g*packedGroup+k]
			}
		}
		if add {
			s += out[i]
		}
		out[i] = s
	}
}

// matVecPacked: out[i] (+)= Σ_j W[i][j]·x[j] for the packed rows of w,
// i < len(out): the kernel's sum, then the row's escapes. Packed rows are
// taken whole: ld and len(x) are the matrix's cols.
func matVecPacked(out []float32, w packedRows, ld int, x []float32, add bool) {
	if ld != w.m.cols || len(x) != ld {
		panic("fused: a packed matrix's rows are taken whole")
	}
	kern.matVecPacked(out, w.groups, &w.m.top, x, add)
	for _, e := range w.escapesIn(len(out)) {
		out[int(e.row)-w.row0] += e.value * x[e.col]
	}
}

// unpackRows writes the view's rows [0, n) to dst as float32, exactly.
// dst: [n][cols]
func unpackRows(dst []float32, w packedRows, n int) {
	cols := w.m.cols
	kern.unpack(dst[:n*cols], w.groups[:n*packedRowBytes(cols)], &w.m.top)
	for _, e := range w.escapesIn(n) {
		dst[(int(e.row)-w.row0)*cols+int(e.col)] = e.value
	}
}

// matMatPacked is matMat on packed rows: four rows at a time unpacked into
// scratch ([4][cols] at least), then multiplied by the float32 kernel, so
// every sum is the float32 matMat's.
func matMatPacked(out []float32, ldo int, w packedRows, x []float32, ldx int, rows, tokens int, add bool, scratch []float32) {
	cols := w.m.cols
	for r := 0; r < rows; r += 4 {
		n := min(4, rows-r)
		unpackRows(scratch, w.from(r), n)
		kern.matMat(out[r:], ldo, scratch, cols, x, ldx, n, cols, tokens, add)
	}
}
