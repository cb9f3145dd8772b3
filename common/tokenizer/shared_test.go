package tokenizer

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// sharedRoot returns the project's shared reference data folder ($MAMBA_SHARED,
// else ../shared from the repository root) and whether it holds the
// tokenizer data.
func sharedRoot() (string, bool) {
	dir := os.Getenv("MAMBA_SHARED")
	if dir == "" {
		root, ok := repoRoot()
		if !ok {
			return "", false
		}
		dir = filepath.Join(root, "..", "shared")
	}
	_, err := os.Stat(filepath.Join(dir, "tokenizer", "gpt-neox-20b.tokenizer.json"))
	return dir, err == nil
}

func hasShared() bool {
	_, ok := sharedRoot()
	return ok
}

// sharedDir returns the shared folder, skipping the test when it is absent.
func sharedDir(t testing.TB) string {
	t.Helper()
	dir, ok := sharedRoot()
	if !ok {
		t.Skipf("reference data absent: %q has no tokenizer/gpt-neox-20b.tokenizer.json (../shared from the repository root, or set MAMBA_SHARED)", dir)
	}
	return dir
}

// repoRoot walks up from the working directory to the folder with go.work.
func repoRoot() (string, bool) {
	dir, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir, true
		}
		up := filepath.Dir(dir)
		if up == dir {
			return "", false
		}
		dir = up
	}
}

var neox struct {
	once sync.Once
	tok  *Tokenizer
	err  error
}

// neoxTokenizer loads the GPT-NeoX-20B tokenizer once for all tests.
func neoxTokenizer(t testing.TB) *Tokenizer {
	t.Helper()
	dir := sharedDir(t)
	neox.once.Do(func() {
		neox.tok, neox.err = Load(filepath.Join(dir, "tokenizer", "gpt-neox-20b.tokenizer.json"))
	})
	require.NoError(t, neox.err)
	return neox.tok
}
