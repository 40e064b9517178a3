#!/usr/bin/env bash
# install_test.sh SRC BUILD WORK CMAKE CC PKG_CONFIG [SANITIZE]
# Installs BUILD into WORK/prefix and does what README.md's "Using the
# library" tells a user, with README's own C and CMake blocks:
#   1. pkg-config --cflags --libs daxkv        -> hello (libdaxkv.so)
#   2. pkg-config --static, libdaxkv.a          -> hello-static (no libdaxkv.so)
#   3. find_package(daxkv) + daxkv::daxkv       -> cmake/hello
#      and daxkv::daxkv_static                  -> cmake/hello_static
# each run twice on one store in /dev/shm (create, then reopen); plus the
# installed files (.pc relative to its prefix, SONAME, --version of the tools).
set -euo pipefail
src="$1" build="$2" work="$3" cmake="$4" cc="$5" pkgconfig="$6" sanitize="${7:-}"

fail() { echo "install_test: FAIL: $*" >&2; exit 1; }
[[ -n "$pkgconfig" ]] || { echo "install_test: no pkg-config: skipped"; exit 77; }

rm -rf "$work"
mkdir -p "$work"
store="/dev/shm/daxkv-install-test.$$"
trap 'rm -rf "$store" "$store".*' EXIT
prefix="$work/prefix"
# A sanitized library needs the sanitizer runtime in the program too.
flags=()
[[ -z "$sanitize" ]] || flags=(-fsanitize="$sanitize" -fno-omit-frame-pointer)

"$cmake" --install "$build" --prefix "$prefix" >"$work/install.log" ||
	{ cat "$work/install.log" >&2; fail "cmake --install"; }

