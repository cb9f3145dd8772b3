package model

// Tracer receives the named intermediate vectors of a step, as an
// implementation computes them: learning reports every op of Ops, fused
// and cuda at least the last op of every phase. It is how compare finds
// the first op where two implementations part, and how the course trace
// shows one token's walk through the model.
//
// A model with no tracer set pays one nil check per op.
type Tracer interface {
	// Trace is called after op has run, for the token at position pos
	// (tokens fed since the model was made or last Reset) in layer layer
	// (-1 for the embedding and the head). values is the implementation's
	// own buffer, valid only during the call: copy what you keep. A tracer
	// may also change values in place; the ops that follow read the
	// changed values, which is how the tests plant a bug in one op.
	Trace(pos, layer int, op Op, values []float32)
}

// Traceable is a model that reports its intermediates to a Tracer.
type Traceable interface {
	// SetTracer sets the tracer for the tokens that follow; nil turns
	// tracing off.
	SetTracer(t Tracer)
}

// TracerFunc adapts a function to a Tracer.
type TracerFunc func(pos, layer int, op Op, values []float32)

// Trace calls f.
func (f TracerFunc) Trace(pos, layer int, op Op, values []float32) { f(pos, layer, op, values) }
