#!/usr/bin/env bash
# test.sh -- THE test command: install packages, build, run every test suite.
#
#   bash scripts/test.sh            as root (or with sudo available), from any directory
#
# Stages (each one builds in its own directory under the repository root):
#   compile    build-release/ (gcc, Release) and build-clang/ (clang, RelWithDebInfo),
#                           tests on, warnings are errors: compile only, no test run
#   plain      build/       ctest -LE slow            (all suites but the slow ones)
#   asan+ubsan build-asan/  ctest -LE slow            (-DDAXKV_SANITIZE=address,undefined)
#   tsan       build-tsan/  ctest -L concurrency      (-DDAXKV_SANITIZE=thread)
#   fuzz       build-fuzz/  ctest -L fuzz             (clang, -DDAXKV_FUZZ=ON: each libFuzzer
#                           target for DAXKV_FUZZ_SECONDS, default 25, then its corpus)
#
# Environment:
#   DAXKV_TEST_QUICK=1     only the plain stage (no compile stage, no sanitizer builds, no fuzzing)
#   DAXKV_FUZZ_SECONDS=N   seconds per fuzz target (ctest's fuzz tests read it)
#   CTEST_PARALLEL_LEVEL=N run N tests at once (ctest reads it; default 1)
#   DAXKV_SETUP_SKIP=1     do not check/install packages (see setup.sh)
# A selection that contains no test is a failure (ctest --no-tests=error): a
# stage that runs nothing must not read as a pass.  Tests run on emulated pmem
# (PMEM_IS_PMEM_FORCE=1); a test that needs what the machine lacks exits 77 and
# ctest reports it as skipped.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

export PMEM_IS_PMEM_FORCE=1
quick="${DAXKV_TEST_QUICK:-0}"
start_s=$SECONDS
# Per-test limit for tests that set no TIMEOUT of their own (ctest's default is 1500 s).
ctest_common=(--output-on-failure --no-tests=error --timeout 600)

# Sanitizer runtimes (gcc 12's) fail to start under the high mmap ASLR entropy
# of recent kernels (vm.mmap_rnd_bits = 32); running without ASLR avoids that.
no_aslr=()
if setarch "$(uname -m)" -R true >/dev/null 2>&1; then
	no_aslr=(setarch "$(uname -m)" -R)
fi

# The build types and compilers the other stages do not cover: -O3 (Release)
# finds uninitialised-use warnings -O2 does not, clang its own (the fuzz stage
# builds only the fuzz targets with clang).  Nothing runs: the code is the same.
stage_compile() {
	bash scripts/build.sh build-release -DCMAKE_BUILD_TYPE=Release
	bash scripts/build.sh build-clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DCMAKE_C_COMPILER=clang
}

stage_plain() {
	bash scripts/build.sh build
	bash scripts/check-layers.sh build
	(cd build && ctest "${ctest_common[@]}" -LE slow)
}

stage_asan() {
	bash scripts/build.sh build-asan -DDAXKV_SANITIZE=address,undefined
	(cd build-asan &&
		ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		"${no_aslr[@]}" ctest "${ctest_common[@]}" -LE slow)
}

stage_tsan() {
	bash scripts/build.sh build-tsan -DDAXKV_SANITIZE=thread
	(cd build-tsan &&
		TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
		"${no_aslr[@]}" ctest "${ctest_common[@]}" -L concurrency)
}

# Only the fuzz targets are built here (the suites above cover the rest);
# clang is required (setup.sh installs it).
stage_fuzz() {
	cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
		-DDAXKV_FUZZ=ON -DDAXKV_BUILD_BENCH=OFF
	cmake --build build-fuzz --parallel "$(nproc 2>/dev/null || echo 2)" --target daxkv_fuzz
	(cd build-fuzz && ctest "${ctest_common[@]}" -L fuzz)
}

names=() results=()
failed=0
# Runs one stage in a subshell with errexit on, records PASS/FAIL, and goes on to
# the next stage so the summary shows every stage.
run_stage() { # name function
	local name="$1" fn="$2" t0=$SECONDS rc
	echo
	echo "==== test.sh: stage $name ===="
	set +e
	(set -e; "$fn")
	rc=$?
	set -e
	names+=("$name")
	if ((rc == 0)); then
		results+=("PASS ($((SECONDS - t0))s)")
	else
		results+=("FAIL (exit $rc, $((SECONDS - t0))s)")
		failed=1
	fi
}

echo "==== test.sh: setup ===="
bash scripts/setup.sh

if [[ "$quick" != 1 ]]; then
	run_stage compile stage_compile
fi
run_stage plain stage_plain
if [[ "$quick" == 1 ]]; then
	echo "test.sh: DAXKV_TEST_QUICK=1: skipping the compile stage, the sanitizer builds and fuzzing"
else
	run_stage asan+ubsan stage_asan
	run_stage tsan stage_tsan
	run_stage fuzz stage_fuzz
fi

echo
echo "==== test.sh: summary ===="
for i in "${!names[@]}"; do
	printf '  %-11s %s\n' "${names[$i]}" "${results[$i]}"
done
if [[ "$quick" == 1 ]]; then
	printf '  %-11s %s\n' compile+sanitizers+fuzz "SKIPPED (DAXKV_TEST_QUICK=1)"
fi
total=$((SECONDS - start_s))
if ((failed)); then
	echo "test.sh: FAILED (${total}s)"
	exit 1
fi
echo "test.sh: ALL PASSED (${names[*]}; ${total}s)"
