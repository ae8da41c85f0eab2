"""HTTPS: certificate and host name verification, client certificates, ALPN, SNI,
keep-alive over TLS, and ``insecure`` kept apart from verified clients.

Servers are gevent StreamServers on loopback with certificates from trustme. The
trustme CA is not in certifi's bundle, so a client that uses the default trust
store must refuse it.
"""

from __future__ import annotations

import datetime
import ssl
import time
from typing import Any, Dict, List

import gevent
import gevent.event
import gevent.ssl
import pytest
from conftest import keep_alive

from geventhttpclient import HTTPClient
from geventhttpclient.exceptions import ConnectError, ConnectionClosed, TLSError

trustme = pytest.importorskip("trustme")

TIMEOUT = 2.0
"""connection_timeout for every client here: a broken handshake fails fast."""


# -- fixtures and helpers --------------------------------------------------------------


def gevent_server_context(cert: Any) -> ssl.SSLContext:
    """A server context whose handshakes yield to the hub: a *gevent* SSLContext.

    (A stdlib ``ssl.SSLContext`` given to a gevent StreamServer does blocking
    handshakes and would freeze the client greenlets of the same process.)
    """
    ctx = gevent.ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(ctx)
    return ctx


@pytest.fixture
def server_ssl_context(tls_cert):
    """Overrides conftest's with a gevent SSLContext (see gevent_server_context)."""
    return gevent_server_context(tls_cert)


@pytest.fixture
def release():
    ev = gevent.event.Event()
    yield ev
    ev.set()


def ok_body(conn, req):
    conn.respond(200, b"hello tls", [("Content-Type", "text/plain")])


def recording(info: List[Dict[str, Any]]):
    """A keep-alive handler that records the TLS facts of each connection."""

    def handler(conn):
        sock = conn.sock
        info.append(
            {
                "peercert": sock.getpeercert(),
                "alpn": sock.selected_alpn_protocol(),
                "version": sock.version(),
            }
        )
        keep_alive(ok_body)(conn)

    return handler


@pytest.fixture
def https_server(server_factory, server_ssl_context):
    """Serves "hello tls" with a certificate for localhost/127.0.0.1/::1 from tls_ca."""
    return server_factory(keep_alive(ok_body), ssl_context=server_ssl_context)


@pytest.fixture(scope="module")
def other_ca():
    """A CA nobody trusts."""
    return trustme.CA()


def client_for(server, **kw) -> HTTPClient:
    kw.setdefault("connection_timeout", TIMEOUT)
    kw.setdefault("network_timeout", TIMEOUT)
    return HTTPClient("127.0.0.1", server.port, ssl=True, **kw)


# -- verification ------------------------------------------------------------------------


def test_https_verifies_certificate_by_default(https_server):
    client = client_for(https_server)
    with pytest.raises(TLSError) as info:
        client.get("/")
    exc = info.value
    assert isinstance(exc, ssl.SSLError)
    assert isinstance(exc, OSError)
    assert isinstance(exc.__cause__, ssl.SSLCertVerificationError)
    assert exc.reason == "CERTIFICATE_VERIFY_FAILED"
    assert https_server.requests == []  # nothing was sent to an unverified peer
    assert client.statistics().connections == 0


def test_https_with_ca_certs_succeeds(https_server, ca_file):
    client = client_for(https_server, ssl_options={"ca_certs": ca_file})
    response = client.get("/path")
    assert response.status_code == 200
    assert response.read() == b"hello tls"
    assert https_server.requests[0]["target"] == "/path"
    assert https_server.requests[0]["headers"]["host"] == [f"127.0.0.1:{https_server.port}"]


def test_https_rejects_certificate_for_another_host(server_factory, tls_ca, ca_file):
    cert = tls_ca.issue_cert("otherhost")
    server = server_factory(keep_alive(ok_body), ssl_context=gevent_server_context(cert))
    client = client_for(server, ssl_options={"ca_certs": ca_file})
    with pytest.raises(TLSError) as info:
        client.get("/")
    assert info.value.reason == "CERTIFICATE_VERIFY_FAILED"
    assert "mismatch" in str(info.value).lower()
    assert server.requests == []


def test_server_hostname_option_names_the_host_to_verify(server_factory, tls_ca, ca_file):
    cert = tls_ca.issue_cert("otherhost")
    server = server_factory(keep_alive(ok_body), ssl_context=gevent_server_context(cert))
    client = client_for(server, ssl_options={"ca_certs": ca_file, "server_hostname": "otherhost"})
    assert client.get("/").read() == b"hello tls"


