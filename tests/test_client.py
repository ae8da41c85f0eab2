"""HTTPClient against scripted local servers: the seed API, bodies, pool, retries."""

from __future__ import annotations

import io
import json
import os
import time

import gevent
import gevent.event
import gevent.pool
import pytest
from conftest import keep_alive, wait_until

from geventhttpclient import URL, HTTPClient, connectionpool
from geventhttpclient import response as response_module
from geventhttpclient.exceptions import (
    ConnectionClosed,
    HeaderInjectionError,
    HTTPParseError,
    IncompleteResponse,
    PoolTimeout,
    ReadTimeout,
    RequestError,
)


def json_server(server_factory, data=None):
    def respond(conn, req):
        body = json.dumps({"data": data or [1, 2, 3], "target": req["target"]}).encode()
        conn.respond(200, body, [("Content-Type", "application/json")])

    return server_factory(keep_alive(respond))


def test_readme_simple_program_reads_status_and_body(echo_server):
    url = URL(f"http://127.0.0.1:{echo_server.port}/")
    http = HTTPClient(url.host, url.port)
    response = http.get(url.path)
    assert response.status_code == 200
    assert response.read() == b"GET /\n"
    http.close()


def test_readme_pool_program_shares_ten_connections_among_twenty_greenlets(server_factory):
    in_flight = [0]
    peak = [0]
    release = gevent.event.Event()

    def respond(conn, req):
        in_flight[0] += 1
        peak[0] = max(peak[0], in_flight[0])
        if in_flight[0] >= 10:
            release.set()
        release.wait(2)
        in_flight[0] -= 1
        body = json.dumps({"data": [req["target"]]}).encode()
        conn.respond(200, body)

    server = server_factory(keep_alive(respond))
    url = URL(f"http://127.0.0.1:{server.port}/me/friends")
    url["access_token"] = "TOKEN"
    http = HTTPClient.from_url(url, concurrency=10)

    def fetch(_):
        response = http.get(url.request_uri)
        return json.load(response)["data"]

    results = gevent.pool.Pool(20).map(fetch, range(40))
    assert all(r == ["/me/friends?access_token=TOKEN"] for r in results)
    assert server.connections == 10
    assert peak[0] == 10
    assert http.statistics().connections == 10
    http.close()


def test_keep_alive_reuses_one_connection(echo_server):
    http = HTTPClient("127.0.0.1", echo_server.port)
    for i in range(5):
        assert http.get(f"/{i}").read() == f"GET /{i}\n".encode()
    assert echo_server.connections == 1
    stats = http.statistics()
    assert (stats.created, stats.reused, stats.idle) == (1, 4, 1)


def test_connection_close_response_is_not_reused(server_factory):
    def respond(conn, req):
        conn.respond(200, b"x", [("Connection", "close")])
        conn.close()

    server = server_factory(keep_alive(respond))
    http = HTTPClient("127.0.0.1", server.port)
    assert http.get("/").read() == b"x"
    assert http.get("/").read() == b"x"
    assert server.connections == 2


def test_request_head_has_host_user_agent_and_caller_headers(echo_server):
    http = HTTPClient("127.0.0.1", echo_server.port, headers={"X-Default": "1"})
    http.get("/p", headers={"X-Own": "2", "user-agent": "me"}).read()
    req = echo_server.requests[0]
    assert req["headers"]["host"] == [f"127.0.0.1:{echo_server.port}"]
    assert req["headers"]["user-agent"] == ["me"]
    assert req["headers"]["x-default"] == ["1"]
    assert req["headers"]["x-own"] == ["2"]
    assert req["raw_head"].startswith(b"GET /p HTTP/1.1\r\n")


@pytest.mark.parametrize(
    "body",
    [b"payload", "payload", bytearray(b"payload"), memoryview(b"payload")],
    ids=["bytes", "str", "bytearray", "memoryview"],
)
def test_sized_bodies_get_content_length(echo_server, body):
    http = HTTPClient("127.0.0.1", echo_server.port)
    assert http.post("/", body=body).read() == b"POST /\npayload"
    assert echo_server.requests[0]["headers"]["content-length"] == ["7"]


def test_file_body_is_sent_with_its_size(echo_server, tmp_path):
    path = tmp_path / "f.bin"
    data = bytes(range(256)) * 1000
    path.write_bytes(data)
    http = HTTPClient("127.0.0.1", echo_server.port)
    with open(path, "rb") as f:
        assert http.put("/f", body=f).read() == b"PUT /f\n" + data
    assert echo_server.requests[0]["headers"]["content-length"] == [str(len(data))]


