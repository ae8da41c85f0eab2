"""UserAgent against scripted loopback servers: retries, redirects, bodies, cookies,
decoding, errors, and the surface Locust's FastHttpUser builds on."""

from __future__ import annotations

import gzip
import io
import json
import socket
import time
import urllib.request
import zlib
from http.cookiejar import CookieJar

import gevent
import pytest
from conftest import keep_alive

from geventhttpclient.exceptions import (
    ConnectError,
    HTTPError,
    HTTPParseError,
    LimitExceeded,
    ReadTimeout,
    RequestTimeout,
)
from geventhttpclient.header import Headers
from geventhttpclient.useragent import (
    ACCEPT_ENCODING,
    BadStatusCode,
    CompatRequest,
    CompatResponse,
    ConnectionError,  # noqa: A004 - the 2.x name under test
    DecodingError,
    DecompressionLimitExceeded,
    EmptyResponse,
    RetriesExceeded,
    TooManyRedirects,
    UnrewoundBodyError,
    UnsupportedRedirectSchemeError,
    UserAgent,
    _encode_multipart_formdata,
)


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def hang(conn):
    """Read one request and never answer (until the client goes away)."""
    conn.read_request()
    while conn.recv_more():
        pass


class RecordingAgent(UserAgent):
    """Counts hook calls and records backoff sleeps instead of sleeping."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.opened = []
        self.verified = []
        self.slept = []

    def _urlopen(self, request):
        self.opened.append((request.method, request.url))
        return super()._urlopen(request)

    def _verify_status(self, status_code, url=None):
        self.verified.append(status_code)
        super()._verify_status(status_code, url)

    def _sleep(self, seconds):
        self.slept.append(seconds)


# -- errors ------------------------------------------------------------------------------


def test_connection_error_str_repr_args_and_attributes():
    e = BadStatusCode("http://x/", code=404)
    assert e.args == ("http://x/",)
    assert e.code == 404 and e.url == "http://x/"
    assert str(e) == "URL http://x/: code=404"
    assert repr(e) == "BadStatusCode('http://x/', code=404)"
    e = ConnectionError("http://x/", "failed %s times", 3)
    assert str(e) == "URL http://x/: failed 3 times"
    assert e.args == ("http://x/", "failed %s times", 3)
    assert str(ConnectionError("http://x/")) == "URL http://x/"
    assert repr(ConnectionError("http://x/")) == "ConnectionError('http://x/')"
    inner = ValueError("boom")
    r = RetriesExceeded("http://x/", 3, original=inner)
    assert r.original is inner
    assert str(r) == "URL http://x/: 3, original=boom"
    # A subclass that strips the URL from repr, as Locust's LocustBadStatusCode does.
    assert repr(e).replace(repr(e.url) + ", ", "") == "ConnectionError('failed %s times', 3)"
    for cls in (ConnectionError, RetriesExceeded, BadStatusCode, EmptyResponse, TooManyRedirects):
        assert issubclass(cls, HTTPError) and issubclass(cls, ConnectionError)
    assert issubclass(TooManyRedirects, RetriesExceeded)
    assert issubclass(DecodingError, HTTPParseError) and issubclass(DecodingError, zlib.error)
    assert issubclass(DecompressionLimitExceeded, LimitExceeded)


# -- class attributes --------------------------------------------------------------------


def test_redirect_codes_alias_reads_and_writes_one_value():
    ua = UserAgent()
    assert (
        ua.redirect_resonse_codes == ua.redirect_response_codes == UserAgent.redirect_response_codes
    )
    ua.redirect_resonse_codes = []
    assert ua.redirect_response_codes == []
    assert UserAgent.redirect_response_codes  # the class is untouched
    ua.redirect_response_codes = {302}
    assert ua.redirect_resonse_codes == {302}

    class Sub(UserAgent):
        redirect_resonse_codes = frozenset({301})

    assert Sub.redirect_response_codes == frozenset({301})
    assert Sub().redirect_response_codes == frozenset({301})
    Sub.redirect_response_codes = frozenset({307})
    assert Sub.redirect_resonse_codes == frozenset({307})
    assert UserAgent.redirect_resonse_codes == frozenset({301, 302, 303, 307, 308})


def test_redirect_alias_set_on_instance_stops_following(server_factory):
    server = server_factory(keep_alive(lambda c, r: c.respond(302, b"", [("Location", "/x")])))
    ua = UserAgent()
    ua.redirect_resonse_codes = []  # what Locust does for allow_redirects=False
    resp = ua.urlopen(server.base + "/")
    assert resp.status_code == 302
    assert len(server.requests) == 1


# -- requests -----------------------------------------------------------------------------


def test_compat_request_is_what_cookiejar_and_urllib_expect():
    req = CompatRequest("https://example.com:8443/p?a=1", method="post", payload=b"x=1")
    assert isinstance(req, urllib.request.Request)
    assert req.get_method() == "POST" and req.data == b"x=1"
    assert (req.type, req.host, req.selector) == ("https", "example.com:8443", "/p?a=1")
    assert req.get_host() == "example.com" and req.get_type() == "https"
    assert req.get_full_url() == req.full_url == "https://example.com:8443/p?a=1"
    assert req.origin_req_host == "example.com" and req.unverifiable is False
    req.full_url = "http://other.example/q"
    assert (req.type, req.host, req.url_split.host) == ("http", "other.example", "other.example")


def test_compat_request_host_and_selector_assigned_hold_until_the_next_url():
    # urllib's set_proxy assigns host and selector; a new URL derives both again.
    req = CompatRequest("http://example.com/a?b=1")
    assert (req.host, req.selector) == ("example.com", "/a?b=1")
    req.set_proxy("proxy.example:3128", "http")
    assert (req.host, req.selector) == ("proxy.example:3128", "http://example.com/a?b=1")
    req.full_url = "https://other.example:444/c"
    assert (req.host, req.selector) == ("other.example:444", "/c")


def test_class_attributes_can_be_reassigned(monkeypatch):
    # Locust patches these on the class; per-request values must still win.
    monkeypatch.setattr(CompatRequest, "unverifiable", False, raising=False)
    monkeypatch.setattr(CompatRequest, "type", "https", raising=False)
    req = CompatRequest("http://example.com/")
    assert req.type == "http" and req.unverifiable is False


class _SetCookie:
    def __init__(self, value):
        self._h = Headers([("Set-Cookie", value)])

    def info(self):
        return self._h


def test_cookiejar_puts_cookies_in_the_headers_we_send():
    req = CompatRequest("https://example.com/p")
    jar = CookieJar()
    jar.extract_cookies(_SetCookie("k=v; Path=/; Secure"), req)
    jar.add_cookie_header(req)
    assert req.headers["cookie"] == "k=v"
    plain = CompatRequest("http://example.com/p")
    jar.add_cookie_header(plain)
    assert "cookie" not in plain.headers  # Secure cookies stay off plain http


def test_make_request_encodes_and_describes_bodies():
    ua = UserAgent()
    r = ua._make_request("http://h/", "POST", None, payload={"a": "b", "c": ["1", "2"]})
    assert r.payload == b"a=b&c=1&c=2"
    assert r.headers["content-type"].startswith("application/x-www-form-urlencoded")
    assert r.headers["content-length"] == str(len(r.payload))
    # a str stays a str (Locust's request.body is what it passed); sent as UTF-8
    r = ua._make_request("http://h/", "POST", None, payload="h\u00e9")
    assert r.payload == "h\u00e9" and r.headers["content-type"] == "text/plain; charset=utf-8"
    assert r.headers["content-length"] == "3"
    r = ua._make_request("http://h/", "POST", {"Content-Type": "x/y"}, payload=b"\0")
    assert r.headers["content-type"] == "x/y"
    r = ua._make_request("http://h/", "POST", None, json={"k": [1]})
    assert json.loads(r.payload) == {"k": [1]} and r.headers["content-type"] == "application/json"
    r = ua._make_request("http://h/", "GET", None)
    assert r.payload is None and len(r.headers) == 0
    r = ua._make_request("http://h/", "POST", None, payload={})
    assert r.payload is None
    with pytest.raises(ValueError):
        ua._make_request("http://h/", "POST", None, payload=b"x", json=1)

    class MyRequest(CompatRequest):
        pass

    class MyAgent(UserAgent):
        request_type = MyRequest

    assert type(MyAgent()._make_request("http://h/")) is MyRequest


def test_multipart_format_and_custom_boundary():
    files = {"file": ("report.xls", io.BytesIO(b"123"), "application/x", {"Expires": "0"}, "bnd")}
    body, ctype = _encode_multipart_formdata(files, {"bla": "text"})
    assert ctype == "multipart/form-data; boundary=bnd"
    assert body == (
        b'--bnd\r\nContent-Disposition: form-data; name="bla"\r\n\r\ntext\r\n'
        b'--bnd\r\nContent-Disposition: form-data; name="file"; filename="report.xls"\r\n'
        b"Content-Type: application/x\r\nExpires: 0\r\n\r\n123\r\n--bnd--\r\n"
    )
    with pytest.raises(ValueError):
        _encode_multipart_formdata({"f": ("a", b"x", None, None, "b", "extra")}, None)
    with pytest.raises(ValueError):
        _encode_multipart_formdata({"f": ("a", b"x", "text/plain\r\nX: y")}, None)
    body, ctype = _encode_multipart_formdata({'f"\r\n': b"x"}, None)
    assert b'name="f%22%0D%0A"' in body


# -- redirects ----------------------------------------------------------------------------


def test_redirect_method_body_and_credentials_rules():
    for code in (301, 302, 303):
        req = CompatRequest("http://a/", "POST", {"Content-Type": "x/y"}, payload=b"x")
        req.redirect(code, "/o")
        assert (req.method, req.payload, "content-type" in req.headers) == ("GET", None, False)
        head = CompatRequest("http://a/", "HEAD")
        head.redirect(code, "/o")
        assert head.method == "HEAD"
    secret = {"Authorization": "a", "Cookie": "c", "Proxy-Authorization": "p"}
    for target in ("https://a/x", "http://b/x", "http://a:8080/x"):
        req = CompatRequest("http://a/", headers=dict(secret))
        req.redirect(302, target)
        assert not {"authorization", "cookie", "proxy-authorization"} & set(req.headers.keys())
    req = CompatRequest("http://a/", headers=dict(secret))
    req.redirect(302, "/same-origin")
    assert req.headers["authorization"] == "a"


def test_307_rewinds_a_file_and_refuses_a_spent_generator():
    f = io.BytesIO(b"0123456789")
    f.read(3)
    req = CompatRequest("http://a/", "POST", payload=f)
    f.read()
    req.redirect(307, "/o")
    assert req.method == "POST" and f.tell() == 3  # where the body started
    req = CompatRequest("http://a/", "POST", payload=(b for b in [b"x"]))
    with pytest.raises(UnrewoundBodyError):
        req.redirect(308, "/o")
    req = CompatRequest("http://a/")
    with pytest.raises(UnsupportedRedirectSchemeError):
        req.redirect(302, "ftp://a/file")
    assert req.url == "http://a/"


def test_redirects_followed_through_the_hooks(server_factory):
    def respond(conn, req):
        if req["target"] == "/a":
            conn.respond(303, b"not decoded", [("Location", "/b"), ("Content-Encoding", "br0ken")])
        elif req["target"] == "/b":
            conn.respond(307, b"", [("Location", "/c")])
        else:
            conn.respond(200, f"{req['method']} {req['target']}".encode())

    server = server_factory(keep_alive(respond))
    ua = RecordingAgent()
    resp = ua.urlopen(server.base + "/a", method="POST", payload=b"data")
    assert resp.content == b"GET /c"
    assert [m for m, _ in ua.opened] == ["POST", "GET", "GET"]
    assert ua.verified == [303, 307, 200]
    assert server.connections == 1  # short redirect bodies are drained, not dropped


def test_307_replays_the_body_end_to_end(server_factory, tmp_path):
    def respond(conn, req):
        if req["target"] == "/a":
            conn.respond(307, b"", [("Location", "/b")])
        else:
            conn.respond(200, req["body"])

    server = server_factory(keep_alive(respond))
    path = tmp_path / "body"
    path.write_bytes(b"file body")
    with open(path, "rb") as f:
        resp = UserAgent().urlopen(server.base + "/a", method="PUT", payload=f)
    assert resp.content == b"file body"
    assert [r["body"] for r in server.requests] == [b"file body", b"file body"]


def test_redirect_limits(server_factory):
    server = server_factory(keep_alive(lambda c, r: c.respond(302, b"", [("Location", "/again")])))
    with pytest.raises(TooManyRedirects) as info:
        UserAgent(max_redirects=0).urlopen(server.base + "/")
    assert isinstance(info.value, RetriesExceeded)
    assert len(server.requests) == 1
    with pytest.raises(TooManyRedirects):
        UserAgent(max_redirects=5).urlopen(server.base + "/", max_redirects=2)
    assert len(server.requests) == 1 + 3


def test_cross_origin_redirect_strips_credentials_end_to_end(server_factory):
    target = server_factory(keep_alive(lambda c, r: c.respond(200, b"ok")))
    origin = server_factory(
        keep_alive(lambda c, r: c.respond(302, b"", [("Location", target.base + "/t")]))
    )
    UserAgent().urlopen(origin.base + "/", headers={"Authorization": "Basic x", "Cookie": "s=1"})
    assert "authorization" in origin.requests[0]["headers"]
    assert "authorization" not in target.requests[0]["headers"]
    assert "cookie" not in target.requests[0]["headers"]


def test_redirect_to_another_scheme_fails(server_factory):
    server = server_factory(
        keep_alive(lambda c, r: c.respond(302, b"", [("Location", "ftp://x/")]))
    )
    with pytest.raises(UnsupportedRedirectSchemeError):
        UserAgent().urlopen(server.base + "/")


# -- statuses and retries --------------------------------------------------------------------


def test_2xx_is_success_and_other_statuses_raise_with_the_body(server_factory):
    def respond(conn, req):
        code = int(req["target"][1:])
        conn.respond(code, b"" if code == 204 else b"body %d" % code)

    server = server_factory(keep_alive(respond))
    ua = UserAgent()
    assert ua.urlopen(server.base + "/201").content == b"body 201"
    assert ua.urlopen(server.base + "/204").content == b""
    with pytest.raises(BadStatusCode) as info:
        ua.urlopen(server.base + "/404")
    assert info.value.code == 404
    assert info.value.response.content == b"body 404"  # read before the release
    assert "404" in info.value.http_log
    assert ua.urlopen(server.base + "/404", response_codes={404}).status_code == 404


def test_timeouts_are_retried_then_retries_exceeded(server_factory):
    server = server_factory(hang)
    ua = RecordingAgent(max_retries=2, retry_delay=0.1, network_timeout=0.1)
    with pytest.raises(RetriesExceeded) as info:
        ua.urlopen(server.base + "/")
    assert isinstance(info.value.original, ReadTimeout)
    assert len(ua.opened) == 3
    # exponential backoff with jitter: within the upper half of 0.1, then of 0.2
    assert 0.05 <= ua.slept[0] <= 0.1 and 0.1 <= ua.slept[1] <= 0.2


def test_non_idempotent_request_is_not_retried_once_sent(server_factory):
    """A transient error on a POST is never retried (RFC 9110 9.2.2); 2.x reported it
    as RetriesExceeded with the error attached, and so do we."""
    server = server_factory(hang)
    ua = RecordingAgent(max_retries=3, network_timeout=0.1)
    with pytest.raises(RetriesExceeded) as info:
        ua.urlopen(server.base + "/", method="POST", payload=b"charge the card")
    assert isinstance(info.value.original, ReadTimeout)
    assert len(ua.opened) == 1


def test_refused_connection_raises_at_once():
    ua = RecordingAgent(max_retries=3)
    with pytest.raises(ConnectError):
        ua.urlopen(f"http://127.0.0.1:{free_port()}/")
    assert len(ua.opened) == 1


def test_callers_timeout_is_not_retried_or_wrapped(server_factory):
    server = server_factory(hang)
    ua = RecordingAgent(max_retries=3, network_timeout=5)
    timeout = gevent.Timeout(0.1)
    with pytest.raises(gevent.Timeout) as info, timeout:
        ua.urlopen(server.base + "/")
    assert info.value is timeout
    assert len(ua.opened) == 1


def test_status_retries_are_opt_in_and_honour_retry_after(server_factory):
    def respond(conn, req):
        if len(conn.server.requests) < 3:
            conn.respond(503, b"busy", [("Retry-After", "2")])
        else:
            conn.respond(200, b"done")

    server = server_factory(keep_alive(respond))
    with pytest.raises(BadStatusCode):
        UserAgent().urlopen(server.base + "/")  # 2.x: statuses are not retried
    ua = RecordingAgent(max_retries=3)
    ua.retry_response_codes = {503}
    assert ua.urlopen(server.base + "/").content == b"done"
    assert ua.slept == [2.0]
    assert len(server.requests) == 3
    ua.max_retry_delay = 1  # a longer Retry-After than we wait ends the retries
    server.requests.clear()
    with pytest.raises(BadStatusCode):
        ua.urlopen(server.base + "/")
    with pytest.raises(BadStatusCode):
        ua.urlopen(server.base + "/", method="POST", payload=b"x")


def test_empty_response_with_to_string(server_factory):
    server = server_factory(keep_alive(lambda c, r: c.respond(200, b"")))
    with pytest.raises(RetriesExceeded) as info:
        UserAgent(max_retries=1).urlopen(server.base + "/", to_string=True)
    assert isinstance(info.value.original, EmptyResponse)
    assert len(server.requests) == 2


# -- bodies on the wire ----------------------------------------------------------------------


def test_bodies_on_the_wire(server_factory, tmp_path):
    server = server_factory(keep_alive(lambda c, r: c.respond(200, b"ok")))
    ua = UserAgent()
    ua.urlopen(server.base + "/form", method="POST", payload={"a": "1"}, extra="2")
    ua.urlopen(server.base + "/q", params={"x": "y"}, z="w")
    ua.urlopen(server.base + "/json", method="POST", json={"k": "v"})
    ua.urlopen(server.base + "/gen", method="POST", payload=(b for b in (b"ab", b"cd")))
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * (2 << 20))
    with open(big, "rb") as f:
        ua.urlopen(server.base + "/up", method="POST", files={"f": f}, note="hi")
    reqs = {r["target"]: r for r in server.requests}
    assert reqs["/form"]["body"] == b"a=1&extra=2"
    assert "/q?x=y&z=w" in reqs
    assert json.loads(reqs["/json"]["body"]) == {"k": "v"}
    assert reqs["/gen"]["body"] == b"abcd"
    up = reqs["/up"]
    assert up["headers"]["transfer-encoding"] == ["chunked"]  # streamed, not built
    assert up["headers"]["content-type"][0].startswith("multipart/form-data; boundary=")
    assert b'name="f"; filename="big.bin"' in up["body"]
    assert up["body"].count(b"x" * 1000) == 2097
    assert b'name="note"\r\n\r\nhi\r\n' in up["body"]


def test_small_multipart_is_sent_with_content_length(server_factory):
    server = server_factory(keep_alive(lambda c, r: c.respond(200, b"ok")))
    UserAgent().urlopen(server.base + "/", method="POST", files={"f": ("a.txt", b"123")})
    req = server.requests[0]
    assert req["headers"]["content-length"] == [str(len(req["body"]))]


# -- decoding and streaming -------------------------------------------------------------------


def encoded_server(server_factory, body: bytes, codings):
    def respond(conn, req):
        conn.respond(200, body, [("Content-Encoding", c) for c in codings])

    return server_factory(keep_alive(respond))


@pytest.mark.parametrize(
    "encode, codings",
    [
        (gzip.compress, ["gzip"]),
        (gzip.compress, ["x-gzip"]),
        (zlib.compress, ["deflate"]),
        (lambda d: zlib.compress(d)[2:-4], ["deflate"]),  # raw deflate
        (lambda d: gzip.compress(zlib.compress(d)), ["deflate", "gzip"]),  # two header lines
    ],
)
def test_content_is_decoded(server_factory, encode, codings):
    text = "line \u00e9\n" * 2000
    server = encoded_server(server_factory, encode(text.encode()), codings)
    resp = UserAgent().urlopen(server.base + "/")
    assert resp.text == text


def test_br_and_zstd_content(server_factory):
    brotli = pytest.importorskip("brotlicffi")
    zstandard = pytest.importorskip("zstandard")
    assert ACCEPT_ENCODING == "gzip, deflate, br, zstd"
    data = b"abc" * 10000
    server = encoded_server(server_factory, brotli.compress(data), ["br"])
    ua = UserAgent()
    assert ua.urlopen(server.base + "/").content == data
    server = encoded_server(server_factory, zstandard.ZstdCompressor().compress(data), ["zstd"])
    assert ua.urlopen(server.base + "/").content == data
    assert server.requests[0]["headers"]["accept-encoding"] == [ACCEPT_ENCODING]


def test_streaming_reads_are_decoded_and_stream_is_raw(server_factory):
    data = b"".join(b"row %d\n" % i for i in range(3000))
    blob = gzip.compress(data)
    server = encoded_server(server_factory, blob, ["gzip"])
    ua = UserAgent()
    resp = ua.urlopen(server.base + "/")
    assert resp.readline() == b"row 0\n"
    assert resp.read(6) == b"row 1\n"
    assert b"".join(resp) == data[12:]
    assert ua.urlopen(server.base + "/").stream.read() == blob
    resp = ua.urlopen(server.base + "/")
    assert resp.read(5) == b"row 0" and resp.content == data[5:]


def test_bomb_and_corrupt_bodies_fail_as_parse_errors(server_factory):
    bomb = gzip.compress(b"\0" * (16 << 20))
    server = encoded_server(server_factory, bomb, ["gzip"])
    resp = UserAgent(max_decompressed_size=1 << 20).urlopen(server.base + "/")
    with pytest.raises(DecompressionLimitExceeded) as info:
        _ = resp.content
    assert isinstance(info.value, HTTPParseError) and isinstance(info.value, zlib.error)
    with pytest.raises(DecompressionLimitExceeded):
        resp.read()  # a failed body stays failed
    bad = encoded_server(server_factory, b"not gzip at all", ["gzip"])
    with pytest.raises(DecodingError):
        _ = UserAgent().urlopen(bad.base + "/").content
    unknown = encoded_server(server_factory, b"x", ["compress"])
    with pytest.raises(DecodingError):
        _ = UserAgent().urlopen(unknown.base + "/").content


# -- cookies and download -------------------------------------------------------------------


def test_cookies_round_trip(server_factory):
    def respond(conn, req):
        if req["target"] == "/login":
            conn.respond(302, b"", [("Set-Cookie", "sid=1; Path=/"), ("Location", "/home")])
        else:
            conn.respond(200, ",".join(req["headers"].get("cookie", [])).encode())

    server = server_factory(keep_alive(respond))
    ua = UserAgent(cookiejar=True)
    assert isinstance(ua.cookiejar, CookieJar)
    assert ua.urlopen(server.base + "/login").content == b"sid=1"
    assert ua.urlopen(server.base + "/again").content == b"sid=1"
    assert UserAgent().urlopen(server.base + "/login").content == b""
    jar = CookieJar()
    assert UserAgent(cookiejar=jar).cookiejar is jar


def test_download_resumes_with_a_range(server_factory, tmp_path):
    data = bytes(range(256)) * 40

    def respond(conn, req):
        rng = req["headers"].get("range")
        assert req["headers"]["accept-encoding"] == ["identity"]
        if rng:
            start = int(rng[0].split("=")[1].rstrip("-"))
            conn.respond(
                206,
                data[start:],
                [("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")],
            )
        else:
            conn.respond(200, data, [("Accept-Ranges", "bytes")])

    server = server_factory(keep_alive(respond))
    path = tmp_path / "out.bin"
    UserAgent().download(server.base + "/f", str(path))
    assert path.read_bytes() == data
    path.write_bytes(data[:1000])
    UserAgent().download(server.base + "/f", str(path), resume=True)
    assert path.read_bytes() == data
    assert server.requests[-1]["headers"]["range"] == ["bytes=1000-"]
    assert not server.errors


# -- the Locust shape --------------------------------------------------------------------------


class LocustLikeResponse(CompatResponse):
    """Shadows attributes with class-level Nones and overrides ``_content``, as
    Locust's FastResponse does."""

    headers = None
    _response = None
    request = None

    def __init__(self, ghc_response, request=None, sent_request=None):
        super().__init__(ghc_response, request, sent_request)
        self.request = request

    def _content(self):
        if self.headers is None:
            return None
        return super()._content()


