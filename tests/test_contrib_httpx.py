"""geventhttpclient.contrib.httpx.GeventTransport: httpx.Client on our pools; and
geventhttpclient.contrib.httpx2.GeventTransport, the same code with httpx2's classes
(the fork of httpx that the OpenAI SDK 3.x takes), on httpx2.Client.

Real loopback servers (conftest's ScriptedServer) on both sides of each behaviour a
transport owns: streaming in both directions, httpx's timeouts and exception classes,
connections returned or closed with the response, limits, TLS settings, proxies
(HTTP, HTTPS from tests/httpsproxy.py, SOCKS 4/4a/5/5h from tests/socksserver.py),
Unix domain sockets; and what stays httpx's (redirects, Content-Encoding) working
over it.

Every test runs once per module installed (the ``httpx`` and ``GeventTransport``
fixtures, parametrized ``httpx``/``httpx2``); a module not installed skips its half.
The bodies read as httpx code: the fixtures are named like the names they stand for.
"""

from __future__ import annotations

import contextlib
import gzip
import importlib
import os
import shutil
import socket
import ssl
import tempfile
import time
from typing import Any, Dict, Iterator, List, Optional, Tuple

import gevent
import gevent.event
import gevent.pywsgi
import gevent.socket
import pytest
from conftest import SOCKS_HOSTS as HOSTS
from conftest import ServerConn, basic, keep_alive, wait_until
from httpsproxy import HTTPSProxy
from socksserver import SocksServer

from geventhttpclient import exceptions as ours
from geventhttpclient.contrib._httpx_transport import ONE_WRITE


def installed(name: str) -> Any:
    """The module, imported while the tests are collected (an import takes ~0.2 s,
    which inside a test would count as blocking the hub); None if not installed."""
    try:
        module = importlib.import_module(name)
    except ImportError:
        return None
    importlib.import_module(f"geventhttpclient.contrib.{name}")
    return module


MODULES = {name: installed(name) for name in ("httpx", "httpx2")}


@pytest.fixture(params=sorted(MODULES))
def httpx(request: Any) -> Any:
    """The module under test: httpx, or httpx2 (skipped where not installed)."""
    module = MODULES[request.param]
    if module is None:
        pytest.skip(f"{request.param} is not installed")
    return module


@pytest.fixture
def GeventTransport(httpx: Any) -> Any:  # named as the class it stands for
    """The transport class for that module: contrib.httpx's or contrib.httpx2's."""
    return importlib.import_module(f"geventhttpclient.contrib.{httpx.__name__}").GeventTransport


def test_each_module_has_its_own_transport_class(httpx, GeventTransport):
    assert issubclass(GeventTransport, httpx.BaseTransport)
    assert GeventTransport.__module__ == f"geventhttpclient.contrib.{httpx.__name__}"
    other = MODULES["httpx2" if httpx.__name__ == "httpx" else "httpx"]
    if other is not None:
        assert not issubclass(GeventTransport, other.BaseTransport)


def stats(transport: Any) -> Any:
    (client,) = transport.clients()
    return client.statistics()


def ok(conn: ServerConn, req: Dict[str, Any]) -> None:
    body = f"{req['method']} {req['target']} {len(req['body'] or b'')}".encode()
    conn.respond(200, body, [("Content-Type", "text/plain"), ("X-Twice", "a"), ("X-Twice", "b")])


@pytest.fixture
def release():
    """An event that hanging handlers wait on; set at teardown so they end."""
    ev = gevent.event.Event()
    yield ev
    ev.set()


@pytest.fixture
def client(httpx, GeventTransport):
    c = httpx.Client(transport=GeventTransport())
    yield c
    c.close()


# -- requests and responses -------------------------------------------------------------


def test_get_goes_through_our_pool_with_httpx_headers(server_factory, client, httpx):
    server = server_factory(keep_alive(ok))
    r = client.get(server.base + "/path?q=1")
    assert r.status_code == 200
    assert r.text == "GET /path?q=1 0"
    assert r.http_version == "HTTP/1.1"
    assert r.reason_phrase == "OK"
    assert r.headers.get_list("x-twice") == ["a", "b"]
    head = server.requests[0]["headers"]
    assert head["user-agent"] == [f"python-{httpx.__name__}/{httpx.__version__}"]  # not ours
    assert head["host"] == [f"127.0.0.1:{server.port}"]
    r = client.get(server.base + "/again")
    assert r.text == "GET /again 0"
    assert server.connections == 1
    s = stats(client._transport)
    assert (s.created, s.reused, s.idle) == (1, 1, 1)


def test_iter_bytes_yields_each_piece_as_it_arrives(server_factory, client):
    received: List[bytes] = []
    got_one = gevent.event.Event()

    def handler(conn: ServerConn) -> None:
        conn.read_request()
        conn.send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        for piece in (b"first", b"second", b"third"):
            got_one.clear()
            conn.send(b"%x\r\n%s\r\n" % (len(piece), piece))
            # the next piece only once the client has seen this one: a transport
            # that waited to fill a buffer would hang here
            assert got_one.wait(2)
        conn.send(b"0\r\n\r\n")
        conn.read_request()

    server = server_factory(handler)
    with client.stream("GET", server.base + "/") as r:
        for block in r.iter_bytes():
            received.append(block)
            got_one.set()
    assert received == [b"first", b"second", b"third"]
    assert server.errors == []


