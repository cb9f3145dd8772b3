package main

import (
	"mamba.go/common/model"
	"mamba.go/learning"
)

// impls are the implementations compare can run, by name. Implementations
// behind build tags (cuda) add themselves from their own files.
var impls = map[string]model.New{
	"learning": func(w *model.Weights) (model.Mamba, error) { return learning.New(w) },
}

// implOrder is the order in which implementations are listed and compared:
// the first one named is the baseline the others are compared with.
var implOrder = []string{"learning"}

// implHints say where an implementation that this build lacks is found.
var implHints = map[string]string{
	"cuda": "it is built only with -tags cuda: run bin/compare-cuda (make cuda)",
}
