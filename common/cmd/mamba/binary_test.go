//go:build unix

package main

import (
	"bytes"
	"errors"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mamba.go/common/model"
)

// These tests run the built binary, as a user does: signals, exit codes
// and what is left on disk are properties of the process, not of a call.

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// binary builds bin/mamba, bin/mamba-learning and bin/mamba-fused once
// into a temporary folder.
func binary(t *testing.T, name string) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "mamba-bin")
		if buildErr != nil {
			return
		}
		for out, pkg := range map[string]string{"mamba": ".", "mamba-learning": "mamba.go/learning/cmd/mamba-learning",
			"mamba-learning-simd": "mamba.go/learning/cmd/mamba-learning", // the name of another build of one command
			"mamba-fused":         "mamba.go/fused/cmd/mamba-fused"} {
			cmd := exec.Command("go", "build", "-o", filepath.Join(binDir, out), pkg)
			if b, err := cmd.CombinedOutput(); err != nil {
				buildErr = errors.New(string(b))
				return
			}
		}
	})
	require.NoError(t, buildErr)
	return filepath.Join(binDir, name)
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// temps lists the atomic writes' temporary files in dir.
func temps(t *testing.T, dir string) []string {
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var out []string
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp-mamba-") {
			out = append(out, e.Name())
		}
	}
	return out
}

// startWrite starts writing a 516 MB random model (a few seconds) and
// returns once its temporary file exists; its stderr goes to stderr.
func startWrite(t *testing.T, dir string, stderr *bytes.Buffer) *exec.Cmd {
	cmd := exec.Command(binary(t, "mamba"), "random-model", "-shape", "130m", filepath.Join(dir, "out.bin"))
	if stderr != nil {
		cmd.Stderr = stderr
	}
	require.NoError(t, cmd.Start())
	deadline := time.Now().Add(30 * time.Second)
	for len(temps(t, dir)) == 0 {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("no temporary file appeared")
		}
		time.Sleep(time.Millisecond)
	}
	return cmd
}

// Every signal that ends the process and can be caught removes the
// temporary file of an interrupted write, and the process still ends as
// it would without the handler: dead of SIGHUP, SIGINT or SIGTERM; with
// the Go runtime's goroutine dump and exit status 2 for SIGQUIT and
// SIGABRT.
func TestSignalRemovesTheTemporaryFile(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGABRT} {
		dir := t.TempDir()
		var stderr bytes.Buffer
		cmd := startWrite(t, dir, &stderr)
		require.NoError(t, cmd.Process.Signal(sig))
		err := cmd.Wait()
		var ee *exec.ExitError
		require.ErrorAs(t, err, &ee, "the write was interrupted by %v", sig)
		ws := ee.Sys().(syscall.WaitStatus)
		switch sig {
		case syscall.SIGQUIT, syscall.SIGABRT:
			assert.Equal(t, 2, ws.ExitStatus(), "%v: %v", sig, ws)
			assert.Contains(t, stderr.String(), "goroutine ", "%v: the runtime's dump", sig)
		default:
			assert.True(t, ws.Signaled() && ws.Signal() == sig, "died of %v: %v", sig, ws)
		}
		assert.Empty(t, temps(t, dir), "after %v", sig)
		assert.NoFileExists(t, filepath.Join(dir, "out.bin"))
	}
}

// SIGKILL cannot be caught: its temporary file stays, named with the dead
// process's id, and the next write of the same output removes it.
func TestNextWriteRemovesTheTemporaryFileOfAKilledOne(t *testing.T) {
	dir := t.TempDir()
	cmd := startWrite(t, dir, nil)
	require.NoError(t, cmd.Process.Kill())
	cmd.Wait()
	require.Len(t, temps(t, dir), 1)

	src := filepath.Join(dir, "small.bin")
	require.NoError(t, model.WriteRandomModelBin(src, model.Config{NLayers: 1, VocabSize: 10, DModel: 4, DInner: 8, DtRank: 1, DState: 2, DConv: 2, TiedHead: true}, 1))
	out, err := exec.Command(binary(t, "mamba"), "export", src, filepath.Join(dir, "out.bin")).CombinedOutput()
	require.NoError(t, err, string(out))
	assert.Empty(t, temps(t, dir))
}

