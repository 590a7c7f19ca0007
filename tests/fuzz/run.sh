#!/usr/bin/env bash
# run.sh B SECONDS TARGET...: `make fuzz`: each target under libFuzzer for SECONDS, from its
# corpus in tests/fuzz/corpus/TARGET plus what earlier runs found (B/corpus/TARGET, where new
# inputs go). An input that crashes, leaks or hangs a target is saved as B/found/TARGET-*, and
# the run fails. Copy an input worth keeping into tests/fuzz/corpus/ so `make test` replays it.
set -uo pipefail
b=$1 secs=$2
shift 2
found=0
mkdir -p "$b/found" "$b/logs"
for t in "$@"; do
	mkdir -p "$b/corpus/$t"
	log="$b/logs/$t.log"
	t0=$SECONDS
	"$b/libfuzzer/$t" -max_total_time="$secs" -timeout=5 -rss_limit_mb=2048 -max_len=16384 \
		-print_final_stats=1 -artifact_prefix="$b/found/$t-" "$b/corpus/$t" \
		"tests/fuzz/corpus/$t" >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
	printf 'fuzz %-6s %s runs in %ss, %s, corpus %s inputs' "$t" "${runs:-?}" $((SECONDS - t0)) \
		"${cov:-cov: ?}" "$(ls "$b/corpus/$t" | wc -l)"
	if [ $rc -ne 0 ]; then
		found=$((found + 1))
		printf ' -- FOUND: %s (log %s)' "$(ls -t "$b/found/$t-"* 2>/dev/null | head -1)" "$log"
	fi
	echo
done
[ $found -eq 0 ]
