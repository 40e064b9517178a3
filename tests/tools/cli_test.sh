#!/usr/bin/env bash
# cli_test.sh -- drives the built `daxkv` binary (ctest label tools):
# create/info/--json, put/get/del/scan and their flags, exit codes, dump|load,
# backup/restore, check on a clean and on a damaged copy, check --repair,
# --help for every subcommand, usage errors.
#
#   bash tests/tools/cli_test.sh path/to/daxkv
set -u
DAXKV=${1:?usage: cli_test.sh path/to/daxkv}
export PMEM_IS_PMEM_FORCE=1
[ -w /dev/shm ] || { echo "SKIP: /dev/shm is not writable"; exit 77; }

T=/dev/shm/daxkv-clitest-$$
B=${TMPDIR:-/tmp}/daxkv-clitest-$$
mkdir -p "$T" "$B" || exit 1
trap 'rm -rf "$T" "$B"' EXIT
S=$T/store
fails=0
n=0

fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
# expect RC CMD...: runs CMD (stdout to $T/out, stderr to $T/err), checks its status.
expect() {
	local want=$1
	shift
	n=$((n + 1))
	"$@" >"$T/out" 2>"$T/err"
	local rc=$?
	if [ "$rc" -ne "$want" ]; then
		fail "'$*' exited $rc, expected $want"
		sed 's/^/    /' "$T/err" | head -5
	fi
}
out_is() { [ "$(cat "$T/out")" = "$1" ] || fail "output '$(cat "$T/out")', expected '$1'"; }
out_has() { grep -q -- "$1" "$T/out" || fail "output lacks '$1': $(head -c 300 "$T/out")"; }

# ---- help and usage ----
expect 0 "$DAXKV" --help
out_has "Exit status"
expect 2 "$DAXKV"
expect 2 "$DAXKV" frobnicate
for c in info check create get put del scan dump load backup restore; do
	expect 0 "$DAXKV" "$c" --help
	out_has "usage: daxkv $c"
done
expect 2 "$DAXKV" get
expect 2 "$DAXKV" put "$S" onlykey
expect 2 "$DAXKV" scan "$S" --bogus
expect 2 "$DAXKV" get "$S" zz --hex      # odd hex
expect 2 "$DAXKV" get "$S" '\q' --escape # bad escape
expect 2 "$DAXKV" check "$S" --from-log
expect 2 "$DAXKV" create "$S" --size banana

# ---- create, put, get, del ----
expect 4 "$DAXKV" get "$S" k            # no store
expect 0 "$DAXKV" create "$S" --size 64M --segment-size 1M
expect 4 "$DAXKV" create "$S"           # exists
expect 0 "$DAXKV" put "$S" alpha one
expect 0 "$DAXKV" put "$S" beta two
expect 0 "$DAXKV" put "$S" gamma three
expect 0 "$DAXKV" get "$S" beta
out_is "two"
expect 3 "$DAXKV" get "$S" nosuchkey
expect 0 "$DAXKV" del "$S" gamma
expect 3 "$DAXKV" del "$S" gamma
expect 3 "$DAXKV" get "$S" gamma
printf 'line1\nline2\0tail' >"$T/val"
"$DAXKV" put "$S" fromstdin - <"$T/val" || fail "put from stdin"
"$DAXKV" get "$S" fromstdin >"$T/got" || fail "get raw"
cmp -s "$T/val" "$T/got" || fail "raw value round trip"
expect 0 "$DAXKV" put "$S" -x 00ff41 6869
expect 0 "$DAXKV" get "$S" -e '\x00\xffA'
out_is "hi"
expect 0 "$DAXKV" get "$S" -x 00ff41
out_is "6869"

# ---- scan ----
for i in 1 2 3 4 5; do "$DAXKV" put "$S" "user:$i" "v$i" || fail "put user:$i"; done
expect 0 "$DAXKV" scan "$S" --prefix user: --keys-only
out_is "$(printf 'user:1\nuser:2\nuser:3\nuser:4\nuser:5')"
expect 0 "$DAXKV" scan "$S" --prefix user: --reverse --limit 2
out_is "$(printf 'user:5\tv5\nuser:4\tv4')"
expect 0 "$DAXKV" scan "$S" --start user:2 --end user:4
out_is "$(printf 'user:2\tv2\nuser:3\tv3')"
expect 0 "$DAXKV" scan "$S" --start user:2 --end user:4 --reverse
out_is "$(printf 'user:3\tv3\nuser:2\tv2')"
expect 0 "$DAXKV" scan "$S" --limit 1 --keys-only
out_is '\x00\xffA'
expect 0 "$DAXKV" scan "$S" --prefix fromstdin
out_is 'fromstdin	line1\nline2\x00tail'
expect 0 "$DAXKV" scan "$S" --prefix 00 --hex
out_is "00ff41	6869"
expect 0 "$DAXKV" scan "$S" --prefix nothing-here
out_is ""

