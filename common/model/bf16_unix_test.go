//go:build linux

package model

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// mappedRSS is the resident size of the process's mappings of path, from
// /proc/self/smaps.
func mappedRSS(t *testing.T, path string) int64 {
	f, err := os.Open("/proc/self/smaps")
	require.NoError(t, err)
	defer f.Close()
	var rss int64
	in := false
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := s.Text()
		if fields := strings.Fields(line); len(fields) > 0 && strings.Contains(fields[0], "-") && len(fields) >= 5 {
			in = strings.HasSuffix(line, path)
			continue
		}
		if kb, ok := strings.CutPrefix(line, "Rss:"); ok && in {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(kb), " kB"), 10, 64)
			require.NoError(t, err)
			rss += n << 10
		}
	}
	return rss
}

// TestNarrowDropsTheFilesPages: narrowing a mapped model.bin leaves only
// the vectors' pages of the file in the process, not both forms.
func TestNarrowDropsTheFilesPages(t *testing.T) {
	c := ShapeOf(256, 4)
	path := filepath.Join(t.TempDir(), "model.bin")
	require.NoError(t, WriteRandomModelBin(path, c, 1))
	w, err := LoadModelBin(path)
	require.NoError(t, err)
	defer w.Close()
	var sum float32
	for _, v := range w.Embedding { // fault the file in
		sum += v
	}
	for i := range w.Layers {
		for _, tt := range w.Layers[i].Tensors(c) {
			for _, v := range *tt.Data {
				sum += v
			}
		}
	}
	before := mappedRSS(t, path)
	require.Greater(t, before, 4*c.NumParams()*9/10, "the file is resident (sum %g)", sum)
	w.NarrowToBF16()
	after := mappedRSS(t, path)
	assert.Less(t, after, before/20, "the narrowed float32 pages left the process: %d → %d bytes", before, after)
}

// TestNarrowedBlockInHugePages: a large model narrowed in place gets its
// block in memory advised for 2 MB pages, released by Close; a copy
// narrowed (NarrowedToBF16) and a small model get Go memory.
func TestNarrowedBlockInHugePages(t *testing.T) {
	c := ShapeOf(768, 2)
	path := filepath.Join(t.TempDir(), "model.bin")
	require.NoError(t, WriteRandomModelBin(path, c, 1))
	w, err := LoadModelBin(path)
	require.NoError(t, err)
	cp := w.NarrowedToBF16()
	assert.Zero(t, cp.BF16HugePages())
	w.NarrowToBF16()
	assert.Equal(t, 2*int64(len(w.EmbeddingBF16)+2*len(w.Layers[0].InProjBF16)+2*len(w.Layers[0].XProjBF16)+
		2*len(w.Layers[0].DtProjWeightBF16)+2*len(w.Layers[0].OutProjBF16)), w.BF16HugePages())
	assert.Equal(t, cp.LMHeadBF16, w.LMHeadBF16)
	assert.Equal(t, Fingerprint(cp), Fingerprint(w))
	require.NoError(t, w.Close())

	small, err := RandomWeights(ShapeOf(64, 2), 1)
	require.NoError(t, err)
	small.NarrowToBF16()
	assert.Zero(t, small.BF16HugePages())
}