def test_iterable_body_is_sent_chunked(echo_server):
    http = HTTPClient("127.0.0.1", echo_server.port)
    assert http.post("/", body=iter([b"ab", "cd", b"", b"e"])).read() == b"POST /\nabcde"
    assert echo_server.requests[0]["headers"]["transfer-encoding"] == ["chunked"]
    assert b"2\r\nab\r\n2\r\ncd\r\n1\r\ne\r\n0\r\n\r\n" in echo_server.raw


def test_unsized_file_object_is_sent_chunked(echo_server):
    http = HTTPClient("127.0.0.1", echo_server.port)

    class Stream(io.RawIOBase):
        def __init__(self):
            self.parts = [b"hello ", b"world"]

        def readable(self):
            return True

        def read(self, n=-1):
            return self.parts.pop(0) if self.parts else b""

    assert http.post("/", body=Stream()).read() == b"POST /\nhello world"


def test_post_without_body_sends_content_length_zero(echo_server):
    http = HTTPClient("127.0.0.1", echo_server.port)
    http.post("/").read()
    http.get("/").read()
    assert echo_server.requests[0]["headers"]["content-length"] == ["0"]
    assert "content-length" not in echo_server.requests[1]["headers"]


def test_contradicting_content_length_is_refused_before_connecting(echo_server):
    http = HTTPClient("127.0.0.1", echo_server.port)
    with pytest.raises(RequestError):
        http.post("/", body=b"abc", headers={"Content-Length": "5"})
    with pytest.raises(RequestError):
        http.post("/", body=b"abc", headers={"Transfer-Encoding": "gzip"})
    assert echo_server.connections == 0


def test_malformed_version_is_refused():
    with pytest.raises(ValueError):
        HTTPClient("127.0.0.1", 80, version="HTTP/2.0")
    with pytest.raises(ValueError):
        HTTPClient("127.0.0.1", 80, version="HTTP/1.1\r\nX: y")


@pytest.mark.parametrize(
    "call",
    [
        lambda h: h.request("GET\r\n", "/"),
        lambda h: h.request("GE T", "/"),
        lambda h: h.get("/a b"),
        lambda h: h.get("/a\r\nX: y"),
        lambda h: h.get("/a\x00"),
        lambda h: h.get("/", headers={"X-A": "v\r\nInjected: 1"}),
        lambda h: h.get("/", headers={"X-A": "v\nInjected: 1"}),
        lambda h: h.get("/", headers={"X-A": "v\x00"}),
        lambda h: h.get("/", headers={"X A": "v"}),
        lambda h: h.get("/", headers={"X-A\r\n": "v"}),
    ],
)
def test_injection_is_refused_before_any_byte_is_sent(echo_server, call):
    http = HTTPClient("127.0.0.1", echo_server.port)
    with pytest.raises(HeaderInjectionError):
        call(http)
    assert echo_server.connections == 0
    assert echo_server.raw == b""


def test_host_with_crlf_is_refused():
    with pytest.raises(ValueError):
        HTTPClient("evil\r\nX: y", 80)


def test_expect_continue_sends_body_after_100(server_factory):
    def handler(conn):
        req = conn.read_request()
        assert conn.buf == b""  # no body before we said so
        conn.send(b"HTTP/1.1 100 Continue\r\n\r\n")
        body = conn.read_body(req["headers"])
        conn.respond(200, b"got " + body)

    server = server_factory(handler)
    http = HTTPClient("127.0.0.1", server.port)
    r = http.post("/", body=b"data", headers={"Expect": "100-continue"})
    assert r.status_code == 200
    assert r.read() == b"got data"
    assert not server.errors


def test_expect_continue_final_response_skips_body(server_factory):
    def handler(conn):
        conn.read_request()
        conn.respond(413, b"too big", reason="Payload Too Large")
        gevent.sleep(0.2)  # give a wrong client the chance to send the body

    server = server_factory(handler)
    http = HTTPClient("127.0.0.1", server.port)
    r = http.post("/", body=b"secret-body", headers={"Expect": "100-continue"})
    assert r.status_code == 413
    assert r.read() == b"too big"
    assert b"secret-body" not in server.raw


def test_head_response_has_no_body_despite_content_length(server_factory):
    def respond(conn, req):
        conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")

    server = server_factory(keep_alive(respond))
    http = HTTPClient("127.0.0.1", server.port)
    r = http.head("/")
    assert r.content_length == 1000
    assert r.read() == b""
    assert http.head("/").status_code == 200
    assert server.connections == 1


