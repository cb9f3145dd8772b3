package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mamba.go/common/model"
	"mamba.go/common/npy"
	"mamba.go/common/refcase"
	"mamba.go/learning"
)

// caseDirs are the reference cases available: the project's own testdata and,
// when present, ../shared's HF transformers cases.
func caseDirs(t *testing.T) []string {
	root := refcase.RepoRoot()
	dirs := refcase.Dirs(filepath.Join(root, "testdata", "cases"))
	if shared := refcase.SharedDir(); shared != "" {
		dirs = append(dirs, refcase.Dirs(filepath.Join(shared, "reference", "hf-transformers"))...)
	} else {
		t.Log("skipping HuggingFace transformers' cases: no ../shared beside the project")
	}
	if len(dirs) == 0 {
		t.Skip("no reference cases: run make testdata")
	}
	return dirs
}

func TestCompareAllCasesPass(t *testing.T) {
	var out bytes.Buffer
	code, err := run(caseDirs(t), &out)
	t.Log("\n" + out.String())
	require.NoError(t, err)
	assert.Equal(t, 0, code)
	assert.Contains(t, out.String(), "PASS")
	assert.NotContains(t, out.String(), "FAIL")
}

// copyCase copies a case folder's reference files (not its model formats
// other than model.bin) into a temporary folder that the test may damage.
func copyCase(t *testing.T, src string) string {
	dst := t.TempDir()
	for _, f := range []string{"tokens.json", "logits.npy", "greedy.json", "model.bin"} {
		data, err := os.ReadFile(filepath.Join(src, f))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dst, f), data, 0o644))
	}
	return dst
}

func TestCompareFailsOnWrongLogits(t *testing.T) {
	dir := copyCase(t, caseDirs(t)[0])
	// Perturb one logit by 1% of the largest |logit|: compare must notice.
	a, err := npy.ReadFile(filepath.Join(dir, "logits.npy"))
	require.NoError(t, err)
	var maxAbs float32
	for _, v := range a.Data {
		maxAbs = max(maxAbs, v, -v)
	}
	a.Data[len(a.Data)/2] += maxAbs / 100
	f, err := os.Create(filepath.Join(dir, "logits.npy"))
	require.NoError(t, err)
	require.NoError(t, npy.Write(f, a))
	require.NoError(t, f.Close())

	var out bytes.Buffer
	code, err := run([]string{dir}, &out)
	assert.Error(t, err)
	assert.Equal(t, 1, code)
	assert.Contains(t, out.String(), "FAIL")
}

func TestCompareFailsOnWrongGreedy(t *testing.T) {
	dir := copyCase(t, caseDirs(t)[0])
	require.NoError(t, os.WriteFile(filepath.Join(dir, "greedy.json"), []byte(`{"prompt":[1,2],"tokens":[3,4,5]}`), 0o644))
	var out bytes.Buffer
	code, err := run([]string{dir}, &out)
	assert.Error(t, err)
	assert.Equal(t, 1, code)
	assert.Contains(t, out.String(), "greedy got")
}

func TestCompareRefusesBadArguments(t *testing.T) {
	var out bytes.Buffer
	_, err := run([]string{"-impl", "nosuch", "x"}, &out)
	assert.ErrorContains(t, err, `unknown implementation "nosuch"`)
	_, err = run(nil, &out)
	assert.ErrorContains(t, err, "no case folder")

	// A case that cannot be read fails its row; the other cases still run.
	out.Reset()
	code, err := run([]string{t.TempDir(), caseDirs(t)[0]}, &out)
	assert.Error(t, err)
	assert.Equal(t, 1, code)
	assert.Contains(t, out.String(), "tokens.json")
	assert.Contains(t, out.String(), "PASS")
}

// shifted is learning with every logit moved by delta: the argmax, the
// greedy tokens and the state are unchanged, only the logits' values move.
type shifted struct {
	model.Mamba
	delta  float32
	logits []float32
}

