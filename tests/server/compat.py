#!/usr/bin/python3
"""compat.py -- daxkv-server against Redis 7, command by command.

Every case below is one function of a context `t`; it runs once against a
redis-server started here (--save '' --appendonly no, a temp dir) and once
against daxkv-server (a fresh store under /dev/shm), and the two transcripts
(command, reply) are compared step by step: reply types, values, integers,
nil, error texts exactly.  Each case runs twice: over raw RESP (srvlib.Conn,
which keeps the reply type: +OK is not $2 OK) and through python3-redis
(`execute_command`, response callbacks off; its errors compared as exception
class and text).  Cases that speak RESP3 or break the protocol run raw only.

  /usr/bin/python3 tests/server/compat.py --server build/server/daxkv-server
  /usr/bin/python3 tests/server/compat.py            Redis against a second Redis
                                                     (the suite checking itself)
  options: --case NAME (repeatable, a prefix), --mode raw|redispy|both, --show
           (print every transcript), --list

Exit: 0 all equal, 1 a mismatch (each printed with both replies), 77 skipped
(no redis-server or no python3-redis), 2 usage.

Where daxkv-server differs from Redis on purpose (docs/SERVER.md: SCAN order,
INFO contents, server name and version), the case says so and normalises: SCAN
and KEYS compare the set of keys, INFO and COMMAND only what must be there,
TTLs within a tolerance.
"""

import argparse
import os
import shutil
import sys
import tempfile
import time
import traceback

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import srvlib  # noqa: E402
from srvlib import Closed, Conn, encode, fmt  # noqa: E402

try:
    import redis
except ImportError:
    redis = None

PASSWORD = "s3cret-pass"
# TTL tolerance: the two servers see each case at different moments, and a
# sanitizer build may take seconds between a SET and its TTL.
TTL_TOL_S = 5
PTTL_TOL_MS = 5000
# Expiry itself: PX 100, then this long a sleep (generous on purpose).
EXPIRY_SLEEP_S = 0.35


# --- normalisers: what of a reply is compared --------------------------------

class Approx:
    """An integer compared within a tolerance (TTL, PTTL)."""

    def __init__(self, v, tol):
        self.v, self.tol = v, tol

    def __eq__(self, o):
        return isinstance(o, Approx) and abs(self.v - o.v) <= max(self.tol, o.tol)

    def __repr__(self):
        return "%d (+-%d)" % (self.v, self.tol)


def approx(tol):
    def f(r):
        if r[0] == ":" and r[1] >= 0:
            return (r[0], Approx(r[1], tol))
        return r
    return f


TTL = approx(TTL_TOL_S)
PTTL = approx(PTTL_TOL_MS)


def unordered(r):
    """An array compared as a multiset (KEYS: Redis gives no order)."""
    if r[0] in "*~" and r[1] is not None:
        return (r[0], sorted(r[1], key=repr))
    return r


def type_only(r):
    """Only the reply type, or the error (COMMAND, CLIENT ID: contents differ)."""
    if r[0] == "-":
        return r
    return (r[0], "<any>")


def is_err(r):
    return isinstance(r, tuple) and r[0] == "-"


def text_of(r):
    """The text of a bulk or verbatim reply ('txt:' dropped)."""
    v = r[1]
    if r[0] == "=" and v[:4] == b"txt:":
        v = v[4:]
    return v.decode("utf-8", "replace")


def pairs(r):
    """A RESP2 flat array or a RESP3 map as a list of (key, value)."""
    if r[0] == "%":
        return list(r[1])
    if r[0] == "*" and r[1]:
        return list(zip(r[1][0::2], r[1][1::2]))
    return []


def hello_norm(r):
    """HELLO's map: same keys, proto/mode/role equal; server, version and id
    are the server's own (daxkv-server names itself: docs/SERVER.md)."""
    if is_err(r):
        return r
    out = []
    for k, v in pairs(r):
        name = k[1]
        if name in (b"server", b"version", b"id", b"modules"):
            v = (v[0], "<any>")
        out.append((name, v))
    return (r[0], sorted(out, key=repr))


INFO_FIELDS = {
    "server": ["redis_version", "redis_mode", "process_id", "tcp_port", "uptime_in_seconds"],
    "clients": ["connected_clients"],
    "memory": ["used_memory"],
    "persistence": ["loading", "aof_enabled"],
    "stats": ["total_connections_received", "total_commands_processed", "keyspace_hits",
              "keyspace_misses", "expired_keys"],
    "keyspace": [],
}


def info_norm(sections, db0_keys=None):
    """INFO: only that each section's header and fields are there (daxkv-server
    reports its own values and fields), and db0's key count when given."""
    def f(r):
        if is_err(r) or r[1] is None:
            return r
        text = text_of(r)
        heads = {line[2:].strip().lower() for line in text.splitlines() if line.startswith("# ")}
        fields = {}
        for line in text.splitlines():
            if ":" in line and not line.startswith("#"):
                k, v = line.split(":", 1)
                fields[k.strip()] = v.strip()
        missing = []
        for s in sections:
            if s not in heads:
                missing.append("# " + s)
            missing += [fld for fld in INFO_FIELDS[s] if fld not in fields]
        got = [("missing", missing)]
        if db0_keys is not None:
            db0 = fields.get("db0", "")
            got.append(("db0", db0.split(",")[0] if db0 else "<no db0 line>",
                        "expires=" in db0))
        return (r[0], got)
    return f


# --- the two drivers: raw RESP, python3-redis --------------------------------

def py_reply(v):
    """A python3-redis reply (callbacks off) in srvlib's tagged form.  It cannot
    tell a simple string from a bulk one: both are ('$', bytes) here."""
    if isinstance(v, Exception):
        return ("-", ("%s: %s" % (type(v).__name__, v)).encode())
    if isinstance(v, bytes):
        return ("$", v)
    if isinstance(v, bool):
        return ("#", v)
    if isinstance(v, int):
        return (":", v)
    if v is None:
        return ("$", None)
    if isinstance(v, (list, tuple)):
        return ("*", [py_reply(x) for x in v])
    if isinstance(v, float):
        return (",", repr(v).encode())
    return ("?", repr(v))


class PyConn:
    """The same calls as srvlib.Conn, through redis.Redis.execute_command."""

    def __init__(self, port):
        self.r = redis.Redis(host="127.0.0.1", port=port, socket_timeout=srvlib.REPLY_TIMEOUT_S,
                             single_connection_client=True)
        self.r.response_callbacks.clear()

    def cmd(self, *args):
        try:
            return py_reply(self.r.execute_command(*args))
        except redis.exceptions.ResponseError as e:
            return py_reply(e)
        except redis.exceptions.AuthenticationError as e:
            # NOAUTH/WRONGPASS: python3-redis calls these connection errors and
            # drops the connection; the next command opens a new one.
            return py_reply(e)
        except redis.exceptions.ConnectionError as e:
            raise Closed(str(e)) from e

    def close(self):
        try:
            self.r.close()
        except Exception:  # noqa: BLE001 -- closing a broken client
            pass


def label_of(args):
    parts = []
    for a in args:
        if isinstance(a, TimeArg):
            parts.append("<time>")
            continue
        b = srvlib.arg_bytes(a)
        s = repr(b)[2:-1] if len(b) <= 60 else "%s...(%d bytes)" % (repr(b[:40])[2:-1], len(b))
        if not s or " " in s:
            s = '"%s"' % s
        parts.append(s)
    return " ".join(parts)


class Ctx:
    """What a case sees: cmd() on the current connection, new connections,
    note() for a derived value; every step goes into the transcript."""

    def __init__(self, server, mode):
        self.server = server
        self.mode = mode
        self.raw = mode == "raw"
        self.steps = []
        self.conns = []
        self.c = self.conn()

    def conn(self):
        c = Conn(self.server.port) if self.raw else PyConn(self.server.port)
        self.conns.append(c)
        return c

    def cmd(self, *args, n=None, c=None, label=None):
        r = (c or self.c).cmd(*args)
        self.steps.append((label or label_of(args), n(r) if n else r, r))
        return r

    def note(self, label, value):
        self.steps.append((label, value, value))

    def sleep(self, s):
        time.sleep(s)

    def close(self):
        for c in self.conns:
            c.close()


CASES = []


def case(raw_only=False, auth=False):
    def deco(fn):
        CASES.append((fn.__name__, fn, raw_only, auth))
        return fn
    return deco


