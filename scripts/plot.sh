#!/usr/bin/env bash
# plot.sh -- PNG plots of daxkv-bench results with gnuplot (JSON read with jq).
#
#   plot.sh bars OUT.png RESULT.json
#       kops/s of every job, engines side by side (needs a --compare run; median rep)
#   plot.sh cdf OUT.png RESULT.json JOB [read|write|delete|scan]
#       completion-latency percentiles of JOB per engine (x: 0 .. 99.99th, "nines" scale)
#   plot.sh tput OUT.png LOG [LOG ...]
#       throughput over time, one line per per-second log (--write_lat_log)
#   plot.sh lat OUT.png LOG [LOG ...]
#       p99 latency of each second, one line per log
#   plot.sh gc OUT.png DAXKV_LOG
#       a daxkv log: throughput (left axis) and free space in MiB (right axis) over time
#
# Needs gnuplot (gnuplot-nox) and jq.
set -euo pipefail

usage() {
	# The comment block at the top, up to its first non-comment line.
	sed -n '2,/^[^#]/{/^#/s/^# \{0,1\}//p}' "$0" >&2
	exit 2
}
[ $# -ge 3 ] || usage
mode=$1 out=$2
shift 2
command -v gnuplot >/dev/null || { echo "plot.sh: gnuplot is not installed" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
term="set terminal pngcairo noenhanced size 1000,600 font 'sans,10'; set output '$out'; set grid;"

need_jq() { command -v jq >/dev/null || { echo "plot.sh: jq is not installed" >&2; exit 2; }; }

# The label of a log: "job/engine" from its header.
log_title() { sed -n 's/^# daxkv-bench per-second log: job //p' "$1" | head -n 1; }

bars() {
	need_jq
	local json=$1
	jq -r '(["job"] + [.compare[0].rows[].engine]) | @tsv' "$json" >"$tmp/bars.dat"
	jq -r '.compare[] | [.jobname] + [.rows[] | if .ok then .iops / 1000 else "NaN" end] | @tsv' \
		"$json" >>"$tmp/bars.dat"
	local n title
	n=$(head -n 1 "$tmp/bars.dat" | awk -F'\t' '{print NF}')
	title=$(jq -r '.jobs[0]["job options"] | "ks=\(.ks) bs=\(.bs) nrkeys=\(.nrkeys) numjobs=\(.numjobs)"' "$json")
	gnuplot <<EOF
$term
set title "daxkv-bench: kops/s per job, median rep ($title)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set logscale y
set ylabel "kops/s (log scale)"
set key top right
set datafile separator "\t"
set xtics nomirror
plot for [i=2:$n] '$tmp/bars.dat' using i:xtic(1) title columnheader(i)
EOF
}

cdf() {
	need_jq
	local json=$1 job=$2 dir=${3:-}
	local engines
	engines=$(jq -r --arg j "$job" '[.jobs[] | select(.jobname == $j) | .engine] | reduce .[] as $x ([]; if index([$x]) then . else . + [$x] end) | .[]' "$json")
	[ -n "$engines" ] || { echo "plot.sh: no job '$job' in $json" >&2; exit 1; }
	local plots=() e rep
	for e in $engines; do
		# The median repetition when there is a compare table, else the first.
		rep=$(jq -r --arg j "$job" --arg e "$e" \
			'([.compare[]? | select(.jobname == $j) | .rows[] | select(.engine == $e) | .median_rep] + [1])[0]' "$json")
		jq -r --arg j "$job" --arg e "$e" --argjson r "$rep" --arg d "$dir" '
			.jobs[] | select(.jobname == $j and .engine == $e and .rep == $r) |
			(if $d != "" then .[$d] else ([.read, .write, .delete, .scan] | max_by(.ops)) end) |
			.clat_ns.percentile | to_entries[] | "\(.key) \(.value / 1000)"' "$json" \
			>"$tmp/cdf-$e.dat"
		[ -s "$tmp/cdf-$e.dat" ] && plots+=("'$tmp/cdf-$e.dat' using (-log10(1 - \$1 / 100)):2 with linespoints title '$e'")
	done
	local IFS=,
	gnuplot <<EOF
$term
set title "daxkv-bench: $job ${dir:-} completion latency by percentile"
set xlabel "percentile"
set ylabel "latency, us (log scale)"
set logscale y
set xtics ("0" 0, "90" 1, "99" 2, "99.9" 3, "99.99" 4)
set xrange [0:4.2]
set key top left
plot ${plots[*]}
EOF
}

over_time() { # COLUMN YLABEL LOG...
	local col=$1 ylabel=$2
	shift 2
	local plots=() f
	for f in "$@"; do
		plots+=("'$f' using 1:$col with linespoints lw 2 pt 7 ps 0.6 title '$(log_title "$f")'")
	done
	local IFS=,
	gnuplot <<EOF
$term
set title "daxkv-bench: $ylabel over time"
set xlabel "seconds"
set ylabel "$ylabel (log scale)"
set logscale y
set xrange [0:*]
set key outside bottom center horizontal
plot ${plots[*]}
EOF
}

gc() {
	local f=$1
	local cols
	cols=$(awk '!/^#/ {print NF; exit}' "$f")
	[ "${cols:-0}" -ge 13 ] || { echo "plot.sh gc: $f has no daxkv columns" >&2; exit 1; }
	gnuplot <<EOF
$term
set title "daxkv: throughput and free space over time ($(log_title "$f"))"
set xlabel "seconds"
set ylabel "ops/s"
set y2label "free space, MiB (segments_free x segment_size)"
set ytics nomirror
set y2tics
set yrange [0:*]
set y2range [0:*]
set key outside bottom center horizontal
plot '$f' using 1:2 axes x1y1 with linespoints lw 2 pt 7 ps 0.6 title 'ops/s', \
     '$f' using 1:(\$7 * \$8 / 1048576) axes x1y2 with linespoints lw 2 pt 7 ps 0.6 title 'free MiB', \
     '$f' using 1:(\$10 / 1048576) axes x1y2 with lines dt 2 lw 2 title 'dead MiB'
EOF
}

case "$mode" in
bars) bars "$@" ;;
cdf) cdf "$@" ;;
tput) over_time 2 "ops/s" "$@" ;;
lat) over_time 5 "p99 latency (us)" "$@" ;;
gc) gc "$@" ;;
*) usage ;;
esac
echo "plot.sh: wrote $out" >&2
