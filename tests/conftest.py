"""Shared fixtures: scripted HTTP servers on loopback, TLS with trustme, a hub watchdog.

``ScriptedServer`` runs a gevent ``StreamServer`` on an ephemeral port. Each test
gives it a handler ``handler(conn: ServerConn)``; the server records every byte the
client sent and counts connections. ``ServerConn`` has helpers to read one request
head (and body by Content-Length or chunked), so most handlers are a few lines.
"""

from __future__ import annotations

import base64
import functools
import gc
import json
import os
import platform
import re
import socket
import ssl
import time
import urllib.parse
from typing import Any, Callable, Dict, List, Optional, Tuple

import gevent
import gevent.event
import gevent.server
import gevent.socket
import pytest
from socksserver import (
    SocksServer,
    pipe,  # noqa: F401  (a relay direction, for the tests' proxies)
)

HUB_BLOCK_LIMIT = 0.25 if platform.python_implementation() == "PyPy" else 0.1
"""A test fails if anything blocks the gevent hub longer than this (seconds). The
pauses of garbage collection and of PyPy's JIT are not counted (see hub_watchdog);
PyPy still gets more, as it runs a new path interpreted, several times slower,
before compiling it. A blocking socket call shows on either."""


TRIES = 3


def timed(test: Callable[..., None]) -> Callable[..., None]:
    """Run ``test`` up to ``TRIES`` times; it passes on its first run without an
    AssertionError. For tests that compare two clock readings within a few
    milliseconds: the operating system or a collector stopping the whole process
    between the two is not the client's error, and a client that misplaces a phase
    fails every run. A run's servers and state should be its own."""

    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> None:
        for attempt in range(TRIES):
            try:
                return test(*args, **kwargs)
            except AssertionError:
                if attempt == TRIES - 1:
                    raise

    return run


