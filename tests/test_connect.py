"""Connecting: refusal, timeouts, DNS failures, Happy Eyeballs, IPv6 and the Host header.

Everything runs on loopback. Name resolution is never sent off the machine: where
a test needs a name to fail or to resolve to particular addresses, it replaces
``gevent.socket.getaddrinfo`` (which ``geventhttpclient._net`` calls at connect
time) with a fake that answers from a table and raises ``socket.gaierror`` for
anything else.
"""

from __future__ import annotations

import errno
import socket
import ssl
import time
from typing import Any, Dict, List, Tuple

import gevent
import gevent.event
import gevent.socket
import gevent.ssl
import pytest
from conftest import keep_alive

from geventhttpclient import HTTPClient, _net
from geventhttpclient.exceptions import (
    ConnectError,
    ConnectionClosed,
    ConnectTimeout,
    DNSError,
    NetworkError,
    ReadTimeout,
    RequestTimeout,
)
from geventhttpclient.exceptions import TimeoutError as GHTimeoutError

# -- helpers ---------------------------------------------------------------------------


def _ipv6_loopback() -> bool:
    if not socket.has_ipv6:
        return False
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    except OSError:
        return False
    try:
        s.bind(("::1", 0))
        return True
    except OSError:
        return False
    finally:
        s.close()


HAS_IPV6 = _ipv6_loopback()
needs_ipv6 = pytest.mark.skipif(not HAS_IPV6, reason="no IPv6 on loopback")


