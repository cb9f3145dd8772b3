package fused

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mamba.go/common/model"
)

// A model file truncated under a running model (its weights read from the
// memory map: -hugepages=false -packed=false) ends the program with one line, whichever
// worker reads past the file's new end, instead of the runtime's SIGBUS
// crash report or a hang at the next barrier. The test runs itself in a
// child process, which must exit 1.
func TestTruncatedModelFileEndsWithOneLine(t *testing.T) {
	if path := os.Getenv("FUSED_FAULT_MODEL"); path != "" {
		w, err := model.LoadModelBin(path)
		require.NoError(t, err)
		m, err := NewOptions(w, Options{Workers: 2, SmallPages: true, Unpacked: true})
		require.NoError(t, err)
		_, err = m.Forward(1)
		require.NoError(t, err)
		require.NoError(t, os.Truncate(path, model.ModelBinHeaderSize))
		m.Forward(2) // faults: the process ends here
		t.Fatal("Forward read a truncated file without a fault")
	}
	path := filepath.Join(t.TempDir(), "model.bin")
	c := model.ShapeOf(64, 2)
	c.VocabSize = 1000
	require.NoError(t, model.WriteRandomModelBin(path, c, 1))
	cmd := exec.Command(os.Args[0], "-test.run=^TestTruncatedModelFileEndsWithOneLine$")
	cmd.Env = append(os.Environ(), "FUSED_FAULT_MODEL="+path)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, "%s", out)
	assert.Equal(t, 1, exit.ExitCode(), "%s", out)
	assert.Contains(t, string(out), "fused: model file changed while in use")
	assert.NotContains(t, string(out), "goroutine ", "no crash report")
}