def test_request_body_from_a_generator_is_sent_chunked(server_factory, client):
    server = server_factory(keep_alive(ok))

    def parts() -> Iterator[bytes]:
        yield b"abc"
        yield b""
        yield b"defg"

    r = client.post(server.base + "/up", content=parts())
    assert r.text == "POST /up 7"
    req = server.requests[0]
    assert req["headers"]["transfer-encoding"] == ["chunked"]
    assert req["body"] == b"abcdefg"


def test_stream_with_a_content_length_is_sent_sized(server_factory, client):
    server = server_factory(keep_alive(ok))
    r = client.put(
        server.base + "/sized", content=iter([b"12345", b"678"]), headers={"Content-Length": "8"}
    )
    assert r.text == "PUT /sized 8"
    req = server.requests[0]
    assert req["headers"]["content-length"] == ["8"] and "transfer-encoding" not in req["headers"]
    assert req["body"] == b"12345678"


@pytest.mark.parametrize("size", [10, ONE_WRITE, ONE_WRITE * 3 + 7])
def test_bytes_bodies_small_and_large(server_factory, client, size):
    server = server_factory(keep_alive(ok))
    data = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    r = client.post(server.base + "/b", content=data)
    assert r.text == f"POST /b {size}"
    assert server.requests[0]["body"] == data
    assert server.requests[0]["headers"]["content-length"] == [str(size)]


def test_gzip_body_is_decoded_by_httpx_not_by_us(server_factory, client):
    text = b"hello compressed world " * 100
    packed = gzip.compress(text)

    def respond(conn: ServerConn, req: Dict[str, Any]) -> None:
        conn.respond(200, packed, [("Content-Encoding", "gzip")])

    server = server_factory(keep_alive(respond))
    assert client.get(server.base + "/").content == text
    with client.stream("GET", server.base + "/") as r:
        assert b"".join(r.iter_raw()) == packed  # the transport hands over raw bytes
    assert "gzip" in server.requests[0]["headers"]["accept-encoding"][0]


def test_redirects_are_followed_by_httpx(server_factory, client):
    def respond(conn: ServerConn, req: Dict[str, Any]) -> None:
        if req["target"] == "/old":
            conn.respond(302, b"", [("Location", "/new")], reason="Found")
        else:
            conn.respond(200, b"arrived")

    server = server_factory(keep_alive(respond))
    r = client.get(server.base + "/old")
    assert r.status_code == 302  # httpx's default: not followed, and we never follow
    assert [q["target"] for q in server.requests] == ["/old"]
    r = client.get(server.base + "/old", follow_redirects=True)
    assert r.text == "arrived" and str(r.url) == server.base + "/new"
    assert [h.status_code for h in r.history] == [302]
    assert [q["target"] for q in server.requests] == ["/old", "/old", "/new"]
    assert server.connections == 1


# -- the connection goes back with the response -----------------------------------------


def test_a_body_read_to_its_end_returns_the_connection(server_factory, client):
    big = b"z" * (300 * 1024)

    def respond(conn: ServerConn, req: Dict[str, Any]) -> None:
        conn.respond(200, big)

    server = server_factory(keep_alive(respond))
    with client.stream("GET", server.base + "/") as r:
        assert stats(client._transport).active == 1
        assert sum(len(b) for b in r.iter_bytes()) == len(big)
        assert stats(client._transport).idle == 1
    client.get(server.base + "/")
    s = stats(client._transport)
    assert (s.created, s.reused, s.discarded, s.idle) == (1, 1, 0, 1)


def test_response_close_before_the_end_closes_the_connection(server_factory, client):
    def respond(conn: ServerConn, req: Dict[str, Any]) -> None:
        conn.respond(200, b"y" * (1024 * 1024))

    server = server_factory(keep_alive(respond))
    r = client.send(client.build_request("GET", server.base + "/"), stream=True)
    pieces = r.iter_raw(1024)  # kept: httpx2 closes the response when it is dropped
    next(pieces)
    assert stats(client._transport).active == 1
    r.close()
    s = stats(client._transport)
    assert (s.active, s.idle, s.discarded) == (0, 0, 1)
    assert wait_until(lambda: server.open_connections == 0)
    assert client.get(server.base + "/").status_code == 200
    assert server.connections == 2


def test_head_and_no_content_responses_end_at_once(server_factory, client):
    def respond(conn: ServerConn, req: Dict[str, Any]) -> None:
        if req["method"] == "HEAD":
            conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
        else:
            conn.respond(204, b"", reason="No Content")

    server = server_factory(keep_alive(respond))
    r = client.head(server.base + "/")
    assert (r.status_code, r.headers["content-length"], r.content) == (200, "1000", b"")
    assert client.delete(server.base + "/").status_code == 204
    s = stats(client._transport)
    assert (s.created, s.reused, s.idle) == (1, 1, 1)


