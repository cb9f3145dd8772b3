package learning

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mamba.go/common/checkpoint"
	"mamba.go/common/model"
	"mamba.go/common/refcase"
)

// logitsOf runs tokens through a learning model over w and returns every
// step's logits.
func logitsOf(t *testing.T, w *model.Weights, tokens []int) [][]float32 {
	t.Helper()
	m, err := New(w)
	require.NoError(t, err)
	var out [][]float32
	for _, tok := range tokens {
		l, err := m.Forward(tok)
		require.NoError(t, err)
		out = append(out, append([]float32(nil), l...))
	}
	return out
}

func requireSameLogits(t *testing.T, want, got [][]float32, what string) {
	t.Helper()
	require.Len(t, got, len(want), what)
	for i := range want {
		require.Len(t, got[i], len(want[i]), what)
		for j := range want[i] {
			if math.Float32bits(want[i][j]) != math.Float32bits(got[i][j]) {
				require.Failf(t, "logits differ", "%s: step %d logit %d = %v, want %v", what, i, j, got[i][j], want[i][j])
			}
		}
	}
}

// TestCheckpointLogits: for every case folder, the model.bin, the hf/ and
// state-spaces/ checkpoints, loaded directly and exported to model.bin,
// give bit-identical logits over the whole padded vocabulary.
func TestCheckpointLogits(t *testing.T) {
	var dirs []string
	if shared := refcase.SharedDir(); shared != "" {
		dirs = append(dirs, refcase.Dirs(filepath.Join(shared, "reference", "hf-transformers"))...)
	}
	if root := refcase.RepoRoot(); root != "" {
		dirs = append(dirs, refcase.Dirs(filepath.Join(root, "testdata", "cases"))...)
	}
	if len(dirs) == 0 {
		t.Skip("no case folders: ../shared is absent and testdata/cases is empty")
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			c, err := refcase.Load(dir)
			require.NoError(t, err)
			mb, err := model.LoadModelBin(filepath.Join(dir, "model.bin"))
			require.NoError(t, err)
			defer mb.Close()
			want := logitsOf(t, mb, c.Tokens)
			for _, f := range []string{"hf", "state-spaces"} {
				ckDir := filepath.Join(dir, f)
				if !checkpoint.IsCheckpointDir(ckDir) {
					continue
				}
				// The case's model.bin was written with PyTorch's or NumPy's
				// float32 exp for A = -exp(A_log); load with the same.
				ck, err := checkpoint.Open(ckDir)
				require.NoError(t, err)
				name, ok, err := ck.MatchRounding(mb)
				require.NoError(t, err)
				require.True(t, ok, "model.bin's A matches no known exp rounding")
				t.Logf("%s: %s rounding", f, name)
				w, err := ck.Weights()
				require.NoError(t, err)
				requireSameLogits(t, want, logitsOf(t, w, c.Tokens), f)

				out := filepath.Join(t.TempDir(), "model.bin")
				f2, err := os.Create(out)
				require.NoError(t, err)
				require.NoError(t, ck.WriteModelBin(f2))
				require.NoError(t, f2.Close())
				ck.Close()
				ew, err := model.LoadModelBin(out)
				require.NoError(t, err)
				requireSameLogits(t, want, logitsOf(t, ew, c.Tokens), f+" exported")
				ew.Close()
			}
			assert.NotEmpty(t, want)
		})
	}
}
