package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mamba.go/common/model"
	"mamba.go/common/refcase"
)

// opConstants maps the Go names of the ops (OpSkipD) to their values
// (skip_d), read from common/model's source.
func opConstants(t *testing.T, root string) map[string]model.Op {
	decl := regexp.MustCompile(`\b(Op\w+)\s+Op = "(\w+)"`)
	names := map[string]model.Op{}
	files, err := filepath.Glob(filepath.Join(root, "common", "model", "*.go"))
	require.NoError(t, err)
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, m := range decl.FindAllStringSubmatch(string(data), -1) {
			names[m[1]] = model.Op(m[2])
		}
	}
	require.NotEmpty(t, names, "no op constants in common/model")
	return names
}

// tracedAt returns the op that the line at ("learning/mamba.go:99") reports
// with m.trace, and "" when the line is no such call or does not exist.
func tracedAt(t *testing.T, root, at string, ops map[string]model.Op) model.Op {
	file, line, ok := strings.Cut(at, ":")
	require.True(t, ok, "%q is no file:line", at)
	n, err := strconv.Atoi(line)
	require.NoError(t, err, "%q", at)
	data, err := os.ReadFile(filepath.Join(root, file))
	require.NoError(t, err, "%q", at)
	lines := strings.Split(string(data), "\n")
	if n < 1 || n > len(lines) {
		return ""
	}
	m := regexp.MustCompile(`^\s*m\.trace\([^,]+, model\.(Op\w+),`).FindStringSubmatch(lines[n-1])
	if m == nil {
		return ""
	}
	return ops[m[1]]
}

// traceCalls lists learning's m.trace calls in file: "file:line" by op,
// the first call of each op.
func traceCalls(t *testing.T, root, file string, ops map[string]model.Op) map[model.Op]string {
	data, err := os.ReadFile(filepath.Join(root, file))
	require.NoError(t, err)
	calls := map[model.Op]string{}
	for i := range strings.Split(string(data), "\n") {
		at := fmt.Sprintf("%s:%d", file, i+1)
		if op := tracedAt(t, root, at, ops); op != "" && calls[op] == "" {
			calls[op] = at
		}
	}
	return calls
}

// Every op of every architecture's step links to a line of learning that
// reports that op (Mamba-2's layer ops to learning/mamba2.go): the table
// of opsource.go has not parted from the source. When it has, the message
// lists learning's calls as they are now.
func TestLearningSourcesAreTraceCalls(t *testing.T) {
	root := refcase.RepoRoot()
	ops := opConstants(t, root)
	configs := map[string]model.Config{
		"mamba1":                  {Arch: model.Mamba1},
		"falcon":                  {Arch: model.FalconMamba},
		"mamba2":                  {Arch: model.Mamba2},
		"mamba2 norm_before_gate": {Arch: model.Mamba2, Mamba2Config: model.Mamba2Config{NormBeforeGate: true}},
	}
	now := fmt.Sprintf("learning's calls now: mamba.go %v, mamba2.go %v",
		traceCalls(t, root, "learning/mamba.go", ops), traceCalls(t, root, "learning/mamba2.go", ops))
	for name, c := range configs {
		for _, o := range model.OpsFor(c) {
			at := learningSource(c, o.Op)
			require.NotEmpty(t, at, "%s: op %s has no line in opsource.go", name, o.Op)
			assert.Equal(t, o.Op, tracedAt(t, root, at, ops), "%s: op %s: %s is no m.trace call of it; %s", name, o.Op, at, now)
			if c.Arch == model.Mamba2 && o.PerLayer {
				assert.True(t, strings.HasPrefix(at, "learning/mamba2.go:"), "%s: op %s: %s is not Mamba-2's layer", name, o.Op, at)
			}
		}
	}
}