@pytest.mark.hub_block_limit(2.0)  # gc.collect() blocks on purpose
def test_a_dropped_streaming_response_gives_its_slot_back(server_factory, httpx, GeventTransport):
    import gc

    def respond(conn: ServerConn, req: Dict[str, Any]) -> None:
        conn.respond(200, b"d" * (512 * 1024))

    server = server_factory(keep_alive(respond))
    transport = GeventTransport(limits=httpx.Limits(max_connections=1))
    with httpx.Client(transport=transport, timeout=httpx.Timeout(5, pool=0.1)) as c:
        r = c.send(c.build_request("GET", server.base + "/"), stream=True)
        with pytest.raises(httpx.PoolTimeout):
            c.get(server.base + "/")
        del r
        gc.collect()
        gevent.sleep(0)  # the slot is given back from the hub
        assert c.get(server.base + "/").status_code == 200


# -- timeouts: each httpx class ---------------------------------------------------------


def test_read_timeout(server_factory, release, httpx, GeventTransport):
    def silent(conn: ServerConn) -> None:
        conn.read_request()
        release.wait()

    server = server_factory(silent)
    with httpx.Client(transport=GeventTransport(), timeout=httpx.Timeout(5, read=0.2)) as c:
        t0 = time.monotonic()
        with pytest.raises(httpx.ReadTimeout) as info:
            c.get(server.base + "/")
        assert 0.15 < time.monotonic() - t0 < 2
    assert isinstance(info.value.__cause__, ours.ReadTimeout)


def test_read_timeout_in_the_middle_of_the_body(server_factory, release, httpx, GeventTransport):
    def stalls(conn: ServerConn) -> None:
        conn.read_request()
        conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf")
        release.wait()

    server = server_factory(stalls)
    with httpx.Client(transport=GeventTransport(), timeout=httpx.Timeout(5, read=0.2)) as c:
        with c.stream("GET", server.base + "/") as r:
            with pytest.raises(httpx.ReadTimeout):
                r.read()
        assert stats(c._transport).discarded == 1


def test_connect_timeout_covers_the_tls_handshake(server_factory, release, httpx, GeventTransport):
    def mute(conn: ServerConn) -> None:
        release.wait()  # accepts the TCP connection, never answers the handshake

    server = server_factory(mute)
    url = f"https://127.0.0.1:{server.port}/"
    with httpx.Client(transport=GeventTransport(), timeout=httpx.Timeout(5, connect=0.2)) as c:
        t0 = time.monotonic()
        with pytest.raises(httpx.ConnectTimeout) as info:
            c.get(url)
        assert 0.15 < time.monotonic() - t0 < 2
    assert isinstance(info.value.__cause__, ours.ConnectTimeout)


def test_write_timeout_while_the_server_reads_nothing(
    server_factory, release, httpx, GeventTransport
):
    def deaf(conn: ServerConn) -> None:
        release.wait()

    server = server_factory(deaf)
    body = b"w" * (16 * 1024 * 1024)  # far more than the socket buffers hold
    with httpx.Client(transport=GeventTransport(), timeout=httpx.Timeout(5, write=0.2)) as c:
        t0 = time.monotonic()
        with pytest.raises(httpx.WriteTimeout):
            c.post(server.base + "/", content=body)
        assert time.monotonic() - t0 < 2
        s = stats(c._transport)
        assert (s.connections, s.discarded) == (0, 1)


def test_a_stalled_send_under_the_read_timeout_is_a_write_timeout(
    server_factory, release, httpx, GeventTransport
):
    def deaf(conn: ServerConn) -> None:
        release.wait()

    server = server_factory(deaf)
    with httpx.Client(transport=GeventTransport(), timeout=httpx.Timeout(0.2, write=None)) as c:
        with pytest.raises(httpx.WriteTimeout) as info:
            c.post(server.base + "/", content=iter([b"w" * (16 * 1024 * 1024)]))
    assert isinstance(info.value.__cause__, ours.TimeoutError)


def test_pool_timeout_when_max_connections_are_busy(server_factory, httpx, GeventTransport):
    def respond(conn: ServerConn, req: Dict[str, Any]) -> None:
        conn.respond(200, b"p" * (512 * 1024))

    server = server_factory(keep_alive(respond))
    transport = GeventTransport(limits=httpx.Limits(max_connections=1))
    with httpx.Client(transport=transport, timeout=httpx.Timeout(5, pool=0.1)) as c:
        with c.stream("GET", server.base + "/"):
            with pytest.raises(httpx.PoolTimeout):
                c.get(server.base + "/")
        assert c.get(server.base + "/").status_code == 200  # the slot came back


