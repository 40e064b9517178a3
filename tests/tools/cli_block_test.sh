#!/usr/bin/env bash
# cli_block_test.sh -- the `daxkv` tool on a block-backend store (a directory
# on a disk, /tmp, made by create where the filesystem maps no pmem): create,
# put/get/del, info (text, --json), check (clean, then a damaged sealed segment
# file: exit 1; --repair cuts it there), dump | load, backup / restore.  Label
# tools.
#
#   bash tests/tools/cli_block_test.sh path/to/daxkv
set -u
DAXKV=${1:?usage: cli_block_test.sh path/to/daxkv}
unset PMEM_IS_PMEM_FORCE # /tmp must read as what it is: a disk
T=${TMPDIR:-/tmp}/daxkv-cliblk-$$
mkdir -p "$T" || exit 1
trap 'rm -rf "$T"' EXIT
S=$T/store
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
expect() { # expect RC CMD...
	local want=$1
	shift
	"$@" >"$T/out" 2>"$T/err"
	local rc=$?
	[ "$rc" -eq "$want" ] || fail "'$*' exited $rc, expected $want: $(cat "$T/err")"
}

expect 0 "$DAXKV" create "$S" --size 8M --segment-size 64K
[ -d "$S" ] && [ -f "$S/STORE" ] || fail "create made no block store (a directory)"
expect 0 "$DAXKV" put "$S" k1 v1
expect 0 "$DAXKV" get "$S" k1
[ "$(cat "$T/out")" = v1 ] || fail "get k1: '$(cat "$T/out")'"
expect 0 "$DAXKV" del "$S" k1
expect 3 "$DAXKV" get "$S" k1
big=$(head -c 12000 /dev/zero | tr '\0' x)
for i in $(seq 1 24); do
	"$DAXKV" put "$S" "key$i" "$big" || fail "put key$i"
done
expect 0 "$DAXKV" info "$S"
grep -q "backend: *block" "$T/out" || fail "info: no 'backend: block' in $(cat "$T/out")"
grep -q "keys: *24" "$T/out" || fail "info: not 24 keys"
expect 0 "$DAXKV" info --json "$S"
grep -q '"backend": "block"' "$T/out" || fail "info --json: $(cat "$T/out")"
expect 0 "$DAXKV" check "$S"
grep -q "24 keys" "$T/out" || fail "check: $(cat "$T/out")"

# dump | load into a second block store; backup / restore into a third
expect 0 "$DAXKV" dump "$S" -o "$T/d.dump"
expect 0 "$DAXKV" load "$T/s2" "$T/d.dump" --size 8M --segment-size 64K
expect 0 "$DAXKV" get "$T/s2" key7
[ "$(cat "$T/out")" = "$big" ] || fail "load: key7 differs"
expect 0 "$DAXKV" backup "$S" "$T/b.bk"
expect 0 "$DAXKV" restore "$T/b.bk" "$T/s3"
expect 0 "$DAXKV" check "$T/s3"

# damage inside a sealed segment file: check says damaged (exit 1)
seg=$(ls "$S"/*.seg | head -1)
printf 'DAMAGE' | dd of="$seg" bs=1 seek=3000 conv=notrunc status=none
expect 1 "$DAXKV" check "$S"
grep -qi "damage\|fails" "$T/err" || fail "check of a damaged store: $(cat "$T/err")"
expect 0 "$DAXKV" check --repair "$S"
grep -q "repair: [1-9][0-9]* bytes of records cut" "$T/out" || fail "repair: $(cat "$T/out")"
expect 0 "$DAXKV" check "$S"
expect 0 "$DAXKV" info "$S" # the other segments' keys stay, the cut ones are gone
keys=$(sed -n 's/^keys: *//p' "$T/out")
[ "${keys:-0}" -gt 0 ] && [ "${keys:-0}" -lt 24 ] || fail "keys after the repair: '$keys'"
expect 0 "$DAXKV" put "$S" after repair
expect 0 "$DAXKV" get "$S" after

echo "cli_block_test: $fails failures"
[ "$fails" -eq 0 ]