def test_response_streaming_read_readline_iteration(server_factory):
    lines = b"".join(b"line %d\n" % i for i in range(2000))

    def respond(conn, req):
        conn.send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        for i in range(0, len(lines), 1000):
            part = lines[i : i + 1000]
            conn.send(b"%x\r\n%s\r\n" % (len(part), part))
        conn.send(b"0\r\n\r\n")

    server = server_factory(keep_alive(respond))
    http = HTTPClient("127.0.0.1", server.port, block_size=777)
    r = http.get("/")
    assert r.read(5) == b"line "
    assert r.readline() == b"0\n"
    assert r.readline() == b"line 1\n"
    rest = b"".join(r)
    assert rest == lines[len(b"line 0\nline 1\n") :]
    assert r.read() == b""
    r = http.get("/")
    assert list(iter(r.readline, b"")) == lines.splitlines(keepends=True)
    r = http.get("/")
    buf = bytearray(100000)
    got = b""
    while True:
        n = r.readinto(buf)
        if not n:
            break
        got += bytes(buf[:n])
    assert got == lines
    assert server.connections == 1


def test_large_content_length_body_direct_reads(server_factory):
    data = bytes(range(256)) * 4096  # 1 MiB

    def respond(conn, req):
        conn.respond(200, data)

    server = server_factory(keep_alive(respond))
    http = HTTPClient("127.0.0.1", server.port)
    r = http.get("/")
    parts = []
    while True:
        block = r.read(65536)
        if not block:
            break
        parts.append(block)
    assert b"".join(parts) == data
    r = http.get("/")
    buf = bytearray(65536)
    out = bytearray()
    while True:
        n = r.readinto(buf)
        if not n:
            break
        out += buf[:n]
    assert out == data
    assert http.get("/").read() == data
    assert server.connections == 1


@pytest.fixture(params=["recv", "recv_into+copy"])
def read_path(request, monkeypatch):
    """Both ways read(n) takes big blocks off the socket (CPython's, PyPy's), on
    either interpreter."""
    monkeypatch.setattr(response_module, "_RECV_INTO_COPY", request.param != "recv")
    return request.param


def test_big_reads_after_body_bytes_came_with_the_head(server_factory, read_path):
    # The head and the first body bytes arrive in one segment; later read(n) calls
    # must return exactly n bytes each and leave nothing buffered behind (a
    # remainder kept every following read on the slow buffered path).
    data = bytes(range(256)) * 1024  # 256 KiB
    head = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(data)

    def handler(conn):
        conn.read_request()
        conn.send(head + data[:1000])
        conn.send(data[1000:])

    server = server_factory(handler)
    http = HTTPClient("127.0.0.1", server.port)
    r = http.get("/")
    got = [r.read(10)]
    for size in (65536, 70000, 20000, 65536, 65536):
        block = r.read(size)
        assert len(block) == min(size, len(data) - sum(map(len, got)))
        assert not r._chunks, "a big read left bytes on the buffered path"
        got.append(block)
    assert r.read(65536) == b""
    assert b"".join(got) == data


def test_big_read_truncated_after_buffered_bytes_raises(server_factory, read_path):
    def handler(conn):
        conn.read_request()
        conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 5000)
        conn.send(b"y" * 5000)
        conn.close()

    server = server_factory(handler)
    http = HTTPClient("127.0.0.1", server.port)
    r = http.get("/")
    with pytest.raises(IncompleteResponse):
        r.read(65536)
    assert http.statistics().connections == 0
    # nothing is returned as complete, but bytes already taken in are not dropped
    rest = r.read()
    assert rest.startswith(b"x" * 5000) and len(rest) <= 10000


@pytest.mark.parametrize("sent", [0, 5000])
def test_big_read_truncated_on_the_direct_path_raises(server_factory, read_path, sent):
    # The head arrives alone, so read(65536) goes straight to the socket with
    # nothing buffered; the body ends after `sent` bytes of 100,000.
    body_may_go = gevent.event.Event()

    def handler(conn):
        conn.read_request()
        conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
        body_may_go.wait()
        if sent:
            conn.send(b"z" * sent)
        conn.close()

    server = server_factory(handler)
    http = HTTPClient("127.0.0.1", server.port)
    r = http.get("/")
    assert not r._chunks
    body_may_go.set()
    with pytest.raises(IncompleteResponse):
        r.read(65536)
    assert http.statistics().connections == 0


