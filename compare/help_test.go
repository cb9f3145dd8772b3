package main

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// -h is not an error: the usage goes to stdout and the exit code is 0.
func TestHelpExitsZero(t *testing.T) {
	var out bytes.Buffer
	code, err := run([]string{"-h"}, &out)
	require.NoError(t, err)
	assert.Equal(t, 0, code)
	assert.Contains(t, out.String(), "usage: compare")
}

// -impl cuda in a build without it says where the cuda build is.
func TestMissingCudaPointsAtCompareCuda(t *testing.T) {
	if _, ok := impls["cuda"]; ok {
		t.Skip("this build has cuda")
	}
	_, err := run([]string{"-impl", "learning,cuda", "case"}, new(bytes.Buffer))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "bin/compare-cuda")
}
