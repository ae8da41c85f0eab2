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
import socket
import time
from typing import Any, List, Optional, Tuple

import gevent
import gevent.socket
import pytest
from socksserver import SocksServer

from geventhttpclient import _socks
from geventhttpclient._proxies import ProxyConfig, parse_proxy_url
from geventhttpclient.exceptions import (
    ConnectError,
    DNSError,
    ProxyAuthenticationError,
    ProxyError,
    ProxyProtocolError,
    RequestError,
)

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
