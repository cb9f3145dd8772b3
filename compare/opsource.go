package main

import "mamba.go/common/model"

// Where learning reports each op: the file and line of its m.trace call,
// relative to the repository's root. The page of -html links every op name
// to its line, so that the op where a row parts from the reference leads
// straight to the code that computes it. TestLearningSourcesAreTraceCalls
// checks every line against learning's source and prints the right table
// when they have parted.

// learningSources are Mamba-1's and Falcon-Mamba's ops, and the embedding
// and the head of every architecture.
var learningSources = map[model.Op]string{
	model.OpEmbedding: "learning/mamba.go:99",
	model.OpNormF:     "learning/mamba.go:108",
	model.OpLMHead:    "learning/mamba.go:111",
	model.OpNorm:      "learning/mamba.go:126",
	model.OpInProj:    "learning/mamba.go:129",
	model.OpConv:      "learning/mamba.go:135",
	model.OpSiLU:      "learning/mamba.go:138",
	model.OpXProj:     "learning/mamba.go:143",
	model.OpBCDtNorm:  "learning/mamba.go:150",
	model.OpDtProj:    "learning/mamba.go:157",
	model.OpSoftplus:  "learning/mamba.go:160",
	model.OpScan:      "learning/mamba.go:164",
	model.OpSkipD:     "learning/mamba.go:167",
	model.OpGate:      "learning/mamba.go:170",
	model.OpOutProj:   "learning/mamba.go:175",
	model.OpResidual:  "learning/mamba.go:178",
}

// learningSources2 are Mamba-2's layer ops; its gate comes after
// group_norm, at learningGate2NormFirst, when the norm is before the gate.
var learningSources2 = map[model.Op]string{
	model.OpNorm:      "learning/mamba2.go:67",
	model.OpInProj:    "learning/mamba2.go:71",
	model.OpConv:      "learning/mamba2.go:77",
	model.OpSiLU:      "learning/mamba2.go:80",
	model.OpDtBias:    "learning/mamba2.go:87",
	model.OpSoftplus:  "learning/mamba2.go:90",
	model.OpDtLimit:   "learning/mamba2.go:93",
	model.OpScan:      "learning/mamba2.go:98",
	model.OpSkipD:     "learning/mamba2.go:101",
	model.OpGate:      "learning/mamba2.go:105",
	model.OpGroupNorm: "learning/mamba2.go:111",
	model.OpOutProj:   "learning/mamba2.go:119",
	model.OpResidual:  "learning/mamba2.go:122",
}

// learningGate2NormFirst is Mamba-2's gate with norm_before_gate.
const learningGate2NormFirst = "learning/mamba2.go:115"

// learningSource is where learning reports op in a model of config c
// ("" when it does not).
func learningSource(c model.Config, op model.Op) string {
	if c.Arch == model.Mamba2 {
		if op == model.OpGate && c.NormBeforeGate {
			return learningGate2NormFirst
		}
		if at, ok := learningSources2[op]; ok {
			return at
		}
		if info, ok := model.LookupOp(c, op); !ok || info.PerLayer {
			return ""
		}
	}
	return learningSources[op]
}