// export writes only regular files: a named pipe or a device at OUT is
// refused and left as it was; a symlink's target is written.
func TestExportRefusesDevicesAndPipes(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "small.bin")
	require.NoError(t, model.WriteRandomModelBin(src, model.Config{NLayers: 1, VocabSize: 10, DModel: 4, DInner: 8, DtRank: 1, DState: 2, DConv: 2, TiedHead: true}, 1))
	fifo := filepath.Join(dir, "f")
	require.NoError(t, syscall.Mkfifo(fifo, 0o644))
	targets := map[string]fs.FileMode{fifo: fs.ModeNamedPipe}
	if os.Geteuid() == 0 {
		null := filepath.Join(dir, "n") // /dev/null's twin
		require.NoError(t, syscall.Mknod(null, syscall.S_IFCHR|0o666, 1<<8|3))
		targets[null] = fs.ModeCharDevice
	}
	for p, mode := range targets {
		out, err := exec.Command(binary(t, "mamba"), "export", src, p).CombinedOutput()
		require.Error(t, err)
		assert.Contains(t, string(out), "not a regular file: refusing to replace it")
		st, err := os.Lstat(p)
		require.NoError(t, err)
		assert.NotZero(t, st.Mode()&mode, "%s is still what it was", p)
	}
	require.NoError(t, os.Symlink("t.bin", filepath.Join(dir, "l")))
	out, err := exec.Command(binary(t, "mamba"), "export", src, filepath.Join(dir, "l")).CombinedOutput()
	require.NoError(t, err, string(out))
	assert.FileExists(t, filepath.Join(dir, "t.bin"), "the link's target is written")
	st, err := os.Lstat(filepath.Join(dir, "l"))
	require.NoError(t, err)
	assert.NotZero(t, st.Mode()&fs.ModeSymlink)
}

// -h prints the usage to stdout and exits 0, in every binary and every
// command registered in commands.
func TestHelpExitsZeroOnStdout(t *testing.T) {
	runs := [][]string{{"mamba", "-h"}, {"mamba-learning", "-h"}, {"mamba-learning-simd", "-h"}, {"mamba-fused", "-h"}}
	for _, name := range slices.Sorted(maps.Keys(commands)) {
		runs = append(runs, []string{"mamba", name, "-h"})
	}
	for _, args := range runs {
		var stdout, stderr bytes.Buffer
		cmd := exec.Command(binary(t, args[0]), args[1:]...)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		require.NoError(t, cmd.Run(), "%v: %s", args, stderr.String())
		assert.Contains(t, stdout.String(), "usage: "+strings.Join(args[:len(args)-1], " "), "%v", args)
		assert.NotContains(t, stdout.String(), "Usage of", "%v", args)
		assert.Empty(t, stderr.String(), "%v", args)
	}
	out, err := exec.Command(binary(t, "mamba"), "export", "-h").Output()
	require.NoError(t, err)
	assert.Contains(t, string(out), "is overwritten")
	out, err = exec.Command(binary(t, "mamba-fused"), "-h").Output()
	require.NoError(t, err)
	assert.Contains(t, string(out), "  -packed\n", "its own flags are listed with the others")
	assert.Contains(t, string(out), "  -hugepages\n")
}

// detokenize refuses a null instead of reading it as id 0 (<|endoftext|>).
func TestDetokenizeRefusesNull(t *testing.T) {
	err := runDetokenize([]string{"-z", filepath.Join("..", "..", "tokenizer", "testdata", "tokenizer.json")}, strings.NewReader("[1, null]"), new(bytes.Buffer))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "entry 1 of the array is null")
}
