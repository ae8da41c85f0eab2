"""Connection lifecycle limits: keepalive_expiry, max_connection_age,
max_requests_per_connection, reset(), HTTPClientPool(max_clients=...), and the shared
SSL contexts (``ssl_context_cache_info()``).

Time limits are tested two ways: with real (short) times where the point is what
happens on the wire (the idle sweep closes a socket before the server's own idle
timeout), and with a clock moved forward (``fake_clock``) where the point is a
decision at acquire or release: the pool and its connections read
``time.monotonic()`` through a module-level name that the fixture replaces with
"the real clock plus an offset", so nothing sleeps and the sweep's real timer stays
far in the future.
"""

from __future__ import annotations

import gc
import time
import weakref
from typing import Any, Dict, List, Tuple

import gevent
import gevent.event
import gevent.socket
import pytest
from conftest import ScriptedServer, ServerConn, keep_alive, open_fds, wait_until

import geventhttpclient
from geventhttpclient import (
    HTTPClient,
    HTTPClientPool,
    PoolClosed,
    Session,
    UserAgent,
    connectionpool,
    ssl_context_cache_info,
)
from geventhttpclient import _connection as connection_module
from geventhttpclient._connection import Connection
from geventhttpclient.connectionpool import ConnectionPool, PoolStatistics

# -- helpers -------------------------------------------------------------------------------


class Counting:
    """A keep-alive server that answers every request with its number on its
    connection, and counts, per connection, the requests and who closed it: the
    client (EOF while the server waited for a request) or the server (its own idle
    timeout, ``idle_timeout`` seconds after a response). ``pad``: spaces after the
    number, so that a response's body is not all there with its head."""

    def __init__(self, server_factory: Any, idle_timeout: float = 0.0, pad: int = 0) -> None:
        self.idle_timeout = idle_timeout
        self.pad = pad
        self.per_connection: List[int] = []  # requests served on each connection, in order
        self.closed_by_client = 0
        self.closed_by_server = 0
        self.server: ScriptedServer = server_factory(self._handle)

    def _handle(self, conn: ServerConn) -> None:
        index = len(self.per_connection)
        self.per_connection.append(0)
        while True:
            timer = gevent.Timeout(self.idle_timeout or None)
            timer.start()
            try:
                req = conn.read_request()
            except gevent.Timeout as exc:
                if exc is not timer:
                    raise
                self.closed_by_server += 1
                return
            finally:
                timer.close()
            if req is None:
                self.closed_by_client += 1
                return
            self.per_connection[index] += 1
            conn.respond(200, str(self.per_connection[index]).encode() + b" " * self.pad)

    @property
    def base(self) -> str:
        return self.server.base

    @property
    def open_connections(self) -> int:
        return self.server.open_connections


class Trace:
    """A trace hook that keeps what it is told."""

    def __init__(self) -> None:
        self.events: List[Tuple[str, Dict[str, Any]]] = []

    def __call__(self, name: str, info: Dict[str, Any]) -> None:
        self.events.append((name, info))

    def count(self, name: str) -> int:
        return sum(1 for n, _ in self.events if n == name)

    def closed(self) -> List[str]:
        return [info["reason"] for n, info in self.events if n == "connection.closed"]


@pytest.fixture
def fake_clock(monkeypatch):
    """``time.monotonic()`` as the pool and its connections see it, plus an offset
    the test moves forward with ``advance(seconds)``."""
    offset = [0.0]
    real = time.monotonic

    def now() -> float:
        return real() + offset[0]

    monkeypatch.setattr(connectionpool, "_monotonic", now)
    monkeypatch.setattr(connection_module, "_monotonic", now)

    def advance(seconds: float) -> None:
        offset[0] += seconds

    return advance


def get(client: HTTPClient, path: str = "/") -> bytes:
    """The body of a GET, without a :class:`Counting` server's padding."""
    return client.get(path).read().rstrip(b" ")  # type: ignore[no-any-return]


