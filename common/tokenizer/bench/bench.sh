#!/bin/sh
# bench.sh: Go's and HF's single-thread encode speed on the same ~4 MB
# text and tokenizer (GPT-NeoX's when ../shared is there, else the
# project's small one), and their ratio. Run from the repository root:
#   make bench-tokenizer        (or sh common/tokenizer/bench/bench.sh)
set -eu
cd "$(dirname "$0")/../../.."
root=$(pwd)
tok=$root/common/tokenizer/testdata/tokenizer.json
if [ -f "${MAMBA_SHARED:-$root/../shared}/tokenizer/gpt-neox-20b.tokenizer.json" ]; then
	tok=$(cd "${MAMBA_SHARED:-$root/../shared}/tokenizer" && pwd)/gpt-neox-20b.tokenizer.json
fi
mkdir -p .cache
text=$root/.cache/tokenizer-bench.txt
cd common
MAMBA_BENCH_TEXT=$text go test -count=1 -run '^TestWriteBenchText$' ./tokenizer/ >/dev/null
go_out=$(GOMAXPROCS=1 go test -run '^$' -bench '^BenchmarkEncode' -benchtime 10x -count 1 ./tokenizer/)
echo "$go_out" | grep '^Benchmark'
hf_out=$(RAYON_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false node tokenizer/bench/hf_bench.js "$tok" "$text" 5)
echo "tokenizer: $tok"
echo "text: $(wc -c <"$text") bytes"
go_whole=$(echo "$go_out" | awk '$1 ~ /^BenchmarkEncode(-[0-9]+)?$/ {for (i = 1; i <= NF; i++) if ($(i+1) == "MB/s") print $i}')
go_lines=$(echo "$go_out" | awk '$1 ~ /^BenchmarkEncodeLines/ {for (i = 1; i <= NF; i++) if ($(i+1) == "MB/s") print $i}')
hf_whole=$(echo "$hf_out" | awk '$1 == "whole" {print $2}')
hf_lines=$(echo "$hf_out" | awk '$1 == "lines" {print $2}')
awk -v gw="$go_whole" -v hw="$hf_whole" -v gl="$go_lines" -v hl="$hf_lines" 'BEGIN {
	printf "whole text in one call: Go %.2f MB/s, HF %.2f MB/s, Go/HF %.2f\n", gw, hw, gw / hw
	printf "line by line:           Go %.2f MB/s, HF %.2f MB/s, Go/HF %.2f\n", gl, hl, gl / hl
}'
