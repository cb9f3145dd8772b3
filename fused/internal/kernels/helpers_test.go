package kernels

import "mamba.go/fused/internal/testvec"

var (
	oddRows, oddCols = testvec.OddRows, testvec.OddCols
	randVec          = testvec.RandVec
	refMatVec        = testvec.RefMatVec
	plainMatVec      = testvec.PlainMatVec
)

// The 130m sizes the benchmarks run at: d 768, di 1536, r 48, n 16,
// V 50280, and the batched prompt's chunk of 48 tokens.
const (
	bD, bDi, bR, bN, bV = 768, 1536, 48, 16, 50280
	promptChunk         = 48
)
