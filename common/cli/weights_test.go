package cli

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mamba.go/common/model"
)

// TestWeightsFlag: -weights reaches the loader for an implementation that
// runs bfloat16 weights, and is refused by name for one that does not.
func TestWeightsFlag(t *testing.T) {
	path := testModel(t, 11)
	run := func(o Options, args ...string) (gotBF16 bool, err error) {
		var stdout, stderr bytes.Buffer
		err = RunOptions("mamba-test", append([]string{path, "-tokens", "1", "-n", "1"}, args...), &stdout, &stderr,
			func(w *model.Weights) (model.Mamba, error) {
				gotBF16 = w.BF16
				return newCounter(w)
			}, o)
		return gotBF16, err
	}
	bf16, err := run(Options{BF16Weights: true}, "-weights", "bf16")
	require.NoError(t, err)
	assert.True(t, bf16)
	for _, args := range [][]string{nil, {"-weights", "f32"}, {"-weights", "auto"}} {
		bf16, err = run(Options{BF16Weights: true}, args...)
		require.NoError(t, err)
		assert.False(t, bf16, "%v: a float32 model.bin stays float32", args)
	}
	_, err = run(Options{}, "-weights", "bf16")
	assert.EqualError(t, err, "-weights bf16: mamba-test runs float32 weights only (mamba-fused runs bfloat16 ones)")
	_, err = run(Options{BF16Weights: true}, "-weights", "half")
	assert.EqualError(t, err, `-weights "half": want f32, bf16 or auto`)
}
