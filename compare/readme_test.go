package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mamba.go/common/refcase"
)

// readmeBlocks returns the go.mod and the Go program of README.md's
// section "Use it from Go", its first plain and first go code block.
func readmeBlocks(t *testing.T, root string) (goMod, program string) {
	data, err := os.ReadFile(filepath.Join(root, "README.md"))
	require.NoError(t, err)
	readme := string(data)
	start := strings.Index(readme, "\n## Use it from Go\n")
	require.GreaterOrEqual(t, start, 0, "README.md has no section \"Use it from Go\"")
	section := readme[start+1:]
	if end := strings.Index(section, "\n## "); end >= 0 {
		section = section[:end]
	}
	block := func(fence string) string {
		m := regexp.MustCompile("(?s)\n" + regexp.QuoteMeta(fence) + "\n(.*?)\n```\n").FindStringSubmatch(section)
		require.NotNil(t, m, "the section has no %s block", fence)
		return m[1] + "\n"
	}
	return block("```"), block("```go")
}

// TestReadmeProgram builds README's program as a user would: a module of
// its own outside the repository, the go.mod README gives (its replace
// lines pointed at this clone), no workspace and no network, so that a
// module the program needs but README does not name fails the build.
// It then runs the program on the project's small test model and checks
// what it prints: the continuations fused/example_test.go prints for the
// same model, tokenizer and text.
func TestReadmeProgram(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a module: not in -short")
	}
	root := refcase.RepoRoot()
	goMod, program := readmeBlocks(t, root)
	require.Contains(t, goMod, "../mamba.go/", "README's replace lines point at a clone beside the module")
	goMod = strings.ReplaceAll(goMod, "../mamba.go/", root+"/")
	assert.Equal(t, 2, strings.Count(goMod, " => "), "one replace per module the program imports (common, fused)")

	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte(goMod), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "main.go"), []byte(program), 0o644))
	// As README says: go mod tidy, then build; from the module cache alone
	// (GOPROXY=off), which holds what common and fused require. go list -m
	// all, which gopls and govulncheck run, needs every module in the
	// graph: it fails if fused requires a mamba.go module README does not
	// replace (learning, when fused's tests imported it).
	for _, args := range [][]string{{"mod", "tidy"}, {"build", "-o", "hello", "."}, {"list", "-m", "all"}} {
		cmd := exec.Command("go", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOPROXY=off", "GOFLAGS=", "GOSUMDB=off")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "go %s in README's module:\n%s", strings.Join(args, " "), out)
	}

	run := exec.Command(filepath.Join(dir, "hello"),
		filepath.Join(root, "testdata", "cases", "default", "model.bin"),
		filepath.Join(root, "common", "tokenizer", "testdata", "tokenizer.json"),
		"The state", " of", " is")
	run.Dir = dir
	var stdout, stderr strings.Builder
	run.Stdout, run.Stderr = &stdout, &stderr
	require.NoError(t, run.Run(), "README's program: %s", stderr.String())
	assert.Equal(t, "\ufffd\ufffd spaceges\x02\ufffd\n model\ufffd\ufffd\u043bes\ufffd\n", stdout.String())
	assert.FileExists(t, filepath.Join(dir, "prefix.state"))
}
