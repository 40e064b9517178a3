#!/usr/bin/env bash
# test_bench_cli.sh -- daxkv-bench's command line end to end: bad input of each
# kind is a message on stderr and exit code 1; --help is 0; tiny runs in each
# output format and from a job file work.  Needs /dev/shm (else exit 77: skipped).
#   usage: test_bench_cli.sh path/to/daxkv-bench
set -u
B=$1
[ -d /dev/shm ] || exit 77
export PMEM_IS_PMEM_FORCE=${PMEM_IS_PMEM_FORCE:-1}
dir=$(mktemp -d /dev/shm/dkb-test-cli-XXXXXX)
trap 'rm -rf "$dir"' EXIT
fails=0
err="$dir/stderr"

# expect_fail NEEDLE ARGS...: exit code 1, NEEDLE on stderr.
expect_fail() {
	local needle=$1
	shift
	"$B" "$@" >/dev/null 2>"$err"
	local rc=$?
	if [ "$rc" -ne 1 ] || ! grep -q -- "$needle" "$err"; then
		echo "FAIL: $* -> exit $rc (want 1), stderr: $(cat "$err")"
		fails=$((fails + 1))
	fi
}

expect_ok() {
	"$B" "$@" >"$dir/out" 2>"$err"
	local rc=$?
	if [ "$rc" -ne 0 ]; then
		echo "FAIL: $* -> exit $rc, stderr: $(cat "$err")"
		fails=$((fails + 1))
	fi
}

expect_fail "unknown option" --frobnicate=1
expect_fail "bs" --bs=12q
expect_fail "needs a value" --nrkeys
expect_fail "unknown engine" --engine=nosuch
expect_fail "unknown engine" --compare=daxkv,nosuch
expect_fail "rw" --rw=write-heavy
expect_fail "nonexistent" "$dir/nonexistent.ini"
printf '[global]\nbs=4k\n[a]\nfoo=bar\n' >"$dir/bad.ini"
expect_fail "line 4" "$dir/bad.ini"

# The block backend: either it works, or it says clearly that it does not.
"$B" --backend=block --nrkeys=100 --directory="$dir" >/dev/null 2>"$err"
rc=$?
if [ "$rc" -ne 0 ] && ! { [ "$rc" -eq 1 ] && grep -q "not supported" "$err"; }; then
	echo "FAIL: --backend=block -> exit $rc, stderr: $(cat "$err")"
	fails=$((fails + 1))
fi

expect_ok --help
grep -q "ycsb-a" "$dir/out" || { echo "FAIL: --help lists no workloads"; fails=$((fails + 1)); }
expect_ok --list-engines
grep -q "daxkv" "$dir/out" || { echo "FAIL: --list-engines"; fails=$((fails + 1)); }

common=(--directory="$dir" --nrkeys=2000)
expect_ok "${common[@]}" --rw=randread --output-format=json
grep -q '"jobname":' "$dir/out" || { echo "FAIL: json output"; fails=$((fails + 1)); }
expect_ok "${common[@]}" --rw=ycsb-a --output-format=terse
grep -q '^daxkv-bench;1;ycsb-a;daxkv;ycsb-a;1;0;' "$dir/out" ||
	{ echo "FAIL: terse output: $(cat "$dir/out")"; fails=$((fails + 1)); }
expect_ok "${common[@]}" --rw=overwrite --compare=daxkv,pmem-floor --reps=2
grep -q "^compare overwrite" "$dir/out" || { echo "FAIL: compare table"; fails=$((fails + 1)); }
grep -q "clat percentiles" "$dir/out" || { echo "FAIL: normal output"; fails=$((fails + 1)); }

printf '[global]\nnrkeys=1000\ndirectory=%s\n[fill]\nrw=randwrite\n[read]\nrw=randread\n' \
	"$dir" >"$dir/ok.ini"
expect_ok --share_store=1 "$dir/ok.ini"
[ "$(grep -c '^fill: \|^read: ' "$dir/out")" -eq 2 ] || { echo "FAIL: job file"; fails=$((fails + 1)); }
grep -q "preload" "$dir/out" && { echo "FAIL: share_store preloaded again"; fails=$((fails + 1)); }

# Nothing is left behind in the directory but our own files.
left=$(find "$dir" -mindepth 1 -maxdepth 1 ! -name '*.ini' ! -name out ! -name stderr | wc -l)
[ "$left" -eq 0 ] || { echo "FAIL: stores left in $dir"; ls "$dir"; fails=$((fails + 1)); }

[ "$fails" -eq 0 ] && echo "bench_cli: all passed"
exit $((fails ? 1 : 0))
