package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBoolFlag(t *testing.T) {
	for _, c := range []struct {
		args, rest []string
		on         bool
	}{
		{[]string{"m.bin", "-n", "3"}, []string{"m.bin", "-n", "3"}, true},
		{[]string{"m.bin", "-hugepages=false", "-n", "3"}, []string{"m.bin", "-n", "3"}, false},
		{[]string{"--hugepages=0", "m.bin"}, []string{"m.bin"}, false},
		{[]string{"m.bin", "-hugepages"}, []string{"m.bin"}, true},
		{[]string{"m.bin", "-i", "-hugepages=false"}, []string{"m.bin", "-i", "-hugepages=false"}, true}, // a prompt
	} {
		rest, on, err := boolFlag(c.args, "hugepages")
		require.NoError(t, err)
		assert.Equal(t, c.rest, rest, "%q", c.args)
		assert.Equal(t, c.on, on, "%q", c.args)
	}
	_, _, err := boolFlag([]string{"-hugepages=maybe"}, "hugepages")
	assert.ErrorContains(t, err, "-hugepages=maybe: want true or false")
	rest, on, err := boolFlag([]string{"m.bin", "-hugepages=false", "-packed=false"}, "packed")
	require.NoError(t, err)
	assert.Equal(t, []string{"m.bin", "-hugepages=false"}, rest, "the other flag stays")
	assert.False(t, on)
	_, _, err = boolFlag([]string{"--packed=2"}, "packed")
	assert.ErrorContains(t, err, "-packed=2: want true or false")
}
