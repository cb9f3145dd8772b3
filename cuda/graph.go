//go:build cuda

package cuda

// CUDA graphs: a token's whole step, captured once as a graph of kernel
// launches and replayed with one call, so that the GPU runs the kernels
// back to back instead of waiting for the host to launch each one
// (docs/cuda.md). gorgonia.org/cu v0.9.6 has no graph API, so these few
// driver calls are made here. They compile against cuda.h of CUDA 11.8 as
// of 12: cuStreamBeginCapture takes its capture mode there (the header maps
// it to cuStreamBeginCapture_v2), and a graph is instantiated with
// cuGraphInstantiateWithFlags, which has the same signature in 11.4 and
// later and in 12 (cuGraphInstantiate's differs between 11 and 12).

/*
#cgo LDFLAGS: -lcuda
#include <cuda.h>
*/
import "C"

import (
	"fmt"
	"unsafe"

	"gorgonia.org/cu"
)

// driverError is a CUresult as an error, with the driver's name and text.
type driverError C.CUresult

func (e driverError) Error() string {
	var name, text *C.char
	if C.cuGetErrorName(C.CUresult(e), &name) != C.CUDA_SUCCESS || C.cuGetErrorString(C.CUresult(e), &text) != C.CUDA_SUCCESS {
		return fmt.Sprintf("CUresult %d", int(e))
	}
	return C.GoString(name) + " (" + C.GoString(text) + ")"
}

func check(rc C.CUresult) error {
	if rc != C.CUDA_SUCCESS {
		return driverError(rc)
	}
	return nil
}

// newStream creates the stream that every kernel of the model runs on. A
// graph is captured from a stream, and the legacy default stream cannot be
// captured; this one is created blocking (CU_STREAM_DEFAULT), so the
// synchronous copies that cu makes on the default stream still wait for
// its kernels, and its kernels for them.
func newStream() (cu.Stream, error) {
	var s C.CUstream
	if err := check(C.cuStreamCreate(&s, C.CU_STREAM_DEFAULT)); err != nil {
		return cu.Stream{}, fmt.Errorf("cuda: creating a stream: %w", err)
	}
	return *(*cu.Stream)(unsafe.Pointer(&s)), nil // cu.Stream is the CUstream, unexported
}

// rawStream is the CUstream inside a cu.Stream.
func rawStream(s cu.Stream) C.CUstream { return *(*C.CUstream)(unsafe.Pointer(&s)) }

func destroyStream(s cu.Stream) error {
	if err := check(C.cuStreamDestroy(rawStream(s))); err != nil {
		return fmt.Errorf("cuda: destroying the stream: %w", err)
	}
	return nil
}

// graph is one captured, instantiated sequence of launches.
type graph struct {
	g    C.CUgraph
	exec C.CUgraphExec
}

// captureGraph records what launch puts on stream s (nothing runs) and
// instantiates it. Capture ends even when launch fails, so the stream is
// usable afterwards.
func captureGraph(s cu.Stream, launch func() error) (*graph, error) {
	cs := rawStream(s)
	if err := check(C.cuStreamBeginCapture(cs, C.CU_STREAM_CAPTURE_MODE_GLOBAL)); err != nil {
		return nil, fmt.Errorf("cuda: starting a graph capture: %w", err)
	}
	lerr := launch()
	g := &graph{}
	if err := check(C.cuStreamEndCapture(cs, &g.g)); err != nil && lerr == nil {
		lerr = fmt.Errorf("cuda: ending a graph capture: %w", err)
	}
	if lerr != nil {
		g.destroy()
		return nil, lerr
	}
	if err := check(C.cuGraphInstantiateWithFlags(&g.exec, g.g, 0)); err != nil {
		g.destroy()
		return nil, fmt.Errorf("cuda: instantiating the step's graph: %w", err)
	}
	return g, nil
}

// launch replays the graph on stream s.
func (g *graph) launch(s cu.Stream) error {
	if err := check(C.cuGraphLaunch(g.exec, rawStream(s))); err != nil {
		return fmt.Errorf("cuda: launching the step's graph: %w", err)
	}
	return nil
}

// destroy frees the graph; the context must be current.
func (g *graph) destroy() error {
	var first error
	if g.exec != nil {
		first = check(C.cuGraphExecDestroy(g.exec))
		g.exec = nil
	}
	if g.g != nil {
		if err := check(C.cuGraphDestroy(g.g)); err != nil && first == nil {
			first = err
		}
		g.g = nil
	}
	if first != nil {
		return fmt.Errorf("cuda: destroying a graph: %w", first)
	}
	return nil
}
