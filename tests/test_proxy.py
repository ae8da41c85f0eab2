"""HTTP proxies: absolute-form requests for http:// origins, CONNECT tunnels for
https:// origins, Proxy-Authorization, and refusals.

The proxy is a scripted loopback server. For CONNECT it answers 200 and then pipes
bytes both ways to a real TLS origin (trustme certificate), so the TLS handshake is
between the client and the origin, through the tunnel.

Origin names such as ``origin.test`` are only ever sent to the proxy; a guard
replaces name resolution so that any attempt to resolve anything but loopback names
fails at once instead of leaving the machine (and is recorded).
"""

from __future__ import annotations

import base64
import ssl
from typing import Any, List

import gevent
import gevent.event
import gevent.socket
import gevent.ssl
import pytest
from conftest import keep_alive, pipe

from geventhttpclient import HTTPClient
from geventhttpclient.exceptions import ConnectError, ConnectTimeout, TLSError
from geventhttpclient.timings import clock

# Every test: only loopback names resolve (the conftest fixture).
pytestmark = pytest.mark.usefixtures("resolved")

TIMEOUT = 2.0


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def proxy_answers(conn, req):
    conn.respond(200, b"from proxy", [("Content-Type", "text/plain")])


def origin_answers(conn, req):
    conn.respond(200, b"from origin " + req["target"].encode())


def connect_proxy(answer: bytes = b"HTTP/1.1 200 Connection established\r\n\r\n"):
    """A CONNECT-only proxy handler: answers ``answer``; on 2xx pipes to the target
    port on 127.0.0.1 (every origin in these tests is local)."""

    def handler(conn):
        req = conn.read_request()
        if req is None:
            return
        if req["method"] != "CONNECT":
            conn.respond(405, reason="Method Not Allowed")
            return
        if not answer.startswith(b"HTTP/1.1 2"):
            conn.send(answer)
            return
        _, _, port = req["target"].rpartition(":")
        upstream = gevent.socket.create_connection(("127.0.0.1", int(port)), timeout=TIMEOUT)
        upstream.settimeout(None)
        try:
            conn.send(answer)
            if conn.buf:
                upstream.sendall(conn.buf)
                conn.buf = b""
            gevent.joinall(
                [gevent.spawn(pipe, conn.sock, upstream), gevent.spawn(pipe, upstream, conn.sock)]
            )
        finally:
            upstream.close()

    return handler


@pytest.fixture
def origin_sni() -> List[Any]:
    return []


@pytest.fixture
def tls_origin(server_factory, tls_cert, origin_sni):
    """A TLS origin (certificate for localhost from tls_ca) recording the SNI it got."""
    ctx = gevent.ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls_cert.configure_cert(ctx)
    ctx.sni_callback = lambda sslobj, name, c: origin_sni.append(name)
    return server_factory(keep_alive(origin_answers), ssl_context=ctx)


def via_proxy(host: str, port: Any, proxy, **kw) -> HTTPClient:
    kw.setdefault("connection_timeout", TIMEOUT)
    kw.setdefault("network_timeout", TIMEOUT)
    return HTTPClient(host, port, proxy_host="127.0.0.1", proxy_port=proxy.port, **kw)


# -- http:// through a proxy -------------------------------------------------------------------


def test_http_via_proxy_sends_absolute_form_with_proxy_authorization(server_factory, resolved):
    proxy = server_factory(keep_alive(proxy_answers))
    client = via_proxy("origin.test", 8080, proxy, proxy_user="user", proxy_password="pa:ss")
    response = client.get("/path?q=1")
    assert response.status_code == 200
    assert response.read() == b"from proxy"
    req = proxy.requests[0]
    assert req["method"] == "GET"
    assert req["target"] == "http://origin.test:8080/path?q=1"
    assert req["version"] == "HTTP/1.1"
    assert req["raw_head"].startswith(b"GET http://origin.test:8080/path?q=1 HTTP/1.1\r\n")
    assert req["headers"]["host"] == ["origin.test:8080"]
    assert req["headers"]["proxy-authorization"] == [basic("user", "pa:ss")]
    assert "origin.test" not in resolved  # only the proxy's address was resolved


