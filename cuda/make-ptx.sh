#!/usr/bin/env bash
# make-ptx.sh [OUTDIR]: compile every cuda/kernels/*.cu to PTX with nvcc.
#
# `make ptx` runs it to regenerate the committed PTX in cuda/kernels/ (the
# default OUTDIR); check-ptx.sh runs it into a temporary folder to see that
# the committed PTX is current. The PTX targets compute_75 (Turing and every
# later GPU, Hopper included): the driver compiles it for the GPU it finds.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here/kernels}"
NVCC="${NVCC:-nvcc}"
NVCCFLAGS="${NVCCFLAGS:--ptx -arch=compute_75 -O3}"
mkdir -p "$out"
cd "$here/kernels"
for cu in *.cu; do
	# shellcheck disable=SC2086
	"$NVCC" $NVCCFLAGS -o "$out/${cu%.cu}.ptx" "$cu"
done
