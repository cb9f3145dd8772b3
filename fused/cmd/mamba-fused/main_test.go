package main

import (
	"bytes"
	"flag"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mamba.go/common/cli"
)

// -h lists -packed and -hugepages with common/cli's flags, on stdout.
func TestHelpListsTheOwnFlags(t *testing.T) {
	var f flags
	var stdout, stderr bytes.Buffer
	err := cli.RunOptions("mamba-fused", []string{"-h"}, &stdout, &stderr, f.newModel, f.options())
	require.ErrorIs(t, err, flag.ErrHelp)
	assert.Contains(t, stdout.String(), "usage: mamba-fused MODEL")
	assert.Contains(t, stdout.String(), "\n  -packed\n")
	assert.Contains(t, stdout.String(), "\n  -hugepages\n")
	assert.Contains(t, stdout.String(), "\n  -weights f32\n", "and common/cli's")
	assert.Empty(t, stderr.String())
}

// The flags parse anywhere among the others, true unless =false, and a
// bad value is one line.
func TestOwnFlagsParse(t *testing.T) {
	for _, c := range []struct {
		args              []string
		packed, hugePages bool
	}{
		{[]string{"/no/model.bin", "-n", "3"}, true, true},
		{[]string{"/no/model.bin", "-hugepages=false", "-n", "3"}, true, false},
		{[]string{"--hugepages=0", "-packed=false", "/no/model.bin"}, false, false},
		{[]string{"-i", "-hugepages=false", "/no/model.bin"}, true, true}, // a prompt
	} {
		var f flags
		err := cli.RunOptions("mamba-fused", c.args, new(bytes.Buffer), new(bytes.Buffer), f.newModel, f.options())
		require.ErrorContains(t, err, "/no/model.bin", "%q: parsed, then the model is missing", c.args)
		assert.Equal(t, c.packed, f.packed, "%q", c.args)
		assert.Equal(t, c.hugePages, f.hugePages, "%q", c.args)
	}
	var f flags
	err := cli.RunOptions("mamba-fused", []string{"/no/model.bin", "-packed=2"}, new(bytes.Buffer), new(bytes.Buffer), f.newModel, f.options())
	assert.ErrorContains(t, err, `invalid boolean value "2" for -packed`)
}
