package model

import (
	"errors"
	"fmt"
	"math"
)

// ErrUnsupported is wrapped by the error of an implementation that does not
// run a model's architecture (cuda and Mamba-2): compare skips such a pair
// instead of failing it.
var ErrUnsupported = errors.New("not supported by this implementation")

// Arch is a model's architecture: which mixer its blocks have.
type Arch uint8

// The architectures. The zero value is Mamba-1, so that a Config written
// before Mamba-2 existed still means what it meant.
const (
	Mamba1      Arch = iota // Gu & Dao 2023: A [d_inner][d_state], x_proj and dt_proj
	Mamba2                  // Dao & Gu 2024 (SSD): a scalar A per head, one in_proj, a gated RMSNorm
	FalconMamba             // TII 2024: Mamba-1 with weightless RMSNorms on Δ_low, B and C (falcon.go)
)

func (a Arch) String() string {
	switch a {
	case Mamba1:
		return "Mamba-1"
	case Mamba2:
		return "Mamba-2"
	case FalconMamba:
		return "Falcon-Mamba"
	}
	return fmt.Sprintf("architecture %d", uint8(a))
}

// Mamba2Config holds the sizes and switches of a Mamba-2 mixer
// (docs/mamba2-step.md). With h = NHeads, p = HeadDim, g = NGroups,
// n = DState: d_inner = h·p, and every group of h/g heads shares one B
// and one C of n values each.
type Mamba2Config struct {
	NHeads  int // h: heads, each with one scalar A, one Δ and one D
	HeadDim int // p: channels per head
	NGroups int // g: groups of heads sharing B and C (and one RMSNorm group)
	// NormBeforeGate selects RMSNormGated's order: false (every released
	// model) is RMSNorm(y·SiLU(z)), true is RMSNorm(y)·SiLU(z).
	NormBeforeGate bool
	// DtMin, DtMax are time_step_limit: Δ is clamped to [DtMin, DtMax]
	// after the softplus. (0, +Inf), the default, changes nothing.
	DtMin, DtMax float32
}

// DtUnlimited is the time_step_limit that clamps nothing.
var DtUnlimited = [2]float32{0, float32(math.Inf(1))}

// ConvDim is the number of channels of the convolution: x, B and C go
// through it together in Mamba-2 (d_inner + 2·g·n); in Mamba-1 only x (d_inner).
func (c Config) ConvDim() int {
	if c.Arch == Mamba2 {
		return c.DInner + 2*c.NGroups*c.DState
	}
	return c.DInner
}

// InProjRows is the output size of in_proj: x and z in Mamba-1 (2·d_inner);
// z, x, B, C and Δ in Mamba-2 (2·d_inner + 2·g·n + h).
func (c Config) InProjRows() int {
	if c.Arch == Mamba2 {
		return 2*c.DInner + 2*c.NGroups*c.DState + c.NHeads
	}
	return 2 * c.DInner
}

// ConvStateLen is the size of one layer's convolution state, [ConvDim][DConv].
func (c Config) ConvStateLen() int { return c.ConvDim() * c.DConv }

// SSMStateLen is the size of one layer's SSM state: [d_inner][n] in
// Mamba-1, [h][p][n] in Mamba-2 (the same number of values, d_inner·n).
func (c Config) SSMStateLen() int { return c.DInner * c.DState }

// HeadsPerGroup is h/g: heads h·(h/g) … share group h/(h/g)'s B and C.
func (c Config) HeadsPerGroup() int { return c.NHeads / c.NGroups }

// validate2 is Validate for a Mamba-2 config.
func (c Config) validate2() error {
	for _, f := range []struct {
		name string
		v    int
	}{
		{"n_layers", c.NLayers}, {"vocab_size", c.VocabSize}, {"d_model", c.DModel},
		{"d_inner", c.DInner}, {"d_state", c.DState}, {"d_conv", c.DConv},
		{"n_heads", c.NHeads}, {"head_dim", c.HeadDim}, {"n_groups", c.NGroups},
	} {
		if f.v <= 0 || f.v > maxDim {
			return fmt.Errorf("%s is %d, want 1..%d", f.name, f.v, maxDim)
		}
	}
	if c.DtRank != 0 {
		return fmt.Errorf("dt_rank is %d: Mamba-2 has no Δ projection (want 0)", c.DtRank)
	}
	if c.MixerEps != 0 {
		return fmt.Errorf("mixer_rms_eps is %g: only Falcon-Mamba has mixer norms", c.MixerEps)
	}
	if c.NLayers > 4096 || c.DConv > 64 {
		return fmt.Errorf("implausible sizes: n_layers %d, d_conv %d", c.NLayers, c.DConv)
	}
	if int64(c.NHeads)*int64(c.HeadDim) != int64(c.DInner) {
		return fmt.Errorf("n_heads %d · head_dim %d is not d_inner %d", c.NHeads, c.HeadDim, c.DInner)
	}
	if c.NHeads%c.NGroups != 0 {
		return fmt.Errorf("n_heads %d is not a multiple of n_groups %d", c.NHeads, c.NGroups)
	}
	if !(c.DtMin >= 0 && c.DtMin < c.DtMax) { // NaN too
		return fmt.Errorf("time_step_limit (%g, %g): want 0 ≤ min < max", c.DtMin, c.DtMax)
	}
	d, di, v := float64(c.DModel), float64(c.DInner), float64(c.PaddedVocab())
	gn, h, k, l := float64(c.NGroups*c.DState), float64(c.NHeads), float64(c.DConv), float64(c.NLayers)
	if params := 2*v*d + l*((2*di+2*gn+h)*d+(di+2*gn)*(k+1)+3*h+di+d*di+d) + d; params > maxParams {
		return fmt.Errorf("implausible sizes: %.3g parameters", params)
	}
	return nil
}

func (c Config) layerParams2() int64 {
	d, di, h := int64(c.DModel), int64(c.DInner), int64(c.NHeads)
	cd, k := int64(c.ConvDim()), int64(c.DConv)
	return int64(c.InProjRows())*d + // in_proj
		cd*k + cd + // conv1d weight, bias
		3*h + // dt_bias, A, D
		di + // the gated RMSNorm's weight
		d*di + // out_proj
		d // norm
}

func (c Config) string2() string {
	return fmt.Sprintf("Mamba-2 n_layers=%d vocab=%d (padded %d) d_model=%d d_inner=%d n_heads=%d head_dim=%d n_groups=%d d_state=%d d_conv=%d tied_head=%v norm_before_gate=%v time_step_limit=(%g, %g)",
		c.NLayers, c.VocabSize, c.PaddedVocab(), c.DModel, c.DInner, c.NHeads, c.HeadDim, c.NGroups, c.DState, c.DConv,
		c.TiedHead, c.NormBeforeGate, c.DtMin, c.DtMax)
}

// NewMamba2Config is the config of a Mamba-2 model with d_inner = expand·d_model
// split into heads of headDim, time_step_limit unlimited and norm after gate.
func NewMamba2Config(nLayers, vocab, dModel, expand, headDim, nGroups, dState, dConv int, tied bool) Config {
	di := expand * dModel
	nh := 0
	if headDim > 0 {
		nh = di / headDim
	}
	return Config{Arch: Mamba2, NLayers: nLayers, VocabSize: vocab, DModel: dModel, DInner: di,
		DState: dState, DConv: dConv, TiedHead: tied,
		Mamba2Config: Mamba2Config{NHeads: nh, HeadDim: headDim, NGroups: nGroups,
			DtMin: DtUnlimited[0], DtMax: DtUnlimited[1]}}
}