class TimeArg(str):
    """An argument computed from the clock (EXAT, PXAT...): the two servers get
    different values, so a transcript's label shows <time> for it."""


def at_s(delta_s):
    """Unix seconds delta_s from now, as an argument."""
    return TimeArg(int(time.time()) + delta_s)


def at_ms(delta_s):
    """Unix milliseconds delta_s seconds from now, as an argument."""
    return TimeArg(int(time.time() * 1000) + int(delta_s * 1000))


# --- connection, handshake, auth ---------------------------------------------

@case()
def ping_echo(t):
    t.cmd("PING")
    t.cmd("PING", "hello")
    t.cmd("PING", "")
    t.cmd("PING", "a", "b")
    t.cmd("ping")
    t.cmd("pInG")
    t.cmd("ECHO", "x")
    t.cmd("ECHO", "")
    t.cmd("ECHO", bytes(range(256)))
    t.cmd("ECHO")
    t.cmd("ECHO", "a", "b")


@case(raw_only=True)
def hello_resp2_resp3(t):
    t.cmd("HELLO", n=hello_norm)
    t.cmd("HELLO", "2", n=hello_norm)
    t.cmd("HELLO", "4")
    t.cmd("HELLO", "1")
    t.cmd("HELLO", "abc")
    t.cmd("HELLO", "-1")
    t.cmd("HELLO", "3", "SETNAME")
    t.cmd("HELLO", "3", "FOO")
    t.cmd("HELLO", "3", "AUTH", "default")
    t.cmd("HELLO", "3", n=hello_norm)
    # RESP3 from here: null, maps, sets, doubles where Redis 7 uses them.
    t.cmd("GET", "missing")
    t.cmd("SET", "k", "v")
    t.cmd("GET", "k")
    t.cmd("MGET", "k", "missing")
    t.cmd("EXISTS", "k")
    t.cmd("TTL", "k")
    t.cmd("SET", "f", "1.5")
    t.cmd("INCRBYFLOAT", "f", "1")
    t.cmd("INCR", "n")
    t.cmd("GETDEL", "missing")
    t.cmd("CLIENT", "GETNAME")
    t.cmd("CONFIG", "GET", "appendonly")
    t.cmd("CONFIG", "GET", "nosuchparameter")
    t.cmd("KEYS", "*", n=unordered)
    t.cmd("SCAN", "0", "COUNT", "1000", n=lambda r: ("scan", r[0], r[1][0], unordered(r[1][1])))
    t.cmd("SET", "k", "v2", "GET")
    t.cmd("GET", "k")
    t.cmd("INFO", "keyspace", n=type_only)
    t.cmd("ECHO", "e")
    t.cmd("PING")
    t.cmd("NOSUCHCOMMAND")
    t.cmd("HELLO", "3", "SETNAME", "resp3client", n=hello_norm)
    t.cmd("CLIENT", "GETNAME")
    t.cmd("HELLO", "2", n=hello_norm)
    t.cmd("GET", "missing")
    t.cmd("CLIENT", "GETNAME")


@case()
def auth_without_password(t):
    t.cmd("AUTH", "anything")
    t.cmd("AUTH")
    t.cmd("AUTH", "a", "b", "c")
    t.cmd("PING")


@case(auth=True)
def auth_required(t):
    t.cmd("PING")
    t.cmd("GET", "k")
    t.cmd("SET", "k", "v")
    t.cmd("AUTH", "wrong")
    t.cmd("AUTH", "default", "wrong")
    t.cmd("AUTH", "nosuchuser", PASSWORD)
    t.cmd("AUTH")
    t.cmd("AUTH", "a", "b", "c")
    t.cmd("GET", "k")
    t.cmd("AUTH", PASSWORD)
    t.cmd("GET", "k")
    t.cmd("SET", "k", "v")
    t.cmd("GET", "k")
    t.c = t.conn()
    t.cmd("GET", "k")
    t.cmd("AUTH", "default", PASSWORD)
    t.cmd("GET", "k")


@case(raw_only=True, auth=True)
def auth_hello(t):
    t.cmd("HELLO", "3")
    t.cmd("HELLO")
    t.cmd("HELLO", "3", "AUTH", "default", "wrong")
    t.cmd("GET", "k")
    t.cmd("HELLO", "3", "AUTH", "default", PASSWORD, "SETNAME", "x", n=hello_norm)
    t.cmd("GET", "k")
    t.cmd("CLIENT", "GETNAME")
    # A failed AUTH after a good one: the connection stays authenticated.
    t.cmd("AUTH", "wrong")
    t.cmd("GET", "k")
    t.c = t.conn()
    t.cmd("QUIT")
    t.note("closed after QUIT (not authenticated)", t.c.closed_by_peer())


@case()
def select_db(t):
    t.cmd("SELECT", "0")
    t.cmd("SELECT", "16")
    t.cmd("SELECT", "-1")
    t.cmd("SELECT", "abc")
    t.cmd("SELECT", "1.5")
    t.cmd("SELECT", "99999999999999999999")
    t.cmd("SELECT")
    t.cmd("SELECT", "0", "1")
    t.cmd("SET", "k", "v")
    t.cmd("GET", "k")


@case()
def select_other_db(t):
    t.cmd("SET", "k", "in0")
    t.cmd("SELECT", "15")
    t.cmd("GET", "k")
    t.cmd("SELECT", "1")
    t.cmd("GET", "k")
    t.cmd("SET", "k", "in1")
    t.cmd("DBSIZE")
    t.cmd("SELECT", "0")
    t.cmd("GET", "k")
    t.cmd("SELECT", "1")
    t.cmd("GET", "k")
    t.cmd("FLUSHDB")
    t.cmd("SELECT", "0")
    t.cmd("GET", "k")


# --- strings ------------------------------------------------------------------

@case()
def get_set_basic(t):
    t.cmd("GET", "missing")
    t.cmd("SET", "k", "v")
    t.cmd("GET", "k")
    t.cmd("SET", "k", "v2")
    t.cmd("GET", "k")
    t.cmd("SET", "k", "")
    t.cmd("GET", "k")
    t.cmd("STRLEN", "k")
    t.cmd("EXISTS", "k")
    t.cmd("SET", "", "empty key")
    t.cmd("GET", "")
    t.cmd("SET", "k", "v", "extra")
    t.cmd("SET", "k", "v", "EX")
    t.cmd("SET", "12345", "67890")
    t.cmd("GET", "12345")
    t.cmd("SET", "n", "-17")
    t.cmd("GET", "n")
    t.cmd("set", "lower", "case")
    t.cmd("GeT", "lower")


@case()
def set_options(t):
    t.cmd("SET", "k", "v", "EX", "100000")
    t.cmd("TTL", "k", n=TTL)
    t.cmd("PTTL", "k", n=PTTL)
    t.cmd("SET", "k", "v", "PX", "100000000")
    t.cmd("PTTL", "k", n=PTTL)
    t.cmd("SET", "k", "v", "EXAT", at_s(200000))
    t.cmd("TTL", "k", n=TTL)
    t.cmd("SET", "k", "v", "PXAT", at_ms(300000))
    t.cmd("TTL", "k", n=TTL)
    t.cmd("SET", "k", "v2", "KEEPTTL")
    t.cmd("TTL", "k", n=TTL)
    t.cmd("GET", "k")
    t.cmd("SET", "k", "v3")
    t.cmd("TTL", "k")
    t.cmd("SET", "k", "v4", "ex", "100000")
    t.cmd("TTL", "k", n=TTL)
    t.cmd("SET", "nx", "1", "NX")
    t.cmd("SET", "nx", "2", "NX")
    t.cmd("GET", "nx")
    t.cmd("SET", "xx", "1", "XX")
    t.cmd("GET", "xx")
    t.cmd("SET", "nx", "3", "XX")
    t.cmd("GET", "nx")
    t.cmd("SET", "g", "a", "GET")
    t.cmd("SET", "g", "b", "GET")
    t.cmd("SET", "g", "c", "NX", "GET")
    t.cmd("SET", "g2", "c", "NX", "GET")
    t.cmd("SET", "g", "d", "XX", "GET")
    t.cmd("SET", "g3", "d", "XX", "GET")
    t.cmd("GET", "g")
    t.cmd("SET", "g", "e", "GET", "EX", "100000")
    t.cmd("TTL", "g", n=TTL)
    t.cmd("SET", "g", "f", "KEEPTTL", "GET")
    t.cmd("TTL", "g", n=TTL)
    t.cmd("SET", "k", "v", "NX", "XX")
    t.cmd("SET", "k", "v", "EX", "10", "PX", "10000")
    t.cmd("SET", "k", "v", "EX", "10", "EX", "10")
    t.cmd("SET", "k", "v", "EX", "10", "KEEPTTL")
    t.cmd("SET", "k", "v", "KEEPTTL", "PX", "10")
    t.cmd("SET", "k", "v", "EXAT", "10", "PXAT", "10")
    t.cmd("SET", "k", "v", "EX")
    t.cmd("SET", "k", "v", "PX")
    t.cmd("SET", "k", "v", "FOO")
    t.cmd("SET", "k", "v", "NX", "NX")
    t.cmd("SET", "k", "v", "GET", "GET")
    t.cmd("SET", "k", "v", "KEEPTTL", "KEEPTTL")


