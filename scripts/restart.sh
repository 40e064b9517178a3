#!/usr/bin/env bash
# restart.sh -- restart time after kill -9 of a writer, at 0.5M, 1M and 2M keys.
#
#   bash scripts/restart.sh [BUILD_DIR] [N ...]
#
# Runs BUILD_DIR/bench/daxkv-reopen (bench/reopen.c; default build-release,
# else build): for each key count a child fills a fresh pool on /dev/shm
# (16 B keys, 100 B values), keeps overwriting until it is SIGKILLed; then the
# first daxkv_open (recovery), the first get after it, the time until random
# gets run at full speed (the DRAM index is rebuilt in the background), and a
# clean open (median of 5) are printed, in microseconds.  docs/BENCHMARKS.md
# ("Restart") records the numbers.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:-}"
[[ $# -gt 0 ]] && shift
if [[ -z "$build" ]]; then
	build="$root/build-release"
	[[ -x "$build/bench/daxkv-reopen" ]] || build="$root/build"
fi
bin="$build/bench/daxkv-reopen"
[[ -x "$bin" ]] || { echo "restart: $bin not built (cmake --build $build)" >&2; exit 2; }
dir="/dev/shm/daxkv-restart-$$"
trap 'rm -rf "$dir"' EXIT
counts=("$@")
[[ ${#counts[@]} -gt 0 ]] || counts=(500000 1000000 2000000)
PMEM_IS_PMEM_FORCE=1 "$bin" --dir="$dir" "${counts[@]}"
