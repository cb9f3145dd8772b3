package npy

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRoundTrip(t *testing.T) {
	a := &Array{Rows: 2, Cols: 3, Data: []float32{1, -2, 3.5, 0, 1e-8, -7}}
	var b bytes.Buffer
	require.NoError(t, Write(&b, a))
	assert.Zero(t, (b.Len()-4*6)%64, "data starts at a multiple of 64 bytes")
	got, err := Parse(b.Bytes())
	require.NoError(t, err)
	assert.Equal(t, a, got)
	assert.Equal(t, []float32{0, 1e-8, -7}, got.Row(1))
}

func TestRefusesOtherArrays(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, Write(&b, &Array{Rows: 1, Cols: 2, Data: []float32{1, 2}}))
	good := b.Bytes()
	swap := func(old, new string) []byte { return bytes.Replace(good, []byte(old), []byte(new), 1) }
	for _, tc := range []struct {
		data []byte
		want string
	}{
		{[]byte("hello"), "not a .npy file"},
		{swap("<f4", "<f8"), "not little-endian float32"},
		{swap("False", "True "), "Fortran"},
		{swap("(1, 2)", "(1, 3)"), "needs 12"},
		{swap("(1, 2)", "(1,2,1)"), "1-D or 2-D"},
		{good[:len(good)-1], "data is 7 bytes"},
	} {
		_, err := Parse(tc.data)
		assert.ErrorContains(t, err, tc.want)
	}
}

// A shape whose byte count passes math.MaxInt is refused: 4·2⁴⁰·2⁴⁰ wraps
// to 0, and such a shape with no data once passed for an empty array.
func TestHugeShapeIsRefused(t *testing.T) {
	for _, shape := range []string{"(1099511627776, 1099511627776)", "(4611686018427387904,)", "(2, 2305843009213693952)"} {
		header := "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }\n"
		data := append([]byte("\x93NUMPY\x01\x00"), byte(len(header)), 0)
		_, err := Parse(append(data, header...)) // no data
		require.Error(t, err, shape)
		assert.Contains(t, err.Error(), "more than a file can hold", shape)
		assert.NotContains(t, err.Error(), "needs 0", shape)
	}
}
