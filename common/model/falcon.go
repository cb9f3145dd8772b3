package model

import (
	"fmt"
	"math"
)

// Falcon-Mamba (tiiuae/falcon-mamba-7b, transformers' FalconMambaForCausalLM)
// is a Mamba-1 model with one change in the mixer: right after x_proj, Δ_low,
// B and C each go through an RMSNorm without a weight, with the config's
// own epsilon (mixer_rms_eps, 1e-6 in the released models):
//
//	Δ_low, B, C = split(x_proj · u, [r, n, n])
//	Δ_low = Δ_low / sqrt(mean(Δ_low²) + ε)
//	B     = B / sqrt(mean(B²) + ε)
//	C     = C / sqrt(mean(C²) + ε)
//
// and the step goes on as Mamba-1's (dt_proj, softplus, scan, …). Its
// weights, their shapes and its state are Mamba-1's: every table keyed on
// Arch == Mamba2 treats it as Mamba-1. The step gains one op, bcdt_norm,
// at the end of phase x_proj (docs/mamba-step.md, "Falcon-Mamba").

// OpBCDtNorm is the op only Falcon-Mamba has: xDBC after the three norms.
const OpBCDtNorm Op = "bcdt_norm" // Δ_low, B, C = each / sqrt(mean(each²) + ε)     [r+2n]

// DefaultMixerEps is FalconMambaConfig's mixer_rms_eps when a config does
// not say.
const DefaultMixerEps = 1e-6

// OpsFalcon lists every op of a Falcon-Mamba step in execution order:
// Mamba-1's with bcdt_norm after x_proj.
var OpsFalcon = func() []OpInfo {
	var ops []OpInfo
	for _, o := range Ops {
		ops = append(ops, o)
		if o.Op == OpXProj {
			ops = append(ops, OpInfo{OpBCDtNorm, PhaseXProj, "xDBC", "[r+2n]",
				func(c Config) int { return c.XProjRows() }, true})
		}
	}
	return ops
}()

// validateFalcon is Validate for a Falcon-Mamba config: Mamba-1's sizes
// (checked by Validate after it) and an epsilon that keeps the norms finite.
func (c Config) validateFalcon() error {
	if e := float64(c.MixerEps); !(e > 0 && e < 1) || math.IsInf(e, 0) {
		return fmt.Errorf("mixer_rms_eps is %g, want 0 < ε < 1", c.MixerEps)
	}
	return nil
}

func (c Config) stringFalcon() string {
	return fmt.Sprintf("Falcon-Mamba n_layers=%d vocab=%d (padded %d) d_model=%d d_inner=%d dt_rank=%d d_state=%d d_conv=%d tied_head=%v mixer_rms_eps=%g",
		c.NLayers, c.VocabSize, c.PaddedVocab(), c.DModel, c.DInner, c.DtRank, c.DState, c.DConv, c.TiedHead, c.MixerEps)
}

// NewFalconConfig is the config of a Falcon-Mamba model of Mamba-1's sizes
// with mixer_rms_eps eps.
func NewFalconConfig(nLayers, vocab, dModel, dInner, dtRank, dState, dConv int, tied bool, eps float32) Config {
	return Config{Arch: FalconMamba, NLayers: nLayers, VocabSize: vocab, DModel: dModel, DInner: dInner,
		DtRank: dtRank, DState: dState, DConv: dConv, TiedHead: tied, MixerEps: eps}
}
