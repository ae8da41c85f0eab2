"""The DNS cache (``geventhttpclient._dns``) and the connect-time options around it:
``dns_cache=``, ``resolve=`` (curl's ``--resolve``) and ``source_address=``.

The unit tests drive ``DNSCache`` with a fake lookup (it counts calls, can be held
on an Event, can fail) and a fake clock, so no test waits for a TTL to run out.
The end-to-end tests use made-up names answered by such a fake, and servers bound to
127.0.0.2 and 127.0.0.1 (Linux answers all of 127/8 on loopback).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
from typing import Any, Dict, List, Optional

import gevent
import gevent.event
import gevent.socket
import gevent.ssl
import pytest
from conftest import ServerConn, keep_alive

import geventhttpclient
from geventhttpclient import DNSCache, HTTPClient, HTTPClientPool, dns_cache_info
from geventhttpclient._dns import DNSCacheInfo, default_cache
from geventhttpclient.exceptions import CertificateVerifyError, DNSError

NONAME = socket.gaierror(socket.EAI_NONAME, "Name or service not known")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeResolver:
    """A getaddrinfo answering every name with ``address``, or raising ``error``;
    ``gate`` (when given) holds each lookup until it is set."""

    def __init__(
        self,
        address: str = "127.0.0.1",
        error: Optional[BaseException] = None,
        gate: Optional[gevent.event.Event] = None,
        names: Optional[List[str]] = None,
    ) -> None:
        self.address = address
        self.error = error
        self.gate = gate
        self.names = names  # only these resolve; None: every name
        self.calls: List[tuple] = []
        self.started = gevent.event.Event()

    def __call__(self, host: str, port: Any, *args: int) -> List[tuple]:
        family, socktype, proto, flags = (tuple(args) + (0, 0, 0, 0))[:4]
        self.calls.append((host, port, family, socktype, proto, flags))
        self.started.set()
        if self.gate is not None:
            self.gate.wait()
        if self.error is not None:
            raise self.error
        if self.names is not None and host not in self.names:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (self.address, port))]


def lookup(cache: DNSCache, host: str = "a.example.test", port: int = 80) -> List[tuple]:
    return cache.getaddrinfo(host, port, socket.AF_UNSPEC, socket.SOCK_STREAM)


# -- hits, misses, size ----------------------------------------------------------------


def test_second_lookup_of_a_name_is_answered_from_the_cache():
    fake = FakeResolver()
    cache = DNSCache(getaddrinfo=fake)
    first = lookup(cache)
    second = lookup(cache)
    assert (
        first
        == second
        == [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", ("127.0.0.1", 80))]
    )
    assert fake.calls == [("a.example.test", 80, socket.AF_UNSPEC, socket.SOCK_STREAM, 0, 0)]
    assert cache.info() == DNSCacheInfo(hits=1, misses=1, size=1)
    assert cache.info().hits == 1 and isinstance(cache.info(), tuple)


def test_a_caller_changing_its_answer_does_not_change_the_cached_one():
    cache = DNSCache(getaddrinfo=FakeResolver())
    lookup(cache).clear()
    assert len(lookup(cache)) == 1


def test_each_argument_of_getaddrinfo_is_part_of_the_key():
    fake = FakeResolver()
    cache = DNSCache(getaddrinfo=fake)
    lookup(cache, "a.example.test", 80)
    lookup(cache, "a.example.test", 443)
    lookup(cache, "b.example.test", 80)
    cache.getaddrinfo("a.example.test", 80, socket.AF_INET, socket.SOCK_STREAM)
    cache.getaddrinfo("a.example.test", 80, socket.AF_UNSPEC, socket.SOCK_DGRAM)
    assert len(fake.calls) == 5
    assert cache.info() == DNSCacheInfo(hits=0, misses=5, size=5)


def test_default_lookup_is_gevents_getaddrinfo_looked_up_at_each_call(monkeypatch):
    fake = FakeResolver(address="127.0.0.9")
    cache = DNSCache()
    monkeypatch.setattr(gevent.socket, "getaddrinfo", fake)
    assert lookup(cache)[0][4] == ("127.0.0.9", 80)
    assert len(fake.calls) == 1


def test_a_real_lookup_of_localhost_returns_what_gevent_returns():
    cache = DNSCache()
    expected = gevent.socket.getaddrinfo("localhost", 80, socket.AF_INET, socket.SOCK_STREAM)
    assert cache.getaddrinfo("localhost", 80, socket.AF_INET, socket.SOCK_STREAM) == expected
    assert cache.getaddrinfo("localhost", 80, socket.AF_INET, socket.SOCK_STREAM) == expected
    assert cache.info() == DNSCacheInfo(hits=1, misses=1, size=1)


@pytest.mark.parametrize(
    "kw", [{"ttl": -1}, {"negative_ttl": -0.5}, {"max_size": -1}], ids=lambda kw: next(iter(kw))
)
def test_negative_settings_are_refused(kw):
    with pytest.raises(ValueError):
        DNSCache(**kw)


# -- TTL -------------------------------------------------------------------------------


def test_an_answer_is_kept_for_ttl_seconds_then_looked_up_again():
    clock = FakeClock()
    fake = FakeResolver()
    cache = DNSCache(ttl=30.0, getaddrinfo=fake, clock=clock)
    lookup(cache)
    clock.now += 29.9
    lookup(cache)
    assert len(fake.calls) == 1
    clock.now += 0.1
    fake.address = "127.0.0.7"
    assert lookup(cache)[0][4][0] == "127.0.0.7"
    assert len(fake.calls) == 2
    assert cache.info() == DNSCacheInfo(hits=1, misses=2, size=1)


def test_the_default_ttl_is_sixty_seconds_and_failures_five():
    cache = DNSCache()
    assert (cache.ttl, cache.negative_ttl, cache.max_size) == (60.0, 5.0, 1024)


def test_ttl_zero_keeps_no_answer():
    fake = FakeResolver()
    cache = DNSCache(ttl=0, getaddrinfo=fake)
    lookup(cache)
    lookup(cache)
    assert len(fake.calls) == 2
    assert cache.info() == DNSCacheInfo(hits=0, misses=2, size=0)


# -- negative caching ------------------------------------------------------------------


def test_a_failed_lookup_is_raised_again_without_a_lookup_until_negative_ttl():
    clock = FakeClock()
    fake = FakeResolver(error=NONAME)
    cache = DNSCache(negative_ttl=5.0, getaddrinfo=fake, clock=clock)
    with pytest.raises(socket.gaierror) as first:
        lookup(cache)
    clock.now += 4.9
    with pytest.raises(socket.gaierror) as second:
        lookup(cache)
    assert len(fake.calls) == 1
    # an equal error, but a new one each time: a shared instance would collect the
    # tracebacks of every caller that raised it
    assert second.value is not first.value
    assert (second.value.errno, second.value.strerror) == (socket.EAI_NONAME, NONAME.strerror)
    with pytest.raises(socket.gaierror) as third:
        lookup(cache)
    assert third.value is not second.value
    assert cache.info() == DNSCacheInfo(hits=2, misses=1, size=1)

    clock.now += 0.1
    fake.error = None
    assert lookup(cache)[0][4] == ("127.0.0.1", 80)
    assert len(fake.calls) == 2


def test_negative_ttl_zero_keeps_no_failure():
    fake = FakeResolver(error=NONAME)
    cache = DNSCache(negative_ttl=0, getaddrinfo=fake)
    for _ in range(2):
        with pytest.raises(socket.gaierror):
            lookup(cache)
    assert len(fake.calls) == 2
    assert cache.info().size == 0


def test_errors_other_than_gaierror_are_not_cached():
    fake = FakeResolver(error=OSError(24, "Too many open files"))
    cache = DNSCache(getaddrinfo=fake)
    for _ in range(2):
        with pytest.raises(OSError) as info:
            lookup(cache)
        assert info.value.errno == 24
    assert len(fake.calls) == 2
    assert cache.info().size == 0


# -- concurrent lookups of one key -----------------------------------------------------


def test_fifty_greenlets_asking_for_one_name_make_one_lookup():
    gate = gevent.event.Event()
    fake = FakeResolver(gate=gate)
    cache = DNSCache(getaddrinfo=fake)
    greenlets = [gevent.spawn(lookup, cache) for _ in range(50)]
    gevent.idle()  # every greenlet has asked and is waiting
    assert len(fake.calls) == 1
    gate.set()
    gevent.joinall(greenlets, timeout=5, raise_error=True)
    answers = [g.value for g in greenlets]
    assert all(a == answers[0] for a in answers)
    assert len({id(a) for a in answers}) == 50  # each caller its own list
    assert len(fake.calls) == 1
    assert cache.info() == DNSCacheInfo(hits=49, misses=1, size=1)


def test_a_failed_lookup_fails_every_waiter_with_its_own_equal_error():
    gate = gevent.event.Event()
    fake = FakeResolver(error=NONAME, gate=gate)
    cache = DNSCache(getaddrinfo=fake)
    greenlets = [gevent.spawn(lookup, cache) for _ in range(10)]
    gevent.idle()
    gate.set()
    gevent.joinall(greenlets, timeout=5)
    errors = [g.exception for g in greenlets]
    assert all(isinstance(e, socket.gaierror) for e in errors), errors
    assert all(e.errno == socket.EAI_NONAME for e in errors)  # type: ignore[union-attr]
    assert len({id(e) for e in errors}) == 10
    assert len(fake.calls) == 1


def test_waiters_of_a_killed_lookup_ask_again_and_get_an_answer():
    never = gevent.event.Event()
    fake = FakeResolver(gate=never)
    cache = DNSCache(getaddrinfo=fake)
    owner = gevent.spawn(lookup, cache)
    fake.started.wait(timeout=5)
    waiters = [gevent.spawn(lookup, cache) for _ in range(10)]
    gevent.idle()
    assert len(fake.calls) == 1

    fake.gate = None  # the next lookup answers at once
    owner.kill()
    gevent.joinall(waiters, timeout=5, raise_error=True)
    assert all(g.successful() for g in waiters)
    assert all(g.value[0][4] == ("127.0.0.1", 80) for g in waiters)
    assert len(fake.calls) == 2  # one waiter took over; the other nine waited for it
    assert cache.info() == DNSCacheInfo(hits=9, misses=2, size=1)


def test_a_lookup_cut_by_its_callers_timeout_gives_the_waiters_no_timeout():
    never = gevent.event.Event()
    fake = FakeResolver(gate=never)
    cache = DNSCache(getaddrinfo=fake)
    timeout = gevent.Timeout(10)

    def impatient() -> Any:
        with timeout:
            return lookup(cache)

    owner = gevent.spawn(impatient)
    fake.started.wait(timeout=5)
    waiters = [gevent.spawn(lookup, cache) for _ in range(3)]
    gevent.idle()
    fake.gate = None
    owner.kill(timeout)  # its own Timeout fires (without waiting ten seconds)
    gevent.joinall(waiters, timeout=5)
    assert owner.exception is timeout
    assert [type(g.exception) for g in waiters] == [type(None)] * 3
    assert all(g.value[0][4] == ("127.0.0.1", 80) for g in waiters)


def test_a_waiter_can_give_up_without_disturbing_the_lookup():
    gate = gevent.event.Event()
    fake = FakeResolver(gate=gate)
    cache = DNSCache(getaddrinfo=fake)
    owner = gevent.spawn(lookup, cache)
    fake.started.wait(timeout=5)
    quitter = gevent.spawn(lookup, cache)
    gevent.idle()
    quitter.kill()
    gate.set()
    assert owner.get(timeout=5)[0][4] == ("127.0.0.1", 80)
    assert len(fake.calls) == 1


# -- bounded size ----------------------------------------------------------------------


def test_the_least_recently_used_name_is_dropped_beyond_max_size():
    fake = FakeResolver()
    cache = DNSCache(max_size=3, getaddrinfo=fake)
    for name in ("a", "b", "c"):
        lookup(cache, name)
    lookup(cache, "a")  # "a" is now the most recently used: "b" goes first
    lookup(cache, "d")
    assert cache.info().size == 3
    calls = len(fake.calls)
    lookup(cache, "a")
    lookup(cache, "c")
    lookup(cache, "d")
    assert len(fake.calls) == calls  # kept
    lookup(cache, "b")
    assert len(fake.calls) == calls + 1  # dropped, looked up again
    assert cache.info().size == 3


def test_ten_thousand_names_keep_max_size_entries():
    cache = DNSCache(max_size=100, getaddrinfo=FakeResolver())
    for i in range(10_000):
        lookup(cache, f"h{i}.example.test")
    assert cache.info() == DNSCacheInfo(hits=0, misses=10_000, size=100)


def test_max_size_zero_keeps_nothing_but_still_makes_one_lookup_for_many():
    gate = gevent.event.Event()
    fake = FakeResolver(gate=gate)
    cache = DNSCache(max_size=0, getaddrinfo=fake)
    greenlets = [gevent.spawn(lookup, cache) for _ in range(5)]
    gevent.idle()
    gate.set()
    gevent.joinall(greenlets, timeout=5, raise_error=True)
    assert len(fake.calls) == 1
    assert cache.info() == DNSCacheInfo(hits=4, misses=1, size=0)


# -- clear, repr, the default cache ----------------------------------------------------


def test_clear_drops_entries_and_counters():
    fake = FakeResolver()
    cache = DNSCache(getaddrinfo=fake)
    lookup(cache)
    lookup(cache)
    cache.clear()
    assert cache.info() == DNSCacheInfo(hits=0, misses=0, size=0)
    lookup(cache)
    assert len(fake.calls) == 2


def test_a_lookup_in_flight_during_clear_answers_but_stores_nothing():
    gate = gevent.event.Event()
    fake = FakeResolver(gate=gate)
    cache = DNSCache(getaddrinfo=fake)
    g = gevent.spawn(lookup, cache)
    fake.started.wait(timeout=5)
    cache.clear()
    gate.set()
    assert g.get(timeout=5)[0][4] == ("127.0.0.1", 80)
    assert cache.info().size == 0


def test_repr_tells_the_state():
    cache = DNSCache(max_size=8, getaddrinfo=FakeResolver())
    lookup(cache)
    lookup(cache)
    assert repr(cache).startswith("<DNSCache size=1/8 in_flight=0 hits=1 misses=1")


def test_the_default_cache_is_one_object_per_thread():
    assert default_cache() is default_cache()
    assert dns_cache_info() == default_cache().info()
    assert geventhttpclient.dns_cache_info is dns_cache_info
    assert {"DNSCache", "dns_cache_info"} <= set(geventhttpclient.__all__)

    import threading

    seen: List[DNSCache] = []
    t = threading.Thread(target=lambda: seen.append(default_cache()))
    t.start()
    t.join()
    assert seen and seen[0] is not default_cache()


@pytest.mark.skipif(not hasattr(__import__("os"), "register_at_fork"), reason="no fork hooks")
def test_a_forked_child_starts_with_an_empty_default_cache():
    script = textwrap.dedent(
        """
        import os, socket
        import gevent.socket
        from geventhttpclient._dns import default_cache

        def fake(host, port, *args):
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

        gevent.socket.getaddrinfo = fake  # no resolver thread pool before the fork
        cache = default_cache()
        cache.getaddrinfo("a.example.test", 80)
        assert default_cache().info().size == 1
        pid = os.fork()
        if pid == 0:
            ok = default_cache() is not cache and default_cache().info().size == 0
            os._exit(0 if ok else 7)
        _, status = os.waitpid(pid, 0)
        assert default_cache() is cache and cache.info().size == 1
        print(os.waitstatus_to_exitcode(status) if hasattr(os, "waitstatus_to_exitcode")
              else status >> 8)
        """
    )
    # The stdlib's subprocess in gevent's thread pool: gevent.subprocess would fork this
    # multi-threaded process with os.fork() (a DeprecationWarning on 3.12).
    out = gevent.get_hub().threadpool.apply(
        subprocess.run,
        ([sys.executable, "-c", script],),
        {"capture_output": True, "text": True, "timeout": 60},
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "0"


# -- end to end: dns_cache=, resolve=, source_address= ---------------------------------


def hello(conn: ServerConn, req: Dict[str, Any]) -> None:
    conn.respond(200, b"hello")


def hello_and_close(conn: ServerConn, req: Dict[str, Any]) -> None:
    conn.respond(200, b"hello", [("Connection", "close")])


def test_a_client_with_a_cache_connects_to_the_cached_address(server_factory):
    server = server_factory(keep_alive(hello_and_close))
    fake = FakeResolver(names=["api.example.test"])
    cache = DNSCache(getaddrinfo=fake)
    client = HTTPClient("api.example.test", server.port, dns_cache=cache)
    try:
        for _ in range(3):  # the server closes each connection: three connects
            assert client.get("/").read() == b"hello"
    finally:
        client.close()
    assert server.connections == 3
    assert [r["headers"]["host"] for r in server.requests] == [
        [f"api.example.test:{server.port}"]
    ] * 3
    assert len(fake.calls) == 1
    assert cache.info() == DNSCacheInfo(hits=2, misses=1, size=1)


def test_two_clients_sharing_a_cache_look_a_name_up_once(server_factory):
    server = server_factory(keep_alive(hello))
    fake = FakeResolver()
    cache = DNSCache(getaddrinfo=fake)
    for _ in range(2):
        with HTTPClient("api.example.test", server.port, dns_cache=cache) as client:
            assert client.get("/").status_code == 200
    assert len(fake.calls) == 1


def test_a_name_that_does_not_resolve_is_a_dns_error_and_cached(server_factory):
    fake = FakeResolver(error=NONAME)
    cache = DNSCache(getaddrinfo=fake)
    client = HTTPClient("nowhere.example.test", 80, dns_cache=cache)
    try:
        for _ in range(2):
            with pytest.raises(DNSError):
                client.get("/")
    finally:
        client.close()
    assert len(fake.calls) == 1


def test_a_bare_client_uses_no_cache(server_factory, monkeypatch):
    server = server_factory(keep_alive(hello_and_close))
    fake = FakeResolver()
    monkeypatch.setattr(gevent.socket, "getaddrinfo", fake)
    before = dns_cache_info()
    client = HTTPClient("bare.example.test", server.port)
    try:
        client.get("/").read()
        client.get("/").read()
    finally:
        client.close()
    assert len(fake.calls) == 2
    assert dns_cache_info() == before


def test_dns_cache_true_is_the_default_cache(server_factory, monkeypatch):
    server = server_factory(keep_alive(hello_and_close))
    fake = FakeResolver()
    monkeypatch.setattr(gevent.socket, "getaddrinfo", fake)
    before = dns_cache_info()
    with HTTPClient("true.example.test", server.port, dns_cache=True) as client:
        client.get("/").read()
        client.get("/").read()
    after = dns_cache_info()
    assert len(fake.calls) == 1
    assert (after.misses - before.misses, after.hits - before.hits) == (1, 1)


def _agents() -> List[Any]:
    from geventhttpclient.requests import Session
    from geventhttpclient.useragent import UserAgent

    return [
        pytest.param(lambda: HTTPClientPool(), "pool", id="HTTPClientPool"),
        pytest.param(lambda: UserAgent(), "useragent", id="UserAgent"),
        # Session makes its HTTPClients itself (Session._new_client), with the
        # same default
        pytest.param(lambda: Session(), "session", id="Session"),
    ]


@pytest.mark.parametrize("make, kind", _agents())
def test_pool_useragent_and_session_use_the_default_cache(server_factory, monkeypatch, make, kind):
    server = server_factory(keep_alive(hello_and_close))
    fake = FakeResolver()
    monkeypatch.setattr(gevent.socket, "getaddrinfo", fake)
    url = f"http://{kind}.example.test:{server.port}/"
    agent = make()
    try:
        before = dns_cache_info()
        for _ in range(2):  # the server closes each connection: the second one is new
            if kind == "pool":
                agent.get_client(url).get("/").read()
            elif kind == "useragent":
                agent.urlopen(url).read()
            else:
                agent.get(url)
        after = dns_cache_info()
    finally:
        agent.close()
    assert server.connections == 2
    assert len(fake.calls) == 1
    assert (after.misses - before.misses, after.hits - before.hits) == (1, 1)


def test_an_agent_told_dns_cache_false_looks_every_connection_up(server_factory, monkeypatch):
    from geventhttpclient.useragent import UserAgent

    server = server_factory(keep_alive(hello_and_close))
    fake = FakeResolver()
    monkeypatch.setattr(gevent.socket, "getaddrinfo", fake)
    before = dns_cache_info()
    with UserAgent(dns_cache=False) as agent:
        for _ in range(2):
            agent.urlopen(f"http://off.example.test:{server.port}/").read()
    assert len(fake.calls) == 2
    assert dns_cache_info() == before


def test_an_agent_given_its_own_cache_uses_it(server_factory):
    from geventhttpclient.useragent import UserAgent

    server = server_factory(keep_alive(hello_and_close))
    cache = DNSCache(getaddrinfo=FakeResolver())
    before = dns_cache_info()
    with UserAgent(dns_cache=cache) as agent:
        for _ in range(2):
            agent.urlopen(f"http://own.example.test:{server.port}/").read()
    assert cache.info() == DNSCacheInfo(hits=1, misses=1, size=1)
    assert dns_cache_info() == before


@pytest.mark.parametrize("form", ["host:port", "host"])
def test_resolve_connects_to_the_given_address_and_keeps_the_name_in_host(server_factory, form):
    server = server_factory(keep_alive(hello), host="127.0.0.2")
    key = f"api.example.test:{server.port}" if form == "host:port" else "api.example.test"
    fake = FakeResolver(error=NONAME)  # a lookup would fail the test
    cache = DNSCache(getaddrinfo=fake)
    with HTTPClient(
        "api.example.test", server.port, resolve={key: "127.0.0.2"}, dns_cache=cache
    ) as client:
        assert client.get("/").read() == b"hello"
    assert server.requests[0]["headers"]["host"] == [f"api.example.test:{server.port}"]
    assert fake.calls == []


def test_resolve_for_another_port_is_not_used(server_factory):
    server = server_factory(keep_alive(hello))
    fake = FakeResolver(address="127.0.0.1")
    cache = DNSCache(getaddrinfo=fake)
    other = server.port + 1 if server.port < 65535 else server.port - 1
    with HTTPClient(
        "api.example.test",
        server.port,
        resolve={f"api.example.test:{other}": "127.0.0.2"},
        dns_cache=cache,
    ) as client:
        assert client.get("/").status_code == 200
    assert len(fake.calls) == 1


def _sni_server_context(cert: Any, names: List[Optional[str]]) -> Any:
    import ssl

    ctx = gevent.ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(ctx)
    ctx.sni_callback = lambda sslobj, name, context: names.append(name)
    return ctx


def test_resolve_over_tls_sends_the_name_as_sni_and_verifies_it(server_factory, tls_ca, ca_file):
    names: List[Optional[str]] = []
    cert = tls_ca.issue_cert("api.example.test")  # not valid for 127.0.0.2
    server = server_factory(
        keep_alive(hello), host="127.0.0.2", ssl_context=_sni_server_context(cert, names)
    )
    with HTTPClient(
        "api.example.test",
        server.port,
        ssl_options={"ca_certs": ca_file},
        resolve={f"api.example.test:{server.port}": "127.0.0.2"},
        connection_timeout=5,
    ) as client:
        assert client.get("/").read() == b"hello"
    assert names == ["api.example.test"]
    assert server.requests[0]["headers"]["host"] == [f"api.example.test:{server.port}"]


def test_resolve_over_tls_still_refuses_a_certificate_for_another_name(
    server_factory, tls_ca, ca_file
):
    cert = tls_ca.issue_cert("other.example.test")
    server = server_factory(
        keep_alive(hello), host="127.0.0.2", ssl_context=_sni_server_context(cert, [])
    )
    with HTTPClient(
        "api.example.test",
        server.port,
        ssl_options={"ca_certs": ca_file},
        resolve={"api.example.test": "127.0.0.2"},
        connection_timeout=5,
    ) as client:
        with pytest.raises(CertificateVerifyError):
            client.get("/")


def peer_host(conn: ServerConn) -> None:
    peer = conn.sock.getpeername()[0]
    while conn.read_request() is not None:
        conn.respond(200, peer.encode())


@pytest.mark.parametrize("source", [("127.0.0.3", 0), "127.0.0.3"], ids=["tuple", "str"])
def test_source_address_binds_the_local_address(server_factory, source):
    server = server_factory(peer_host)
    with HTTPClient("127.0.0.1", server.port, source_address=source) as client:
        assert client.get("/").read() == b"127.0.0.3"
    with HTTPClient("127.0.0.1", server.port) as client:
        assert client.get("/").read() == b"127.0.0.1"
