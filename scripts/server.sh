#!/usr/bin/env bash
# server.sh -- build daxkv-server (Release) and run it on emulated persistent
# memory: a pool file on tmpfs (/dev/shm) with PMEM_IS_PMEM_FORCE=1.
#
#   bash scripts/server.sh [daxkv-server options...]
#
# Defaults: --store /dev/shm/daxkv-server.pool --port 6380 (not Redis' 6379);
# extra options go after them and win (e.g. --threads 2 --requirepass pw).
# DAXKV_SERVER_STORE sets the store path.  tmpfs is RAM: the store survives a
# restart of the server, not a reboot.  docs/SERVER.md describes the server.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

store="${DAXKV_SERVER_STORE:-/dev/shm/daxkv-server.pool}"
bin="build-release/server/daxkv-server"

bash scripts/setup.sh
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release
cmake --build build-release --target daxkv-server -j"$(nproc)"

if [[ ! -x "$bin" ]]; then
	echo "server.sh: $bin was not built (is server/ part of the build?)" >&2
	exit 1
fi

echo "server.sh: PMEM_IS_PMEM_FORCE=1 $bin --store $store --port 6380 $*"
PMEM_IS_PMEM_FORCE=1 exec "$bin" --store "$store" --port 6380 "$@"