def test_http_via_proxy_without_credentials_sends_no_proxy_authorization(server_factory):
    proxy = server_factory(keep_alive(proxy_answers))
    client = via_proxy("origin.test", 8080, proxy)
    assert client.get("/").read() == b"from proxy"
    req = proxy.requests[0]
    assert req["target"] == "http://origin.test:8080/"
    assert "proxy-authorization" not in req["headers"]


def test_http_via_proxy_leaves_default_port_out_of_target_and_host(server_factory):
    proxy = server_factory(keep_alive(proxy_answers))
    client = via_proxy("origin.test", None, proxy, proxy_user="u", proxy_password="p")
    client.post("/submit", body=b"data").read()
    req = proxy.requests[0]
    assert req["method"] == "POST"
    assert req["target"] == "http://origin.test/submit"
    assert req["headers"]["host"] == ["origin.test"]
    assert req["body"] == b"data"


def test_http_via_proxy_keeps_the_proxy_connection_alive(server_factory):
    proxy = server_factory(keep_alive(proxy_answers))
    client = via_proxy("origin.test", 8080, proxy, proxy_user="u", proxy_password="p")
    for path in ("/a", "/b", "/c"):
        assert client.get(path).read() == b"from proxy"
    assert proxy.connections == 1
    assert [r["target"] for r in proxy.requests] == [
        "http://origin.test:8080/a",
        "http://origin.test:8080/b",
        "http://origin.test:8080/c",
    ]
    assert all(r["headers"]["proxy-authorization"] == [basic("u", "p")] for r in proxy.requests)


# -- https:// through a CONNECT tunnel -------------------------------------------------------


def test_https_via_proxy_tunnels_with_connect_and_handshakes_with_origin(
    server_factory, tls_origin, origin_sni, ca_file, resolved
):
    proxy = server_factory(connect_proxy())
    client = via_proxy(
        "localhost",
        tls_origin.port,
        proxy,
        ssl=True,
        ssl_options={"ca_certs": ca_file},
        proxy_user="user",
        proxy_password="secret",
    )
    response = client.get("/secure?x=1")
    assert response.status_code == 200
    assert response.read() == b"from origin /secure?x=1"

    authority = f"localhost:{tls_origin.port}"
    assert len(proxy.requests) == 1
    connect = proxy.requests[0]
    assert connect["raw_head"].startswith(f"CONNECT {authority} HTTP/1.1\r\n".encode())
    assert connect["headers"]["host"] == [authority]
    assert connect["headers"]["proxy-authorization"] == [basic("user", "secret")]

    # the origin did the TLS handshake (SNI = the origin's name) and got an
    # origin-form request
    assert origin_sni == ["localhost"]
    req = tls_origin.requests[0]
    assert req["target"] == "/secure?x=1"
    assert req["headers"]["host"] == [authority]
    assert "localhost" not in resolved  # the client resolved the proxy, not the origin
    client.close()


def test_https_via_proxy_never_sends_proxy_authorization_inside_the_tunnel(
    server_factory, tls_origin, ca_file
):
    proxy = server_factory(connect_proxy())
    client = via_proxy(
        "localhost",
        tls_origin.port,
        proxy,
        ssl=True,
        ssl_options={"ca_certs": ca_file},
        proxy_user="user",
        proxy_password="secret",
    )
    client.get("/").read()
    client.post("/", body=b"x").read()
    assert len(tls_origin.requests) == 2
    for req in tls_origin.requests:
        assert "proxy-authorization" not in req["headers"]
    assert b"proxy-authorization" not in tls_origin.raw.lower()
    assert b"secret" not in tls_origin.raw
    assert base64.b64encode(b"user:secret") not in tls_origin.raw
    client.close()