def test_truncated_content_length_body_raises_and_discards(server_factory):
    def handler(conn):
        conn.read_request()
        conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly-this")
        conn.close()

    server = server_factory(handler)
    http = HTTPClient("127.0.0.1", server.port)
    r = http.get("/")
    with pytest.raises(IncompleteResponse):
        r.read()
    assert http.statistics().connections == 0


def test_truncated_chunked_body_raises(server_factory):
    def handler(conn):
        conn.read_request()
        conn.send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabc")
        conn.close()

    server = server_factory(handler)
    http = HTTPClient("127.0.0.1", server.port)
    with pytest.raises(HTTPParseError):
        http.get("/").read()
    assert http.statistics().connections == 0


def test_body_longer_than_content_length_never_becomes_next_response(server_factory):
    def respond(conn, req):
        conn.send(
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n"
            b"Content-Length: 8\r\n\r\nsmuggled"
        )

    server = server_factory(keep_alive(respond))
    http = HTTPClient("127.0.0.1", server.port)
    assert http.get("/").read() == b"ok"
    wait_until(lambda: http.statistics().idle == 0 or server.connections >= 1)
    assert http.get("/").read() == b"ok"


def test_malformed_response_raises_parse_error(server_factory):
    def handler(conn):
        conn.read_request()
        conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n")

    server = server_factory(handler)
    http = HTTPClient("127.0.0.1", server.port)
    with pytest.raises(HTTPParseError) as info:
        http.get("/")
    assert info.value.code == "HP_E_TE_AND_CL"


def test_stale_idle_connection_is_replaced_for_get(server_factory):
    def handler(conn):
        req = conn.read_request()
        conn.respond(200, req["target"].encode())
        conn.close()  # keep-alive promised, then closed while idle

    server = server_factory(handler)
    http = HTTPClient("127.0.0.1", server.port)
    assert http.get("/1").read() == b"/1"
    assert wait_until(lambda: server.open_connections == 0)
    assert http.get("/2").read() == b"/2"
    assert http.get("/3").read() == b"/3"


def test_get_is_retried_once_when_server_closes_before_responding(server_factory):
    def handler(conn):
        req = conn.read_request()
        if len(server.requests) == 1:
            conn.close()  # read the request, then hang up without a byte
            return
        conn.respond(200, req["target"].encode())

    server = server_factory(handler)
    http = HTTPClient("127.0.0.1", server.port)
    assert http.get("/x").read() == b"/x"
    assert len(server.requests) == 2


def test_post_is_never_resent(server_factory):
    def handler(conn):
        conn.read_request()
        conn.close()

    server = server_factory(handler)
    http = HTTPClient("127.0.0.1", server.port)
    with pytest.raises(ConnectionClosed):
        http.post("/", body=b"once")
    assert len(server.requests) == 1
    assert http.statistics().connections == 0


def test_post_on_stale_connection_checks_liveness_first(server_factory):
    def handler(conn):
        req = conn.read_request()
        conn.respond(200, req["method"].encode())
        conn.close()

    server = server_factory(handler)
    http = HTTPClient("127.0.0.1", server.port)
    assert http.get("/").read() == b"GET"
    assert wait_until(lambda: server.open_connections == 0)
    assert http.post("/", body=b"x").read() == b"POST"
    assert [r["method"] for r in server.requests] == ["GET", "POST"]


def test_waiting_greenlets_are_served_fifo(server_factory):
    order = []
    gate = gevent.event.Event()

    def respond(conn, req):
        if req["target"] == "/hold":
            gate.wait(2)
        order.append(req["target"])
        conn.respond(200, b"")

    server = server_factory(keep_alive(respond))
    http = HTTPClient("127.0.0.1", server.port, concurrency=1)
    holder = gevent.spawn(lambda: http.get("/hold").read())
    gevent.sleep(0.01)
    waiters = []
    for i in range(5):
        waiters.append(gevent.spawn(lambda i=i: http.get(f"/w{i}").read()))
        gevent.sleep(0)
    assert wait_until(lambda: http.statistics().waiting == 5)
    gate.set()
    gevent.joinall([holder] + waiters, raise_error=True)
    assert order == ["/hold", "/w0", "/w1", "/w2", "/w3", "/w4"]


