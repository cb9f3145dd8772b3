package cuda

// The control block: what a step reads that changes from token to token,
// in device memory of its own, so that the launches of a step — and the
// CUDA graph captured from them — are the same for every token.

// stepControl is kernels/common.cuh's step_control, byte for byte: the host
// writes it (16 bytes) before a step when something in it changed; head's
// argmax and sample write the next token into token, or −1 − j when logit j
// is the first that is NaN or ±Inf (kernels/argmax.cuh; see nonFiniteID).
type stepControl struct {
	token       int32   // the token this step embeds; the chosen next token (or −1 − j) afterwards
	coin        float32 // the sampler's uniform draw in [0, 1)
	temperature float32 // > 0 when sample runs
	topP        float32 // nucleus mass; ≥ 1 or ≤ 0: none
}

// stepControlBytes is sizeof(step_control).
const stepControlBytes = 16

// controlLayout is where the control block and the scratch of the head's
// argmax and of the sampler live in their allocation.
type controlLayout struct {
	size  int64
	ctl   int64 // step_control
	partV int64 // [head blocks] float32: each block's best logit
	partI int64 // [head blocks] int32:   and its row
	done  int64 // [1] uint32: head blocks finished, 0 between launches
	probs int64 // [vocab] float32: the sampler's probabilities
}

func planControl(headBlocks, vocab int) controlLayout {
	var a arena
	l := controlLayout{
		ctl:   a.place(stepControlBytes / 4),
		partV: a.place(headBlocks),
		partI: a.place(headBlocks),
		done:  a.place(1),
		probs: a.place(vocab),
	}
	l.size = a.size
	return l
}

// nonFiniteID reads the token that head's argmax or sample chose: a token
// id, or (ok) the id of the first logit that is NaN or ±Inf, written as
// −1 − id, from which no token can be chosen (sample.NonFiniteError).
func nonFiniteID(chosen int32) (id int, ok bool) {
	if chosen >= 0 {
		return 0, false
	}
	return int(-1 - chosen), true
}
