#!/usr/bin/python3
"""kill_test.py -- SIGKILL daxkv-server under load; every acknowledged write
must be there after a restart on the same store.

Each round: WRITERS clients write (SET, SET EX 1000000, DEL, MSET of two keys,
SETRANGE, on keys each client owns; INCR on counters all share) and record
every reply; at a random moment 1-2 s in (and not before MIN_ACKED writes are
acknowledged) the server is SIGKILLed; it is restarted on the same store and
checked:
  - a key with no write in flight at the kill holds its last acknowledged
    value (or is absent after an acknowledged DEL); one with a write in flight
    holds the old or the new value;
  - a key written with EX has a TTL (0 < TTL <= 1000000), one written without
    has none (-1);
  - each counter c: acknowledged(c) <= value <= acknowledged(c) + in flight(c);
  - DBSIZE is the number of keys that must exist.
Then the next round continues on the state found.  After the rounds the server
is stopped with SIGTERM (exit 0 expected), restarted, and checked with nothing
in flight.  The moments are random; what is checked is not (no timing-based
assertion).

  /usr/bin/python3 tests/server/kill_test.py --server build/server/daxkv-server
Environment: DAXKV_KILL_ROUNDS (3), DAXKV_KILL_WRITERS (8), DAXKV_KILL_SEED.
Exit: 0 pass, 1 fail, 77 skipped (no daxkv-server given).
"""

import argparse
import os
import random
import shutil
import signal
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import srvlib  # noqa: E402
from srvlib import Closed, Conn, fmt  # noqa: E402

ROUNDS = int(os.environ.get("DAXKV_KILL_ROUNDS", "3"))
WRITERS = int(os.environ.get("DAXKV_KILL_WRITERS", "8"))
KEYS_PER_WRITER = 48
COUNTERS = 4
MIN_ACKED = 200
TTL_S = 1000000
MAX_LOAD_S = 120  # a very slow server: kill anyway after this long

failures = []


def fail(msg):
    if len(failures) < 60:
        print("FAIL: " + msg, flush=True)
    failures.append(msg)


class Writer(threading.Thread):
    """One client.  model: key -> (value, has_ttl) or None (absent), as
    acknowledged; inflight: key -> the state the unacknowledged write would
    leave; ctr_inflight: counter -> 1 when an INCR was sent and not answered."""

    def __init__(self, wid, port, model, seed, stop):
        super().__init__(daemon=True)
        self.wid = wid
        self.port = port
        self.model = model
        self.rng = random.Random(seed)
        self.stop = stop
        self.inflight = {}
        self.ctr_acked = [0] * COUNTERS
        self.ctr_inflight = [0] * COUNTERS
        self.acked = 0
        self.seq = 0
        self.error = None

    def key(self, i):
        return "k:%d:%d" % (self.wid, i)

    def value(self):
        self.seq += 1
        # Unique per write: a value found names the write that made it.
        return "v:%d:%d:%s" % (self.wid, self.seq, "x" * self.rng.randrange(0, 300))

    def next_op(self):
        """(command args, {key: new state}, counter index or None)."""
        p = self.rng.random()
        k = self.key(self.rng.randrange(KEYS_PER_WRITER))
        if p < 0.35:
            v = self.value()
            return ("SET", k, v), {k: (v, False)}, None
        if p < 0.50:
            v = self.value()
            return ("SET", k, v, "EX", str(TTL_S)), {k: (v, True)}, None
        if p < 0.62:
            return ("DEL", k), {k: None}, None
        if p < 0.72:
            k2 = self.key(self.rng.randrange(KEYS_PER_WRITER))
            if k2 == k:
                k2 = self.key((int(k.rsplit(":", 1)[1]) + 1) % KEYS_PER_WRITER)
            v1, v2 = self.value(), self.value()
            return ("MSET", k, v1, k2, v2), {k: (v1, False), k2: (v2, False)}, None
        if p < 0.78:
            # SETRANGE at 0 with a value as long as the whole new value: the
            # result is known whatever the old value was (if not longer).
            old = self.model.get(k)
            if old is None:
                v = self.value()
                return ("SETRANGE", k, "0", v), {k: (v, False)}, None
            v = self.value()
            if len(v) < len(old[0]):
                v = v + "y" * (len(old[0]) - len(v))
            return ("SETRANGE", k, "0", v), {k: (v, old[1])}, None
        c = self.rng.randrange(COUNTERS)
        return ("INCR", "ctr:%d" % c), {}, c

    def run(self):
        try:
            conn = Conn(self.port)
        except OSError as e:
            self.error = "connect: %s" % e
            return
        try:
            while not self.stop.is_set():
                args, effect, ctr = self.next_op()
                self.inflight = effect
                if ctr is not None:
                    self.ctr_inflight[ctr] = 1
                try:
                    r = conn.cmd(*args)
                except (Closed, OSError):
                    return  # killed: the write in flight stays in flight
                except ValueError as e:
                    self.error = "%s: unreadable reply: %s" % (args[0], e)
                    return
                if r[0] == "-":
                    self.error = "%s answered %s" % (args[0], fmt(r))
                    return
                if ctr is not None:
                    if r[0] != ":":
                        self.error = "INCR answered %s" % fmt(r)
                        return
                    self.ctr_acked[ctr] += 1
                    self.ctr_inflight[ctr] = 0
                self.model.update(effect)
                self.inflight = {}
                self.acked += 1
        finally:
            conn.close()