@case()
def set_bad_expire(t):
    for opt in ("EX", "PX", "EXAT", "PXAT"):
        for v in ("0", "-1", "abc", "1.5", "", " 10", "10 ", "9223372036854775808",
                  "-9223372036854775808"):
            t.cmd("SET", "k", "v", opt, v)
    t.cmd("SET", "k", "v", "EX", "9999999999999999")
    t.cmd("SET", "k", "v", "EX", "9223372036854775807")
    t.cmd("SET", "k", "v", "PX", "9223372036854775807")
    t.cmd("SET", "k", "v", "EXAT", "9223372036854775807")
    t.cmd("GET", "k")


@case()
def set_expire_in_past(t):
    t.cmd("SET", "k", "v", "EXAT", "1")
    t.cmd("GET", "k")
    t.cmd("EXISTS", "k")
    t.cmd("SET", "k", "v", "PXAT", "1")
    t.cmd("GET", "k")
    t.cmd("SET", "k", "old")
    t.cmd("SET", "k", "v", "EXAT", at_s(-10), "GET")
    t.cmd("GET", "k")


@case()
def huge_ttl(t):
    # Far-future expiry times that Redis accepts.
    t.cmd("SET", "k", "v", "EX", "9000000000")
    t.cmd("TTL", "k", n=TTL)
    t.cmd("SET", "k", "v", "PXAT", "9223372036854775807")
    t.cmd("TTL", "k", n=TTL)
    t.cmd("PEXPIREAT", "k", "9223372036854775000")
    t.cmd("PTTL", "k", n=PTTL)
    t.cmd("GET", "k")


@case()
def setnx_setex_psetex(t):
    t.cmd("SETNX", "k", "v")
    t.cmd("SETNX", "k", "w")
    t.cmd("GET", "k")
    t.cmd("SETNX", "k")
    t.cmd("SETNX", "k", "v", "x")
    t.cmd("SETEX", "s", "100000", "v")
    t.cmd("TTL", "s", n=TTL)
    t.cmd("GET", "s")
    t.cmd("SETEX", "s", "0", "v")
    t.cmd("SETEX", "s", "-5", "v")
    t.cmd("SETEX", "s", "abc", "v")
    t.cmd("SETEX", "s", "1.5", "v")
    t.cmd("SETEX", "s", "9223372036854775807", "v")
    t.cmd("SETEX", "s", "100")
    t.cmd("PSETEX", "p", "100000000", "v")
    t.cmd("PTTL", "p", n=PTTL)
    t.cmd("GET", "p")
    t.cmd("PSETEX", "p", "0", "v")
    t.cmd("PSETEX", "p", "-1", "v")
    t.cmd("PSETEX", "p", "x", "v")
    t.cmd("PSETEX", "p", "9223372036854775807", "v")
    t.cmd("GET", "p")


@case()
def getset_getdel_getex(t):
    t.cmd("GETSET", "k", "v")
    t.cmd("GETSET", "k", "w")
    t.cmd("SET", "k", "v", "EX", "100000")
    t.cmd("GETSET", "k", "x")
    t.cmd("TTL", "k")
    t.cmd("GETSET", "k")
    t.cmd("GETDEL", "k")
    t.cmd("GETDEL", "k")
    t.cmd("EXISTS", "k")
    t.cmd("GETDEL")
    t.cmd("GETDEL", "a", "b")
    t.cmd("GETEX", "missing")
    t.cmd("GETEX", "missing", "EX", "100")
    t.cmd("EXISTS", "missing")
    t.cmd("SET", "k", "v")
    t.cmd("GETEX", "k")
    t.cmd("TTL", "k")
    t.cmd("GETEX", "k", "EX", "100000")
    t.cmd("TTL", "k", n=TTL)
    t.cmd("GETEX", "k", "PX", "200000000")
    t.cmd("PTTL", "k", n=PTTL)
    t.cmd("GETEX", "k", "EXAT", at_s(300000))
    t.cmd("TTL", "k", n=TTL)
    t.cmd("GETEX", "k", "PXAT", at_ms(400000))
    t.cmd("TTL", "k", n=TTL)
    t.cmd("GETEX", "k")
    t.cmd("TTL", "k", n=TTL)
    t.cmd("GETEX", "k", "PERSIST")
    t.cmd("TTL", "k")
    t.cmd("GETEX", "k", "EX", "0")
    t.cmd("GETEX", "k", "EX", "-1")
    t.cmd("GETEX", "k", "PX", "0")
    t.cmd("GETEX", "k", "EX", "abc")
    t.cmd("GETEX", "k", "EX", "10", "PX", "10")
    t.cmd("GETEX", "k", "PERSIST", "EX", "10")
    t.cmd("GETEX", "k", "EX", "10", "PERSIST")
    t.cmd("GETEX", "k", "FOO")
    t.cmd("GETEX", "k", "EX")
    t.cmd("GETEX", "k", "PERSIST", "PERSIST")
    t.cmd("GETEX", "k", "EX", "9223372036854775807")
    t.cmd("GETEX")
    t.cmd("GETEX", "k", "EXAT", "1")
    t.cmd("EXISTS", "k")


@case()
def mget_mset_msetnx(t):
    t.cmd("MSET", "a", "1", "b", "2", "c", "3")
    t.cmd("MGET", "a", "b", "c", "missing", "a")
    t.cmd("MGET", "missing")
    t.cmd("MSET", "a")
    t.cmd("MSET", "a", "1", "b")
    t.cmd("MSET")
    t.cmd("MGET")
    t.cmd("MSETNX", "d", "4", "e", "5")
    t.cmd("MSETNX", "e", "6", "f", "7")
    t.cmd("MGET", "d", "e", "f")
    t.cmd("MSETNX", "a")
    t.cmd("MSETNX", "g", "1", "h")
    t.cmd("SET", "a", "1", "EX", "100000")
    t.cmd("MSET", "a", "2")
    t.cmd("TTL", "a")
    t.cmd("MSET", "x", "1", "x", "2")
    t.cmd("GET", "x")
    t.cmd("MSETNX", "y", "1", "y", "2")
    t.cmd("GET", "y")
    t.cmd("DBSIZE")


@case()
def del_unlink_exists(t):
    t.cmd("MSET", "a", "1", "b", "2", "c", "3")
    t.cmd("EXISTS", "a")
    t.cmd("EXISTS", "a", "a", "b", "missing")
    t.cmd("DEL", "a", "missing")
    t.cmd("DEL", "b", "b")
    t.cmd("DEL", "missing")
    t.cmd("UNLINK", "c", "missing")
    t.cmd("UNLINK", "c")
    t.cmd("EXISTS", "a", "b", "c")
    t.cmd("DEL")
    t.cmd("UNLINK")
    t.cmd("EXISTS")
    t.cmd("DBSIZE")


