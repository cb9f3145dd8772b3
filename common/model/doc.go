// Package model holds what every Mamba implementation shares: the model's
// configuration (Config), its weights (Weights, one Layer per block), the
// reader and writer of mamba.c's model.bin format, the recurrent state that a
// model carries from token to token (State) with its versioned file format,
// and the small interface (Mamba) that the learning, fused and cuda
// implementations satisfy (with ErrClosed, New and ArgmaxForwarder;
// modeltest holds every implementation to it). Layer.Tensors is the one
// table of a layer's tensors (name, shape, checkpoint name) that the
// model.bin format, the checkpoint loader, the random models and cuda's
// device layout walk. Beside them: the float32 and bfloat16 views and
// narrowing of the weights (BytesAsFloat32, NarrowToBF16) and the
// random-weight models of real shapes that the benchmarks and tests use
// (Shapes, WriteRandomModelBin, RandomWeights). File mapping and the
// memory checks live in common/memory, atomic file writes in
// common/atomicfile.
//
// Shapes are written as [rows][cols] in row-major order; every weight is a
// flat []float32 whose length is the product of its shape.
package model
