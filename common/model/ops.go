package model

// The vocabulary of one recurrent step, shared by every implementation, the
// trace, compare, the PyTorch reference (compare/reference/mamba_ref.py) and
// the docs (docs/mamba-step.md): the same phase and the same op carry the
// same name everywhere, so that one grep finds them all.
//
// A step runs, per layer, four phases, then the head:
//
//	in_proj_conv   norm, in_proj, conv, silu         h → normed → xz → u
//	x_proj         x_proj                            u → xDBC (Δ_low, B, C)
//	dt_scan_gate   dt_proj, softplus, scan, skip_d,  → dt → y
//	               gate
//	out_proj       out_proj, residual                y → out → h
//	head           norm_f, lm_head                   h → normed → logits
//
// A phase ends where the next one needs a whole vector that the phase
// computed (all of u, all of B and C, all of y, all of h): that is where
// fused's workers meet at a barrier and where cuda starts its next kernel.

// Phase names a group of ops that the fast implementations do in one pass.
type Phase string

// The phases, in the order of a step.
const (
	PhaseInProjConv Phase = "in_proj_conv"
	PhaseXProj      Phase = "x_proj"
	PhaseDtScanGate Phase = "dt_scan_gate"
	PhaseOutProj    Phase = "out_proj"
	PhaseHead       Phase = "head"
)

// Op names one operation of the step and the vector it leaves behind.
type Op string

// The ops, in the order of a step. Each one's comment is the quantity it
// produces, with its shape (d = d_model, di = d_inner, r = dt_rank,
// n = d_state, V = padded vocabulary).
const (
	OpEmbedding Op = "embedding" // h = embedding[token]                         [d]
	OpNorm      Op = "norm"      // normed = RMSNorm(h) · norm                    [d]
	OpInProj    Op = "in_proj"   // xz = in_proj · normed; x, z = xz[:di], xz[di:] [2di]
	OpConv      Op = "conv"      // conv1d(x): Σ_j convState[c][j] · w[c][j] + b[c] [di]
	OpSiLU      Op = "silu"      // u = SiLU(conv1d(x)), the scan's input          [di]
	OpXProj     Op = "x_proj"    // xDBC = x_proj · u = Δ_low, B, C               [r+2n]
	OpDtProj    Op = "dt_proj"   // dt = dt_proj · Δ_low + dt_bias                [di]
	OpSoftplus  Op = "softplus"  // dt = softplus(dt), Δ                           [di]
	OpScan      Op = "scan"      // h = exp(Δ·A)·h + Δ·B·u; y = C·h               [di]
	OpSkipD     Op = "skip_d"    // y += D · u                                    [di]
	OpGate      Op = "gate"      // y *= SiLU(z)                                  [di]
	OpOutProj   Op = "out_proj"  // out = out_proj · y                            [d]
	OpResidual  Op = "residual"  // h += out                                      [d]
	OpNormF     Op = "norm_f"    // normed = RMSNorm(h) · norm_f                  [d]
	OpLMHead    Op = "lm_head"   // logits = lm_head · normed                     [V]
)

// OpInfo describes one op: the phase it belongs to (none for the
// embedding), the quantity it leaves behind and that quantity's length for
// a model of some Config.
type OpInfo struct {
	Op       Op
	Phase    Phase
	Quantity string // the name the value has in the code: h, normed, xz, u, xDBC, dt, y, out, logits
	Shape    string // its shape in symbols: [d], [2di], [r+2n], [V]
	Len      func(c Config) int
	PerLayer bool // once per layer (else once per token)
}

// Ops lists every op of a step in execution order: the embedding, then a
// layer's ops (repeated for every layer), then the head's.
var Ops = []OpInfo{
	{OpEmbedding, "", "h", "[d]", func(c Config) int { return c.DModel }, false},
	{OpNorm, PhaseInProjConv, "normed", "[d]", func(c Config) int { return c.DModel }, true},
	{OpInProj, PhaseInProjConv, "xz", "[2di]", func(c Config) int { return 2 * c.DInner }, true},
	{OpConv, PhaseInProjConv, "u", "[di]", func(c Config) int { return c.DInner }, true},
	{OpSiLU, PhaseInProjConv, "u", "[di]", func(c Config) int { return c.DInner }, true},
	{OpXProj, PhaseXProj, "xDBC", "[r+2n]", func(c Config) int { return c.XProjRows() }, true},
	{OpDtProj, PhaseDtScanGate, "dt", "[di]", func(c Config) int { return c.DInner }, true},
	{OpSoftplus, PhaseDtScanGate, "dt", "[di]", func(c Config) int { return c.DInner }, true},
	{OpScan, PhaseDtScanGate, "y", "[di]", func(c Config) int { return c.DInner }, true},
	{OpSkipD, PhaseDtScanGate, "y", "[di]", func(c Config) int { return c.DInner }, true},
	{OpGate, PhaseDtScanGate, "y", "[di]", func(c Config) int { return c.DInner }, true},
	{OpOutProj, PhaseOutProj, "out", "[d]", func(c Config) int { return c.DModel }, true},
	{OpResidual, PhaseOutProj, "h", "[d]", func(c Config) int { return c.DModel }, true},
	{OpNormF, PhaseHead, "normed", "[d]", func(c Config) int { return c.DModel }, false},
	{OpLMHead, PhaseHead, "logits", "[V]", func(c Config) int { return c.PaddedVocab() }, false},
}

// LookupOp returns the description of op in a step of a model of config c
// (OpsFor(c): in_proj's length, and the gate's phase, depend on the
// architecture), and false for a name that is no op of that architecture.
func LookupOp(c Config, op Op) (OpInfo, bool) {
	return lookupIn(OpsFor(c), op)
}

// IsOp says whether op names an op of some architecture's step: the check a
// trace file can have before the model it belongs to is known.
func IsOp(op Op) bool {
	for _, ops := range [][]OpInfo{Ops, Ops2, OpsFalcon} {
		if _, ok := lookupIn(ops, op); ok {
			return true
		}
	}
	return false
}

// RMSEps is the epsilon of every RMSNorm in Mamba: RMSNorm(x) = x / sqrt(mean(x²) + RMSEps).
const RMSEps = 1e-5
