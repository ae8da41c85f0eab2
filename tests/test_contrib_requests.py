"""geventhttpclient.contrib.requests.GeventAdapter: the real requests package sending
through our engine, against loopback servers (tests/conftest.py).

What the adapter owns is tested here: bodies out, the response built as requests'
HTTPAdapter builds it, content decoding, streaming and the connection's return,
timeouts, TLS settings, proxies (HTTP; HTTPS from tests/httpsproxy.py; SOCKS 4/4a/5/5h
from tests/socksserver.py), Unix domain sockets, error classes, pools. What stays requests' own
(redirects, the session's cookies) is tested to still work through the adapter.
"""

from __future__ import annotations

import gzip
import io
import socket
import ssl
import time
import zlib
from typing import Any, Dict, List

import gevent
import gevent.event
import gevent.socket
import pytest
from conftest import SOCKS_HOSTS as HOSTS
from conftest import ServerConn, basic, echo_json, keep_alive, pipe, wait_until
from httpsproxy import HTTPSProxy
from socksserver import SocksServer

requests = pytest.importorskip("requests")

from geventhttpclient import exceptions as ghc  # noqa: E402
from geventhttpclient.contrib.requests import (  # noqa: E402
    BodyReadTimeout,
    ClientKey,
    GeventAdapter,
    GeventRawResponse,
    timeouts,
)

rexc = requests.exceptions


@pytest.fixture
def adapter():
    a = GeventAdapter()
    yield a
    a.close()


@pytest.fixture
def session(adapter):
    s = requests.Session()
    s.trust_env = False  # no proxies or CA bundle from this machine's environment
    s.mount("http://", adapter)
    s.mount("https://", adapter)
    yield s
    s.close()


def only_stats(adapter: GeventAdapter) -> Any:
    (stats,) = adapter.statistics().values()
    return stats


def respond_raw(data: bytes):
    """A keep-alive handler answering every request with ``data`` as it is."""
    return keep_alive(lambda conn, req: conn.send(data))


# -- requests out, responses in ----------------------------------------------------------


def test_get_returns_a_requests_response_built_as_http_adapter_builds_it(
    server_factory, session, adapter
):
    def respond(conn: ServerConn, req: Dict[str, Any]) -> None:
        conn.respond(
            201,
            b"caf\xc3\xa9",
            [("Content-Type", "text/plain; charset=utf-8"), ("X-Multi", "a"), ("X-Multi", "b")],
            reason="Made It",
        )

    server = server_factory(keep_alive(respond))
    r = session.get(server.base + "/path?q=1")
    assert isinstance(r, requests.Response)
    assert r.status_code == 201 and r.reason == "Made It" and r.ok
    assert isinstance(r.headers, requests.structures.CaseInsensitiveDict)
    assert r.headers["content-TYPE"] == "text/plain; charset=utf-8"
    assert r.headers["x-multi"] == "a, b"  # urllib3 joins repeated fields so
    assert r.encoding == "utf-8"
    assert r.text == "café"
    assert r.url == server.base + "/path?q=1"
    assert r.request.url == r.url
    assert r.connection is adapter
    assert isinstance(r.raw, GeventRawResponse)
    assert r.raw.status == 201 and r.raw.version == 11
    assert r.elapsed.total_seconds() > 0  # set by requests' Session.send
    sent = server.requests[0]
    assert sent["target"] == "/path?q=1"
    assert sent["headers"]["user-agent"] == [requests.utils.default_user_agent()]
    assert sent["headers"]["host"] == [f"127.0.0.1:{server.port}"]
    assert sent["headers"]["accept"] == ["*/*"]


@pytest.mark.parametrize(
    "kwargs, body, framing",
    [
        ({"data": b"raw bytes"}, "raw bytes", ("content-length", "9")),
        ({"data": {"a": "1", "b": "x y"}}, "a=1&b=x+y", ("content-length", "9")),
        ({"json": {"k": [1, 2]}}, '{"k": [1, 2]}', ("content-length", "13")),
        ({"data": "caf\u00e9"}, "caf\u00c3\u00a9", ("content-length", "5")),
        ({"data": (p for p in [b"gen", b"erator"])}, "generator", ("transfer-encoding", "chunked")),
        ({"data": io.BytesIO(b"from a file")}, "from a file", ("content-length", "11")),
    ],
    ids=["bytes", "form", "json", "str", "generator", "file"],
)
def test_post_sends_the_body_requests_prepared(server_factory, session, kwargs, body, framing):
    server = server_factory(keep_alive(echo_json))
    r = session.post(server.base + "/submit", **kwargs)
    echoed = r.json()
    assert echoed["method"] == "POST"
    assert echoed["body"] == body
    assert echoed["headers"][framing[0]] == [framing[1]]


def test_request_headers_of_the_caller_are_sent_and_none_removes_one(server_factory, session):
    server = server_factory(keep_alive(echo_json))
    r = session.get(server.base + "/", headers={"X-Token": "t0k", "Accept": None})
    headers = r.json()["headers"]
    assert headers["x-token"] == ["t0k"]
    assert "accept" not in headers


