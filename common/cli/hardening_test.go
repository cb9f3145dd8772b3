//go:build unix

package cli

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mamba.go/common/model"
)

// A state saved from one model is refused by another of the same shape
// (other weights), unless -force-state.
func TestStateFromOtherWeightsOfTheSameShapeIsRefused(t *testing.T) {
	c := model.Config{NLayers: 1, VocabSize: 100, DModel: 4, DInner: 8, DtRank: 1, DState: 2, DConv: 2, TiedHead: true}
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.bin"), filepath.Join(dir, "b.bin")
	require.NoError(t, model.WriteRandomModelBin(a, c, 1))
	require.NoError(t, model.WriteRandomModelBin(b, c, 2))
	state := filepath.Join(dir, "state.bin")
	_, _, err := runCLI(a, "-tokens", "1,2", "-n", "0", "-save-state", state)
	require.NoError(t, err)
	_, _, err = runCLI(a, "-tokens", "3", "-n", "1", "-load-state", state)
	require.NoError(t, err, "the same weights load their state")
	_, _, err = runCLI(b, "-tokens", "3", "-n", "1", "-load-state", state)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "other weights of the same shape")
	assert.Contains(t, err.Error(), "-force-state")
	_, _, err = runCLI(b, "-tokens", "3", "-n", "1", "-load-state", state, "-force-state")
	assert.NoError(t, err)
}

func withStdin(t *testing.T, s string) {
	old := stdin
	stdin = strings.NewReader(s)
	t.Cleanup(func() { stdin = old })
}

// Invalid UTF-8 in the prompt is refused wherever it comes from, as
// `mamba tokenize` refuses it, instead of being replaced by U+FFFD.
func TestInvalidUTF8PromptIsRefused(t *testing.T) {
	path := testModel(t, 50277)
	_, _, err := runCLI(path, "-z", testTokenizer, "-i", "ab\xffc", "-n", "1")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "-i: the prompt is not valid UTF-8 (first bad byte at offset 2)")

	bad := filepath.Join(t.TempDir(), "p.txt")
	require.NoError(t, os.WriteFile(bad, []byte("\xc3("), 0o644))
	_, _, err = runCLI(path, "-z", testTokenizer, "-f", bad, "-n", "1")
	assert.ErrorContains(t, err, "not valid UTF-8 (first bad byte at offset 0)")

	withStdin(t, "ok \xed\xa0\x80")
	_, _, err = runCLI(path, "-z", testTokenizer, "-i", "-", "-n", "1")
	assert.ErrorContains(t, err, "-i - (stdin): the prompt is not valid UTF-8 (first bad byte at offset 3)")

	out, _, err := runCLI(path, "-h")
	require.ErrorIs(t, err, flag.ErrHelp)
	assert.Contains(t, out, "not valid UTF-8 is refused", "-h says so")
}

// A prompt longer than one command-line argument (Linux: 128 KiB) comes
// from -f FILE or from stdin with -i -, and gives what -i would.
func TestLongPromptFromFileOrStdin(t *testing.T) {
	path := testModel(t, 50277)
	text := strings.Repeat("The state space model remembers. ", 6000) // 198 KB
	args := func(extra ...string) []string {
		return append([]string{path, "-z", testTokenizer, "-n", "3", "-t", "0", "-ignore-eos"}, extra...)
	}
	want, _, err := runCLI(args("-i", text)...) // fine in-process; not as a real argument
	require.NoError(t, err)
	f := filepath.Join(t.TempDir(), "prompt.txt")
	require.NoError(t, os.WriteFile(f, []byte(text), 0o644))
	got, _, err := runCLI(args("-f", f)...)
	require.NoError(t, err)
	assert.Equal(t, want, got)
	withStdin(t, text)
	got, _, err = runCLI(args("-i", "-")...)
	require.NoError(t, err)
	assert.Equal(t, want, got)

	_, _, err = runCLI(args("-i", "x", "-f", f)...)
	assert.ErrorContains(t, err, "either -i or -f")
}

// Named pipes and endless devices given as files are refused at once, by
// their type, before any read: they used to hang or exhaust memory.
func TestPipesAndDevicesAreRefused(t *testing.T) {
	path := testModel(t, 50277)
	fifo := filepath.Join(t.TempDir(), "fifo")
	require.NoError(t, syscall.Mkfifo(fifo, 0o644))
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{path, "-z", fifo, "-i", "x"}, "named pipe"},
		{[]string{path, "-z", "/dev/zero", "-i", "x"}, "character device"},
		{[]string{path, "-z", testTokenizer, "-f", fifo}, "named pipe"},
		{[]string{path, "-z", testTokenizer, "-f", "/dev/zero"}, "character device"},
		{[]string{path, "-tokens", "1", "-load-state", fifo}, "named pipe"},
		{[]string{fifo, "-tokens", "1"}, "named pipe"},
	} {
		_, _, err := runCLI(c.args...)
		require.Error(t, err, "%v", c.args)
		assert.Contains(t, err.Error(), c.want, "%v", c.args)
	}
	// A checkpoint folder whose config.json is a pipe, or a link to /dev/zero.
	for _, target := range []string{fifo, "/dev/zero"} {
		dir := t.TempDir()
		require.NoError(t, os.Symlink(target, filepath.Join(dir, "config.json")))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "model.safetensors"), nil, 0o644))
		_, _, err := runCLI(dir, "-tokens", "1")
		require.Error(t, err)
		assert.Contains(t, err.Error(), "not a regular file")
	}
}

// -h prints the usage to stdout and is not an error to report; a bad flag
// is one line.
func TestHelpGoesToStdout(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := Run("mamba-test", []string{"-h"}, &stdout, &stderr, newCounter)
	assert.True(t, errors.Is(err, flag.ErrHelp))
	assert.Contains(t, stdout.String(), "usage: mamba-test MODEL")
	assert.Empty(t, stderr.String())

	stdout.Reset()
	err = Run("mamba-test", []string{"m.bin", "-bogus"}, &stdout, &stderr, newCounter)
	require.Error(t, err)
	assert.Equal(t, "flag provided but not defined: -bogus", err.Error())
	assert.Empty(t, stdout.String())
	assert.Empty(t, stderr.String())
}
