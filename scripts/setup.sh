#!/usr/bin/env bash
# setup.sh -- install the Debian packages that daxkv's build, tests and benchmarks
# need (Debian 12).  Idempotent: when every package is already installed it
# returns at once, without touching apt.
#
#   bash scripts/setup.sh          as root, or as a user with sudo
#
# DAXKV_SETUP_SKIP=1 skips it entirely (a machine set up by other means).
set -euo pipefail

# Required: the build (compiler, cmake, pkg-config and the libraries CMake finds),
# the tests (CUnit, sanitizer runtimes for clang, strace/valgrind), the benchmarks
# (peer engines, job files, JSON output, plots).
packages=(
	build-essential cmake pkg-config
	libpmem-dev libpmemobj-dev libisal-dev liburing-dev libxxhash-dev
	libcunit1-dev
	librocksdb-dev liblmdb-dev libleveldb-dev
	libinih-dev libcjson-dev gnuplot-nox jq
	strace valgrind clang libclang-rt-14-dev
	fio scdoc
	redis-server redis-tools python3-redis
)
# Wanted where the distribution has them: not an error when missing.
optional=(ndctl)

if [[ "${DAXKV_SETUP_SKIP:-0}" == 1 ]]; then
	echo "setup.sh: DAXKV_SETUP_SKIP=1, not checking packages"
	exit 0
fi

installed() { # pkg -> 0 when dpkg has it installed
	[[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" == installed ]]
}

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
	echo "setup.sh: this is not a Debian-like system (no dpkg/apt-get)." >&2
	echo "setup.sh: install by hand: ${packages[*]} ${optional[*]}" >&2
	exit 1
fi

missing=()
for p in "${packages[@]}"; do
	installed "$p" || missing+=("$p")
done
missing_opt=()
for p in "${optional[@]}"; do
	installed "$p" || missing_opt+=("$p")
done
if ((${#missing[@]} == 0 && ${#missing_opt[@]} == 0)); then
	echo "setup.sh: all ${#packages[@]} required and ${#optional[@]} optional packages present"
	exit 0
fi

# Root, or sudo.  A fresh Debian 12 run as root may have no sudo at all.
as_root=()
if ((EUID != 0)); then
	if command -v sudo >/dev/null 2>&1; then
		as_root=(sudo)
	else
		echo "setup.sh: missing packages: ${missing[*]} ${missing_opt[*]}" >&2
		echo "setup.sh: run this script as root (or install sudo)" >&2
		exit 1
	fi
fi
export DEBIAN_FRONTEND=noninteractive
apt=("${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -y -q
	-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)

candidate() { # pkg -> 0 when the apt index offers it
	apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ && $2 != "(none)" {f = 1} END {exit !f}'
}
# Only optional packages missing and none of them in the index: nothing to do,
# and no apt-get update on every run for a package this distribution lacks.
if ((${#missing[@]} == 0)); then
	offered=0
	for p in "${missing_opt[@]}"; do
		if candidate "$p"; then offered=1; fi
	done
	if ((offered == 0)); then
		echo "setup.sh: required packages present; optional ${missing_opt[*]} not available here"
		exit 0
	fi
fi

echo "setup.sh: installing: ${missing[*]} ${missing_opt[*]}"
"${apt[@]}" update
opt_avail=()
for p in "${missing_opt[@]}"; do
	if candidate "$p"; then
		opt_avail+=("$p")
	else
		echo "setup.sh: optional package $p is not available here; skipping it"
	fi
done
to_install=("${missing[@]}" "${opt_avail[@]}")
if ((${#to_install[@]} > 0)); then
	"${apt[@]}" install --no-install-recommends "${to_install[@]}"
fi

# Verify: a package that apt could not install is an error, not a warning.
still=()
for p in "${packages[@]}"; do
	installed "$p" || still+=("$p")
done
if ((${#still[@]} > 0)); then
	echo "setup.sh: still missing after install: ${still[*]}" >&2
	exit 1
fi
echo "setup.sh: done; all ${#packages[@]} required packages installed"
