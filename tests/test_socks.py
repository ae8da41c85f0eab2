"""SOCKS 4, 4a, 5 and 5h: the handshakes of ``geventhttpclient._socks`` against the
scripted server of ``tests/socksserver.py`` over real loopback sockets (every version,
with and without credentials, every refusal, malformed reply, early close and
stall), plus a fake stream that proves every read is exact.

Target names other than loopback ones never resolve: the client's ``lookup`` here
knows only ``localhost``, and the proxy resolves only ``localhost`` and the names a
test maps, so a name reaching the wrong side fails the test.
"""

from __future__ import annotations

import errno
import importlib.metadata
import json
import os
import re
import socket
import subprocess
import sys
import time
from typing import Any, List, Optional, Tuple

import gevent
import gevent.fileobject
import gevent.socket
import pytest
from conftest import basic, echo_json, keep_alive
from socksserver import SocksServer

from geventhttpclient import HTTPClient, Session, _socks
from geventhttpclient._proxies import ProxyConfig, parse_proxy_url
from geventhttpclient.exceptions import (
    CertificateVerifyError,
    ConnectError,
    ConnectTimeout,
    DNSError,
    ProxyAuthenticationError,
    ProxyError,
    ProxyProtocolError,
    RequestError,
)
from geventhttpclient.useragent import UserAgent

TIMEOUT = 5.0
SCHEMES = ["socks5", "socks5h", "socks4", "socks4a"]


class Lookup:
    """The client's resolver as ``_socks`` sees it: records every call."""

    def __init__(self, answers: Optional[dict] = None) -> None:
        self.calls: List[Tuple[str, int, bool]] = []
        self.answers = {"localhost": "127.0.0.1", **(answers or {})}

    def __call__(self, host: str, port: int, ipv4_only: bool) -> str:
        self.calls.append((host, port, ipv4_only))
        if host not in self.answers:
            raise DNSError(socket.EAI_NONAME, f"{host}: cannot resolve (test)")
        return self.answers[host]


def echo(conn: Any) -> None:
    """An origin that echoes what it receives."""
    while True:
        data = conn.sock.recv(65536)
        if not data:
            return
        conn.sock.sendall(data)


@pytest.fixture
def origin(server_factory):
    return server_factory(echo)


@pytest.fixture
def socks():
    """``socks(**kw)``: a started SocksServer, stopped after the test."""
    servers: List[SocksServer] = []

    def make(**kw: Any) -> SocksServer:
        s = SocksServer(**kw).start()
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.stop()


def run(
    server: SocksServer,
    url: str,
    host: str,
    port: int,
    lookup: Optional[Lookup] = None,
    timeout: float = TIMEOUT,
) -> Any:
    """Connect to the proxy, hand-shake to ``host:port``; the socket on success."""
    sock = gevent.socket.create_connection((server.host, server.port), timeout=timeout)
    try:
        _socks.handshake(sock, parse_proxy_url(url), host, port, lookup or Lookup())
    except BaseException:
        sock.close()
        raise
    return sock


def assert_echoes(sock: Any) -> None:
    sock.sendall(b"ping")
    got = b""
    while len(got) < 4:
        data = sock.recv(4 - len(got))
        assert data, "the tunnel closed"
        got += data
    assert got == b"ping"


# -- every version, with and without credentials ------------------------------------------


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("auth", [False, True], ids=["noauth", "auth"])
def test_handshake_reaches_the_origin(socks, origin, scheme, auth):
    user, password = ("alice", "s3cret") if auth else (None, None)
    server = socks(user=user, password=password)
    lookup = Lookup()
    sock = run(server, server.url(scheme, user, password), "localhost", origin.port, lookup)
    try:
        assert_echoes(sock)
    finally:
        sock.close()
    (req,) = server.requests
    assert req.version == (5 if scheme.startswith("socks5") else 4)
    assert req.port == origin.port
    assert req.user == user
    if scheme in ("socks5h", "socks4a"):  # the proxy resolves the name
        assert (req.atyp, req.host) == ("domain", "localhost")
        assert lookup.calls == []
    else:  # we resolve it, SOCKS4 for IPv4 only
        assert (req.atyp, req.host) == ("ipv4", "127.0.0.1")
        assert lookup.calls == [("localhost", origin.port, scheme == "socks4")]
    if scheme.startswith("socks5"):
        assert req.password == password
        assert req.methods == (b"\x02\x00" if auth else b"\x00")