@case()
def incr_decr(t):
    t.cmd("INCR", "n")
    t.cmd("INCR", "n")
    t.cmd("DECR", "n")
    t.cmd("DECR", "m")
    t.cmd("INCRBY", "n", "10")
    t.cmd("INCRBY", "n", "-30")
    t.cmd("DECRBY", "n", "5")
    t.cmd("DECRBY", "n", "-5")
    t.cmd("GET", "n")
    t.cmd("SET", "n", "10")
    t.cmd("INCR", "n")
    t.cmd("GET", "n")
    t.cmd("SET", "n", "9223372036854775806")
    t.cmd("INCR", "n")
    t.cmd("INCR", "n")
    t.cmd("GET", "n")
    t.cmd("INCRBY", "n", "-1")
    t.cmd("SET", "n", "-9223372036854775807")
    t.cmd("DECR", "n")
    t.cmd("DECR", "n")
    t.cmd("DECRBY", "n", "1")
    t.cmd("GET", "n")
    t.cmd("SET", "n", "1")
    t.cmd("INCRBY", "n", "9223372036854775807")
    t.cmd("DECRBY", "n", "-9223372036854775808")
    t.cmd("DECRBY", "n", "9223372036854775807")
    t.cmd("INCRBY", "n", "-9223372036854775808")
    t.cmd("INCRBY", "n", "9223372036854775808")
    t.cmd("INCRBY", "n", "abc")
    t.cmd("INCRBY", "n", "1.5")
    t.cmd("INCRBY", "n", "")
    t.cmd("INCRBY", "n", " 1")
    t.cmd("DECRBY", "n", "x")
    t.cmd("GET", "n")
    for v in ("abc", "1.5", " 1", "1 ", "+1", "01", "-0", "0", "", "0x10", "1e3",
              "9223372036854775807", "9223372036854775808", "-9223372036854775808",
              "-9223372036854775809", "\x001", "1\x00", "12345678901234567890"):
        t.cmd("SET", "t", v)
        t.cmd("INCR", "t")
        t.cmd("DECR", "t")
        t.cmd("GET", "t")
    t.cmd("SET", "ttl", "5", "EX", "100000")
    t.cmd("INCR", "ttl")
    t.cmd("TTL", "ttl", n=TTL)
    t.cmd("INCR")
    t.cmd("INCR", "a", "b")
    t.cmd("INCRBY", "a")
    t.cmd("DECRBY", "a", "1", "2")


@case()
def incrbyfloat(t):
    t.cmd("INCRBYFLOAT", "f", "0.1")
    t.cmd("INCRBYFLOAT", "f", "0.2")
    t.cmd("SET", "f", "10.5")
    t.cmd("INCRBYFLOAT", "f", "0.1")
    t.cmd("INCRBYFLOAT", "f", "-5")
    t.cmd("GET", "f")
    t.cmd("SET", "f", "5.0e3")
    t.cmd("INCRBYFLOAT", "f", "2.0e2")
    t.cmd("SET", "f", "3.0")
    t.cmd("INCRBYFLOAT", "f", "0")
    t.cmd("SET", "f", "1")
    t.cmd("INCRBYFLOAT", "f", "1.23456789012345678")
    t.cmd("INCRBYFLOAT", "f", "-1.5e-5")
    t.cmd("SET", "f", "0")
    t.cmd("INCRBYFLOAT", "f", "1e20")
    t.cmd("INCRBYFLOAT", "f", "1e-20")
    t.cmd("SET", "f", "0")
    t.cmd("INCRBYFLOAT", "f", "-0.0")
    t.cmd("INCRBYFLOAT", "f", "3")
    t.cmd("INCRBYFLOAT", "f", "-3.5")
    t.cmd("SET", "f", "1.7e308")
    t.cmd("INCRBYFLOAT", "f", "1.7e308")
    t.cmd("GET", "f")
    t.cmd("INCRBYFLOAT", "f", "abc")
    t.cmd("INCRBYFLOAT", "f", "")
    t.cmd("INCRBYFLOAT", "f", "inf")
    t.cmd("INCRBYFLOAT", "f", "nan")
    t.cmd("INCRBYFLOAT", "f", " 1")
    t.cmd("INCRBYFLOAT", "f", "1 ")
    t.cmd("INCRBYFLOAT", "f", "0x10")
    for v in ("abc", "", " 1", "1.5.5", "inf", "1e", "7"):
        t.cmd("SET", "g", v)
        t.cmd("INCRBYFLOAT", "g", "1")
    t.cmd("SET", "i", "42")
    t.cmd("INCRBYFLOAT", "i", "1")
    t.cmd("INCR", "i")
    t.cmd("SET", "ttl", "1.5", "EX", "100000")
    t.cmd("INCRBYFLOAT", "ttl", "1")
    t.cmd("TTL", "ttl", n=TTL)
    t.cmd("INCRBYFLOAT", "f")
    t.cmd("INCRBYFLOAT", "f", "1", "2")


@case()
def append_strlen(t):
    t.cmd("APPEND", "k", "hello")
    t.cmd("APPEND", "k", " world")
    t.cmd("APPEND", "k", "")
    t.cmd("GET", "k")
    t.cmd("STRLEN", "k")
    t.cmd("STRLEN", "missing")
    t.cmd("APPEND", "e", "")
    t.cmd("EXISTS", "e")
    t.cmd("SET", "n", "10")
    t.cmd("APPEND", "n", "5")
    t.cmd("INCR", "n")
    t.cmd("SET", "ttl", "a", "EX", "100000")
    t.cmd("APPEND", "ttl", "b")
    t.cmd("TTL", "ttl", n=TTL)
    t.cmd("APPEND", "k")
    t.cmd("APPEND", "k", "a", "b")
    t.cmd("STRLEN")
    t.cmd("STRLEN", "a", "b")


@case()
def getrange_setrange(t):
    t.cmd("SET", "k", "Hello World")
    for a, b in (("0", "-1"), ("0", "4"), ("-5", "-1"), ("5", "2"), ("100", "200"),
                 ("-100", "-50"), ("-100", "3"), ("3", "100"), ("0", "9223372036854775807"),
                 ("-9223372036854775808", "2"), ("-1", "-1"), ("0", "0"), ("-1", "0")):
        t.cmd("GETRANGE", "k", a, b)
    t.cmd("GETRANGE", "missing", "0", "-1")
    t.cmd("GETRANGE", "k", "a", "1")
    t.cmd("GETRANGE", "k", "0", "1.5")
    t.cmd("GETRANGE", "k", "0")
    t.cmd("GETRANGE", "k", "0", "1", "2")
    t.cmd("SET", "e", "")
    t.cmd("GETRANGE", "e", "0", "-1")
    t.cmd("SETRANGE", "k", "6", "Redis")
    t.cmd("GET", "k")
    t.cmd("SETRANGE", "k", "20", "!")
    t.cmd("GET", "k")
    t.cmd("SETRANGE", "new", "3", "ab")
    t.cmd("GET", "new")
    t.cmd("SETRANGE", "empty", "0", "")
    t.cmd("EXISTS", "empty")
    t.cmd("SETRANGE", "empty", "10", "")
    t.cmd("EXISTS", "empty")
    t.cmd("SETRANGE", "k", "100", "")
    t.cmd("STRLEN", "k")
    t.cmd("SETRANGE", "k", "-1", "x")
    t.cmd("SETRANGE", "k", "abc", "x")
    t.cmd("SETRANGE", "k", "536870912", "x")
    t.cmd("SETRANGE", "k", "536870911", "xy")
    t.cmd("SETRANGE", "k", "9223372036854775807", "x")
    t.cmd("SETRANGE", "k", "0")
    t.cmd("SET", "ttl", "abc", "EX", "100000")
    t.cmd("SETRANGE", "ttl", "1", "X")
    t.cmd("GET", "ttl")
    t.cmd("TTL", "ttl", n=TTL)


# --- expiry -------------------------------------------------------------------

@case()
def expire_family(t):
    t.cmd("EXPIRE", "missing", "100")
    t.cmd("PEXPIRE", "missing", "100")
    t.cmd("EXPIREAT", "missing", at_s(100))
    t.cmd("PEXPIREAT", "missing", at_ms(100))
    t.cmd("SET", "k", "v")
    t.cmd("EXPIRE", "k", "100000")
    t.cmd("TTL", "k", n=TTL)
    t.cmd("PEXPIRE", "k", "200000000")
    t.cmd("PTTL", "k", n=PTTL)
    t.cmd("EXPIREAT", "k", at_s(300000))
    t.cmd("TTL", "k", n=TTL)
    t.cmd("PEXPIREAT", "k", at_ms(400000))
    t.cmd("TTL", "k", n=TTL)
    t.cmd("GET", "k")
    t.cmd("EXPIRE", "k", "abc")
    t.cmd("EXPIRE", "k", "1.5")
    t.cmd("EXPIRE", "k", "")
    t.cmd("EXPIRE", "k", "100", "FOO")
    t.cmd("EXPIRE", "k")
    t.cmd("EXPIRE")
    t.cmd("EXPIRE", "k", "9223372036854775807")
    t.cmd("EXPIRE", "k", "-9223372036854775808")
    t.cmd("EXPIRE", "k", "9223372036854775808")
    t.cmd("PEXPIRE", "k", "9223372036854775807")
    t.cmd("EXPIREAT", "k", "9223372036854775807")
    t.cmd("PEXPIRE", "k", "-9223372036854775808")
    t.cmd("TTL", "k", n=TTL)
    t.cmd("SET", "d1", "v")
    t.cmd("EXPIRE", "d1", "-1")
    t.cmd("EXISTS", "d1")
    t.cmd("SET", "d2", "v")
    t.cmd("EXPIRE", "d2", "0")
    t.cmd("GET", "d2")
    t.cmd("SET", "d3", "v")
    t.cmd("PEXPIRE", "d3", "0")
    t.cmd("GET", "d3")
    t.cmd("SET", "d4", "v")
    t.cmd("EXPIREAT", "d4", "1")
    t.cmd("GET", "d4")
    t.cmd("SET", "d5", "v")
    t.cmd("PEXPIREAT", "d5", "1")
    t.cmd("GET", "d5")
    t.cmd("DBSIZE")