def test_each_timeout_setting_gets_its_own_client(server_factory, client):
    server = server_factory(keep_alive(ok))
    client.get(server.base + "/", timeout=1.0)
    client.get(server.base + "/", timeout=1.0)
    client.get(server.base + "/", timeout=2.0)
    clients = client._transport.clients()
    assert sorted(c.network_timeout for c in clients) == [1.0, 2.0]
    assert sorted(c.statistics().reused for c in clients) == [0, 1]


# -- errors -------------------------------------------------------------------------------


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_refused_is_connect_error(client, httpx):
    with pytest.raises(httpx.ConnectError) as info:
        client.get(f"http://127.0.0.1:{free_port()}/")
    assert isinstance(info.value.__cause__, ours.ConnectionRefused)


def test_retries_try_a_refused_connection_again(httpx, GeventTransport):
    port = free_port()
    tries: List[float] = []

    def trace(event: str, info: Dict[str, Any]) -> None:
        if event == "connect_tcp.started":
            tries.append(time.monotonic())

    with httpx.Client(transport=GeventTransport(retries=2, trace=trace)) as c:
        with pytest.raises(httpx.ConnectError):
            c.get(f"http://127.0.0.1:{port}/")
    assert len(tries) == 3
    assert tries[2] - tries[1] >= 0.4  # the second retry waits 0.5 s, as httpcore's


def test_closed_before_the_response_is_remote_protocol_error(server_factory, client, httpx):
    server = server_factory(lambda conn: (conn.read_request(), conn.close()))
    with pytest.raises(httpx.RemoteProtocolError) as info:
        client.post(server.base + "/", content=b"x")
    assert isinstance(info.value.__cause__, ours.ConnectionClosed)


def test_malformed_response_is_remote_protocol_error(server_factory, client, httpx):
    def garbage(conn: ServerConn) -> None:
        conn.read_request()
        conn.send(b"HTTP/1.1 2x0 What\r\n\r\n")

    server = server_factory(garbage)
    with pytest.raises(httpx.RemoteProtocolError) as info:
        client.get(server.base + "/")
    assert isinstance(info.value.__cause__, ours.HTTPParseError)


def test_body_cut_short_is_remote_protocol_error(server_factory, client, httpx):
    def short(conn: ServerConn) -> None:
        conn.read_request()
        conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this")
        conn.close()

    server = server_factory(short)
    with pytest.raises(httpx.RemoteProtocolError) as info:
        client.get(server.base + "/")
    assert isinstance(info.value.__cause__, ours.IncompleteResponse)


def test_reset_in_the_middle_of_the_body_is_read_error(server_factory, client, httpx):
    def resets(conn: ServerConn) -> None:
        conn.read_request()
        conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\npartial")
        conn.reset()

    server = server_factory(resets)
    with client.stream("GET", server.base + "/") as r:
        with pytest.raises(httpx.ReadError) as info:
            r.read()
    assert isinstance(info.value.__cause__, ours.IncompleteResponse)


def test_unsupported_scheme(client, httpx):
    with pytest.raises(httpx.UnsupportedProtocol):
        client.get("ftp://127.0.0.1/file")


def test_header_injection_is_local_protocol_error(server_factory, httpx, GeventTransport):
    server = server_factory(keep_alive(ok))
    transport = GeventTransport()
    request = httpx.Request("GET", server.base + "/", headers={"X-Bad": "a\x00b"})
    with pytest.raises(httpx.LocalProtocolError):
        transport.handle_request(request)
    assert server.connections == 0
    transport.close()


def test_a_callers_gevent_timeout_passes_through(server_factory, client, release):
    def silent(conn: ServerConn) -> None:
        conn.read_request()
        release.wait()

    server = server_factory(silent)
    with pytest.raises(gevent.Timeout):
        with gevent.Timeout(0.2):
            client.get(server.base + "/")


# -- TLS --------------------------------------------------------------------------------


def test_tls_with_a_context_from_verify(
    server_factory, server_ssl_context, ca_file, httpx, GeventTransport
):
    server = server_factory(keep_alive(ok), ssl_context=server_ssl_context)
    ctx = ssl.create_default_context(cafile=ca_file)
    with httpx.Client(transport=GeventTransport(verify=ctx)) as c:
        assert c.get(f"https://localhost:{server.port}/s").text == "GET /s 0"


def test_tls_with_a_ca_file_path_as_httpx_takes_it(
    server_factory, server_ssl_context, ca_file, httpx, GeventTransport
):
    server = server_factory(keep_alive(ok), ssl_context=server_ssl_context)
    transport = GeventTransport(verify=ca_file)
    with httpx.Client(transport=transport) as c:
        # httpx 0.28 deprecated verify=<str>; the context is made for the first
        # https request, and so is the warning.
        with pytest.warns(DeprecationWarning):
            assert c.get(f"https://localhost:{server.port}/p").text == "GET /p 0"