@pytest.mark.parametrize("scheme", SCHEMES)
def test_an_ipv4_literal_is_sent_as_an_address_without_lookup(socks, origin, scheme):
    server = socks()
    lookup = Lookup()
    sock = run(server, server.url(scheme), "127.0.0.1", origin.port, lookup)
    try:
        assert_echoes(sock)
    finally:
        sock.close()
    assert [(r.atyp, r.host) for r in server.requests] == [("ipv4", "127.0.0.1")]
    assert lookup.calls == []


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback")
@pytest.mark.parametrize("host", ["::1", "[::1]"])
@pytest.mark.parametrize("scheme", ["socks5", "socks5h"])
def test_an_ipv6_literal_is_sent_as_an_ipv6_address(socks, server_factory, scheme, host):
    origin6 = server_factory(echo, host="::1")
    server = socks()
    lookup = Lookup()
    sock = run(server, server.url(scheme), host, origin6.port, lookup)
    try:
        assert_echoes(sock)
    finally:
        sock.close()
    assert [(r.atyp, r.host) for r in server.requests] == [("ipv6", "::1")]
    assert lookup.calls == []


def test_socks5_sends_the_ipv6_address_the_lookup_gave(socks):
    stream = FakeStream(b"\x05\x00" + b"\x05\x00\x00\x01" + bytes(6))
    lookup = Lookup({"v6.test": "2001:db8::1"})
    _socks.handshake(stream, ProxyConfig("p", 1080, scheme="socks5"), "v6.test", 443, lookup)
    assert stream.sent[3:] == b"\x05\x01\x00\x04" + socket.inet_pton(
        socket.AF_INET6, "2001:db8::1"
    ) + (443).to_bytes(2, "big")
    assert lookup.calls == [("v6.test", 443, False)]


@pytest.mark.parametrize("scheme", ["socks5h", "socks4a"])
def test_remote_dns_sends_a_name_only_the_proxy_can_resolve(socks, origin, scheme):
    server = socks(hosts={"origin.test": "127.0.0.1"})
    lookup = Lookup()
    sock = run(server, server.url(scheme), "origin.test", origin.port, lookup)
    try:
        assert_echoes(sock)
    finally:
        sock.close()
    assert [(r.atyp, r.host) for r in server.requests] == [("domain", "origin.test")]
    assert lookup.calls == []


@pytest.mark.parametrize("scheme", ["socks5", "socks4"])
def test_local_dns_failure_propagates_before_anything_is_sent(scheme):
    stream = FakeStream(b"")
    with pytest.raises(DNSError):
        _socks.handshake(stream, ProxyConfig("p", 1080, scheme=scheme), "nx.test", 80, Lookup())
    assert stream.sent == b""


def test_an_international_name_goes_to_the_proxy_as_idna():
    stream = FakeStream(b"\x05\x00" + b"\x05\x00\x00\x01" + bytes(6))
    _socks.handshake(
        stream, ProxyConfig("p", 1080, scheme="socks5h"), "bücher.example", 80, Lookup()
    )
    name = "bücher.example".encode("idna")
    assert stream.sent[3:] == b"\x05\x01\x00\x03" + bytes([len(name)]) + name + b"\x00\x50"


# -- refusals -----------------------------------------------------------------------------


@pytest.mark.parametrize("code", sorted(_socks.SOCKS5_REPLIES) + [0x09, 0xFF])
@pytest.mark.parametrize("scheme", ["socks5", "socks5h"])
def test_each_socks5_refusal_is_a_proxy_error_naming_its_meaning(socks, scheme, code):
    server = socks(script="refuse", reply=code)
    with pytest.raises(ProxyError) as info:
        run(server, server.url(scheme), "127.0.0.1", 8080, Lookup())
    exc = info.value
    assert type(exc) is ProxyError
    assert exc.reply == code
    meaning = _socks.SOCKS5_REPLIES.get(code, "unassigned reply code")
    assert meaning in str(exc)
    assert "127.0.0.1:8080" in str(exc)
    assert f"{server.port}" in str(exc)  # which proxy said so


def test_socks5_refusals_carry_the_errno_of_a_direct_failure(socks):
    expected = {0x03: errno.ENETUNREACH, 0x04: errno.EHOSTUNREACH, 0x05: errno.ECONNREFUSED}
    for code, err in expected.items():
        server = socks(script="refuse", reply=code)
        with pytest.raises(ProxyError) as info:
            run(server, server.url("socks5"), "127.0.0.1", 80)
        assert info.value.errno == err
        assert isinstance(info.value, (ConnectError, OSError, RuntimeError))


def test_a_target_the_proxy_cannot_reach_is_a_proxy_error(socks):
    server = socks()
    with pytest.raises(ProxyError) as info:
        run(server, server.url("socks5h"), "nowhere.test", 80)
    assert info.value.reply == 0x04
    assert "host unreachable" in str(info.value)
    assert "nowhere.test:80" in str(info.value)


def test_a_closed_origin_port_is_connection_refused_through_the_proxy(socks):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = socks()
    with pytest.raises(ProxyError) as info:
        run(server, server.url("socks5"), "127.0.0.1", port)
    assert info.value.reply == 0x05
    assert "connection refused" in str(info.value)