def test_head_and_no_content_responses_have_empty_bodies(server_factory, session):
    def respond(conn: ServerConn, req: Dict[str, Any]) -> None:
        if req["method"] == "HEAD":
            conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n")
        else:
            conn.send(b"HTTP/1.1 204 No Content\r\n\r\n")

    server = server_factory(keep_alive(respond))
    r = session.head(server.base + "/")
    assert r.status_code == 200 and r.content == b"" and r.headers["content-length"] == "1234"
    r = session.delete(server.base + "/")
    assert r.status_code == 204 and r.content == b""
    assert server.connections == 1


# -- content coding --------------------------------------------------------------------------


TEXT = b"line of text that compresses well\n" * 200


def _encoders() -> List[Any]:
    encoders = [
        pytest.param("gzip", gzip.compress, id="gzip"),
        pytest.param("deflate", zlib.compress, id="deflate"),
    ]
    try:
        import brotlicffi as brotli_mod  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        try:
            import brotli as brotli_mod  # type: ignore[import-not-found,no-redef,unused-ignore]
        except ImportError:
            brotli_mod = None
    if brotli_mod is not None:
        encoders.append(pytest.param("br", brotli_mod.compress, id="br"))
    try:
        import zstandard  # type: ignore[import-not-found,unused-ignore]

        encoders.append(
            pytest.param("zstd", zstandard.ZstdCompressor().compress, id="zstd")  # type: ignore[attr-defined,unused-ignore]
        )
    except ImportError:
        pass
    return encoders


def coded_server(server_factory, coding: str, data: bytes):
    def respond(conn: ServerConn, req: Dict[str, Any]) -> None:
        conn.respond(200, data, [("Content-Encoding", coding), ("Content-Type", "text/plain")])

    return server_factory(keep_alive(respond))


@pytest.mark.parametrize("coding, compress", _encoders())
def test_content_is_decoded_in_content_and_in_iter_content(
    server_factory, session, coding, compress
):
    server = coded_server(server_factory, coding, compress(TEXT))
    assert session.get(server.base + "/").content == TEXT
    r = session.get(server.base + "/", stream=True)
    assert b"".join(r.iter_content(100)) == TEXT
    assert server.connections == 1


