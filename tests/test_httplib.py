"""geventhttpclient.httplib against scripted loopback servers: the http.client surface,
urllib.request through patched(), TLS verification and client certificates."""

from __future__ import annotations

import csv
import http.client
import http.cookiejar
import io
import socket
import ssl
import urllib.error
import urllib.request
import warnings
from typing import Any, Dict, List

import gevent
import gevent.socket
import gevent.ssl
import pytest
from conftest import ServerConn, keep_alive, wait_until

from geventhttpclient import httplib
from geventhttpclient.exceptions import HTTPParseError, IncompleteResponse
from geventhttpclient.httplib import HTTPConnection, HTTPResponse, HTTPSConnection, patched


def hello(conn: ServerConn, req: Dict[str, Any]) -> None:
    conn.respond(
        200,
        b"Hello World!",
        [("Content-Type", "text/plain"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")],
    )


def echo(conn: ServerConn, req: Dict[str, Any]) -> None:
    body = f"{req['method']} {req['target']}\n".encode() + (req["body"] or b"")
    conn.respond(200, body, [("Content-Type", "text/plain")])


def chunked(conn: ServerConn, req: Dict[str, Any]) -> None:
    conn.send(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"6\r\nline1\n\r\n6\r\nline2\n\r\n5\r\ntail!\r\n0\r\n\r\n"
    )


# -- http.client usage -------------------------------------------------------------------


def test_get(server_factory):
    server = server_factory(keep_alive(hello))
    conn = HTTPConnection(server.host, server.port)
    conn.request("GET", "/path?q=1", headers={"X-Test": "yes"})
    resp = conn.getresponse()
    assert isinstance(resp, io.BufferedIOBase)
    assert (resp.status, resp.reason, resp.version, resp.code) == (200, "OK", 11, 200)
    assert resp.getcode() == 200
    assert isinstance(resp.msg, http.client.HTTPMessage) and resp.headers is resp.msg
    assert resp.getheader("content-type") == "text/plain"
    assert resp.getheader("set-cookie") == "a=1, b=2"
    assert resp.getheader("missing", "dflt") == "dflt"
    assert ("Set-Cookie", "b=2") in resp.getheaders()
    assert resp.info().get_all("Set-Cookie") == ["a=1", "b=2"]
    assert resp.length == 12 and resp.chunked is False and resp.will_close is False
    assert not resp.isclosed()  # body received, not read: still open (urllib3 relies on it)
    assert resp.read(5) == b"Hello"
    assert resp.length == 7
    assert resp.read() == b" World!"
    assert resp.isclosed() and not resp.closed
    req = server.requests[0]
    assert req["target"] == "/path?q=1"
    assert req["headers"]["host"] == [f"{server.host}:{server.port}"]
    assert req["headers"]["accept-encoding"] == ["identity"]
    assert req["headers"]["x-test"] == ["yes"]
    assert "user-agent" not in req["headers"]  # http.client sends none of its own
    conn.close()
    assert conn.sock is None


def test_post_bodies_are_framed_as_http_client_frames_them(server_factory):
    server = server_factory(keep_alive(echo))
    conn = HTTPConnection(f"{server.host}:{server.port}")
    cases: List[Any] = [
        (b"bytes body", "content-length"),
        ("caf\xe9", "content-length"),  # str: latin-1, as http.client encodes it
        (iter([b"it", b"", b"er"]), "transfer-encoding"),
        (io.BytesIO(b"from a file"), "transfer-encoding"),
        (None, "content-length"),  # POST without a body: Content-Length: 0
    ]
    for body, framing in cases:
        conn.request("POST", "/p", body=body)
        resp = conn.getresponse()
        resp.read()
        req = server.requests[-1]
        assert framing in req["headers"], (body, req["headers"])
    assert [r["body"] for r in server.requests] == [
        b"bytes body",
        b"caf\xe9",
        b"iter",
        b"from a file",
        b"",
    ]
    assert server.requests[-1]["headers"]["content-length"] == ["0"]
    assert server.connections == 1  # kept alive throughout
    with pytest.raises(UnicodeEncodeError):
        conn.request("POST", "/p", body="\u20ac")
    conn.close()


def test_iterable_body_with_caller_content_length_is_sent_raw(server_factory):
    # urllib.request's contract for iterable data: the caller sets Content-Length.
    server = server_factory(keep_alive(echo))
    conn = HTTPConnection(server.host, server.port)
    conn.request("PUT", "/", body=[b"ab", b"cd"], headers={"Content-Length": "4"})
    assert conn.getresponse().read() == b"PUT /\nabcd"
    assert "transfer-encoding" not in server.requests[0]["headers"]


def test_putrequest_putheader_endheaders_send(server_factory):
    server = server_factory(keep_alive(echo))
    conn = HTTPConnection(server.host, server.port)
    conn.putrequest("POST", "/stream", skip_accept_encoding=True)
    conn.putheader("Content-Length", 11)
    conn.putheader("X-Multi", "a", b"b")
    conn.endheaders()
    conn.send(b"hello ")
    conn.send(io.BytesIO(b"world"))
    resp = conn.getresponse()
    assert resp.read() == b"POST /stream\nhello world"
    headers = server.requests[0]["headers"]
    assert headers["x-multi"] == ["a, b"]
    assert "accept-encoding" not in headers
    # state errors are http.client's
    with pytest.raises(http.client.CannotSendHeader):
        conn.putheader("X", "y")
    with pytest.raises(http.client.ResponseNotReady):
        conn.getresponse()


def test_unread_response_blocks_the_next_request(server_factory):
    server = server_factory(keep_alive(hello))
    conn = HTTPConnection(server.host, server.port)
    conn.request("GET", "/")
    resp = conn.getresponse()
    with pytest.raises(http.client.CannotSendRequest):
        conn.request("GET", "/")
    assert resp.read() == b"Hello World!"
    conn.request("GET", "/")
    assert conn.getresponse().read() == b"Hello World!"
    assert server.connections == 1


def test_chunked_response(server_factory):
    server = server_factory(keep_alive(chunked))
    conn = HTTPConnection(server.host, server.port)
    conn.request("GET", "/")
    resp = conn.getresponse()
    assert resp.chunked is True and resp.length is None
    assert resp.readline() == b"line1\n"
    assert list(resp) == [b"line2\n", b"tail!"]
    assert resp.read() == b""
    assert resp.isclosed()


def test_readinto_read1_peek(server_factory):
    body = bytes(range(256)) * 800  # 200 KiB: several receives

    def big(conn: ServerConn, req: Dict[str, Any]) -> None:
        conn.respond(200, body)

    server = server_factory(keep_alive(big))
    conn = HTTPConnection(server.host, server.port)
    conn.request("GET", "/")
    resp = conn.getresponse()
    peeked = resp.peek(10)
    assert peeked and body.startswith(peeked)
    assert resp.peek() == peeked  # peeking consumes nothing
    first = resp.read1(3)
    assert first == body[:3]
    part = resp.read1()
    assert part and body[3:].startswith(part)
    got = first + part
    buf = bytearray(50000)
    n = resp.readinto(buf)
    assert n == 50000  # filled, as a buffered file fills
    got += bytes(buf)
    assert resp.readinto(memoryview(bytearray(0))) == 0
    got += resp.read()
    assert got == body
    assert resp.readinto(buf) == 0 and resp.read1() == b"" and resp.peek() == b""


def test_head(server_factory):
    def head(conn: ServerConn, req: Dict[str, Any]) -> None:
        conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")

    server = server_factory(keep_alive(head))
    conn = HTTPConnection(server.host, server.port)
    conn.request("HEAD", "/")
    resp = conn.getresponse()
    assert resp.getheader("content-length") == "1000"
    assert resp.length == 0 and resp.isclosed()
    assert resp.read() == b""
    conn.request("HEAD", "/")  # nothing left over on the connection
    assert conn.getresponse().status == 200
    assert server.connections == 1


def test_connection_close_response_then_new_connection(server_factory):
    def closing(conn: ServerConn) -> None:
        conn.read_request()
        conn.respond(200, b"bye", [("Connection", "close")])
        conn.close()

    server = server_factory(closing)
    conn = HTTPConnection(server.host, server.port)
    conn.request("GET", "/")
    resp = conn.getresponse()
    assert resp.will_close is True
    assert conn.sock is None  # as http.client: the response keeps the socket
    assert resp.read() == b"bye"
    conn.request("GET", "/")
    assert conn.getresponse().read() == b"bye"
    assert server.connections == 2


def test_server_closed_idle_connection_is_replaced(server_factory):
    def once(conn: ServerConn) -> None:
        conn.read_request()
        conn.respond(200, b"ok")  # keep-alive promised, then closed anyway
        conn.close()

    server = server_factory(once)
    conn = HTTPConnection(server.host, server.port)
    for _ in range(2):
        conn.request("POST", "/", body=b"x")  # not idempotent: must not hit the dead one
        assert conn.getresponse().read() == b"ok"
        assert wait_until(lambda: server.open_connections == 0)
    assert server.connections == 2


def test_urllib_style_sock_close_while_body_streams(server_factory):
    body = b"x" * 300000

    def big(conn: ServerConn, req: Dict[str, Any]) -> None:
        conn.respond(200, body)

    server = server_factory(keep_alive(big))
    conn = HTTPConnection(server.host, server.port)
    conn.request("GET", "/")
    resp = conn.getresponse()
    sock = conn.sock
    assert sock is not None and sock.fileno() >= 0
    conn.sock.close()  # what urllib.request.do_open does
    conn.sock = None
    assert resp.read() == body  # the response's reference keeps the socket open
    assert sock.fileno() == -1  # and it is closed once the response is done
    assert wait_until(lambda: server.open_connections == 0)


def test_connect_and_sock_attribute(server_factory):
    server = server_factory(keep_alive(hello))
    conn = HTTPConnection(server.host, server.port)
    assert conn.sock is None
    conn.connect()
    assert conn.sock is not None
    assert wait_until(lambda: server.connections == 1)
    conn.request("GET", "/")
    assert conn.getresponse().read() == b"Hello World!"
    assert server.connections == 1  # the connection made by connect() was used
    conn.close()
    assert conn.sock is None


def test_subclass_connect_may_assign_sock(server_factory):
    server = server_factory(keep_alive(hello))
    made = []

    class Custom(HTTPConnection):
        def connect(self) -> None:
            s = gevent.socket.create_connection((server.host, server.port))
            made.append(s)
            self.sock = s

    conn = Custom("ignored.invalid", 1)
    conn.request("GET", "/")
    assert conn.getresponse().read() == b"Hello World!"
    assert conn.sock is made[0]


def test_injection_is_refused(server_factory):
    server = server_factory(keep_alive(hello))
    conn = HTTPConnection(server.host, server.port)
    with pytest.raises(ValueError):
        conn.request("GET", "/", headers={"X-Evil": "a\r\nInjected: 1"})
    conn.close()
    with pytest.raises(ValueError):
        conn.request("GET\r\n", "/")
    conn.close()
    with pytest.raises(http.client.InvalidURL) as info:
        conn.request("GET", "/a b")
    assert isinstance(info.value, ValueError)
    with pytest.raises(http.client.InvalidURL):
        HTTPConnection("host:port")
    assert server.raw == b""  # nothing was sent


def test_host_and_port_parsing():
    assert (HTTPConnection("example.com").host, HTTPConnection("example.com").port) == (
        "example.com",
        80,
    )
    c = HTTPConnection("[::1]:8080")
    assert (c.host, c.port) == ("::1", 8080)
    assert HTTPSConnection("example.com", context=ssl.create_default_context()).port == 443


def test_bad_status_line_is_an_http_exception(server_factory):
    def garbage(conn: ServerConn) -> None:
        conn.read_request()
        conn.send(b"HTTP/1.1 apfais df0 asdf\r\n\r\n")

    server = server_factory(garbage)
    conn = HTTPConnection(server.host, server.port)
    conn.request("GET", "/")
    with pytest.raises(http.client.HTTPException) as info:
        conn.getresponse()
    assert isinstance(info.value, HTTPParseError)
    assert conn.sock is None


def test_remote_disconnected(server_factory):
    def hang_up(conn: ServerConn) -> None:
        conn.read_request()
        conn.close()

    server = server_factory(hang_up)
    conn = HTTPConnection(server.host, server.port)
    conn.request("GET", "/")
    with pytest.raises(http.client.RemoteDisconnected) as info:
        conn.getresponse()
    assert isinstance(info.value, ConnectionResetError)


def test_truncated_body_is_incomplete_read(server_factory):
    def short(conn: ServerConn) -> None:
        conn.read_request()
        conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
        conn.close()

    server = server_factory(short)
    for amt in (None, 8):
        conn = HTTPConnection(server.host, server.port)
        conn.request("GET", "/")
        resp = conn.getresponse()
        with pytest.raises(http.client.IncompleteRead) as info:
            resp.read(amt)
        assert isinstance(info.value, IncompleteResponse)
        assert info.value.partial == b"abc"
        assert info.value.expected == 7


def test_timeout(server_factory):
    def silent(conn: ServerConn) -> None:
        conn.read_request()
        gevent.sleep(1)

    server = server_factory(silent)
    conn = HTTPConnection(server.host, server.port, timeout=0.05)
    conn.request("GET", "/")
    with pytest.raises(socket.timeout):
        conn.getresponse()


def test_source_address(server_factory):
    peers = []

    def record(conn: ServerConn) -> None:
        peers.append(conn.sock.getpeername())
        keep_alive(hello)(conn)

    server = server_factory(record)
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    conn = HTTPConnection(server.host, server.port, source_address=("127.0.0.1", port))
    conn.request("GET", "/")
    conn.getresponse().read()
    assert peers == [("127.0.0.1", port)]
    conn.close()


def test_set_tunnel(server_factory):
    def proxy(conn: ServerConn) -> None:
        req = conn.read_request()
        assert req is not None
        if req["headers"].get("proxy-authorization") != ["Basic xyz"]:
            conn.respond(407, b"", reason="Proxy Authentication Required")
            return
        conn.send(b"HTTP/1.1 200 Connection established\r\nX-Proxy: yes\r\n\r\n")
        keep_alive(echo)(conn)  # the tunnel: this server plays the origin too

    server = server_factory(proxy)
    conn = HTTPConnection(server.host, server.port)
    conn.set_tunnel("origin.example", 8080, headers={"Proxy-Authorization": "Basic xyz"})
    conn.request("GET", "/via")
    assert conn.getresponse().read() == b"GET /via\n"
    connect, req = server.requests
    assert connect["method"] == "CONNECT" and connect["target"] == "origin.example:8080"
    assert req["headers"]["host"] == ["origin.example:8080"]
    assert conn.get_proxy_response_headers()["X-Proxy"] == "yes"

    refused = HTTPConnection(server.host, server.port)
    refused.set_tunnel("origin.example", 8080)
    with pytest.raises(OSError, match="407"):
        refused.request("GET", "/")


def test_debuglevel(server_factory, capsys):
    server = server_factory(keep_alive(hello))
    conn = HTTPConnection(server.host, server.port)
    conn.set_debuglevel(1)
    conn.request("GET", "/dbg")
    conn.getresponse().read()
    out = capsys.readouterr().out
    assert "send: b'GET /dbg HTTP/1.1" in out
    assert "reply: 'HTTP/1.1 200 OK'" in out and "header: Set-Cookie: a=1" in out


def test_msg_is_2x_shaped_lowercased_names_and_joined_repeats(server_factory):
    server = server_factory(keep_alive(hello))
    conn = HTTPConnection(server.host, server.port)
    conn.request("GET", "/")
    resp = conn.getresponse()
    msg = resp.msg
    assert msg["Set-Cookie"] == "a=1, b=2"  # http.client would give the first line
    assert msg["Content-Type"] == "text/plain" and msg["missing"] is None
    items = msg.items()
    assert list(items) == list(items)  # a list: urllib3 walks it twice
    assert ("set-cookie", "a=1") in items and ("set-cookie", "b=2") in items
    assert msg.get_all("Set-Cookie") == ["a=1", "b=2"]  # http.cookiejar's view
    assert msg.get_content_type() == "text/plain"
    assert ("Set-Cookie", "a=1") in resp.getheaders()  # as the server wrote them
    assert resp.read() == b"Hello World!"


def test_the_2x_response_surface(server_factory):
    body = b"x" * 300000  # streams: more than one receive

    def routes(conn: ServerConn, req: Dict[str, Any]) -> None:
        if req["target"] == "/big":
            conn.respond(200, body, [("Status", "bogus")])
        else:
            hello(conn, req)

    server = server_factory(keep_alive(routes))
    conn = HTTPConnection(server.host, server.port)
    conn.request("GET", "/")
    resp = conn.getresponse()
    # small: complete while the head was read, the socket already back with conn
    assert resp.message_complete and resp.headers_complete
    assert resp._sock is None and not resp.isclosed()
    assert resp.should_keep_alive() and not resp.should_close()
    assert (resp.status_code, resp.content_length) == (200, 12)
    assert resp["set-cookie"] == resp.get("Set-Cookie") == "a=1, b=2"
    assert "content-type" in resp and "missing" not in resp
    assert resp.get("missing", "dflt") == "dflt"
    with pytest.raises(KeyError):
        resp["missing"]
    assert resp.items() == [  # httplib2.Response copies these (status included)
        ("status", "200"),
        ("content-type", "text/plain"),
        ("set-cookie", "a=1, b=2"),
        ("content-length", "12"),
    ]
    assert resp.read() == b"Hello World!" and resp.isclosed()

    conn.request("GET", "/big")
    big = conn.getresponse()
    assert not big.message_complete and big._sock is conn.sock
    assert big.items()[0] == ("status", "200")  # a server's Status field does not override it
    assert big.read() == body
    assert big.message_complete and big._sock is None
    big.release()
    assert big.closed


def test_text_wrapper_reads_every_line(server_factory):
    """``closed`` stays false at the end of the body, as on http.client: TextIOWrapper
    checks it before each line, and 2.x's ``closed`` (true at the end) broke it."""

    def lines(conn: ServerConn, req: Dict[str, Any]) -> None:
        conn.respond(200, b"a,1\nb,2\nc,3\n")

    server = server_factory(keep_alive(lines))
    conn = HTTPConnection(server.host, server.port)
    conn.request("GET", "/")
    resp = conn.getresponse()
    text = io.TextIOWrapper(resp, encoding="utf-8")
    assert list(csv.reader(text)) == [["a", "1"], ["b", "2"], ["c", "3"]]
    assert resp.isclosed() and not resp.closed
    text.close()  # closes the response too
    assert resp.closed


def test_a_subclass_may_initialise_through_http_client_by_name(server_factory):
    # httplib2's classes call http.client.HTTPConnection.__init__(self, ...) by name:
    # when called, that is usually http.client's own function, not ours.
    server = server_factory(keep_alive(hello))

    class Old(HTTPConnection):
        def __init__(self, host: str, port: int) -> None:
            http.client.HTTPConnection.__init__(self, host, port=port, timeout=5)  # type: ignore[arg-type]

    conn = Old(server.host, server.port)
    assert conn.sock is None
    conn.request("GET", "/")
    assert conn.getresponse().read() == b"Hello World!"
    conn.request("GET", "/")
    assert conn.getresponse().read() == b"Hello World!"
    assert server.connections == 1
    conn.close()
    assert conn.sock is None


def test_response_from_a_socket(server_factory):
    # Code that makes http.client.HTTPResponse(sock) itself still works when patched.
    server = server_factory(keep_alive(hello))
    sock = gevent.socket.create_connection((server.host, server.port))
    sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    resp = HTTPResponse(sock, method="GET")
    assert resp.status == "UNKNOWN" and resp.headers is None
    resp.begin()
    assert resp.status == 200 and resp.read() == b"Hello World!"
    resp.close()
    sock.close()


# -- patching and urllib.request ---------------------------------------------------------


def test_patch_unpatch_and_patched():
    originals = (http.client.HTTPConnection, http.client.HTTPSConnection, http.client.HTTPResponse)
    assert http.client.HTTPConnection.__module__ == "http.client"
    with patched():
        assert http.client.HTTPConnection is HTTPConnection
        assert http.client.HTTPSConnection is HTTPSConnection
        assert http.client.HTTPResponse is HTTPResponse
        with patched():
            pass
        assert http.client.HTTPConnection is HTTPConnection  # nesting keeps it
    assert (
        http.client.HTTPConnection,
        http.client.HTTPSConnection,
        http.client.HTTPResponse,
    ) == originals
    httplib.patch()
    try:
        assert http.client.HTTPResponse.__module__ == "geventhttpclient.httplib"
    finally:
        httplib.unpatch()
    assert http.client.HTTPResponse is originals[2]


def test_urlopen_patched(server_factory):
    def routes(conn: ServerConn, req: Dict[str, Any]) -> None:
        if req["target"] == "/missing":
            conn.respond(404, b"nope", reason="Not Found")
        elif req["target"] == "/moved":
            conn.respond(302, b"", [("Location", "/data")], reason="Found")
        else:
            echo(conn, req)

    server = server_factory(keep_alive(routes))
    with patched():
        with urllib.request.urlopen(server.base + "/data", timeout=5) as resp:
            assert isinstance(resp, HTTPResponse)
            assert resp.status == 200 and resp.geturl() == server.base + "/data"
            assert resp.headers["Content-Type"] == "text/plain"
            assert resp.read() == b"GET /data\n"
        posted = urllib.request.urlopen(server.base + "/form", data=b"a=1", timeout=5).read()
        assert posted == b"POST /form\na=1"
        assert urllib.request.urlopen(server.base + "/moved", timeout=5).read() == b"GET /data\n"
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(server.base + "/missing", timeout=5)
        assert info.value.code == 404 and info.value.read() == b"nope"
        info.value.close()
    ua = server.requests[0]["headers"]["user-agent"][0]
    assert ua.startswith("Python-urllib/")


def test_cookiejar_with_urllib(server_factory):
    def cookies(conn: ServerConn, req: Dict[str, Any]) -> None:
        if req["target"] == "/set":
            conn.respond(200, b"set", [("Set-Cookie", "sid=42; Path=/"), ("Set-Cookie", "k=v")])
        else:
            conn.respond(200, ";".join(req["headers"].get("cookie", [])).encode())

    server = server_factory(keep_alive(cookies))
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with patched():
        assert opener.open(server.base + "/set", timeout=5).read() == b"set"
        sent = opener.open(server.base + "/get", timeout=5).read()
    assert {c.name for c in jar} == {"sid", "k"}
    assert sorted(sent.decode().split("; ")) == ["k=v", "sid=42"]


def server_context(cert: Any) -> ssl.SSLContext:
    """A gevent context: a stdlib one would make the server's handshake block the hub
    (and so deadlock with our client in the same process)."""
    ctx = gevent.ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(ctx)
    return ctx


@pytest.fixture
def tls_server(server_factory, tls_cert):
    return server_factory(keep_alive(hello), ssl_context=server_context(tls_cert))


def test_urlopen_https_verifies_by_default(tls_server, ca_file):
    url = f"https://localhost:{tls_server.port}/"
    with patched():
        with pytest.raises(urllib.error.URLError) as info:
            urllib.request.urlopen(url, timeout=5)
        assert isinstance(info.value.reason, ssl.SSLCertVerificationError)
        ctx = ssl.create_default_context(cafile=ca_file)
        with urllib.request.urlopen(url, context=ctx, timeout=5) as resp:
            assert isinstance(resp, HTTPResponse)
            assert resp.read() == b"Hello World!"


def test_https_connection_checks_the_host_name(server_factory, tls_ca, ca_file):
    sctx = server_context(tls_ca.issue_cert("other.example"))
    server = server_factory(keep_alive(hello), ssl_context=sctx)
    ctx = ssl.create_default_context(cafile=ca_file)
    conn = HTTPSConnection("127.0.0.1", server.port, context=ctx)
    with pytest.raises(ssl.SSLCertVerificationError, match="match|mismatch"):
        conn.request("GET", "/")
    with pytest.warns(DeprecationWarning, match="check_hostname"):  # as on Python 3.11
        lax = HTTPSConnection(
            "127.0.0.1",
            server.port,
            context=ssl.create_default_context(cafile=ca_file),
            check_hostname=False,
        )
    lax.request("GET", "/")
    assert lax.getresponse().read() == b"Hello World!"
    assert not lax.sock.context.check_hostname and lax.sock.context.verify_mode
    # the default context (certifi) does not trust this test CA
    with pytest.raises(ssl.SSLCertVerificationError):
        HTTPSConnection("localhost", server.port).request("GET", "/")


def test_the_default_https_context_is_made_as_http_client_makes_it():
    ours = HTTPSConnection("example.com")._context
    reference = http.client.HTTPSConnection("example.com")._context  # type: ignore[attr-defined]
    for attr in ("check_hostname", "verify_mode", "post_handshake_auth"):
        assert getattr(ours, attr) == getattr(reference, attr), attr
    assert ours.check_hostname is True
    # loading the CA bundle takes ~20 ms: one context for all uncustomised connections
    assert HTTPSConnection("example.org")._context is ours


def test_the_deprecated_https_arguments_warn_as_on_python_3_11():
    for kw in ({"check_hostname": True}, {"key_file": None, "check_hostname": False}):
        with pytest.warns(DeprecationWarning, match="key_file, cert_file and check_hostname"):
            HTTPSConnection("example.com", **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        HTTPSConnection("example.com", context=ssl.create_default_context())


def test_https_default_context_is_not_shared_when_customised(tls_server):
    with pytest.warns(DeprecationWarning):
        a = HTTPSConnection("localhost", tls_server.port, check_hostname=False)
    b = HTTPSConnection("localhost", tls_server.port)
    assert a._context.check_hostname is False
    assert b._context.check_hostname is True
    assert b._context.verify_mode == ssl.CERT_REQUIRED


def test_client_certificate(server_factory, tls_ca, tls_cert, ca_file, tmp_path):
    sctx = server_context(tls_cert)
    sctx.verify_mode = ssl.CERT_REQUIRED
    tls_ca.configure_trust(sctx)
    seen = []

    def who(conn: ServerConn, req: Dict[str, Any]) -> None:
        seen.append(conn.sock.getpeercert())
        hello(conn, req)

    server = server_factory(keep_alive(who), ssl_context=sctx)
    client = tls_ca.issue_cert("client.example")
    cert_file, key_file = tmp_path / "client.pem", tmp_path / "client.key"
    client.cert_chain_pems[0].write_to_path(str(cert_file))
    client.private_key_pem.write_to_path(str(key_file))

    with pytest.warns(DeprecationWarning, match="key_file, cert_file"):
        conn = HTTPSConnection(
            "localhost",
            server.port,
            key_file=str(key_file),
            cert_file=str(cert_file),
            context=ssl.create_default_context(cafile=ca_file),
        )
    conn.request("GET", "/")
    assert conn.getresponse().read() == b"Hello World!"
    assert ("DNS", "client.example") in seen[0]["subjectAltName"]
    anon = HTTPSConnection(
        "localhost", server.port, context=ssl.create_default_context(cafile=ca_file)
    )
    with pytest.raises((ssl.SSLError, ConnectionError, http.client.HTTPException)):
        anon.request("GET", "/")
        anon.getresponse().read()
    assert len(seen) == 1


def test_timeout_set_on_the_socket_after_connecting(server_factory):
    # urllib3's pattern: connect, then conn.sock.settimeout(read_timeout).
    def slow(conn: ServerConn) -> None:
        while conn.read_request() is not None:
            gevent.sleep(0.3)
            conn.respond(200, b"late")

    server = server_factory(slow)
    conn = HTTPConnection(server.host, server.port)
    conn.connect()
    conn.sock.settimeout(0.05)
    conn.request("GET", "/")
    with pytest.raises(socket.timeout):
        conn.getresponse()