def test_https_rejects_expired_certificate(server_factory, tls_ca, ca_file):
    now = datetime.datetime.now(datetime.timezone.utc)
    try:
        cert = tls_ca.issue_cert(
            "localhost",
            "127.0.0.1",
            not_before=now - datetime.timedelta(days=10),
            not_after=now - datetime.timedelta(days=1),
        )
    except TypeError:  # pragma: no cover - trustme without not_after
        pytest.skip("this trustme cannot issue an expired certificate")
    server = server_factory(keep_alive(ok_body), ssl_context=gevent_server_context(cert))
    client = client_for(server, ssl_options={"ca_certs": ca_file})
    with pytest.raises(TLSError) as info:
        client.get("/")
    assert info.value.reason == "CERTIFICATE_VERIFY_FAILED"
    assert "expired" in str(info.value)
    assert server.requests == []


def test_plaintext_server_fails_tls_handshake_with_tls_error(server_factory, ca_file):
    def handler(conn):
        conn.recv_more()  # the ClientHello
        conn.send(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        conn.close()

    server = server_factory(handler)
    client = HTTPClient(
        "127.0.0.1",
        server.port,
        ssl=True,
        ssl_options={"ca_certs": ca_file},
        connection_timeout=TIMEOUT,
    )
    with pytest.raises(TLSError) as info:
        client.get("/")
    assert isinstance(info.value, ssl.SSLError)
    assert server.raw.startswith(b"\x16\x03")  # a TLS handshake record came in
    assert client.statistics().connections == 0


def test_reset_during_handshake_fails_with_tls_or_connect_error(server_factory, ca_file):
    def handler(conn):
        conn.recv_more()  # the ClientHello
        conn.reset()

    server = server_factory(handler)
    client = HTTPClient(
        "127.0.0.1",
        server.port,
        ssl=True,
        ssl_options={"ca_certs": ca_file},
        connection_timeout=TIMEOUT,
    )
    t0 = time.monotonic()
    with pytest.raises((TLSError, ConnectError)) as info:
        client.get("/")
    assert time.monotonic() - t0 < TIMEOUT / 2  # the reset ends it, not the timeout
    assert not isinstance(info.value, TimeoutError)
    assert server.connections == 1
    assert client.statistics().connections == 0


def test_tls_handshake_does_not_block_other_greenlets(server_factory, release):
    # The server accepts and never answers the ClientHello: while the client waits
    # for the handshake, the hub must keep running other greenlets (here: the
    # server's accept and handler, and a ticker).
    accepted = gevent.event.Event()

    def handler(conn):
        accepted.set()
        release.wait()

    server = server_factory(handler)
    ticks: List[float] = []

    def ticker():
        while True:
            ticks.append(time.monotonic())
            gevent.sleep(0.01)

    t = gevent.spawn(ticker)
    try:
        client = HTTPClient("127.0.0.1", server.port, ssl=True, connection_timeout=0.3)
        with pytest.raises(TimeoutError):
            client.get("/")
    finally:
        t.kill()
    assert accepted.is_set()
    assert len(ticks) >= 10


# -- insecure ------------------------------------------------------------------------------


def test_insecure_accepts_untrusted_certificate(server_factory, other_ca):
    server = server_factory(
        keep_alive(ok_body), ssl_context=gevent_server_context(other_ca.issue_cert("127.0.0.1"))
    )
    response = client_for(server, insecure=True).get("/")
    assert response.status_code == 200
    assert response.read() == b"hello tls"


def test_insecure_does_not_verify_hostname_either(server_factory, tls_ca, ca_file):
    # trusted CA, wrong name: only the host name check could fail here
    server = server_factory(
        keep_alive(ok_body), ssl_context=gevent_server_context(tls_ca.issue_cert("otherhost"))
    )
    with pytest.raises(TLSError):
        client_for(server, ssl_options={"ca_certs": ca_file}).get("/")
    client = client_for(server, ssl_options={"ca_certs": ca_file}, insecure=True)
    assert client.get("/").read() == b"hello tls"


def test_insecure_connection_is_never_used_by_a_verified_client(server_factory, other_ca):
    server = server_factory(
        keep_alive(ok_body), ssl_context=gevent_server_context(other_ca.issue_cert("127.0.0.1"))
    )
    insecure = client_for(server, insecure=True)
    verified = client_for(server)
    assert insecure.get("/").read() == b"hello tls"
    assert insecure.statistics().idle == 1
    with pytest.raises(TLSError):
        verified.get("/")
    assert verified.statistics().connections == 0
    assert verified.statistics().created == 0
    # the insecure client still works, on its own (reused) connection
    assert insecure.get("/").read() == b"hello tls"
    assert insecure.statistics().created == 1
    assert insecure.statistics().reused == 1
    # only the insecure client's connection got past the handshake to the handler
    assert server.connections == 1
    assert len(server.requests) == 2


# -- configuration -----------------------------------------------------------------------------


def test_ssl_context_factory_is_used(https_server, tls_ca):
    calls: List[Dict[str, Any]] = []

    def factory(**kw):
        calls.append(kw)
        ctx = gevent.ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        tls_ca.configure_trust(ctx)  # trust comes only from here: no ca_certs given
        return ctx

    client = client_for(https_server, ssl_context_factory=factory)
    assert client.get("/").read() == b"hello tls"
    assert len(calls) == 1  # once per client, not per connection
    client.get("/").read()
    assert len(calls) == 1


def test_ssl_context_factory_returning_a_stdlib_context_works(https_server, tls_ca):
    # 2.x users and Locust pass gevent.ssl.create_default_context, which returns a
    # stdlib ssl.SSLContext unless the process is monkey-patched; the client must
    # still do cooperative (gevent) TLS I/O with it.
    def factory(**kw):
        ctx = ssl.create_default_context()
        tls_ca.configure_trust(ctx)
        return ctx

    client = client_for(https_server, ssl_context_factory=factory)
    assert client.get("/").read() == b"hello tls"


def test_client_certificate_is_presented(server_factory, tls_ca, tls_cert, ca_file, tmp_path):
    server_ctx = gevent_server_context(tls_cert)
    server_ctx.verify_mode = ssl.CERT_REQUIRED
    tls_ca.configure_trust(server_ctx)
    info: List[Dict[str, Any]] = []
    server = server_factory(recording(info), ssl_context=server_ctx)

    client_cert = tls_ca.issue_cert("client@example.org")
    certfile, keyfile = tmp_path / "client.pem", tmp_path / "client.key"
    client_cert.cert_chain_pems[0].write_to_path(str(certfile))
    client_cert.private_key_pem.write_to_path(str(keyfile))
    client = client_for(
        server,
        ssl_options={"ca_certs": ca_file, "certfile": str(certfile), "keyfile": str(keyfile)},
    )
    assert client.get("/").read() == b"hello tls"
    assert len(info) == 1
    san = info[0]["peercert"]["subjectAltName"]
    assert ("email", "client@example.org") in san


def test_server_requiring_client_certificate_refuses_client_without_one(
    server_factory, tls_ca, tls_cert, ca_file
):
    server_ctx = gevent_server_context(tls_cert)
    server_ctx.verify_mode = ssl.CERT_REQUIRED
    tls_ca.configure_trust(server_ctx)
    info: List[Dict[str, Any]] = []
    server = server_factory(recording(info), ssl_context=server_ctx)
    client = client_for(server, ssl_options={"ca_certs": ca_file})
    # With TLS 1.3 the refusal (an alert) may only arrive when reading the response.
    with pytest.raises((TLSError, ConnectionClosed)):
        client.get("/")
    assert info == []
    assert server.requests == []


def test_alpn_offers_only_http_1_1(server_factory, tls_cert, ca_file):
    server_ctx = gevent_server_context(tls_cert)
    server_ctx.set_alpn_protocols(["h2", "http/1.1"])  # h2 preferred, if offered
    info: List[Dict[str, Any]] = []
    server = server_factory(recording(info), ssl_context=server_ctx)
    client_for(server, ssl_options={"ca_certs": ca_file}).get("/").read()
    assert info[0]["alpn"] == "http/1.1"


@pytest.mark.parametrize(
    "host, options, expected",
    [
        ("localhost", {}, "localhost"),
        ("127.0.0.1", {}, None),  # RFC 6066: no IP literals in SNI
        ("127.0.0.1", {"server_hostname": "localhost"}, "localhost"),
    ],
)
def test_sni_sends_server_hostname(server_factory, tls_cert, ca_file, host, options, expected):
    server_ctx = gevent_server_context(tls_cert)
    names: List[Any] = []

    def sni(sslobj, name, ctx):
        names.append(name)
        return None

    server_ctx.sni_callback = sni
    server = server_factory(keep_alive(ok_body), ssl_context=server_ctx)
    client = HTTPClient(
        host,
        server.port,
        ssl=True,
        ssl_options={"ca_certs": ca_file, **options},
        connection_timeout=TIMEOUT,
    )
    assert client.get("/").read() == b"hello tls"
    assert names == [expected]


def test_from_url_https_uses_tls_and_ca_certs(https_server, ca_file):
    client = HTTPClient.from_url(
        f"https://localhost:{https_server.port}/",
        ssl_options={"ca_certs": ca_file},
        connection_timeout=TIMEOUT,
    )
    assert client.ssl
    response = client.get("/a?b=c")
    assert response.status_code == 200
    assert response.read() == b"hello tls"
    req = https_server.requests[0]
    assert req["target"] == "/a?b=c"
    assert req["headers"]["host"] == [f"localhost:{https_server.port}"]


def test_keep_alive_over_tls_reuses_one_connection(server_factory, server_ssl_context, ca_file):
    info: List[Dict[str, Any]] = []
    server = server_factory(recording(info), ssl_context=server_ssl_context)
    client = client_for(server, ssl_options={"ca_certs": ca_file})
    for _ in range(4):
        assert client.get("/").read() == b"hello tls"
    assert server.connections == 1
    assert len(info) == 1
    assert len(server.requests) == 4
    stats = client.statistics()
    assert stats.created == 1
    assert stats.reused == 3