def test_pool_timeout_raises_when_no_connection_frees(server_factory):
    gate = gevent.event.Event()

    def respond(conn, req):
        gate.wait(2)
        conn.respond(200, b"")

    server = server_factory(keep_alive(respond))
    http = HTTPClient("127.0.0.1", server.port, concurrency=1, pool_timeout=0.1)
    holder = gevent.spawn(http.get, "/")
    gevent.sleep(0.01)
    with pytest.raises(PoolTimeout):
        http.get("/")
    assert http.statistics().waiting == 0
    gate.set()
    holder.get().read()
    assert http.get("/").status_code == 200


def test_killed_greenlet_frees_its_slot_and_never_returns_dirty_connection(server_factory):
    gate = gevent.event.Event()

    def respond(conn, req):
        if req["target"] == "/slow":
            gate.wait(2)
            conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nlate")
            return
        conn.respond(200, b"fresh")

    server = server_factory(keep_alive(respond))
    http = HTTPClient("127.0.0.1", server.port, concurrency=1)
    g = gevent.spawn(http.get, "/slow")
    assert wait_until(lambda: len(server.requests) == 1)
    g.kill()
    gate.set()
    assert http.get("/next").read() == b"fresh"
    assert server.connections == 2


def test_callers_gevent_timeout_propagates_unchanged(server_factory):
    def respond(conn, req):
        gevent.sleep(1)

    server = server_factory(keep_alive(respond))
    http = HTTPClient("127.0.0.1", server.port)
    t = gevent.Timeout(0.05)
    with pytest.raises(gevent.Timeout) as info:
        with t:
            http.get("/")
    assert info.value is t
    assert http.statistics().connections == 0


def test_release_before_body_end_discards_connection(server_factory):
    def respond(conn, req):
        conn.respond(200, b"x" * 200000)

    server = server_factory(keep_alive(respond))
    http = HTTPClient("127.0.0.1", server.port)
    with http.get("/") as r:
        assert r.read(10) == b"x" * 10
    assert http.statistics().connections == 0
    assert len(http.get("/").read()) == 200000


def test_statistics_and_repr_tell_the_pool_state(echo_server):
    http = HTTPClient("127.0.0.1", echo_server.port, concurrency=3)
    http.get("/").read()
    s = http.statistics()
    assert (s.size, s.connections, s.idle, s.active, s.waiting) == (3, 1, 1, 0, 0)
    assert "idle=1" in repr(http)
    http.close()
    assert http.statistics().closed
    assert "closed" in repr(http)


def test_closed_client_refuses_requests(echo_server):
    http = HTTPClient("127.0.0.1", echo_server.port)
    http.close()
    with pytest.raises(RuntimeError):
        http.get("/")


