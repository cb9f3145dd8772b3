package model

import (
	"errors"
	"fmt"
)

// Mamba is what every implementation (learning, fused, cuda) provides: a
// recurrent language model that takes one token at a time. compare, the CLI
// and the tests use nothing else, so they treat the implementations alike;
// common/model/modeltest holds them all to the same contract.
//
// Every method but Config can fail, and says so: a device error is an
// error, never an empty state or a silent no-op. After Close every method
// but Config and Close returns ErrClosed.
type Mamba interface {
	// Config is the shape of the loaded model.
	Config() Config
	// Forward feeds one token id (0 ≤ token < VocabSize), advances the
	// recurrent state and returns the logits for the next token over the
	// padded vocabulary, [PaddedVocab()]. The slice is owned by the model
	// and overwritten by the next call.
	Forward(token int) ([]float32, error)
	// State returns a copy of the recurrent state: the tokens that follow
	// do not change it, and changing it does not change the model.
	State() (*State, error)
	// SetState replaces the recurrent state with a copy of s; a state of
	// another shape is refused.
	SetState(s *State) error
	// Reset empties the state, as before the first token.
	Reset() error
	// Close releases what the implementation holds (device memory,
	// threads). A second Close does nothing and returns nil.
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

// CheckToken refuses a token id that the vocabulary does not have.
func CheckToken(c Config, token int) error {
	if token < 0 || token >= c.VocabSize {
		return fmt.Errorf("token id %d out of range [0, %d)", token, c.VocabSize)
	}
	return nil
}
