package model

// Mamba-2's step in the same vocabulary (docs/mamba2-step.md). It keeps
// Mamba-1's names wherever the op is the same and adds three where the math
// is new: dt_bias (Δ comes straight out of in_proj, plus a bias, instead of
// through x_proj and dt_proj), dt_limit (time_step_limit's clamp) and
// group_norm (the RMSNorm inside RMSNormGated). It has no x_proj phase:
//
//	in_proj_conv   norm, in_proj, conv, silu          h → normed → zxbcdt → xBC
//	dt_scan_gate   dt_bias, softplus, dt_limit,       → dt → y
//	               scan, skip_d, gate
//	out_proj       group_norm, out_proj, residual     y → out → h
//	head           norm_f, lm_head                    h → normed → logits
//
// With norm_before_gate the gate moves after group_norm, into out_proj.
// group_norm opens out_proj because it needs all of a group's y, which
// several workers computed.

// The ops only Mamba-2 has.
const (
	OpDtBias    Op = "dt_bias"    // dt = zxbcdt's Δ rows + dt_bias                 [h]
	OpDtLimit   Op = "dt_limit"   // dt = clamp(dt, time_step_limit)                [h]
	OpGroupNorm Op = "group_norm" // y = RMSNorm(y) within each group · gated_norm  [di]
)

// Ops2 lists every op of a Mamba-2 step (norm after gate) in execution
// order, as Ops does for Mamba-1; OpsFor gives the list of a model.
var Ops2 = []OpInfo{
	{OpEmbedding, "", "h", "[d]", func(c Config) int { return c.DModel }, false},
	{OpNorm, PhaseInProjConv, "normed", "[d]", func(c Config) int { return c.DModel }, true},
	{OpInProj, PhaseInProjConv, "zxbcdt", "[2di+2gn+h]", func(c Config) int { return c.InProjRows() }, true},
	{OpConv, PhaseInProjConv, "xBC", "[di+2gn]", func(c Config) int { return c.ConvDim() }, true},
	{OpSiLU, PhaseInProjConv, "xBC", "[di+2gn]", func(c Config) int { return c.ConvDim() }, true},
	{OpDtBias, PhaseDtScanGate, "dt", "[h]", func(c Config) int { return c.NHeads }, true},
	{OpSoftplus, PhaseDtScanGate, "dt", "[h]", func(c Config) int { return c.NHeads }, true},
	{OpDtLimit, PhaseDtScanGate, "dt", "[h]", func(c Config) int { return c.NHeads }, true},
	{OpScan, PhaseDtScanGate, "y", "[di]", func(c Config) int { return c.DInner }, true},
	{OpSkipD, PhaseDtScanGate, "y", "[di]", func(c Config) int { return c.DInner }, true},
	{OpGate, PhaseDtScanGate, "y", "[di]", func(c Config) int { return c.DInner }, true},
	{OpGroupNorm, PhaseOutProj, "y", "[di]", func(c Config) int { return c.DInner }, true},
	{OpOutProj, PhaseOutProj, "out", "[d]", func(c Config) int { return c.DModel }, true},
	{OpResidual, PhaseOutProj, "h", "[d]", func(c Config) int { return c.DModel }, true},
	{OpNormF, PhaseHead, "normed", "[d]", func(c Config) int { return c.DModel }, false},
	{OpLMHead, PhaseHead, "logits", "[V]", func(c Config) int { return c.PaddedVocab() }, false},
}

// OpsFor lists the ops of a step of a model of config c, in execution order.
func OpsFor(c Config) []OpInfo {
	switch c.Arch {
	case Mamba2:
	case FalconMamba:
		return OpsFalcon
	default:
		return Ops
	}
	if !c.NormBeforeGate {
		return Ops2
	}
	// RMSNorm(y)·SiLU(z): group_norm, then the gate, both in out_proj.
	ops := make([]OpInfo, 0, len(Ops2))
	for _, o := range Ops2 {
		switch o.Op {
		case OpGate:
			continue
		case OpOutProj:
			g, _ := lookupIn(Ops2, OpGate)
			g.Phase = PhaseOutProj
			ops = append(ops, g)
		}
		ops = append(ops, o)
	}
	return ops
}

func lookupIn(ops []OpInfo, op Op) (OpInfo, bool) {
	for _, o := range ops {
		if o.Op == op {
			return o, true
		}
	}
	return OpInfo{}, false
}
