package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mamba.go/common/checkpoint"
	"mamba.go/common/internal/testmodel"
	"mamba.go/common/model"
	"mamba.go/common/progress"
)

// reportTo sends the commands' stderr to a buffer and, with terminal,
// draws their bars there as on a terminal.
func reportTo(t *testing.T, terminal bool) *bytes.Buffer {
	var buf bytes.Buffer
	oldStderr, oldBar := stderr, newBar
	stderr = &buf
	if terminal {
		newBar = func() *progress.Bar {
			b := progress.Drawn(&buf, progress.Bytes)
			b.Every = 0
			return b
		}
	}
	t.Cleanup(func() { stderr, newBar = oldStderr, oldBar })
	return &buf
}

// random-model writes model.WriteRandomModelBin's file, and says so when
// done: off a terminal in one line, on a terminal after a bar.
func TestRandomModelBinReports(t *testing.T) {
	for _, c := range []model.Config{testmodel.Config(16, 2, 37), model.NewMamba2Config(2, 40, 16, 2, 8, 1, 8, 4, true), randomHFShapes["falcon"]} {
		dir := t.TempDir()
		want := filepath.Join(dir, "want.bin")
		require.NoError(t, model.WriteRandomModelBin(want, c, 7))
		wantBytes, err := os.ReadFile(want)
		require.NoError(t, err)

		log := reportTo(t, false)
		out := filepath.Join(dir, "out.bin")
		require.NoError(t, writeRandomModelBin(out, c, 7))
		got, err := os.ReadFile(out)
		require.NoError(t, err)
		assert.Equal(t, wantBytes, got, "%v", c)
		assert.Regexp(t, "^wrote "+regexp.QuoteMeta(out)+` \(`+regexp.QuoteMeta(size(int64(len(got))))+`\) in \d+\.\d s\n$`, log.String())

		term := reportTo(t, true)
		require.NoError(t, writeRandomModelBin(out, c, 7))
		assert.Regexp(t, `\rout\.bin  .* / .*  100%\x1b\[K\nwrote `, term.String())
	}
}

// random-model -format hf says so when done too.
func TestRandomCheckpointReports(t *testing.T) {
	log := reportTo(t, false)
	dir := filepath.Join(t.TempDir(), "ck")
	require.NoError(t, writeRandomCheckpoint(dir, randomHFShapes["falcon"], 3, checkpoint.BF16, 4096))
	assert.Regexp(t, "^wrote "+regexp.QuoteMeta(dir)+` \(\d+ shards, .* of tensors\) in \d+\.\d s\n$`, log.String())

	term := reportTo(t, true)
	dir = filepath.Join(t.TempDir(), "ck")
	require.NoError(t, writeRandomCheckpoint(dir, randomHFShapes["mamba1"], 3, checkpoint.F32, defaultShardBytes))
	assert.Regexp(t, `\rck  .*  100%\x1b\[K\nwrote .* \(model\.safetensors, `, term.String())
}
