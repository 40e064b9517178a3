#!/usr/bin/python3
"""concurrent_incr.py -- read-modify-writes from many clients at once.

Against one daxkv-server (--threads 4, a fresh store under /dev/shm):
  1. CLIENTS connections x INCRS INCRs on one key, half of them one round trip
     each, half in pipelined batches; meanwhile INCRBY, DECR, INCRBYFLOAT and
     APPEND on other shared keys.  Checked exactly: the final value of each
     key, and that the INCR replies are 1..N, each once (no lost update, no
     reply seen twice).
  2. Races for one key, ROUNDS times, all clients released by one barrier:
     SETNX, SET NX, SET NX GET, MSETNX on two keys: exactly one winner, and
     the stored value(s) are the winner's.

  /usr/bin/python3 tests/server/concurrent_incr.py --server build/server/daxkv-server
  /usr/bin/python3 tests/server/concurrent_incr.py     (against redis-server: the
                                                        suite checking itself)
Environment: DAXKV_CONC_CLIENTS (16), DAXKV_CONC_INCRS (2000), DAXKV_CONC_ROUNDS (20).
Exit: 0 pass, 1 fail, 77 skipped (no redis-server without --server).
"""

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import srvlib  # noqa: E402
from srvlib import Conn, fmt  # noqa: E402