# -- keepalive_expiry ------------------------------------------------------------------


def run_idle_timeout_scenario(server_factory: Any, requests: int) -> None:
    """Issue 15's fault scenario: the server closes connections idle for 1 s, the
    client has ``keepalive_expiry=0.8`` and sends a request every 1.2 s. Every
    request must succeed at its first attempt, each on a new connection that the
    client itself closed (after 0.8 s idle), so no request ever races the server's
    close: the server's idle timeout never fires."""
    server = Counting(server_factory, idle_timeout=1.0)
    trace = Trace()
    client = HTTPClient.from_url(server.base, keepalive_expiry=0.8, trace=trace, network_timeout=5)
    errors = []
    try:
        for i in range(requests):
            if i:
                gevent.sleep(1.2)
            try:
                assert get(client) == b"1"
            except Exception as exc:  # noqa: BLE001 - counted, none allowed
                errors.append(f"{i}: {exc!r}")
        stats = client.statistics()
    finally:
        client.close()
    assert errors == []
    # No retry: one acquisition per request, one connection per request, each
    # serving exactly that request; none found closed by the server (discarded).
    assert trace.count("pool.acquire.started") == requests
    assert server.per_connection == [1] * requests
    assert stats.created == requests and stats.reused == 0 and stats.discarded == 0
    assert stats.expired == requests - 1
    assert wait_until(lambda: server.open_connections == 0)
    assert server.closed_by_server == 0  # the client always closed first
    assert server.closed_by_client == requests
    assert trace.closed().count("expired") == requests - 1


@pytest.mark.hub_block_limit(0.5)
def test_server_idle_timeout_1s_keepalive_expiry_08_requests_every_12s(server_factory):
    run_idle_timeout_scenario(server_factory, 5)


@pytest.mark.soak
@pytest.mark.hub_block_limit(0.5)
def test_server_idle_timeout_1s_keepalive_expiry_08_a_thousand_requests(server_factory):
    """The issue's 1,000 requests (20 minutes): ``pytest -m soak -k thousand``."""
    run_idle_timeout_scenario(server_factory, 1000)


def test_idle_connection_is_reused_within_keepalive_expiry_and_not_after(
    server_factory, fake_clock
):
    server = Counting(server_factory)
    trace = Trace()
    with HTTPClient.from_url(server.base, keepalive_expiry=10, trace=trace) as client:
        assert get(client) == b"1"
        fake_clock(9.9)
        assert get(client) == b"2"  # reused: 9.9 s idle
        fake_clock(10.0)
        assert get(client) == b"1"  # a new connection: the idle one expired
        stats = client.statistics()
    assert server.per_connection == [2, 1]
    assert (stats.created, stats.reused, stats.expired, stats.discarded) == (2, 1, 1, 0)
    assert trace.closed()[:1] == ["expired"]


def test_expired_connections_are_closed_oldest_first_when_one_is_taken(server_factory, fake_clock):
    # Three idle connections that went idle at different times: at acquire the
    # expired ones (the stack's bottom) are all closed, the fresh top one is reused.
    server = Counting(server_factory, pad=300_000)
    with HTTPClient.from_url(server.base, concurrency=3, keepalive_expiry=10) as client:
        responses = [client.get("/") for _ in range(3)]  # three connections in use
        assert client.statistics().idle == 0  # (their bodies are still to be read)
        responses[0].read()
        fake_clock(4)
        responses[1].read()
        fake_clock(4)
        responses[2].read()  # idle times now: 8, 4, 0 s
        fake_clock(7)  # 15, 11, 7 s: two expired
        assert get(client) == b"2"
        stats = client.statistics()
        assert (stats.expired, stats.connections, stats.idle) == (2, 1, 1)
    assert wait_until(lambda: server.closed_by_client == 3)


