package model

import "fmt"

// Mamba is what every implementation (learning, fused, cuda) provides: a
// recurrent language model that takes one token at a time. compare, the CLI
// and the tests use nothing else, so they treat the implementations alike.
type Mamba interface {
	// Config is the shape of the loaded model.
	Config() Config
	// Forward feeds one token id (0 ≤ token < VocabSize), advances the
	// recurrent state and returns the logits for the next token over the
	// padded vocabulary, [PaddedVocab()]. The slice is owned by the model
	// and overwritten by the next call.
	Forward(token int) ([]float32, error)
	// State returns a copy of the recurrent state.
	State() *State
	// SetState replaces the recurrent state; a state of another shape is refused.
	SetState(s *State) error
	// Reset empties the state, as before the first token.
	Reset()
	// Close releases what the implementation holds (device memory, threads).
	Close() error
}

// CheckToken refuses a token id that the vocabulary does not have.
func CheckToken(c Config, token int) error {
	if token < 0 || token >= c.VocabSize {
		return fmt.Errorf("token id %d out of range [0, %d)", token, c.VocabSize)
	}
	return nil
}
