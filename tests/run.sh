#!/usr/bin/env bash
# run.sh: the whole suite: unit tests (ASan/UBSan build), fuzz-corpus replays, integration
# tests against the static release binary and local servers. Every case prints PASS or FAIL;
# the last line is "N passed, N failed".
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
log=build/test-logs
mkdir -p "$log"
passed=0
failed=0
failed_names=()
started=$SECONDS

# count NAME LOGFILE RC: add the PASS/FAIL lines of one program; a crash or a non-zero exit
# with no FAIL line counts as one failure of its own. Each program's time is said, so the one
# that makes the suite slow is plain (it must stay well under 15 minutes).
count() {
	local name=$1 file=$2 rc=$3 p f
	local now=$SECONDS
	p=$(grep -c '^PASS ' "$file")
	f=$(grep -c '^FAIL ' "$file")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "FAIL $name (exit status $rc)" >>"$file"
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	grep -E '^(PASS|FAIL|# )' "$file" | sed "s|^|$name: |"
	echo "# $name: $((now - started)) s"
	started=$now
	if [ "$f" -ne 0 ]; then
		failed_names+=("$name")
		echo "---- $name output ----"
		grep -vE '^(PASS|# )' "$file" | tail -40
	fi
}

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

for t in build/host-asan/tests/test_*; do
	case "$t" in *.d) continue ;; esac
	name=unit/$(basename "$t")
	timeout 120 "$t" >"$log/$(basename "$t").log" 2>&1
	count "$name" "$log/$(basename "$t").log" $?
done

# each fuzz target over its corpus, then this many seeded mutations of it (`make fuzz` runs them
# under libFuzzer's guidance instead)
for t in dns:200000 cfg:20000 http:200000 regex:50000 ws:200000 json:1000000 starttls:500000 \
	inflate:200000 \
	result:1000000; do
	name=${t%:*}
	timeout 120 "build/host-asan/fuzz/$name" "$name" "${t#*:}" "tests/fuzz/corpus/$name" \
		>"$log/fuzz_$name.log" 2>&1
	count "fuzz/$name" "$log/fuzz_$name.log" $?
done

for t in tests/integration/test_*.py; do
	name=integration/$(basename "$t" .py)
	(cd tests/integration && timeout 600 python3 "$(basename "$t")") >"$log/$(basename "$t").log" 2>&1
	count "$name" "$log/$(basename "$t").log" $?
done

if [ ${#failed_names[@]} -ne 0 ]; then
	echo "failed in: ${failed_names[*]} (logs in $log/)"
fi
echo "# the whole suite: $SECONDS s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