@pytest.mark.parametrize(
    "code, cls",
    [(91, ProxyError), (92, ProxyAuthenticationError), (93, ProxyAuthenticationError)],
)
@pytest.mark.parametrize("scheme", ["socks4", "socks4a"])
def test_each_socks4_refusal_is_mapped(socks, scheme, code, cls):
    server = socks(script="refuse", reply=code)
    with pytest.raises(ProxyError) as info:
        run(server, server.url(scheme, "bob"), "localhost", 8080, Lookup())
    assert type(info.value) is cls
    assert info.value.reply == code
    assert _socks.SOCKS4_REPLIES[code] in str(info.value)


def test_an_unknown_socks4_code_is_a_protocol_error(socks):
    server = socks(script="refuse", reply=95)
    with pytest.raises(ProxyProtocolError, match="unknown code 95"):
        run(server, server.url("socks4"), "127.0.0.1", 80)


def test_socks4_with_the_wrong_user_id_is_refused(socks, origin):
    server = socks(user="bob")
    with pytest.raises(ProxyError) as info:
        run(server, server.url("socks4a", "mallory"), "localhost", origin.port)
    assert info.value.reply == 91


# -- authentication -----------------------------------------------------------------------


def test_wrong_password_is_an_authentication_error(socks, origin):
    server = socks(user="alice", password="s3cret")
    with pytest.raises(ProxyAuthenticationError) as info:
        run(server, server.url("socks5h", "alice", "wrong"), "localhost", origin.port)
    assert info.value.reply == 1
    assert "refused the username and password" in str(info.value)
    assert "wrong" not in str(info.value)
    assert server.relays == 0


def test_missing_credentials_is_an_authentication_error_with_a_hint(socks, origin):
    server = socks(user="alice", password="s3cret")
    with pytest.raises(ProxyAuthenticationError) as info:
        run(server, server.url("socks5h"), "localhost", origin.port)
    assert info.value.reply == 0xFF
    assert "may need a username and password" in str(info.value)


def test_no_acceptable_method_with_credentials(socks):
    server = socks(script="no_acceptable_method")
    with pytest.raises(ProxyAuthenticationError) as info:
        run(server, server.url("socks5", "u", "p"), "127.0.0.1", 80)
    assert info.value.reply == 0xFF
    assert "none of the authentication methods" in str(info.value)


def test_a_user_without_password_sends_an_empty_password(socks, origin):
    server = socks(user="alice", password="")
    sock = run(server, server.url("socks5h", "alice"), "localhost", origin.port)
    sock.close()
    assert (server.requests[0].user, server.requests[0].password) == ("alice", "")


def test_an_auth_reply_with_the_socks_version_byte_is_accepted(socks, origin):
    server = socks(user="u", password="p", script="auth_reply_version")
    sock = run(server, server.url("socks5h", "u", "p"), "localhost", origin.port)
    try:
        assert_echoes(sock)
    finally:
        sock.close()


def test_a_proxy_without_auth_accepts_us_with_credentials_offered(socks, origin):
    server = socks()
    sock = run(server, server.url("socks5h", "u", "p"), "localhost", origin.port)
    sock.close()
    assert server.requests[0].methods == b"\x02\x00"
    assert server.requests[0].user is None  # the proxy chose "no authentication"


def test_unicode_credentials_go_as_utf8(socks, origin):
    server = socks(user="zoë", password="pässwörd")
    sock = run(
        server, server.url("socks5", "zo%C3%AB", "p%C3%A4ssw%C3%B6rd"), "localhost", origin.port
    )
    sock.close()
    assert server.relays == 1


# -- malformed replies and early closes ---------------------------------------------------


@pytest.mark.parametrize(
    "script, scheme, match",
    [
        ("greeting_version", "socks5", "greeting with version 4"),
        ("reply_version", "socks5h", "request with version 4"),
        ("unknown_atyp", "socks5h", "unknown address type 9"),
        ("empty_name", "socks5", "empty bound host name"),
        ("unoffered_method", "socks5h", "not one offered"),
        ("greeting_version", "socks4", "replied with version 4"),
        ("greeting_version", "socks4a", "replied with version 4"),
    ],
)
def test_a_malformed_reply_is_a_protocol_error(socks, origin, script, scheme, match):
    server = socks(script=script)
    with pytest.raises(ProxyProtocolError, match=match) as info:
        run(server, server.url(scheme), "localhost", origin.port)
    assert info.value.reply is None


@pytest.mark.parametrize(
    "script, scheme, version",
    [
        ("close_after_greeting", "socks5", "SOCKS5"),
        ("close_mid_reply", "socks5h", "SOCKS5"),
        ("close_after_greeting", "socks4", "SOCKS4"),
        ("close_mid_reply", "socks4a", "SOCKS4"),
    ],
)
def test_a_proxy_closing_mid_handshake_is_a_proxy_error(socks, origin, script, scheme, version):
    server = socks(script=script)
    with pytest.raises(ProxyError) as info:
        run(server, server.url(scheme), "localhost", origin.port)
    assert type(info.value) is ProxyError
    assert f"proxy closed the connection during the {version} handshake" in str(info.value)
    assert f"{scheme} proxy 127.0.0.1:{server.port}" in str(info.value)


