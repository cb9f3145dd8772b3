// Package generate is the generation loop shared by every implementation:
// feed the prompt (at once when the model is a model.PromptForwarder, else
// one token at a time), then sample, emit and feed back one
// token per step, timing the two phases apart.
package generate

import (
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"mamba.go/common/memory"
	"mamba.go/common/model"
	"mamba.go/common/sample"
)

// Stats are the counts and times of one generation, for tok/s reports.
type Stats struct {
	PromptTokens int
	PromptTime   time.Duration
	GenTokens    int
	GenTime      time.Duration
}

// PromptTokPerSec is the prompt's processing speed.
func (s Stats) PromptTokPerSec() float64 { return perSec(s.PromptTokens, s.PromptTime) }

// GenTokPerSec is the generation speed (sampling and emitting included).
func (s Stats) GenTokPerSec() float64 { return perSec(s.GenTokens, s.GenTime) }

func perSec(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// Options say how many tokens to make and when to stop early.
type Options struct {
	Steps int // tokens to generate after the prompt
	// StopToken ends generation when sampled (it is not emitted); -1 never stops.
	StopToken int
	// AfterPrompt, when set, runs once the prompt is fed, before the first
	// token is sampled (to save the state of the prompt, say).
	AfterPrompt func() error
	// PromptProgress, when set, is told how many of the prompt's tokens are
	// fed: done = 0 first, then after each token, or after each piece of
	// promptPiece tokens for a model.PromptForwarder (which then gets a
	// long prompt in such pieces rather than at once), for a progress bar
	// of a long prompt.
	PromptProgress func(done, total int64)
}

// promptPiece is how many tokens a model.PromptForwarder gets at once when
// the prompt's progress is reported: large enough that the pieces cost
// nothing measurable (each runs the head once more), small enough that a
// slow model reports every few seconds; a multiple of 48, the chunk fused
// batches, so that the pieces cut its chunks where the whole prompt would.
const promptPiece = 960

// SampleForwarder is a model that samples the next token itself (cuda.Mamba:
// on the GPU, copying back 4 bytes instead of the logits), taking its random
// draws from s (sample.Sampler.Coin) so that the same seed gives the same
// coins as sampling on the CPU. Generate uses it when the sampler is not
// greedy. As sample.Sampler.Sample, it draws nothing from a NaN or ±Inf
// logit: it returns a *sample.NonFiniteError (the first such token id and
// its value), which Generate reports as a sampling error.
type SampleForwarder interface {
	ForwardSample(token int, s *sample.Sampler) (int, error)
}

// Feeder is a model that can take a token for its state alone, without
// computing logits (cuda.Mamba: the output head is skipped). Generate uses
// it for the prompt's tokens before the last, whose logits nobody reads.
type Feeder interface {
	Feed(token int) error
}

// Generate feeds prompt into m (continuing from m's current state), then
// generates up to opt.Steps tokens with s, calling emit for each as soon as
// it is sampled. A greedy sampler and a model.ArgmaxForwarder take the
// argmax on the model's side, a SampleForwarder samples there; the tokens
// are the same. A model.PromptForwarder takes the whole prompt at once, a
// Feeder the prompt's tokens before the last without computing their logits.
func Generate(m model.Mamba, prompt []int, s *sample.Sampler, opt Options, emit func(id int) error) (Stats, error) {
	var st Stats
	switch {
	case m == nil:
		return st, errors.New("generate: no model (nil)")
	case s == nil:
		return st, errors.New("generate: no sampler (nil)")
	case emit == nil:
		return st, errors.New("generate: no emit function (nil)")
	case len(prompt) == 0:
		return st, fmt.Errorf("empty prompt: give at least one token")
	}
	progress := opt.PromptProgress
	if progress == nil {
		progress = func(done, total int64) {}
	}
	// forward feeds one token; pick chooses the next one from its output.
	var logits []float32
	forward := func(tok int) error {
		return guardFault(func() (err error) { logits, err = m.Forward(tok); return err })
	}
	pick := func() (int, error) { return s.Sample(logits) }
	samplesLogits := true // pick samples Forward's logits (not the model's own choice)
	// A model that chooses the token itself returns the choice's error (a
	// *sample.NonFiniteError) from the step: it is kept for pick, so that it
	// is reported, as s.Sample's is, only when the choice is used, and with
	// the position of the logits it was made from.
	var chosen int
	var chosenErr error
	choose := func(f func() (int, error)) error {
		return guardFault(func() (err error) {
			chosen, err = f()
			chosenErr = nil
			if nf := (*sample.NonFiniteError)(nil); errors.As(err, &nf) {
				chosenErr, err = err, nil
			}
			return err
		})
	}
	if g, ok := m.(model.ArgmaxForwarder); ok && s.Temperature <= 0 {
		forward = func(tok int) error { return choose(func() (int, error) { return g.ForwardArgmax(tok) }) }
		pick, samplesLogits = func() (int, error) { return chosen, chosenErr }, false
	} else if g, ok := m.(SampleForwarder); ok && s.Temperature > 0 {
		forward = func(tok int) error { return choose(func() (int, error) { return g.ForwardSample(tok, s) }) }
		pick, samplesLogits = func() (int, error) { return chosen, chosenErr }, false
	}
	feed := forward // a prompt token before the last
	if f, ok := m.(Feeder); ok {
		feed = func(tok int) error { return guardFault(func() error { return f.Feed(tok) }) }
	}
	// pos is the position of the token whose logits are sampled, counting
	// the prompt's tokens from 0.
	pos := len(prompt) - 1

	// The prompt at once when the model can (fused batches it, a
	// model.PromptForwarder) and its last logits are what is sampled; a
	// model that chooses the token itself (ForwardArgmax, ForwardSample)
	// is fed token by token, as it is fed the rest.
	start := time.Now()
	total := int64(len(prompt))
	progress(0, total)
	if pf, ok := m.(model.PromptForwarder); ok && samplesLogits {
		piece := len(prompt)
		if opt.PromptProgress != nil {
			piece = promptPiece
		}
		for i := 0; i < len(prompt); i += piece {
			part := prompt[i:min(i+piece, len(prompt))]
			err := guardFault(func() (err error) { logits, err = pf.ForwardPrompt(part); return err })
			if err != nil {
				return st, fmt.Errorf("prompt: %w", err)
			}
			progress(int64(i+len(part)), total)
		}
	} else {
		for i, tok := range prompt {
			step := forward
			if i < len(prompt)-1 {
				step = feed
			}
			if err := step(tok); err != nil {
				return st, fmt.Errorf("prompt token %d: %w", i, err)
			}
			progress(int64(i+1), total)
		}
	}
	st.PromptTokens, st.PromptTime = len(prompt), time.Since(start)
	if opt.AfterPrompt != nil {
		if err := opt.AfterPrompt(); err != nil {
			return st, err
		}
	}

	start = time.Now()
	for st.GenTokens < opt.Steps {
		next, err := pick()
		if err != nil {
			return st, fmt.Errorf("sampling after token position %d: %w", pos, err)
		}
		if next == opt.StopToken {
			break
		}
		st.GenTokens++
		if err := emit(next); err != nil {
			return st, err
		}
		if st.GenTokens == opt.Steps {
			break // the last token's logits are never used
		}
		if err := forward(next); err != nil {
			return st, err
		}
		pos++
	}
	st.GenTime = time.Since(start)
	return st, nil
}

// ErrModelFileChanged is a memory fault while reading the weights: the
// memory-mapped model file was truncated or rewritten under the running
// program (reading a page past a file's new end raises SIGBUS).
var ErrModelFileChanged = errors.New("model file changed while in use (truncated or rewritten while memory-mapped); run again on an unchanging file")

// guardFault runs f with faults turned into panics (debug.SetPanicOnFault)
// and returns ErrModelFileChanged for one at an address of a mapped model
// file (memory.InMappedFile), instead of the runtime's fatal error; any
// other fault is a bug and panics on. It covers the calling goroutine only: an implementation that
// reads the weights on goroutines of its own must guard those itself.
func guardFault(f func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			if fault, ok := r.(interface{ Addr() uintptr }); ok && memory.InMappedFile(fault.Addr()) {
				err = fmt.Errorf("%w (fault at %#x)", ErrModelFileChanged, fault.Addr())
				return
			}
			panic(r)
		}
	}()
	return f()
}