def test_interim_responses_are_skipped(server_factory):
    def respond(conn, req):
        conn.send(b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n")
        conn.respond(200, b"final")

    server = server_factory(keep_alive(respond))
    http = HTTPClient("127.0.0.1", server.port)
    r = http.get("/")
    assert (r.status_code, r.read()) == (200, b"final")


def test_close_delimited_body(server_factory):
    def handler(conn):
        conn.read_request()
        conn.send(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end")
        conn.close()

    server = server_factory(handler)
    http = HTTPClient("127.0.0.1", server.port)
    assert http.get("/").read() == b"until the end"


def test_absolute_target_for_own_origin_is_accepted(echo_server):
    http = HTTPClient("127.0.0.1", echo_server.port)
    assert http.get(f"http://127.0.0.1:{echo_server.port}/abs?q=1").read() == b"GET /abs?q=1\n"
    with pytest.raises(ValueError):
        http.get("http://other.example/")


@pytest.mark.hub_block_limit(2.0)  # gc.collect() blocks on purpose
def test_forgotten_streaming_response_frees_its_slot_after_collection(server_factory):
    import gc

    def respond(conn, req):
        conn.respond(200, b"y" * 300000)

    server = server_factory(keep_alive(respond))
    http = HTTPClient("127.0.0.1", server.port, concurrency=1, pool_timeout=2)
    r = http.get("/")
    assert r.read(10) == b"y" * 10
    del r
    gc.collect()
    gevent.sleep(0)
    assert len(http.get("/").read()) == 300000


def test_iterable_body_with_callers_content_length_is_sent_raw(echo_server):
    http = HTTPClient("127.0.0.1", echo_server.port)
    r = http.post("/", body=iter([b"ab", b"cd"]), headers={"Content-Length": "4"})
    assert r.read() == b"POST /\nabcd"
    req = echo_server.requests[0]
    assert req["headers"]["content-length"] == ["4"]
    assert "transfer-encoding" not in req["headers"]


def test_iterable_body_longer_than_content_length_fails_and_discards(echo_server):
    http = HTTPClient("127.0.0.1", echo_server.port)
    with pytest.raises(RequestError):
        http.post("/", body=iter([b"abc", b"def"]), headers={"Content-Length": "4"})
    assert http.statistics().connections == 0
    assert http.get("/ok").read() == b"GET /ok\n"


def test_idle_pool_keeps_only_a_few_spare_receive_buffers(server_factory):
    from geventhttpclient.connectionpool import SPARE_BUFFERS

    gate = gevent.event.Event()

    def respond(conn, req):
        gate.wait(2)
        conn.respond(200, b"ok")

    server = server_factory(keep_alive(respond))
    http = HTTPClient("127.0.0.1", server.port, concurrency=40)
    jobs = [gevent.spawn(lambda: http.get("/").read()) for _ in range(40)]
    assert wait_until(lambda: len(server.requests) == 40)
    gate.set()
    gevent.joinall(jobs, raise_error=True)
    stats = http.statistics()
    assert (stats.connections, stats.idle) == (40, 40)
    assert len(http._connection_pool._buffers) == SPARE_BUFFERS


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_pooled_receive_buffers_are_not_shared_with_a_forked_child():
    # Receive buffers are anonymous mmaps (pages only when touched); the default
    # mapping would be shared, and a child made by fork() (gunicorn --preload,
    # multiprocessing) would receive into the parent's pooled buffers.
    buf = connectionpool.RecvBuffer()
    buf.view[:6] = b"parent"
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        buf.view[:6] = b"child!"
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert status == 0
    assert bytes(buf.view[:6]) == b"parent"


def test_an_idle_connection_keeps_no_body_after_read(echo_server):
    """read() takes the body out of the parser's list: a connection that then sits
    in the pool must not pin its last response (up to 64 KiB each)."""
    http = HTTPClient("127.0.0.1", echo_server.port)
    assert http.get("/x").read() == b"GET /x\n"
    (conn,) = http._connection_pool._idle
    assert conn.parser.body_chunks == []


def test_shortcuts_pass_keyword_arguments_through(echo_server):
    http = HTTPClient("127.0.0.1", echo_server.port)
    assert http.get("/b", body=b"abc").read() == b"GET /b\nabc"
    assert http.get("/t", timeout=5).read() == b"GET /t\n"
    assert http.head("/h", timeout=5).status_code == 200


def test_cached_heads_follow_method_and_target(echo_server):
    """Requests without headers or body reuse a head made once per method and
    target; each combination must still send its own."""
    http = HTTPClient("127.0.0.1", echo_server.port)
    for _ in range(2):
        assert http.get("/a").read() == b"GET /a\n"
        assert http.get("/b?q=1").read() == b"GET /b?q=1\n"
        assert http.request("delete", "/a").read() == b"DELETE /a\n"
        assert http.post("/a").read() == b"POST /a\n"
    assert b"POST /a HTTP/1.1\r\n" in echo_server.raw
    post = echo_server.raw.split(b"POST /a HTTP/1.1\r\n", 1)[1].split(b"\r\n\r\n", 1)[0]
    assert b"Content-Length: 0" in post


def test_a_closed_connection_is_never_alive(echo_server):
    http = HTTPClient("127.0.0.1", echo_server.port)
    http.get("/").read()
    (conn,) = http._connection_pool._idle
    assert conn.is_alive(http._connection_pool._poller)
    conn.close()
    assert not conn.is_alive(http._connection_pool._poller)
    assert not conn.is_alive()


def test_network_timeout_bounds_each_wait_not_the_connection_life(server_factory):
    """One deadline timer per connection, re-armed lazily: waits that each end in
    time never time out, however long the connection has been in use, and a
    server that goes silent later still does."""

    def respond(conn, req):
        if req["target"] == "/silent":
            return  # never answers; the client gives up
        gevent.sleep(0.1)  # a slow server, not synchronisation
        conn.respond(200, b"ok")

    server = server_factory(keep_alive(respond))
    http = HTTPClient("127.0.0.1", server.port, network_timeout=0.3)
    t0 = time.monotonic()
    for _ in range(6):
        assert http.get("/").read() == b"ok"
    assert time.monotonic() - t0 > 0.5  # longer than one timeout, on one connection
    assert http.statistics().created == 1
    t1 = time.monotonic()
    with pytest.raises(ReadTimeout):
        http.get("/silent")
    assert 0.25 < time.monotonic() - t1 < 1.5
