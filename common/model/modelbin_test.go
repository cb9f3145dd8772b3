package model

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// smallConfig has sizes that are all different, so a swapped dimension shows.
var smallConfig = Config{NLayers: 2, VocabSize: 21, DModel: 6, DInner: 12, DtRank: 3, DState: 5, DConv: 3, TiedHead: true}

// writeRandom writes a random model of config c and returns its path and bytes.
func writeRandom(t *testing.T, c Config) (string, []byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "model.bin")
	require.NoError(t, WriteRandomModelBin(path, c, 7))
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	return path, data
}

// loadChecked loads path, a model.bin of config c, and checks its tensors.
func loadChecked(t *testing.T, path string, c Config) *Weights {
	t.Helper()
	w, err := LoadModelBin(path)
	require.NoError(t, err)
	require.NoError(t, w.Check())
	assert.Equal(t, c, w.Config)
	return w
}

// assertRewrites checks that writing w gives data (the file it was loaded
// from) byte for byte, then closes w.
func assertRewrites(t *testing.T, w *Weights, data []byte) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "copy.bin")
	require.NoError(t, WriteModelBin(out, w))
	again, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, data, again)
	require.NoError(t, w.Close())
}

// withWord is a copy of data with its i-th little-endian uint32 set to v.
func withWord(data []byte, i int, v uint32) []byte {
	b := append([]byte(nil), data...)
	binary.LittleEndian.PutUint32(b[4*i:], v)
	return b
}

// assertLoadRefuses checks that LoadModelBin refuses a file holding data
// with an error that names the file and says want.
func assertLoadRefuses(t *testing.T, data []byte, want string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bad.bin")
	require.NoError(t, os.WriteFile(path, data, 0o644))
	_, err := LoadModelBin(path)
	require.Error(t, err)
	assert.Contains(t, err.Error(), path, "the error names the file")
	assert.Contains(t, err.Error(), want)
}

func TestModelBinRoundTrip(t *testing.T) {
	for _, tied := range []bool{true, false} {
		c := smallConfig
		c.TiedHead = tied
		path, data := writeRandom(t, c)
		assert.Equal(t, modelBinSize(c), int64(len(data)))

		w := loadChecked(t, path, c)
		assert.Equal(t, 24, c.PaddedVocab())
		// Spot-check the layout: A is −(1..n) per channel, norm_f is 1.
		assert.Equal(t, float32(-1), w.Layers[1].A[0])
		assert.Equal(t, float32(-float32(c.DState)), w.Layers[1].A[c.DState-1])
		assert.Equal(t, float32(1), w.NormF[c.DModel-1])
		assert.Equal(t, float32(1), w.Layers[0].D[0])
		if tied {
			assert.Same(t, &w.Embedding[0], &w.LMHead[0])
		} else {
			assert.NotSame(t, &w.Embedding[0], &w.LMHead[0])
		}

		// Writing what was read gives the same bytes.
		assertRewrites(t, w, data)
	}
}

func TestModelBinRefusesBadFiles(t *testing.T) {
	_, good := writeRandom(t, smallConfig)
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "empty"},
		{"short header", good[:100], "shorter than the 256-byte header"},
		{"truncated", good[:len(good)-4], "truncated"},
		{"trailing bytes", append(append([]byte(nil), good...), 0, 0, 0, 0), "needs"},
		{"wrong magic", withWord(good, 0, 0x12345678), "bad magic"},
		{"wrong version", withWord(good, 1, 3), "unsupported version 3"},
		{"zero layers", withWord(good, 2, 0), "n_layers is 0"},
		{"negative dim", withWord(good, 4, math.MaxUint32), "d_model is -1"},
		{"huge vocab", withWord(good, 3, 1<<30), "vocab_size"},
		{"sizes disagree", withWord(good, 5, 13), "needs"},
		{"bad shared flag", withWord(good, 9, 5), "shared_classifier is 5"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { assertLoadRefuses(t, tc.data, tc.want) })
	}
	_, err := LoadModelBin(filepath.Join(t.TempDir(), "missing.bin"))
	assert.ErrorContains(t, err, "no such file")
	_, err = LoadModelBin(t.TempDir())
	assert.ErrorContains(t, err, "not a regular file")
}

func TestCheckTokenAndConfig(t *testing.T) {
	assert.NoError(t, CheckToken(smallConfig, 0))
	assert.NoError(t, CheckToken(smallConfig, 20))
	assert.ErrorContains(t, CheckToken(smallConfig, 21), "token id 21 out of range [0, 21)")
	assert.ErrorContains(t, CheckToken(smallConfig, -1), "out of range")
	assert.Equal(t, 50280, ShapeOf(768, 24).PaddedVocab())
	assert.Equal(t, 48, ShapeOf(768, 24).DtRank)
	// The 130m shape's model.bin is the size the real export gives (516.5 MB).
	assert.Equal(t, int64(516541696), modelBinSize(Shapes["130m"]))
}

func TestWeightsCheckFindsWrongLengths(t *testing.T) {
	path, _ := writeRandom(t, smallConfig)
	w, err := LoadModelBin(path)
	require.NoError(t, err)
	defer w.Close()
	w.Layers[1].XProj = w.Layers[1].XProj[:5]
	assert.ErrorContains(t, w.Check(), "layer 1 x_proj has 5 values, want 156")
}

// RandomWeights is, in memory, the model WriteRandomModelBin writes.
func TestRandomWeightsIsTheRandomModelBin(t *testing.T) {
	for _, tied := range []bool{true, false} {
		c := smallConfig
		c.TiedHead = tied
		_, data := writeRandom(t, c)
		w, err := RandomWeights(c, 7)
		require.NoError(t, err)
		require.NoError(t, w.Check())
		var b bytes.Buffer
		require.NoError(t, EncodeModelBin(&b, w))
		assert.Equal(t, data, b.Bytes())
	}
	_, err := RandomWeights(Config{}, 1)
	assert.Error(t, err)
}
