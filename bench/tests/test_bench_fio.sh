#!/usr/bin/env bash
# test_bench_fio.sh -- daxkv-bench next to fio: the same job files (fio's structure:
# [global], several jobs, stonewall, new_group, include; options both programs know)
# pass `fio --parse-only` and run under daxkv-bench; daxkv-bench's json+ output goes
# through fio's fio_jsonplus_clat2csv and its --write_bw_log/--write_lat_log logs
# through fio2gnuplot.  Exit 77 (skipped) where fio or /dev/shm is absent.
#   usage: test_bench_fio.sh path/to/daxkv-bench
set -u
B=$1
command -v fio >/dev/null || { echo "fio not installed: skipped"; exit 77; }
[ -d /dev/shm ] || exit 77
export PMEM_IS_PMEM_FORCE=${PMEM_IS_PMEM_FORCE:-1}
dir=$(mktemp -d /dev/shm/dkb-test-fio-XXXXXX)
trap 'rm -rf "$dir"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

cat >"$dir/common.fio" <<EOT
; options shared through fio's include (inside [global], as fio wants it)
directory=$dir
numjobs=1
EOT
cat >"$dir/jobs.fio" <<'EOT'
[global]
include common.fio
bs=512
size=64k
runtime=1
ramp_time=0

[fill]
rw=randwrite

[read]
stonewall
rw=randread
time_based
runtime=200ms

[mixed]
new_group
rw=randrw
rwmixread=70
EOT
cat >"$dir/more.fio" <<EOT
[global]
directory=$dir
[seq]
rw=read
size=16k
EOT

for f in jobs.fio more.fio; do
	(cd "$dir" && fio --parse-only "$f") >"$dir/fio.out" 2>&1 || fail "fio --parse-only $f: $(cat "$dir/fio.out")"
done
(cd "$dir" && fio --parse-only jobs.fio more.fio) >"$dir/fio.out" 2>&1 ||
	fail "fio --parse-only jobs.fio more.fio: $(cat "$dir/fio.out")"
# size= is bytes in both; here it bounds the operations (size / (ks + bs)).
"$B" --nrkeys=1000 "$dir/jobs.fio" "$dir/more.fio" >"$dir/out" 2>"$dir/err" ||
	fail "daxkv-bench on fio's job files: $(cat "$dir/err")"
grep -q "^Run status group 3 (all jobs):" "$dir/out" || fail "groups: $(grep -c Run "$dir/out")"

# json+ -> fio_jsonplus_clat2csv: one CSV per job, with rows of latency counts.
if command -v fio_jsonplus_clat2csv >/dev/null; then
	"$B" --directory="$dir" --nrkeys=2000 --name=r --rw=randread --name=w --rw=overwrite \
		--output-format=json+ --output="$dir/plus.json" 2>"$dir/err" || fail "json+ run"
	(cd "$dir" && fio_jsonplus_clat2csv plus.json clat.csv) >"$dir/conv.out" 2>&1 ||
		fail "fio_jsonplus_clat2csv: $(cat "$dir/conv.out")"
	for n in 0 1; do
		f="$dir/clat_job$n.csv"
		[ -s "$f" ] && [ "$(wc -l <"$f")" -ge 2 ] || fail "no CSV rows in $f"
	done
	(cd "$dir" && fio_jsonplus_clat2csv plus.json clat.csv --validate) >"$dir/conv.out" 2>&1 ||
		fail "fio_jsonplus_clat2csv --validate: $(cat "$dir/conv.out")"
else
	echo "fio_jsonplus_clat2csv absent: that part skipped"
fi

# --write_bw_log / --write_lat_log in fio's format -> fio2gnuplot.
if command -v fio2gnuplot >/dev/null; then
	mkdir -p "$dir/logs"
	"$B" --directory="$dir" --nrkeys=2000 --rw=randread --time_based --runtime=2200ms \
		--write_bw_log="$dir/logs/dkb" --write_lat_log="$dir/logs/dkb" >/dev/null \
		2>"$dir/err" || fail "log run: $(cat "$dir/err")"
	for f in dkb_bw.1.log dkb_lat.1.log; do
		[ "$(grep -cE '^[0-9]+, [0-9]+, 0, [0-9]+, 0$' "$dir/logs/$f")" -ge 2 ] ||
			fail "$f is not in fio's log format: $(head -3 "$dir/logs/$f")"
	done
	(cd "$dir/logs" && fio2gnuplot -p 'dkb_bw.*.log' -t dkb) >"$dir/plot.out" 2>&1 ||
		fail "fio2gnuplot: $(cat "$dir/plot.out")"
	grep -q "1 files Selected" "$dir/plot.out" || fail "fio2gnuplot read nothing: $(cat "$dir/plot.out")"
	# Its statistics of the log (min, max, avg over the seconds) and its plot script.
	grep -q "^values_count=[1-9]" "$dir/logs"/*.global && [ -s "$dir/logs/mygraph" ] ||
		fail "fio2gnuplot wrote no statistics or plot script: $(ls "$dir/logs")"
else
	echo "fio2gnuplot absent: that part skipped"
fi

[ "$fails" -eq 0 ] && echo "bench_fio: all passed"
exit $((fails ? 1 : 0))
