#!/usr/bin/env bash
# build.sh -- configure and build daxkv with CMake.
#
#   bash scripts/build.sh [builddir] [extra cmake args...]
#
# builddir defaults to build/ (relative paths are taken from the repository root).
# The build type defaults to RelWithDebInfo; pass -DCMAKE_BUILD_TYPE=... to change it.
# Runs with one job per CPU (nproc); DAXKV_BUILD_JOBS overrides.
# Packages come from scripts/setup.sh, which this script does not run.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

builddir="${1:-build}"
if (($# > 0)); then shift; fi
jobs="${DAXKV_BUILD_JOBS:-$(nproc 2>/dev/null || echo 2)}"

# The default build type goes first, so an explicit -DCMAKE_BUILD_TYPE in "$@" wins.
cmake -S "$root" -B "$builddir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@"
cmake --build "$builddir" --parallel "$jobs"
echo "build.sh: built in $builddir"
