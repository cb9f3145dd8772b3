package model

import "fmt"

// VocabMultiple is what the vocabulary is padded up to: the embedding and the
// output head have PaddedVocab() rows, of which the last PaddedVocab()-VocabSize
// are never sampled (state-spaces' pad_vocab_size_multiple, mamba.c's rounding).
const VocabMultiple = 8

// Config is the shape of a Mamba language model: Mamba-1 (the zero Arch),
// Mamba-2 (config2.go) or Falcon-Mamba (falcon.go, Mamba-1's shape). No size is fixed: the real Mamba-1 models use
// DState 16 and DConv 4, but nothing here depends on that.
type Config struct {
	Arch      Arch // Mamba1 (the zero value), Mamba2 or FalconMamba
	NLayers   int  // number of residual blocks
	VocabSize int  // unpadded vocabulary size (50277 for GPT-NeoX-20B's tokenizer)
	DModel    int  // residual stream width ("dim" in mamba.c)
	DInner    int  // mixer width, expand·DModel
	DtRank    int  // Mamba-1: rank of the Δ projection, ceil(DModel/16) in real models; 0 in Mamba-2
	DState    int  // N: size of each channel's SSM state
	DConv     int  // width of the causal depthwise convolution
	TiedHead  bool // the output head is the embedding matrix (mamba.c's shared_classifier)

	Mamba2Config // the sizes only Mamba-2 has; zero in a Mamba-1 model

	// MixerEps is Falcon-Mamba's mixer_rms_eps, the ε of the weightless
	// RMSNorms of Δ_low, B and C (falcon.go); 0 in the other architectures.
	MixerEps float32
}

// PaddedVocab is VocabSize rounded up to a multiple of VocabMultiple.
func (c Config) PaddedVocab() int {
	return (c.VocabSize + VocabMultiple - 1) / VocabMultiple * VocabMultiple
}

// XProjRows is the output size of x_proj: Δ (DtRank), then B (DState), then C (DState).
func (c Config) XProjRows() int { return c.DtRank + 2*c.DState }

// maxDim bounds every size so that products of sizes cannot overflow and a
// corrupt header is refused before anything is allocated.
const maxDim = 1 << 24

// Validate reports the first size that cannot be a Mamba model.
func (c Config) Validate() error {
	switch c.Arch {
	case Mamba1:
		if c.MixerEps != 0 {
			return fmt.Errorf("mixer_rms_eps is %g: only Falcon-Mamba has mixer norms", c.MixerEps)
		}
	case FalconMamba:
		if err := c.validateFalcon(); err != nil {
			return err
		}
	case Mamba2:
		return c.validate2()
	default:
		return fmt.Errorf("unknown architecture %d", c.Arch)
	}
	for _, f := range []struct {
		name string
		v    int
	}{
		{"n_layers", c.NLayers}, {"vocab_size", c.VocabSize}, {"d_model", c.DModel},
		{"d_inner", c.DInner}, {"dt_rank", c.DtRank}, {"d_state", c.DState}, {"d_conv", c.DConv},
	} {
		if f.v <= 0 || f.v > maxDim {
			return fmt.Errorf("%s is %d, want 1..%d", f.name, f.v, maxDim)
		}
	}
	if c.NLayers > 4096 || c.DConv > 64 {
		return fmt.Errorf("implausible sizes: n_layers %d, d_conv %d", c.NLayers, c.DConv)
	}
	// Each size is bounded, but their products are not: count in float64
	// (exact far beyond this bound) so NumParams cannot overflow.
	d, di, v := float64(c.DModel), float64(c.DInner), float64(c.PaddedVocab())
	r, n, k, l := float64(c.DtRank), float64(c.DState), float64(c.DConv), float64(c.NLayers)
	params := 2*v*d + l*(3*di*d+di*(k+2*r+2*n+3)+d) + d
	if params > maxParams {
		return fmt.Errorf("implausible sizes: %.3g parameters (the largest Mamba has 2.8e9)", params)
	}
	return nil
}

// maxParams bounds the number of parameters (2^40, 4 TiB of float32).
const maxParams = 1 << 40

// NumParams is the number of float32 values in the model, the head included
// once whether or not it is tied.
func (c Config) NumParams() int64 {
	n := int64(c.PaddedVocab()) * int64(c.DModel) // embedding
	n += int64(c.NLayers) * c.layerParams()
	n += int64(c.DModel) // norm_f
	if !c.TiedHead {
		n += int64(c.PaddedVocab()) * int64(c.DModel)
	}
	return n
}

func (c Config) layerParams() int64 {
	if c.Arch == Mamba2 {
		return c.layerParams2()
	}
	d, di := int64(c.DModel), int64(c.DInner)
	r, s, k := int64(c.DtRank), int64(c.DState), int64(c.DConv)
	return 2*di*d + // in_proj
		di*k + di + // conv1d weight, bias
		(r+2*s)*di + // x_proj
		di*r + di + // dt_proj weight, bias
		di*s + di + // A, D
		d*di + // out_proj
		d // norm
}

func (c Config) String() string {
	if c.Arch == Mamba2 {
		return c.string2()
	}
	if c.Arch == FalconMamba {
		return c.stringFalcon()
	}
	return fmt.Sprintf("n_layers=%d vocab=%d (padded %d) d_model=%d d_inner=%d dt_rank=%d d_state=%d d_conv=%d tied_head=%v",
		c.NLayers, c.VocabSize, c.PaddedVocab(), c.DModel, c.DInner, c.DtRank, c.DState, c.DConv, c.TiedHead)
}
