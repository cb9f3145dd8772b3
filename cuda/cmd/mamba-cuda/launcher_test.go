//go:build !cuda

package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func buildLauncher(t *testing.T) string {
	dir := t.TempDir()
	bin := filepath.Join(dir, "mamba-cuda")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, string(out))
	return bin
}

func runBin(bin string, env []string, args ...string) (string, string, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Env = append(os.Environ(), env...)
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

// bin/mamba-cuda answers -h and says what is missing without the driver
// (the GPU program itself cannot even start then), and otherwise runs the
// GPU program beside it with the same arguments.
func TestLauncher(t *testing.T) {
	bin := buildLauncher(t)
	out, errOut, err := runBin(bin, nil, "-h")
	require.NoError(t, err, errOut)
	assert.Contains(t, out, "usage: mamba-cuda MODEL")

	_, errOut, err = runBin(bin, nil, "m.bin", "-tokens", "1")
	require.Error(t, err)
	assert.Contains(t, errOut, "make cuda")

	gpu := filepath.Join(filepath.Dir(bin), "mamba-cuda.gpu")
	require.NoError(t, os.WriteFile(gpu, []byte("#!/bin/sh\necho gpu \"$@\"\n"), 0o755))
	if !driverInstalled() {
		_, errOut, err = runBin(bin, nil, "m.bin", "-tokens", "1")
		require.Error(t, err)
		assert.Contains(t, errOut, "libcuda.so.1 is not installed")
	}
	libs := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(libs, "libcuda.so.1"), nil, 0o644))
	out, errOut, err = runBin(bin, []string{"LD_LIBRARY_PATH=" + libs}, "m.bin", "-tokens", "1")
	require.NoError(t, err, errOut)
	assert.Equal(t, "gpu m.bin -tokens 1\n", out)
}
