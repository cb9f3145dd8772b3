// Command mamba-learning generates text with the learning (naive CPU)
// implementation. Flags: see package mamba.go/common/cli.
package main

import (
	"mamba.go/common/cli"
	"mamba.go/common/model"
	"mamba.go/learning"
)

func main() { cli.Main("mamba-learning", newModel) }

func newModel(w *model.Weights) (model.Mamba, error) { return learning.New(w) }
