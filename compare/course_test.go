package main

import (
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mamba.go/common/refcase"
)

// courseEdit is one source edit an exercise of docs/course.md asks for:
// in file (relative to the repository root) the text old, which must
// occur exactly once, becomes new.
type courseEdit struct {
	file, old, new string
}

// fusedScanSkipEdit is exercise 6: the D skip dropped from fused's Go
// scan, y[c] = (Σ_s C[s]·h[c][s] + D[c]·u)·SiLU(z[c]) without D[c]·u.
// It is the kernel of the Go set, which the course selects with
// MAMBA_FUSED_KERNELS=go: on an AVX2 or AVX-512 CPU the default set runs
// the assembly scan instead and would not see the edit.
var fusedScanSkipEdit = courseEdit{"fused/internal/kernels/scan.go", "y[c] = (yc + D[c]*uc) * SiLU32(z[c])", "y[c] = yc * SiLU32(z[c])"}

// The commands docs/course.md tells the student to run after an edit: the
// first for the edits of learning, the second for exercise 6.
const (
	courseCommand      = "go build -o bin/compare ./compare && bin/compare -impl learning,fused testdata/cases/default"
	courseFusedCommand = "go build -o bin/compare ./compare && MAMBA_FUSED_KERNELS=go bin/compare -impl learning,fused testdata/cases/default"
)

// courseExercise is an exercise that edits the sources: its number in
// docs/course.md, the edits, the command to run, the implementation the
// edits break and the one that stays right.
type courseExercise struct {
	number        int
	edits         []courseEdit
	command       string
	broken, other string
}

var courseExercises = []courseExercise{
	{1, []courseEdit{{"learning/mamba.go", "\tskipD(b.y, lw.D, b.u)\n", "\t// skipD(b.y, lw.D, b.u)\n"}},
		courseCommand, "learning", "fused"},
	{2, []courseEdit{{"learning/ops.go",
		"\t\tcopy(window, window[1:])\n\t\twindow[k-1] = x[c]\n",
		"\t\tcopy(window[1:], window)\n\t\twindow[0] = x[c]\n"}},
		courseCommand, "learning", "fused"},
	{3, []courseEdit{
		{"learning/mamba.go", "rmsNorm(b.normed, b.h, lw.Norm, model.RMSEps)", "rmsNorm(b.normed, b.h, lw.Norm, 1e-6)"},
		{"learning/mamba.go", "rmsNorm(normed, h, m.w.NormF, model.RMSEps)", "rmsNorm(normed, h, m.w.NormF, 1e-6)"}},
		courseCommand, "learning", "fused"},
	{4, []courseEdit{{"learning/mamba.go", "\tsoftplus(b.dt)\n", "\t// softplus(b.dt)\n"}},
		courseCommand, "learning", "fused"},
	{5, []courseEdit{{"learning/mamba.go", "\tgate(b.y, z)\n", "\tgate(b.y, x)\n\t_ = z\n"}},
		courseCommand, "learning", "fused"},
	{6, []courseEdit{fusedScanSkipEdit}, courseFusedCommand, "fused", "learning"},
}

// courseAnswer is a row of the course's answers table: what compare prints
// after "first divergence: token 0, layer 0, " for the broken row, against
// the reference and against the other implementation's row.
type courseAnswer struct {
	vsReference, vsOther string
}

// courseAnswers reads the table under "### Answers (measured)" of
// docs/course.md: rows "| N. … | `…` | `…` |", by N.
func courseAnswers(t *testing.T, course string) map[int]courseAnswer {
	start := strings.Index(course, "\n### Answers (measured)\n")
	require.GreaterOrEqual(t, start, 0, "docs/course.md has no section \"Answers (measured)\"")
	row := regexp.MustCompile("(?m)^\\| (\\d+)\\. [^|]*\\| `([^`]*)` \\| `([^`]*)` \\|$")
	answers := map[int]courseAnswer{}
	for _, m := range row.FindAllStringSubmatch(course[start:], -1) {
		n, err := strconv.Atoi(m[1])
		require.NoError(t, err)
		answers[n] = courseAnswer{vsReference: m[2], vsOther: m[3]}
	}
	return answers
}

// copyForCourse copies what building and running compare needs into dst:
// go.work, go.work.sum and every module go.work uses (no .git), and
// testdata/cases/default.
func copyForCourse(t *testing.T, root, dst string) {
	out, err := exec.Command("go", "work", "edit", "-json", filepath.Join(root, "go.work")).Output()
	require.NoError(t, err, "go work edit -json")
	var work struct{ Use []struct{ DiskPath string } }
	require.NoError(t, json.Unmarshal(out, &work))
	require.NotEmpty(t, work.Use, "go.work uses no module")
	dirs := []string{filepath.Join("testdata", "cases", "default")}
	for _, u := range work.Use {
		dirs = append(dirs, filepath.Clean(u.DiskPath))
	}
	for _, f := range []string{"go.work", "go.work.sum"} {
		copyFile(t, filepath.Join(root, f), filepath.Join(dst, f))
	}
	for _, dir := range dirs {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return err
			}
			rel, err := filepath.Rel(root, path)
			if err != nil {
				return err
			}
			copyFile(t, path, filepath.Join(dst, rel))
			return nil
		})
		require.NoError(t, err)
	}
}

