// Package generate is the generation loop shared by every implementation:
// feed the prompt (at once when the model is a model.PromptForwarder, else
// one token at a time), then sample, emit and feed back one
// token per step, timing the two phases apart.
package generate

import (
	"fmt"
	"time"

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
}

// ArgmaxForwarder is a model that can return the greedy choice, the id of
// the largest logit over the unpadded vocabulary, instead of the logits
// (cuda.Mamba: 4 bytes back from the GPU per token instead of the whole
// vocabulary). Generate uses it when the sampler is greedy (temperature 0);
// the tokens are the same as sampling Forward's logits.
type ArgmaxForwarder interface {
	ForwardArgmax(token int) (int, error)
}

// Generate feeds prompt into m (continuing from m's current state), then
// generates up to opt.Steps tokens with s, calling emit for each as soon as
// it is sampled.
func Generate(m model.Mamba, prompt []int, s *sample.Sampler, opt Options, emit func(id int) error) (Stats, error) {
	var st Stats
	if len(prompt) == 0 {
		return st, fmt.Errorf("empty prompt: give at least one token")
	}
	// forward feeds one token; pick chooses the next one from its output.
	var logits []float32
	forward := func(tok int) (err error) { logits, err = m.Forward(tok); return err }
	pick := func() int { return s.Sample(logits) }
	g, argmax := m.(ArgmaxForwarder)
	argmax = argmax && s.Temperature <= 0
	if argmax {
		var best int
		forward = func(tok int) (err error) { best, err = g.ForwardArgmax(tok); return err }
		pick = func() int { return best }
	}

	// The prompt at once when the model can (fused batches it); the greedy
	// ForwardArgmax path feeds it token by token, as it feeds the rest.
	start := time.Now()
	if pf, ok := m.(model.PromptForwarder); ok && !argmax {
		var err error
		if logits, err = pf.ForwardPrompt(prompt); err != nil {
			return st, fmt.Errorf("prompt: %w", err)
		}
	} else {
		for i, tok := range prompt {
			if err := forward(tok); err != nil {
				return st, fmt.Errorf("prompt token %d: %w", i, err)
			}
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
		next := pick()
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
	}
	st.GenTime = time.Since(start)
	return st, nil
}