def test_https_via_proxy_reuses_the_tunnel_for_keep_alive(server_factory, tls_origin, ca_file):
    proxy = server_factory(connect_proxy())
    client = via_proxy(
        "localhost", tls_origin.port, proxy, ssl=True, ssl_options={"ca_certs": ca_file}
    )
    for path in ("/1", "/2", "/3"):
        assert client.get(path).read() == b"from origin " + path.encode()
    assert len(proxy.requests) == 1  # one CONNECT
    assert "proxy-authorization" not in proxy.requests[0]["headers"]
    assert tls_origin.connections == 1
    assert client.statistics().created == 1
    client.close()


def test_https_via_proxy_verifies_the_origin_certificate(server_factory, tls_origin, ca_file):
    # Without ca_certs the trustme origin is untrusted: the handshake through the
    # tunnel must fail, proving the certificate checked is the origin's own.
    proxy = server_factory(connect_proxy())
    client = via_proxy("localhost", tls_origin.port, proxy, ssl=True)
    with pytest.raises(TLSError) as info:
        client.get("/")
    assert info.value.reason == "CERTIFICATE_VERIFY_FAILED"
    assert len(proxy.requests) == 1
    assert tls_origin.requests == []
    assert client.statistics().connections == 0


def test_proxy_answering_407_to_connect_raises_connect_error(server_factory, tls_origin, ca_file):
    proxy = server_factory(
        connect_proxy(
            b"HTTP/1.1 407 Proxy Authentication Required\r\n"
            b'Proxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\n\r\n'
        )
    )
    client = via_proxy(
        "localhost",
        tls_origin.port,
        proxy,
        ssl=True,
        ssl_options={"ca_certs": ca_file},
        proxy_user="user",
        proxy_password="wrong",
    )
    with pytest.raises(ConnectError) as info:
        client.get("/")
    assert "407" in str(info.value)
    assert isinstance(info.value, OSError)
    assert len(proxy.requests) == 1
    assert tls_origin.connections == 0
    assert client.statistics().connections == 0


def test_proxy_closing_during_connect_raises_connect_error(server_factory, tls_origin, ca_file):
    def handler(conn):
        conn.read_request()
        conn.close()

    proxy = server_factory(handler)
    client = via_proxy(
        "localhost", tls_origin.port, proxy, ssl=True, ssl_options={"ca_certs": ca_file}
    )
    with pytest.raises(ConnectError):
        client.get("/")
    assert len(proxy.requests) == 1
    assert client.statistics().connections == 0


def test_proxy_not_answering_connect_raises_connect_timeout(server_factory, tls_origin, ca_file):
    release = gevent.event.Event()

    def handler(conn):
        conn.read_request()
        release.wait()

    proxy = server_factory(handler)
    client = via_proxy(
        "localhost",
        tls_origin.port,
        proxy,
        ssl=True,
        ssl_options={"ca_certs": ca_file},
        connection_timeout=0.2,
    )
    try:
        with pytest.raises(ConnectTimeout):
            client.get("/")
    finally:
        release.set()
    assert len(proxy.requests) == 1
    assert client.statistics().connections == 0


def test_the_proxy_handshake_counts_as_connecting(server_factory, tls_origin, ca_file):
    """The CONNECT exchange is in ``timings.connect``: else the request's start, and
    its total, would leave it out."""
    delay = 0.1
    slow = connect_proxy()

    def slow_proxy(conn):
        gevent.sleep(delay)
        slow(conn)

    proxy = server_factory(slow_proxy)
    client = via_proxy("localhost", tls_origin.port, proxy, ssl_options={"ca_certs": ca_file})
    with client:
        began = clock()
        resp = client.get("/")
        resp.read()
        took = clock() - began
    t = resp.timings
    assert t.connect is not None and t.connect >= delay
    assert t.total is not None and abs(t.total - took) < 0.01