def test_idle_sweep_closes_expired_connections_of_a_quiet_client(server_factory):
    server = Counting(server_factory, pad=300_000)
    trace = Trace()
    with HTTPClient.from_url(server.base, concurrency=2, keepalive_expiry=0.1, trace=trace) as c:
        first, second = c.get("/"), c.get("/")
        first.read()
        second.read()
        assert c.statistics().idle == 2
        # Nobody uses the client again: the sweep closes both, and the server sees it.
        assert wait_until(lambda: server.closed_by_client == 2, timeout=3)
        stats = c.statistics()
        assert (stats.expired, stats.connections, stats.idle) == (2, 0, 0)
        assert wait_until(lambda: trace.closed() == ["expired", "expired"])
        assert get(c) == b"1"  # and the client goes on with a new connection


@pytest.mark.hub_block_limit(2.0)  # gc.collect() on PyPy
def test_idle_sweep_holds_its_pool_weakly(server_factory):
    server = Counting(server_factory)
    client = HTTPClient.from_url(server.base, keepalive_expiry=30, network_timeout=0.2)
    assert get(client) == b"1"  # the sweep is armed, for 30 s from now
    pool = weakref.ref(client._connection_pool)
    del client
    for _ in range(3):
        gc.collect()
    assert pool() is None

    def socket_closed() -> bool:
        # (the connection's own read timer holds it up to network_timeout)
        gc.collect()
        return server.closed_by_client == 1

    assert wait_until(socket_closed, timeout=3)


def test_keepalive_expiry_zero_never_reuses(server_factory):
    server = Counting(server_factory)
    with HTTPClient.from_url(server.base, keepalive_expiry=0) as client:
        for _ in range(3):
            assert get(client) == b"1"
        assert client.statistics().reused == 0


# -- max_connection_age ----------------------------------------------------------------


def test_connection_past_max_age_is_closed_when_it_comes_back_never_mid_response(
    server_factory, fake_clock
):
    body = b"x" * 200_000

    def respond(conn: ServerConn, req: Dict[str, Any]) -> None:
        conn.respond(200, body)

    server = server_factory(keep_alive(respond))
    trace = Trace()
    with HTTPClient.from_url(server.base, max_connection_age=60, trace=trace) as client:
        response = client.get("/")
        part = response.read(1000)
        fake_clock(61)  # the connection ages out while its response is being read
        assert part + response.read() == body  # the whole body: never cut
        stats = client.statistics()
        assert (stats.aged_out, stats.connections, stats.idle) == (1, 0, 0)
        assert get(client) == body
        assert client.statistics().created == 2
    assert trace.closed()[:1] == ["aged_out"]


def test_idle_connection_past_max_age_is_not_reused(server_factory, fake_clock):
    server = Counting(server_factory)
    with HTTPClient.from_url(server.base, max_connection_age=60) as client:
        assert get(client) == b"1"
        fake_clock(30)
        assert get(client) == b"2"  # 30 s old: reused
        fake_clock(30)
        assert get(client) == b"1"  # 60 s old when taken: replaced
        stats = client.statistics()
    assert (stats.aged_out, stats.created, stats.expired) == (1, 2, 0)


# -- max_requests_per_connection -------------------------------------------------------


def test_max_requests_per_connection_closes_it_as_its_last_response_ends(server_factory):
    server = Counting(server_factory)
    trace = Trace()
    with HTTPClient.from_url(server.base, max_requests_per_connection=3, trace=trace) as client:
        answers = [get(client) for _ in range(7)]
        stats = client.statistics()
    assert answers == [b"1", b"2", b"3", b"1", b"2", b"3", b"1"]
    assert server.per_connection == [3, 3, 1]
    assert (stats.retired, stats.created, stats.reused, stats.discarded) == (2, 3, 4, 0)
    assert trace.closed()[:2] == ["max_requests", "max_requests"]