@pytest.mark.parametrize("script", ["bound_name", "bound_ipv6", "dribble"])
@pytest.mark.parametrize("scheme", ["socks5", "socks5h"])
def test_valid_replies_of_every_shape_are_read_whole(socks, origin, scheme, script):
    server = socks(script=script, user="u", password="p")
    sock = run(server, server.url(scheme, "u", "p"), "localhost", origin.port)
    try:
        assert_echoes(sock)  # a byte of the reply left unread would come first
    finally:
        sock.close()


@pytest.mark.parametrize("scheme", ["socks4", "socks4a"])
def test_a_dribbled_socks4_reply_is_read_whole(socks, origin, scheme):
    server = socks(script="dribble")
    sock = run(server, server.url(scheme), "localhost", origin.port)
    try:
        assert_echoes(sock)
    finally:
        sock.close()


@pytest.mark.parametrize("scheme", SCHEMES)
def test_origin_bytes_in_the_reply_segment_stay_in_the_socket(socks, origin, scheme):
    banner = b"220 origin speaks first\r\n"
    server = socks(script="banner", banner=banner)
    sock = run(server, server.url(scheme), "localhost", origin.port)
    try:
        got = b""
        while len(got) < len(banner):
            data = sock.recv(len(banner) - len(got))
            assert data
            got += data
        assert got == banner
        assert_echoes(sock)
    finally:
        sock.close()


# -- timeouts -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "script, scheme, user",
    [
        ("stall", "socks5", None),
        ("stall", "socks5h", "u"),
        ("stall_after_auth", "socks5h", "u"),
        ("stall", "socks4", None),
        ("stall", "socks4a", None),
    ],
)
def test_a_stalled_proxy_times_out_on_the_socket_timeout(socks, origin, script, scheme, user):
    server = socks(script=script, user=user, password="p" if user else None)
    began = time.monotonic()
    with pytest.raises(socket.timeout):
        run(
            server,
            server.url(scheme, user, "p" if user else None),
            "localhost",
            origin.port,
            timeout=0.2,
        )
    assert time.monotonic() - began < 2.0


# -- bounds and refusals before sending ---------------------------------------------------


class FakeStream:
    """A proxy's side as bytes: ``recv(n)`` gives at most ``chunk`` bytes (1 by default:
    every reply arrives a byte at a time) and records what each call asked for."""

    def __init__(self, incoming: bytes, chunk: int = 1) -> None:
        self.incoming = incoming
        self.chunk = chunk
        self.sent = b""
        self.asked: List[int] = []

    def recv(self, n: int) -> bytes:
        self.asked.append(n)
        out, self.incoming = (
            self.incoming[: min(n, self.chunk)],
            self.incoming[min(n, self.chunk) :],
        )
        return out

    def sendall(self, data: bytes) -> None:
        self.sent += bytes(data)


TRAILER = b"HTTP/1.1 200 OK\r\n"  # the origin's first bytes, right behind the reply

EXACT_CASES = [
    ("socks5", None, b"\x05\x00" + b"\x05\x00\x00\x01" + bytes(6)),
    ("socks5h", None, b"\x05\x00" + b"\x05\x00\x00\x04" + bytes(18)),
    ("socks5h", "u", b"\x05\x02" + b"\x01\x00" + b"\x05\x00\x00\x03\x04name\x00\x50"),
    ("socks4", None, b"\x00\x5a" + bytes(6)),
    ("socks4a", "u", b"\x00\x5a" + bytes(6)),
]


@pytest.mark.parametrize("chunk", [1, 3, 1000])
@pytest.mark.parametrize("scheme, user, replies", EXACT_CASES)
def test_every_read_is_exact_and_leaves_the_origins_bytes(scheme, user, replies, chunk):
    stream = FakeStream(replies + TRAILER, chunk)
    proxy = ProxyConfig("p", 1080, user, "pw" if user else None, scheme)
    _socks.handshake(stream, proxy, "localhost", 80, Lookup())
    assert stream.incoming == TRAILER  # no byte of the origin was read


@pytest.mark.parametrize(
    "proxy, host, match",
    [
        (ProxyConfig("p", 1, "u" * 256, "p", "socks5"), "127.0.0.1", "at most 255 bytes"),
        (ProxyConfig("p", 1, "u", "p" * 256, "socks5h"), "127.0.0.1", "at most 255 bytes"),
        (ProxyConfig("p", 1, scheme="socks5h"), "a" * 256, "over 255 bytes"),
        (ProxyConfig("p", 1, "u\x00v", scheme="socks4"), "127.0.0.1", "NUL"),
        (ProxyConfig("p", 1, scheme="socks4"), "::1", "IPv4 addresses only"),
        (ProxyConfig("p", 1, scheme="socks4a"), "[2001:db8::1]", "IPv4 addresses only"),
    ],
)
def test_what_cannot_be_expressed_is_refused_before_sending(proxy, host, match):
    stream = FakeStream(b"")
    with pytest.raises(RequestError, match=match):
        _socks.handshake(stream, proxy, host, 80, Lookup())
    assert stream.sent == b""


