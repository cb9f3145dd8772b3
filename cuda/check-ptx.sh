#!/usr/bin/env bash
# check-ptx.sh: is the committed PTX (cuda/kernels/*.ptx) what the kernels'
# CUDA C (cuda/kernels/*.cu) compiles to? For CI (.ci/run) and before a commit.
#
# It needs nvcc of the very version that made the committed PTX (the PTX's
# header records it: "Cuda compilation tools, release 11.8, V11.8.89");
# another nvcc would generate different but equally valid PTX, so with no
# nvcc or another version it says so and passes. It always checks that
# every .cu has its .ptx and no .ptx is left over.
# Exit status: 0 current (or not checkable), 1 stale.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/kernels"

status=0
for cu in *.cu; do
	[ -f "${cu%.cu}.ptx" ] || { echo "check-ptx: ${cu%.cu}.ptx is missing: run make ptx"; status=1; }
done
for ptx in *.ptx; do
	[ -f "${ptx%.ptx}.cu" ] || { echo "check-ptx: $ptx has no ${ptx%.ptx}.cu: delete it"; status=1; }
done
[ $status -eq 0 ] || exit $status

NVCC="${NVCC:-nvcc}"
if ! command -v "$NVCC" >/dev/null 2>&1; then
	echo "check-ptx: no nvcc here: only checked that every kernel has its PTX"
	exit 0
fi
want="$(grep -h -m1 -o 'V[0-9][0-9.]*' ./*.ptx | sort -u)"
have="$("$NVCC" --version | grep -o 'V[0-9][0-9.]*' | tail -1)"
if [ "$(printf '%s\n' "$want" | wc -l)" -ne 1 ]; then
	echo "check-ptx: the committed PTX comes from several nvcc versions ($(echo $want)): run make ptx"
	exit 1
fi
if [ "$want" != "$have" ]; then
	echo "check-ptx: committed PTX is from nvcc $want, this is nvcc $have: not comparable, skipped"
	exit 0
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$here/make-ptx.sh" "$tmp"
for ptx in *.ptx; do
	# The header comments name the compiler build; compare the code only.
	if ! diff -q <(grep -v '^//' "$ptx") <(grep -v '^//' "$tmp/$ptx") >/dev/null; then
		echo "check-ptx: kernels/$ptx is stale: run make ptx and commit it"
		status=1
	fi
done
[ $status -eq 0 ] && echo "check-ptx: PTX is current (nvcc $have)"
exit $status
