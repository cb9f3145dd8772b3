#!/usr/bin/env bash
# run.sh: build the CPU emulator of the CUDA kernels (cuda/emu, README.md)
# and run cuda/emu_test.go with it: the kernels, and the host loop mirrored
# from cuda/mamba.go, against learning on small random models.
#
#   cuda/emu/run.sh            # g++ -O1 -fsanitize=address,undefined
#   EMU_SAN= cuda/emu/run.sh   # without the sanitizers (faster)
#   EMU_RUN=odd cuda/emu/run.sh   # only the shapes whose subtest name matches
#
# Needs g++ (C++17) and Go; no GPU, no nvcc. Builds into .cache/emu/.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
build="$repo/.cache/emu"
mkdir -p "$build"
CXX="${CXX:-g++}"
EMU_SAN="${EMU_SAN-address,undefined}"

# The kernels as one C++ file; `extern __shared__ T name[];` (dynamic shared
# memory) becomes a pointer to the block's dynamic shared memory.
{
	for cu in "$here"/../kernels/*.cu; do
		echo "#line 1 \"$cu\""
		sed -E 's/^([[:space:]]*)extern __shared__ ([A-Za-z0-9_]+) ([A-Za-z0-9_]+)\[\];/\1\2* \3 = (\2*)emu::dyn_shared();/' "$cu"
	done
} >"$build/kernels.gen.cpp"

flags=(-std=c++17 -O1 -g -Wall -Wno-unused-function -Wno-unknown-pragmas -I"$here" -I"$here/../kernels" -I"$build")
if [ -n "$EMU_SAN" ]; then
	flags+=(-fsanitize="$EMU_SAN" -fno-sanitize-recover=all)
fi
"$CXX" "${flags[@]}" -o "$build/emu" "$here/emu.cpp"
echo "run.sh: built $build/emu (sanitizers: ${EMU_SAN:-none})"

cd "$repo"
CUDA_EMU="$build/emu" go test -count=1 -timeout "${EMU_TIMEOUT:-30m}" -run "TestEmulator${EMU_RUN:+/$EMU_RUN}" -v ./cuda/