# README's program: the first ```c block of "## Using the library".
awk '/^## Using the library/ { u = 1 } u && /^```c$/ { c = 1; next }
	c && /^```$/ { exit } c' "$src/README.md" >"$work/hello.c"
grep -q 'daxkv_open' "$work/hello.c" || fail "no C program in README.md's Using the library"
awk '/^## Using the library/ { u = 1 } u && /^```cmake$/ { c = 1; next }
	c && /^```$/ { exit } c' "$src/README.md" >"$work/readme.cmake"
grep -q 'find_package(daxkv' "$work/readme.cmake" || fail "no CMake block in README.md"

libdir=$(find "$prefix" -name libdaxkv.so -printf '%h\n' | head -n1)
[[ -n "$libdir" ]] || fail "no libdaxkv.so installed"
for f in include/daxkv.h bin/daxkv; do
	[[ -e "$prefix/$f" ]] || fail "$f not installed"
done
[[ -e "$libdir/libdaxkv.a" && -e "$libdir/libdaxkv.so.1" ]] || fail "libdaxkv.a/.so.1 missing"

# The shipped library is the engine alone: no test hook, no offline tool
# (inspect, repair, the dump reader: tools/lib), in any symbol table -- nm,
# not only nm -D (static functions of a not stripped build show up too).
if command -v nm >/dev/null; then
	for lib in "$libdir/libdaxkv.so" "$libdir/libdaxkv.a"; do
		leaked=$(nm "$lib" 2>/dev/null | awk '{print $NF}' |
			grep -E '^(dkv_test_|insp_|repair_|rep_|dump_r_|pm_shadow_)' | sort -u | head -5 ||
			true)
		[[ -z "$leaked" ]] || fail "$(basename "$lib") holds test or offline-tool symbols: $leaked"
	done
	exported=$(nm -D --defined-only "$libdir/libdaxkv.so" | awk '{print $NF}' |
		grep -v -e '^daxkv_' -e '^_' || true)
	[[ -z "$exported" ]] || fail "libdaxkv.so exports names outside daxkv_*: $exported"
fi

# pkg-config: the prefix it reports is where the .pc lies, not the configured one.
export PKG_CONFIG_PATH="$libdir/pkgconfig"
pc_inc=$("$pkgconfig" --variable=includedir daxkv)
[[ "$(cd "$pc_inc" && pwd -P)" == "$(cd "$prefix/include" && pwd -P)" ]] ||
	fail "daxkv.pc includedir $pc_inc is not $prefix/include"
want=$(sed -n 's/^#define DAXKV_VERSION_\(MAJOR\|MINOR\|PATCH\) *\([0-9]*\).*/\2/p' \
	"$src/include/daxkv.h" | paste -sd.)
[[ "$("$pkgconfig" --modversion daxkv)" == "$want" ]] || fail "daxkv.pc version is not $want"

run() { # name program: create the store, then reopen it
	local name="$1"
	shift
	rm -f "$store"
	for pass in create reopen; do
		out=$(LD_LIBRARY_PATH="$libdir" "$@" "$store") || fail "$name ($pass) failed: $out"
		[[ "$out" == "hello = world (daxkv $want)" ]] || fail "$name ($pass) printed: $out"
	done
	echo "install_test: $name: $out"
}

# shellcheck disable=SC2046 # pkg-config's output is a word list
"$cc" "${flags[@]}" -o "$work/hello" "$work/hello.c" $("$pkgconfig" --cflags --libs daxkv) ||
	fail "cc with pkg-config --cflags --libs"
run pkg-config "$work/hello"

# shellcheck disable=SC2046
"$cc" "${flags[@]}" -o "$work/hello-static" "$work/hello.c" $("$pkgconfig" --cflags daxkv) \
	-Wl,-Bstatic -ldaxkv -Wl,-Bdynamic -Wl,--as-needed $("$pkgconfig" --static --libs daxkv) ||
	fail "cc with pkg-config --static"
if readelf -d "$work/hello-static" | grep -q 'NEEDED.*libdaxkv'; then
	fail "hello-static needs libdaxkv.so"
fi
run pkg-config-static "$work/hello-static"

# find_package: README's CMake block, plus the static target.
mkdir -p "$work/cmake"
{
	echo 'cmake_minimum_required(VERSION 3.20)'
	echo 'project(hello C)'
	cat "$work/readme.cmake"
	echo 'add_executable(hello_static hello.c)'
	echo 'target_link_libraries(hello_static PRIVATE daxkv::daxkv_static)'
} >"$work/cmake/CMakeLists.txt"
cp "$work/hello.c" "$work/cmake/"
"$cmake" -S "$work/cmake" -B "$work/cmake/build" -DCMAKE_PREFIX_PATH="$prefix" \
	-DCMAKE_C_COMPILER="$cc" -DCMAKE_C_FLAGS="${flags[*]}" >"$work/cmake.log" 2>&1 ||
	{ cat "$work/cmake.log" >&2; fail "find_package(daxkv) project did not configure"; }
"$cmake" --build "$work/cmake/build" >>"$work/cmake.log" 2>&1 ||
	{ cat "$work/cmake.log" >&2; fail "find_package(daxkv) project did not build"; }
run find_package "$work/cmake/build/hello"
run find_package-static "$work/cmake/build/hello_static"

# daxkv-bench links libdaxkv.so: it finds the one of its own prefix (RUNPATH
# $ORIGIN/..), with no LD_LIBRARY_PATH.
if [[ -x "$prefix/bin/daxkv-bench" ]]; then
	env -u LD_LIBRARY_PATH "$prefix/bin/daxkv-bench" --help >/dev/null ||
		fail "bin/daxkv-bench --help does not run from the prefix"
fi
# The tools answer --version (where they implement it) with the header's version.
for tool in daxkv daxkv-bench; do
	[[ -x "$prefix/bin/$tool" ]] || { [[ $tool == daxkv-bench ]] && continue; fail "no bin/$tool"; }
	if v=$(LD_LIBRARY_PATH="$libdir" "$prefix/bin/$tool" --version 2>/dev/null); then
		[[ "$v" == *"$want"* ]] || fail "$tool --version printed: $v"
		echo "install_test: $tool --version: $v"
	fi
done
echo "install_test: OK"
