package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mamba.go/common/cli"
	"mamba.go/common/refcase"
)

var update = flag.Bool("update", false, "rewrite docs/course.md's worked trace (make course)")

// courseArgs is the command docs/course.md's worked trace comes from: the
// first token of testdata/cases/default, whose reference trace (trace.json,
// position 0) holds the same values.
var courseArgs = []string{"testdata/cases/default/model.bin", "-tokens", "304", "-n", "0", "-trace"}

const (
	courseBegin = "<!-- worked trace: made by make course, checked by make test -->\n"
	courseEnd   = "<!-- end of worked trace -->\n"
)

// The worked trace in docs/course.md is what bin/mamba-learning -trace
// prints today: a change to learning or to the printer that changes a
// single digit fails here until make course rewrites it.
func TestCourseTraceIsCurrent(t *testing.T) {
	root := refcase.RepoRoot()
	if _, err := os.Stat(filepath.Join(root, courseArgs[0])); err != nil {
		t.Skip("no testdata/cases/default: run make testdata")
	}
	args := append([]string{filepath.Join(root, courseArgs[0])}, courseArgs[1:]...)
	var stdout, stderr bytes.Buffer
	require.NoError(t, cli.Run("mamba-learning", args, &stdout, &stderr, newModel), stderr.String())
	block := courseBegin + "```\n$ bin/mamba-learning " + strings.Join(courseArgs, " ") + "\n" +
		strings.TrimRight(stdout.String(), "\n") + "\n```\n" + courseEnd

	path := filepath.Join(root, "docs", "course.md")
	doc, err := os.ReadFile(path)
	require.NoError(t, err)
	begin, end := bytes.Index(doc, []byte(courseBegin)), bytes.Index(doc, []byte(courseEnd))
	require.True(t, begin >= 0 && end > begin, "%s: no worked trace between %q and %q", path, courseBegin, courseEnd)
	current := string(doc[begin : end+len(courseEnd)])
	if *update {
		out := string(doc[:begin]) + block + string(doc[end+len(courseEnd):])
		require.NoError(t, os.WriteFile(path, []byte(out), 0o644))
		return
	}
	assert.Equal(t, block, current, "docs/course.md's worked trace is stale: run make course")
}