class LocustLikeAgent(UserAgent):
    response_type = LocustLikeResponse
    valid_response_codes = frozenset({200, 201, 302})

    def _urlopen(self, request):
        client = self.clientpool.get_client(request.url_split)
        resp = client.request(
            request.method, request.url_split.request_uri, body=request.payload,
            headers=request.headers,
        )  # fmt: skip
        return self.response_type(resp, request=request, sent_request=resp._sent_request)


def test_locust_style_subclass_works(server_factory):
    def respond(conn, req):
        if req["target"] == "/missing":
            conn.respond(404, b"not here")
        else:
            conn.respond(200, gzip.compress(b"hello"), [("Content-Encoding", "gzip")])

    server = server_factory(keep_alive(respond))
    ua = LocustLikeAgent(cookiejar=CookieJar(), max_retries=0, max_redirects=5)
    resp = ua.urlopen(server.base + "/", method="GET", payload=None, headers={})
    assert isinstance(resp, LocustLikeResponse)
    assert resp.request.url == server.base + "/"
    # Locust's ResponseContextManager takes over a response by copying __dict__.
    copy = LocustLikeResponse.__new__(LocustLikeResponse)
    copy.__dict__ = resp.__dict__
    assert copy.content == b"hello" and copy.status_code == 200 and len(copy.content) == 5
    with pytest.raises(ConnectionError) as info:
        ua.urlopen(server.base + "/missing")
    assert info.value.response.content == b"not here"
    assert info.value.response.status_code == 404
    err_req = ua._make_request(server.base + "/x", method="POST", headers=None, payload="d")
    assert err_req.payload == "d"