def test_tls_default_verification_refuses_an_unknown_ca(
    server_factory, server_ssl_context, httpx, GeventTransport
):
    server = server_factory(keep_alive(ok), ssl_context=server_ssl_context)
    with httpx.Client(transport=GeventTransport()) as c:
        with pytest.raises(httpx.ConnectError) as info:
            c.get(f"https://localhost:{server.port}/")
    assert isinstance(info.value.__cause__, ours.CertificateVerifyError)
    with httpx.Client(transport=GeventTransport(verify=False)) as c:
        assert c.get(f"https://localhost:{server.port}/").status_code == 200


def test_tls_client_certificate_from_the_context(
    server_factory, tls_ca, tls_cert, ca_file, httpx, GeventTransport
):
    import gevent.ssl

    server_ctx = gevent.ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls_cert.configure_cert(server_ctx)
    tls_ca.configure_trust(server_ctx)
    server_ctx.verify_mode = ssl.CERT_REQUIRED
    seen: List[Any] = []

    def respond(conn: ServerConn, req: Dict[str, Any]) -> None:
        seen.append(conn.sock.getpeercert())
        ok(conn, req)

    server = server_factory(keep_alive(respond), ssl_context=server_ctx)
    client_cert = tls_ca.issue_cert("client@example.test")
    ctx = ssl.create_default_context(cafile=ca_file)
    client_cert.configure_cert(ctx)
    with httpx.Client(transport=GeventTransport(verify=ctx)) as c:
        assert c.get(f"https://localhost:{server.port}/").status_code == 200
    assert seen and seen[0]


# -- limits -----------------------------------------------------------------------------


def test_max_connections_bounds_connections_in_use(server_factory, httpx, GeventTransport):
    busy = [0, 0]  # now, most

    def respond(conn: ServerConn, req: Dict[str, Any]) -> None:
        busy[0] += 1
        busy[1] = max(busy[1], busy[0])
        gevent.sleep(0.02)
        busy[0] -= 1
        conn.respond(200, b"ok")

    server = server_factory(keep_alive(respond))
    transport = GeventTransport(limits=httpx.Limits(max_connections=2))
    with httpx.Client(transport=transport) as c:
        jobs = [gevent.spawn(c.get, server.base + f"/{i}") for i in range(8)]
        gevent.joinall(jobs, raise_error=True)
        assert all(j.value.status_code == 200 for j in jobs)
    assert busy[1] == 2
    assert server.connections == 2


def test_keepalive_expiry_closes_idle_connections(server_factory, httpx, GeventTransport):
    server = server_factory(keep_alive(ok))
    transport = GeventTransport(limits=httpx.Limits(keepalive_expiry=0.05))
    with httpx.Client(transport=transport) as c:
        c.get(server.base + "/")
        assert wait_until(lambda: stats(transport).expired == 1)
        c.get(server.base + "/")
    assert server.connections == 2


def test_no_keepalive_connections_means_one_request_each(server_factory, httpx, GeventTransport):
    server = server_factory(keep_alive(ok))
    transport = GeventTransport(limits=httpx.Limits(max_keepalive_connections=0))
    with httpx.Client(transport=transport) as c:
        for _ in range(3):
            assert c.get(server.base + "/").status_code == 200
    assert server.connections == 3


def test_local_address_is_the_source_address(server_factory, httpx, GeventTransport):
    peers: List[Any] = []

    def respond(conn: ServerConn, req: Dict[str, Any]) -> None:
        peers.append(conn.sock.getpeername()[0])
        ok(conn, req)

    server = server_factory(keep_alive(respond))
    with httpx.Client(transport=GeventTransport(local_address="127.0.0.2")) as c:
        assert c.get(server.base + "/").status_code == 200
    assert peers == ["127.0.0.2"]


# -- proxies ----------------------------------------------------------------------------


def test_plain_http_goes_to_the_proxy_in_absolute_form(server_factory, httpx, GeventTransport):
    proxy = server_factory(keep_alive(ok))
    transport = GeventTransport(proxy=f"http://user:pw@127.0.0.1:{proxy.port}")
    with httpx.Client(transport=transport) as c:
        r = c.get("http://origin.test/page")
    assert r.text == "GET http://origin.test/page 0"
    assert proxy.requests[0]["headers"]["proxy-authorization"] == ["Basic dXNlcjpwdw=="]


def test_proxy_refusing_connect_is_proxy_error(server_factory, httpx, GeventTransport):
    def refuse(conn: ServerConn) -> None:
        conn.read_request()
        conn.respond(407, b"", [("Proxy-Authenticate", "Basic")], reason="Auth Required")

    proxy = server_factory(refuse)
    with httpx.Client(transport=GeventTransport(proxy=httpx.Proxy(proxy.base))) as c:
        with pytest.raises(httpx.ProxyError) as info:
            c.get("https://origin.test/")
    assert isinstance(info.value.__cause__, ours.ProxyError)


