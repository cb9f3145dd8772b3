// Package refcase reads a reference case: a folder in the case layout that
// compare and the tests share (see ../shared/README.md):
//
//	tokens.json   JSON array of token ids, fed one at a time from an empty state
//	logits.npy    float32 [len(tokens)][padded_vocab or vocab], the logits after each token
//	greedy.json   {"prompt": [...], "tokens": [...]}: greedy continuation of prompt
//	model.bin     the weights in mamba.c's format
//	hf/, state-spaces/  the same weights as checkpoint folders (optional)
//	trace.json, trace.npy  every op's result for the first tokens (optional; common/trace)
package refcase

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"mamba.go/common/npy"
	"mamba.go/common/trace"
)

// Case is one reference case loaded from its folder.
type Case struct {
	Name   string
	Dir    string
	Tokens []int
	Logits *npy.Array // [len(Tokens)][padded_vocab or vocab]
	Greedy Greedy
	Trace  *trace.Trace // the reference's intermediates for the first tokens; nil if the case has none
}

// Greedy is a greedy continuation: Tokens follow Prompt at temperature 0.
type Greedy struct {
	Prompt []int `json:"prompt"`
	Tokens []int `json:"tokens"`
}

// Load reads the case in dir.
func Load(dir string) (*Case, error) {
	// Name a case by its folder and the folder above, since case names
	// repeat across sets (testdata/cases/oddvocab, hf-transformers/oddvocab).
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	c := &Case{Name: filepath.Join(filepath.Base(filepath.Dir(abs)), filepath.Base(abs)), Dir: dir}
	if err := readJSON(filepath.Join(dir, "tokens.json"), &c.Tokens); err != nil {
		return nil, err
	}
	if err := readJSON(filepath.Join(dir, "greedy.json"), &c.Greedy); err != nil {
		return nil, err
	}
	logits, err := npy.ReadFile(filepath.Join(dir, "logits.npy"))
	if err != nil {
		return nil, err
	}
	if logits.Rows != len(c.Tokens) {
		return nil, fmt.Errorf("%s: logits.npy has %d rows for %d tokens", dir, logits.Rows, len(c.Tokens))
	}
	c.Logits = logits
	if c.Trace, err = trace.Load(dir); err != nil {
		return nil, err
	}
	if c.Trace != nil && c.Trace.Positions() > len(c.Tokens) {
		return nil, fmt.Errorf("%s: trace.json has %d positions for %d tokens", dir, c.Trace.Positions(), len(c.Tokens))
	}
	return c, nil
}

func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// ModelFormats lists the model files or folders of the case that exist,
// by name: "model.bin", "hf", "state-spaces".
func (c *Case) ModelFormats() []string {
	var out []string
	for _, name := range []string{"model.bin", "hf", "state-spaces"} {
		if _, err := os.Stat(filepath.Join(c.Dir, name)); err == nil {
			out = append(out, name)
		}
	}
	return out
}

// MaxAbsLogit is the largest |logit| of the case: errors are measured
// relative to it, since logit magnitudes differ a lot between cases.
func (c *Case) MaxAbsLogit() float64 {
	var m float64
	for _, v := range c.Logits.Data {
		if a := abs(float64(v)); a > m {
			m = a
		}
	}
	return m
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// RepoRoot finds the repository's root (the folder holding go.work) from
// the caller's source file, so tests find testdata and ../shared wherever
// `go test` runs them.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Dir(file)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// SharedDir is the reference data folder beside the project (../shared),
// or $MAMBA_SHARED when set; "" when it is absent.
func SharedDir() string {
	dir := os.Getenv("MAMBA_SHARED")
	if dir == "" {
		root := RepoRoot()
		if root == "" {
			return ""
		}
		dir = filepath.Join(root, "..", "shared")
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return ""
	}
	return dir
}

// Dirs lists the case folders under parent (each subfolder with a tokens.json).
func Dirs(parent string) []string {
	entries, err := os.ReadDir(parent)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		d := filepath.Join(parent, e.Name())
		if _, err := os.Stat(filepath.Join(d, "tokens.json")); e.IsDir() && err == nil {
			out = append(out, d)
		}
	}
	return out
}
