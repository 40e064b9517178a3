#!/usr/bin/env bash
# demo.sh -- install packages, build, and run a 1M-key daxkv benchmark on
# emulated persistent memory (tmpfs at /dev/shm with PMEM_IS_PMEM_FORCE=1).
#
#   bash scripts/demo.sh [extra daxkv-bench options...]     as root (or with sudo)
#
# Extra options go after the defaults and apply to both jobs (e.g. --numjobs=2).  DAXKV_DEMO_DIR sets the
# store directory (default /dev/shm/daxkv-demo); it is removed before and after.
# tmpfs is RAM: nothing here survives a reboot.  For real (or memmap-emulated)
# persistent memory see scripts/pmem-emulate.sh and point --dir at a DAX mount.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

dir="${DAXKV_DEMO_DIR:-/dev/shm/daxkv-demo}"
bench="build/bench/daxkv-bench"

bash scripts/setup.sh
bash scripts/build.sh build

if [[ ! -x "$bench" ]]; then
	echo "demo.sh: $bench was not built (is bench/ part of the build?)" >&2
	exit 1
fi

case "$dir" in
/ | "" | /dev/shm | /dev/shm/) echo "demo.sh: refusing store directory '$dir'" >&2; exit 1 ;;
esac
cleanup() { rm -rf -- "$dir"; }
trap cleanup EXIT
cleanup
mkdir -p -- "$dir"

avail_kib="$(df -Pk -- "$dir" | awk 'NR == 2 {print $4}')"
if [[ -n "$avail_kib" ]] && ((avail_kib < 2 * 1024 * 1024)); then
	echo "demo.sh: warning: only $((avail_kib / 1024)) MiB free at $dir; the demo wants ~2 GiB" >&2
fi

# A fill of 1M keys, then as many random reads, on one store (fio-style jobs).
args=(--engine=daxkv --directory="$dir" --nrkeys=1000000 --bs=100 --numjobs=1 "$@"
	--share_store=1 --name=fill --rw=randwrite --name=randread --rw=randread)
echo "demo.sh: store at $dir (emulated pmem: PMEM_IS_PMEM_FORCE=1)"
echo "demo.sh: PMEM_IS_PMEM_FORCE=1 $bench ${args[*]}"
PMEM_IS_PMEM_FORCE=1 "$bench" "${args[@]}"