@case()
def expire_options(t):
    t.cmd("SET", "k", "v")
    t.cmd("EXPIRE", "k", "100000", "XX")
    t.cmd("EXPIRE", "k", "100000", "GT")
    t.cmd("TTL", "k")
    t.cmd("EXPIRE", "k", "100000", "LT")
    t.cmd("TTL", "k", n=TTL)
    t.cmd("PERSIST", "k")
    t.cmd("EXPIRE", "k", "100000", "NX")
    t.cmd("EXPIRE", "k", "200000", "NX")
    t.cmd("TTL", "k", n=TTL)
    t.cmd("EXPIRE", "k", "200000", "XX")
    t.cmd("TTL", "k", n=TTL)
    t.cmd("EXPIRE", "k", "100000", "GT")
    t.cmd("EXPIRE", "k", "300000", "GT")
    t.cmd("TTL", "k", n=TTL)
    t.cmd("EXPIRE", "k", "400000", "LT")
    t.cmd("EXPIRE", "k", "150000", "LT")
    t.cmd("TTL", "k", n=TTL)
    t.cmd("EXPIRE", "k", "160000", "XX", "GT")
    t.cmd("EXPIRE", "k", "100000", "XX", "LT")
    t.cmd("TTL", "k", n=TTL)
    t.cmd("PEXPIRE", "k", "120000000", "GT")
    t.cmd("PEXPIRE", "k", "50000000", "LT")
    t.cmd("PTTL", "k", n=PTTL)
    t.cmd("EXPIREAT", "k", at_s(60000), "NX")
    t.cmd("EXPIREAT", "k", at_s(60000), "XX")
    t.cmd("PEXPIREAT", "k", at_ms(70000), "GT")
    t.cmd("PEXPIREAT", "k", at_ms(65000), "LT")
    t.cmd("TTL", "k", n=TTL)
    t.cmd("EXPIRE", "k", "100", "NX", "XX")
    t.cmd("EXPIRE", "k", "100", "GT", "LT")
    t.cmd("EXPIRE", "k", "100", "NX", "GT")
    t.cmd("EXPIRE", "k", "100", "NX", "LT")
    t.cmd("EXPIRE", "k", "100", "nx")
    t.cmd("EXPIRE", "k", "100", "XX", "XX")
    t.cmd("PEXPIRE", "k", "100", "FOO")
    t.cmd("EXPIREAT", "k", "100", "BAR")
    t.cmd("EXPIRE", "missing", "100", "NX")
    t.cmd("EXPIRE", "missing", "100", "XX")
    t.cmd("SET", "k2", "v")
    t.cmd("EXPIRE", "k2", "-1", "GT")
    t.cmd("EXISTS", "k2")
    t.cmd("EXPIRE", "k2", "-1", "LT")
    t.cmd("EXISTS", "k2")


@case()
def ttl_persist(t):
    t.cmd("TTL", "missing")
    t.cmd("PTTL", "missing")
    t.cmd("SET", "k", "v")
    t.cmd("TTL", "k")
    t.cmd("PTTL", "k")
    t.cmd("PERSIST", "missing")
    t.cmd("PERSIST", "k")
    t.cmd("EXPIRE", "k", "100000")
    t.cmd("PERSIST", "k")
    t.cmd("PERSIST", "k")
    t.cmd("TTL", "k")
    t.cmd("GET", "k")
    t.cmd("TTL")
    t.cmd("TTL", "a", "b")
    t.cmd("PTTL")
    t.cmd("PERSIST")
    t.cmd("PERSIST", "a", "b")


@case()
def expiry_happens(t):
    t.cmd("SET", "a", "v", "PX", "100")
    t.cmd("PSETEX", "b", "100", "v")
    t.cmd("SET", "c", "v")
    t.cmd("PEXPIRE", "c", "100")
    t.cmd("SET", "d", "v")
    t.cmd("GETEX", "d", "PX", "100")
    t.cmd("SET", "e", "v", "PXAT", at_ms(0.1))
    t.cmd("SET", "keep", "v", "EX", "100000")
    t.cmd("SET", "persisted", "v", "EX", "100000")
    t.cmd("PERSIST", "persisted")
    t.sleep(EXPIRY_SLEEP_S)
    t.cmd("GET", "a")
    t.cmd("EXISTS", "b")
    t.cmd("TTL", "c")
    t.cmd("PTTL", "d")
    t.cmd("MGET", "a", "b", "c", "d", "e", "keep")
    t.cmd("KEYS", "*", n=unordered)
    t.cmd("SETNX", "a", "new")
    t.cmd("GET", "a")
    t.cmd("INCR", "b")
    t.cmd("APPEND", "c", "x")
    t.cmd("STRLEN", "e")
    t.cmd("GET", "keep")
    t.cmd("TTL", "persisted")
    t.cmd("RENAME", "d", "z")
    t.cmd("TYPE", "e")


# --- keyspace -----------------------------------------------------------------

def scan_all(t, *opts, label):
    """A SCAN cursor loop; notes the set of keys (SCAN's order and batch sizes
    are the server's own: docs/SERVER.md)."""
    cursor = b"0"
    keys = set()
    rounds = 0
    while True:
        r = t.c.cmd("SCAN", cursor, *opts)
        if is_err(r):
            t.note(label, r)
            return
        if r[0] != "*" or len(r[1]) != 2 or r[1][0][0] != "$" or r[1][1][0] != "*":
            t.note(label, ("bad SCAN reply", r))
            return
        cursor = r[1][0][1]
        keys.update(x[1] for x in r[1][1][1])
        rounds += 1
        if cursor == b"0":
            break
        if rounds > 100000:
            t.note(label, "SCAN did not finish in 100000 rounds")
            return
    t.note(label, sorted(keys))


@case()
def scan(t):
    scan_all(t, label="SCAN empty")
    for i in range(0, 300, 50):
        args = []
        for j in range(i, i + 50):
            args += ["key:%d" % j, "v"]
        t.cmd("MSET", *args)
    t.cmd("MSET", "other:1", "v", "other:2", "v", "hello", "v", "hallo", "v", "hxllo", "v")
    scan_all(t, label="SCAN all")
    scan_all(t, "COUNT", "7", label="SCAN COUNT 7")
    scan_all(t, "COUNT", "1000", label="SCAN COUNT 1000")
    scan_all(t, "MATCH", "key:1*", label="SCAN MATCH key:1*")
    scan_all(t, "MATCH", "key:2?", "COUNT", "3", label="SCAN MATCH key:2? COUNT 3")
    scan_all(t, "MATCH", "h[ae]llo", label="SCAN MATCH h[ae]llo")
    scan_all(t, "MATCH", "nomatch*", label="SCAN MATCH nomatch*")
    scan_all(t, "MATCH", "*", "COUNT", "50", label="SCAN MATCH * COUNT 50")
    t.cmd("SCAN", "0", "COUNT", "0")
    t.cmd("SCAN", "0", "COUNT", "-1")
    t.cmd("SCAN", "0", "COUNT", "abc")
    t.cmd("SCAN", "0", "COUNT")
    t.cmd("SCAN", "0", "MATCH")
    t.cmd("SCAN", "0", "FOO", "bar")
    t.cmd("SCAN", "abc")
    t.cmd("SCAN", "1.5")
    t.cmd("SCAN")
    t.cmd("SET", "exp", "v", "PX", "100")
    t.sleep(EXPIRY_SLEEP_S)
    scan_all(t, "MATCH", "exp*", label="SCAN skips expired keys")


