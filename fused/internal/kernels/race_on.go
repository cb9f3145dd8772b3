//go:build race

package kernels

// raceEnabled: this is the race detector's build (see chooseKernels).
const raceEnabled = true