def test_max_requests_per_connection_one_is_a_connection_per_request(server_factory):
    server = Counting(server_factory)
    with HTTPClient.from_url(server.base, max_requests_per_connection=1) as client:
        for _ in range(3):
            assert get(client) == b"1"
            assert client.statistics().connections == 0  # closed on release
    assert wait_until(lambda: server.closed_by_client == 3)


# -- reset() ---------------------------------------------------------------------------


def test_reset_closes_idle_now_and_busy_when_released(server_factory):
    server = Counting(server_factory, pad=300_000)
    trace = Trace()
    with HTTPClient.from_url(server.base, concurrency=3, trace=trace) as client:
        busy = client.get("/")  # its body not read yet: the connection stays lent
        idle = [client.get("/"), client.get("/")]
        for response in idle:
            response.read()
        assert (client.statistics().idle, client.statistics().active) == (2, 1)
        client.reset()
        stats = client.statistics()
        assert (stats.reset, stats.idle, stats.connections, stats.closed) == (2, 0, 1, False)
        assert wait_until(lambda: server.closed_by_client == 2)
        assert busy.read().rstrip() == b"1"  # in flight: finishes
        stats = client.statistics()
        assert (stats.reset, stats.connections) == (3, 0)
        assert wait_until(lambda: server.closed_by_client == 3)
        assert get(client) == b"1"  # a new connection, the client still open
        assert get(client) == b"2"  # kept alive again: the reset is over
        assert client.statistics().reset == 3
    assert trace.closed()[:3] == ["reset"] * 3


def test_reset_keeps_the_pool_its_waiters_and_its_ssl_context(
    server_factory, server_ssl_context, ca_file
):
    def respond(conn: ServerConn, req: Dict[str, Any]) -> None:
        conn.respond(200, b"ok" + b" " * 300_000)  # not all there with the head

    server = server_factory(keep_alive(respond), ssl_context=server_ssl_context)
    with HTTPClient.from_url(server.base, ssl_options={"ca_certs": ca_file}) as client:
        pool = client._connection_pool
        context = pool.ssl_context
        first = client.get("/")  # the only connection, lent
        waiter = gevent.spawn(get, client)
        gevent.sleep(0)
        assert client.statistics().waiting == 1
        before = ssl_context_cache_info()
        client.reset()
        assert first.read().rstrip() == b"ok"  # released: closed; the waiter connects anew
        assert waiter.get(timeout=5).rstrip() == b"ok"
        assert client._connection_pool is pool and pool.ssl_context is context
        assert ssl_context_cache_info().misses == before.misses  # no CA bundle read
        stats = client.statistics()
        assert (stats.reset, stats.created, stats.reused) == (1, 2, 0)


def test_reset_closes_a_connection_being_made_when_it_comes_back():
    made = gevent.event.Event()
    go = gevent.event.Event()
    peers = []

    def factory() -> Connection:
        made.set()
        go.wait()
        ours, theirs = gevent.socket.socketpair()
        peers.append(theirs)
        return Connection(ours)

    pool = ConnectionPool(factory, 2)
    try:
        taker = gevent.spawn(pool.acquire)
        made.wait(5)
        pool.reset()  # while the factory runs
        go.set()
        conn = taker.get(timeout=5)
        pool.release(conn)
        stats = pool.statistics()
        assert (stats.reset, stats.connections, stats.idle) == (1, 0, 0)
        later = pool.acquire()
        pool.release(later)
        assert pool.statistics().idle == 1  # made after the reset: kept
    finally:
        pool.close()
        for peer in peers:
            peer.close()


def test_reset_of_a_closed_pool_does_nothing(server_factory):
    server = Counting(server_factory)
    client = HTTPClient.from_url(server.base)
    get(client)
    client.close()
    client.reset()
    assert client.statistics().closed
    with pytest.raises(PoolClosed):
        get(client)


# -- the pool's arguments and statistics -----------------------------------------------