@case()
def keys_patterns(t):
    t.cmd("KEYS", "*")
    t.cmd("MSET", "hello", "1", "hallo", "2", "hxllo", "3", "hllo", "4", "heeello", "5",
          "a*b", "6", "a?b", "7", "a[b", "8", "key:1", "9", "key:10", "10")
    for p in ("*", "h?llo", "h*llo", "h[ae]llo", "h[^e]llo", "h[a-b]llo", "a\\*b", "a\\?b",
              "a[\\[]b", "key:1*", "key:?", "*llo", "nomatch", "", "[", "h[!e]llo", "*[0-9]"):
        t.cmd("KEYS", p, n=unordered)
    t.cmd("KEYS")
    t.cmd("KEYS", "a", "b")


@case()
def dbsize_flushdb(t):
    t.cmd("DBSIZE")
    t.cmd("MSET", "a", "1", "b", "2", "c", "3")
    t.cmd("DBSIZE")
    t.cmd("DEL", "a")
    t.cmd("DBSIZE")
    t.cmd("FLUSHDB")
    t.cmd("DBSIZE")
    t.cmd("GET", "b")
    t.cmd("SET", "a", "1")
    t.cmd("FLUSHDB", "ASYNC")
    t.cmd("DBSIZE")
    t.cmd("SET", "a", "1")
    t.cmd("FLUSHDB", "SYNC")
    t.cmd("DBSIZE")
    t.cmd("FLUSHDB", "foo")
    t.cmd("FLUSHDB", "SYNC", "ASYNC")
    t.cmd("DBSIZE", "x")


@case()
def type_rename(t):
    t.cmd("TYPE", "missing")
    t.cmd("SET", "k", "v")
    t.cmd("TYPE", "k")
    t.cmd("TYPE")
    t.cmd("TYPE", "a", "b")
    t.cmd("RENAME", "missing", "x")
    t.cmd("SET", "a", "1", "EX", "100000")
    t.cmd("RENAME", "a", "b")
    t.cmd("GET", "a")
    t.cmd("GET", "b")
    t.cmd("TTL", "b", n=TTL)
    t.cmd("RENAME", "b", "b")
    t.cmd("GET", "b")
    t.cmd("SET", "c", "3")
    t.cmd("RENAME", "b", "c")
    t.cmd("GET", "c")
    t.cmd("TTL", "c", n=TTL)
    t.cmd("EXISTS", "b")
    t.cmd("SET", "d", "4")
    t.cmd("RENAME", "d", "c")
    t.cmd("TTL", "c")
    t.cmd("RENAME", "c", "")
    t.cmd("GET", "")
    t.cmd("RENAME", "a")
    t.cmd("RENAME", "a", "b", "c")
    t.cmd("DBSIZE")


# --- server and client commands -----------------------------------------------

@case()
def info(t):
    t.cmd("MSET", "a", "1", "b", "2", "c", "3")
    t.cmd("SET", "d", "4", "EX", "100000")
    all_s = list(INFO_FIELDS)
    t.cmd("INFO", n=info_norm(all_s, db0_keys=4))
    t.cmd("INFO", "all", n=info_norm(all_s, db0_keys=4))
    t.cmd("INFO", "default", n=info_norm(all_s))
    for s in all_s:
        t.cmd("INFO", s, n=info_norm([s], db0_keys=4 if s == "keyspace" else None))
    t.cmd("INFO", "SERVER", n=info_norm(["server"]))
    t.cmd("INFO", "server", "clients", n=info_norm(["server", "clients"]))


@case()
def command_cmd(t):
    t.cmd("COMMAND", "COUNT", n=type_only)
    # COMMAND DOCS without names: daxkv-server answers an error on purpose, so
    # that redis-cli falls back on its own help table (docs/SERVER.md).
    t.cmd("COMMAND", "DOCS", n=lambda r: "array, or an error (documented)")
    t.cmd("COMMAND", "DOCS", "get", n=type_only)
    t.cmd("COMMAND", n=type_only)
    t.cmd("COMMAND", "FOO")
    t.cmd("COMMAND", "COUNT", "x")


def client_list_norm(my_id, my_name):
    """CLIENT LIST: this connection's line is there, once, with its id, name
    and the fields clients read; the other lines are the server's business."""
    def f(r):
        if is_err(r):
            return r
        mine = []
        for line in text_of(r).splitlines():
            kv = dict(p.split("=", 1) for p in line.split(" ") if "=" in p)
            if kv.get("id") == str(my_id):
                mine.append(kv)
        if len(mine) != 1:
            return (r[0], "own line %d times" % len(mine))
        kv = mine[0]
        return (r[0], kv.get("name") == my_name,
                [k for k in ("id", "addr", "fd", "name", "age", "idle", "db", "cmd")
                 if k not in kv])
    return f


@case()
def client_cmds(t):
    r = t.cmd("CLIENT", "ID", n=type_only)
    my_id = r[1] if r[0] == ":" else -1
    t.cmd("CLIENT", "GETNAME")
    t.cmd("CLIENT", "SETNAME", "conn-1")
    t.cmd("CLIENT", "GETNAME")
    t.cmd("CLIENT", "LIST", n=client_list_norm(my_id, "conn-1"))
    t.cmd("CLIENT", "SETNAME", "a b")
    t.cmd("CLIENT", "SETNAME", "a\nb")
    t.cmd("CLIENT", "GETNAME")
    t.cmd("CLIENT", "SETNAME", "")
    t.cmd("CLIENT", "GETNAME")
    t.cmd("CLIENT", "LIST", n=client_list_norm(my_id, ""))
    other = t.conn()
    r2 = t.cmd("CLIENT", "ID", c=other, n=type_only)
    t.note("two connections have two ids", r2[0] == ":" and r2[1] != my_id)
    t.cmd("CLIENT", "SETNAME")
    t.cmd("CLIENT", "SETNAME", "a", "b")
    t.cmd("CLIENT", "GETNAME", "x")
    t.cmd("CLIENT", "ID", "x")
    t.cmd("CLIENT", "FOO")
    t.cmd("CLIENT")


@case()
def config_get(t):
    t.cmd("CONFIG", "GET", "save")
    t.cmd("CONFIG", "GET", "appendonly")
    t.cmd("CONFIG", "GET", "save", "appendonly", n=lambda r: unordered(r) if r[0] == "*" else r)
    t.cmd("CONFIG", "GET", "nosuchparameter")
    t.cmd("CONFIG", "GET")
    t.cmd("CONFIG", "FOO")
    t.cmd("CONFIG")


@case(raw_only=True)
def quit_cmd(t):
    t.cmd("SET", "k", "v")
    t.cmd("QUIT")
    t.note("closed after QUIT", t.c.closed_by_peer())
    t.c = t.conn()
    t.cmd("QUIT", "extra", "args")
    t.note("closed after QUIT extra args", t.c.closed_by_peer())
    t.c = t.conn()
    t.cmd("GET", "k")


@case()
def unknown_commands(t):
    t.cmd("FOOBAR")
    t.cmd("FOOBAR", "a", "b", "c")
    t.cmd("foobar", "x" * 200)
    t.cmd("NOSUCH", "a", "b", "c", "d", "e", "f", "g")
    if t.raw:  # python3-redis sends an empty name as no command at all
        t.cmd("")
    t.cmd("LPUSHX2", "k", "v")
    t.cmd("PING")


# --- arity and argument types ---------------------------------------------------

# Redis 7's arity of each command: N exactly, -N at least N (the name counts).
ARITY = {
    "GET": 2, "SET": -3, "SETNX": 3, "SETEX": 4, "PSETEX": 4, "GETSET": 3, "GETDEL": 2,
    "GETEX": -2, "MGET": -2, "MSET": -3, "MSETNX": -3, "DEL": -2, "UNLINK": -2,
    "EXISTS": -2, "INCR": 2, "DECR": 2, "INCRBY": 3, "DECRBY": 3, "INCRBYFLOAT": 3,
    "APPEND": 3, "STRLEN": 2, "GETRANGE": 4, "SETRANGE": 4, "EXPIRE": -3, "PEXPIRE": -3,
    "EXPIREAT": -3, "PEXPIREAT": -3, "TTL": 2, "PTTL": 2, "PERSIST": 2, "SCAN": -2,
    "KEYS": 2, "DBSIZE": 1, "FLUSHDB": -1, "TYPE": 2, "RENAME": 3, "PING": -1, "ECHO": 2,
    "SELECT": 2, "AUTH": -2, "HELLO": -1, "INFO": -1, "COMMAND": -1, "CLIENT": -2,
    "CONFIG": -2,
}