def test_jar_cookie_is_refreshed_on_a_retry(server_factory):
    def respond(conn, req):
        sent = ",".join(req["headers"].get("cookie", []))
        if req["target"] == "/set":
            conn.respond(200, b"", [("Set-Cookie", "v=1; Path=/")])
        elif sent == "v=1":
            conn.respond(503, b"", [("Set-Cookie", "v=2; Path=/")])
        else:
            conn.respond(200, sent.encode())

    server = server_factory(keep_alive(respond))
    ua = RecordingAgent(cookiejar=True, max_retries=1)
    ua.retry_response_codes = {503}
    ua.urlopen(server.base + "/set")
    assert ua.urlopen(server.base + "/flaky").content == b"v=2"
    # A Cookie the caller set is never replaced by the jar.
    assert ua.urlopen(server.base + "/x", headers={"Cookie": "mine=1"}).content == b"mine=1"


def test_handle_error_hook_never_swallows_interruptions():
    ua = UserAgent()
    with pytest.raises(gevent.Timeout):
        ua._handle_error(gevent.Timeout(1))
    with pytest.raises(gevent.GreenletExit):
        ua._handle_error(gevent.GreenletExit())
    assert isinstance(ua._handle_error(ReadTimeout(0, "t")), ReadTimeout)
    with pytest.raises(ConnectError):
        ua._handle_error(ConnectError(111, "refused"))


