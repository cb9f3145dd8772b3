package sample

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// must returns s.Sample that fails the test on an error.
func must(t *testing.T, s *Sampler) func([]float32) int {
	return func(logits []float32) int {
		t.Helper()
		id, err := s.Sample(logits)
		require.NoError(t, err)
		return id
	}
}

// One NaN or Inf among the logits is an error in every mode: greedy,
// plain sampling and top-p (it was a panic in top-p, nothing generated at
// -t 0, and always the last id at -p 1).
func TestNonFiniteLogitIsAnErrorInEveryMode(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	for _, mode := range []struct{ temp, topP float32 }{{0, 0.9}, {1, 0.9}, {1, 1}, {0.5, 0.5}} {
		for _, bad := range []float32{nan, inf, -inf} {
			for _, at := range []int{0, 2, 4} {
				logits := []float32{0, 1, 2, 3, 4}
				logits[at] = bad
				s := New(5, mode.temp, mode.topP, 1)
				_, err := s.Sample(logits)
				var nf *NonFiniteError
				require.ErrorAs(t, err, &nf, "t=%g p=%g logit %d = %v", mode.temp, mode.topP, at, bad)
				assert.Equal(t, at, nf.ID)
				assert.Contains(t, err.Error(), "not a finite number")
			}
		}
	}
	// Padding past the vocabulary is never looked at.
	id, err := New(2, 1, 0.9, 1).Sample([]float32{0, 1, nan})
	require.NoError(t, err)
	assert.Less(t, id, 2)
}

// A top-p so small that even the most likely token is under the pre-sort
// cutoff (1 − p)/(n − 1) picks that token instead of indexing an empty list.
func TestTinyTopPPicksTheMostLikely(t *testing.T) {
	s := New(2, 1, 1e-4, 1)
	assert.Equal(t, 1, must(t, s)([]float32{0, 0.001}))
}

// FuzzSample: any float32 logits (NaN and Inf included), any temperature
// and top-p: the sampler returns an id inside the vocabulary, or an error
// exactly when a logit is not finite or the temperature is not a finite
// number ≥ 0; never a panic.
func FuzzSample(f *testing.F) {
	enc := func(xs ...float32) []byte {
		b := make([]byte, 4*len(xs))
		for i, x := range xs {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
		}
		return b
	}
	f.Add(enc(0, 1, 2, 3), float32(1), float32(0.9), uint64(1))
	f.Add(enc(0, float32(math.NaN()), 2), float32(1), float32(0.9), uint64(2))
	f.Add(enc(-3e38, 3e38), float32(1e-45), float32(1e-9), uint64(3))
	f.Add(enc(1, 1), float32(0), float32(1), uint64(4))
	f.Fuzz(func(t *testing.T, raw []byte, temp, topP float32, seed uint64) {
		n := len(raw) / 4
		if n == 0 {
			return
		}
		logits := make([]float32, n)
		finite := true
		for i := range logits {
			logits[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
			finite = finite && !math.IsNaN(float64(logits[i])) && !math.IsInf(float64(logits[i]), 0)
		}
		goodTemp := temp >= 0 && !math.IsInf(float64(temp), 0)
		s := New(n, temp, topP, seed)
		for range 3 {
			id, err := s.Sample(logits)
			if !finite || !goodTemp {
				require.Error(t, err)
				continue
			}
			require.NoError(t, err)
			require.GreaterOrEqual(t, id, 0)
			require.Less(t, id, n)
		}
	})
}