# ---- info ----
expect 0 "$DAXKV" info "$S"
out_has "clean shutdown:  yes"
out_has "header:          primary valid, backup copy valid"
out_has "keys:            9"
expect 0 "$DAXKV" info "$S" --json
out_has '"keys": 9'
out_has '"format_version": 1'
out_has '"header_primary": "valid", "header_backup": "valid"'
if command -v python3 >/dev/null; then
	python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$T/out" || fail "info --json is not JSON"
fi

# ---- check (clean) ----
expect 0 "$DAXKV" check "$S"
out_has "0 problems"
expect 0 "$DAXKV" check "$S" --json
out_has '"ok": true'
if command -v python3 >/dev/null; then
	python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$T/out" || fail "check --json is not JSON"
fi

# ---- dump | load ----
expect 2 "$DAXKV" dump "$S" -o   # missing argument
"$DAXKV" dump "$S" >"$T/dump" || fail "dump"
"$DAXKV" load "$T/loaded" <"$T/dump" 2>/dev/null || fail "load into a new store"
"$DAXKV" scan "$S" >"$T/a"; "$DAXKV" scan "$T/loaded" >"$T/b"
cmp -s "$T/a" "$T/b" || fail "dump|load round trip differs"
cat "$T/dump" | "$DAXKV" load "$T/piped" 2>/dev/null || fail "load from a pipe"
head -c 100 "$T/dump" >"$T/trunc"
expect 1 "$DAXKV" load "$T/bad" "$T/trunc"
[ -e "$T/bad" ] && fail "a truncated stream created a store"
cp "$T/dump" "$T/flipped"
printf 'X' | dd of="$T/flipped" bs=1 seek=40 conv=notrunc 2>/dev/null
expect 1 "$DAXKV" load "$T/loaded" <"$T/flipped"
expect 0 "$DAXKV" load "$T/loaded" "$T/dump" --single-pass

# ---- backup / restore ----
expect 0 "$DAXKV" backup "$S" "$B/bk"
[ -e "$B/bk.tmp" ] && fail "backup left its .tmp"
expect 4 "$DAXKV" backup "$S" "$B/bk"          # exists
expect 0 "$DAXKV" backup "$S" "$B/bk" --force
expect 0 "$DAXKV" restore "$B/bk" "$T/restored"
"$DAXKV" scan "$T/restored" >"$T/c"
cmp -s "$T/a" "$T/c" || fail "backup/restore round trip differs"
expect 4 "$DAXKV" restore "$B/bk" "$T/restored" # exists
expect 0 "$DAXKV" restore "$B/bk" "$T/restored" --force
expect 1 "$DAXKV" restore "$T/trunc" "$T/restored2"
[ -e "$T/restored2" ] && fail "a bad backup left a store"
expect 0 "$DAXKV" load "$T/fromback" "$B/bk"   # a backup is a dump stream

# ---- check on a damaged copy, then repair ----
"$DAXKV" put "$S" marker MARKERVALUE-0123456789 || fail "put marker"
cp "$S" "$T/damaged"
off=$(grep -obUa MARKERVALUE "$T/damaged" | head -1 | cut -d: -f1)
if [ -n "$off" ]; then
	printf 'Z' | dd of="$T/damaged" bs=1 seek=$((off + 3)) conv=notrunc 2>/dev/null
	expect 1 "$DAXKV" check "$T/damaged"
	out_has "damage"
	expect 1 "$DAXKV" check "$T/damaged" --json
	out_has '"ok": false'
	expect 1 "$DAXKV" get "$T/damaged" marker    # the record fails its CRC
	expect 0 "$DAXKV" check "$T/damaged" --repair
	out_has "lost"
	expect 0 "$DAXKV" check "$T/damaged"
	expect 3 "$DAXKV" get "$T/damaged" marker
	expect 0 "$DAXKV" get "$T/damaged" alpha
	out_is "one"
else
	fail "marker value not found in the pool file"
fi
# the primary pool header damaged: read through the backup, damage, repaired
cp "$S" "$T/hdr"
printf 'Z' | dd of="$T/hdr" bs=1 seek=40 conv=notrunc 2>/dev/null
expect 0 "$DAXKV" info "$T/hdr" --json
out_has '"header_primary": "damaged", "header_backup": "valid"'
expect 1 "$DAXKV" check "$T/hdr"
out_has "backup copy"
expect 0 "$DAXKV" check "$T/hdr" --repair
expect 0 "$DAXKV" info "$T/hdr"
out_has "header:          primary valid, backup copy valid"
# a pool a writer marked damaged (sb->clean = 2 at offset 4104): exit 1, repaired
cp "$S" "$T/marked"
printf '\002' | dd of="$T/marked" bs=1 seek=4104 conv=notrunc 2>/dev/null
expect 1 "$DAXKV" check "$T/marked"
out_has "marked damaged"
expect 0 "$DAXKV" check "$T/marked" --repair
expect 0 "$DAXKV" check "$T/marked"
expect 4 "$DAXKV" info "$T/trunc"
printf 'not a pool at all, just some bytes that are long enough......' >"$T/junk"
expect 4 "$DAXKV" check "$T/junk"

echo "cli_test: $n checks, $fails failures"
[ "$fails" -eq 0 ]
