"""HTTPS proxies end to end: TLS to the proxy (verified, SNI of the proxy's name),
absolute-form requests over it for http origins, and for https origins a CONNECT
tunnel carrying the origin's own TLS session (TLS in TLS).

The proxy is tests/httpsproxy.py; the origins are conftest's ScriptedServers, which
record what they received, so every test can check that Proxy-Authorization went
to the proxy only. Origin names such as ``origin.test`` reach the proxy only: a
guard makes any other lookup than a loopback name fail (and records it).
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import ssl
from typing import Any, List, Optional

import gevent.event
import gevent.socket
import gevent.ssl
import pytest
from conftest import ServerConn, basic, keep_alive
from httpsproxy import HTTPSProxy

from geventhttpclient import HTTPClient
from geventhttpclient.exceptions import (
    CertificateVerifyError,
    ConnectTimeout,
    ProxyAuthenticationError,
    ProxyError,
    ReadTimeout,
)
from geventhttpclient.requests import Session

# Every test: only loopback names resolve (the conftest fixture).
pytestmark = pytest.mark.usefixtures("resolved")

TIMEOUT = 5.0
MIB = 1 << 20
USER, PASSWORD = "user", "pa:ss"
SECRET = base64.b64encode(f"{USER}:{PASSWORD}".encode())


@pytest.fixture
def proxy_factory(tls_cert):
    proxies: List[HTTPSProxy] = []

    def make(**kw: Any) -> HTTPSProxy:
        p = HTTPSProxy(kw.pop("cert", tls_cert), **kw)
        proxies.append(p)
        return p

    yield make
    for p in proxies:
        assert not p.errors, p.errors
        p.stop()


@pytest.fixture
def proxy(proxy_factory):
    return proxy_factory(credentials=(USER, PASSWORD))


def answer(conn: ServerConn, req: Any) -> None:
    conn.respond(200, b"from origin " + req["target"].encode())


@pytest.fixture
def http_origin(server_factory):
    return server_factory(keep_alive(answer))


def origin_context(tls_ca: Any) -> ssl.SSLContext:
    """A server context with a certificate for origin.test (not localhost: its SNI
    then differs from the proxy's)."""
    ctx = gevent.ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls_ca.issue_cert("origin.test").configure_cert(ctx)
    return ctx


@pytest.fixture
def tls_origin(server_factory, tls_ca):
    """A TLS origin whose certificate names origin.test (not localhost: its SNI then
    differs from the proxy's), recording the server names it was sent."""
    ctx = origin_context(tls_ca)
    names: List[Optional[str]] = []
    ctx.sni_callback = lambda sslobj, name, c: names.append(name)
    server = server_factory(keep_alive(answer), ssl_context=ctx)
    server.sni = names
    return server


def proxy_url(proxy: HTTPSProxy, credentials: bool = True) -> str:
    """The proxy by the name its certificate has (localhost, so it gets SNI)."""
    if credentials:
        return proxy.url_with(USER, PASSWORD, host="localhost")
    return f"https://localhost:{proxy.port}"


def https_client(via: HTTPSProxy, origin: Any, ca_file: str, **kw: Any) -> HTTPClient:
    """An https://origin.test client through ``proxy``; the CA of ssl_options
    verifies the proxy and the origin alike."""
    kw.setdefault("proxy", proxy_url(via))
    kw.setdefault("connection_timeout", TIMEOUT)
    kw.setdefault("network_timeout", TIMEOUT)
    return HTTPClient("origin.test", origin.port, ssl_options={"ca_certs": ca_file}, **kw)


def http_client(via: HTTPSProxy, origin: Any, ca_file: str, **kw: Any) -> HTTPClient:
    """An http://origin.test client through ``proxy`` (only the proxy is TLS)."""
    kw.setdefault("proxy", proxy_url(via))
    kw.setdefault("connection_timeout", TIMEOUT)
    kw.setdefault("network_timeout", TIMEOUT)
    return HTTPClient("origin.test", origin.port, proxy_ssl_options={"ca_certs": ca_file}, **kw)


def assert_no_credentials_reached(origin: Any) -> None:
    raw = origin.raw
    assert b"proxy-authorization" not in raw.lower()
    assert SECRET not in raw and PASSWORD.encode() not in raw
    for req in origin.requests:
        assert "proxy-authorization" not in req["headers"]


# -- http:// targets: absolute-form over TLS to the proxy ----------------------------------


def test_http_target_goes_in_absolute_form_over_tls_to_the_proxy(
    proxy, http_origin, ca_file, resolved
):
    client = http_client(proxy, http_origin, ca_file)
    try:
        assert client.get("/a?b=c").read() == b"from origin /a?b=c"
        assert client.post("/p", body=b"data").read() == b"from origin /p"
    finally:
        client.close()
    assert proxy.sni == ["localhost"]  # TLS to the proxy, named as its URL names it
    assert [r["target"] for r in proxy.requests] == [
        f"http://origin.test:{http_origin.port}/a?b=c",
        f"http://origin.test:{http_origin.port}/p",
    ]
    for req in proxy.requests:
        assert req["headers"]["proxy-authorization"] == [basic(USER, PASSWORD)]
        assert req["headers"]["host"] == [f"origin.test:{http_origin.port}"]
    assert proxy.connections == 1  # keep-alive to the proxy
    assert not proxy.tunnels
    assert len(proxy.forwarded) == 2  # the proxy consumed the credentials
    assert all(b"proxy-authorization" not in head.lower() for head in proxy.forwarded)
    assert_no_credentials_reached(http_origin)
    assert "origin.test" not in resolved  # the proxy resolves the origin


def test_http_target_through_a_proxy_that_wants_other_credentials_gets_its_407(
    proxy_factory, http_origin, ca_file
):
    """Absolute-form: the 407 is the proxy's answer to the request itself, returned
    like any response (as through an http:// proxy)."""
    proxy = proxy_factory(credentials=("someone", "else"))
    client = http_client(proxy, http_origin, ca_file)
    try:
        response = client.get("/")
        assert response.status_code == 407
        assert response.headers["Proxy-Authenticate"] == 'Basic realm="test proxy"'
        response.read()
    finally:
        client.close()
    assert not http_origin.requests


def test_http_target_proxy_certificate_is_verified(proxy, http_origin, tls_ca, tmp_path):
    import trustme

    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    client = http_client(proxy, http_origin, str(other))
    try:
        with pytest.raises(CertificateVerifyError):
            client.get("/")
    finally:
        client.close()
    assert not proxy.requests and not http_origin.requests


# -- https:// targets: TLS in TLS ------------------------------------------------------


def test_https_target_runs_the_origins_tls_inside_the_proxys(proxy, tls_origin, ca_file, resolved):
    client = https_client(proxy, tls_origin, ca_file)
    try:
        response = client.get("/secret")
        assert response.read() == b"from origin /secret"
    finally:
        client.close()
    assert proxy.sni == ["localhost"]  # outer handshake: the proxy's name
    assert tls_origin.sni == ["origin.test"]  # inner handshake: the origin's
    [connect] = proxy.requests  # all the proxy saw in the clear
    assert connect["method"] == "CONNECT"
    assert connect["target"] == f"origin.test:{tls_origin.port}"
    assert connect["headers"]["proxy-authorization"] == [basic(USER, PASSWORD)]
    assert [r["target"] for r in tls_origin.requests] == ["/secret"]
    assert tls_origin.requests[0]["headers"]["host"] == [f"origin.test:{tls_origin.port}"]
    assert_no_credentials_reached(tls_origin)
    assert "origin.test" not in resolved


def test_https_target_keeps_the_tunnel_alive_between_requests(proxy, tls_origin, ca_file):
    client = https_client(proxy, tls_origin, ca_file)
    try:
        for path in ("/1", "/2", "/3"):
            assert client.get(path).read() == b"from origin " + path.encode()
        assert client.post("/4", body=b"x" * 100_000).read() == b"from origin /4"
    finally:
        client.close()
    assert proxy.connections == 1 and len(proxy.tunnels) == 1
    assert tls_origin.connections == 1
    assert [r["target"] for r in tls_origin.requests] == ["/1", "/2", "/3", "/4"]
    assert tls_origin.requests[3]["body"] == b"x" * 100_000


def test_https_target_resumes_the_origins_tls_session_on_a_new_tunnel(
    proxy, server_factory, tls_ca, ca_file
):
    """tls_session_reuse: the inner session of a closed tunnel is resumed by the
    next one (the origin's session, not the proxy's)."""
    resumed: List[bool] = []

    def answer_and_close(conn: ServerConn, req: Any) -> None:
        resumed.append(conn.sock.session_reused)
        conn.respond(200, b"ok", [("Connection", "close")])

    ctx = origin_context(tls_ca)
    origin = server_factory(keep_alive(answer_and_close), ssl_context=ctx)
    client = https_client(proxy, origin, ca_file, tls_session_reuse=True)
    try:
        for _ in range(3):
            assert client.get("/").read() == b"ok"
    finally:
        client.close()
    assert len(proxy.tunnels) == 3  # a new tunnel each time
    assert resumed == [False, True, True]


def test_https_target_proxy_refusing_credentials_raises_proxy_authentication_error(
    proxy_factory, tls_origin, ca_file
):
    proxy = proxy_factory(credentials=("someone", "else"))
    client = https_client(proxy, tls_origin, ca_file)
    try:
        with pytest.raises(ProxyAuthenticationError) as info:
            client.get("/")
    finally:
        client.close()
    assert info.value.reply == 407
    assert not tls_origin.connections


def test_https_target_proxy_refusing_the_tunnel_raises_proxy_error(
    proxy_factory, tls_origin, ca_file
):
    proxy = proxy_factory(connect_status=403)
    client = https_client(proxy, tls_origin, ca_file, proxy=proxy_url(proxy, False))
    try:
        with pytest.raises(ProxyError) as info:
            client.get("/")
    finally:
        client.close()
    assert info.value.reply == 403
    assert not isinstance(info.value, ProxyAuthenticationError)


def test_https_target_untrusted_proxy_certificate_fails_before_connect(
    proxy_factory, tls_origin, ca_file
):
    import trustme

    proxy = proxy_factory(cert=trustme.CA().issue_cert("localhost"))  # another CA
    client = https_client(proxy, tls_origin, ca_file)
    try:
        with pytest.raises(CertificateVerifyError) as info:
            client.get("/")
    finally:
        client.close()
    assert f"https proxy localhost:{proxy.port}" in str(info.value)  # not the origin
    assert not proxy.requests  # no CONNECT, no credentials, over an unverified TLS
    assert not tls_origin.connections


def test_insecure_skips_verification_of_the_proxy_too(proxy_factory, server_factory):
    """insecure=True (verify=False on the Session): neither the proxy's certificate
    nor the origin's is checked, as the request asked."""
    import trustme

    untrusted = trustme.CA()
    proxy = proxy_factory(cert=untrusted.issue_cert("localhost"))
    ctx = gevent.ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    untrusted.issue_cert("origin.test").configure_cert(ctx)
    origin = server_factory(keep_alive(answer), ssl_context=ctx)
    client = HTTPClient(
        "origin.test",
        origin.port,
        ssl=True,
        insecure=True,
        proxy=proxy_url(proxy, False),
        connection_timeout=TIMEOUT,
        network_timeout=TIMEOUT,
    )
    try:
        assert client.get("/c").read() == b"from origin /c"
    finally:
        client.close()
    with Session() as session:
        session.proxies = {"https": proxy_url(proxy, False)}
        response = session.get(f"https://origin.test:{origin.port}/s", verify=False)
        assert response.content == b"from origin /s"
    assert len(proxy.tunnels) == 2


def test_https_target_proxy_with_the_wrong_name_fails_verification(
    proxy_factory, tls_origin, ca_file, tls_ca
):
    proxy = proxy_factory(cert=tls_ca.issue_cert("proxy.test"))  # not localhost
    client = https_client(proxy, tls_origin, ca_file)
    try:
        with pytest.raises(CertificateVerifyError):
            client.get("/")
    finally:
        client.close()
    assert not proxy.requests


def test_https_target_origin_certificate_is_verified_inside_the_tunnel(
    proxy, server_factory, ca_file
):
    import trustme

    ctx = gevent.ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    trustme.CA().issue_cert("origin.test").configure_cert(ctx)  # not our CA
    origin = server_factory(keep_alive(answer), ssl_context=ctx)
    client = https_client(proxy, origin, ca_file)
    try:
        with pytest.raises(CertificateVerifyError):
            client.get("/")
    finally:
        client.close()
    assert len(proxy.tunnels) == 1  # the proxy's TLS was fine; the origin's was not
    assert not origin.requests


def test_https_target_proxy_ssl_options_verify_the_proxy_apart(
    proxy_factory, server_factory, ca_file, tmp_path
):
    """ssl_options verify the proxy too, unless proxy_ssl_options say otherwise."""
    import trustme

    origin_ca = trustme.CA()
    ctx = gevent.ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    origin_ca.issue_cert("origin.test").configure_cert(ctx)
    origin = server_factory(keep_alive(answer), ssl_context=ctx)
    origin_file = tmp_path / "origin-ca.pem"
    origin_ca.cert_pem.write_to_path(str(origin_file))
    proxy = proxy_factory()  # signed by conftest's CA (ca_file)

    def client(**kw: Any) -> HTTPClient:
        return HTTPClient(
            "origin.test",
            origin.port,
            ssl_options={"ca_certs": str(origin_file)},
            proxy=proxy_url(proxy, False),
            connection_timeout=TIMEOUT,
            network_timeout=TIMEOUT,
            **kw,
        )

    same = client()
    try:
        with pytest.raises(CertificateVerifyError):  # the origin's CA cannot vouch for the proxy
            same.get("/")
    finally:
        same.close()
    apart = client(proxy_ssl_options={"ca_certs": ca_file})
    try:
        assert apart.get("/").read() == b"from origin /"
    finally:
        apart.close()


def test_https_target_a_callers_proxy_authorization_never_enters_the_tunnel(
    proxy_factory, tls_origin, ca_file
):
    """Fields named Proxy-Authorization in the client's headers or a request's own
    belong to the proxy: through a tunnel every byte goes to the origin."""
    proxy = proxy_factory()
    client = https_client(
        proxy,
        tls_origin,
        ca_file,
        proxy=proxy_url(proxy, False),
        headers={"Proxy-Authorization": basic(USER, PASSWORD)},
    )
    try:
        assert client.get("/1").read() == b"from origin /1"
        response = client.get("/2", headers={"Proxy-Authorization": basic(USER, PASSWORD)})
        assert response.read() == b"from origin /2"
    finally:
        client.close()
    assert_no_credentials_reached(tls_origin)


# MiBs between this hub's own client, proxy and origin: data is always waiting, so
# each side runs long stretches without yielding (as any gevent socket does).
@pytest.mark.hub_block_limit(1.0)
def test_https_target_streams_a_large_response_through_the_tunnel(
    proxy, server_factory, tls_ca, ca_file
):
    size = 4 * MIB + 7  # (client, proxy and origin share one hub: more only stalls it longer)
    body = os.urandom(size)

    def big(conn: ServerConn, req: Any) -> None:
        conn.respond(200, body)

    ctx = origin_context(tls_ca)
    origin = server_factory(keep_alive(big), ssl_context=ctx)
    client = https_client(proxy, origin, ca_file)
    try:
        response = client.get("/big")
        assert int(response.headers["Content-Length"]) == size
        digest = hashlib.sha256()
        got = 0
        while True:
            block = response.read(65536)
            if not block:
                break
            assert len(block) <= 65536
            digest.update(block)
            got += len(block)
        assert got == size and digest.digest() == hashlib.sha256(body).digest()
        assert client.get("/again").read() == body  # and the tunnel is reusable after it
    finally:
        client.close()
    assert proxy.connections == 1


def digest_of_body(conn: ServerConn, req: Any) -> None:
    conn.respond(200, hashlib.sha256(req["body"]).hexdigest().encode())


@pytest.mark.parametrize("kind", ["bytes", "file", "chunked"])
# MiBs between this hub's own client, proxy and origin: data is always waiting, so
# each side runs long stretches without yielding (as any gevent socket does).
@pytest.mark.hub_block_limit(1.0)
def test_https_target_uploads_a_large_body_through_the_tunnel(
    proxy, server_factory, tls_ca, ca_file, kind
):
    """Bytes, a file (no sendfile under TLS: read and sent in blocks) and chunks,
    through both TLS sessions. (Several MiB each way: test_tls_in_tls; conftest's
    origin collects a body by concatenation, which stops its hub beyond a few MiB.)"""
    size = 2 * MIB + 3
    data = os.urandom(size)
    ctx = origin_context(tls_ca)
    origin = server_factory(keep_alive(digest_of_body), ssl_context=ctx)
    body: Any = {
        "bytes": data,
        "file": io.BytesIO(data),
        "chunked": (data[i : i + 300_000] for i in range(0, size, 300_000)),
    }[kind]
    client = https_client(proxy, origin, ca_file)
    try:
        response = client.post("/upload", body=body)
        assert response.read() == hashlib.sha256(data).hexdigest().encode()
    finally:
        client.close()
    assert len(origin.requests[0]["body"]) == size


# MiBs between this hub's own client, proxy and origin: data is always waiting, so
# each side runs long stretches without yielding (as any gevent socket does).
@pytest.mark.hub_block_limit(1.0)
def test_https_target_file_body_from_disk_goes_through_the_tunnel(
    proxy, server_factory, tls_ca, ca_file, tmp_path
):
    """A real file (one os.sendfile would take on plain TCP) is read and sent
    through TLSInTLS, never written to the kernel socket past both TLS sessions."""
    data = os.urandom(2 * MIB + 1)
    path = tmp_path / "upload.bin"
    path.write_bytes(data)
    ctx = origin_context(tls_ca)
    origin = server_factory(keep_alive(digest_of_body), ssl_context=ctx)
    client = https_client(proxy, origin, ca_file)
    try:
        with open(path, "rb") as f:
            response = client.post("/upload", body=f)
        assert response.read() == hashlib.sha256(data).hexdigest().encode()
    finally:
        client.close()


def test_https_target_stalled_origin_times_out_with_network_timeout(
    proxy, server_factory, tls_ca, ca_file
):
    release = gevent.event.Event()

    def stall(conn: ServerConn) -> None:
        conn.read_request()
        release.wait(TIMEOUT)

    ctx = origin_context(tls_ca)
    origin = server_factory(stall, ssl_context=ctx)
    client = https_client(proxy, origin, ca_file, network_timeout=0.1)
    try:
        with pytest.raises(ReadTimeout):
            client.get("/")
    finally:
        release.set()
        client.close()


def test_https_target_stalled_origin_handshake_times_out_with_connection_timeout(
    proxy, server_factory, ca_file
):
    release = gevent.event.Event()
    origin = server_factory(lambda conn: release.wait(TIMEOUT))  # never a ServerHello
    client = https_client(proxy, origin, ca_file, connection_timeout=0.2)
    try:
        with pytest.raises(ConnectTimeout):
            client.get("/")
    finally:
        release.set()
        client.close()


def test_stalled_proxy_handshake_times_out_with_connection_timeout(
    server_factory, tls_origin, ca_file
):
    release = gevent.event.Event()
    silent = server_factory(lambda conn: release.wait(TIMEOUT))  # TCP, never TLS
    client = HTTPClient(
        "origin.test",
        tls_origin.port,
        ssl_options={"ca_certs": ca_file},
        proxy=f"https://localhost:{silent.port}",
        connection_timeout=0.2,
        network_timeout=TIMEOUT,
    )
    try:
        with pytest.raises(ConnectTimeout):
            client.get("/")
    finally:
        release.set()
        client.close()


# -- the requests-style Session --------------------------------------------------------


def test_session_https_proxy_verified_with_verify_for_both_kinds_of_target(
    proxy, tls_origin, http_origin, ca_file
):
    """verify=<CA file> verifies the https:// proxy too: nothing else here trusts
    its certificate."""
    url = proxy_url(proxy)
    with Session() as session:
        session.proxies = {"https": url, "http": url}
        session.verify = ca_file
        secure = session.get(f"https://origin.test:{tls_origin.port}/s", timeout=TIMEOUT)
        assert secure.status_code == 200 and secure.content == b"from origin /s"
        plain = session.get(f"http://origin.test:{http_origin.port}/p", timeout=TIMEOUT)
        assert plain.status_code == 200 and plain.content == b"from origin /p"
    assert [r["method"] for r in proxy.requests] == ["CONNECT", "GET"]
    for req in proxy.requests:
        assert req["headers"]["proxy-authorization"] == [basic(USER, PASSWORD)]
    assert tls_origin.sni == ["origin.test"] and "localhost" in proxy.sni
    assert_no_credentials_reached(tls_origin)
    assert_no_credentials_reached(http_origin)


def test_session_https_proxy_not_trusted_by_verify_fails(proxy, tls_origin, tmp_path):
    import trustme

    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    with Session() as session:
        session.proxies = {"https": proxy_url(proxy)}
        with pytest.raises(CertificateVerifyError):
            session.get(
                f"https://origin.test:{tls_origin.port}/", verify=str(other), timeout=TIMEOUT
            )
    assert not proxy.requests


def test_bytes_left_inside_the_inner_tls_make_an_idle_tunnel_stale(
    proxy, server_factory, tls_ca, ca_file
):
    """As over plain TLS (test_tls_io): unsolicited bytes after a body, left in the
    inner session by a read of just the body's rest, are seen by the liveness check
    (``TLSInTLS.pending``), so the next request gets a new tunnel, not those bytes."""
    body = b"b" * 20_000
    stale = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstale"

    def respond(conn: ServerConn, req: Any) -> None:
        if req["target"] == "/first":
            conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body + stale)
        else:
            conn.respond(200, b"fresh")

    ctx = origin_context(tls_ca)
    origin = server_factory(keep_alive(respond), ssl_context=ctx)
    with https_client(proxy, origin, ca_file) as client:
        first = client.get("/first")
        assert b"".join(iter(lambda: first.read(65536), b"")) == body
        assert client.get("/second").read() == b"fresh"
    assert origin.connections == 2