func (s *shifted) Forward(tok int) ([]float32, error) {
	l, err := s.Mamba.Forward(tok)
	if err != nil {
		return nil, err
	}
	s.logits = append(s.logits[:0], l...)
	for i := range s.logits {
		s.logits[i] += s.delta
	}
	return s.logits, nil
}

func TestCompareFailsWhenImplementationsDisagree(t *testing.T) {
	dir := caseDirs(t)[0]
	c, err := refcase.Load(dir)
	require.NoError(t, err)
	// Each is 0.6·tol from the reference (passes alone), 1.2·tol from the other.
	delta := float32(0.6 * DefaultTol * c.MaxAbsLogit())
	for name, d := range map[string]float32{"plus": delta, "minus": -delta} {
		impls[name] = func(w *model.Weights) (model.Mamba, error) {
			m, err := learning.New(w)
			return &shifted{Mamba: m, delta: d}, err
		}
	}
	defer delete(impls, "plus")
	defer delete(impls, "minus")

	var out bytes.Buffer
	code, err := run([]string{"-impl", "plus", dir}, &out)
	require.NoError(t, err, out.String())
	assert.Equal(t, 0, code)

	out.Reset()
	code, err = run([]string{"-impl", "plus,minus", dir}, &out)
	assert.Error(t, err)
	assert.Equal(t, 1, code)
	assert.Contains(t, out.String(), "vs model.bin/plus")
	assert.Contains(t, out.String(), "FAIL")
}

// An implementation that does not run an architecture (cuda and Mamba-2)
// says so with model.ErrUnsupported: its rows are skipped, not failed,
// while the same implementation still fails on a real error.
func TestCompareSkipsUnsupportedArchitecture(t *testing.T) {
	dir := filepath.Join(refcase.RepoRoot(), "testdata", "cases", "m2default")
	if _, err := os.Stat(dir); err != nil {
		t.Skip("testdata/cases/m2default is absent: run make testdata")
	}
	impls["mamba1only"] = func(w *model.Weights) (model.Mamba, error) {
		if w.Config.Arch != model.Mamba1 {
			return nil, fmt.Errorf("mamba1only: %w", model.ErrUnsupported)
		}
		return learning.New(w)
	}
	defer delete(impls, "mamba1only")
	var out bytes.Buffer
	code, err := run([]string{"-impl", "learning,mamba1only", dir}, &out)
	t.Log("\n" + out.String())
	require.NoError(t, err)
	assert.Equal(t, 0, code)
	assert.Contains(t, out.String(), "SKIP")
	assert.Contains(t, out.String(), "skipped: mamba1only: not supported")
}

