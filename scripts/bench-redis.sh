#!/usr/bin/env bash
# bench-redis.sh -- redis-benchmark against Redis 7 and daxkv-server, durable both:
# Redis with appendonly yes + appendfsync always (every write fsynced before its
# reply, the guarantee daxkv-server gives), daxkv-server on emulated pmem
# (PMEM_IS_PMEM_FORCE=1).  Both keep their data in a fresh directory under
# /dev/shm, removed on exit.
#
#   bash scripts/bench-redis.sh                 the full run (N = 1000000)
#   bash scripts/bench-redis.sh --quick         N = 50000 everywhere (minutes)
#   bash scripts/bench-redis.sh --n 200000 --n1 50000
#
# Points: -c 1, -c 50, -c 50 -P 16; tests set,get,incr,mset; -r 1000000 -d 100.
# Each point runs Redis, then daxkv-server (interleaved, one run), and the table
# gives requests/s of each, daxkv/Redis, and p50/p99 latency (ms) of each.
#
# Options / environment:
#   --n N         DAXKV_BENCH_N         requests per test at -c 50 points (1000000)
#   --n1 N        DAXKV_BENCH_N1        requests per test at -c 1 (200000: one client
#                                       does one round trip at a time, and 1M of
#                                       each test would take ~10 minutes a server)
#   --threads N   DAXKV_BENCH_THREADS   daxkv-server --threads (1, as Redis' one thread)
#   --no-pin      DAXKV_BENCH_PIN=0     do not pin the -c 1 points to CPUs
#   --csv FILE                          also write the table as CSV
#   DAXKV_BENCH_BUILD=DIR               build directory (build-release)
#   DAXKV_SETUP_SKIP=1                  skip scripts/setup.sh (see there)
# At -c 1 the server (all its threads) runs on CPU 0 and redis-benchmark on CPU 1
# (taskset), so that the two do not take turns on one core; the other points run
# unpinned.  The output says which.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

n="${DAXKV_BENCH_N:-1000000}"
n1="${DAXKV_BENCH_N1:-200000}"
threads="${DAXKV_BENCH_THREADS:-1}"
pin="${DAXKV_BENCH_PIN:-1}"
csv_out=""
while (($#)); do
	case "$1" in
	--n) n="$2"; shift ;;
	--n1) n1="$2"; shift ;;
	--quick) n=50000; n1=50000 ;;
	--threads) threads="$2"; shift ;;
	--no-pin) pin=0 ;;
	--csv) csv_out="$2"; shift ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench-redis.sh: unknown argument '$1' (--help)" >&2; exit 2 ;;
	esac
	shift
done
for v in "$n" "$n1" "$threads"; do
	[[ "$v" =~ ^[1-9][0-9]*$ ]] || { echo "bench-redis.sh: '$v' is not a positive number" >&2; exit 2; }
done

bash scripts/setup.sh
for p in redis-server redis-benchmark redis-cli taskset; do
	command -v "$p" >/dev/null || { echo "bench-redis.sh: $p not found" >&2; exit 1; }
done
build="${DAXKV_BENCH_BUILD:-build-release}"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" --parallel "$(nproc 2>/dev/null || echo 2)" --target daxkv-server
server_bin="$root/$build/server/daxkv-server"

