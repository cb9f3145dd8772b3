#!/bin/sh
# test-browser: opens trace explorer pages made from the project's cases
# (learning and fused; Mamba-1, Mamba-2, Falcon-Mamba) in headless Chromium,
# with the page's self-test (page.html#selftest: every heatmap drawn, a
# token's click shows its walk, no script error, no request blocked by the
# page's Content-Security-Policy, which forbids every fetch), and saves a
# screenshot of each to bin/trace-explorer/. Needs Chromium
# (apt-get install -y chromium); without it, it says so and skips.
set -eu
cd "$(dirname "$0")/../.."
CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}
if [ -z "$CHROMIUM" ]; then
	echo "test-browser: skipped: no chromium (apt-get install -y chromium)"
	exit 0
fi
OUT=bin/trace-explorer
mkdir -p "$OUT"
go build -o bin/mamba-learning ./learning/cmd/mamba-learning
go build -o bin/mamba-fused ./fused/cmd/mamba-fused
fail=0
for c in default m2default falcon; do
	for impl in learning fused; do
		page=$OUT/$c-$impl.html
		bin/mamba-$impl testdata/cases/$c/model.bin -tokens 5,6,7,8,9 -n 3 -t 0 -trace-html "$page" >/dev/null 2>&1
		flags="--headless --no-sandbox --disable-gpu --window-size=1400,1000"
		verdict=$(timeout 60 "$CHROMIUM" $flags --virtual-time-budget=2000 --dump-dom "file://$PWD/$page#selftest" 2>/dev/null |
			sed -n 's/.*data-selftest="\([^"]*\)".*/\1/p' | head -1)
		timeout 60 "$CHROMIUM" $flags --screenshot="$OUT/$c-$impl.png" "file://$PWD/$page" >/dev/null 2>&1 || true
		if [ "$verdict" = ok ]; then
			echo "ok    $page"
		else
			echo "FAIL  $page: ${verdict:-the page never finished its self-test}"
			fail=1
		fi
	done
done
exit $fail
