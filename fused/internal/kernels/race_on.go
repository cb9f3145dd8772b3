//go:build race

package fused

// raceEnabled: this is the race detector's build (see chooseKernels).
const raceEnabled = true
