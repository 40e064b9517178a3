#!/usr/bin/env bash
# cli_man_test.sh -- the man pages built from docs/man/*.scd (ctest label tools):
# each exists, is not empty, and renders without a warning (groff -ww, or
# mandoc -Tlint); daxkv(1) documents every command of `daxkv --help`.
#
#   bash tests/tools/cli_man_test.sh BUILD/docs/man path/to/daxkv
# Exits 77 (skipped) when the pages were not built (no scdoc at configure time).
set -u
DIR=${1:?usage: cli_man_test.sh MANDIR daxkv}
DAXKV=${2:?usage: cli_man_test.sh MANDIR daxkv}
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

if [ ! -e "$DIR/daxkv.1" ] && [ ! -e "$DIR/daxkv.3" ]; then
	echo "SKIP: no man pages in $DIR (scdoc missing when configured?)"
	exit 77
fi
for page in daxkv.1 daxkv-bench.1 daxkv.3; do
	f=$DIR/$page
	[ -s "$f" ] || { fail "$page is missing or empty"; continue; }
	if command -v groff >/dev/null; then
		err=$(groff -man -Tutf8 -ww -z "$f" 2>&1)
		[ -z "$err" ] || fail "$page: groff: $err"
	elif command -v mandoc >/dev/null; then
		err=$(mandoc -Tlint -W warning "$f" 2>&1)
		[ -z "$err" ] || fail "$page: mandoc: $err"
	else
		echo "note: neither groff nor mandoc: $page only checked to exist"
	fi
	if command -v man >/dev/null; then
		out=$(MANWIDTH=80 man -l "$f" 2>&1 >/dev/null)
		[ -z "$out" ] || fail "$page: man -l: $out"
		lines=$(MANWIDTH=80 man -l "$f" 2>/dev/null | wc -l)
		[ "$lines" -gt 20 ] || fail "$page renders to $lines lines"
	fi
done

# daxkv(1) names every command `daxkv --help` lists, and the exit codes.
if command -v man >/dev/null && [ -s "$DIR/daxkv.1" ]; then
	text=$(MANWIDTH=200 man -l "$DIR/daxkv.1" 2>/dev/null)
	cmds=$("$DAXKV" --help | sed -n '/^Commands:/,/^$/p' | awk 'NR > 1 && /^  [a-z]/ {print $1}')
	[ -n "$cmds" ] || fail "no commands found in daxkv --help"
	for c in $cmds; do
		grep -qE "^ {7}$c( |,|$)" <<<"$text" || fail "daxkv(1) has no entry for '$c'"
	done
	for code in 0 1 2 3 4; do
		grep -qE "^ {7}$code$" <<<"$text" || fail "daxkv(1) does not list exit status $code"
	done
fi

echo "cli_man_test: $fails failures"
[ "$fails" -eq 0 ]
