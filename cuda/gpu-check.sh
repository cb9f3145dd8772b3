#!/usr/bin/env bash
# gpu-check.sh: verify and benchmark the cuda implementation on a GPU
# machine, in one call, building nothing. The GPU machine has no Go: the
# binaries are built beforehand, on any machine, by
#
#	make build cuda        # bin/mamba, bin/mamba-learning, bin/mamba-cuda (+ .gpu), bin/compare-cuda, bin/cuda.test
#
# and carried there with the working tree. With the project's device tool
# (run), from the repository root:
#
#	run(command="COMMIT=1a2b3c4 bash cuda/gpu-check.sh", carry=["bin"], timeout_s=540)
#
# with COMMIT the output of `git rev-parse --short HEAD` here, written out
# (the command runs there, where the copied tree may have no .git).
#
# and, to include the HF transformers reference cases of ../shared, first
# copy them into the (ignored) cache and carry that too:
#
#	mkdir -p .cache/shared && cp -r ../shared/reference .cache/shared/
#	run(command="COMMIT=1a2b3c4 bash cuda/gpu-check.sh", carry=["bin", ".cache/shared"], timeout_s=540)
#
# It writes $OUT/benchmarks.md (a markdown table, to paste into
# docs/benchmarks.md with the date, the commit and the nvidia-smi line) and
# $OUT/log (everything). Without $OUT (by hand) they go to ./gpu-check-out/.
# The whole run is sized for about 8 minutes on one H200: models of the
# 130m, 370m, 1.4b and 2.8b shapes with random weights are written to /tmp
# there by bin/mamba random-model (the 2.8b file is 10.3 GiB: too big to
# carry), one at a time, and deleted after use.
#
# Steps:
#  1. nvidia-smi;
#  2. bin/cuda.test -test.v: cuda held to model.Mamba's contract
#     (common/model/modeltest: against learning on random models of odd
#     shapes, bad tokens, state copies and restore, Reset, ForwardArgmax,
#     Close) and against learning on shapes that take every kernel path;
#  3. bin/compare-cuda -impl learning,cuda on testdata/cases/* and on the
#     shared HF transformers cases if present ($MAMBA_SHARED_CASES, or
#     .cache/shared/reference/hf-transformers, or shared/..., ../shared/...);
#  4. tok/s of bin/mamba-cuda, greedy (-t 0, the ForwardArgmax path: 4
#     bytes back per token) and sampled (-t 1 -p 1: all logits back, sampled on
#     the CPU), 256 tokens after a 16-token prompt, for each shape;
#  5. optionally (HF_BASELINE=1, the default) HF transformers'
#     MambaForCausalLM in float32 on the same GPU, 130m shape, random
#     weights, greedy generate, for the baseline row.
# Environment: SHAPES (default "130m 370m 1.4b 2.8b"), TOKENS (256),
# HF_BASELINE (1), HF_TOKENS (128), MAMBA_SHARED_CASES, COMMIT (the commit
# to name in the table: the copied tree may have no .git; default
# git rev-parse), BUDGET_S (450: no new benchmark shape starts after this
# many seconds, so that the files come back before the device tool's limit).
# If bin/cuda.test times out (a kernel that hangs), the benchmarks are
# skipped: they would hang too.
# Exit status: non-zero if a check (steps 2, 3) failed; benchmarks are
# reported whatever they measure. $OUT/log and $OUT/benchmarks.md are
# written in every case.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-$PWD/gpu-check-out}"
mkdir -p "$OUT"
LOG="$OUT/log"
: >"$LOG"
SHAPES="${SHAPES:-130m 370m 1.4b 2.8b}"
TOKENS="${TOKENS:-256}"
HF_BASELINE="${HF_BASELINE:-1}"
HF_TOKENS="${HF_TOKENS:-128}"
BUDGET_S="${BUDGET_S:-450}"
COMMIT="${COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}"
PROMPT="46,31834,310,247,747,1375,2317,1566,10336,285,253,1818,273,253,1566,15"
start=$(date +%s)
failed=0

log() { echo "$@" | tee -a "$LOG"; }
section() { log ""; log "=== $* ($(($(date +%s) - start)) s)"; }
# run CMD...: log the command and its output (stdout and stderr).
run() {
	log "\$ $*"
	"$@" 2>&1 | tee -a "$LOG"
	return "${PIPESTATUS[0]}"
}

for b in bin/mamba bin/mamba-cuda bin/mamba-cuda.gpu bin/compare-cuda bin/cuda.test; do
	if [ ! -x "$b" ]; then
		log "gpu-check: $b is missing: run make build cuda first and carry bin"
		exit 2
	fi
done

section "GPU"
run nvidia-smi
gpu="$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -1)"
log "commit: $COMMIT"

section "cuda tests (bin/cuda.test)"
hung=0
run timeout 180 bin/cuda.test -test.v -test.count=1
rc=$?
if [ $rc -ne 0 ]; then
	log "gpu-check: FAILED: bin/cuda.test (status $rc)"
	failed=1
	if [ $rc -eq 124 ]; then
		log "gpu-check: bin/cuda.test timed out: the benchmarks will be skipped"
		hung=1
	fi
fi