def test_per_call_redirect_choice_leaves_the_agent_alone(server_factory):
    """allow_redirects/follow_redirects apply to one call: greenlets sharing one agent
    with different choices do not see each other's (Locust flips shared state)."""

    def respond(conn, req):
        if req["target"] == "/a":
            gevent.sleep(0.02)  # both calls are in flight at once
            conn.respond(302, b"", [("Location", "/b")])
        else:
            conn.respond(200, b"landed")

    server = server_factory(keep_alive(respond))
    ua = UserAgent(concurrency=4)
    codes = frozenset(ua.redirect_response_codes)
    kept = gevent.spawn(ua.urlopen, server.base + "/a", allow_redirects=False)
    followed = gevent.spawn(ua.urlopen, server.base + "/a")
    httpx_style = gevent.spawn(ua.urlopen, server.base + "/a", follow_redirects=False)
    gevent.joinall([kept, followed, httpx_style], raise_error=True)
    assert kept.value.status_code == 302 and kept.value.history == []
    assert httpx_style.value.status_code == 302
    final = followed.value
    assert final.status_code == 200 and final.content == b"landed"
    assert final.url == server.base + "/b"
    assert [r.status_code for r in final.history] == [302]
    assert final.history[0].url == server.base + "/a"
    assert ua.redirect_response_codes == codes


def test_per_call_timeout_is_a_deadline_for_the_whole_call(server_factory):
    server = server_factory(hang)
    ua = UserAgent(max_retries=5, network_timeout=10)
    started = time.monotonic()
    with pytest.raises(RequestTimeout):
        ua.urlopen(server.base + "/", timeout=0.2)
    assert time.monotonic() - started < 1.0
    # the agent's own settings are untouched: a later call has no deadline of 0.2 s
    assert ua.max_retries == 5


def test_a_get_made_by_a_303_is_retried_though_the_first_hop_was_a_post(server_factory):
    """The resend rule looks at each hop's method: after a 303 turned a POST into a
    GET, a connection closed before the answer is retried (2.x did too)."""
    closes = []

    def respond(conn, req):
        if req["target"] == "/form":
            conn.respond(303, b"", [("Location", "/result")])
        elif len(closes) < 2:
            closes.append(1)
            conn.close()
        else:
            conn.respond(200, b"done")

    server = server_factory(keep_alive(respond))
    ua = UserAgent(max_retries=3)
    resp = ua.urlopen(server.base + "/form", method="POST", payload=b"x=1")
    assert resp.status_code == 200 and resp.content == b"done"
    assert len(closes) == 2