def test_proxy_credentials_as_a_basic_header(server_factory, httpx, GeventTransport):
    proxy = server_factory(keep_alive(ok))
    header = {"Proxy-Authorization": basic("us:er", "pw")}
    transport = GeventTransport(proxy=httpx.Proxy(proxy.base, headers=header))
    with httpx.Client(transport=transport) as c:
        assert c.get("http://origin.test/").status_code == 200
    assert proxy.requests[0]["headers"]["proxy-authorization"] == [basic("us:er", "pw")]


# -- proxies: SOCKS (tests/socksserver.py) ------------------------------------------------


@pytest.mark.parametrize(
    "scheme, atyp",
    [("socks5", "ipv4"), ("socks5h", "domain"), ("socks4", "ipv4"), ("socks4a", "domain")],
)
def test_each_socks_scheme_reaches_the_origin_through_one_tunnel(
    server_factory, socks, httpx, GeventTransport, scheme, atyp
):
    origin = server_factory(keep_alive(ok))
    transport = GeventTransport(proxy=socks.url(scheme), resolve=HOSTS)
    with httpx.Client(transport=transport) as c:
        assert c.get(f"http://origin.test:{origin.port}/a").text == "GET /a 0"
        assert c.get(f"http://origin.test:{origin.port}/b").text == "GET /b 0"
    (asked,) = socks.requests  # one connection, kept alive through the tunnel
    assert (asked.version, asked.atyp, asked.port) == (int(scheme[5]), atyp, origin.port)
    assert asked.host == ("origin.test" if atyp == "domain" else "127.0.0.1")
    assert [r["target"] for r in origin.requests] == ["/a", "/b"]  # origin-form: a tunnel
    assert origin.requests[0]["headers"]["host"] == [f"origin.test:{origin.port}"]


def test_socks5_credentials_from_the_url_the_proxy_or_its_auth(
    server_factory, httpx, GeventTransport
):
    origin = server_factory(keep_alive(ok))
    with SocksServer(user="us:er", password="p@ss word") as socks:
        url = f"socks5h://us%3Aer:p%40ss%20word@127.0.0.1:{socks.port}"
        for proxy in (
            url,
            httpx.Proxy(url),
            httpx.Proxy(socks.url("socks5h"), auth=("us:er", "p@ss word")),
        ):
            with httpx.Client(transport=GeventTransport(proxy=proxy)) as c:
                assert c.get(origin.base + "/").status_code == 200
        assert [(r.user, r.password) for r in socks.requests] == [("us:er", "p@ss word")] * 3


def test_https_origin_through_socks(
    server_factory, server_ssl_context, ca_file, socks, httpx, GeventTransport
):
    origin = server_factory(keep_alive(ok), ssl_context=server_ssl_context)
    ctx = ssl.create_default_context(cafile=ca_file)
    transport = GeventTransport(proxy=httpx.Proxy(socks.url("socks5h")), verify=ctx)
    with httpx.Client(transport=transport) as c:
        assert c.get(f"https://localhost:{origin.port}/s").text == "GET /s 0"
    assert [(r.atyp, r.host) for r in socks.requests] == [("domain", "localhost")]


@pytest.mark.parametrize(
    "server, cause, reply",
    [
        ({"user": "u", "password": "right"}, ours.ProxyAuthenticationError, None),
        ({"script": "refuse", "reply": 5}, ours.ProxyError, 5),
        ({"script": "unknown_atyp"}, ours.ProxyProtocolError, None),
        ({"script": "close_mid_reply"}, ours.ProxyError, None),
    ],
    ids=["bad-credentials", "refused", "malformed-reply", "closed-mid-reply"],
)
def test_socks_failures_are_proxy_errors_and_not_retried(
    server_factory, httpx, GeventTransport, server, cause, reply
):
    origin = server_factory(keep_alive(ok))
    with SocksServer(**server) as socks:
        transport = GeventTransport(proxy=socks.url("socks5", "u", "wrong"), retries=2)
        with httpx.Client(transport=transport) as c:
            with pytest.raises(httpx.ProxyError) as info:
                c.get(origin.base + "/")
        assert socks.connections == 1
    assert type(info.value.__cause__) is cause
    if reply is not None:  # the SOCKS reply code, kept on our error
        assert info.value.__cause__.reply == reply
    assert origin.requests == []


def test_a_stalled_socks_handshake_is_a_connect_timeout(server_factory, httpx, GeventTransport):
    origin = server_factory(keep_alive(ok))
    with SocksServer(script="stall") as socks:
        transport = GeventTransport(proxy=socks.url("socks5h"))
        with httpx.Client(transport=transport, timeout=httpx.Timeout(5, connect=0.2)) as c:
            t0 = time.monotonic()
            with pytest.raises(httpx.ConnectTimeout) as info:
                c.get(origin.base + "/")
            assert 0.15 < time.monotonic() - t0 < 2
    assert isinstance(info.value.__cause__, ours.ConnectTimeout)


# -- proxies: HTTPS (tests/httpsproxy.py) -------------------------------------------------


@pytest.fixture
def https_proxy(tls_cert):
    proxy = HTTPSProxy(tls_cert, credentials=("user", "pa:ss"))
    yield proxy
    proxy.stop()


