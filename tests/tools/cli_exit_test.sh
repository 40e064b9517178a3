#!/usr/bin/env bash
# cli_exit_test.sh -- walks the exit-code table of docs/CLI.md (ctest label tools):
# for each code, commands that must produce it, and that every error is one line
# on stderr, "daxkv CMD: STORE: reason", naming the store once.  Also: output to
# a full device (/dev/full) is an error for every command that writes output,
# sizes and counts (0), the store's limits (info, put too big), `help CMD` =
# `CMD --help`, and the version.
#
#   bash tests/tools/cli_exit_test.sh path/to/daxkv path/to/pool_setver include/daxkv.h
#
# The "another format version" case rewrites the version field of a pool copy
# AND reseals the header's CRC (pool_setver); a version patched without the
# CRC is a damaged header (exit 1), which is tested as such.
set -u
DAXKV=${1:?usage: cli_exit_test.sh daxkv pool_setver daxkv.h}
SETVER=${2:?usage: cli_exit_test.sh daxkv pool_setver daxkv.h}
HEADER=${3:?usage: cli_exit_test.sh daxkv pool_setver daxkv.h}
export PMEM_IS_PMEM_FORCE=1
[ -w /dev/shm ] || { echo "SKIP: /dev/shm is not writable"; exit 77; }

T=/dev/shm/daxkv-exittest-$$
mkdir -p "$T" || exit 1
chmod 755 "$T"
trap 'rm -rf "$T"' EXIT
fails=0
n=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# run CMD...: stdout to $T/out, stderr to $T/err, status in $rc.
run() {
	n=$((n + 1))
	"$@" >"$T/out" 2>"$T/err"
	rc=$?
}
# expect RC CMD...: runs CMD and checks its exit status.
expect() {
	local want=$1
	shift
	run "$@"
	if [ "$rc" -ne "$want" ]; then
		fail "'$*' exited $rc, expected $want"
		sed 's/^/    /' "$T/err" | head -3
	fi
}
# one_line CMD STORE [WORD]: stderr is exactly one line "daxkv CMD: STORE: ...",
# naming STORE once and CMD once, containing WORD.
one_line() {
	local cmd=$1 store=$2 word=${3:-}
	local line
	line=$(cat "$T/err")
	if [ "$(wc -l <"$T/err")" -ne 1 ]; then
		fail "$cmd $store: stderr is not one line: $(head -c 400 "$T/err")"
		return
	fi
	case "$line" in
	"daxkv $cmd: $store: "*) ;;
	*) fail "$cmd $store: not 'daxkv $cmd: $store: reason': $line"; return ;;
	esac
	local rest=${line#"daxkv $cmd: $store: "}
	case "$rest" in
	*"$store"*) fail "$cmd: the store is named twice: $line" ;;
	esac
	case "$rest" in
	*"$cmd:"*) fail "$cmd: the command is named twice: $line" ;;
	esac
	if [ -n "$word" ] && ! grep -qiF -- "$word" "$T/err"; then
		fail "$cmd $store: the message lacks '$word': $line"
	fi
}
# usage_line CMD: one line, "daxkv CMD: ...".
usage_line() {
	if [ "$(wc -l <"$T/err")" -ne 1 ] || ! grep -q "^daxkv $1: " "$T/err"; then
		fail "usage error of $1 is not one 'daxkv $1: ...' line: $(head -c 400 "$T/err")"
	fi
}

S=$T/store
run "$DAXKV" create "$S" --size 16M --segment-size 1M
[ "$rc" -eq 0 ] || { echo "FAIL: cannot create a store: $(cat "$T/err")"; exit 1; }
"$DAXKV" put "$S" alpha one && "$DAXKV" put "$S" beta two || fail "put"

# ---- 0: success; scan --limit 0 prints nothing ----
expect 0 "$DAXKV" scan "$S" --limit 0
[ -s "$T/out" ] && fail "scan --limit 0 printed: $(cat "$T/out")"
expect 0 "$DAXKV" scan "$S" --limit 1 --keys-only
[ "$(cat "$T/out")" = alpha ] || fail "scan --limit 1: $(cat "$T/out")"

# ---- 4: a missing store (never 3, the key-not-found code) ----
M=$T/no-such-store
for args in "get $M k" "put $M k v" "del $M k" "scan $M" "dump $M" "info $M" \
	"check $M" "backup $M $T/bk"; do
	# shellcheck disable=SC2086
	expect 4 "$DAXKV" $args
	one_line "${args%% *}" "$M" "no such store"
done

# ---- 4: not a daxkv pool (a short file, a long file, a directory of other
# files: an empty one, or one holding only LOCK, is a store whose creation
# never finished -- "no such store") ----
printf 'just some bytes' >"$T/short"
head -c 1048576 /dev/urandom >"$T/junk"
mkdir -p "$T/dir"
printf 'notes' >"$T/dir/notes.txt"
for f in "$T/short" "$T/junk" "$T/dir"; do
	for c in info check get; do
		if [ "$c" = get ]; then expect 4 "$DAXKV" get "$f" k; else expect 4 "$DAXKV" "$c" "$f"; fi
		one_line "$c" "$f" "not a daxkv pool"
	done