@pytest.mark.parametrize(
    "kw",
    [
        {"keepalive_expiry": -1},
        {"max_connection_age": float("nan")},
        {"max_requests_per_connection": 0},
    ],
)
def test_limits_are_checked(kw):
    with pytest.raises(ValueError):
        ConnectionPool(lambda: None, 1, **kw)
    with pytest.raises(ValueError):
        HTTPClient("127.0.0.1", **kw)


def test_statistics_keep_their_positional_fields():
    stats = PoolStatistics(1, 1, 1, 0, 0, 1, 0, 0, False)
    assert (stats.expired, stats.aged_out, stats.retired, stats.reset) == (0, 0, 0, 0)


def test_no_limit_means_connections_live_on(server_factory, fake_clock):
    server = Counting(server_factory)
    with HTTPClient.from_url(server.base) as client:
        for i in range(5):
            assert get(client) == str(i + 1).encode()
            fake_clock(3600)
        stats = client.statistics()
    assert (stats.expired, stats.aged_out, stats.retired, stats.reset) == (0, 0, 0, 0)


def test_a_trace_hook_raising_on_a_lifecycle_close_leaks_no_slot(server_factory, fake_clock):
    server = Counting(server_factory)
    failing = [True]

    def trace(name: str, info: Dict[str, Any]) -> None:
        if name == "connection.closed" and failing[0]:
            raise RuntimeError("hook")

    with HTTPClient.from_url(server.base, keepalive_expiry=10, trace=trace) as client:
        assert get(client) == b"1"
        fake_clock(11)
        with pytest.raises(RuntimeError):
            get(client)  # the expired connection was closed, then the hook raised
        stats = client.statistics()
        assert (stats.connections, stats.expired, stats.active) == (0, 1, 0)
        failing[0] = False
        assert get(client) == b"1"


# -- pass-through ----------------------------------------------------------------------


@pytest.mark.parametrize("face", ["HTTPClientPool", "UserAgent", "Session"])
def test_keepalive_expiry_reaches_the_pool_through_every_face(server_factory, face):
    server = Counting(server_factory)
    url = server.base + "/"
    kw = {"keepalive_expiry": 0.05}
    if face == "HTTPClientPool":
        agent: Any = HTTPClientPool(**kw)
        assert agent.get_client(url).get("/").read() == b"1"
    elif face == "UserAgent":
        agent = UserAgent(**kw)
        assert agent.urlopen(url).content == b"1"
    else:
        agent = Session(**kw)
        assert agent.get(url).content == b"1"
    try:
        # Idle, never used again: the sweep closes it (without the keyword it stays).
        assert wait_until(lambda: server.closed_by_client == 1, timeout=3)
    finally:
        agent.close()


# -- HTTPClientPool(max_clients=...) ------------------------------------------------------


def test_client_pool_is_least_recently_used(server_factory):
    server = Counting(server_factory)
    pool = HTTPClientPool(max_clients=2, proxy_host="127.0.0.1", proxy_port=server.server.port)
    try:
        a = pool.get_client("http://a.test/")
        b = pool.get_client("http://b.test/")
        assert get(a) == b"1" and get(b) == b"1"
        assert pool.get_client("http://a.test/x") is a  # a hit: a is the most recent
        c = pool.get_client("http://c.test/")  # evicts b, the least recently used
        assert list(pool.clients) == [("http", "a.test", 80), ("http", "c.test", 80)]
        assert b.statistics().closed and not a.statistics().closed
        assert pool.evicted == 1
        assert wait_until(lambda: server.closed_by_client == 1)  # b's idle connection
        assert pool.get_client("http://b.test/") is not b  # a new client
        assert get(c) == b"1"
    finally:
        pool.close()


def test_evicted_client_finishes_its_requests_in_flight(server_factory):
    server = Counting(server_factory, pad=300_000)
    pool = HTTPClientPool(max_clients=1, proxy_host="127.0.0.1", proxy_port=server.server.port)
    try:
        response = pool.get_client("http://a.test/").get("/")
        assert get(pool.get_client("http://b.test/")) == b"1"  # a is retired meanwhile
        assert response.read().rstrip() == b"1"
        assert wait_until(lambda: server.closed_by_client == 1)  # a's, once its body ended
    finally:
        pool.close()


