package refcase

import (
	"fmt"
	"math"

	"mamba.go/common/model"
	"mamba.go/common/sample"
)

// DefaultTol is the largest logit error allowed, relative to the case's
// largest |logit|: float32 implementations land at 1e-7..1e-6 of it (see
// docs/compare.md for the measurements); 1e-5 leaves a margin for other
// summation orders (threads, GPU reductions) while still catching any real
// mistake, which shows up at 1e-3 or more on the project's cases.
const DefaultTol = 1e-5

// Result is how far one implementation's logits are from a case's.
type Result struct {
	MaxAbsErr      float64 // max |ours − reference| over every position and every column of the reference
	MaxRelErr      float64 // MaxAbsErr / the case's largest |logit|
	ArgmaxAgree    int     // positions whose argmax (over the unpadded vocab) agrees
	Positions      int     // positions compared
	GreedyOK       bool    // the greedy continuation is identical
	GreedyGot      []int   // our greedy tokens
	StateRestoreOK bool    // logits after restoring a half-way state are bit-identical
	Logits         [][]float32
}

// Pass reports whether r is within tol (relative to the largest |logit|)
// with every argmax, the greedy tokens and the state restore agreeing.
func (r *Result) Pass(tol float64) bool {
	return r.MaxRelErr <= tol && r.ArgmaxAgree == r.Positions && r.GreedyOK && r.StateRestoreOK
}

// Check runs m over the case from an empty state and measures it against
// the reference logits, the greedy continuation and a state save/restore.
// newModel makes a second, fresh instance to restore the state into. The
// reference has a column per padded vocabulary entry (mamba_ssm, mamba.c)
// or per vocabulary entry (transformers, whose vocab_size need not be a
// multiple of 8); the padding's columns are compared only where it has
// them: no sampler picks them.
func Check(c *Case, m model.Mamba, newModel func() (model.Mamba, error)) (*Result, error) {
	cfg := m.Config()
	cols := c.Logits.Cols
	if cols != cfg.PaddedVocab() && cols != cfg.VocabSize {
		return nil, fmt.Errorf("%s: logits.npy has %d columns, want the model's vocabulary %d or its padding to %d", c.Name, cols, cfg.VocabSize, cfg.PaddedVocab())
	}
	r := &Result{Positions: len(c.Tokens)}
	maxLogit := c.MaxAbsLogit()
	half := len(c.Tokens) / 2
	var halfState *model.State
	if err := m.Reset(); err != nil {
		return nil, fmt.Errorf("%s: reset: %w", c.Name, err)
	}
	for i, tok := range c.Tokens {
		logits, err := m.Forward(tok)
		if err != nil {
			return nil, fmt.Errorf("%s: token %d: %w", c.Name, i, err)
		}
		r.Logits = append(r.Logits, append([]float32(nil), logits...))
		ref := c.Logits.Row(i)
		for j, v := range logits[:cols] {
			r.MaxAbsErr = math.Max(r.MaxAbsErr, math.Abs(float64(v)-float64(ref[j])))
		}
		if sample.Argmax(logits[:cfg.VocabSize]) == sample.Argmax(ref[:cfg.VocabSize]) {
			r.ArgmaxAgree++
		}
		if i+1 == half {
			if halfState, err = m.State(); err != nil {
				return nil, fmt.Errorf("%s: state after token %d: %w", c.Name, i, err)
			}
		}
	}
	if maxLogit > 0 {
		r.MaxRelErr = r.MaxAbsErr / maxLogit
	}

	// Restore the half-way state into a fresh model: the rest must be identical.
	fresh, err := newModel()
	if err != nil {
		return nil, err
	}
	defer fresh.Close()
	if halfState != nil {
		if err := fresh.SetState(halfState); err != nil {
			return nil, err
		}
	}
	r.StateRestoreOK = true
	for i := half; i < len(c.Tokens); i++ {
		logits, err := fresh.Forward(c.Tokens[i])
		if err != nil {
			return nil, err
		}
		for j, v := range logits {
			if math.Float32bits(v) != math.Float32bits(r.Logits[i][j]) {
				r.StateRestoreOK = false
			}
		}
	}

	got, err := GreedyContinuation(m, c.Greedy.Prompt, len(c.Greedy.Tokens))
	if err != nil {
		return nil, err
	}
	r.GreedyGot = got
	r.GreedyOK = equalInts(got, c.Greedy.Tokens)
	return r, nil
}

// GreedyContinuation feeds prompt from an empty state and then n tokens,
// each the argmax over the unpadded vocabulary of the previous logits.
func GreedyContinuation(m model.Mamba, prompt []int, n int) ([]int, error) {
	if len(prompt) == 0 {
		return nil, fmt.Errorf("empty prompt")
	}
	if err := m.Reset(); err != nil {
		return nil, err
	}
	var logits []float32
	var err error
	for _, tok := range prompt {
		if logits, err = m.Forward(tok); err != nil {
			return nil, err
		}
	}
	vocab := m.Config().VocabSize
	out := make([]int, 0, n)
	for len(out) < n {
		next := sample.Argmax(logits[:vocab])
		out = append(out, next)
		if len(out) == n {
			break
		}
		if logits, err = m.Forward(next); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