CLIENTS = int(os.environ.get("DAXKV_CONC_CLIENTS", "16"))
INCRS = int(os.environ.get("DAXKV_CONC_INCRS", "2000"))
ROUNDS = int(os.environ.get("DAXKV_CONC_ROUNDS", "20"))
SIDE_OPS = max(1, INCRS // 10)  # each of INCRBY, DECR, INCRBYFLOAT, APPEND per client
BATCH = 25

failures = []
flock = threading.Lock()


def fail(msg):
    with flock:
        if len(failures) < 50:
            print("FAIL: " + msg, flush=True)
        failures.append(msg)


def expect(what, got, want):
    if got != want:
        fail("%s: got %s, want %s" % (what, fmt(got), fmt(want)))


def run_threads(n, fn):
    errors = []

    def wrap(i):
        try:
            fn(i)
        except Exception as e:  # noqa: BLE001 -- reported, then the test fails
            errors.append("client %d: %s: %s" % (i, type(e).__name__, e))

    ts = [threading.Thread(target=wrap, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    for e in errors:
        fail(e)


def counters(port):
    replies = [[] for _ in range(CLIENTS)]
    start = threading.Barrier(CLIENTS)

    def client(i):
        c = Conn(port)
        mine = replies[i]
        side = 0
        start.wait()
        pipelined = i % 2 == 1
        done = 0
        while done < INCRS:
            if pipelined:
                n = min(BATCH, INCRS - done)
                cmds = [("INCR", "ctr")] * n
                # Interleave the side operations into the same batch.
                if side < SIDE_OPS:
                    cmds += [("INCRBY", "by", str(i + 1)), ("DECR", "dec"),
                             ("INCRBYFLOAT", "fl", "0.5"), ("APPEND", "app", "x")]
                    side += 1
                rs = c.pipeline(cmds)
                for r in rs[:n]:
                    if r[0] != ":":
                        fail("client %d: INCR answered %s" % (i, fmt(r)))
                    else:
                        mine.append(r[1])
                for r in rs[n:]:
                    if r[0] not in ":$":
                        fail("client %d: side op answered %s" % (i, fmt(r)))
                done += n
            else:
                r = c.cmd("INCR", "ctr")
                if r[0] != ":":
                    fail("client %d: INCR answered %s" % (i, fmt(r)))
                else:
                    mine.append(r[1])
                done += 1
                if side < SIDE_OPS and done % 10 == 0:
                    for cmd in (("INCRBY", "by", str(i + 1)), ("DECR", "dec"),
                                ("INCRBYFLOAT", "fl", "0.5"), ("APPEND", "app", "x")):
                        r = c.cmd(*cmd)
                        if r[0] not in ":$":
                            fail("client %d: %s answered %s" % (i, cmd[0], fmt(r)))
                    side += 1
        while side < SIDE_OPS:
            c.pipeline([("INCRBY", "by", str(i + 1)), ("DECR", "dec"),
                        ("INCRBYFLOAT", "fl", "0.5"), ("APPEND", "app", "x")])
            side += 1
        c.close()

    t0 = time.monotonic()
    run_threads(CLIENTS, client)
    dt = time.monotonic() - t0
    total = CLIENTS * INCRS
    c = Conn(port)
    expect("GET ctr after %d INCRs" % total, c.cmd("GET", "ctr"), ("$", str(total).encode()))
    got = sorted(x for r in replies for x in r)
    if got != list(range(1, total + 1)):
        seen = set()
        dups = sorted({x for x in got if x in seen or seen.add(x)})[:10]
        missing = sorted(set(range(1, total + 1)) - set(got))[:10]
        fail("INCR replies are not 1..%d once each: %d replies, duplicates %s, missing %s" % (
            total, len(got), dups, missing))
    want_by = SIDE_OPS * sum(i + 1 for i in range(CLIENTS))
    expect("GET by (INCRBY)", c.cmd("GET", "by"), ("$", str(want_by).encode()))
    expect("GET dec (DECR)", c.cmd("GET", "dec"), ("$", str(-SIDE_OPS * CLIENTS).encode()))
    fl = SIDE_OPS * CLIENTS * 0.5
    want_fl = str(int(fl)) if fl == int(fl) else repr(fl)
    expect("GET fl (INCRBYFLOAT 0.5)", c.cmd("GET", "fl"), ("$", want_fl.encode()))
    expect("STRLEN app (APPEND)", c.cmd("STRLEN", "app"), (":", SIDE_OPS * CLIENTS))
    c.close()
    print("counters: %d clients, %d INCRs (+%d side ops) in %.1f s" % (
        CLIENTS, total, 4 * SIDE_OPS * CLIENTS, dt), flush=True)


def races(port):
    conns = [Conn(port) for _ in range(CLIENTS)]
    barrier = threading.Barrier(CLIENTS)
    results = {}

    def client(i):
        c = conns[i]
        for r in range(ROUNDS):
            barrier.wait()
            results[("setnx", r, i)] = c.cmd("SETNX", "race:setnx:%d" % r, "c%d" % i)
            results[("setnx2", r, i)] = c.cmd("SET", "race:nx:%d" % r, "c%d" % i, "NX")
            results[("nxget", r, i)] = c.cmd("SET", "race:nxget:%d" % r, "c%d" % i, "NX", "GET")
            results[("msetnx", r, i)] = c.cmd("MSETNX", "race:m1:%d" % r, "c%d" % i,
                                              "race:m2:%d" % r, "c%d" % i)

    t0 = time.monotonic()
    run_threads(CLIENTS, client)
    c = Conn(port)
    win = {"setnx": (":", 1), "setnx2": ("+", b"OK"), "nxget": ("$", None),
           "msetnx": (":", 1)}
    lose = {"setnx": (":", 0), "setnx2": ("$", None), "msetnx": (":", 0)}
    keys = {"setnx": ["race:setnx:%d"], "setnx2": ["race:nx:%d"], "nxget": ["race:nxget:%d"],
            "msetnx": ["race:m1:%d", "race:m2:%d"]}
    for kind in ("setnx", "setnx2", "nxget", "msetnx"):
        for r in range(ROUNDS):
            rs = [results.get((kind, r, i)) for i in range(CLIENTS)]
            winners = [i for i, x in enumerate(rs) if x == win[kind]]
            if len(winners) != 1:
                fail("%s round %d: %d winners (replies: %s)" % (
                    kind, r, len(winners), ", ".join(fmt(x) for x in rs)))
                continue
            w = winners[0]
            want_val = ("$", b"c%d" % w)
            for i, x in enumerate(rs):
                if i == w:
                    continue
                # SET NX GET: a loser gets the winner's value back.
                want = want_val if kind == "nxget" else lose[kind]
                if x != want:
                    fail("%s round %d: client %d answered %s, want %s" % (
                        kind, r, i, fmt(x), fmt(want)))
            for k in keys[kind]:
                expect("%s round %d: GET %s" % (kind, r, k % r), c.cmd("GET", k % r), want_val)
    c.close()
    for x in conns:
        x.close()
    print("races: %d rounds x %d clients x 4 kinds in %.1f s" % (
        ROUNDS, CLIENTS, time.monotonic() - t0), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--server", help="the daxkv-server binary (else $DAXKV_SERVER; neither: "
                    "redis-server)")
    ap.add_argument("--threads", type=int, default=4, help="daxkv-server --threads")
    args = ap.parse_args()
    binary = srvlib.find_server(args.server)
    work = tempfile.mkdtemp(prefix="daxkv-conc-")
    store = srvlib.store_path("conc")
    srvlib.remove_store(store)
    server = None
    try:
        if binary:
            server = srvlib.start_daxkv(binary, store, work,
                                        extra=["--threads", str(args.threads)])
        else:
            print("concurrent: no daxkv-server given: against redis-server (self-check)")
            server = srvlib.start_redis(work)
        counters(server.port)
        races(server.port)
        if server.proc.poll() is not None:
            fail("the server exited (status %s)\n%s" % (server.proc.returncode,
                                                         server.log_tail()))
        rc = server.stop()
        if binary and rc != 0:
            fail("daxkv-server exited %s after SIGTERM\n%s" % (rc, server.log_tail()))
    finally:
        if server:
            server.stop()
        srvlib.remove_store(store)
        shutil.rmtree(work, ignore_errors=True)
    if failures:
        print("concurrent: FAILED (%d problems)" % len(failures))
        return 1
    print("concurrent: passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
