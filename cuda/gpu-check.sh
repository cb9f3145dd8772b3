#!/usr/bin/env bash
# gpu-check.sh [OUTDIR]: verify and benchmark the cuda implementation on a
# GPU machine, in one call, building nothing and needing no Go there.
#
# Build what it needs on any machine with Go (no GPU, no nvcc):
#
#	make gpu-bundle        # gpu-bundle/: this script, bin/{mamba-cuda,compare-cuda,cuda-check,cuda.test}
#	                       # (stripped), the kernels' sources and PTX, testdata/cases (about 25 MB)
#
# carry gpu-bundle/ to the GPU machine and run, from any directory,
#
#	gpu-bundle/gpu-check.sh OUTDIR
#
# (or cuda/gpu-check.sh OUTDIR in a checkout where `make cuda` has built
# bin/). OUTDIR (default $GPU_CHECK_OUT, else ./gpu-check-out) receives:
#   summary.json   one object: each stage's status and the measurements;
#   benchmarks.md  the tables for docs/benchmarks.md;
#   log            everything every command printed;
#   ptx/           PTX compiled on the machine, if that was needed.
# The console gets one line per stage.
#
# Stages, each with its own time limit (seconds), the whole sized for about
# 8 minutes on one H200:
#   driver (60)   can the binaries start: libcuda.so.1 found, cuInit works,
#                 a GPU is there. On a machine without one it stops here with
#                 one line saying why.
#   ptx (60)      cuda-check smoke: load every kernel's PTX (the driver
#                 compiles it for the GPU), printing the JIT log of any that
#                 fails, and launch one tiny kernel. If the embedded PTX fails
#                 and nvcc is on PATH, compile kernels/*.cu for this GPU's
#                 architecture into OUTDIR/ptx and try again with
#                 MAMBA_PTX_DIR=OUTDIR/ptx, which every later stage then uses.
#   tests (240)   cuda.test: every kernel against learning on random models of
#                 awkward shapes, both launch paths (CUDA graph, kernel by
#                 kernel), greedy and sampled decoding on the device, state
#                 restore, Reset, Close, the tracer.
#   compare (120) compare-cuda -impl learning,cuda on testdata/cases (and the
#                 HF transformers cases of $MAMBA_SHARED_CASES if set).
#   matvec (150)  cuda-check bench-matvec: GB/s of matvec_v1 and matvec_v2 on
#                 the 2.8b model's matrices, each checked against the CPU.
#   tokps (120 a run)  bin/mamba-cuda on random models of $SHAPES (default
#                 "130m 2.8b", written to /tmp and deleted after): greedy
#                 through CUDA graphs, greedy kernel by kernel
#                 (MAMBA_CUDA_GRAPHS=0), sampled (-t 1 -p 0.9) on the device;
#                 $TOKENS tokens (256) after a 16-token prompt. No new shape
#                 starts after $BUDGET_S seconds (420).
# Exit status: 0 all checks passed, 1 a check failed, 2 no usable GPU or
# the bundle is incomplete. A stage after a failed driver or ptx stage is
# skipped; benchmarks are skipped if the tests time out (a hang).
set -uo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
if [ -x "$here/bin/cuda-check" ]; then # a gpu-bundle folder
	root="$here"
	kdir="$here/cuda/kernels"
	makeptx="$here/cuda/make-ptx.sh"
else # cuda/ of a checkout, binaries built by make cuda
	root="$(cd "$here/.." && pwd)"
	kdir="$here/kernels"
	makeptx="$here/make-ptx.sh"
fi
bin="$root/bin"

OUT="${1:-${GPU_CHECK_OUT:-$PWD/gpu-check-out}}"
mkdir -p "$OUT" || exit 2
OUT="$(cd "$OUT" && pwd)"
LOG="$OUT/log"
: >"$LOG"
SHAPES="${SHAPES:-130m 2.8b}"
TOKENS="${TOKENS:-256}"
BUDGET_S="${BUDGET_S:-420}"
COMMIT="${COMMIT:-$(cat "$root/COMMIT" 2>/dev/null || git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)}"
PROMPT="46,31834,310,247,747,1375,2317,1566,10336,285,253,1818,273,253,1566,15"
start=$(date +%s)
elapsed() { echo $(($(date +%s) - start)); }

