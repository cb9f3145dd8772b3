package model

// PromptForwarder is a model that can take a whole prompt at once, faster
// than one Forward per token (fused batches the prompt's tokens so that
// each weight is read once per chunk of tokens rather than once per token).
// The state it leaves and the logits it returns are those of calling
// Forward on each token in turn, within rounding. A model with a Tracer
// set may feed the tokens one by one, so that the tracer sees every
// token's ops (fused does).
type PromptForwarder interface {
	// ForwardPrompt feeds tokens (at least one) in order and returns the
	// logits after the last one, [PaddedVocab()], owned by the model and
	// overwritten by its next call.
	ForwardPrompt(tokens []int) ([]float32, error)
}