def check_state(port, models, inflights, ctr_base, ctr_acked, ctr_inflight, where):
    """Compare the server with the model; returns (the state found, counters)."""
    c = Conn(port)
    found = {}
    try:
        for w, model in enumerate(models):
            keys = ["k:%d:%d" % (w, i) for i in range(KEYS_PER_WRITER)]
            replies = c.pipeline([("GET", k) for k in keys] + [("TTL", k) for k in keys])
            gets, ttls = replies[:len(keys)], replies[len(keys):]
            for k, g, t in zip(keys, gets, ttls):
                if g[0] != "$" or t[0] != ":":
                    fail("%s: GET/TTL %s answered %s / %s" % (where, k, fmt(g), fmt(t)))
                    continue
                val = g[1].decode() if g[1] is not None else None
                want = [model.get(k)]
                if k in inflights[w]:
                    want.append(inflights[w][k])
                match = [s for s in want if (s[0] if s else None) == val]
                if not match:
                    fail("%s: %s = %r, want %s" % (
                        where, k, val if val is None else val[:40],
                        " or ".join(repr(s[0][:40]) if s else "absent" for s in want)))
                    continue
                state = match[0]
                found[k] = state
                ttl = t[1]
                if state is None:
                    if ttl != -2:
                        fail("%s: %s absent but TTL %d" % (where, k, ttl))
                elif state[1]:
                    if not 0 < ttl <= TTL_S:
                        fail("%s: %s was written with EX %d, TTL is %d" % (where, k, TTL_S, ttl))
                elif ttl != -1:
                    fail("%s: %s was written without EX, TTL is %d" % (where, k, ttl))
        ctrs = []
        for i in range(COUNTERS):
            r = c.cmd("GET", "ctr:%d" % i)
            v = int(r[1]) if r[0] == "$" and r[1] is not None else 0
            lo = ctr_base[i] + ctr_acked[i]
            hi = lo + ctr_inflight[i]
            if not lo <= v <= hi:
                fail("%s: counter ctr:%d = %d, want %d..%d (%d before, %d acknowledged INCRs, "
                     "%d in flight)" % (where, i, v, lo, hi, ctr_base[i], ctr_acked[i],
                                        ctr_inflight[i]))
            ctrs.append(v)
        want_n = sum(1 for s in found.values() if s is not None) + sum(1 for v in ctrs if v)
        r = c.cmd("DBSIZE")
        if r != (":", want_n):
            fail("%s: DBSIZE %s, want %d" % (where, fmt(r), want_n))
        return found, ctrs
    finally:
        c.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--server", help="the daxkv-server binary (else $DAXKV_SERVER)")
    ap.add_argument("--rounds", type=int, default=ROUNDS)
    ap.add_argument("--threads", type=int, default=2, help="daxkv-server --threads")
    ap.add_argument("--seed", type=int,
                    default=int(os.environ.get("DAXKV_KILL_SEED", "0")) or None)
    args = ap.parse_args()
    binary = srvlib.find_server(args.server)
    if not binary:
        srvlib.skip("no daxkv-server given (--server or $DAXKV_SERVER)")
    seed = args.seed or random.SystemRandom().randrange(1, 1 << 31)
    print("kill_test: seed %d (DAXKV_KILL_SEED=%d repeats the writes, not the moments), "
          "%d rounds, %d writers" % (seed, seed, args.rounds, WRITERS), flush=True)
    rng = random.Random(seed)
    work = tempfile.mkdtemp(prefix="daxkv-kill-")
    store = srvlib.store_path("kill")
    srvlib.remove_store(store)
    models = [dict() for _ in range(WRITERS)]
    ctr_base = [0] * COUNTERS
    server = None
    extra = ["--threads", str(args.threads)]
    t_start = time.monotonic()
    try:
        server = srvlib.start_daxkv(binary, store, work, extra=extra)
        for rnd in range(1, args.rounds + 1):
            stop = threading.Event()
            writers = [Writer(w, server.port, models[w], rng.randrange(1 << 30), stop)
                       for w in range(WRITERS)]
            for w in writers:
                w.start()
            t0 = time.monotonic()
            kill_after = 1.0 + rng.random()
            while True:
                time.sleep(0.02)
                dt = time.monotonic() - t0
                acked = sum(w.acked for w in writers)
                if dt >= kill_after and acked >= MIN_ACKED:
                    break
                if dt > MAX_LOAD_S or any(w.error for w in writers) or \
                        not any(w.is_alive() for w in writers):
                    break
                if server.proc.poll() is not None:
                    break
            if server.proc.poll() is not None:
                fail("round %d: daxkv-server exited by itself (status %s)\n%s" % (
                    rnd, server.proc.returncode, server.log_tail()))
                return 1
            server.kill()
            stop.set()
            for w in writers:
                w.join(timeout=srvlib.REPLY_TIMEOUT_S)
                if w.error:
                    fail("round %d: writer %d: %s" % (rnd, w.wid, w.error))
            acked = sum(w.acked for w in writers)
            n_inflight = sum(1 for w in writers if w.inflight or any(w.ctr_inflight))
            server = srvlib.start_daxkv(binary, store, work, extra=extra)
            ctr_acked = [sum(w.ctr_acked[i] for w in writers) for i in range(COUNTERS)]
            ctr_inflight = [sum(w.ctr_inflight[i] for w in writers) for i in range(COUNTERS)]
            found, ctrs = check_state(server.port, models, [w.inflight for w in writers],
                                      ctr_base, ctr_acked, ctr_inflight, "round %d" % rnd)
            print("round %d: SIGKILL after %.2f s, %d acknowledged writes, %d in flight; "
                  "restarted and checked" % (rnd, time.monotonic() - t0, acked, n_inflight),
                  flush=True)
            if failures:
                break
            # Continue from what is there (a write in flight may or may not be).
            for w in range(WRITERS):
                for i in range(KEYS_PER_WRITER):
                    k = "k:%d:%d" % (w, i)
                    if found.get(k) is None:
                        models[w].pop(k, None)
                    else:
                        models[w][k] = found[k]
            ctr_base = ctrs
        if not failures:
            # A clean stop closes the store; nothing is in flight now.
            rc = server.stop()
            if rc != 0:
                fail("daxkv-server exited %s after SIGTERM\n%s" % (rc, server.log_tail()))
            server = srvlib.start_daxkv(binary, store, work, extra=extra)
            check_state(server.port, models, [{} for _ in range(WRITERS)], ctr_base,
                        [0] * COUNTERS, [0] * COUNTERS, "after SIGTERM and restart")
            rc = server.stop()
            if rc != 0:
                fail("daxkv-server exited %s after SIGTERM\n%s" % (rc, server.log_tail()))
            if rc == -signal.SIGKILL:
                fail("daxkv-server did not stop after SIGTERM")
    finally:
        if server:
            server.stop()
        srvlib.remove_store(store)
        if failures or os.environ.get("DAXKV_SRV_KEEP"):
            print("kill_test: server logs in %s" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    if failures:
        print("kill_test: FAILED (%d problems; seed %d)" % (len(failures), seed))
        return 1
    print("kill_test: passed (%d rounds, %.1f s)" % (args.rounds, time.monotonic() - t_start))
    return 0


if __name__ == "__main__":
    sys.exit(main())