# Stage results for summary.json: name, status (ok, FAILED, skipped), detail.
stages=()
measures=()
verdict=passed
gpu=""
ptx_source=embedded
json_str() { printf '"%s"' "$(printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' | tr '\n\t' '  ')"; }
write_summary() {
	{
		echo "{"
		echo "  \"commit\": $(json_str "$COMMIT"),"
		echo "  \"date\": $(json_str "$(date -u +%Y-%m-%dT%H:%M:%SZ)"),"
		echo "  \"gpu\": $(json_str "$gpu"),"
		echo "  \"ptx\": $(json_str "$ptx_source"),"
		echo "  \"verdict\": $(json_str "$verdict"),"
		echo "  \"seconds\": $(elapsed),"
		echo "  \"stages\": ["
		local i sep=","
		for i in "${!stages[@]}"; do
			[ "$i" -eq $((${#stages[@]} - 1)) ] && sep=""
			echo "    ${stages[$i]}$sep"
		done
		echo "  ],"
		echo "  \"measurements\": ["
		sep=","
		for i in "${!measures[@]}"; do
			[ "$i" -eq $((${#measures[@]} - 1)) ] && sep=""
			echo "    ${measures[$i]}$sep"
		done
		echo "  ]"
		echo "}"
	} >"$OUT/summary.json"
}
trap write_summary EXIT

# stage NAME STATUS DETAIL: record a stage and print its one console line.
stage() {
	stages+=("{\"stage\": $(json_str "$1"), \"status\": $(json_str "$2"), \"detail\": $(json_str "$3")}")
	echo "gpu-check: $1: $2${3:+: $3}" | tee -a "$LOG"
	if [ "$2" = FAILED ] && [ "$verdict" = passed ]; then verdict=FAILED; fi
}
# run LIMIT CMD...: run CMD with a time limit, its output to the log only.
run() {
	local limit="$1"
	shift
	echo "\$ $* (limit ${limit}s, at $(elapsed)s)" >>"$LOG"
	timeout "$limit" "$@" >>"$LOG" 2>&1
}

echo "gpu-check: commit $COMMIT, output in $OUT" >>"$LOG"
for b in mamba-cuda compare-cuda cuda-check cuda.test; do
	if [ ! -x "$bin/$b" ]; then
		verdict="incomplete"
		stage setup FAILED "$bin/$b is missing: make gpu-bundle (or make cuda) builds it"
		exit 2
	fi
done

# 1. driver: can a binary that links libcuda start, and is there a GPU?
command -v nvidia-smi >/dev/null 2>&1 && run 30 nvidia-smi
gpu="$(nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv,noheader 2>/dev/null | head -1)"
smoke_out="$OUT/smoke.txt"
timeout 60 "$bin/cuda-check" smoke >"$smoke_out" 2>&1
rc=$?
cat "$smoke_out" >>"$LOG"
if ! grep -q '^GPU 0:' "$smoke_out"; then
	verdict="no GPU"
	line="$(grep -v '^$' "$smoke_out" | tail -1)"
	case $rc in
	127) stage driver FAILED "no NVIDIA driver here: ${line:-libcuda.so.1 not found}" ;;
	124) stage driver FAILED "cuda-check smoke did not start within 60 s" ;;
	*) stage driver FAILED "${line:-cuda-check smoke exited with status $rc}" ;;
	esac
	exit 2
fi
stage driver ok "$(grep '^GPU 0:' "$smoke_out")"

# 2. ptx: the embedded PTX loads and runs; else, with nvcc, PTX made here.
if [ $rc -eq 0 ]; then
	stage ptx ok "embedded PTX ($(grep -m1 -o '\.version [0-9.]*, \.target [a-z_0-9]*' "$smoke_out"))"
else
	failed_line="$(grep -m1 'FAILED' "$smoke_out" || tail -1 "$smoke_out")"
	if command -v nvcc >/dev/null 2>&1; then
		cc="$(sed -n 's/.*compute capability \([0-9]*\)\.\([0-9]*\).*/\1\2/p' "$smoke_out" | head -1)"
		nv="$(nvcc --version | grep -o 'V[0-9][0-9.]*' | tail -1)"
		echo "gpu-check: the embedded PTX failed ($failed_line); compiling for compute_$cc with nvcc $nv" >>"$LOG"
		if run 120 env NVCCFLAGS="-ptx -arch=compute_$cc -O3" "$makeptx" "$OUT/ptx" &&
			run 60 env MAMBA_PTX_DIR="$OUT/ptx" "$bin/cuda-check" smoke; then
			export MAMBA_PTX_DIR="$OUT/ptx"
			ptx_source="nvcc $nv here, compute_$cc"
			stage ptx ok "embedded PTX failed ($failed_line); PTX from nvcc $nv here for compute_$cc works and is used from now on"
		else
			stage ptx FAILED "embedded PTX failed ($failed_line), and so did PTX from nvcc $nv here (see the log)"
			exit 1
		fi
	else
		stage ptx FAILED "$failed_line (no nvcc here to compile the kernels for this GPU)"
		exit 1
	fi
fi

# 3. tests: from the folder holding kernels/, which two of them read.
hung=0
(cd "$kdir/.." && run 240 "$bin/cuda.test" -test.v -test.count=1)
rc=$?
case $rc in
0) stage tests ok "$(grep -c '^    --- PASS\|^--- PASS' "$LOG") tests and subtests passed" ;;
124)
	hung=1
	stage tests FAILED "cuda.test timed out after 240 s (a hang?): benchmarks skipped"
	;;
*) stage tests FAILED "$(grep -m3 -- '--- FAIL' "$LOG" | tr -s ' ' | paste -sd ';' -) (status $rc; see the log)" ;;
esac

# 4. compare against learning on the reference cases.
cases=("$root"/testdata/cases/*)
if [ -n "${MAMBA_SHARED_CASES:-}" ] && [ -d "$MAMBA_SHARED_CASES" ]; then
	cases+=("$MAMBA_SHARED_CASES"/*)
fi
if [ $hung = 1 ]; then
	stage compare skipped "cuda.test hung"
elif run 120 "$bin/compare-cuda" -impl learning,cuda "${cases[@]}"; then
	stage compare ok "${#cases[@]} cases"
else
	stage compare FAILED "compare-cuda (see the log)"
fi

table="$OUT/benchmarks.md"
echo "GPU: ${gpu:-unknown}; commit $COMMIT; $(date -u +%Y-%m-%d); PTX: $ptx_source" >"$table"

# 5. matvec variants on the 2.8b shapes.
if [ $hung = 1 ]; then
	stage matvec skipped "cuda.test hung"
else
	timeout 150 "$bin/cuda-check" bench-matvec -shape 2.8b -reps 30 >"$OUT/matvec.md" 2>&1
	rc=$?
	cat "$OUT/matvec.md" >>"$LOG"
	{
		echo
		cat "$OUT/matvec.md"
	} >>"$table"
	while read -r m shp mb v geo us gbs err; do
		measures+=("{\"what\": \"matvec\", \"matrix\": $(json_str "$m"), \"variant\": $(json_str "$v"), \"us\": ${us:-null}, \"GBps\": ${gbs:-null}}")
	done < <(sed -n 's/^| \([a-z_]*\) | \(\[[0-9]*\]\[[0-9]*\]\) | \([0-9.]*\) | \(matvec_v[0-9]\) | \([0-9]* × [0-9]*\) | \([0-9.]*\) | \([0-9]*\) | \(.*\) |$/\1 \2 \3 \4 \5 \6 \7 \8/p' "$OUT/matvec.md" | sed 's/ × /x/')
	if [ $rc -eq 0 ]; then
		stage matvec ok "$(grep -c '| matvec_v' "$OUT/matvec.md") variant × matrix rows in matvec.md"
	else
		stage matvec FAILED "$(tail -1 "$OUT/matvec.md")"
	fi
fi

# 6. tok/s: the CLI's stderr line "prompt: N tokens, X tok/s; generated: M tokens, Y tok/s".
tokps() { # MODEL ENV... -- FLAGS...: prints "X Y"
	local model="$1" line
	shift
	local envs=()
	while [ "$1" != "--" ]; do
		envs+=("$1")
		shift
	done
	shift
	echo "\$ ${envs[*]} mamba-cuda $model $* (at $(elapsed)s)" >>"$LOG"
	line="$(env "${envs[@]}" timeout 120 "$bin/mamba-cuda" "$model" -tokens "$PROMPT" -n "$TOKENS" -ignore-eos -s 1 "$@" 2>&1 >/dev/null | tee -a "$LOG" | grep 'tok/s' | tail -1)"
	echo "$line" | sed -n 's/.*prompt: [0-9]* tokens, \([0-9.]*\) tok\/s; generated: [0-9]* tokens, \([0-9.]*\) tok\/s.*/\1 \2/p'
}
{
	echo
	echo "| shape | weights (GiB) | greedy tok/s, graphs | weights GB/s | greedy tok/s, kernel by kernel | sampled tok/s (-t 1 -p 0.9), graphs | prompt tok/s | load s |"
	echo "|---|---|---|---|---|---|---|---|"
} >>"$table"
if [ $hung = 1 ]; then
	stage tokps skipped "cuda.test hung"
else
	ran=0
	for shape in $SHAPES; do
		if [ "$(elapsed)" -gt "$BUDGET_S" ]; then
			echo "| $shape | - | skipped: past the ${BUDGET_S} s budget | | | | | |" >>"$table"
			continue
		fi
		model="/tmp/mamba-check-$shape.bin"
		if ! run 180 "$bin/cuda-check" random-model -shape "$shape" "$model"; then
			echo "| $shape | - | could not write the model | | | | | |" >>"$table"
			rm -f "$model"
			continue
		fi
		bytes=$(($(stat -c %s "$model") - 256))
		gib=$(awk -v b="$bytes" 'BEGIN { printf "%.2f", b / 2^30 }')
		t0=$(date +%s.%N)
		if ! run 120 "$bin/mamba-cuda" "$model" -tokens 1 -n 0; then
			echo "| $shape | $gib | failed to run (see the log) | | | | | |" >>"$table"
			stage "tokps $shape" FAILED "mamba-cuda could not run the model (see the log)"
			rm -f "$model"
			continue
		fi
		load=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
		read -r p_g g_g <<<"$(tokps "$model" MAMBA_CUDA_GRAPHS=1 -- -t 0)"
		read -r _ g_p <<<"$(tokps "$model" MAMBA_CUDA_GRAPHS=0 -- -t 0)"
		read -r _ g_s <<<"$(tokps "$model" MAMBA_CUDA_GRAPHS=1 -- -t 1 -p 0.9)"
		gbs=$(awk -v b="$bytes" -v t="${g_g:-0}" 'BEGIN { printf "%.0f", b * t / 1e9 }')
		echo "| $shape | $gib | ${g_g:-?} | $gbs | ${g_p:-?} | ${g_s:-?} | ${p_g:-?} | $load |" >>"$table"
		measures+=("{\"what\": \"tokps\", \"shape\": $(json_str "$shape"), \"greedy_graphs\": ${g_g:-null}, \"greedy_plain\": ${g_p:-null}, \"sampled_graphs\": ${g_s:-null}, \"prompt\": ${p_g:-null}, \"load_s\": $load}")
		ran=$((ran + 1))
		rm -f "$model"
	done
	stage tokps ok "$ran of $(echo $SHAPES | wc -w) shapes measured (benchmarks.md)"
fi

echo "gpu-check: $verdict in $(elapsed) s; $OUT/summary.json" | tee -a "$LOG"
[ "$verdict" = passed ]