def test_a_client_with_waiting_greenlets_is_not_evicted(server_factory):
    server = Counting(server_factory, pad=300_000)
    pool = HTTPClientPool(max_clients=1, proxy_host="127.0.0.1", proxy_port=server.server.port)
    try:
        a = pool.get_client("http://a.test/")
        held = a.get("/")
        waiter = gevent.spawn(get, a)  # waits: a has one connection, lent
        gevent.sleep(0)
        b = pool.get_client("http://b.test/")  # a is passed over, the cap exceeded
        assert len(pool.clients) == 2 and not a.statistics().closed
        assert held.read().rstrip() == b"1"
        assert waiter.get(timeout=5) == b"2"
        pool.get_client("http://c.test/")  # a and b have no waiters now: both go
        assert list(pool.clients) == [("http", "c.test", 80)]
        assert b.statistics().closed and a.statistics().closed
    finally:
        pool.close()


def distinct_hosts_through_max_clients_100(server_factory: Any, hosts: int) -> None:
    # Distinct origins (h0.test, h1.test, ...), each a client of its own, all reached
    # through one plain HTTP proxy on loopback (our server answers every request
    # itself): no name is looked up, every client really connects.
    server = Counting(server_factory)
    pool = HTTPClientPool(max_clients=100, proxy_host="127.0.0.1", proxy_port=server.server.port)
    before = open_fds()
    peak_fds = peak_clients = 0
    try:
        for i in range(hosts):
            assert get(pool.get_client(f"http://h{i}.test/")) == b"1"
            peak_clients = max(peak_clients, len(pool.clients))
            if i % 50 == 0:
                peak_fds = max(peak_fds, open_fds() - before)
        assert peak_clients == 100 and pool.evicted == hosts - 100
        assert server.per_connection == [1] * hosts
        # Each live client holds one idle connection, and the server one socket per
        # connection: 200 descriptors, plus the server's closes not yet run.
        assert peak_fds <= 2 * 100 + 20, peak_fds
        assert wait_until(lambda: server.open_connections == 100)
        assert sum(c.statistics().connections for c in pool.clients.values()) == 100
    finally:
        pool.close()
    assert wait_until(lambda: server.open_connections == 0)


@pytest.mark.hub_block_limit(1.0)
def test_two_thousand_hosts_through_max_clients_100_keep_descriptors_bounded(server_factory):
    distinct_hosts_through_max_clients_100(server_factory, 2_000)


@pytest.mark.soak
@pytest.mark.hub_block_limit(1.0)
def test_ten_thousand_hosts_through_max_clients_100_keep_descriptors_bounded(server_factory):
    """The issue's 10,000 hosts (10-30 s: a new connection per host)."""
    distinct_hosts_through_max_clients_100(server_factory, 10_000)


def test_client_pool_reset_resets_every_client(server_factory):
    server = Counting(server_factory)
    pool = HTTPClientPool(proxy_host="127.0.0.1", proxy_port=server.server.port)
    try:
        clients = [pool.get_client(f"http://{name}.test/") for name in "abc"]
        for client in clients:
            get(client)
        pool.reset()
        assert [c.statistics().reset for c in clients] == [1, 1, 1]
        assert wait_until(lambda: server.closed_by_client == 3)
        assert [pool.get_client(f"http://{n}.test/") for n in "abc"] == clients
    finally:
        pool.close()


def test_max_clients_is_checked():
    with pytest.raises(ValueError):
        HTTPClientPool(max_clients=0)


# -- shared SSL contexts -------------------------------------------------------------------


