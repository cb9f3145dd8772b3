//go:build cuda

package cuda

// The GPU check that runs before anything else.
//
// gorgonia.org/cu calls cuInit in its package init and, when that fails,
// prints a long message to stdout and exits with status 1; Go offers no
// way to run code before a dependency's init. A C constructor does run
// earlier: the dynamic loader calls it after loading the shared libraries
// and before the Go runtime starts. So this one calls cuInit itself and,
// when there is no usable GPU, prints one line to stderr naming the reason
// and exits with status 1, before cu's init is reached.
//
// One case it cannot catch: with no NVIDIA driver installed at all, the
// dynamic loader cannot find libcuda.so.1 (which the binary links) and
// stops the program before any code of ours runs, with its own one line:
//
//	bin/mamba-cuda: error while loading shared libraries: libcuda.so.1: cannot open shared object file: No such file or directory
//
// (status 127).

/*
#cgo LDFLAGS: -lcuda
#include <cuda.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *mamba_cuda_prog = "mamba-cuda";

static void mamba_cuda_fail(const char *what, CUresult rc) {
	const char *name = NULL, *text = NULL;
	if (rc == CUDA_ERROR_STUB_LIBRARY) {
		name = "CUDA_ERROR_STUB_LIBRARY";
		text = "the libcuda.so.1 found is NVIDIA's link-time stub, not a driver";
	} else if (cuGetErrorName(rc, &name) != CUDA_SUCCESS || cuGetErrorString(rc, &text) != CUDA_SUCCESS) {
		name = NULL;
	}
	if (name != NULL && text != NULL)
		fprintf(stderr, "%s: no usable NVIDIA GPU: %s failed: %s (%s)\n", mamba_cuda_prog, what, name, text);
	else
		fprintf(stderr, "%s: no usable NVIDIA GPU: %s failed with CUresult %d\n", mamba_cuda_prog, what, (int)rc);
	_exit(1);
}

__attribute__((constructor)) static void mamba_cuda_precheck(int argc, char **argv) {
	if (argc > 0 && argv != NULL && argv[0] != NULL) {
		const char *slash = strrchr(argv[0], '/');
		mamba_cuda_prog = slash != NULL ? slash + 1 : argv[0];
	}
	CUresult rc = cuInit(0);
	if (rc != CUDA_SUCCESS) mamba_cuda_fail("cuInit", rc);
	int n = 0;
	rc = cuDeviceGetCount(&n);
	if (rc != CUDA_SUCCESS) mamba_cuda_fail("cuDeviceGetCount", rc);
	if (n == 0) {
		fprintf(stderr, "%s: no usable NVIDIA GPU: the driver sees no CUDA device\n", mamba_cuda_prog);
		_exit(1);
	}
}
*/
import "C"
