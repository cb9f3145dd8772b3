#!/usr/bin/env bash
# fetch-cuda-headers.sh: find or fetch what building the cuda package needs
# (cuda.h of CUDA ≤ 12, and libcuda.so to link against), and print the cgo
# settings for it as shell assignments:
#
#	eval "$(cuda/fetch-cuda-headers.sh)" && go build -tags cuda ./cuda/...
#
# In order:
#  1. $CUDA_HOME/include/cuda.h, if CUDA_HOME is set and its CUDA_VERSION is
#     below 13000 (gorgonia.org/cu v0.9.6 does not compile against CUDA 13),
#     linking against $CUDA_HOME/lib64/stubs (or lib64);
#  2. the cache folder, $CUDA_CACHE or .cache/cuda/ in the repository:
#     include/cuda.h and lib/libcuda.so, fetched once;
#  3. fetch them: Debian 12's non-free nvidia-cuda-dev package (CUDA 11.8)
#     is downloaded with apt-get into a private apt folder (no change to the
#     system's apt settings, no root needed) and only those two files are
#     extracted from it. libcuda.so there is NVIDIA's stub: it satisfies the
#     linker; at run time the binary loads the real driver's libcuda.so.1.
# Progress goes to stderr; stdout carries only the assignments.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
cache="${CUDA_CACHE:-$repo/.cache/cuda}"

emit() { # emit INCLUDE_DIR LIB_DIR
	printf 'export CGO_CFLAGS=%q\n' "-I$1"
	printf 'export CGO_LDFLAGS=%q\n' "-L$2"
	printf 'export CGO_ENABLED=1\n'
}

cuda_version() { sed -n 's/^#define CUDA_VERSION \([0-9]*\).*/\1/p' "$1" | head -1; }

if [ -n "${CUDA_HOME:-}" ] && [ -f "$CUDA_HOME/include/cuda.h" ]; then
	v="$(cuda_version "$CUDA_HOME/include/cuda.h")"
	if [ -n "$v" ] && [ "$v" -lt 13000 ]; then
		for lib in "$CUDA_HOME/lib64/stubs" "$CUDA_HOME/lib/stubs" "$CUDA_HOME/lib64" "$CUDA_HOME/lib"; do
			if [ -e "$lib/libcuda.so" ]; then
				echo "fetch-cuda-headers: using CUDA_HOME=$CUDA_HOME (CUDA_VERSION $v)" >&2
				emit "$CUDA_HOME/include" "$lib"
				exit 0
			fi
		done
		echo "fetch-cuda-headers: CUDA_HOME=$CUDA_HOME has no libcuda.so; using the cache" >&2
	else
		echo "fetch-cuda-headers: CUDA_HOME=$CUDA_HOME has CUDA_VERSION ${v:-?}; gorgonia.org/cu needs ≤ 12: using the cache" >&2
	fi
fi

if [ -f "$cache/include/cuda.h" ] && [ -f "$cache/lib/libcuda.so" ]; then
	emit "$cache/include" "$cache/lib"
	exit 0
fi

command -v apt-get >/dev/null || { echo "fetch-cuda-headers: no cuda.h ≤ 12 (set CUDA_HOME) and no apt-get to fetch Debian's" >&2; exit 1; }
echo "fetch-cuda-headers: fetching cuda.h and the libcuda.so stub from Debian's nvidia-cuda-dev (CUDA 11.8) into $cache" >&2
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/lists/partial" "$tmp/cache/archives/partial" "$tmp/etc/preferences.d"
cat >"$tmp/sources.list" <<'SOURCES'
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm non-free
SOURCES
apt_opts=(-q -o "Dir::Etc::SourceList=$tmp/sources.list" -o "Dir::Etc::SourceParts=$tmp/none"
	-o "Dir::Etc::Preferences=$tmp/none" -o "Dir::Etc::PreferencesParts=$tmp/etc/preferences.d"
	-o "Dir::State::Lists=$tmp/lists" -o "Dir::Cache=$tmp/cache" -o "Debug::NoLocking=1"
	-o "APT::Sandbox::User=$(id -un)")
apt-get "${apt_opts[@]}" update >&2
(cd "$tmp" && apt-get "${apt_opts[@]}" download nvidia-cuda-dev >&2)
deb="$(ls "$tmp"/nvidia-cuda-dev_*.deb)"
mkdir -p "$tmp/x"
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp/x" ./usr/include/cuda.h ./usr/lib/x86_64-linux-gnu/stubs/libcuda.so
mkdir -p "$cache/include" "$cache/lib"
cp "$tmp/x/usr/include/cuda.h" "$cache/include/cuda.h"
cp "$tmp/x/usr/lib/x86_64-linux-gnu/stubs/libcuda.so" "$cache/lib/libcuda.so"
echo "fetch-cuda-headers: $(basename "$deb") → $cache (CUDA_VERSION $(cuda_version "$cache/include/cuda.h"))" >&2
emit "$cache/include" "$cache/lib"
