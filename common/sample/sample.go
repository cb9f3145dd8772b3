// Package sample picks the next token from logits: argmax at temperature 0,
// otherwise softmax at a temperature, optionally restricted to the nucleus
// (top-p). Sampling is reproducible: the same seed gives the same tokens.
package sample

import (
	"fmt"
	"math"
	"sort"
)

// Argmax is the index of the largest value (the first one on ties).
func Argmax(x []float32) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}

// Sampler draws tokens from logits over the first Vocab entries (the padded
// tail of the vocabulary is never sampled).
type Sampler struct {
	Vocab       int     // unpadded vocabulary size
	Temperature float32 // 0 means greedy
	TopP        float32 // nucleus mass in (0, 1]; 1 or more disables it
	rng         uint64  // xorshift64* state, as llama2.c's and mamba.c's sampler
	probs       []float32
	order       []int
}

// New returns a sampler; seed 0 is replaced by a fixed nonzero seed.
func New(vocab int, temperature, topP float32, seed uint64) *Sampler {
	if seed == 0 {
		seed = 0x9E3779B97F4A7C15
	}
	return &Sampler{Vocab: vocab, Temperature: temperature, TopP: topP, rng: seed,
		probs: make([]float32, vocab), order: make([]int, vocab)}
}

// randomUint32 is xorshift64* (Vigna), the generator llama2.c uses.
func (s *Sampler) randomUint32() uint32 {
	s.rng ^= s.rng >> 12
	s.rng ^= s.rng << 25
	s.rng ^= s.rng >> 27
	return uint32((s.rng * 0x2545F4914F6CDD1D) >> 32)
}

// randomFloat32 is uniform in [0, 1).
func (s *Sampler) randomFloat32() float32 {
	return float32(s.randomUint32()>>8) / 16777216.0
}

// Coin draws the uniform number in [0, 1) that the next Sample at a
// temperature above 0 would draw, and moves on as Sample would: a model
// that samples on its own device (cuda) takes its draws from here, so that
// the same seed gives it the same coins as the CPU.
func (s *Sampler) Coin() float32 { return s.randomFloat32() }

// NonFiniteError is a logit that is NaN or ±Inf: no token can be chosen
// from it (argmax and every comparison with NaN are false, softmax turns it
// into NaN probabilities), so sampling stops instead of guessing.
type NonFiniteError struct {
	ID    int     // the token id whose logit it is
	Value float32 // NaN, +Inf or -Inf
}

func (e *NonFiniteError) Error() string {
	return fmt.Sprintf("the logit of token id %d is %v, not a finite number (a NaN or Inf in the weights, the state or the computation)", e.ID, e.Value)
}

// Sample picks the next token from logits ([≥ Vocab]; not modified). It
// fails on a non-finite logit (NonFiniteError) in every mode, and on a
// temperature that is NaN, negative or infinite.
func (s *Sampler) Sample(logits []float32) (int, error) {
	if s.Vocab <= 0 || len(logits) < s.Vocab {
		return 0, fmt.Errorf("%d logits for a vocabulary of %d", len(logits), s.Vocab)
	}
	logits = logits[:s.Vocab]
	for i, l := range logits {
		if math.IsNaN(float64(l)) || math.IsInf(float64(l), 0) {
			return 0, &NonFiniteError{ID: i, Value: l}
		}
	}
	t := float64(s.Temperature)
	if math.IsNaN(t) || t < 0 || math.IsInf(t, 0) {
		return 0, fmt.Errorf("temperature %g: want a finite temperature ≥ 0", t)
	}
	if s.Temperature == 0 {
		return Argmax(logits), nil
	}
	// p_i = exp((l_i − max)/T) / Σ_j exp((l_j − max)/T)
	maxv := logits[Argmax(logits)]
	var sum float64
	for i, l := range logits {
		p := float32(math.Exp(float64((l - maxv) / s.Temperature)))
		s.probs[i] = p
		sum += float64(p)
	}
	for i := range s.probs {
		s.probs[i] = float32(float64(s.probs[i]) / sum)
	}
	coin := s.randomFloat32()
	if s.TopP > 0 && s.TopP < 1 {
		return s.sampleTopP(coin), nil
	}
	return sampleCDF(s.probs, coin), nil
}

// sampleCDF returns the first index whose cumulative probability exceeds coin.
func sampleCDF(probs []float32, coin float32) int {
	var cdf float32
	for i, p := range probs {
		cdf += p
		if coin < cdf {
			return i
		}
	}
	return len(probs) - 1 // rounding
}

// sampleTopP samples from the smallest set of most likely tokens whose
// probabilities add up to more than TopP, renormalised.
func (s *Sampler) sampleTopP(coin float32) int {
	// Tokens below (1 − p)/(n − 1) can never be in the nucleus: skip them
	// before sorting, as llama2.c does.
	if len(s.probs) == 1 {
		return 0
	}
	cutoff := (1 - s.TopP) / float32(len(s.probs)-1)
	order := s.order[:0]
	for i, p := range s.probs {
		if p >= cutoff {
			order = append(order, i)
		}
	}
	if len(order) == 0 {
		// Every probability is under the cutoff: with p < 1/n even the
		// most likely token can be. The nucleus is then that token alone.
		return Argmax(s.probs)
	}
	sort.SliceStable(order, func(a, b int) bool { return s.probs[order[a]] > s.probs[order[b]] })
	var mass float32
	last := len(order) - 1
	for i, idx := range order {
		mass += s.probs[idx]
		if mass > s.TopP {
			last = i
			break
		}
	}
	r := coin * mass
	var cdf float32
	for _, idx := range order[:last+1] {
		cdf += s.probs[idx]
		if r < cdf {
			return idx
		}
	}
	return order[last]
}