work="$(mktemp -d /dev/shm/daxkv-bench-redis.XXXXXX)"
redis_pid="" daxkv_pid=""
cleanup() {
	local pid
	for pid in $redis_pid $daxkv_pid; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in $redis_pid $daxkv_pid; do
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
	/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_ping() { # name port pid
	local i
	for ((i = 0; i < 600; i++)); do
		if ! kill -0 "$3" 2>/dev/null; then
			echo "bench-redis.sh: $1 exited at start; its log:" >&2
			cat "$work/$1.log" >&2 || true
			exit 1
		fi
		if [[ "$(redis-cli -h 127.0.0.1 -p "$2" PING 2>/dev/null)" == PONG ]]; then
			return 0
		fi
		sleep 0.1
	done
	echo "bench-redis.sh: $1 does not answer on port $2" >&2
	exit 1
}

mkdir -p "$work/redis"
redis_port="$(free_port)"
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly yes \
	--appendfsync always --dir "$work/redis" --daemonize no --logfile "$work/redis.log" &
redis_pid=$!
wait_ping redis "$redis_port" "$redis_pid"

daxkv_port="$(free_port)"
PMEM_IS_PMEM_FORCE=1 "$server_bin" --port "$daxkv_port" --bind 127.0.0.1 \
	--store "$work/daxkv.pool" --pool-size 4G --threads "$threads" \
	--logfile "$work/daxkv.log" &
daxkv_pid=$!
wait_ping daxkv "$daxkv_port" "$daxkv_pid"

redis_ver="$(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p')"
echo
echo "bench-redis.sh: Redis $redis_ver (appendonly yes, appendfsync always, dir $work/redis)"
echo "bench-redis.sh: daxkv-server $("$server_bin" --version 2>/dev/null | head -1)" \
	"(--threads $threads, PMEM_IS_PMEM_FORCE=1, store $work/daxkv.pool)"
echo "bench-redis.sh: $(nproc) CPUs; -n $n at -c 50, -n $n1 at -c 1; -r 1000000 -d 100"
if ((pin)); then
	echo "bench-redis.sh: -c 1 points pinned: server on CPU 0, redis-benchmark on CPU 1 (taskset)"
else
	echo "bench-redis.sh: nothing pinned (--no-pin)"
fi

# pin_server pid cpus: every thread of the process.
pin_server() {
	taskset -a -p -c "$2" "$1" >/dev/null
}

results="$work/results.csv" # point,server,test,rps,avg,min,p50,p95,p99,max
: >"$results"
all_cpus="0-$(($(nproc) - 1))"

run_point() { # label requests pinned(0/1) redis-benchmark args...
	local label="$1" reqs="$2" pinned="$3" name port pid t0 client=()
	shift 3
	for name in redis daxkv; do
		if [[ $name == redis ]]; then port=$redis_port pid=$redis_pid; else port=$daxkv_port pid=$daxkv_pid; fi
		if ((pinned)); then
			pin_server "$pid" 0
			client=(taskset -c 1)
		else
			pin_server "$pid" "$all_cpus"
			client=()
		fi
		t0=$SECONDS
		echo "  $label  $name ..." >&2
		"${client[@]}" redis-benchmark -h 127.0.0.1 -p "$port" -t set,get,incr,mset \
			-n "$reqs" -r 1000000 -d 100 --csv "$@" >"$work/out.csv" 2>"$work/err.txt" || {
			echo "bench-redis.sh: redis-benchmark failed against $name:" >&2
			cat "$work/err.txt" >&2
			exit 1
		}
		echo "  $label  $name: $((SECONDS - t0)) s" >&2
		# "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms",
		# "p95_latency_ms","p99_latency_ms","max_latency_ms"
		tr -d '"' <"$work/out.csv" | awk -F, -v p="$label" -v s="$name" \
			'NR > 1 && NF >= 8 { sub(/ \(.*\)/, "", $1); print p "," s "," $1 "," $2 "," $3 "," $4 "," $5 "," $6 "," $7 "," $8 }' \
			>>"$results"
	done
}

echo >&2
if ((pin)); then pin1=1; else pin1=0; fi
run_point "-c 1" "$n1" "$pin1" -c 1
run_point "-c 50" "$n" 0 -c 50
run_point "-c 50 -P 16" "$n" 0 -c 50 -P 16

# A server that died during the run makes the numbers meaningless.
for pid in $redis_pid $daxkv_pid; do
	kill -0 "$pid" 2>/dev/null || { echo "bench-redis.sh: a server exited during the run" >&2; exit 1; }
done

echo
table() {
	awk -F, '
	{ key = $1 SUBSEP $3; if (!(key in seen)) { seen[key] = 1; order[++n] = key }
	  rps[$2, key] = $4; p50[$2, key] = $7; p99[$2, key] = $9 }
	END {
		printf "%-12s %-5s %12s %12s %7s %9s %9s %9s %9s\n", "point", "test", "rps Redis",
			"rps daxkv", "ratio", "p50 Redis", "p50 daxkv", "p99 Redis", "p99 daxkv"
		for (i = 1; i <= n; i++) {
			k = order[i]; split(k, a, SUBSEP)
			r = rps["redis", k]; d = rps["daxkv", k]
			printf "%-12s %-5s %12.0f %12.0f %7s %9s %9s %9s %9s\n", a[1], a[2], r, d,
				(r > 0 ? sprintf("%.2f", d / r) : "-"), p50["redis", k], p50["daxkv", k],
				p99["redis", k], p99["daxkv", k]
		}
	}' "$results"
}
table
echo "(rps: requests/s; ratio: daxkv/Redis; p50/p99 in ms; MSET sets 10 keys per request)"
if [[ -n "$csv_out" ]]; then
	{
		echo "point,server,test,rps,avg_latency_ms,min_latency_ms,p50_latency_ms,p95_latency_ms,p99_latency_ms,max_latency_ms"
		cat "$results"
	} >"$csv_out"
	echo "bench-redis.sh: CSV in $csv_out"
fi
