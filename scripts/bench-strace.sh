#!/usr/bin/env bash
# bench-strace.sh -- show that daxkv's data path makes (almost) no system calls.
#
# Runs daxkv-bench under `strace -c -f` for a fill + read of KEYS keys, prints
# that syscall summary, then runs the same with SMALL keys and prints the
# syscalls whose count grows with the number of operations, per operation.
# Set-up (open, mmap, thread start, clean-up) cancels out in the difference; on
# DAX the expected answer is "none": the pool is opened and mapped once.
#
# usage: scripts/bench-strace.sh [BUILD_DIR]          (default: build)
# env:   KEYS=200000  SMALL=2000  ENGINE=daxkv  DIR=/dev/shm/kvbench-strace
#        BENCH=path/to/daxkv-bench       (default BUILD_DIR/bench/daxkv-bench)
#        EXTRA="--numjobs=2"             more daxkv-bench options
#        OUT=DIR                          keep the strace files there (default: a temp dir)
#        MAX_PER_OP=0.01                  exit 1 when growing syscalls per op exceed it
#        PMEM_IS_PMEM_FORCE               default 1 (tmpfs counts as pmem, as in the tests)
# Any engine works (ENGINE=rocksdb shows a WAL write + fdatasync per put).
set -euo pipefail

BUILD=${1:-build}
KEYS=${KEYS:-200000}
SMALL=${SMALL:-2000}
ENGINE=${ENGINE:-daxkv}
DIR=${DIR:-/dev/shm/kvbench-strace}
EXTRA=${EXTRA:-}
BENCH=${BENCH:-$BUILD/bench/daxkv-bench}
export PMEM_IS_PMEM_FORCE=${PMEM_IS_PMEM_FORCE:-1}

command -v strace >/dev/null || { echo "bench-strace: strace is not installed" >&2; exit 2; }
[ -x "$BENCH" ] || { echo "bench-strace: no executable $BENCH (build it, or set BENCH=)" >&2; exit 2; }
if [ "$SMALL" -ge "$KEYS" ]; then
	echo "bench-strace: SMALL ($SMALL) must be below KEYS ($KEYS)" >&2
	exit 2
fi

if [ -n "${OUT:-}" ]; then
	mkdir -p "$OUT"
else
	OUT=$(mktemp -d)
	trap 'rm -rf "$OUT"' EXIT
fi

# run KEYS FILE: one traced fill + read (KEYS of each); the summary goes to FILE.
run() {
	# shellcheck disable=SC2086
	strace -f -c -S calls -U name,calls,errors,time-percent -o "$2" \
		"$BENCH" --engine="$ENGINE" --nrkeys="$1" --directory="$DIR" $EXTRA --share_store=1 \
		--name=fill --rw=randwrite --name=read --rw=randread \
		>"$2.bench" 2>&1 || {
		echo "bench-strace: daxkv-bench failed:" >&2
		cat "$2.bench" >&2
		exit 1
	}
}

run "$KEYS" "$OUT/big"
run "$SMALL" "$OUT/small"

ops_big=$((2 * KEYS))
ops_delta=$((2 * (KEYS - SMALL)))
total_big=$(awk '$1 == "total" { print $2 }' "$OUT/big")

echo "# bench-strace: $BENCH --engine=$ENGINE --nrkeys=$KEYS --directory=$DIR $EXTRA --share_store=1 --name=fill --rw=randwrite --name=read --rw=randread"
echo "# PMEM_IS_PMEM_FORCE=$PMEM_IS_PMEM_FORCE"
grep -E '^[a-z]+: \(groupid|^  (read|write): IOPS' "$OUT/big.bench" || true
echo
echo "## strace -c -f: every syscall of the whole process ($ops_big operations)"
cat "$OUT/big"
echo
echo "## syscalls that grow with the work: ($KEYS keys) - ($SMALL keys), per operation"
awk -v ops="$ops_delta" '
	FNR == NR { if ($2 ~ /^[0-9]+$/ && $1 != "total") small[$1] = $2; next }
	$2 ~ /^[0-9]+$/ && $1 != "total" {
		d = $2 - small[$1]
		if (d > 0) { printf "%-18s %10d  %8.4f per op\n", $1, d, d / ops; grow += d }
	}
	END {
		printf "%-18s %10d  %8.4f per op\n", "TOTAL", grow, grow / ops
		printf "%.6f\n", grow / ops > "/dev/stderr"
	}' "$OUT/small" "$OUT/big" 2>"$OUT/per_op"
per_op=$(cat "$OUT/per_op")
echo
echo "# $total_big syscalls in all for $ops_big operations; $per_op per operation grow with the work"

if [ -n "${MAX_PER_OP:-}" ]; then
	if awk -v a="$per_op" -v b="$MAX_PER_OP" 'BEGIN { exit !(a > b) }'; then
		echo "bench-strace: FAIL: $per_op syscalls per op > $MAX_PER_OP" >&2
		exit 1
	fi
fi