def test_socks4_refuses_a_lookup_that_gave_ipv6():
    stream = FakeStream(b"")
    lookup = Lookup({"v6.test": "2001:db8::1"})
    with pytest.raises(RequestError, match="IPv4 addresses only"):
        _socks.handshake(stream, ProxyConfig("p", 1, scheme="socks4"), "v6.test", 80, lookup)
    assert stream.sent == b""


@pytest.mark.parametrize("port", [0, 65536, -1])
def test_an_impossible_port_is_refused(port):
    with pytest.raises(RequestError):
        _socks.handshake(
            FakeStream(b""), ProxyConfig("p", 1, scheme="socks5h"), "h", port, Lookup()
        )


def test_a_255_byte_name_and_credentials_fit():
    name = "a" * 255
    replies = b"\x05\x02" + b"\x01\x00" + b"\x05\x00\x00\x01" + bytes(6)
    stream = FakeStream(replies, chunk=100)
    proxy = ProxyConfig("p", 1, "u" * 255, "p" * 255, "socks5h")
    _socks.handshake(stream, proxy, name, 80, Lookup())
    assert stream.sent.endswith(b"\x03\xff" + name.encode() + b"\x00\x50")


def test_socks4_ignores_the_password_and_sends_the_user_id():
    stream = FakeStream(b"\x00\x5a" + bytes(6))
    _socks.handshake(
        stream, ProxyConfig("p", 1, "bob", "secret", "socks4a"), "origin.test", 8080, Lookup()
    )
    assert stream.sent == b"\x04\x01\x1f\x90\x00\x00\x00\x01bob\x00origin.test\x00"
    assert b"secret" not in stream.sent


def test_a_non_socks_scheme_is_a_value_error():
    with pytest.raises(ValueError):
        _socks.handshake(FakeStream(b""), ProxyConfig("p", 1, scheme="http"), "h", 80, Lookup())


def test_proxy_errors_are_connect_errors_and_os_errors():
    for cls in (ProxyError, ProxyAuthenticationError, ProxyProtocolError):
        assert issubclass(cls, ConnectError)
        assert issubclass(cls, OSError)


# == end to end: HTTPClient, Session and UserAgent through the scripted proxy =============


@pytest.fixture
def http_origin(server_factory):
    return server_factory(keep_alive(echo_json))


@pytest.fixture
def tls_origin(server_factory, server_ssl_context):
    return server_factory(keep_alive(echo_json), ssl_context=server_ssl_context)


def target_host(scheme: str) -> str:
    """The name a client asks for: one only the proxy knows for remote DNS, a
    loopback name the client resolves otherwise."""
    return "origin.test" if scheme in ("socks5h", "socks4a") else "localhost"


def assert_no_proxy_credentials_reached(origin: Any) -> None:
    for req in origin.requests:
        assert "proxy-authorization" not in req["headers"]
    assert b"proxy-authorization" not in origin.raw.lower()
    assert basic("alice", "s3cret").split()[1].encode() not in origin.raw


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("auth", [False, True], ids=["noauth", "auth"])
def test_http_origin_through_each_socks_version(socks, http_origin, resolved, scheme, auth):
    user, password = ("alice", "s3cret") if auth else (None, None)
    server = socks(user=user, password=password, hosts={"origin.test": "127.0.0.1"})
    host = target_host(scheme)
    client = HTTPClient(
        host,
        http_origin.port,
        proxy=server.url(scheme, user, password),
        connection_timeout=TIMEOUT,
        network_timeout=TIMEOUT,
    )
    with client:
        for path in ("/a", "/b?q=1"):  # the second reuses the tunnel
            response = client.get(path)
            assert response.status_code == 200
            seen = json.loads(response.read())
            assert seen["target"] == path  # origin-form: SOCKS is not an HTTP proxy
            assert seen["headers"]["host"] == [f"{host}:{http_origin.port}"]
    assert server.connections == 1
    assert http_origin.connections == 1
    (req,) = server.requests
    assert req.user == user
    assert (req.host, req.port) == (
        ("origin.test" if host == "origin.test" else "127.0.0.1"),
        http_origin.port,
    )
    if host == "origin.test":
        assert "origin.test" not in resolved
    assert_no_proxy_credentials_reached(http_origin)


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("auth", [False, True], ids=["noauth", "auth"])
def test_tls_origin_through_each_socks_version(socks, tls_origin, ca_file, resolved, scheme, auth):
    user, password = ("alice", "s3cret") if auth else (None, None)
    server = socks(user=user, password=password)
    client = HTTPClient(
        "localhost",
        tls_origin.port,
        ssl=True,
        ssl_options={"ca_certs": ca_file},
        proxy=server.url(scheme, user, password),
        connection_timeout=TIMEOUT,
        network_timeout=TIMEOUT,
    )
    with client:
        for path in ("/secure", "/again"):
            response = client.get(path)
            assert response.status_code == 200
            assert json.loads(response.read())["target"] == path
    assert server.connections == 1
    (req,) = server.requests
    assert req.atyp == ("domain" if scheme in ("socks5h", "socks4a") else "ipv4")
    assert req.port == tls_origin.port
    if scheme in ("socks5h", "socks4a"):
        assert "localhost" not in resolved
    assert_no_proxy_credentials_reached(tls_origin)