@case()
def wrong_arity(t):
    for name, a in sorted(ARITY.items()):
        n = abs(a)
        if n > 1:
            t.cmd(name, *(["1"] * (n - 2)))
            t.cmd(name.lower(), *(["1"] * (n - 2)))
        if a > 0:
            t.cmd(name, *(["1"] * n))


@case()
def wrong_argument_types(t):
    t.cmd("SET", "k", "10")
    t.cmd("INCRBY", "k", "1.5")
    t.cmd("DECRBY", "k", "1e2")
    t.cmd("EXPIRE", "k", "1.5")
    t.cmd("PEXPIRE", "k", "abc")
    t.cmd("EXPIREAT", "k", "x")
    t.cmd("PEXPIREAT", "k", "")
    t.cmd("SETEX", "k", "ten", "v")
    t.cmd("PSETEX", "k", "1e3", "v")
    t.cmd("GETRANGE", "k", "0", "x")
    t.cmd("SETRANGE", "k", "one", "x")
    t.cmd("SCAN", "0", "COUNT", "1.5")
    t.cmd("SCAN", "x")
    t.cmd("SELECT", "x")
    t.cmd("HELLO", "x")
    t.cmd("INCRBYFLOAT", "k", "one")
    t.cmd("GET", "k")
    t.cmd("TTL", "k")


# --- bytes: binary keys and values, empty and large values ----------------------

@case()
def binary_keys_values(t):
    allbytes = bytes(range(256))
    t.cmd("SET", allbytes, allbytes[::-1])
    t.cmd("GET", allbytes)
    t.cmd("STRLEN", allbytes)
    t.cmd("EXISTS", allbytes)
    t.cmd("SET", b"a\r\nb", b"\r\n$3\r\nfoo\r\n")
    t.cmd("GET", b"a\r\nb")
    t.cmd("SET", b"\x00", b"\x00")
    t.cmd("GET", b"\x00")
    t.cmd("SET", b"k\x00tail", b"v")
    t.cmd("GET", b"k\x00tail")
    t.cmd("GET", b"k")
    for i in range(256):
        t.c.cmd("SET", b"b" + bytes([i]), bytes([i]) * (i % 7))
    t.note("SET 256 one-byte-suffix keys", "done")
    t.cmd("MGET", *[b"b" + bytes([i]) for i in range(256)])
    t.cmd("KEYS", "b?", n=unordered)
    t.cmd("KEYS", "*", n=unordered)
    t.cmd("DBSIZE")
    scan_all(t, "COUNT", "13", label="SCAN of binary keys")
    t.cmd("APPEND", b"b\xff", b"\x00\r\n")
    t.cmd("GET", b"b\xff")
    t.cmd("DEL", b"b\x00", b"b\x01")
    t.cmd("RENAME", b"b\x02", allbytes[128:])
    t.cmd("GET", allbytes[128:])
    t.cmd("SET", "e", b"")
    t.cmd("GET", "e")
    t.cmd("STRLEN", "e")
    t.cmd("APPEND", "e", b"")
    t.cmd("GETRANGE", "e", "0", "-1")
    t.cmd("MSET", "e1", b"", "e2", b"")
    t.cmd("MGET", "e1", "e2")
    t.cmd("GETSET", "e1", b"")


@case()
def large_values(t):
    mib = 1 << 20
    big = bytes((i * 7 + 3) & 0xFF for i in range(mib))
    t.cmd("SET", "big", big)
    t.cmd("GET", "big")
    t.cmd("STRLEN", "big")
    t.cmd("GETRANGE", "big", "1048000", "-1")
    t.cmd("GETRANGE", "big", "0", "99")
    t.cmd("APPEND", "big", b"tail")
    t.cmd("STRLEN", "big")
    t.cmd("SETRANGE", "big", "10", b"XYZ")
    t.cmd("GETRANGE", "big", "8", "14")
    t.cmd("GETSET", "big", b"small")
    t.cmd("SET", "big2", big[:mib - 100])
    t.cmd("MGET", "big2", "missing")
    t.cmd("ECHO", big[:65536])
    t.cmd("SET", "bigkey:" + "k" * 1000, "v")
    t.cmd("GET", "bigkey:" + "k" * 1000)
    t.cmd("SET", b"K" * 60000, b"v")
    t.cmd("GET", b"K" * 60000)


# --- the protocol itself (raw sockets) -----------------------------------------

SENTINEL = encode("ECHO", "end-of-exchange")
SENTINEL_REPLY = b"$15\r\nend-of-exchange\r\n"


def exchange(port, data, sentinel=True, idle_s=1.5, chunk=None):
    """Send data (in pieces of `chunk` bytes, if given) on a new connection and
    read what comes back: up to the reply of an ECHO sent after it (sentinel),
    or until the server closes the connection or is idle_s silent (for data
    after which a server may wait for more).  Then a PING if the connection is
    still open.  Returns (bytes received, closed?, PING's reply or None)."""
    c = Conn(port)
    try:
        if sentinel:
            data += SENTINEL
        if chunk:
            for i in range(0, len(data), chunk):
                c.send(data[i:i + chunk])
                time.sleep(0.001)
        else:
            c.send(data)
        got = b""
        closed = False
        c.sock.settimeout(srvlib.REPLY_TIMEOUT_S if sentinel else idle_s)
        try:
            while not (sentinel and got.endswith(SENTINEL_REPLY)):
                d = c.sock.recv(1 << 16)
                if not d:
                    closed = True
                    break
                got += d
        except ConnectionResetError:
            closed = True
        except OSError:
            pass  # silent: the server waits for more
        if sentinel and got.endswith(SENTINEL_REPLY):
            got = got[:-len(SENTINEL_REPLY)]
        c.sock.settimeout(srvlib.REPLY_TIMEOUT_S)
        ping = None
        if not closed:
            try:
                c.buf, c.pos = b"", 0
                ping = c.cmd("PING")
            except (Closed, OSError) as e:
                ping = "closed on PING: %s" % type(e).__name__
        return (got, closed, ping)
    finally:
        c.close()


@case(raw_only=True)
def proto_inline(t):
    port = t.server.port
    t.note("inline PING", exchange(port, b"PING\r\n"))
    t.note("inline SET/GET", exchange(port, b"SET ik iv\r\nGET ik\r\n"))
    t.note("inline quoted", exchange(port, b'ECHO "hello world"\r\nECHO \'a b\'\r\n'))
    t.note("inline escapes", exchange(port, b'ECHO "a\\x41\\n\\t"\r\n'))
    t.note("inline extra spaces", exchange(port, b"   PING    x   \r\n"))
    t.note("inline empty lines", exchange(port, b"\r\n\r\nPING\r\n"))
    t.note("inline bare LF", exchange(port, b"PING\nECHO lf\n"))
    t.note("inline lowercase", exchange(port, b"get ik\r\n"))
    t.note("inline unknown", exchange(port, b"NOSUCH a b\r\n"))
    t.note("inline wrong arity", exchange(port, b"GET\r\n"))
    t.note("inline unbalanced quotes", exchange(port, b'ECHO "abc\r\n', sentinel=False))
    t.note("inline byte by byte", exchange(port, b"SET ib val\r\nGET ib\r\n", chunk=1))
    t.note("inline too long", exchange(port, b"A" * 70000, sentinel=False))