func copyFile(t *testing.T, src, dst string) {
	data, err := os.ReadFile(src)
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Dir(dst), 0o755))
	require.NoError(t, os.WriteFile(dst, data, 0o644))
}

// applyEdit makes e in the copy at dir, failing when its text is not in
// the file exactly once: the course and the code have parted.
func applyEdit(t *testing.T, dir string, e courseEdit) {
	path := filepath.Join(dir, e.file)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	n := strings.Count(string(data), e.old)
	require.Equal(t, 1, n, "docs/course.md's edit of %s: %q is there %d times, not once: update the course and compare/course_test.go", e.file, e.old, n)
	require.NoError(t, os.WriteFile(path, []byte(strings.Replace(string(data), e.old, e.new, 1)), 0o644))
}

// courseEnv is the environment of the student's shell: the workspace of
// the copy, no network, the shared build cache, and no kernel choice
// unless the course's command makes it.
func courseEnv(dir string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MAMBA_FUSED_KERNELS=") && !strings.HasPrefix(kv, "GOWORK=") && !strings.HasPrefix(kv, "GOFLAGS=") {
			env = append(env, kv)
		}
	}
	// The copy holds no .git: nothing to stamp.
	return append(env, "GOWORK="+filepath.Join(dir, "go.work"), "GOPROXY=off", "GOFLAGS=-buildvcs=false")
}

// TestCourseExercises does each exercise of docs/course.md that edits the
// sources as a student does it: in a copy of the repository it makes the
// edit the course describes, runs the command the course gives (which
// builds compare, 3–7 s with a warm build cache; the exercises run two at
// a time, about 20 s in all on 2 cores) and requires the
// lines of the course's answers table: the broken implementation's row
// first parts from the reference's trace, and from the other
// implementation's, at token 0, layer 0 and the op and errors the table
// gives, and the three rows of the broken implementation (its three model
// formats) fail.
func TestCourseExercises(t *testing.T) {
	root := refcase.RepoRoot()
	data, err := os.ReadFile(filepath.Join(root, "docs", "course.md"))
	require.NoError(t, err)
	course := string(data)
	answers := courseAnswers(t, course)
	start := strings.Index(course, "\n## Exercises\n")
	require.GreaterOrEqual(t, start, 0, "docs/course.md has no section \"Exercises\"")
	exercises, _, _ := strings.Cut(course[start:], "\n### Answers (measured)\n")
	for _, cmd := range []string{courseCommand, courseFusedCommand} {
		block := regexp.MustCompile("(?m)^ *```\n *" + regexp.QuoteMeta(cmd) + "\n *```$")
		require.Regexp(t, block, exercises, "docs/course.md's exercises no longer give this command")
	}

	for _, ex := range courseExercises {
		t.Run(strconv.Itoa(ex.number), func(t *testing.T) {
			t.Parallel()
			answer, ok := answers[ex.number]
			require.True(t, ok, "docs/course.md's answers table has no row %d", ex.number)
			item := regexp.MustCompile(`(?s)\n` + strconv.Itoa(ex.number) + `\. \*\*.*?\n\n`).FindString(exercises)
			require.NotEmpty(t, item, "docs/course.md has no exercise %d", ex.number)
			dir := t.TempDir()
			copyForCourse(t, root, dir)
			for _, e := range ex.edits {
				assert.Contains(t, item, "`"+e.file+"`", "exercise %d names the file it edits", ex.number)
				applyEdit(t, dir, e)
			}

			cmd := exec.Command("sh", "-c", ex.command)
			cmd.Dir = dir
			cmd.Env = courseEnv(dir)
			got, err := cmd.CombinedOutput()
			out := string(got)
			require.FileExists(t, filepath.Join(dir, "bin", "compare"), "the build failed:\n%s", out)
			var exit *exec.ExitError
			require.ErrorAs(t, err, &exit, out)
			assert.Equal(t, 1, exit.ExitCode(), out)

			prefix := "cases/default model.bin/" + ex.broken + ": first divergence: token 0, layer 0, "
			for _, want := range []string{
				prefix + answer.vsReference + " vs reference\n",
				prefix + answer.vsOther + " vs model.bin/" + ex.other + "\n",
				"6 checks, 3 failed\n",
			} {
				assert.Contains(t, out, want, "exercise %d", ex.number)
			}
			assert.Regexp(t, `(?m)^cases/default +model\.bin +`+ex.broken+` .* FAIL `, out)
			assert.Regexp(t, `(?m)^cases/default +model\.bin +`+ex.other+` .* PASS `, out)
			t.Log("\n" + out)
		})
	}
}