def test_iter_lines_through_gzip_yields_lines_as_they_arrive(server_factory, session):
    compressor = zlib.compressobj(wbits=31)  # gzip
    gate = gevent.event.Event()
    waited = []

    def chunk(data: bytes) -> bytes:
        return b"%x\r\n%s\r\n" % (len(data), data)

    def respond(conn: ServerConn, req: Dict[str, Any]) -> None:
        conn.send(
            b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n"
            b"Content-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        first = compressor.compress(b"data: one\n\n") + compressor.flush(zlib.Z_SYNC_FLUSH)
        conn.send(chunk(first))
        waited.append(gate.wait(5))
        rest = compressor.compress(b"data: two\n\n") + compressor.flush()
        conn.send(chunk(rest) + b"0\r\n\r\n")

    server = server_factory(keep_alive(respond))
    r = session.get(server.base + "/sse", stream=True)
    lines = []
    for line in r.iter_lines(decode_unicode=True):
        lines.append(line)
        gate.set()
    assert lines == ["data: one", "", "data: two", ""]
    assert waited == [True]


def test_raw_read_gives_the_body_as_sent_unless_asked_to_decode(server_factory, session):
    encoded = gzip.compress(TEXT)
    server = coded_server(server_factory, "gzip", encoded)
    r = session.get(server.base + "/", stream=True)
    assert r.raw.read() == encoded  # urllib3's default through requests' adapter
    r = session.get(server.base + "/", stream=True)
    assert r.raw.read(10, decode_content=True) == TEXT[:10]
    assert r.raw.read(decode_content=True) == TEXT[10:]
    r = session.get(server.base + "/", stream=True)
    r.raw.decode_content = True
    assert r.raw.read() == TEXT


def test_corrupt_gzip_raises_content_decoding_error(server_factory, session):
    server = coded_server(server_factory, "gzip", b"\x1f\x8b\x08\x00not gzip at all")
    with pytest.raises(rexc.ContentDecodingError) as info:
        session.get(server.base + "/")
    assert isinstance(info.value.__cause__, ghc.DecodingError)
    r = session.get(server.base + "/", stream=True)
    with pytest.raises(rexc.ContentDecodingError):
        _ = r.content


def test_decompressed_size_is_bounded_and_configurable(server_factory):
    server = coded_server(server_factory, "gzip", gzip.compress(b"\0" * 100_000))
    s = requests.Session()
    s.mount("http://", GeventAdapter(max_decompressed_size=10_000))
    with pytest.raises(rexc.ContentDecodingError) as info:
        s.get(server.base + "/")
    assert isinstance(info.value.__cause__, ghc.DecompressionLimitExceeded)
    s.mount("http://", GeventAdapter(max_decompressed_size=None))
    assert len(s.get(server.base + "/").content) == 100_000
    s.close()


# -- streaming and the connection ---------------------------------------------------------------


def test_stream_true_yields_pieces_as_they_arrive(server_factory, session):
    first_seen = gevent.event.Event()
    waited = []

    def respond(conn: ServerConn, req: Dict[str, Any]) -> None:
        conn.send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        conn.send(b"6\r\nfirst\n\r\n")
        waited.append(first_seen.wait(5))  # the client must see it before the rest exists
        conn.send(b"7\r\nsecond\n\r\n0\r\n\r\n")

    server = server_factory(keep_alive(respond))
    r = session.get(server.base + "/events", stream=True)
    lines = []
    for line in r.iter_lines():
        lines.append(line)
        first_seen.set()
    assert lines == [b"first", b"second"]
    assert waited == [True]


def test_stream_true_reads_nothing_until_asked_and_close_discards_the_connection(
    server_factory, session, adapter
):
    server = server_factory(respond_raw(b"HTTP/1.1 200 OK\r\nContent-Length: 200000\r\n\r\n"))
    r = session.get(server.base + "/", stream=True)
    stats = only_stats(adapter)
    assert stats.active == 1 and stats.idle == 0
    assert not r.raw.closed
    r.close()
    stats = only_stats(adapter)
    assert stats.active == 0 and stats.connections == 0 and stats.discarded == 1
    assert r.raw.closed


def test_stream_read_to_the_end_returns_the_connection(server_factory, session, adapter):
    body = b"x" * 100_000
    server = server_factory(keep_alive(lambda conn, req: conn.respond(200, body)))
    for _ in range(3):
        r = session.get(server.base + "/", stream=True)
        assert b"".join(r.iter_content(8192)) == body
        r.close()
    stats = only_stats(adapter)
    assert stats.created == 1 and stats.reused == 2 and stats.discarded == 0
    assert stats.idle == 1 and stats.active == 0
    assert server.connections == 1


def test_stream_false_has_given_the_connection_back_before_returning(
    server_factory, session, adapter
):
    server = server_factory(keep_alive(lambda conn, req: conn.respond(200, b"y" * 70_000)))
    r = session.get(server.base + "/")
    stats = only_stats(adapter)
    assert stats.idle == 1 and stats.active == 0
    assert len(r.content) == 70_000


def test_iter_content_chunk_sizes_are_respected(server_factory, session):
    server = server_factory(keep_alive(lambda conn, req: conn.respond(200, b"abcdefghij")))
    r = session.get(server.base + "/", stream=True)
    assert list(r.iter_content(3)) == [b"abc", b"def", b"ghi", b"j"]
    r = session.get(server.base + "/", stream=True)
    assert list(r.iter_content(1))[:2] == [b"a", b"b"]


def test_body_cut_short_raises_chunked_encoding_error(server_factory, session):
    def respond(conn: ServerConn, req: Dict[str, Any]) -> None:
        conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this")
        conn.close()

    server = server_factory(keep_alive(respond))
    with pytest.raises(rexc.ChunkedEncodingError) as info:
        session.get(server.base + "/")
    assert isinstance(info.value.__cause__, ghc.IncompleteResponse)
    r = session.get(server.base + "/", stream=True)
    with pytest.raises(rexc.ChunkedEncodingError):
        list(r.iter_content(None))


# -- timeouts ---------------------------------------------------------------------------


def test_timeout_values_are_parsed_as_http_adapter_parses_them():
    assert timeouts(None) == (None, None)
    assert timeouts(2) == (2.0, 2.0)
    assert timeouts((1, None)) == (1.0, None)
    with pytest.raises(ValueError, match="connect, read"):
        timeouts((1, 2, 3))
    with pytest.raises(ValueError):
        timeouts(-1)
    with pytest.raises(ValueError):
        timeouts("soon")
    urllib3 = pytest.importorskip("urllib3")
    assert timeouts(urllib3.Timeout(connect=1, read=2)) == (1.0, 2.0)
    assert timeouts(urllib3.Timeout(read=2)) == (None, 2.0)  # connect left at the default


def test_a_callers_gevent_timeout_passes_through_untouched(server_factory, session, adapter):
    release = gevent.event.Event()

    def handler(conn: ServerConn) -> None:
        conn.read_request()
        release.wait(5)

    server = server_factory(handler)
    mine = gevent.Timeout(0.1)
    try:
        with pytest.raises(gevent.Timeout) as info:
            with mine:
                session.get(server.base + "/")
    finally:
        release.set()
    assert info.value is mine
    assert only_stats(adapter).connections == 0  # the half-done exchange was closed


def test_connect_timeout_raises_connect_timeout(session, adapter):
    from test_connect import blackhole, close_all

    listener, fillers, port = blackhole()
    try:
        t0 = time.monotonic()
        with pytest.raises(rexc.ConnectTimeout) as info:
            session.get(f"http://127.0.0.1:{port}/", timeout=(0.2, 5))
        assert 0.15 < time.monotonic() - t0 < 1.5
    finally:
        close_all(listener, fillers)
    assert isinstance(info.value, rexc.ConnectionError)  # requests' class is both
    assert isinstance(info.value.__cause__, ghc.ConnectTimeout)
    assert info.value.request is not None


def test_no_answer_within_the_read_timeout_raises_read_timeout(server_factory, session):
    release = gevent.event.Event()

    def handler(conn: ServerConn) -> None:
        conn.read_request()
        release.wait(5)

    server = server_factory(handler)
    t0 = time.monotonic()
    try:
        with pytest.raises(rexc.ReadTimeout) as info:
            session.get(server.base + "/", timeout=(2, 0.2))
    finally:
        release.set()
    assert 0.15 < time.monotonic() - t0 < 1.5
    assert not isinstance(info.value, rexc.ConnectionError)
    assert isinstance(info.value.__cause__, ghc.ReadTimeout)


@pytest.mark.parametrize("stream", [False, True])
def test_a_stalled_body_raises_body_read_timeout(server_factory, session, stream):
    release = gevent.event.Event()

    def handler(conn: ServerConn) -> None:
        conn.read_request()
        conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
        release.wait(5)

    server = server_factory(handler)
    try:
        with pytest.raises(BodyReadTimeout) as info:
            r = session.get(server.base + "/", timeout=0.2, stream=stream)
            _ = r.content
    finally:
        release.set()
    # requests raises ConnectionError for a body that times out; a caller who set a
    # read timeout catches ReadTimeout: it is both.
    assert isinstance(info.value, rexc.ConnectionError)
    assert isinstance(info.value, rexc.ReadTimeout)
    assert isinstance(info.value.__cause__, ghc.ReadTimeout)


def test_each_timeout_gets_its_own_client(server_factory, session, adapter):
    server = server_factory(keep_alive(lambda conn, req: conn.respond(200, b"ok")))
    session.get(server.base + "/", timeout=5)
    session.get(server.base + "/", timeout=(1, 5))
    session.get(server.base + "/", timeout=5)
    keys = list(adapter.statistics())
    assert [k.timeout for k in keys] == [(1.0, 5.0), (5.0, 5.0)]  # least recently used first
    assert {k.origin for k in keys} == {f"http://127.0.0.1:{server.port}"}


# -- errors -----------------------------------------------------------------------------------


def test_connection_refused_raises_connection_error(session):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with pytest.raises(rexc.ConnectionError) as info:
        session.get(f"http://127.0.0.1:{port}/")
    assert isinstance(info.value.__cause__, ghc.ConnectionRefused)
    assert not isinstance(info.value, rexc.Timeout)


def test_a_name_that_does_not_resolve_raises_connection_error(session, monkeypatch):
    def no_such_name(host: str, *args: Any, **kw: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, f"{host} is not known in tests")

    monkeypatch.setattr(gevent.socket, "getaddrinfo", no_such_name)
    with pytest.raises(rexc.ConnectionError) as info:
        session.get("http://no-such-host.test/")
    assert isinstance(info.value.__cause__, ghc.DNSError)
    assert not isinstance(info.value, (rexc.Timeout, rexc.ProxyError))


def test_malformed_response_head_raises_connection_error(server_factory, session):
    server = server_factory(respond_raw(b"HTTP/1.1 abc Nonsense\r\n\r\n"))
    with pytest.raises(rexc.ConnectionError) as info:
        session.get(server.base + "/")
    assert isinstance(info.value.__cause__, ghc.HTTPParseError)


def test_invalid_url_and_schema_are_requests_classes(adapter):
    req = requests.Request("GET", "http://example.test/").prepare()
    req.url = "http://127.0.0.1:99999/"
    with pytest.raises(rexc.InvalidURL):
        adapter.send(req)
    req.url = "ftp://127.0.0.1/file"
    with pytest.raises(rexc.InvalidSchema):
        adapter.send(req)
    req.url = "http:///nohost"
    with pytest.raises(rexc.InvalidURL):
        adapter.send(req)


def test_header_injection_raises_invalid_header(server_factory, adapter):
    server = server_factory(keep_alive(echo_json))
    req = requests.Request("GET", server.base + "/").prepare()
    req.headers["X-Evil"] = "a\r\nInjected: yes"  # past requests' own check
    with pytest.raises(rexc.InvalidHeader) as info:
        adapter.send(req)
    assert isinstance(info.value.__cause__, ghc.HeaderInjectionError)
    assert server.requests == []


def test_max_retries_sends_again_when_the_connection_could_not_be_made():
    events: List[str] = []

    def trace(name: str, info: Dict[str, Any]) -> None:
        if name == "connect_tcp.started":
            events.append(name)

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    session = requests.Session()
    session.mount("http://", GeventAdapter(max_retries=2, trace=trace))
    with pytest.raises(rexc.ConnectionError):
        session.post(f"http://127.0.0.1:{port}/", data=b"not sent: not connected")
    assert len(events) == 3
    events.clear()
    session.mount("http://", GeventAdapter(trace=trace))
    with pytest.raises(rexc.ConnectionError):
        session.get(f"http://127.0.0.1:{port}/")
    assert len(events) == 1
    session.close()


def test_adapter_arguments_are_checked():
    with pytest.raises(TypeError, match="Retry"):
        GeventAdapter(max_retries=object())  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        GeventAdapter(pool_maxsize=0)
    with pytest.raises(TypeError, match="ssl_options"):
        GeventAdapter(ssl_options={})
    positional = GeventAdapter(5, 20, 1, True)  # HTTPAdapter's positional order
    assert (positional.pool_connections, positional.pool_maxsize) == (5, 20)
    assert (positional.max_retries, positional.pool_block) == (1, True)


def test_raw_is_a_file_for_code_that_copies_it(server_factory, session, tmp_path):
    body = bytes(range(256)) * 400
    server = server_factory(keep_alive(lambda conn, req: conn.respond(200, body)))
    import shutil

    r = session.get(server.base + "/", stream=True)
    with open(tmp_path / "out", "wb") as f:
        shutil.copyfileobj(r.raw, f, 1000)
    assert (tmp_path / "out").read_bytes() == body
    assert r.raw.closed and r.raw.read() == b""
    r = session.get(server.base + "/", stream=True)
    buf = bytearray(300)
    assert r.raw.readinto(buf) == 300 and bytes(buf) == body[:300]
    assert b"".join(r.raw.stream(4096)) == body[300:]


# -- redirects and cookies stay requests' ---------------------------------------------------


def test_redirects_are_followed_by_requests_not_by_the_adapter(server_factory, session):
    def respond(conn: ServerConn, req: Dict[str, Any]) -> None:
        if req["target"] == "/old":
            conn.respond(302, b"moved", [("Location", "/new")], reason="Found")
        else:
            conn.respond(200, b"new place")

    server = server_factory(keep_alive(respond))
    r = session.get(server.base + "/old")
    assert r.status_code == 200 and r.text == "new place"
    assert [h.status_code for h in r.history] == [302]
    assert r.url == server.base + "/new"
    assert [q["target"] for q in server.requests] == ["/old", "/new"]
    r = session.get(server.base + "/old", allow_redirects=False)
    assert r.status_code == 302 and r.is_redirect and r.next is not None
    assert server.connections == 1


def test_cookies_are_kept_by_the_requests_session(server_factory, session):
    def respond(conn: ServerConn, req: Dict[str, Any]) -> None:
        if req["target"] == "/login":
            conn.respond(
                302,
                b"",
                [
                    ("Set-Cookie", "sid=abc; Path=/"),
                    ("Set-Cookie", "theme=dark; Path=/"),
                    ("Location", "/home"),
                ],
            )
        else:
            conn.respond(200, ";".join(req["headers"].get("cookie", [])).encode())

    server = server_factory(keep_alive(respond))
    r = session.get(server.base + "/login")
    assert r.history[0].cookies.get_dict() == {"sid": "abc", "theme": "dark"}
    assert session.cookies.get_dict() == {"sid": "abc", "theme": "dark"}
    assert "sid=abc" in r.text and "theme=dark" in r.text  # sent on the redirect
    session.cookies.clear()
    assert session.get(server.base + "/home").text == ""


# -- TLS ------------------------------------------------------------------------------------


@pytest.fixture
def tls_server(server_factory, server_ssl_context):
    return server_factory(keep_alive(echo_json), ssl_context=server_ssl_context)


def tls_url(server: Any) -> str:
    return f"https://localhost:{server.port}/"


def test_verify_with_a_ca_bundle_path(tls_server, session, ca_file):
    r = session.get(tls_url(tls_server), verify=ca_file)
    assert r.status_code == 200 and r.json()["method"] == "GET"


def test_requests_ca_bundle_from_the_environment_reaches_the_adapter(
    tls_server, adapter, ca_file, monkeypatch
):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", ca_file)
    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    session = requests.Session()  # trust_env: requests reads the variable
    session.mount("https://", adapter)
    assert session.get(tls_url(tls_server)).status_code == 200
    assert [k.verify for k in adapter.statistics()] == [ca_file]


def test_default_verify_refuses_an_unknown_ca_with_ssl_error(tls_server, session):
    with pytest.raises(rexc.SSLError) as info:
        session.get(tls_url(tls_server))
    assert isinstance(info.value.__cause__, ghc.TLSError)


def test_verify_false_accepts_any_certificate(tls_server, session):
    assert session.get(tls_url(tls_server), verify=False).status_code == 200


def test_verify_with_a_directory_of_hashed_certificates(tls_server, session, tls_ca, tmp_path):
    import shutil
    import subprocess

    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("no openssl command to name the certificate by its hash")
    pem = tmp_path / "ca.pem"
    tls_ca.cert_pem.write_to_path(str(pem))
    digest = subprocess.run(
        [openssl, "x509", "-hash", "-noout", "-in", str(pem)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    capath = tmp_path / "capath"
    capath.mkdir()
    shutil.copy(pem, capath / f"{digest}.0")
    assert session.get(tls_url(tls_server), verify=str(capath)).status_code == 200


def test_missing_ca_bundle_or_cert_file_raises_os_error(tls_server, session, tmp_path):
    with pytest.raises(OSError, match="CA certificate bundle"):
        session.get(tls_url(tls_server), verify=str(tmp_path / "nope.pem"))
    with pytest.raises(OSError, match="certificate file"):
        session.get(tls_url(tls_server), verify=False, cert=str(tmp_path / "nope.pem"))


def test_plain_http_ignores_tls_settings_as_http_adapter_does(server_factory, session, tmp_path):
    server = server_factory(keep_alive(lambda conn, req: conn.respond(200, b"ok")))
    missing = str(tmp_path / "nope.pem")
    assert session.get(server.base + "/", verify=missing, cert=missing).text == "ok"


def test_tls_settings_each_get_their_own_client(tls_server, session, adapter, ca_file):
    session.get(tls_url(tls_server), verify=ca_file)
    session.get(tls_url(tls_server), verify=False)
    session.get(tls_url(tls_server), verify=ca_file)
    keys = list(adapter.statistics())
    assert [k.verify for k in keys] == [False, ca_file]
    assert all(s.created == 1 for s in adapter.statistics().values())


@pytest.mark.parametrize("form", ["pair", "single file"])
def test_client_certificate_is_presented(
    server_factory, tls_ca, tls_cert, session, tmp_path, ca_file, form
):
    import gevent.ssl

    ctx = gevent.ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls_cert.configure_cert(ctx)
    ctx.verify_mode = ssl.CERT_REQUIRED
    tls_ca.configure_trust(ctx)
    peers: List[Any] = []

    def respond(conn: ServerConn, req: Dict[str, Any]) -> None:
        peers.append(conn.sock.getpeercert())
        conn.respond(200, b"hello client")

    server = server_factory(keep_alive(respond), ssl_context=ctx)
    client_cert = tls_ca.issue_cert("client@example.test")
    if form == "pair":
        certfile, keyfile = tmp_path / "client.crt", tmp_path / "client.key"
        client_cert.cert_chain_pems[0].write_to_path(str(certfile))
        client_cert.private_key_pem.write_to_path(str(keyfile))
        cert: Any = (str(certfile), str(keyfile))
    else:
        both = tmp_path / "client.pem"
        client_cert.private_key_and_cert_chain_pem.write_to_path(str(both))
        cert = str(both)
    r = session.get(tls_url(server), verify=ca_file, cert=cert)
    assert r.text == "hello client"
    assert peers and peers[0]["subjectAltName"]
    with pytest.raises((rexc.SSLError, rexc.ConnectionError)):
        session.get(tls_url(server), verify=ca_file)  # no certificate: refused


# -- proxies ----------------------------------------------------------------------------------


def test_http_url_through_a_proxy_uses_absolute_form_and_credentials(server_factory, session):
    proxy = server_factory(keep_alive(lambda conn, req: conn.respond(200, b"via proxy")))
    proxies = {"http": f"http://us%40er:pa%3Ass@127.0.0.1:{proxy.port}"}
    r = session.get("http://origin.test:8080/path?q=1", proxies=proxies)
    assert r.text == "via proxy"
    req = proxy.requests[0]
    assert req["target"] == "http://origin.test:8080/path?q=1"
    import base64

    assert req["headers"]["proxy-authorization"] == [
        "Basic " + base64.b64encode(b"us@er:pa:ss").decode()
    ]
    (key,) = session.get_adapter("http://").statistics()
    assert key.proxy == f"http://us%40er@127.0.0.1:{proxy.port}"  # no password in the key


def test_https_url_through_a_proxy_tunnels_with_connect(
    server_factory, tls_server, session, ca_file
):
    def handler(conn: ServerConn) -> None:
        req = conn.read_request()
        if req is None or req["method"] != "CONNECT":
            return
        port = int(req["target"].rpartition(":")[2])
        upstream = gevent.socket.create_connection(("127.0.0.1", port), timeout=5)
        upstream.settimeout(None)
        try:
            conn.send(b"HTTP/1.1 200 Connection established\r\n\r\n")
            gevent.joinall(
                [gevent.spawn(pipe, conn.sock, upstream), gevent.spawn(pipe, upstream, conn.sock)]
            )
        finally:
            upstream.close()

    proxy = server_factory(handler)
    proxies = {"https": f"http://127.0.0.1:{proxy.port}"}
    r = session.get(tls_url(tls_server) + "secret", proxies=proxies, verify=ca_file)
    assert r.json()["target"] == "/secret"
    assert proxy.requests[0]["target"] == f"localhost:{tls_server.port}"


def test_proxy_refusing_or_unreachable_raises_proxy_error(server_factory, session, ca_file):
    refusing = server_factory(
        respond_raw(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")
    )
    with pytest.raises(rexc.ProxyError) as info:
        session.get(
            "https://localhost:1/", proxies={"https": f"127.0.0.1:{refusing.port}"}, verify=ca_file
        )
    assert isinstance(info.value.__cause__, ghc.ProxyError)
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with pytest.raises(rexc.ProxyError):
        session.get("http://origin.test/", proxies={"http": f"http://127.0.0.1:{port}"})


def test_an_unknown_proxy_scheme_is_invalid_schema(session):
    with pytest.raises(rexc.InvalidSchema):
        session.get("http://origin.test/", proxies={"http": "ftp://127.0.0.1:21"})


@pytest.mark.parametrize(
    "scheme, atyp",
    [("socks5", "ipv4"), ("socks5h", "domain"), ("socks4", "ipv4"), ("socks4a", "domain")],
)
def test_each_socks_scheme_carries_http_and_https(
    server_factory, tls_server, socks, ca_file, scheme, atyp
):
    origin = server_factory(keep_alive(echo_json))
    adapter = GeventAdapter(resolve=HOSTS)
    session = requests.Session()
    session.trust_env = False
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.proxies = {"http": socks.url(scheme), "https": socks.url(scheme)}
    r = session.get(f"http://origin.test:{origin.port}/plain")
    assert r.json()["target"] == "/plain"  # origin-form: the proxy is a tunnel
    r = session.get(f"https://localhost:{tls_server.port}/tls", verify=ca_file)
    assert r.json()["target"] == "/tls"
    asked = [(r.version, r.atyp, r.host, r.port) for r in socks.requests]
    version = int(scheme[5])
    if atyp == "domain":
        assert asked == [
            (version, atyp, "origin.test", origin.port),
            (version, atyp, "localhost", tls_server.port),
        ]
    else:
        assert asked == [
            (version, atyp, "127.0.0.1", origin.port),
            (version, atyp, "127.0.0.1", tls_server.port),
        ]
    keys = [k.proxy for k in adapter.statistics()]
    assert keys == [f"{scheme}://127.0.0.1:{socks.port}"] * 2
    session.close()


def test_socks_from_the_environment_with_credentials(server_factory, monkeypatch):
    origin = server_factory(keep_alive(echo_json))
    with SocksServer(user="us@er", password="p:w") as socks:
        for name in ("HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy", "REQUEST_METHOD"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("ALL_PROXY", f"socks5h://us%40er:p%3Aw@127.0.0.1:{socks.port}")
        session = requests.Session()  # trust_env: requests reads ALL_PROXY
        adapter = GeventAdapter()
        session.mount("http://", adapter)
        assert session.get(origin.base + "/env").json()["target"] == "/env"
        assert [(r.user, r.password) for r in socks.requests] == [("us@er", "p:w")]
        (key,) = adapter.statistics()
        assert key.proxy == f"socks5h://us%40er@127.0.0.1:{socks.port}"  # no password
        session.close()


def test_proxy_credentials_requests_adds_on_a_redirect_stay_with_the_proxy(server_factory):
    def respond(conn: ServerConn, req: Dict[str, Any]) -> None:
        if req["target"] == "/old":
            conn.respond(302, b"", [("Location", "/new")], reason="Found")
        else:
            echo_json(conn, req)

    origin = server_factory(keep_alive(respond))
    with SocksServer(user="u", password="p") as socks:
        session = requests.Session()
        session.trust_env = False
        session.mount("http://", GeventAdapter())
        r = session.get(origin.base + "/old", proxies={"http": socks.url("socks5", "u", "p")})
        session.close()
    # requests puts the proxy's credentials among the headers when it follows a
    # redirect (Session.rebuild_proxies): through a tunnel they must not go out
    assert r.history[0].status_code == 302
    assert "Proxy-Authorization" in r.request.headers
    assert [q["target"] for q in origin.requests] == ["/old", "/new"]
    assert all("proxy-authorization" not in q["headers"] for q in origin.requests)
    assert len(socks.requests) == 1  # one tunnel, kept alive


@pytest.mark.parametrize(
    "server, cause",
    [
        ({"user": "u", "password": "right"}, ghc.ProxyAuthenticationError),
        ({"script": "refuse", "reply": 2}, ghc.ProxyError),
        ({"script": "reply_version"}, ghc.ProxyProtocolError),
    ],
    ids=["bad-credentials", "refused", "malformed-reply"],
)
def test_socks_failures_are_proxy_errors(server_factory, session, server, cause):
    origin = server_factory(keep_alive(echo_json))
    with SocksServer(**server) as socks:
        proxies = {"http": socks.url("socks5", "u", "wrong")}
        with pytest.raises(rexc.ProxyError) as info:
            session.get(origin.base + "/", proxies=proxies)
    assert type(info.value.__cause__) is cause
    assert isinstance(info.value, rexc.ConnectionError)  # what requests' own SOCKS raises
    assert origin.requests == []


@pytest.fixture
def https_proxy(tls_cert):
    proxy = HTTPSProxy(tls_cert, credentials=("user", "pa:ss"))
    yield proxy
    proxy.stop()


def test_https_proxy_forwards_http_and_tunnels_https_verified_by_verify(
    server_factory, tls_server, https_proxy, session, ca_file
):
    origin = server_factory(keep_alive(echo_json))
    url = f"https://user:pa%3Ass@localhost:{https_proxy.port}"
    proxies = {"http": url, "https": url}
    r = session.get(f"http://origin.test:{origin.port}/plain", proxies=proxies, verify=ca_file)
    assert r.json()["target"] == "/plain"
    r = session.get(tls_url(tls_server) + "tls", proxies=proxies, verify=ca_file)
    assert r.json()["target"] == "/tls"
    assert [q["target"] for q in https_proxy.requests] == [
        f"http://origin.test:{origin.port}/plain",
        f"localhost:{tls_server.port}",
    ]
    assert all(
        q["headers"]["proxy-authorization"] == [basic("user", "pa:ss")]
        for q in https_proxy.requests
    )
    assert https_proxy.sni == ["localhost", "localhost"]
    assert all("proxy-authorization" not in q["headers"] for q in origin.requests)
    assert all("proxy-authorization" not in q["headers"] for q in tls_server.requests)


def test_an_https_proxy_is_verified_as_verify_says_for_http_urls_too(
    server_factory, https_proxy, session, tmp_path
):
    origin = server_factory(keep_alive(echo_json))
    proxies = {"http": f"https://user:pa%3Ass@localhost:{https_proxy.port}"}
    with pytest.raises(rexc.SSLError) as info:
        session.get(origin.base + "/", proxies=proxies)  # certifi: an unknown CA
    assert isinstance(info.value.__cause__, ghc.CertificateVerifyError)
    assert https_proxy.requests == []
    with pytest.raises(OSError, match="CA certificate bundle"):
        session.get(origin.base + "/", proxies=proxies, verify=str(tmp_path / "nope.pem"))
    r = session.get(origin.base + "/", proxies=proxies, verify=False)
    assert r.status_code == 200
    assert [q["target"] for q in https_proxy.requests] == [origin.base + "/"]


def test_an_https_proxy_refusing_credentials_is_proxy_error(
    https_proxy, tls_server, session, ca_file
):
    proxies = {"https": f"https://user:wrong@localhost:{https_proxy.port}"}
    with pytest.raises(rexc.ProxyError) as info:
        session.get(tls_url(tls_server), proxies=proxies, verify=ca_file)
    assert isinstance(info.value.__cause__, ghc.ProxyAuthenticationError)
    assert tls_server.connections == 0


# -- Unix domain sockets -------------------------------------------------------------------


def test_http_unix_urls_name_the_socket(tmp_path, server_ssl_context, ca_file, monkeypatch):
    from urllib.parse import quote

    from test_contrib_httpx import unix_wsgi_server

    monkeypatch.setenv("ALL_PROXY", "http://127.0.0.1:9")  # would refuse: not used
    adapter = GeventAdapter()
    session = requests.Session()
    session.mount("http+unix://", adapter)
    session.mount("https+unix://", adapter)
    with unix_wsgi_server(tmp_path, name="Plain.sock") as (plain, seen):
        url = f"http+unix://{quote(plain, safe='')}/v1.43/info?all=1"
        assert session.get(url).text == "unix /v1.43/info "
        assert session.post(url, data=b"x").text == "unix /v1.43/info x"
    with unix_wsgi_server(tmp_path, server_ssl_context, name="TLS.sock") as (tls, seen_tls):
        url = f"https+unix://{quote(tls, safe='')}/secure"
        assert session.get(url, verify=ca_file).text == "unix /secure "
    stats = adapter.statistics()
    assert [(k.origin, k.uds, k.proxy) for k in stats] == [
        ("http://localhost:80", plain, None),
        ("https://localhost:443", tls, None),
    ]
    assert [(s.created, s.reused) for s in stats.values()] == [(1, 1), (1, 0)]
    session.close()
    assert seen == [("GET", "/v1.43/info", "localhost"), ("POST", "/v1.43/info", "localhost")]
    assert seen_tls == [("GET", "/secure", "localhost")]


def test_uds_adapter_sends_to_the_socket_and_ignores_proxies(tmp_path, monkeypatch):
    from test_contrib_httpx import unix_wsgi_server

    with unix_wsgi_server(tmp_path) as (path, seen):
        monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # would refuse
        adapter = GeventAdapter(uds=path)
        session = requests.Session()
        session.mount("http://", adapter)
        assert session.get("http://localhost/v1/info").text == "unix /v1/info "
        assert session.post("http://localhost/v1/run", data=b"go").text == "unix /v1/run go"
        session.close()
    assert seen == [("GET", "/v1/info", "localhost"), ("POST", "/v1/run", "localhost")]


# -- pools --------------------------------------------------------------------------------------


def test_pool_maxsize_bounds_connections_per_origin(server_factory):
    gate = gevent.event.Event()

    def respond(conn: ServerConn, req: Dict[str, Any]) -> None:
        gate.wait(5)
        conn.respond(200, b"ok")

    server = server_factory(keep_alive(respond))
    adapter = GeventAdapter(pool_maxsize=2)
    session = requests.Session()
    session.mount("http://", adapter)
    jobs = [gevent.spawn(session.get, server.base + "/") for _ in range(6)]
    assert wait_until(lambda: len(server.requests) == 2 and only_stats(adapter).waiting == 4)
    assert only_stats(adapter).active == 2
    gate.set()
    gevent.joinall(jobs, raise_error=True)
    assert server.connections == 2
    assert all(j.value.status_code == 200 for j in jobs)
    session.close()
    assert adapter.statistics() == {}


def test_pool_connections_bounds_the_clients_kept(server_factory):
    servers = [server_factory(keep_alive(lambda c, r: c.respond(200, b"ok"))) for _ in range(3)]
    adapter = GeventAdapter(pool_connections=2)
    session = requests.Session()
    session.mount("http://", adapter)
    for server in servers:
        assert session.get(server.base + "/").status_code == 200
    assert adapter.evicted == 1
    assert [k.origin for k in adapter.statistics()] == [
        f"http://127.0.0.1:{s.port}" for s in servers[1:]
    ]
    assert isinstance(next(iter(adapter.statistics())), ClientKey)
    session.close()


def test_a_pickled_session_keeps_the_adapter_settings_not_its_connections(server_factory):
    import pickle

    server = server_factory(keep_alive(lambda c, r: c.respond(200, b"ok")))
    session = requests.Session()
    session.mount("http://", GeventAdapter(pool_maxsize=3, max_retries=2, block_size=4096))
    session.get(server.base + "/")
    copy = pickle.loads(pickle.dumps(session))
    adapter = copy.get_adapter("http://")
    assert isinstance(adapter, GeventAdapter) and adapter.statistics() == {}
    assert (adapter.pool_maxsize, adapter.max_retries) == (3, 2)
    assert adapter.client_kw["block_size"] == 4096
    assert copy.get(server.base + "/").text == "ok"
    assert server.connections == 2
    session.close()
    copy.close()


def test_session_close_closes_the_adapter(server_factory):
    server = server_factory(keep_alive(lambda c, r: c.respond(200, b"ok")))
    adapter = GeventAdapter()
    session = requests.Session()
    session.mount("http://", adapter)
    session.get(server.base + "/")
    session.close()
    assert adapter.statistics() == {}
    assert "GeventAdapter" in repr(adapter)
