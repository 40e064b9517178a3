"""srvlib -- what the daxkv-server suites share: a RESP2/RESP3 client that keeps
the type of every reply, and starting/stopping redis-server and daxkv-server
on free ports.

Replies are tagged tuples, so that a simple string and a bulk string, or an
empty array and a nil one, never compare equal:
  ('+', b'OK')  ('-', b'ERR ...')  (':', 5)  ('$', b'..')  ('$', None)
  ('*', [...])  ('*', None)  and RESP3: ('_', None)  (',', b'1.5')  ('#', True)
  ('(', 123)  ('=', b'txt:..')  ('%', [(k, v), ...])  ('~', [...])  ('>', [...])
An attribute reply ('|') is read and dropped.

Run with /usr/bin/python3 (Debian's, which has python3-redis); the suites
exit 77 (skipped) when something they need is missing.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SKIP = 77

# A sanitizer build of daxkv-server on two cores starts and answers slowly:
# every wait here is generous, and none of them decides a test's verdict.
START_TIMEOUT_S = float(os.environ.get("DAXKV_SRV_START_TIMEOUT", "90"))
REPLY_TIMEOUT_S = float(os.environ.get("DAXKV_SRV_REPLY_TIMEOUT", "60"))


class Closed(Exception):
    """The server closed the connection (EOF, or a reset)."""


def skip(msg):
    print("SKIP: " + msg, flush=True)
    sys.exit(SKIP)


def arg_bytes(a):
    if isinstance(a, bytes):
        return a
    if isinstance(a, (int, float)):
        return str(a).encode()
    return str(a).encode("utf-8", "surrogateescape")


def encode(*args):
    """One command as a RESP multibulk request."""
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        b = arg_bytes(a)
        out.append(b"$%d\r\n%s\r\n" % (len(b), b))
    return b"".join(out)


class Conn:
    """One connection, raw RESP: send bytes, read typed replies."""

    def __init__(self, port, host="127.0.0.1", timeout=REPLY_TIMEOUT_S):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.pos = 0

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send(self, data):
        try:
            self.sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError) as e:
            raise Closed(str(e)) from e

    def cmd(self, *args):
        self.send(encode(*args))
        return self.read()

    def pipeline(self, cmds):
        self.send(b"".join(encode(*c) for c in cmds))
        return [self.read() for _ in cmds]

    def _fill(self):
        try:
            data = self.sock.recv(1 << 16)
        except ConnectionResetError as e:
            raise Closed(str(e)) from e
        if not data:
            raise Closed("EOF")
        if self.pos:
            self.buf = self.buf[self.pos:]
            self.pos = 0
        self.buf += data

    def _line(self):
        while True:
            i = self.buf.find(b"\r\n", self.pos)
            if i >= 0:
                line = self.buf[self.pos:i]
                self.pos = i + 2
                return line
            self._fill()

    def _exact(self, n):
        while len(self.buf) - self.pos < n + 2:
            self._fill()
        data = self.buf[self.pos:self.pos + n]
        self.pos += n + 2
        return data

    def read(self):
        """The next reply, typed (see the module comment)."""
        line = self._line()
        if not line:
            raise ValueError("empty reply line")
        t, rest = chr(line[0]), line[1:]
        if t in "+-":
            return (t, rest)
        if t in ":(":
            return (t, int(rest))
        if t == ",":
            return (t, rest)
        if t == "#":
            return (t, rest == b"t")
        if t == "_":
            return ("_", None)
        if t in "$=!":
            n = int(rest)
            if n < 0:
                return (t, None)
            return (t, self._exact(n))
        if t in "*~>":
            n = int(rest)
            if n < 0:
                return (t, None)
            return (t, [self.read() for _ in range(n)])
        if t == "%":
            n = int(rest)
            return (t, [(self.read(), self.read()) for _ in range(n)])
        if t == "|":  # attributes: read and drop, then the reply they annotate
            n = int(rest)
            for _ in range(2 * n):
                self.read()
            return self.read()
        raise ValueError("unknown reply type %r (line %r)" % (t, line[:80]))

    def closed_by_peer(self, wait_s=REPLY_TIMEOUT_S):
        """True when the server closes the connection (EOF or reset) within
        wait_s; whatever it sends before that is discarded."""
        self.sock.settimeout(wait_s)
        try:
            while True:
                data = self.sock.recv(1 << 16)
                if not data:
                    return True
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False
        finally:
            self.sock.settimeout(REPLY_TIMEOUT_S)


def fmt(r, indent=""):
    """A reply as redis-cli would show it, with its RESP type."""
    if not isinstance(r, tuple) or len(r) != 2 or not isinstance(r[0], str):
        return indent + repr(r)
    t, v = r
    if t == "+":
        return indent + "+%s" % v.decode("latin-1")
    if t == "-":
        return indent + "(error) %s" % v.decode("latin-1")
    if t in ":(":
        return indent + "(integer) %d" % v
    if t in "$=!,":
        if v is None:
            return indent + "(nil %s)" % t
        if len(v) > 200:
            return indent + "%r... (%d bytes)" % (v[:200], len(v))
        return indent + ("" if t == "$" else t) + repr(v)
    if t == "_":
        return indent + "(null)"
    if t == "#":
        return indent + "(bool) %s" % v
    if t in "*~>":
        if v is None:
            return indent + "(nil array)"
        if not v:
            return indent + "(empty %s)" % t
        return "\n".join(indent + "%s%d) %s" % (t, i + 1, fmt(x).lstrip())
                         for i, x in enumerate(v))
    if t == "%":
        if not v:
            return indent + "(empty map)"
        return "\n".join(indent + "%%%d) %s => %s" % (i + 1, fmt(k).lstrip(), fmt(x).lstrip())
                         for i, (k, x) in enumerate(v))
    return indent + repr(r)


def free_port():
    """A TCP port nobody listens on now (bound to port 0, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A started server: .port, .proc; stop() ends it (SIGTERM, then SIGKILL)."""

    def __init__(self, name, argv, port, env=None, cwd=None, log_path=None, password=None):
        self.name = name
        self.argv = argv
        self.port = port
        self.password = password
        self.log_path = log_path
        self.log = open(log_path, "ab") if log_path else subprocess.DEVNULL
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT,
                                     env=env, cwd=cwd)

    def wait_ready(self, timeout_s=START_TIMEOUT_S):
        """Wait until a PING gets an answer (NOAUTH counts: it is listening;
        LOADING does not)."""
        deadline = time.monotonic() + timeout_s
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited with %s before it answered; log: %s\n%s" % (
                    self.name, self.proc.returncode, self.log_path, self.log_tail()))
            try:
                c = Conn(self.port, timeout=5)
                try:
                    r = c.cmd("PING")
                finally:
                    c.close()
                if r[0] == "+" or (r[0] == "-" and not r[1].startswith(b"LOADING")):
                    return
            except (OSError, Closed, ValueError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("%s did not answer PING on port %d within %.0f s\n%s" % (
                    self.name, self.port, timeout_s, self.log_tail()))
            time.sleep(0.05)

    def log_tail(self, n=30):
        if not self.log_path or not os.path.exists(self.log_path):
            return ""
        with open(self.log_path, "rb") as f:
            lines = f.read().decode("utf-8", "replace").splitlines()
        return "\n".join("  | " + line for line in lines[-n:])

    def conn(self, auth=True):
        c = Conn(self.port)
        if auth and self.password:
            r = c.cmd("AUTH", self.password)
            if r != ("+", b"OK"):
                raise RuntimeError("AUTH failed: %r" % (r,))
        return c

    def kill(self):
        """SIGKILL, as a crash: nothing of the server's shutdown path runs."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self._close_log()

    def stop(self, timeout_s=START_TIMEOUT_S):
        """SIGTERM and wait; returns the exit status (SIGKILL after timeout_s)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                print("%s: no exit %.0f s after SIGTERM: SIGKILL" % (self.name, timeout_s),
                      flush=True)
                self.proc.kill()
                self.proc.wait()
        self._close_log()
        return self.proc.returncode

    def _close_log(self):
        if self.log is not subprocess.DEVNULL and not self.log.closed:
            self.log.close()


def start_redis(workdir, name="redis", password=None, extra=()):
    """redis-server on a free port, nothing persisted, in workdir."""
    exe = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not os.path.exists(exe):
        skip("redis-server is not installed (scripts/setup.sh installs it)")
    for attempt in range(5):
        port = free_port()
        argv = [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", workdir, "--daemonize", "no",
                "--logfile", ""]
        if password:
            argv += ["--requirepass", password]
        argv += list(extra)
        s = Server(name, argv, port, cwd=workdir,
                   log_path=os.path.join(workdir, "%s-%d.log" % (name, port)),
                   password=password)
        try:
            s.wait_ready()
            return s
        except RuntimeError:
            s.stop()
            if attempt == 4:
                raise
    raise AssertionError("unreachable")


def store_path(tag):
    """A fresh store name under /dev/shm, unique to this process."""
    base = "/dev/shm" if os.path.isdir("/dev/shm") else tempfile.gettempdir()
    return os.path.join(base, "daxkv-srvtest-%d-%s" % (os.getpid(), tag))


def remove_store(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    elif os.path.lexists(path):
        os.remove(path)


# A new store's size: less than the server's 1 GiB default, as several suites
# (and ctest -j) may keep stores in /dev/shm at once.
POOL_SIZE = os.environ.get("DAXKV_SRV_POOL_SIZE", "256M")


def start_daxkv(binary, store, workdir, name="daxkv", password=None, port=None, extra=()):
    """daxkv-server on a free port (or the one given) over the store (created
    when missing, POOL_SIZE big)."""
    env = dict(os.environ)
    env["PMEM_IS_PMEM_FORCE"] = "1"
    for attempt in range(5):
        p = port if port else free_port()
        argv = [binary, "--port", str(p), "--bind", "127.0.0.1", "--store", store,
                "--pool-size", POOL_SIZE]
        if password:
            argv += ["--requirepass", password]
        argv += list(extra)
        s = Server(name, argv, p, env=env, cwd=workdir,
                   log_path=os.path.join(workdir, "%s.log" % name), password=password)
        try:
            s.wait_ready()
            return s
        except RuntimeError as e:
            s.stop()
            # A port taken between free_port() and bind(): try another one.
            if port or attempt == 4 or "in use" not in str(e).lower():
                raise
    raise AssertionError("unreachable")


def find_server(argv_value=None):
    """The daxkv-server binary: the argument, else $DAXKV_SERVER, else None."""
    b = argv_value or os.environ.get("DAXKV_SERVER")
    if not b:
        return None
    if not (os.path.isfile(b) and os.access(b, os.X_OK)):
        print("FAIL: daxkv-server binary %r is not an executable file" % b, flush=True)
        sys.exit(2)
    return os.path.abspath(b)
