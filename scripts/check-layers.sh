#!/usr/bin/env bash
# check-layers.sh -- calls go one way, and no source file grows too long.
#
#   bash scripts/check-layers.sh BUILD_DIR
#
# 1. Layers.  The table between "LAYERS" and "END" in engine/internal.h puts
#    every source file of libdaxkv on a layer.  From the symbol references of
#    the library's objects (nm: what each object defines and what it leaves
#    undefined -- the calls and data it uses, not its #include lines) this
#    builds the graph "module A uses module B" and fails when A uses a module
#    of a higher layer, or of its own layer named after it on its line.  A
#    circle of calls is such an edge, so none can exist.  A source file of the
#    library missing from the table fails too: every new file gets its place.
# 2. The offline tools' library (tools/lib) uses the engine, never the
#    reverse: no object of libdaxkv refers to a symbol tools/lib defines.
# 3. Length: no .c/.h file of the library, the tools or the benchmark over
#    800 lines; test files over 900 (a suite may hold more cases).
# Needs nm (binutils) and a built BUILD_DIR.  Exits 1 on a violation.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${1:?usage: check-layers.sh BUILD_DIR}"
objdir="$build/CMakeFiles/daxkv.dir"
toolsdir="$build/CMakeFiles/daxkv_tools.dir"
[[ -d "$objdir" ]] || { echo "check-layers: no objects in $objdir (build first)" >&2; exit 2; }
command -v nm >/dev/null || { echo "check-layers: nm not found (binutils)" >&2; exit 2; }

fail=0
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# layer table: "file layer position"
awk '/LAYERS$/ {on = 1; next} /END$/ {on = 0} on {
	sub(/^[ \t]*\*[ \t]*/, "")
	n = split($0, f, /[ \t]+/)
	for (i = 2; i <= n; i++)
		if (f[i] ~ /\.c$/)
			print f[i], f[1], i
}' "$root/engine/internal.h" >"$tmp/layers"
[[ -s "$tmp/layers" ]] || { echo "check-layers: no LAYERS table in engine/internal.h" >&2; exit 2; }

# The objects a target links now: from its link command (Makefile builds),
# else every object whose source still exists (a build dir may keep objects of
# files since moved or deleted).
objects() { # dir -> paths
	local dir="$1" o m
	if [[ -f "$dir/link.txt" ]]; then
		grep -o "CMakeFiles/$(basename "$dir")/[^ ]*\.o" "$dir/link.txt" | sort -u |
			sed "s#^#$build/#"
		return
	fi
	while IFS= read -r o; do
		m="${o#"$dir"/}"
		[[ -f "$root/${m%.o}" ]] && echo "$o"
	done < <(find "$dir" -name '*.o' | sort)
}

# nm of each object: "module D symbol" / "module U symbol"
symbols() { # dir -> lines
	local dir="$1" o m
	while IFS= read -r o; do
		m="${o#"$dir"/}"
		m="${m%.o}"
		nm "$o" | awk -v m="$m" 'NF == 3 && $2 ~ /^[TDBRVWCG]$/ {print m, "D", $3}
			NF == 2 && $1 == "U" {print m, "U", $2}'
	done < <(objects "$dir")
}
symbols "$objdir" >"$tmp/lib"

# every library source has a layer
for m in $(awk '{print $1}' "$tmp/lib" | sort -u); do
	if ! grep -q "^$m " "$tmp/layers"; then
		echo "check-layers: $m is in libdaxkv but not in the LAYERS table of engine/internal.h"
		fail=1
	fi
done

# edges that go up or sideways-forward
awk 'FNR == NR {layer[$1] = $2; pos[$1] = $3; next}
	$2 == "D" {def[$3] = $1; next}
	{use[$1 SUBSEP $3] = 1}
	END {
		for (k in use) {
			split(k, p, SUBSEP)
			a = p[1]; b = def[p[2]]
			if (b == "" || a == b || !(a in layer) || !(b in layer))
				continue
			if (layer[b] > layer[a] || (layer[b] == layer[a] && pos[b] > pos[a]))
				printf "check-layers: %s (layer %s) uses %s of %s (layer %s)\n", a, layer[a], p[2], b, layer[b]
		}
	}' "$tmp/layers" "$tmp/lib" | sort -u >"$tmp/bad"
if [[ -s "$tmp/bad" ]]; then
	cat "$tmp/bad"
	fail=1
fi

# the engine never reaches into the offline tools
if [[ -d "$toolsdir" ]]; then
	symbols "$toolsdir" | awk '$2 == "D" {print $3}' | sort -u >"$tmp/tooldefs"
	awk '$2 == "U" {print $3}' "$tmp/lib" | sort -u | comm -12 - "$tmp/tooldefs" >"$tmp/up"
	if [[ -s "$tmp/up" ]]; then
		echo "check-layers: libdaxkv refers to symbols of tools/lib: $(tr '\n' ' ' <"$tmp/up")"
		fail=1
	fi
fi

# file length
cd "$root"
while IFS= read -r f; do
	limit=800
	[[ "$f" == tests/* ]] && limit=900
	n=$(wc -l <"$f")
	if ((n > limit)); then
		echo "check-layers: $f has $n lines (limit $limit): split it by concept"
		fail=1
	fi
done < <(git ls-files '*.c' '*.h' 2>/dev/null || find . -name '*.[ch]' -not -path './build*')

mods=$(awk '{print $1}' "$tmp/layers" | wc -l)
if ((fail)); then
	echo "check-layers: FAILED"
	exit 1
fi
echo "check-layers: ok ($mods modules on their layers, calls go down, files within their length)"