def test_a_tls_origin_with_the_wrong_name_is_refused_through_the_tunnel(socks, tls_origin, ca_file):
    server = socks(hosts={"origin.test": "127.0.0.1"})
    client = HTTPClient(
        "origin.test",  # the certificate is for localhost
        tls_origin.port,
        ssl=True,
        ssl_options={"ca_certs": ca_file},
        proxy=server.url("socks5h"),
        connection_timeout=TIMEOUT,
    )
    with client, pytest.raises(CertificateVerifyError):
        client.get("/")
    assert server.relays == 1


def test_proxy_host_may_be_a_socks_url(socks, http_origin):
    server = socks(user="alice", password="s3cret")
    client = HTTPClient(
        "localhost", http_origin.port, proxy_host=server.url("socks5h", "alice", "s3cret")
    )
    with client:
        assert client.get("/").status_code == 200
    assert server.requests[0].user == "alice"
    assert_no_proxy_credentials_reached(http_origin)


def test_proxy_user_and_password_arguments_apply_to_a_socks_url(socks, http_origin):
    server = socks(user="alice", password="s3cret")
    client = HTTPClient(
        "localhost",
        http_origin.port,
        proxy_host=server.url("socks5"),
        proxy_user="alice",
        proxy_password="s3cret",
    )
    with client:
        assert client.get("/").status_code == 200
    assert server.requests[0].password == "s3cret"
    assert_no_proxy_credentials_reached(http_origin)


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback")
def test_an_ipv6_origin_through_socks5(socks, server_factory):
    origin6 = server_factory(keep_alive(echo_json), host="::1")
    server = socks()
    with HTTPClient("::1", origin6.port, proxy=server.url("socks5h")) as client:
        seen = json.loads(client.get("/v6").read())
    assert seen["headers"]["host"] == [f"[::1]:{origin6.port}"]
    assert [(r.atyp, r.host) for r in server.requests] == [("ipv6", "::1")]


# -- the requests-style Session and UserAgent ---------------------------------------------


def _clear_proxy_env(monkeypatch) -> None:
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


def test_session_proxies_mapping_for_https(socks, tls_origin, ca_file, monkeypatch, resolved):
    _clear_proxy_env(monkeypatch)
    server = socks(user="alice", password="s3cret")
    proxies = {"https": server.url("socks5h", "alice", "s3cret")}
    with Session() as session:
        for _ in range(2):
            response = session.get(
                f"https://localhost:{tls_origin.port}/s", proxies=proxies, verify=ca_file
            )
            assert response.status_code == 200
            assert response.json()["target"] == "/s"
    assert [(r.atyp, r.host, r.user) for r in server.requests] == [("domain", "localhost", "alice")]
    assert "localhost" not in resolved
    assert_no_proxy_credentials_reached(tls_origin)


def test_session_takes_all_proxy_from_the_environment(socks, http_origin, monkeypatch):
    _clear_proxy_env(monkeypatch)
    server = socks(hosts={"origin.test": "127.0.0.1"})
    monkeypatch.setenv("ALL_PROXY", server.url("socks4a", "bob"))
    with Session() as session:
        response = session.get(f"http://origin.test:{http_origin.port}/env")
        assert response.json()["target"] == "/env"
    assert [(r.version, r.host, r.user) for r in server.requests] == [(4, "origin.test", "bob")]


def test_session_takes_https_proxy_from_the_environment(socks, tls_origin, ca_file, monkeypatch):
    _clear_proxy_env(monkeypatch)
    server = socks(user="alice", password="s3cret")
    monkeypatch.setenv("HTTPS_PROXY", server.url("socks5", "alice", "s3cret"))
    with Session() as session:
        response = session.get(f"https://localhost:{tls_origin.port}/env", verify=ca_file)
        assert response.status_code == 200
    assert [(r.atyp, r.host) for r in server.requests] == [("ipv4", "127.0.0.1")]
    assert_no_proxy_credentials_reached(tls_origin)


def test_session_without_trust_env_ignores_all_proxy(socks, http_origin, monkeypatch):
    _clear_proxy_env(monkeypatch)
    server = socks()
    monkeypatch.setenv("ALL_PROXY", server.url("socks5h"))
    with Session() as session:
        session.trust_env = False
        assert session.get(f"http://localhost:{http_origin.port}/").status_code == 200
    assert server.connections == 0


def test_useragent_through_a_socks5_proxy(socks, http_origin):
    server = socks(user="alice", password="s3cret")
    agent = UserAgent(proxy=server.url("socks5", "alice", "s3cret"))
    with agent:
        response = agent.urlopen(f"http://localhost:{http_origin.port}/ua")
        assert json.loads(response.read())["target"] == "/ua"
    assert [(r.atyp, r.user) for r in server.requests] == [("ipv4", "alice")]
    assert_no_proxy_credentials_reached(http_origin)


