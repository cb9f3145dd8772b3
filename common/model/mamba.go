package model

import (
	"errors"
	"fmt"
	"sync/atomic"
)

// Mamba is what every implementation (learning, fused, cuda) provides: a
// recurrent language model that takes one token at a time. compare, the CLI
// and the tests use nothing else, so they treat the implementations alike;
// common/model/modeltest holds them all to the same contract.
//
// Every method but Config can fail, and says so: a device error is an
// error, never an empty state or a silent no-op. After Close every method
// but Config and Close returns ErrClosed.
//
// A model is not for concurrent use: it holds one recurrent state, and
// fused's workers and cuda's device run one step at a time. A call made
// while another call on the same model is in progress (from another
// goroutine, or from a Tracer inside the step) returns ErrConcurrentUse at
// once and changes nothing; Config alone may be called at any time. Use
// one model per goroutine, or take turns.
type Mamba interface {
	// Config is the shape of the loaded model.
	Config() Config
	// Forward feeds one token id (0 ≤ token < VocabSize), advances the
	// recurrent state and returns the logits for the next token over the
	// padded vocabulary, [PaddedVocab()]. The slice is owned by the model
	// and overwritten by the next call.
	Forward(token int) ([]float32, error)
	// State returns a copy of the recurrent state: the tokens that follow
	// do not change it, and changing it does not change the model. Its
	// Fingerprint is the model's weights' (Fingerprint), whatever state was
	// set, so that a saved state names the weights that continue it.
	State() (*State, error)
	// SetState replaces the recurrent state with a copy of s; a state of
	// another shape, or whose Fingerprint names other weights
	// (State.CheckFingerprint), is refused.
	SetState(s *State) error
	// Reset empties the state, as before the first token.
	Reset() error
	// Close releases what the implementation holds (device memory,
	// threads). A second Close does nothing and returns nil; a Close while
	// another call is in progress returns ErrConcurrentUse and closes
	// nothing.
	Close() error
}

// ArgmaxForwarder is a model that can return the greedy choice, the id of
// the largest logit over the unpadded vocabulary (the first on ties, as
// sample.Argmax), instead of the logits: cuda.Mamba copies 4 bytes back
// from the GPU per token instead of the whole vocabulary. The generation
// loop uses it when the sampler is greedy (temperature 0). As
// sample.Sampler.Sample, it chooses nothing from a NaN or ±Inf logit (where
// sample.Argmax would answer 0, the stop token, or a neighbour): it returns
// a *sample.NonFiniteError with the first such token id and its value.
type ArgmaxForwarder interface {
	ForwardArgmax(token int) (int, error)
}

// New makes an implementation's model over loaded weights (learning.New,
// fused.New, cuda.New, wrapped to return the interface): what the command
// line, compare and the conformance tests are given.
type New func(w *Weights) (Mamba, error)

// ErrClosed is what every implementation returns from Forward, State,
// SetState, Reset (and ForwardArgmax) once it is closed.
var ErrClosed = errors.New("model is closed")

// ErrConcurrentUse is what every implementation returns from a call made
// while another call on the same model is in progress (Mamba).
var ErrConcurrentUse = errors.New("model is in use by another call: a model is not for concurrent use")

// Guard is how an implementation refuses concurrent calls: every method
// but Config begins with Enter, which returns ErrConcurrentUse while
// another call holds the guard, and ends with Leave. Entering costs one
// atomic compare-and-swap; the zero value is free.
type Guard struct{ busy atomic.Bool }

// Enter takes the guard, or returns ErrConcurrentUse if a call holds it.
func (g *Guard) Enter() error {
	if !g.busy.CompareAndSwap(false, true) {
		return ErrConcurrentUse
	}
	return nil
}

// Leave gives the guard back; only the call that entered calls it.
func (g *Guard) Leave() { g.busy.Store(false) }

// CheckToken refuses a token id that the vocabulary does not have.
func CheckToken(c Config, token int) error {
	if token < 0 || token >= c.VocabSize {
		return fmt.Errorf("token id %d out of range [0, %d)", token, c.VocabSize)
	}
	return nil
}
