// Command mamba-fused generates text with the fused (fast CPU)
// implementation. Flags: see package mamba.go/common/cli.
package main

import (
	"mamba.go/common/cli"
	"mamba.go/common/model"
	"mamba.go/fused"
)

func main() {
	cli.Main("mamba-fused", func(w *model.Weights) (model.Mamba, error) { return fused.New(w) })
}