# -- failures through the client ----------------------------------------------------------


def client_via(server: SocksServer, scheme: str = "socks5h", **kw: Any) -> HTTPClient:
    kw.setdefault("connection_timeout", TIMEOUT)
    kw.setdefault("network_timeout", TIMEOUT)
    user = kw.pop("user", None)
    password = kw.pop("password", None)
    return HTTPClient("localhost", 8080, proxy=server.url(scheme, user, password), **kw)


def test_a_refusal_reaches_the_caller_as_a_proxy_error(socks):
    server = socks(script="refuse", reply=0x02)
    with client_via(server) as client, pytest.raises(ProxyError) as info:
        client.get("/")
    assert info.value.reply == 0x02
    assert "connection not allowed by ruleset" in str(info.value)


def test_wrong_credentials_reach_the_caller_as_an_authentication_error(socks):
    server = socks(user="alice", password="s3cret")
    with client_via(server, user="alice", password="nope") as client:
        with pytest.raises(ProxyAuthenticationError):
            client.get("/")


def test_a_malformed_reply_reaches_the_caller_as_a_protocol_error(socks, http_origin):
    server = socks(script="unknown_atyp")
    client = HTTPClient("localhost", http_origin.port, proxy=server.url("socks5"))
    with client, pytest.raises(ProxyProtocolError):
        client.get("/")


@pytest.mark.parametrize("scheme", SCHEMES)
def test_a_stalled_proxy_is_a_connect_timeout(socks, scheme):
    server = socks(script="stall")
    began = time.monotonic()
    with client_via(server, scheme, connection_timeout=0.2) as client:
        with pytest.raises(ConnectTimeout):
            client.get("/")
    assert time.monotonic() - began < 2.0


def test_a_proxy_closing_early_is_a_proxy_error_not_a_closed_response(socks):
    server = socks(script="close_after_greeting")
    with client_via(server) as client, pytest.raises(ProxyError, match="during the SOCKS5"):
        client.get("/")


def test_a_name_the_client_cannot_resolve_for_socks5_is_a_dns_error(socks, resolved):
    server = socks()
    client = HTTPClient("origin.test", 80, proxy=server.url("socks5"))
    with client, pytest.raises(DNSError):
        client.get("/")
    assert server.requests == []  # nothing asked of the proxy
    assert "origin.test" in resolved


def test_socks4_to_an_ipv6_literal_is_a_request_error(socks):
    server = socks()
    client = HTTPClient("::1", 80, proxy=server.url("socks4"))
    with client, pytest.raises(RequestError, match="IPv4 addresses only"):
        client.get("/")
    assert server.requests == []


def test_resolve_overrides_apply_to_socks5_lookups(socks, http_origin, resolved):
    server = socks()
    client = HTTPClient(
        "origin.test",
        http_origin.port,
        proxy=server.url("socks5"),
        resolve={"origin.test": "127.0.0.1"},
    )
    with client:
        assert client.get("/").status_code == 200
    assert [(r.atyp, r.host) for r in server.requests] == [("ipv4", "127.0.0.1")]
    assert "origin.test" not in resolved


# == against independent SOCKS servers from PyPI, run as subprocesses ===================
#
# pproxy (SOCKS4 and SOCKS5, pure Python, every interpreter here) and, on 3.12+,
# asyncio-socks-server (SOCKS5 with RFC 1928 reply codes and RFC 1929 statuses). Each is
# skipped where it is not installed. What pproxy does not do, and so is not tested
# against it: SOCKS4a (it takes 0.0.0.1 for the address), refusal codes (it answers
# success before connecting), RFC 1929 failure statuses (it closes instead).


def _installed(dist: str, at_least: Tuple[int, ...] = ()) -> bool:
    try:
        version = importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return False
    parts = tuple(int(p) for p in version.split(".")[: len(at_least)] if p.isdigit())
    return parts >= at_least


def _start(argv: List[str], pattern: str) -> Tuple[Any, Any, int]:
    """Start a server process: ``(process, its output, port)``, the port from the first
    output line matching ``pattern``.

    The stdlib's Popen (gevent's forks, which warns in a process with threads, as
    the resolver's pool makes this one); its output read through gevent's file
    object on a pipe of ours, so waiting for the line does not block the hub."""
    read_end, write_end = os.pipe()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-u", *argv],
            stdout=write_end,
            stderr=write_end,
            stdin=subprocess.DEVNULL,
        )
    finally:
        os.close(write_end)
    output = gevent.fileobject.FileObjectPosix(read_end, "rb")  # owns read_end
    lines = []
    try:
        with gevent.Timeout(20):
            for line in output:
                lines.append(line.decode("utf-8", "replace"))
                found = re.search(pattern, lines[-1])
                if found:
                    return proc, output, int(found.group(1))
        proc.wait()
        raise AssertionError(f"{argv[1]} did not start: {''.join(lines)}")
    except BaseException:
        proc.kill()
        proc.wait()
        output.close()
        raise