class ServerConn:
    """The server side of one accepted connection."""

    def __init__(self, sock: Any, server: ScriptedServer) -> None:
        self.sock = sock
        self.server = server
        self.buf = b""

    def recv_more(self) -> bool:
        data = self.sock.recv(65536)
        if not data:
            return False
        self.server.received.append(data)
        self.buf += data
        return True

    def read_request(self) -> Optional[Dict[str, Any]]:
        """One request: method, target, version, headers (lowercased dict of lists),
        body (bytes, dechunked). None if the client closed first."""
        while b"\r\n\r\n" not in self.buf:
            if not self.recv_more():
                return None
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        method, target, version = lines[0].split(" ", 2)
        headers: Dict[str, List[str]] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers.setdefault(name.strip().lower(), []).append(value.strip())
        req = {
            "method": method,
            "target": target,
            "version": version,
            "headers": headers,
            "raw_head": head + b"\r\n\r\n",
        }
        if "100-continue" in [v.lower() for v in headers.get("expect", [])]:
            req["body"] = None  # the handler decides
            self.server.requests.append(req)
            return req
        req["body"] = self.read_body(headers)
        self.server.requests.append(req)
        return req

    def read_body(self, headers: Dict[str, List[str]]) -> bytes:
        if "chunked" in ",".join(headers.get("transfer-encoding", [])).lower():
            body = b""
            while True:
                while b"\r\n" not in self.buf:
                    if not self.recv_more():
                        raise EOFError("client closed mid chunked body")
                line, self.buf = self.buf.split(b"\r\n", 1)
                size = int(line.split(b";")[0], 16)
                while len(self.buf) < size + 2:
                    if not self.recv_more():
                        raise EOFError("client closed mid chunk")
                body += self.buf[:size]
                self.buf = self.buf[size + 2 :]
                if size == 0:
                    return body
        length = int(headers.get("content-length", ["0"])[0])
        while len(self.buf) < length:
            if not self.recv_more():
                raise EOFError("client closed mid body")
        body, self.buf = self.buf[:length], self.buf[length:]
        return body

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def respond(
        self,
        status: int = 200,
        body: bytes = b"",
        headers: Optional[List[Tuple[str, str]]] = None,
        reason: str = "OK",
    ) -> None:
        hs = list(headers or [])
        if not any(n.lower() in ("content-length", "transfer-encoding") for n, _ in hs):
            hs.append(("Content-Length", str(len(body))))
        head = f"HTTP/1.1 {status} {reason}\r\n" + "".join(f"{n}: {v}\r\n" for n, v in hs)
        self.sock.sendall(head.encode("latin-1") + b"\r\n" + body)

    def reset(self) -> None:
        """Close with RST instead of FIN."""
        import socket as _s
        import struct

        self.sock.setsockopt(_s.SOL_SOCKET, _s.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()

    def close(self) -> None:
        self.sock.close()


class ScriptedServer:
    """A loopback server whose per-connection behaviour is the test's ``handler``."""

    def __init__(
        self,
        handler: Callable[[ServerConn], Any],
        ssl_context: Optional[ssl.SSLContext] = None,
        host: str = "127.0.0.1",
        uds: Optional[str] = None,
    ) -> None:
        """``uds``: listen on this Unix domain socket path instead (``base`` is then
        an ``http+unix://`` URL)."""
        self.handler = handler
        self.received: List[bytes] = []
        self.requests: List[Dict[str, Any]] = []
        self.connections = 0
        self.open_connections = 0
        self.errors: List[BaseException] = []
        kw: Dict[str, Any] = {}
        if ssl_context is not None:
            kw["ssl_context"] = ssl_context
        scheme = "https" if ssl_context else "http"
        if uds is not None:
            listener = gevent.socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            listener.bind(uds)
            listener.listen(128)
            self._server = gevent.server.StreamServer(listener, self._handle, **kw)
            self._server.start()
            self.host, self.port = uds, 0
            self.base = f"{scheme}+unix://{urllib.parse.quote(uds, safe='')}"
            return
        self._server = gevent.server.StreamServer((host, 0), self._handle, **kw)
        self._server.start()
        self.host = host
        self.port = self._server.server_port
        netloc = f"[{host}]" if ":" in host else host
        self.base = f"{scheme}://{netloc}:{self.port}"

    def _handle(self, sock: Any, addr: Any) -> None:
        self.connections += 1
        self.open_connections += 1
        conn = ServerConn(sock, self)
        try:
            self.handler(conn)
        except (OSError, EOFError):
            pass
        except Exception as exc:  # recorded for the test to see
            self.errors.append(exc)
        finally:
            self.open_connections -= 1
            try:
                sock.close()
            except OSError:
                pass

    @property
    def raw(self) -> bytes:
        return b"".join(self.received)

    def stop(self) -> None:
        self._server.stop(timeout=0.5)


def keep_alive(
    respond: Callable[[ServerConn, Dict[str, Any]], Any],
) -> Callable[[ServerConn], None]:
    """A handler serving requests on a connection until the client closes."""

    def handler(conn: ServerConn) -> None:
        while True:
            req = conn.read_request()
            if req is None:
                return
            respond(conn, req)

    return handler


def echo_json(conn: ServerConn, req: Dict[str, Any]) -> None:
    """Answer with JSON of what the server received: method, target, headers, body."""
    body = json.dumps(
        {
            "method": req["method"],
            "target": req["target"],
            "headers": req["headers"],
            "body": (req["body"] or b"").decode("latin-1"),
        }
    ).encode()
    conn.respond(200, body, [("Content-Type", "application/json")])


def basic(user: str, password: str) -> str:
    """The ``Authorization`` value of Basic credentials (UTF-8)."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


LOOPBACK_NAMES = {"127.0.0.1", "::1", "localhost"}


@pytest.fixture
def resolved(monkeypatch) -> List[str]:
    """Names the client asked to resolve; only loopback names resolve at all, so a
    name meant for a proxy to resolve (``origin.test``) fails at once if the client
    tries, instead of leaving the machine (and is recorded)."""
    from geventhttpclient import _net

    real = gevent.socket.getaddrinfo
    asked: List[str] = []

    def guarded(host: Any, *args: Any, **kw: Any) -> Any:
        asked.append(host)
        if host not in LOOPBACK_NAMES:
            raise socket.gaierror(socket.EAI_NONAME, f"{host} may not be resolved in tests")
        return real(host, *args, **kw)

    monkeypatch.setattr(_net.gevent.socket, "getaddrinfo", guarded)
    return asked


@pytest.fixture
def server_factory():
    servers: List[ScriptedServer] = []

    def make(handler: Callable[[ServerConn], Any], **kw: Any) -> ScriptedServer:
        s = ScriptedServer(handler, **kw)
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.stop()


@pytest.fixture
def echo_server(server_factory):
    """Answers every request with a JSON-free echo: method, target and body."""

    def respond(conn: ServerConn, req: Dict[str, Any]) -> None:
        body = f"{req['method']} {req['target']}\n".encode() + (req["body"] or b"")
        conn.respond(200, body, [("Content-Type", "text/plain")])

    return server_factory(keep_alive(respond))


@pytest.fixture(scope="session")
def tls_ca():
    trustme = pytest.importorskip("trustme")
    return trustme.CA()


@pytest.fixture(scope="session")
def tls_cert(tls_ca):
    return tls_ca.issue_cert("localhost", "127.0.0.1", "::1")


@pytest.fixture
def server_ssl_context(tls_cert):
    import gevent.ssl

    # gevent's context class: a stdlib one would make the in-process server's
    # handshakes block the hub.
    ctx = gevent.ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls_cert.configure_cert(ctx)
    return ctx


@pytest.fixture
def ca_file(tls_ca, tmp_path):
    path = tmp_path / "ca.pem"
    tls_ca.cert_pem.write_to_path(str(path))
    return str(path)


SOCKS_HOSTS = {"origin.test": "127.0.0.1", "localhost": "127.0.0.1"}
"""Names as the SOCKS server resolves them (socks5h, socks4a), and as the client does
for socks5 and socks4 (``resolve=``): whoever resolved shows in what the proxy got."""


@pytest.fixture
def socks():
    """A scripted SOCKS server that knows :data:`SOCKS_HOSTS` (test_socks.py has its
    own ``socks`` fixture, which wins there)."""
    with SocksServer(hosts=SOCKS_HOSTS) as server:
        yield server


# csrc/fuzz/sanitize-tests.sh sets this (with PYTHONMALLOC=malloc): every feed then gets
# a fresh buffer of exactly its length, so AddressSanitizer reports any read past it.
EXACT_BUFFERS = bool(os.environ.get("HP_EXACT_BUFFERS"))


def feed(p: Any, buf: bytes) -> int:
    """Feed a parser, through an exact-size C buffer in sanitizer runs."""
    if EXACT_BUFFERS:
        from geventhttpclient import _cparser

        exact = _cparser.ffi.new("char[]", len(buf))
        _cparser.ffi.memmove(exact, buf, len(buf))
        return p.feed(exact, len(buf))  # type: ignore[no-any-return]
    return p.feed(buf)  # type: ignore[no-any-return]


def open_fds() -> int:
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:  # pragma: no cover - not Linux
        return -1


def rss() -> int:
    """Resident memory of this process in bytes (-1 where /proc is missing)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:  # pragma: no cover - not Linux
        pass
    return -1


_gc_seconds = [0.0, 0.0]  # time spent in collections so far; start of the current one


def _time_collections(phase: str, info: Dict[str, int]) -> None:
    if phase == "start":
        _gc_seconds[1] = time.monotonic()
    else:
        _gc_seconds[0] += time.monotonic() - _gc_seconds[1]


def _add_pypy_gc_time(stats: Any) -> None:
    _gc_seconds[0] += stats.duration  # seconds in these collections since the last call


# CPython tells of its cyclic collector through gc.callbacks; PyPy has none, but its
# gc.hooks report the duration of each batch of minor collections and major steps.
getattr(gc, "callbacks", []).append(_time_collections)
if hasattr(gc, "hooks"):  # PyPy
    gc.hooks.on_gc_minor = _add_pypy_gc_time
    gc.hooks.on_gc_collect_step = _add_pypy_gc_time

try:
    import pypyjit
except ImportError:
    pypyjit = None


def _paused_seconds() -> float:
    """Seconds so far that the process spent collecting garbage or, on PyPy,
    tracing and compiling in its JIT: pauses of the whole process, not code of
    ours or of a test blocking the hub (a synchronous socket call is neither)."""
    if pypyjit is None:
        return _gc_seconds[0]
    jit = pypyjit.get_stats_snapshot().counter_times
    return _gc_seconds[0] + jit.get("TRACING", 0.0) + jit.get("BACKEND", 0.0)


@pytest.fixture(autouse=True)
def hub_watchdog(request):
    """Fail the test if the gevent hub was blocked for more than HUB_BLOCK_LIMIT.

    Time in the garbage collector (and PyPy's JIT) is not counted
    (:func:`_paused_seconds`): a full collection of the garbage earlier tests left
    (hypothesis runs leave ~90,000 objects) took up to 0.25 s on CPython, and PyPy
    once stalled 0.32 s in CI, landing in whichever test was running. What the
    watchdog is for is code that blocks the hub, such as a synchronous socket or
    handshake.
    A test that blocks on purpose says so with ``@pytest.mark.hub_block_limit(s)``.
    """
    marker = request.node.get_closest_marker("hub_block_limit")
    limit = marker.args[0] if marker else HUB_BLOCK_LIMIT
    worst = [0.0]
    stop = gevent.event.Event()

    def watch() -> None:
        period = 0.02
        last = time.monotonic()
        paused = _paused_seconds()
        while True:
            stopped = stop.wait(period)
            now = time.monotonic()
            paused_now = _paused_seconds()
            worst[0] = max(worst[0], now - last - period - (paused_now - paused))
            if stopped:  # the last stretch counts too: a test may end by blocking
                break
            last = now
            paused = paused_now

    g = gevent.spawn(watch)
    yield
    stop.set()
    g.join()
    assert worst[0] < limit, f"gevent hub blocked for {worst[0]:.3f}s"


def wait_until(pred: Callable[[], bool], timeout: float = 2.0) -> bool:
    """Poll a condition that has no event to wait on (server-side bookkeeping)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        gevent.sleep(0.001)
    return pred()


_ = re  # re-exported helpers may use it
