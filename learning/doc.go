// Package learning is the naive CPU implementation of Mamba's recurrent step:
// one small function per operation, plain loops, written to be read from top
// to bottom. Speed matters least here; package fused has the same math
// rearranged for speed.
//
// The step follows mamba_ssm's Mamba.step inside MambaLMHeadModel (and
// mamba.c's forward): for each token,
//
//	h = embedding[token]
//	for each layer: h = h + Mixer(RMSNorm(h))
//	logits = lm_head · RMSNorm(h)
//
// Shapes: d = d_model, di = d_inner, r = dt_rank, n = d_state, k = d_conv,
// V = padded vocabulary.
package learning
