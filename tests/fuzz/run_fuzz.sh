#!/usr/bin/env bash
# run_fuzz.sh -- one bounded libFuzzer run, as a ctest (label fuzz).
#
#   run_fuzz.sh BINARY SEED_CORPUS WORKDIR time SECONDS   fuzz for SECONDS
#   run_fuzz.sh BINARY SEED_CORPUS WORKDIR corpus 0       replay the corpus once
#
# DAXKV_FUZZ_SECONDS overrides SECONDS of a time run.  New inputs go to
# WORKDIR/corpus (the seed corpus in the sources is only read), crashes to
# WORKDIR/artifacts/.  Scratch pools go under /dev/shm/daxkv-fuzz-<pid>/ and
# are removed at the end.  Exit 0 when the run found nothing; 1 on a crash,
# leak, timeout or sanitizer report (libFuzzer's own 77 would read as "skipped").
set -euo pipefail

bin="$1" seeds="$2" work="$3" mode="$4" secs="$5"
name="$(basename "$bin")"
mkdir -p "$work/corpus" "$work/artifacts" "$seeds"
export PMEM_IS_PMEM_FORCE=1
export DAXKV_FUZZ_TMP="/dev/shm/daxkv-fuzz-$$"
mkdir -p "$DAXKV_FUZZ_TMP"
trap 'rm -rf "$DAXKV_FUZZ_TMP"' EXIT

# Sanitizer runtimes need the low-entropy (no ASLR) layout on this kernel.
no_aslr=()
if setarch "$(uname -m)" -R true >/dev/null 2>&1; then
	no_aslr=(setarch "$(uname -m)" -R)
fi

args=(-error_exitcode=1 -timeout_exitcode=1 -timeout=10 -rss_limit_mb=2048
	-print_final_stats=1 -artifact_prefix="$work/artifacts/")
if [[ "$mode" == time ]]; then
	secs="${DAXKV_FUZZ_SECONDS:-$secs}"
	# A fixed seed: CI explores the same inputs as a local run of the same tree
	# (a slower machine, a prefix of them), so a red CI replays; a new seed
	# (DAXKV_FUZZ_SEED=0: random) is for fuzzing campaigns.
	args+=(-seed="${DAXKV_FUZZ_SEED:-20261121}" -max_total_time="$secs" "$work/corpus" "$seeds")
else
	args+=(-runs=0 "$seeds")
fi

log="$work/last.log"
set +e
ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}" \
	UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}" \
	"${no_aslr[@]}" "$bin" "${args[@]}" >"$log" 2>&1
rc=$?
set -e
tail -n 40 "$log"
execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)"
cov="$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 || true)"
echo "run_fuzz: $name mode=$mode execs=${execs:-?} ${cov} corpus=$(ls "$work/corpus" | wc -l)" \
	"rc=$rc"
if ((rc != 0)); then
	echo "run_fuzz: $name FAILED; reproducer(s) in $work/artifacts/:" >&2
	ls -l "$work/artifacts" >&2 || true
	exit 1
fi
