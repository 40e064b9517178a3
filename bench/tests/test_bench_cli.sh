#!/usr/bin/env bash
# test_bench_cli.sh -- daxkv-bench's command line end to end: bad input of each
# kind is a message on stderr and exit code 1; --help is 0; tiny runs in each
# output format and from a job file work.  Needs /dev/shm (else exit 77: skipped).
#   usage: test_bench_cli.sh path/to/daxkv-bench
set -u
B=$1
here=$(cd "$(dirname "$0")" && pwd)
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

# The block backend works, and the report says so.
"$B" --backend=block --nrkeys=100 --directory="$dir" >"$dir/out" 2>"$err"
rc=$?
if [ "$rc" -ne 0 ] || ! grep -q "backend=block" "$dir/out"; then
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

fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# No arguments: the usage on stderr and exit 1, as fio (it used to start a 1M-key run).
"$B" >"$dir/out" 2>"$err"
rc=$?
{ [ "$rc" -eq 1 ] && grep -q "^usage: daxkv-bench" "$err" && [ ! -s "$dir/out" ]; } ||
	fail "no arguments -> exit $rc, stderr: $(head -c 200 "$err")"

# --version: fio's form, daxkv-bench-X.Y.Z.
expect_ok --version
grep -Eq '^daxkv-bench-[0-9]+\.[0-9]+\.[0-9]+$' "$dir/out" || fail "--version: $(cat "$dir/out")"

# Output that cannot be written is an error (exit 1 and a message), in each form.
for args in "--output=/dev/full" "--output-format=json" "--output-format=terse"; do
	"$B" "${common[@]}" --rw=randread $args >/dev/full 2>"$err"
	rc=$?
	{ [ "$rc" -eq 1 ] && grep -q "No space left" "$err"; } || fail "$args to /dev/full -> exit $rc"
done
"$B" --version >/dev/full 2>"$err" && fail "--version >/dev/full -> exit 0"

# Sizes are binary, counts decimal; 0 where it makes no sense is refused.
for a in --size=0 --number_ios=0 --nrkeys=0 --pool_size=0 --segment_size=0 --numjobs=0; do
	expect_fail "0 makes no sense" "$a"
done
expect_fail "needs a value" --size
expect_ok "${common[@]}" --nrkeys=1k --bs=1k --rw=randread --output-format=json
grep -q '"nrkeys":[[:space:]]*1000,' "$dir/out" || fail "--nrkeys=1k is not 1000"
grep -q '"bs":[[:space:]]*1024,' "$dir/out" || fail "--bs=1k is not 1024"
expect_ok --directory "$dir" --nrkeys 1000 --rw randread --output-format json
grep -q '"nrkeys":[[:space:]]*1000,' "$dir/out" || fail "--key value form"

# A ramp longer than the job's work: refused after the run, with a message.
expect_fail "ramp_time" "${common[@]}" --rw=randread --ramp_time=30

# Not DAX and PMEM_IS_PMEM_FORCE unset: a warning on stderr; with it set, none.
env -u PMEM_IS_PMEM_FORCE "$B" "${common[@]}" --rw=randwrite >/dev/null 2>"$err"
grep -q "not on a DAX file system" "$err" || fail "no warning off DAX: $(cat "$err")"
expect_ok "${common[@]}" --rw=randwrite
grep -q "not on a DAX" "$err" && fail "a DAX warning with PMEM_IS_PMEM_FORCE=1"

# fio's job-file structure: stonewall and new_group (bare), include, several files;
# reporting groups as fio numbers them, in the normal and the JSON output.
printf '[global]\nnrkeys=500\n' >"$dir/inc.fio"
printf 'include inc.fio\n[global]\ndirectory=%s\n[a]\nrw=randwrite\n[b]\nstonewall\nrw=randread\n[c]\nnew_group\nrw=randrw\n' \
	"$dir" >"$dir/one.fio"
printf '[d]\nrw=randread\n' >"$dir/two.fio"
expect_ok "$dir/one.fio" "$dir/two.fio"
for g in 0 1 2 3; do
	grep -q "^Run status group $g (all jobs):" "$dir/out" || fail "no Run status group $g"
done
grep -q "^d: (groupid=3," "$dir/out" || fail "second file's job is not group 3"
grep -q "nrkeys=500 " "$dir/out" || fail "include: nrkeys from inc.fio not applied"
expect_ok "$dir/one.fio" "$dir/two.fio" --output-format=json
[ "$(grep -c '"groupid":' "$dir/out")" -eq 4 ] || fail "json: groupid missing"
grep -q '"groupid":[[:space:]]*2,' "$dir/out" || fail "json: no groupid 2"
printf 'include nosuch.fio\n' >"$dir/badinc.fio"
expect_fail "nosuch.fio" "$dir/badinc.fio"

# fio's units for elapsed time: seconds ("elapsed") and ms ("job_runtime").
expect_ok "${common[@]}" --rw=randread --runtime=300ms --time_based --output-format=json
python3 - "$dir/out" <<'PY' || fail "elapsed is not in seconds"
import json, sys
j = json.load(open(sys.argv[1]))["jobs"][0]
assert 0.2 < j["elapsed"] < 5, j["elapsed"]
assert abs(j["job_runtime"] - j["elapsed"] * 1000) < 1e-6 * j["job_runtime"] + 1e-9
assert j["elapsed_ns"] > 0 and "trim" in j
PY

# --status-interval: status lines while the job runs; --eta=never: no progress line.
expect_ok "${common[@]}" --rw=randread --runtime=700ms --time_based --status-interval=200ms \
	--eta=never
grep -q "^status: randread/daxkv: " "$dir/out" || fail "--status-interval printed nothing"
expect_fail "always" --eta=sometimes

# Every shipped job file runs as shipped (variables unset: their defaults), tiny.
for f in "$here"/../jobs/*.ini; do
	env -u BS -u NRKEYS -u NUMJOBS -u RUNTIME "$B" --directory="$dir" --nrkeys=1000 \
		--runtime=100ms "$f" >/dev/null 2>"$err" ||
		fail "job file $(basename "$f") as shipped: $(cat "$err")"
done

# plot.sh's usage is its comment block, nothing else.
bash "$here/../../scripts/plot.sh" >/dev/null 2>"$err"
rc=$?
{ [ "$rc" -eq 2 ] && grep -q "plot.sh bars" "$err" && ! grep -q "set -e\|^#" "$err"; } ||
	fail "plot.sh usage: $(cat "$err")"

# Nothing is left behind in the directory but our own files.
left=$(find "$dir" -mindepth 1 -maxdepth 1 ! -name '*.ini' ! -name '*.fio' ! -name out ! -name stderr | wc -l)
[ "$left" -eq 0 ] || { echo "FAIL: stores left in $dir"; ls "$dir"; fails=$((fails + 1)); }

[ "$fails" -eq 0 ] && echo "bench_cli: all passed"
exit $((fails ? 1 : 0))