done

# ---- 4: a daxkv pool of another format version (version field and CRC) ----
cp "$S" "$T/v99"
"$SETVER" "$T/v99" 99 || fail "pool_setver"
for c in info check get put; do
	case $c in
	get) expect 4 "$DAXKV" get "$T/v99" k ;;
	put) expect 4 "$DAXKV" put "$T/v99" k v ;;
	*) expect 4 "$DAXKV" "$c" "$T/v99" ;;
	esac
	one_line "$c" "$T/v99" "version 99"
done

# ---- 4: busy (another process holds the store's lock) ----
if command -v flock >/dev/null; then
	exec 9<"$S"
	flock -x 9
	for c in get put info check; do
		case $c in
		get) expect 4 "$DAXKV" get "$S" alpha ;;
		put) expect 4 "$DAXKV" put "$S" k v ;;
		*) expect 4 "$DAXKV" "$c" "$S" ;;
		esac
		one_line "$c" "$S" busy
	done
	exec 9<&-
else
	echo "note: no flock(1), busy not tested"
fi

# ---- 4: permission denied ----
cp "$S" "$T/noperm"
chmod 000 "$T/noperm"
as_other=()
if [ "$(id -u)" -eq 0 ]; then
	if command -v setpriv >/dev/null; then
		as_other=(setpriv --reuid=65534 --regid=65534 --clear-groups)
	elif command -v runuser >/dev/null; then
		as_other=(runuser -u nobody --)
	fi
