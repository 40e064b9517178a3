#!/usr/bin/env bash
# bench-gc.sh -- the online-GC measurements of docs/BENCHMARKS.md ("Online GC").
#
#   bash scripts/bench-gc.sh        (after bash scripts/build.sh; ~8 min on 2 vCPUs)
#
# A sustained overwrite workload in a pool about 3x the live data (records and
# index nodes), written for ten pool-fulls, with background GC on: uniform and
# zipf:0.99 keys, 100 B and 1 KiB values, each under both victim policies
# (cost-benefit, rosedb's ratio).  Then the same overwrites with GC off, for as
# long as space allows (1.5x the live data), for put latency without GC.
# daxkv-bench's JSON gives throughput, latency percentiles and daxkv's
# write_amp (log bytes written / key+value bytes asked: the 48-byte record
# header alone makes it 1.41 at 100 B, 1.05 at 1 KiB) and space_amp (segments
# in use x segment size / live bytes); copy% = GC bytes moved / log bytes
# written by the workload.  Per-second logs give the plots (docs/img/gc-*.png).
#
# env: BUILD=build  OUT=/tmp/daxkv-bench-gc  DIR=/dev/shm/daxkv-bench-gc
#      SCALE=1 (multiplies keys and pool; 0.25 for a quick look)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
BUILD=${BUILD:-build}
BENCH=${BENCH:-$BUILD/bench/daxkv-bench}
OUT=${OUT:-/tmp/daxkv-bench-gc}
DIR=${DIR:-/dev/shm/daxkv-bench-gc}
SCALE=${SCALE:-1}
export PMEM_IS_PMEM_FORCE=1
mkdir -p "$OUT" docs/img
rm -rf "$DIR"
mkdir -p "$DIR"

scale() { awk -v x="$1" -v s="$SCALE" 'BEGIN { printf "%d", x * s }'; }

# bs -> "nrkeys pool_mib": live records ~1/3 of the pool, the rest for dead
# records and index nodes.
geometry() {
	case "$1" in
	100) echo "$(scale 200000) $(scale 128)" ;;
	1024) echo "$(scale 50000) $(scale 168)" ;;
	esac
}

run() { # tag bs dist gc policy number_ios
	local tag=$1 bs=$2 dist=$3 gc=$4 policy=$5 ios=$6
	read -r nrkeys pool <<<"$(geometry "$bs")"
	rm -rf "${DIR:?}"/*
	echo "bench-gc: $tag (bs=$bs dist=$dist gc=$gc policy=$policy ios=$ios)" >&2
	"$BENCH" --name="$tag" --engine=daxkv --rw=overwrite --nrkeys="$nrkeys" --ks=16 \
		--bs="$bs" --key_dist="$dist" --pool_size="${pool}m" --segment_size=1m \
		--gc="$gc" --gc_policy="$policy" --number_ios="$ios" --directory="$DIR" \
		--write_lat_log="$OUT/lat" --output-format=json --output="$OUT/$tag.json"
}

for bs in 100 1024; do
	read -r nrkeys pool <<<"$(geometry "$bs")"
	rec=$(((48 + 16 + bs + 7) / 8 * 8))
	ios=$((10 * pool * 1024 * 1024 / rec)) # ten pool-fulls
	for dist in uniform zipf:0.99; do
		d=${dist%%:*}
		for policy in costbenefit ratio; do
			run "gc-$d-$bs-$policy" "$bs" "$dist" 1 "$policy" "$ios"
		done
		run "nogc-$d-$bs" "$bs" "$dist" 0 costbenefit $((nrkeys * 3 / 2))
	done
done

# ---- the table ----
row() { # tag -> a markdown row
	jq -r --arg t "$1" '.jobs[0] as $j | $j.write as $w | $j.daxkv as $d |
	  [$t, ($w.iops/1000 | floor | tostring) + "k",
	   ($d.write_amp * 100 | round / 100 | tostring),
	   (($d.gc_bytes_moved / ($d.bytes_written - $d.gc_bytes_moved)) * 1000 | round / 10 | tostring) + "%",
	   ($d.space_amp * 100 | round / 100 | tostring),
	   ($w.clat_ns.percentile["50.000000"] / 1000 | tostring),
	   ($w.clat_ns.percentile["99.000000"] / 1000 | tostring),
	   ($w.clat_ns.percentile["99.900000"] / 1000 | tostring),
	   ($w.clat_ns.max / 1000 | floor | tostring)] | "| " + join(" | ") + " |"' "$OUT/$1.json"
}
{
	echo "| run | puts/s | write amp | copy% | space amp | p50 µs | p99 µs | p99.9 µs | max µs |"
	echo "|---|---|---|---|---|---|---|---|---|"
	for bs in 100 1024; do
		for d in uniform zipf; do
			for t in "gc-$d-$bs-costbenefit" "gc-$d-$bs-ratio" "nogc-$d-$bs"; do
				row "$t"
			done
		done
	done
} >"$OUT/table.md"
cat "$OUT/table.md"

# ---- plots: throughput and free space over time (zipf, 100 B, both policies) ----
for policy in costbenefit ratio; do
	log="$OUT/lat.gc-zipf-100-$policy.daxkv.log"
	gnuplot <<EOF
set terminal pngcairo size 900,420 noenhanced
set output "docs/img/gc-zipf-100-$policy.png"
set title "daxkv overwrite, zipf 0.99, 100 B values, GC $policy: throughput and free space"
set xlabel "time (s)"
set ylabel "puts/s"
set y2label "free segments (MiB)"
set ytics nomirror
set y2tics
set yrange [0:*]
set y2range [0:*]
set key bottom right
plot "$log" using 1:2 with lines title "puts/s" axes x1y1, \
     "$log" using 1:(\$7*\$8/1048576) with lines title "free MiB" axes x1y2
EOF
done
echo "bench-gc: table in $OUT/table.md, plots in docs/img/gc-zipf-100-*.png" >&2
