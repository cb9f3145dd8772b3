#!/bin/sh
# test-browser: opens trace explorer pages made from the project's cases
# (learning and fused; Mamba-1, Mamba-2, Falcon-Mamba) and compare -html's
# divergence pages (testdata/cases/default as it is, and with course
# exercise 1's D skip deleted from learning) in headless Chromium, with
# each page's self-test (PAGE#selftest: every heatmap drawn, a token's
# click shows its walk or the first divergence is marked, no script error,
# no request blocked by the page's Content-Security-Policy, which forbids
# every fetch), and saves a screenshot of each to bin/trace-explorer/.
# Needs Chromium (apt-get install -y chromium); without it, it says so and
# skips.
set -eu
cd "$(dirname "$0")/../.."
CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
if [ -z "$CHROMIUM" ]; then
	echo "test-browser: skipped: no chromium (apt-get install -y chromium)"
	exit 0
fi
OUT=bin/trace-explorer
mkdir -p "$OUT"
flags="--headless --no-sandbox --disable-gpu --window-size=1400,1000"
fail=0

# check PAGE [GREP]: the page's self-test passes (and its drawn page
# matches GREP), and a screenshot goes beside it.
check() {
	dom=$(timeout 60 "$CHROMIUM" $flags --virtual-time-budget=2000 --dump-dom "file://$PWD/$1#selftest" 2>/dev/null || true)
	verdict=$(printf '%s' "$dom" | sed -n 's/.*data-selftest="\([^"]*\)".*/\1/p' | head -1)
	if [ "$verdict" = ok ] && [ -n "${2:-}" ] && ! printf '%s' "$dom" | grep -q "$2"; then
		verdict="the page has no $2"
	fi
	timeout 60 "$CHROMIUM" $flags --screenshot="${1%.html}.png" "file://$PWD/$1" >/dev/null 2>&1 || true
	if [ "$verdict" = ok ]; then
		echo "ok    $1"
	else
		echo "FAIL  $1: ${verdict:-the page never finished its self-test}"
		fail=1
	fi
}

go build -o bin/mamba-learning ./learning/cmd/mamba-learning
go build -o bin/mamba-fused ./fused/cmd/mamba-fused
for c in default m2default falcon; do
	for impl in learning fused; do
		page=$OUT/$c-$impl.html
		bin/mamba-$impl testdata/cases/$c/model.bin -tokens 5,6,7,8,9 -n 3 -t 0 -trace-html "$page" >/dev/null 2>&1
		check "$page"
	done
done

# compare -html: as it is, then with docs/course.md's exercise 1 (the D
# skip deleted from learning/mamba.go), built through an overlay so that
# the source stays as it is.
go build -o bin/compare ./compare
bin/compare -impl learning,fused -html "$OUT/compare-default.html" testdata/cases/default >/dev/null
check "$OUT/compare-default.html"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed 's|^\tskipD(b.y, lw.D, b.u)$|\t// skipD(b.y, lw.D, b.u)|' learning/mamba.go >"$tmp/mamba.go"
if cmp -s learning/mamba.go "$tmp/mamba.go"; then
	echo "FAIL  exercise 1's line skipD(b.y, lw.D, b.u) is not in learning/mamba.go"
	exit 1
fi
printf '{"Replace":{"%s":"%s"}}\n' "$PWD/learning/mamba.go" "$tmp/mamba.go" >"$tmp/overlay.json"
go build -overlay "$tmp/overlay.json" -o "$tmp/compare" ./compare
"$tmp/compare" -impl learning,fused -html "$OUT/compare-default-no-skip-d.html" testdata/cases/default >/dev/null 2>&1 || true
check "$OUT/compare-default-no-skip-d.html" 'class="c first"'
exit $fail