fi
if [ "$(id -u)" -ne 0 ] || { [ ${#as_other[@]} -gt 0 ] && "${as_other[@]}" "$DAXKV" version >/dev/null 2>&1; }; then
	for c in info check get; do
		if [ "$c" = get ]; then expect 4 "${as_other[@]}" "$DAXKV" get "$T/noperm" k
		else expect 4 "${as_other[@]}" "$DAXKV" "$c" "$T/noperm"; fi
		one_line "$c" "$T/noperm" "permission denied"
	done
else
	echo "note: cannot run as another user, permission denied not tested"
fi

# ---- 4: the store exists (create, restore), the destination exists (backup) ----
expect 4 "$DAXKV" create "$S"
one_line create "$S" exists

# ---- 1: damaged: a pool header that fails its checksum, a damaged record ----
# The header has a backup copy at 2048: one damaged copy still opens (read-only
# commands write nothing), both damaged is a damaged pool.
cp "$S" "$T/badhdr"
printf 'Z' | dd of="$T/badhdr" bs=1 seek=12 conv=notrunc 2>/dev/null # the version field
expect 0 "$DAXKV" get "$T/badhdr" alpha
printf 'Z' | dd of="$T/badhdr" bs=1 seek=$((2048 + 12)) conv=notrunc 2>/dev/null
for c in info check get; do
	if [ "$c" = get ]; then expect 1 "$DAXKV" get "$T/badhdr" alpha; else expect 1 "$DAXKV" "$c" "$T/badhdr"; fi
	one_line "$c" "$T/badhdr" damaged
done
"$DAXKV" put "$S" marker MARKERVALUE-0123456789 || fail "put marker"
cp "$S" "$T/badrec"
off=$(grep -obUa MARKERVALUE "$T/badrec" | head -1 | cut -d: -f1)
if [ -n "$off" ]; then
	printf 'Z' | dd of="$T/badrec" bs=1 seek=$((off + 3)) conv=notrunc 2>/dev/null
	expect 1 "$DAXKV" get "$T/badrec" marker
	one_line get "$T/badrec" damaged
	expect 1 "$DAXKV" check "$T/badrec" --quiet
else
	fail "marker value not found in the pool file"
fi

# ---- 3: key not found (get, del), naming the key ----
expect 3 "$DAXKV" get "$S" nokey
one_line get "$S" "key 'nokey' not found"
expect 3 "$DAXKV" del "$S" nokey
one_line del "$S" "key 'nokey' not found"

# ---- 2: usage errors, one line each ----
expect 2 "$DAXKV"
expect 2 "$DAXKV" frobnicate
expect 2 "$DAXKV" help frobnicate
for args in "get" "get $S" "put $S k" "scan $S --bogus" "scan $S -q" "dump $S -o" \
	"info $S extra" "check $S --from-log" "get $S zz --hex" "create $T/n --size 0" \
	"create $T/n --segment-size 0" "create $T/n --size 1.5G" "create $T/n --size -1" \
	"create $T/n --size banana" "create $T/n --segment-size 1000" "load $T/n --size 0" \
	"restore $T/x $T/n --segment-size 0" "restore $T/x $T/n --single-pass" \
	"scan $S --limit -1" "scan $S --limit 1k" "scan $S --limit x" "version extra"; do
	# shellcheck disable=SC2086
	expect 2 "$DAXKV" $args
	usage_line "${args%% *}"
done
for c in get del; do
	expect 2 "$DAXKV" "$c" "$S" ""
	usage_line "$c"
done
expect 2 "$DAXKV" put "$S" "" v
usage_line put
[ -e "$T/n" ] && fail "a refused create left $T/n"

# ---- sizes: binary suffixes ----
expect 0 "$DAXKV" create "$T/s1" --size 64MiB --segment-size 1m
expect 0 "$DAXKV" info "$T/s1" --json
grep -q '"pool_size": 67108864' "$T/out" || fail "--size 64MiB is not 64 x 1024 x 1024"
grep -q '"segment_size": 1048576' "$T/out" || fail "--segment-size 1m is not 1048576"

# ---- limits: info shows them, put past them says so (exit 4) ----
expect 0 "$DAXKV" info "$S" --json
rmax=$(grep -o '"record_max_bytes": [0-9]*' "$T/out" | grep -o '[0-9]*$')
vmax=$(grep -o '"value_max_bytes": [0-9]*' "$T/out" | grep -o '[0-9]*$')
if [ -z "$rmax" ] || [ -z "$vmax" ]; then
	fail "info --json lacks record_max_bytes/value_max_bytes"
else
	[ "$vmax" -eq $((rmax - 49)) ] || fail "value_max_bytes $vmax, record_max_bytes $rmax"
	expect 0 "$DAXKV" info "$S"
	grep -q "^max record: *$rmax " "$T/out" || fail "info lacks 'max record: $rmax'"
	grep -q "^max value: *$vmax " "$T/out" || fail "info lacks 'max value: $vmax'"
	head -c "$vmax" /dev/zero >"$T/vfit"
	head -c $((vmax + 1)) /dev/zero >"$T/vbig"
	expect 0 "$DAXKV" put "$S" K - <"$T/vfit"
	expect 4 "$DAXKV" put "$S" K - <"$T/vbig"
	one_line put "$S" "too big"
	grep -q "$rmax" "$T/err" || fail "put too big does not name the limit $rmax"
	grep -q "segment size 1048576" "$T/err" || fail "put too big does not name the segment size"
fi

# ---- output to a full device: an error (4) for every command that writes ----
if [ -w /dev/full ]; then
	"$DAXKV" dump "$S" >"$T/dump" || fail "dump"
	for args in "info $S" "info $S --json" "check $S" "check $S --json" "get $S alpha" \
		"get $S 616c706861 --hex" "scan $S" "scan $S --keys-only" "dump $S" "--help" "help" \
		"help get" "get --help" "version" "--version"; do
		n=$((n + 1))
		# shellcheck disable=SC2086
		"$DAXKV" $args >/dev/full 2>"$T/err"
		rc=$?
		[ "$rc" -eq 4 ] || fail "'$args' > /dev/full exited $rc, expected 4"
		grep -q "No space left on device" "$T/err" || fail "'$args' > /dev/full: $(cat "$T/err")"
		[ "$(wc -l <"$T/err")" -eq 1 ] || fail "'$args' > /dev/full: not one line: $(cat "$T/err")"
	done
	# Commands that write nothing on stdout do not mind it.
	for args in "put $S k v" "del $S k" "create $T/full1" "load $T/full2 $T/dump" \
		"backup $S $T/full3" "restore $T/full3 $T/full4"; do
		n=$((n + 1))
		# shellcheck disable=SC2086
		"$DAXKV" $args >/dev/full 2>"$T/err" || fail "'$args' > /dev/full failed: $(cat "$T/err")"
	done
else
	echo "note: no /dev/full, output errors not tested"
fi

# ---- help COMMAND = COMMAND --help, for every command ----
for c in info check create get put del delete scan dump load backup restore version; do
	"$DAXKV" "$c" --help >"$T/h1" 2>&1 || fail "$c --help failed"
	"$DAXKV" help "$c" >"$T/h2" 2>&1 || fail "help $c failed"
	[ -s "$T/h1" ] || fail "$c --help is empty"
	cmp -s "$T/h1" "$T/h2" || fail "'daxkv help $c' differs from 'daxkv $c --help'"
	n=$((n + 2))
done
# Every --help of a command taking sizes or counts states the convention.
for c in create load restore; do
	"$DAXKV" "$c" --help | grep -q "x1024" || fail "$c --help does not state the size suffixes"
done
"$DAXKV" scan --help | grep -q "decimal" || fail "scan --help does not state the count format"
"$DAXKV" --help | grep -q "x1024" || fail "--help does not state the size suffixes"

# ---- version: the library's, as the header names it ----
want=$(awk '/#define DAXKV_VERSION_(MAJOR|MINOR|PATCH) /{printf "%s%s", sep, $3; sep="."}' "$HEADER")
expect 0 "$DAXKV" --version
[ "$(cat "$T/out")" = "daxkv $want" ] || fail "--version: '$(cat "$T/out")', expected 'daxkv $want'"
expect 0 "$DAXKV" version
[ "$(cat "$T/out")" = "daxkv $want" ] || fail "version: '$(cat "$T/out")', expected 'daxkv $want'"

echo "cli_exit_test: $n checks, $fails failures"
[ "$fails" -eq 0 ]
