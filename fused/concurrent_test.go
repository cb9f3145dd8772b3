package fused

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"mamba.go/common/model"
	"mamba.go/common/model/modeltest"
)

// While ForwardPrompt runs (held in a tracer call: with a tracer it goes
// token by token, through Forward's step, without taking the model's
// guard twice), Forward and ForwardPrompt from another goroutine return
// model.ErrConcurrentUse instead of joining the workers' barriers; so does
// ForwardPrompt while Forward runs. The prompt then ends as if they had
// not been called.
func TestForwardPromptIsNotConcurrent(t *testing.T) {
	w := modeltest.Weights(t, smallShapes["odd"], 1)
	prompt := modeltest.Tokens(w.Config, 5)
	fresh, err := NewWorkers(w, 3)
	require.NoError(t, err)
	defer fresh.Close()
	fresh.SetTracer(model.TracerFunc(func(int, int, model.Op, []float32) {})) // token by token, as m's
	want, err := fresh.ForwardPrompt(prompt)
	require.NoError(t, err)
	want = append([]float32(nil), want...)

	m, err := NewWorkers(w, 3)
	require.NoError(t, err)
	defer m.Close()
	var errs []error
	other := func(call func() error) {
		done := make(chan error)
		go func() { done <- call() }()
		errs = append(errs, <-done)
	}
	calls := 0
	m.SetTracer(model.TracerFunc(func(pos, layer int, op model.Op, _ []float32) {
		if calls++; calls == 1 {
			other(func() error { _, err := m.Forward(1); return err })
			other(func() error { _, err := m.ForwardPrompt(prompt); return err })
		}
	}))
	got, err := m.ForwardPrompt(prompt)
	require.NoError(t, err)
	require.Len(t, errs, 2)
	for _, err := range errs {
		assert.ErrorIs(t, err, model.ErrConcurrentUse)
	}
	assert.Equal(t, want, got, "the prompt as if alone")

	calls, errs = 0, nil
	m.SetTracer(model.TracerFunc(func(pos, layer int, op model.Op, _ []float32) {
		if calls++; calls == 1 {
			other(func() error { _, err := m.ForwardPrompt(prompt); return err })
		}
	}))
	_, err = m.Forward(2)
	require.NoError(t, err)
	require.Len(t, errs, 1)
	assert.ErrorIs(t, errs[0], model.ErrConcurrentUse)
}
