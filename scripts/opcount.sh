#!/usr/bin/env bash
# opcount.sh -- instructions per put, get and 10-key scan, counted by callgrind.
#
#   bash scripts/opcount.sh BUILD_DIR            print the counts
#   bash scripts/opcount.sh BUILD_DIR --check    ... and fail on a regression
#
# Runs BUILD_DIR/bench/daxkv-opcount (bench/opcount.c: 20,000 random 16-byte
# keys, 100-byte values, on emulated pmem in /dev/shm) under
# `valgrind --tool=callgrind --toggle-collect=op_X`, once per kind, and divides
# the instructions collected inside op_put, op_get and op_scan by their calls.
# Instruction counts repeat from run to run (within ~1% here: node levels are
# random), where times do not, so this is what guards the hot paths.
# --check compares them with the line `opcount-baseline: put=N get=N scan10=N`
# of docs/BENCHMARKS.md and fails (exit 1) when one is more than 25% above
# it: a change that makes an operation slower must update the baseline, with
# the numbers, in the same commit.  Exit 77 (skipped) without valgrind.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:?usage: opcount.sh BUILD_DIR [--check]}"
check="${2:-}"
bin="$build/bench/daxkv-opcount"
nkeys=20000
slack_pct=25

command -v valgrind >/dev/null || { echo "opcount: valgrind not found: skipped"; exit 77; }
[[ -x "$bin" ]] || { echo "opcount: $bin not built" >&2; exit 2; }

tmp="$(mktemp -d)"
store="/dev/shm/daxkv-opcount-$$"
trap 'rm -rf "$tmp"; rm -f "$store"' EXIT

count() { # function calls -> instructions per call
	local fn="$1" calls="$2" total
	PMEM_IS_PMEM_FORCE=1 valgrind --tool=callgrind --callgrind-out-file="$tmp/$fn.out" \
		--toggle-collect="$fn" "$bin" "$store" "$nkeys" >"$tmp/$fn.log" 2>&1 ||
		{ cat "$tmp/$fn.log" >&2; echo "opcount: the workload failed under callgrind" >&2; exit 2; }
	total=$(awk '/^summary:/ {print $2}' "$tmp/$fn.out")
	[[ -n "$total" ]] || { echo "opcount: no summary from callgrind ($fn)" >&2; exit 2; }
	echo $(((total + calls / 2) / calls))
}

put=$(count op_put "$nkeys")
get=$(count op_get "$nkeys")
scan=$(count op_scan $((nkeys / 10)))
echo "opcount: instructions per operation ($nkeys keys of 16 B, 100 B values):" \
	"put=$put get=$get scan10=$scan"

[[ "$check" == --check ]] || exit 0
line=$(grep -m1 '^opcount-baseline:' "$root/docs/BENCHMARKS.md" || true)
[[ -n "$line" ]] || { echo "opcount: no 'opcount-baseline:' line in docs/BENCHMARKS.md" >&2; exit 2; }
fail=0
for kv in "put=$put" "get=$get" "scan10=$scan"; do
	name="${kv%%=*}" now="${kv#*=}"
	base=$(sed -n "s/.*[[:space:]]$name=\([0-9]*\).*/\1/p" <<<"$line")
	[[ -n "$base" ]] || { echo "opcount: no $name= in the baseline line" >&2; exit 2; }
	limit=$((base * (100 + slack_pct) / 100))
	if ((now > limit)); then
		echo "opcount: $name costs $now instructions, over $limit ($base + $slack_pct%): a regression"
		fail=1
	else
		echo "opcount: $name $now vs baseline $base: ok"
	fi
done
exit "$fail"