@pytest.fixture
def subprocess_server():
    started: List[Tuple[Any, Any]] = []

    def start(argv: List[str], pattern: str) -> int:
        proc, output, port = _start(argv, pattern)
        started.append((proc, output))
        return port

    yield start
    for proc, output in started:
        proc.terminate()
        proc.wait()  # it exits at once on SIGTERM (both servers handle it)
        output.close()


@pytest.fixture
def pproxy(subprocess_server):
    """``pproxy(auth)``: the port of a pproxy SOCKS4+5 server (``--auth 0``: it would
    otherwise trust a client address that once authenticated, for 30 days)."""
    if not _installed("pproxy"):
        pytest.skip("pproxy is not installed")

    def start(auth: Optional[str] = None) -> int:
        listen = "socks4+socks5://127.0.0.1:0" + (f"#{auth}" if auth else "")
        return subprocess_server(
            ["-m", "pproxy", "-l", listen, "--auth", "0"], r"Serving on .*:(\d+) by"
        )

    return start


@pytest.fixture
def asyncio_socks_server(subprocess_server):
    """``asyncio_socks_server(auth)``: the port of an asyncio-socks-server (1.3+: the
    releases pip picks for Python before 3.12 are another program)."""
    if not _installed("asyncio-socks-server", (1, 3)):
        pytest.skip("asyncio-socks-server 1.3+ is not installed")

    def start(auth: Optional[str] = None) -> int:
        argv = ["-m", "asyncio_socks_server", "--host", "127.0.0.1", "--port", "0"]
        return subprocess_server(argv + (["--auth", auth] if auth else []), r"port=(\d+)")

    return start


@pytest.mark.parametrize("scheme", ["socks5", "socks5h", "socks4"])
def test_pproxy_http_origin(pproxy, http_origin, scheme):
    port = pproxy()
    with HTTPClient(
        "localhost",
        http_origin.port,
        proxy=f"{scheme}://127.0.0.1:{port}",
        connection_timeout=TIMEOUT,
    ) as client:
        for path in ("/a", "/b"):
            assert json.loads(client.get(path).read())["target"] == path
    assert http_origin.connections == 1


@pytest.mark.parametrize("scheme", ["socks5", "socks5h"])
def test_pproxy_with_credentials_to_a_tls_origin(pproxy, tls_origin, ca_file, scheme):
    port = pproxy("alice:s3cret")
    with HTTPClient(
        "localhost",
        tls_origin.port,
        ssl=True,
        ssl_options={"ca_certs": ca_file},
        proxy=f"{scheme}://alice:s3cret@127.0.0.1:{port}",
        connection_timeout=TIMEOUT,
    ) as client:
        assert client.get("/tls").status_code == 200
    assert_no_proxy_credentials_reached(tls_origin)


def test_pproxy_refusing_credentials_is_a_proxy_error(pproxy, http_origin):
    port = pproxy("alice:s3cret")
    proxy = f"socks5h://alice:wrong@127.0.0.1:{port}"
    with HTTPClient("localhost", http_origin.port, proxy=proxy) as client:
        with pytest.raises(ProxyError):
            client.get("/")
    assert http_origin.connections == 0


@pytest.mark.parametrize("scheme", ["socks5", "socks5h"])
def test_asyncio_socks_server_with_credentials(
    asyncio_socks_server, http_origin, tls_origin, ca_file, scheme
):
    port = asyncio_socks_server("alice:s3cret")
    proxy = f"{scheme}://alice:s3cret@127.0.0.1:{port}"
    with HTTPClient("localhost", http_origin.port, proxy=proxy) as client:
        assert client.get("/a").status_code == 200
        assert client.get("/b").status_code == 200
    assert http_origin.connections == 1
    with HTTPClient(
        "localhost", tls_origin.port, ssl=True, ssl_options={"ca_certs": ca_file}, proxy=proxy
    ) as client:
        assert client.get("/tls").status_code == 200
    assert_no_proxy_credentials_reached(http_origin)
    assert_no_proxy_credentials_reached(tls_origin)


def test_asyncio_socks_server_refusals(asyncio_socks_server):
    port = asyncio_socks_server("alice:s3cret")
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    cases = [
        (f"socks5://alice:wrong@127.0.0.1:{port}", ProxyAuthenticationError, 1),
        (f"socks5h://127.0.0.1:{port}", ProxyAuthenticationError, 0xFF),
        (f"socks5://alice:s3cret@127.0.0.1:{port}", ProxyError, 0x05),
    ]
    for proxy, cls, reply in cases:
        with HTTPClient("127.0.0.1", closed, proxy=proxy, connection_timeout=TIMEOUT) as client:
            with pytest.raises(cls) as info:
                client.get("/")
        assert info.value.reply == reply, proxy