def closed_port(family: int = socket.AF_INET, host: str = "127.0.0.1") -> int:
    """A port nothing listens on: bound, read, closed."""
    s = socket.socket(family, socket.SOCK_STREAM)
    s.bind((host, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _info(family: int, host: str, port: int) -> Tuple[Any, ...]:
    addr: Tuple[Any, ...] = (host, port) if family == socket.AF_INET else (host, port, 0, 0)
    return (family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", addr)


class FakeResolver:
    """Stands in for gevent.socket.getaddrinfo: answers from ``table`` only.

    ``table[(name, port)]`` is a list of ``(family, address, real_port)``; the answer
    honours the family asked for, like the real resolver. Anything else raises
    ``socket.gaierror(EAI_NONAME)`` at once: nothing leaves the machine.
    """

    def __init__(self) -> None:
        self.table: Dict[Tuple[str, int], List[Tuple[int, str, int]]] = {}
        self.calls: List[Tuple[str, int, int]] = []

    def __call__(self, host: str, port: Any, family: int = 0, *a: Any, **kw: Any):
        self.calls.append((host, int(port), family))
        entries = self.table.get((host, int(port)))
        if entries is None:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            _info(fam, addr, real_port)
            for fam, addr, real_port in entries
            if family in (0, socket.AF_UNSPEC, fam)
        ]


@pytest.fixture
def resolver(monkeypatch):
    fake = FakeResolver()
    monkeypatch.setattr(_net.gevent.socket, "getaddrinfo", fake)
    return fake


@pytest.fixture
def server_ssl_context(tls_cert):
    """Overrides conftest's: a *gevent* SSLContext, so the server's handshake yields
    to the hub (a stdlib ``ssl.SSLContext`` handed to StreamServer blocks it)."""
    ctx = gevent.ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls_cert.configure_cert(ctx)
    return ctx


@pytest.fixture
def release():
    """An event hanging handlers wait on; set at teardown so they end."""
    ev = gevent.event.Event()
    yield ev
    ev.set()


def blackhole(family: int = socket.AF_INET, host: str = "127.0.0.1"):
    """A listening socket whose accept queue is full: a connect to it neither
    succeeds nor fails, it hangs (SYNs are dropped). Returns (listener, fillers,
    port), or skips the test if the kernel completes connects anyway."""
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.bind((host, 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(16):
        c = gevent.socket.socket(family, socket.SOCK_STREAM)
        c.settimeout(0.05)
        try:
            c.connect((host, port))
        except socket.timeout:
            c.close()
            return listener, fillers, port
        except OSError:
            c.close()
            break
        fillers.append(c)
    for c in fillers:
        c.close()
    listener.close()
    pytest.skip("this kernel does not leave a connect to a full accept queue hanging")


def close_all(listener, fillers) -> None:
    for c in fillers:
        c.close()
    listener.close()


def ok(conn, req):
    conn.respond(200, b"ok")


# -- connection refused ------------------------------------------------------------------


def test_connection_refused_raises_connect_error_quickly_and_frees_the_slot():
    port = closed_port()
    client = HTTPClient("127.0.0.1", port, concurrency=1, pool_timeout=1.0)
    for _ in range(2):  # a leaked slot would turn the second into a PoolTimeout
        t0 = time.monotonic()
        with pytest.raises(ConnectError) as info:
            client.get("/")
        assert time.monotonic() - t0 < 1.0
        exc = info.value
        assert isinstance(exc, OSError)
        assert not isinstance(exc, (DNSError, GHTimeoutError))
        assert exc.errno == errno.ECONNREFUSED
        assert isinstance(exc.__cause__, ConnectionRefusedError)
        stats = client.statistics()
        assert stats.connections == 0
        assert stats.active == 0
    assert client.statistics().created == 0
    client.close()


# -- connect timeouts ----------------------------------------------------------------------


def test_tls_handshake_that_never_completes_raises_connect_timeout(server_factory, release):
    # The server accepts TCP and then says nothing: the handshake is part of
    # connecting, so connection_timeout bounds it.
    accepted = gevent.event.Event()

    def handler(conn):
        accepted.set()
        release.wait()

    server = server_factory(handler)
    client = HTTPClient(
        "127.0.0.1",
        server.port,
        ssl=True,
        insecure=True,
        connection_timeout=0.2,
        network_timeout=5.0,
    )
    t0 = time.monotonic()
    with pytest.raises(ConnectTimeout) as info:
        client.get("/")
    elapsed = time.monotonic() - t0
    assert accepted.is_set()
    assert 0.15 < elapsed < 1.5
    exc = info.value
    assert isinstance(exc, TimeoutError)
    assert isinstance(exc, socket.timeout)
    assert isinstance(exc, ConnectError)
    assert isinstance(exc, OSError)
    assert client.statistics().connections == 0
    client.close()


def test_tcp_connect_that_never_completes_raises_connect_timeout():
    listener, fillers, port = blackhole()
    try:
        client = HTTPClient("127.0.0.1", port, connection_timeout=0.2)
        t0 = time.monotonic()
        with pytest.raises(ConnectTimeout):
            client.get("/")
        assert 0.15 < time.monotonic() - t0 < 1.5
        assert client.statistics().connections == 0
        client.close()
    finally:
        close_all(listener, fillers)


# -- DNS -------------------------------------------------------------------------------------


def test_name_that_does_not_resolve_raises_dns_error(resolver):
    client = HTTPClient("no-such-host.invalid", 8080)
    with pytest.raises(DNSError) as info:
        client.get("/")
    exc = info.value
    assert isinstance(exc, ConnectError)
    assert isinstance(exc, socket.gaierror)
    assert isinstance(exc, OSError)
    assert exc.errno == socket.EAI_NONAME
    assert "no-such-host.invalid" in str(exc)
    assert resolver.calls and resolver.calls[0][:2] == ("no-such-host.invalid", 8080)
    assert client.statistics().connections == 0
    client.close()


def test_name_resolving_to_no_address_raises_dns_error(resolver):
    resolver.table[("empty.test", 8080)] = []
    client = HTTPClient("empty.test", 8080)
    with pytest.raises(DNSError):
        client.get("/")
    assert client.statistics().connections == 0


def test_localhost_resolves_through_the_system_resolver(server_factory):
    server = server_factory(lambda conn: ok(conn, conn.read_request()))
    client = HTTPClient("localhost", server.port)
    assert client.get("/").read() == b"ok"
    assert server.requests[0]["headers"]["host"] == [f"localhost:{server.port}"]


@pytest.mark.parametrize("family", ["ipv4", pytest.param("ipv6", marks=needs_ipv6)])
def test_ip_literals_connect_without_the_resolver(server_factory, resolver, family):
    # gevent's resolver runs every lookup in its thread pool; an address needs none.
    # (1000 concurrent connects to 127.0.0.1 left ~10 KiB per connection behind.)
    host = "127.0.0.1" if family == "ipv4" else "::1"
    server = server_factory(keep_alive(ok), host=host)
    assert HTTPClient(host, server.port).get("/").read() == b"ok"
    assert resolver.calls == []


@needs_ipv6
def test_ipv6_literal_with_disable_ipv6_raises_dns_error(resolver):
    client = HTTPClient("::1", 8080, disable_ipv6=True)
    with pytest.raises(DNSError):
        client.get("/")
    assert resolver.calls == []


# -- Happy Eyeballs ---------------------------------------------------------------------------


@needs_ipv6
def test_happy_eyeballs_falls_back_to_ipv4_when_ipv6_is_refused(server_factory, resolver):
    server = server_factory(keep_alive(ok), host="127.0.0.1")
    v6_port = closed_port(socket.AF_INET6, "::1")
    resolver.table[("dual.test", 8080)] = [
        (socket.AF_INET6, "::1", v6_port),
        (socket.AF_INET, "127.0.0.1", server.port),
    ]
    client = HTTPClient("dual.test", 8080, connection_timeout=2.0)
    t0 = time.monotonic()
    assert client.get("/").read() == b"ok"
    # a refusal starts the next attempt at once, without waiting the attempt delay
    assert time.monotonic() - t0 < _net.ATTEMPT_DELAY
    assert server.connections == 1


@needs_ipv6
def test_happy_eyeballs_falls_back_to_ipv6_when_ipv4_is_refused(server_factory, resolver):
    server = server_factory(keep_alive(ok), host="::1")
    resolver.table[("dual.test", 8080)] = [
        (socket.AF_INET, "127.0.0.1", closed_port()),
        (socket.AF_INET6, "::1", server.port),
    ]
    client = HTTPClient("dual.test", 8080)
    assert client.get("/").read() == b"ok"
    assert server.connections == 1


@needs_ipv6
def test_happy_eyeballs_starts_ipv4_attempt_while_ipv6_connect_hangs(server_factory, resolver):
    server = server_factory(keep_alive(ok), host="127.0.0.1")
    listener, fillers, v6_port = blackhole(socket.AF_INET6, "::1")
    try:
        resolver.table[("dual.test", 8080)] = [
            (socket.AF_INET6, "::1", v6_port),
            (socket.AF_INET, "127.0.0.1", server.port),
        ]
        client = HTTPClient("dual.test", 8080, connection_timeout=3.0)
        t0 = time.monotonic()
        assert client.get("/").read() == b"ok"
        elapsed = time.monotonic() - t0
        # the second family is tried after ATTEMPT_DELAY, not after connection_timeout
        assert _net.ATTEMPT_DELAY * 0.8 <= elapsed < 1.5
        assert server.connections == 1
    finally:
        close_all(listener, fillers)


@needs_ipv6
def test_disable_ipv6_asks_only_for_ipv4_addresses(server_factory, resolver):
    server = server_factory(keep_alive(ok), host="::1")
    resolver.table[("dual.test", 8080)] = [
        (socket.AF_INET6, "::1", server.port),
        (socket.AF_INET, "127.0.0.1", closed_port()),
    ]
    client = HTTPClient("dual.test", 8080, disable_ipv6=True)
    with pytest.raises(ConnectError) as info:
        client.get("/")
    assert info.value.errno == errno.ECONNREFUSED
    assert resolver.calls[-1][2] == socket.AF_INET
    assert server.connections == 0
    # the same name without disable_ipv6 reaches the IPv6-only server
    assert HTTPClient("dual.test", 8080).get("/").read() == b"ok"
    assert server.connections == 1


# -- IPv6 literals and the Host header --------------------------------------------------------


@needs_ipv6
@pytest.mark.parametrize("how", ["bare", "bracketed", "from_url"])
def test_ipv6_literal_is_bracketed_in_host_header(server_factory, how):
    server = server_factory(keep_alive(ok), host="::1")
    if how == "bare":
        client = HTTPClient("::1", server.port)
    elif how == "bracketed":
        client = HTTPClient("[::1]", server.port)
    else:
        client = HTTPClient.from_url(f"http://[::1]:{server.port}/")
    assert client.get("/x").read() == b"ok"
    req = server.requests[0]
    assert req["target"] == "/x"
    assert req["headers"]["host"] == [f"[::1]:{server.port}"]
    assert f"\r\nHost: [::1]:{server.port}\r\n".encode() in req["raw_head"]


def test_non_default_port_appears_in_host_header(server_factory):
    server = server_factory(keep_alive(ok))
    client = HTTPClient("127.0.0.1", server.port)
    client.get("/").read()
    assert server.requests[0]["headers"]["host"] == [f"127.0.0.1:{server.port}"]


def test_default_port_80_is_left_out_of_host_header(server_factory, resolver):
    server = server_factory(keep_alive(ok))
    # "web.test" port 80 resolves to our ephemeral port: the client believes it
    # talks to port 80.
    resolver.table[("web.test", 80)] = [(socket.AF_INET, "127.0.0.1", server.port)]
    for client in (
        HTTPClient("web.test"),
        HTTPClient("web.test", 80),
        HTTPClient.from_url("http://web.test/"),
    ):
        client.get("/").read()
    assert [r["headers"]["host"] for r in server.requests] == [["web.test"]] * 3


def test_default_https_port_443_is_left_out_of_host_header(
    server_factory, server_ssl_context, ca_file, resolver
):
    server = server_factory(keep_alive(ok), ssl_context=server_ssl_context)
    resolver.table[("localhost", 443)] = [(socket.AF_INET, "127.0.0.1", server.port)]
    resolver.table[("localhost", 80)] = [(socket.AF_INET, "127.0.0.1", server.port)]
    HTTPClient("localhost", ssl=True, ssl_options={"ca_certs": ca_file}).get("/").read()
    # port 80 is not the default for https: it is named
    HTTPClient("localhost", 80, ssl_options={"ca_certs": ca_file}).get("/").read()
    assert [r["headers"]["host"] for r in server.requests] == [["localhost"], ["localhost:80"]]


# -- read and request timeouts -----------------------------------------------------------------


def _silent_first_connection(release: gevent.event.Event):
    """Handler: the first connection takes its request and never answers; every later
    connection answers normally."""
    seen = {"n": 0}
    got_first = gevent.event.Event()

    def handler(conn):
        seen["n"] += 1
        if seen["n"] == 1:
            if conn.read_request() is not None:
                got_first.set()
            release.wait()
            return
        while True:
            req = conn.read_request()
            if req is None:
                return
            conn.respond(200, b"second")

    return handler, got_first


def test_read_timeout_raises_read_timeout_and_discards_connection(server_factory, release):
    handler, got_first = _silent_first_connection(release)
    server = server_factory(handler)
    client = HTTPClient("127.0.0.1", server.port, network_timeout=0.2)
    t0 = time.monotonic()
    with pytest.raises(ReadTimeout) as info:
        client.get("/")
    elapsed = time.monotonic() - t0
    assert got_first.is_set()
    exc = info.value
    assert isinstance(exc, TimeoutError)
    assert isinstance(exc, socket.timeout)
    assert isinstance(exc, NetworkError)
    assert not isinstance(exc, ConnectionClosed)
    assert 0.15 < elapsed < 1.0
    # not retried (a retry would have succeeded on the second connection)
    assert server.connections == 1
    stats = client.statistics()
    assert stats.connections == 0
    assert stats.discarded == 1
    # the next request works, on a new connection
    assert client.get("/").read() == b"second"
    assert server.connections == 2


def test_request_timeout_bounds_the_whole_request(server_factory, release):
    handler, got_first = _silent_first_connection(release)
    server = server_factory(handler)
    client = HTTPClient("127.0.0.1", server.port, network_timeout=5.0)
    t0 = time.monotonic()
    with pytest.raises(RequestTimeout) as info:
        client.get("/", timeout=0.2)
    elapsed = time.monotonic() - t0
    assert got_first.is_set()
    assert isinstance(info.value, TimeoutError)
    assert 0.15 < elapsed < 1.0
    assert server.connections == 1  # not retried
    assert client.statistics().connections == 0
    assert client.get("/").read() == b"second"
    assert server.connections == 2


def test_client_level_timeout_applies_to_every_request(server_factory, release):
    handler, got_first = _silent_first_connection(release)
    server = server_factory(handler)
    client = HTTPClient("127.0.0.1", server.port, network_timeout=5.0, timeout=0.2)
    with pytest.raises(RequestTimeout):
        client.get("/")
    assert got_first.is_set()
    assert server.connections == 1
    assert client.statistics().connections == 0


def test_callers_gevent_timeout_propagates_unwrapped_and_connection_is_dropped(
    server_factory, release
):
    handler, got_first = _silent_first_connection(release)
    server = server_factory(handler)
    # network_timeout bounds a (wrong) reuse of the silent connection: the test then
    # fails instead of hanging.
    client = HTTPClient("127.0.0.1", server.port, network_timeout=1.0)
    timeout = gevent.Timeout(0.2)
    t0 = time.monotonic()
    with pytest.raises(gevent.Timeout) as info:
        with timeout:
            client.get("/")
    assert info.value is timeout
    assert 0.15 < time.monotonic() - t0 < 1.0
    assert got_first.is_set()
    assert server.connections == 1
    stats = client.statistics()
    assert stats.connections == 0
    assert stats.discarded == 1
    assert client.get("/").read() == b"second"
    assert server.connections == 2
