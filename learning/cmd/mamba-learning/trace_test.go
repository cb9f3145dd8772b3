package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mamba.go/common/cli"
	"mamba.go/common/model"
	"mamba.go/common/refcase"
)

// -trace prints every op of the model's own architecture, in order, with
// its phase, quantity, shape and length: Mamba-2's in_proj is zxbcdt
// [2di+2gn+h], and with norm_before_gate (m2odd) its gate follows
// group_norm in out_proj.
func TestTracePrintsEachArchitecturesOps(t *testing.T) {
	for _, name := range []string{"default", "m2default", "m2odd"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(refcase.RepoRoot(), "testdata", "cases", name, "model.bin")
			if _, err := os.Stat(path); err != nil {
				t.Skip("no testdata/cases/" + name + ": run make testdata")
			}
			w, err := model.LoadModelBin(path)
			require.NoError(t, err)
			c := w.Config
			w.Close()

			var stdout, stderr bytes.Buffer
			require.NoError(t, cli.Run("mamba-learning", []string{path, "-tokens", "5", "-n", "0", "-trace"}, &stdout, &stderr, newModel), stderr.String())
			var want []string // layer, phase, op, value, shape, len of every line
			line := func(layer string, o model.OpInfo) {
				phase := string(o.Phase)
				if phase == "" {
					phase = "-"
				}
				want = append(want, fmt.Sprintf("%s %s %s %s %s %d", layer, phase, o.Op, o.Quantity, o.Shape, o.Len(c)))
			}
			ops := model.OpsFor(c)
			line("-", ops[0])
			for l := range c.NLayers {
				for _, o := range ops {
					if o.PerLayer {
						line(fmt.Sprint(l), o)
					}
				}
			}
			line("-", ops[len(ops)-2])
			line("-", ops[len(ops)-1])

			lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
			require.Greater(t, len(lines), 2, stdout.String())
			assert.Equal(t, "position 0", lines[0])
			var got []string
			for _, l := range lines[2:] {
				f := strings.Fields(l)
				if len(f) < 6 {
					break // the prompt/speed line
				}
				got = append(got, strings.Join(f[:6], " "))
			}
			assert.Equal(t, want, got, stdout.String())
		})
	}
}