def test_two_thousand_clients_with_one_setting_make_one_context(
    server_factory, server_ssl_context, ca_file
):
    def respond(conn: ServerConn, req: Dict[str, Any]) -> None:
        conn.respond(200, b"ok")

    server = server_factory(keep_alive(respond), ssl_context=server_ssl_context)
    before = ssl_context_cache_info()
    clients = [
        HTTPClient.from_url(server.base, ssl_options={"ca_certs": ca_file}) for _ in range(2000)
    ]
    after = ssl_context_cache_info()
    assert after.misses - before.misses == 1
    assert after.hits - before.hits == 1999
    # one more, unless earlier tests filled the cache (it keeps the most recent 32)
    assert after.size == min(before.size + 1, 32)
    assert len({id(c._connection_pool.ssl_context) for c in clients}) == 1
    try:
        assert get(clients[0]) == b"ok" and get(clients[-1]) == b"ok"
    finally:
        for client in clients:
            client.close()


def test_different_tls_settings_never_share_a_context(tls_ca, ca_file, tmp_path):
    other_ca = tmp_path / "other-ca.pem"
    other_ca.write_bytes(open(ca_file, "rb").read())  # the same CA, another file
    cert = tmp_path / "client.pem"
    tls_ca.issue_cert("client.test").private_key_and_cert_chain_pem.write_to_path(str(cert))

    def factory(**kw: Any) -> Any:
        import gevent.ssl

        return gevent.ssl.create_default_context(**kw)

    settings: Dict[str, Dict[str, Any]] = {
        "ca": {"ssl_options": {"ca_certs": ca_file}},
        "other ca file": {"ssl_options": {"ca_certs": str(other_ca)}},
        "client cert": {"ssl_options": {"ca_certs": ca_file, "certfile": str(cert)}},
        "insecure": {"ssl_options": {"ca_certs": ca_file}, "insecure": True},
        "factory": {"ssl_options": {"ca_certs": ca_file}, "ssl_context_factory": factory},
    }
    contexts = {}
    for name, kw in settings.items():
        before = ssl_context_cache_info()
        one, two = (HTTPClient("127.0.0.1", ssl=True, **kw) for _ in range(2))
        after = ssl_context_cache_info()
        ctx = one._connection_pool.ssl_context
        contexts[name] = ctx
        if name == "factory":
            # A context of its own per client, outside the cache: the factory may
            # return anything, and its caller may change what it returned.
            assert two._connection_pool.ssl_context is not ctx
            assert after == before
        else:
            assert two._connection_pool.ssl_context is ctx  # the same setting: shared
            assert (after.misses - before.misses, after.hits - before.hits) == (1, 1)
    assert len({id(c) for c in contexts.values()}) == len(settings)
    assert not contexts["insecure"].check_hostname
    assert contexts["ca"].check_hostname


def test_context_cache_is_bounded_least_recently_used_first(tls_ca, ca_file, tmp_path):
    from geventhttpclient import _net

    keep = HTTPClient("127.0.0.1", ssl=True, ssl_options={"ca_certs": ca_file})
    for i in range(_net._CONTEXT_CACHE_SIZE + 8):
        path = tmp_path / f"ca{i}.pem"
        path.write_bytes(open(ca_file, "rb").read())
        HTTPClient("127.0.0.1", ssl=True, ssl_options={"ca_certs": str(path)})
        # the first client's setting, used again: it stays among the recent ones
        before = ssl_context_cache_info()
        again = HTTPClient("127.0.0.1", ssl=True, ssl_options={"ca_certs": ca_file})
        assert ssl_context_cache_info().hits == before.hits + 1
        assert again._connection_pool.ssl_context is keep._connection_pool.ssl_context
    assert ssl_context_cache_info().size == _net._CONTEXT_CACHE_SIZE


def test_ssl_context_cache_info_is_exported():
    info = geventhttpclient.ssl_context_cache_info()
    assert info == (info.hits, info.misses, info.size)
    assert "ssl_context_cache_info" in geventhttpclient.__all__