def test_http_origin_through_an_https_proxy_is_forwarded_over_tls(
    server_factory, https_proxy, ca_file, httpx, GeventTransport
):
    origin = server_factory(keep_alive(ok))
    ctx = ssl.create_default_context(cafile=ca_file)
    proxy = httpx.Proxy(f"https://localhost:{https_proxy.port}", auth=("user", "pa:ss"))
    with httpx.Client(transport=GeventTransport(proxy=proxy, verify=ctx)) as c:
        assert c.get(f"http://origin.test:{origin.port}/a").text == "GET /a 0"
        assert c.get(f"http://origin.test:{origin.port}/b").text == "GET /b 0"
    assert https_proxy.sni == ["localhost"] and https_proxy.connections == 1
    assert [r["target"] for r in https_proxy.requests] == [
        f"http://origin.test:{origin.port}/a",
        f"http://origin.test:{origin.port}/b",
    ]
    assert https_proxy.requests[0]["headers"]["proxy-authorization"] == [basic("user", "pa:ss")]
    assert https_proxy.errors == []


def test_https_origin_through_an_https_proxy_is_tls_in_tls(
    server_factory, server_ssl_context, https_proxy, ca_file, httpx, GeventTransport
):
    origin = server_factory(keep_alive(ok), ssl_context=server_ssl_context)
    ctx = ssl.create_default_context(cafile=ca_file)
    transport = GeventTransport(
        proxy=https_proxy.url_with("user", "pa:ss", "localhost"), verify=ctx
    )
    with httpx.Client(transport=transport) as c:
        assert c.get(f"https://localhost:{origin.port}/s").text == "GET /s 0"
        assert c.get(f"https://localhost:{origin.port}/t").text == "GET /t 0"
    assert https_proxy.tunnels == [f"localhost:{origin.port}"]
    assert https_proxy.requests[0]["headers"]["proxy-authorization"] == [basic("user", "pa:ss")]
    assert origin.connections == 1
    assert all("proxy-authorization" not in r["headers"] for r in origin.requests)


def test_an_https_proxy_is_verified_with_the_transports_verify(
    server_factory, https_proxy, httpx, GeventTransport
):
    origin = server_factory(keep_alive(ok))
    url = https_proxy.url_with("user", "pa:ss", "localhost")
    with httpx.Client(transport=GeventTransport(proxy=url)) as c:  # certifi: an unknown CA
        with pytest.raises(httpx.ConnectError) as info:
            c.get(origin.base + "/")
    assert isinstance(info.value.__cause__, ours.CertificateVerifyError)
    assert https_proxy.requests == []
    with httpx.Client(transport=GeventTransport(proxy=url, verify=False)) as c:
        assert c.get(origin.base + "/").status_code == 200


def test_proxy_ssl_context_verifies_the_https_proxy_apart_from_the_origin(
    server_factory, https_proxy, ca_file, httpx, GeventTransport
):
    """``httpx.Proxy(url, ssl_context=ctx)``: the proxy's TLS uses ``ctx`` (here the
    test CA), not the transport's ``verify`` (certifi, which does not know it)."""
    origin = server_factory(keep_alive(ok))
    proxy = httpx.Proxy(
        https_proxy.url_with("user", "pa:ss", "localhost"),
        ssl_context=ssl.create_default_context(cafile=ca_file),
    )
    with httpx.Client(transport=GeventTransport(proxy=proxy)) as c:
        assert c.get(f"http://origin.test:{origin.port}/p").status_code == 200
    assert https_proxy.requests[0]["target"] == f"http://origin.test:{origin.port}/p"


def test_an_https_proxy_refusing_the_credentials_is_proxy_error(
    server_ssl_context, server_factory, https_proxy, ca_file, httpx, GeventTransport
):
    origin = server_factory(keep_alive(ok), ssl_context=server_ssl_context)
    ctx = ssl.create_default_context(cafile=ca_file)
    url = https_proxy.url_with("user", "wrong", "localhost")
    with httpx.Client(transport=GeventTransport(proxy=url, verify=ctx)) as c:
        with pytest.raises(httpx.ProxyError) as info:
            c.get(f"https://localhost:{origin.port}/")
    assert isinstance(info.value.__cause__, ours.ProxyAuthenticationError)
    assert info.value.__cause__.reply == 407
    assert origin.connections == 0


@pytest.mark.parametrize(
    "proxy",
    [
        lambda httpx: httpx.Proxy("socks5://proxy.test:1080", headers={"X-Via": "me"}),
        lambda httpx: httpx.Proxy("http://proxy.test:3128", headers={"X-Via": "me"}),
        lambda httpx: httpx.Proxy("http://proxy.test", headers={"Proxy-Authorization": "Bearer t"}),
        lambda httpx: httpx.Proxy(
            "http://proxy.test", auth=("u", "p"), headers={"Proxy-Authorization": basic("u", "p")}
        ),
    ],
    ids=["socks-headers", "other-headers", "not-basic", "credentials-twice"],
)
def test_proxy_settings_the_transport_cannot_honour_are_refused(proxy, httpx, GeventTransport):
    with pytest.raises(ValueError):
        GeventTransport(proxy=proxy(httpx))