section "compare (bin/compare-cuda -impl learning,cuda)"
cases=(testdata/cases/*)
shared="${MAMBA_SHARED_CASES:-}"
if [ -z "$shared" ]; then
	for d in .cache/shared/reference/hf-transformers shared/reference/hf-transformers ../shared/reference/hf-transformers; do
		if [ -d "$d" ]; then
			shared="$d"
			break
		fi
	done
fi
if [ -n "$shared" ] && [ -d "$shared" ]; then
	cases+=("$shared"/*)
else
	log "(no shared HF transformers cases here)"
fi
if ! run timeout 120 bin/compare-cuda -impl learning,cuda "${cases[@]}"; then
	log "gpu-check: FAILED: compare"
	failed=1
fi

# tokps MODEL FLAGS...: generation tok/s from the CLI's stderr line
# "prompt: N tokens, X tok/s; generated: M tokens, Y tok/s"; prints "X Y".
tokps() {
	local model="$1"
	shift
	local line
	line="$(timeout 120 bin/mamba-cuda "$model" -tokens "$PROMPT" -n "$TOKENS" -ignore-eos -s 1 "$@" 2>&1 >/dev/null | tee -a "$LOG" | grep 'tok/s' | tail -1)"
	echo "  $line" | tee -a "$LOG" >&2
	echo "$line" | sed -n 's/.*prompt: [0-9]* tokens, \([0-9.]*\) tok\/s; generated: [0-9]* tokens, \([0-9.]*\) tok\/s.*/\1 \2/p'
}

section "benchmarks (bin/mamba-cuda, $TOKENS tokens)"
table="$OUT/benchmarks.md"
{
	echo "GPU: ${gpu:-unknown}; commit $COMMIT; $(date -u +%Y-%m-%d)"
	echo
	echo "| shape | weights (GiB) | greedy tok/s (-t 0) | weights GB/s at greedy | sampled tok/s (-t 1 -p 1) | prompt tok/s | load s |"
	echo "|---|---|---|---|---|---|---|"
} >"$table"
for shape in $SHAPES; do
	model="/tmp/mamba-$shape.bin"
	log "--- $shape"
	if [ $hung = 1 ]; then
		echo "| $shape | - | skipped: bin/cuda.test timed out | | | | |" >>"$table"
		continue
	fi
	if [ $(($(date +%s) - start)) -gt "$BUDGET_S" ]; then
		log "gpu-check: past BUDGET_S=$BUDGET_S s: $shape skipped"
		echo "| $shape | - | skipped: time budget | | | | |" >>"$table"
		continue
	fi
	if ! run bin/mamba random-model -shape "$shape" "$model"; then
		log "gpu-check: could not write $model"
		echo "| $shape | - | failed to write the model | | | | |" >>"$table"
		continue
	fi
	bytes=$(($(stat -c %s "$model") - 256))
	gib=$(awk -v b="$bytes" 'BEGIN { printf "%.2f", b / 2^30 }')
	# load time: one token, no generation
	t0=$(date +%s.%N)
	if ! timeout 120 bin/mamba-cuda "$model" -tokens 1 -n 0 >/dev/null 2>>"$LOG"; then
		log "gpu-check: bin/mamba-cuda could not run $model (its error is in the log)"
		echo "| $shape | $gib | failed to run (see the log) | | | | |" >>"$table"
		rm -f "$model"
		continue
	fi
	load=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
	read -r p_greedy g_greedy <<<"$(tokps "$model" -t 0)"
	read -r _ g_sampled <<<"$(tokps "$model" -t 1 -p 1)"
	gbs=$(awk -v b="$bytes" -v t="${g_greedy:-0}" 'BEGIN { printf "%.0f", b * t / 1e9 }')
	echo "| $shape | $gib | ${g_greedy:-?} | $gbs | ${g_sampled:-?} | ${p_greedy:-?} | $load |" >>"$table"
	rm -f "$model"
done

if [ "$HF_BASELINE" = 1 ] && [ $(($(date +%s) - start)) -gt "$BUDGET_S" ]; then
	log "gpu-check: past BUDGET_S=$BUDGET_S s: HF baseline skipped"
elif [ "$HF_BASELINE" = 1 ]; then
	section "HF transformers baseline (130m shape, float32, random weights, $HF_TOKENS greedy tokens)"
	cat >"$OUT/hf_baseline.py" <<'PY'
import sys, time, torch
from transformers import MambaConfig, MambaForCausalLM
n = int(sys.argv[1])
cfg = MambaConfig(vocab_size=50280, hidden_size=768, num_hidden_layers=24, state_size=16, expand=2, conv_kernel=4,
                  use_cache=True, pad_vocab_size_multiple=8)
torch.manual_seed(0)
with torch.device("cuda"):
    model = MambaForCausalLM(cfg).float().eval()
ids = torch.tensor([[46, 31834, 310, 247, 747, 1375, 2317, 1566, 10336, 285, 253, 1818, 273, 253, 1566, 15]], device="cuda")
with torch.inference_mode():
    model.generate(ids, max_new_tokens=8, min_new_tokens=8, do_sample=False)  # warm up
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    out = model.generate(ids, max_new_tokens=n, min_new_tokens=n, do_sample=False)
    torch.cuda.synchronize()
    dt = time.perf_counter() - t0
print(f"hf-transformers {torch.__version__}: {out.shape[1] - ids.shape[1]} tokens, {(out.shape[1] - ids.shape[1]) / dt:.1f} tok/s")
PY
	hf="$(timeout 150 python3 "$OUT/hf_baseline.py" "$HF_TOKENS" 2>&1 | tee -a "$LOG" | grep 'tok/s' | tail -1)"
	log "  ${hf:-HF baseline failed: see the log}"
	hftok="$(echo "$hf" | sed -n 's/.*, \([0-9.]*\) tok\/s.*/\1/p')"
	{
		echo
		echo "HF transformers MambaForCausalLM, 130m shape, float32, greedy generate (prompt included in the timing): ${hftok:-not measured} tok/s"
	} >>"$table"
fi

section "done"
log "checks: $([ $failed = 0 ] && echo passed || echo FAILED)"
cat "$table" | tee -a "$LOG"
exit $failed