// A lossy row (fused-bf16) passes on its own tolerance, and fails when
// its twin, a float32 implementation on the same rounded weights, does
// not agree to -tol, or when it is further than its own tolerance from
// the reference.
func TestCompareJudgesLossyRowsTwice(t *testing.T) {
	dir := caseDirs(t)[0]
	c, err := refcase.Load(dir)
	require.NoError(t, err)
	var out bytes.Buffer
	code, err := run([]string{"-impl", "learning,fused-bf16", dir}, &out)
	require.NoError(t, err, out.String())
	assert.Equal(t, 0, code)
	assert.Contains(t, out.String(), "vs learning on the same bfloat16-rounded weights")
	assert.Contains(t, out.String(), fmt.Sprintf("fused-bf16: %g vs the reference", BF16Tol))

	// -tol is the twin's tolerance: float32 noise is far above 1e-9.
	out.Reset()
	code, err = run([]string{"-impl", "fused-bf16", "-tol", "1e-9", dir}, &out)
	assert.Error(t, err)
	assert.Equal(t, 1, code)
	assert.Contains(t, out.String(), "fused-bf16: 0.02 vs the reference, 1e-09 vs learning on the same bfloat16-rounded weights")

	// The twin on the unrounded weights: the bfloat16 rounding itself is
	// now a disagreement far above -tol.
	lossy["wrong-twin"] = &lossyImpl{tol: BF16Tol, what: "learning on the unrounded weights", newTwin: impls["learning"]}
	impls["wrong-twin"] = impls["fused-bf16"]
	// Past its own tolerance: shifted by 1.5 × BF16Tol.
	// Its twin is shifted the same way, so that only the reference fails it.
	shift := float32(1.5 * BF16Tol * c.MaxAbsLogit())
	lossy["far"] = &lossyImpl{tol: BF16Tol, what: "the shifted twin", newTwin: func(w *model.Weights) (model.Mamba, error) {
		m, err := lossy["fused-bf16"].newTwin(w)
		return &shifted{Mamba: m, delta: shift}, err
	}}
	impls["far"] = func(w *model.Weights) (model.Mamba, error) {
		m, err := impls["fused-bf16"](w)
		return &shifted{Mamba: m, delta: shift}, err
	}
	defer func() {
		for _, n := range []string{"wrong-twin", "far"} {
			delete(lossy, n)
			delete(impls, n)
		}
	}()
	for _, name := range []string{"wrong-twin", "far"} {
		out.Reset()
		code, err = run([]string{"-impl", name, dir}, &out)
		assert.Error(t, err, name)
		assert.Equal(t, 1, code, name)
		assert.Contains(t, out.String(), "FAIL", name)
		if name == "far" {
			assert.Regexp(t, `vs the shifted twin: \S+ rel`, out.String())
			assert.NotContains(t, out.String(), "first divergence", "the twin agrees: nothing to localise")
		}
		if name == "wrong-twin" {
			// The failing row is localised against its twin: the unrounded
			// embedding already differs.
			assert.Regexp(t, `first divergence: token 0, op embedding: .* vs learning on the unrounded weights`, out.String())
		}
	}
}

// writeColumns rewrites dir's logits.npy with its first cols columns.
func writeColumns(t *testing.T, dir string, full *npy.Array, cols int) {
	t.Helper()
	a := &npy.Array{Rows: full.Rows, Cols: cols}
	for i := range full.Rows {
		a.Data = append(a.Data, full.Row(i)[:cols]...)
	}
	f, err := os.Create(filepath.Join(dir, "logits.npy"))
	require.NoError(t, err)
	require.NoError(t, npy.Write(f, a))
	require.NoError(t, f.Close())
}

// transformers dumps one logit per vocab_size entry, mamba_ssm and mamba.c
// one per padded entry: a case's logits may have either many columns
// (oddvocab: 1003 and 1008), and compare measures the columns there are.
func TestCompareTakesUnpaddedLogits(t *testing.T) {
	src := filepath.Join(refcase.RepoRoot(), "testdata", "cases", "oddvocab")
	if _, err := os.Stat(src); err != nil {
		t.Skip("testdata/cases/oddvocab is absent: run make testdata")
	}
	dir := copyCase(t, src)
	full, err := npy.ReadFile(filepath.Join(dir, "logits.npy"))
	require.NoError(t, err)
	require.Equal(t, 1008, full.Cols)

	writeColumns(t, dir, full, 1003)
	var out bytes.Buffer
	code, err := run([]string{"-impl", "learning,fused", dir}, &out)
	t.Log("\n" + out.String())
	require.NoError(t, err)
	assert.Equal(t, 0, code)
	assert.NotContains(t, out.String(), "FAIL")

	// The real vocabulary's columns are still measured.
	c, err := refcase.Load(dir)
	require.NoError(t, err)
	c.Logits.Data[1002] += float32(c.MaxAbsLogit() / 100)
	writeColumns(t, dir, c.Logits, 1003)
	out.Reset()
	code, err = run([]string{"-impl", "learning", dir}, &out)
	assert.Error(t, err)
	assert.Equal(t, 1, code)
	assert.Contains(t, out.String(), "FAIL")

	// Neither the vocabulary nor its padding: refused, naming the file.
	writeColumns(t, dir, full, 1005)
	out.Reset()
	code, err = run([]string{"-impl", "learning", dir}, &out)
	assert.Error(t, err)
	assert.Equal(t, 1, code)
	assert.Contains(t, out.String(), "logits.npy has 1005 columns, want the model's vocabulary 1003 or its padding to 1008")
}