@case(raw_only=True)
def proto_pipeline(t):
    cmds = []
    for i in range(1000):
        k = "p%d" % (i % 37)
        op = i % 5
        if op == 0:
            cmds.append(("SET", k, "v%d" % i))
        elif op == 1:
            cmds.append(("GET", k))
        elif op == 2:
            cmds.append(("INCR", "ctr%d" % (i % 3)))
        elif op == 3:
            cmds.append(("DEL", k))
        else:
            cmds.append(("EXISTS", k, "ctr0"))
    replies = t.c.pipeline(cmds)
    t.note("1000 pipelined replies", replies)
    t.cmd("MGET", *["p%d" % i for i in range(37)])
    # The same again over one send that ends mid-command, finished later.
    data = b"".join(encode(*c) for c in cmds[:100])
    t.c.send(data[:len(data) // 2 + 3])
    time.sleep(0.05)
    t.c.send(data[len(data) // 2 + 3:])
    t.note("split pipeline", [t.c.read() for _ in range(100)])
    # A 1 MiB value in uneven pieces.
    big = bytes(range(256)) * 4096
    data = encode("SET", "bigp", big) + encode("STRLEN", "bigp") + encode("GETRANGE", "bigp",
                                                                            "1000", "1010")
    for i in range(0, len(data), 65521):
        t.c.send(data[i:i + 65521])
    t.note("1 MiB SET in pieces", [t.c.read() for _ in range(3)])


@case(raw_only=True)
def proto_byte_at_a_time(t):
    port = t.server.port
    data = encode("SET", "slow", "value\r\n1") + encode("GET", "slow") + encode("PING")
    t.note("multibulk one byte at a time", exchange(port, data, chunk=1))


# (label, bytes, whether a server may wait for more after them: then no
# ECHO follows them, and the exchange ends when the server is silent).
MALFORMED = [
    ("negative multibulk length", b"*-5\r\n", False),
    ("negative multibulk, then a command", b"*-5\r\n*1\r\n$4\r\nPING\r\n", False),
    ("zero multibulk length", b"*0\r\n*1\r\n$4\r\nPING\r\n", False),
    ("multibulk length not a number", b"*abc\r\n", False),
    ("multibulk length too large", b"*99999999999\r\n", False),
    # Not "*1048577": daxkv-server takes at most 1M arguments a request and
    # answers more with an error (Redis waits for them: docs/SERVER.md, Limits).
    ("bulk length not a number", b"*1\r\n$abc\r\n", False),
    ("bulk length negative", b"*1\r\n$-1\r\n", False),
    ("bulk length too large", b"*1\r\n$99999999999\r\n", False),
    ("bulk length over 512 MiB", b"*1\r\n$536870913\r\n", False),
    ("no '$' before a bulk", b"*1\r\nPING\r\n", False),
    ("bulk not followed by CRLF", b"*1\r\n$4\r\nPINGxx", False),
    ("bulk shorter than its length", b"*2\r\n$4\r\nECHO\r\n$3\r\nabcde\r\n", False),
    ("multibulk count line too long", b"*" + b"1" * 70000, True),
    ("bulk length line too long", b"*1\r\n$" + b"1" * 70000, True),
]


@case(raw_only=True)
def proto_malformed(t):
    """Each malformed request on a connection of its own: Redis answers an
    error and closes that connection; another one keeps working."""
    port = t.server.port
    t.cmd("SET", "survivor", "yes")
    for label, data, may_wait in MALFORMED:
        t.note(label, exchange(port, data, sentinel=not may_wait))
        t.cmd("GET", "survivor", label="GET survivor (after %s)" % label)


# --- running --------------------------------------------------------------------

class Pair:
    def __init__(self, ref, other):
        self.ref, self.other = ref, other


def run_case(fn, server, mode):
    setup = server.conn()
    try:
        setup.cmd("FLUSHDB")
    finally:
        setup.close()
    t = Ctx(server, mode)
    try:
        fn(t)
    except Closed as e:
        t.note("<connection closed>", str(e))
    except Exception as e:  # noqa: BLE001 -- a case that breaks is a difference too
        t.note("<exception>", "%s: %s" % (type(e).__name__, e))
        if os.environ.get("DAXKV_COMPAT_TRACE"):
            traceback.print_exc()
    finally:
        t.close()
    return t.steps


def compare(name, mode, a, b, names):
    """Print each differing step; returns the number of mismatches."""
    bad = 0
    for i in range(max(len(a), len(b))):
        sa = a[i] if i < len(a) else None
        sb = b[i] if i < len(b) else None
        if sa and sb and sa[0] == sb[0] and sa[1] == sb[1]:
            continue
        bad += 1
        label = (sa or sb)[0]
        print("MISMATCH [%s] %s, step %d: %s" % (mode, name, i + 1, label))
        for who, s in ((names[0], sa), (names[1], sb)):
            if s is None:
                print("  %-6s: <no such step>" % who)
                continue
            if s[0] != label:
                print("  %-6s: (step is %s)" % (who, s[0]))
            shown = fmt(s[2]) if isinstance(s[2], tuple) else repr(s[2])
            lines = shown.split("\n")
            if len(lines) > 12:
                lines = lines[:12] + ["... (%d lines)" % len(lines)]
            if s[1] is not s[2] and s[1] != s[2]:
                print("  %-6s: compared as %r" % (who, s[1]))
                lines = lines[:2] + (["..."] if len(lines) > 2 else [])
                print("  %-6s  reply: %s" % ("", ("\n" + " " * 10).join(lines)))
            else:
                print("  %-6s: %s" % (who, ("\n" + " " * 10).join(lines)))
        if sa is None or sb is None or sa[0] != sb[0]:
            print("  (the transcripts diverge here; the rest of this case is not compared)")
            break
    return bad


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--server", help="the daxkv-server binary (else $DAXKV_SERVER; "
                    "neither: Redis against a second Redis)")
    ap.add_argument("--case", action="append", default=[], help="run only cases with this prefix")
    ap.add_argument("--mode", choices=("raw", "redispy", "both"), default="both")
    ap.add_argument("--show", action="store_true", help="print every transcript")
    ap.add_argument("--list", action="store_true", help="list the cases")
    args = ap.parse_args()
    if args.list:
        for name, _, raw_only, auth in CASES:
            print("%-28s%s%s" % (name, " raw-only" if raw_only else "", " auth" if auth else ""))
        return 0
    if redis is None:
        srvlib.skip("python3-redis is missing (use /usr/bin/python3; scripts/setup.sh)")
    binary = srvlib.find_server(args.server)

    work = tempfile.mkdtemp(prefix="daxkv-compat-")
    started = []
    stores = []
    try:
        def daxkv(tag, password=None):
            store = srvlib.store_path("compat-" + tag)
            srvlib.remove_store(store)
            stores.append(store)
            s = srvlib.start_daxkv(binary, store, work, name="daxkv-" + tag, password=password)
            started.append(s)
            return s

        def redis_srv(tag, password=None):
            s = srvlib.start_redis(work, name="redis-" + tag, password=password)
            started.append(s)
            return s

        if binary:
            names = ("redis", "daxkv")
            main_pair = Pair(redis_srv("main"), daxkv("main"))
            auth_pair = Pair(redis_srv("auth", PASSWORD), daxkv("auth", PASSWORD))
        else:
            print("compat: no daxkv-server given: Redis against a second Redis (self-check)")
            names = ("redis", "redis2")
            main_pair = Pair(redis_srv("main"), redis_srv("main2"))
            auth_pair = Pair(redis_srv("auth", PASSWORD), redis_srv("auth2", PASSWORD))

        modes = ("raw", "redispy") if args.mode == "both" else (args.mode,)
        total_bad = 0
        ran = 0
        bad_cases = []
        t0 = time.monotonic()
        for mode in modes:
            for name, fn, raw_only, auth in CASES:
                if args.case and not any(name.startswith(p) for p in args.case):
                    continue
                if raw_only and mode != "raw":
                    continue
                pair = auth_pair if auth else main_pair
                tc = time.monotonic()
                a = run_case(fn, pair.ref, mode)
                b = run_case(fn, pair.other, mode)
                ran += 1
                if os.environ.get("DAXKV_COMPAT_TIMES"):
                    print("  %-28s %-8s %.2f s" % (name, mode, time.monotonic() - tc))
                if args.show:
                    print("--- [%s] %s" % (mode, name))
                    for step in a:
                        print("  %s\n%s" % (step[0], fmt(step[2], "      ")
                                            if isinstance(step[2], tuple) else "      %r" % (step[2],)))
                bad = compare(name, mode, a, b, names)
                if bad:
                    bad_cases.append("%s[%s]" % (name, mode))
                total_bad += bad
                for s in (pair.ref, pair.other):
                    if s.proc.poll() is not None:
                        print("FAIL: %s exited (status %s) during case %s\n%s" % (
                            s.name, s.proc.returncode, name, s.log_tail()))
                        return 1
        for s in started:
            if s.name.startswith("daxkv"):
                rc = s.stop()
                if rc != 0:
                    print("FAIL: %s exited with status %s after SIGTERM\n%s" % (
                        s.name, rc, s.log_tail()))
                    total_bad += 1
        print("compat: %d case runs in %.1f s, %d mismatching steps%s" % (
            ran, time.monotonic() - t0, total_bad,
            (" in: " + " ".join(bad_cases)) if bad_cases else ""))
        return 1 if total_bad else 0
    finally:
        for s in started:
            s.stop()
        for st in stores:
            srvlib.remove_store(st)
        if os.environ.get("DAXKV_COMPAT_KEEP"):
            print("compat: logs kept in %s" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
