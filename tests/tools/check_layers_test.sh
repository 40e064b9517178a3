#!/usr/bin/env bash
# check_layers_test.sh -- scripts/check-layers.sh catches what it is for:
# an object of a low layer calling into a higher one (a circle of calls), and
# a library object with no place in the LAYERS table; and passes a sound pair.
#   check_layers_test.sh SCRIPT REAL_BUILD_DIR
set -uo pipefail
script="$1" real="$2"
command -v cc >/dev/null && command -v nm >/dev/null || exit 77
T="$(mktemp -d)"
trap 'rm -rf "$T"' EXIT
fails=0
obj() { # build-dir path.c source
	mkdir -p "$(dirname "$1/CMakeFiles/daxkv.dir/$2")"
	printf '%s\n' "$3" >"$T/src.c"
	cc -c -o "$1/CMakeFiles/daxkv.dir/$2.o" "$T/src.c"
	# the link command names the target's objects, as CMake's does
	printf ' CMakeFiles/daxkv.dir/%s.o' "$2" >>"$1/CMakeFiles/daxkv.dir/link.txt"
}
# db.c (layer 8) calls status.c (layer 1): fine.
obj "$T/ok" engine/db.c 'void s_fn(void); void d_fn(void); void d_fn(void) { s_fn(); }'
obj "$T/ok" engine/status.c 'void s_fn(void); void s_fn(void) {}'
# status.c calls back up into db.c: a circle.
obj "$T/up" engine/db.c 'void s_fn(void); void d_fn(void); void d_fn(void) { s_fn(); }'
obj "$T/up" engine/status.c 'void d_fn(void); void s_fn(void); void s_fn(void) { d_fn(); }'
# a library file the table does not place
obj "$T/new" engine/db.c 'void d_fn(void); void d_fn(void) {}'
obj "$T/new" engine/newthing.c 'void n_fn(void); void n_fn(void) {}'

out=$(bash "$script" "$T/ok" 2>&1) || { echo "FAIL: a sound pair is refused: $out"; fails=$((fails + 1)); }
out=$(bash "$script" "$T/up" 2>&1) && { echo "FAIL: an up-call passes"; fails=$((fails + 1)); }
grep -q "engine/status.c (layer 1) uses d_fn of engine/db.c (layer 8)" <<<"$out" ||
	{ echo "FAIL: the up-call is not named: $out"; fails=$((fails + 1)); }
out=$(bash "$script" "$T/new" 2>&1) && { echo "FAIL: an unplaced file passes"; fails=$((fails + 1)); }
grep -q "engine/newthing.c is in libdaxkv but not in the LAYERS table" <<<"$out" ||
	{ echo "FAIL: the unplaced file is not named: $out"; fails=$((fails + 1)); }
# and the real library passes
out=$(bash "$script" "$real" 2>&1) || { echo "FAIL: the real build: $out"; fails=$((fails + 1)); }
echo "check_layers_test: 4 cases, $fails failures"
exit $((fails > 0))