# -- Unix domain sockets ----------------------------------------------------------------


@contextlib.contextmanager
def unix_wsgi_server(
    tmp_path: Any, ssl_context: Optional[ssl.SSLContext] = None, name: str = "s.sock"
) -> Iterator[Tuple[str, List[Any]]]:
    """A WSGI server on a Unix socket in ``tmp_path`` (or in a shorter directory if
    that path is past the ~100 bytes a socket path may have), speaking TLS with
    ``ssl_context``: its path, and the (method, path, Host) of each request it
    served. Also the requests adapter's tests'."""
    directory = str(tmp_path)
    if len(directory) > 80:
        directory = tempfile.mkdtemp(prefix="uds", dir="/tmp")
    path = os.path.join(directory, name)
    listener = gevent.socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(16)
    seen: List[Any] = []

    def app(environ: Dict[str, Any], start_response: Any) -> List[bytes]:
        seen.append((environ["REQUEST_METHOD"], environ["PATH_INFO"], environ["HTTP_HOST"]))
        body = environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"unix " + environ["PATH_INFO"].encode() + b" " + body]

    kw: Dict[str, Any] = {} if ssl_context is None else {"ssl_context": ssl_context}
    server = gevent.pywsgi.WSGIServer(listener, app, log=None, **kw)
    server.start()
    try:
        yield path, seen
    finally:
        server.stop(timeout=0.5)
        if directory != str(tmp_path):
            shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def uds_server(tmp_path):
    with unix_wsgi_server(tmp_path) as server:
        yield server


def test_uds_sends_every_request_to_the_unix_socket(uds_server, httpx, GeventTransport):
    path, seen = uds_server
    transport = GeventTransport(uds=path)
    with httpx.Client(transport=transport) as c:
        assert c.get("http://localhost/v1/info").text == "unix /v1/info "
        assert c.post("http://docker/v1/create", content=b"{}").text == "unix /v1/create {}"
        assert c.get("http://localhost/v1/info").text == "unix /v1/info "
        # one client per origin, each keeping its connection to the socket
        stats = sorted((k.statistics().created, k.statistics().reused) for k in transport.clients())
        assert stats == [(1, 0), (1, 1)]
    assert seen == [
        ("GET", "/v1/info", "localhost"),
        ("POST", "/v1/create", "docker"),
        ("GET", "/v1/info", "localhost"),
    ]


def test_https_over_uds_checks_the_urls_host(
    tmp_path, server_ssl_context, ca_file, httpx, GeventTransport
):
    ctx = ssl.create_default_context(cafile=ca_file)
    with unix_wsgi_server(tmp_path, server_ssl_context) as (path, seen):
        with httpx.Client(transport=GeventTransport(uds=path, verify=ctx)) as c:
            assert c.get("https://localhost/secure").text == "unix /secure "
            with pytest.raises(httpx.ConnectError) as info:
                c.get("https://docker/")  # the certificate is for localhost
    assert isinstance(info.value.__cause__, ours.CertificateVerifyError)
    assert seen == [("GET", "/secure", "localhost")]


def test_uds_with_nothing_listening_is_connect_error(uds_server, httpx, GeventTransport):
    path, _ = uds_server
    transport = GeventTransport(uds=path + ".none")
    with httpx.Client(transport=transport) as c:
        with pytest.raises(httpx.ConnectError) as info:
            c.get("http://localhost/")
    assert isinstance(info.value.__cause__, ours.ConnectError)
    assert path + ".none" in str(info.value)


# -- what the transport refuses ---------------------------------------------------------


@pytest.mark.parametrize(
    "kw",
    [
        {"http2": True},
        {"http1": False},
        {"socket_options": [(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)]},
        {"uds": "/tmp/sock", "proxy": "http://proxy.test:3128"},
        {"proxy": "ftp://proxy.test:21"},
        {"proxy": "socks4://"},
    ],
    ids=["http2", "no-http1", "socket_options", "uds-and-proxy", "ftp-proxy", "no-host"],
)
def test_unsupported_settings_are_refused(kw, GeventTransport):
    with pytest.raises(ValueError):
        GeventTransport(**kw)


def test_client_keywords_set_from_httpx_settings_are_refused(GeventTransport):
    with pytest.raises(TypeError, match="network_timeout"):
        GeventTransport(network_timeout=3)


def test_a_closed_transport_makes_no_clients(server_factory, httpx, GeventTransport):
    server = server_factory(keep_alive(ok))
    transport = GeventTransport()
    with httpx.Client(transport=transport) as c:
        c.get(server.base + "/")
    assert transport.clients() == ()
    with pytest.raises(RuntimeError):
        transport.handle_request(httpx.Request("GET", server.base + "/"))
