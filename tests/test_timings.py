"""response.timings and the trace hook, against local servers with injected delays.

Each delay is measured where it is injected (the fake resolver, the server) with
the same clock as the client's, and the client's phase must match it within 10 ms:
on a loaded machine a sleep overshoots, but both sides see the same overshoot.
What neither side sees is the operating system or PyPy's collector stopping the
process between one side's reading and the other's (26 ms once in CI), so each
such check gets up to three runs (``conftest.timed``): a client that misplaces a phase
fails every run.
"""

from __future__ import annotations

import http.cookiejar
import socket
from datetime import timedelta
from typing import Any, Dict, List, Tuple

import gevent
import pytest
from conftest import keep_alive, timed

from geventhttpclient import HTTPClient, Session, UserAgent
from geventhttpclient import httplib as ghttplib
from geventhttpclient.timings import Timings, clock

TOLERANCE = 0.010
BODY = b"x" * 4000


class SlowResolver:
    """A ``dns_cache`` that looks every name up as 127.0.0.1 after ``delay`` seconds,
    noting how long each lookup really took."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.took: List[float] = []

    def getaddrinfo(self, host: str, port: int, family: int, socktype: int) -> List[Any]:
        began = clock()
        gevent.sleep(self.delay)
        self.took.append(clock() - began)
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", ("127.0.0.1", port))]


def delayed_server(server_factory, head_delay: float, pieces: int, gap: float, **kw: Any):
    """A server that waits ``head_delay`` before the head, then sends BODY in
    ``pieces`` pieces, ``gap`` seconds apart (the first one ``gap`` after the head);
    ``server.waited``/``server.trickled`` hold what each really took."""

    def respond(conn, req):
        began = clock()
        gevent.sleep(head_delay)
        conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(BODY))
        sent_head = clock()
        server.waited.append(sent_head - began)
        step = len(BODY) // pieces
        for i in range(pieces):
            gevent.sleep(gap)
            conn.send(BODY[i * step : (i + 1) * step if i < pieces - 1 else len(BODY)])
        server.trickled.append(clock() - sent_head)

    server = server_factory(keep_alive(respond), **kw)
    server.waited = []
    server.trickled = []
    return server


def near(value: Any, expected: float) -> bool:
    return value is not None and abs(value - expected) <= TOLERANCE


@timed
def test_each_phase_found_within_10ms(server_factory):
    server = delayed_server(server_factory, head_delay=0.2, pieces=4, gap=0.025)
    resolver = SlowResolver(0.05)
    client = HTTPClient("timings.test", port=server.port, dns_cache=resolver)
    try:
        resp = client.get("/")
        assert resp.read() == BODY
        t = resp.timings
    finally:
        client.close()
    assert resolver.took[0] >= 0.05 and near(t.dns, resolver.took[0]), (t, resolver.took)
    assert server.waited[0] >= 0.2 and near(t.wait, server.waited[0]), (t, server.waited)
    assert server.trickled[0] >= 0.1 and near(t.receive, server.trickled[0]), (t, server.trickled)
    assert t.connect is not None and 0 <= t.connect < TOLERANCE
    assert t.tls is None and t.tls_resumed is None
    assert t.queued == 0.0 and not t.reused
    assert t.send is not None and 0 <= t.send < TOLERANCE
    phases = t.dns + t.connect + t.send + t.wait + t.receive
    assert t.total is not None and phases <= t.total <= phases + TOLERANCE
    assert t.elapsed is not None and near(t.elapsed, t.total - t.receive)


def test_bytes_counted_as_they_went(server_factory):
    server = delayed_server(server_factory, head_delay=0, pieces=1, gap=0)
    with HTTPClient("127.0.0.1", port=server.port) as client:
        resp = client.post("/up", body=b"y" * 123)
        assert resp.read() == BODY
        t = resp.timings
    assert t.bytes_sent == len(server.raw) == len(resp.sent_request) + 123
    head = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(BODY)
    assert t.bytes_received == len(head) + len(BODY)
    assert t.dns is None  # an IP address: nothing was looked up


def test_a_reused_connection_has_no_connect_phases(echo_server):
    with HTTPClient("127.0.0.1", port=echo_server.port) as client:
        first = client.get("/a")
        first.read()
        second = client.get("/b")
        second.read()
    assert not first.timings.reused and first.timings.connect is not None
    t = second.timings
    assert t.reused and (t.dns, t.connect, t.tls, t.tls_resumed) == (None, None, None, None)
    assert t.queued == 0.0 and t.total is not None


def test_timings_while_streaming_and_after(server_factory):
    server = delayed_server(server_factory, head_delay=0, pieces=2, gap=0.02)
    with HTTPClient("127.0.0.1", port=server.port) as client:
        resp = client.get("/")
        during = resp.timings
        resp.read()
        after = resp.timings
    assert during.wait is not None and during.receive is None and during.total is None
    assert after.receive is not None and after.total is not None
    assert isinstance(after, Timings) and after != during


@timed
def test_second_greenlet_queues_for_the_first(server_factory):
    server = delayed_server(server_factory, head_delay=0.1, pieces=1, gap=0)
    results: Dict[str, Timings] = {}
    with HTTPClient("127.0.0.1", port=server.port, concurrency=1) as client:

        def get(name: str) -> None:
            resp = client.get("/" + name)
            resp.read()
            results[name] = resp.timings

        first = gevent.spawn(get, "first")
        second = gevent.spawn(get, "second")
        gevent.joinall([first, second], raise_error=True)
    assert results["first"].queued == 0.0
    assert near(results["second"].queued, results["first"].total), results
    assert results["second"].reused


def test_tls_phase_and_resumption(server_factory, server_ssl_context, ca_file):
    def respond(conn, req):
        conn.respond(200, b"ok", [("Connection", "close")])
        conn.close()

    server = server_factory(keep_alive(respond), ssl_context=server_ssl_context)
    opts = {"ca_certs": ca_file}
    with HTTPClient("localhost", port=server.port, ssl=True, ssl_options=opts) as plain:
        resp = plain.get("/")
        resp.read()
        assert resp.timings.tls is not None and resp.timings.tls_resumed is False
    with HTTPClient(
        "localhost", port=server.port, ssl=True, ssl_options=opts, tls_session_reuse=True
    ) as client:
        got = []
        for _ in range(3):
            resp = client.get("/")
            assert resp.read() == b"ok"
            got.append(resp.timings)
    assert [t.reused for t in got] == [False, False, False]  # the server closes each
    assert [t.tls_resumed for t in got] == [False, True, True]
    assert all(t.tls is not None for t in got)


def test_har_names_and_conventions():
    t = Timings(queued=0.0015, dns=None, connect=0.002, tls=0.003, send=0.0001, wait=0.05)
    assert t.as_dict() == {
        "blocked": 1.5,
        "dns": -1.0,
        "connect": 5.0,  # HAR: connect includes ssl
        "ssl": 3.0,
        "send": 0.1,
        "wait": 50.0,
        "receive": -1.0,
    }
    assert Timings(connect=0.001).as_dict()["ssl"] == -1.0


def test_every_face_has_the_same_timings(server_factory):
    def respond(conn, req):
        if req["target"] == "/old":
            conn.respond(302, b"", [("Location", "/new")])
        else:
            conn.respond(200, b"new")

    server = server_factory(keep_alive(respond))
    base = f"http://127.0.0.1:{server.port}"
    with UserAgent(cookiejar=http.cookiejar.CookieJar()) as agent:
        resp = agent.urlopen(base + "/old")
        assert resp.content == b"new"
        assert isinstance(resp.timings, Timings) and resp.timings.reused
        (hop,) = resp.history
        assert isinstance(hop.timings, Timings) and not hop.timings.reused
    with Session() as session:
        resp = session.get(base + "/old")
        t = resp.timings
        assert t.reused and resp.elapsed == timedelta(seconds=t.elapsed)
        assert not resp.history[0].timings.reused
    conn = ghttplib.HTTPConnection("127.0.0.1", server.port)
    try:
        conn.request("GET", "/new")
        raw = conn.getresponse()
        assert raw.read() == b"new"
        t = raw.timings
        assert t.connect is not None and not t.reused and t.total is not None
    finally:
        conn.close()


# -- trace hooks ----------------------------------------------------------------------------


def recorder() -> Tuple[List[str], Any]:
    names: List[str] = []

    def hook(name: str, info: Dict[str, Any]) -> None:
        assert isinstance(info, dict)
        names.append(name)

    return names, hook


EXCHANGE = [
    "send_request.started",
    "send_request.complete",
    "receive_response_headers.started",
    "receive_response_headers.complete",
    "receive_response_body.complete",
    "connection.released",
]
NEW_CONNECTION = [
    "pool.acquire.started",
    "dns.resolve.started",
    "dns.resolve.complete",
    "connect_tcp.started",
    "connect_tcp.complete",
    "pool.acquire.complete",
    *EXCHANGE,
]
"""Every event of a request on a new connection to a name, in order."""


def test_trace_names_in_order(server_factory, echo_server):
    names, hook = recorder()
    with HTTPClient(
        "trace.test", port=echo_server.port, dns_cache=SlowResolver(0), trace=hook
    ) as client:
        client.get("/").read()
        first = list(names)
        del names[:]
        client.get("/").read()
        second = list(names)
    assert first == NEW_CONNECTION
    assert second == ["pool.acquire.started", "pool.acquire.complete", *EXCHANGE]
    assert names[len(second) :] == ["connection.closed"]  # closing the client


def test_trace_tls_events(server_factory, server_ssl_context, ca_file):
    server = server_factory(
        keep_alive(lambda conn, req: conn.respond(200, b"ok")), ssl_context=server_ssl_context
    )
    infos: Dict[str, Dict[str, Any]] = {}
    with HTTPClient(
        "localhost",
        port=server.port,
        ssl=True,
        ssl_options={"ca_certs": ca_file},
        trace=lambda name, info: infos.setdefault(name, info),
    ) as client:
        client.get("/").read()
    assert infos["start_tls.started"]["server_hostname"] == "localhost"
    assert infos["start_tls.complete"]["version"].startswith("TLS")
    assert infos["start_tls.complete"]["resumed"] is False


@pytest.mark.parametrize("failing", NEW_CONNECTION)
def test_a_failing_hook_fails_the_request_and_frees_the_slot(echo_server, failing):
    class HookFailed(Exception):
        pass

    def hook(name: str, info: Dict[str, Any]) -> None:
        if name == failing:
            raise HookFailed(name)

    client = HTTPClient(
        "trace.test", port=echo_server.port, concurrency=1, trace=hook, dns_cache=SlowResolver(0)
    )
    try:
        with pytest.raises(HookFailed):
            client.get("/").read()
        stats = client.statistics()
        assert stats.active == 0 and stats.idle == 0, stats  # discarded, slot free
        client.trace_hook = None
        assert client.get("/").read() == b"GET /\n"  # the one slot serves again
    finally:
        client.close()


def test_trace_tells_why_a_connection_closed(server_factory):
    def respond(conn, req):
        conn.respond(200, b"bye", [("Connection", "close")])
        conn.close()

    server = server_factory(keep_alive(respond))
    events: List[Tuple[str, Dict[str, Any]]] = []
    with HTTPClient(
        "127.0.0.1", port=server.port, trace=lambda n, i: events.append((n, i))
    ) as client:
        assert client.get("/").read() == b"bye"
    names = [n for n, _ in events]
    assert names[-2:] == ["receive_response_body.complete", "connection.closed"], names
    assert "connection.released" not in names
    assert events[-1][1]["reason"] == "not reusable"


def test_trace_tells_of_idle_connections_closed_with_the_client(echo_server):
    events: List[Tuple[str, Dict[str, Any]]] = []
    client = HTTPClient(
        "127.0.0.1", port=echo_server.port, trace=lambda n, i: events.append((n, i))
    )
    client.get("/").read()
    del events[:]
    client.close()
    assert [(n, i["reason"]) for n, i in events] == [("connection.closed", "closed")]


def test_failing_tls_hook_frees_the_slot(server_factory, server_ssl_context, ca_file):
    server = server_factory(
        keep_alive(lambda conn, req: conn.respond(200, b"ok")), ssl_context=server_ssl_context
    )

    def hook(name: str, info: Dict[str, Any]) -> None:
        if name == "start_tls.complete":
            raise KeyError(name)

    client = HTTPClient(
        "localhost",
        port=server.port,
        ssl=True,
        ssl_options={"ca_certs": ca_file},
        concurrency=1,
        trace=hook,
    )
    try:
        with pytest.raises(KeyError):
            client.get("/")
        stats = client.statistics()
        assert stats.connections == 0 and stats.active == 0, stats
        client.trace_hook = None
        assert client.get("/").read() == b"ok"
    finally:
        client.close()


def test_agents_trace_retries_and_redirects(server_factory):
    calls = {"n": 0}

    def respond(conn, req):
        if req["target"] == "/flaky":
            calls["n"] += 1
            if calls["n"] <= 2:
                # the client's own second try on a new connection fails too: the
                # agent retries
                conn.reset()
                return
            conn.respond(302, b"", [("Location", "/done")])
        else:
            conn.respond(200, b"done")

    server = server_factory(keep_alive(respond))
    url = f"http://127.0.0.1:{server.port}/flaky"
    for make in (
        lambda hook: UserAgent(max_retries=2, trace=hook),
        lambda hook: Session(max_retries=2, trace=hook),
    ):
        calls["n"] = 0
        events: List[Tuple[str, Dict[str, Any]]] = []
        with make(lambda name, info, events=events: events.append((name, info))) as agent:
            resp = agent.urlopen(url) if isinstance(agent, UserAgent) else agent.get(url)
            assert resp.content == b"done"
        names = [n for n, _ in events if n in ("retry", "redirect")]
        assert names == ["retry", "redirect"], events
        info = dict(events)
        assert info["retry"]["attempt"] == 1 and "error" in info["retry"]
        assert info["redirect"]["status_code"] == 302
        assert info["redirect"]["location"] == "/done"


# -- the body's first byte --------------------------------------------------------------


def gap_server(server_factory, gap: float, size: int = len(BODY)):
    """A server that sends the head at once and the body ``gap`` seconds later, in
    two halves (the second 10 ms after the first); ``server.body_sent`` holds the
    clock reading just after each first half went.

    Tests compare that reading with the request's start plus ``first_body_byte``
    (client and server share this process and its clock). Measuring from the
    server's send of the head instead would count the client's own delay in taking
    up the head (a PyPy collection or a busy machine: 26 ms seen in CI) against
    the body's arrival, which is not what the field promises."""
    body = b"z" * size

    def respond(conn, req):
        conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size)
        gevent.sleep(gap)
        conn.send(body[: size // 2])
        server.body_sent.append(clock())
        gevent.sleep(0.01)
        conn.send(body[size // 2 :])

    server = server_factory(keep_alive(respond))
    server.body_sent = []
    server.body = body
    return server


@pytest.mark.parametrize("how", ["read", "read_direct", "readinto", "iterate", "read1"])
@timed
def test_first_body_byte_is_when_the_body_began_to_arrive(server_factory, how):
    server = gap_server(server_factory, 0.1, size=256 * 1024)
    with HTTPClient("127.0.0.1", port=server.port) as client:
        start = clock()
        resp = client.get("/")
        assert resp.timings.first_body_byte is None  # only the head is here
        if how == "read":
            got = resp.read()
        elif how == "read_direct":  # big reads bypass the receive buffer
            got = b"".join(iter(lambda: resp.read(128 * 1024), b""))
        elif how == "readinto":
            buf = bytearray(128 * 1024)
            parts = []
            while True:
                n = resp.readinto(buf)
                if not n:
                    break
                parts.append(bytes(buf[:n]))
            got = b"".join(parts)
        elif how == "iterate":
            got = b"".join(resp)
        else:
            got = b"".join(iter(resp.read1, b""))
        t = resp.timings
    assert got == server.body
    assert t.first_body_byte is not None and t.elapsed is not None and t.total is not None
    assert near(start + t.first_body_byte, server.body_sent[0]), (t, start, server.body_sent)
    assert t.elapsed < t.first_body_byte < t.total


def test_first_body_byte_with_the_head_is_the_head(server_factory):
    server = delayed_server(server_factory, head_delay=0.05, pieces=1, gap=0)
    with HTTPClient("127.0.0.1", port=server.port) as client:
        resp = client.get("/")
        t = resp.timings
        resp.read()
    assert t.first_body_byte is not None and t.first_body_byte == t.elapsed


def test_no_body_no_first_body_byte(echo_server):
    with HTTPClient("127.0.0.1", port=echo_server.port) as client:
        resp = client.request("HEAD", "/")
        resp.read()
        assert resp.timings.first_body_byte is None
        assert resp.timings.total is not None


@timed
def test_first_body_byte_on_every_face(server_factory):
    server = gap_server(server_factory, 0.05)
    with Session() as session:
        start = clock()
        r = session.get(f"http://127.0.0.1:{server.port}/")
        assert r.content == server.body
        assert near(start + r.timings.first_body_byte, server.body_sent[-1])
    with UserAgent() as agent:
        start = clock()
        r = agent.urlopen(f"http://127.0.0.1:{server.port}/")
        assert r.content == server.body
        assert near(start + r.timings.first_body_byte, server.body_sent[-1])
