"""The requests-style API (geventhttpclient.requests / .api) against loopback servers:
arguments, redirects, cookies, auth, timeouts, TLS, proxies, decoding, text rules
and streaming."""

from __future__ import annotations

import base64
import gzip
import json
import os
import socket
import ssl
import time
import zlib
from datetime import timedelta
from http.cookiejar import CookieJar
from typing import Any, List

import gevent
import gevent.socket
import gevent.ssl
import pytest
from conftest import basic, keep_alive, pipe, wait_until
from conftest import echo_json as echo

from geventhttpclient import api
from geventhttpclient._proxies import environ_proxies, getenv
from geventhttpclient.exceptions import (
    ConnectTimeout,
    HTTPError,
    InvalidURL,
    NetworkError,
    PoolTimeout,
    ReadTimeout,
    TLSError,
)
from geventhttpclient.requests import (
    HTTPBasicAuth,
    HTTPStatusError,
    PreparedRequest,
    RequestsCookieJar,
    Response,
    Session,
    StreamConsumedError,
    TooManyRedirects,
)
from geventhttpclient.useragent import UserAgent

PROXY_ENV = ["http_proxy", "https_proxy", "all_proxy", "no_proxy"] + [
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "REQUEST_METHOD",
]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    """No proxy or CA variables from the machine running the tests."""
    for name in PROXY_ENV:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


@pytest.fixture(autouse=True)
def close_module_connections(server_factory):
    """The module functions keep connections alive between calls (and tests): close
    them before the test's servers stop, which would wait for those connections."""
    yield
    api._close_shared()


@pytest.fixture
def echo_json(server_factory):
    return server_factory(keep_alive(echo))


def chunked(conn, pieces: List[bytes], headers=()) -> None:
    head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
    head += "".join(f"{n}: {v}\r\n" for n, v in headers) + "\r\n"
    conn.send(head.encode())
    for piece in pieces:
        conn.send(b"%x\r\n%s\r\n" % (len(piece), piece))
        gevent.sleep(0.005)  # separate reads on the client side
    conn.send(b"0\r\n\r\n")


def hang(conn):
    conn.read_request()
    while conn.recv_more():
        pass


# -- module functions -------------------------------------------------------------------------


def test_module_get_returns_a_read_response_and_keeps_its_connection_for_the_next_call(
    echo_json,
):
    r = api.get(echo_json.base + "/path", params={"q": "a b", "n": [1, 2]})
    assert isinstance(r, Response)
    assert r.status_code == 200 and r.ok and r.reason == "OK"
    assert r.url == echo_json.base + "/path?q=a+b&n=1&n=2"
    assert r.headers["content-type"] == "application/json"
    assert r.json()["target"] == "/path?q=a+b&n=1&n=2"
    assert r.text.startswith("{")
    assert r.raw.message_complete
    assert api.get(echo_json.base + "/again").json()["target"] == "/again"
    assert echo_json.connections == 1 and echo_json.open_connections == 1


@pytest.mark.parametrize(
    "call, method",
    [
        (lambda u: api.post(u, data=b"x"), "POST"),
        (lambda u: api.put(u, data=b"x"), "PUT"),
        (lambda u: api.patch(u, data=b"x"), "PATCH"),
        (lambda u: api.delete(u), "DELETE"),
        (lambda u: api.options(u), "OPTIONS"),
        (lambda u: api.request("get", u), "GET"),
    ],
)
def test_module_functions_send_their_method(echo_json, call, method):
    assert call(echo_json.base + "/").json()["method"] == method


def test_module_head_sends_head_and_does_not_follow_redirects(server_factory):
    def respond(conn, req):
        conn.respond(302, b"", [("Location", "/elsewhere"), ("Content-Length", "0")])

    server = server_factory(keep_alive(respond))
    r = api.head(server.base + "/")
    assert r.status_code == 302 and r.is_redirect and r.history == []
    assert [q["method"] for q in server.requests] == ["HEAD"]


def test_unknown_keyword_is_a_type_error_and_sends_nothing(echo_json):
    with pytest.raises(TypeError):
        api.get(echo_json.base + "/", foo="bar")
    with Session() as s, pytest.raises(TypeError):
        s.get(echo_json.base + "/", verfy=False)
    assert echo_json.requests == []


def test_module_stream_response_gives_its_connection_back_when_read(server_factory):
    def respond(conn, req):
        chunked(conn, [b"a" * 1000, b"b" * 1000])

    server = server_factory(keep_alive(respond))
    r = api.get(server.base + "/", stream=True)
    assert not r.raw.message_complete
    assert b"".join(r.iter_content(300)) == b"a" * 1000 + b"b" * 1000
    assert api.get(server.base + "/").content == b"a" * 1000 + b"b" * 1000
    assert server.connections == 1 and server.open_connections == 1


# -- request arguments ------------------------------------------------------------------------


def test_session_params_merge_with_request_params(echo_json):
    with Session(params={"a": "1", "b": "2"}) as s:
        target = s.get(echo_json.base + "/p", params={"b": "3"}).json()["target"]
    assert target == "/p?a=1&b=3"


def test_form_data_is_urlencoded_with_its_content_type(echo_json):
    got = api.post(echo_json.base + "/", data={"k": "v w", "m": ["1", "2"]}).json()
    assert got["body"] == "k=v+w&m=1&m=2"
    assert got["headers"]["content-type"] == ["application/x-www-form-urlencoded"]


def test_str_and_bytes_data_are_sent_as_is_without_content_type(echo_json):
    got = api.post(echo_json.base + "/", data="h\u00e9").json()
    assert got["body"].encode("latin-1") == "h\u00e9".encode()
    assert "content-type" not in got["headers"]
    got = api.put(echo_json.base + "/", data=b"\x00\x01").json()
    assert got["body"] == "\x00\x01" and got["headers"]["content-length"] == ["2"]


def test_iterable_data_is_sent_chunked(echo_json):
    got = api.post(echo_json.base + "/", data=iter([b"ab", b"cd"])).json()
    assert got["body"] == "abcd"
    assert got["headers"]["transfer-encoding"] == ["chunked"]


def test_json_sets_body_and_content_type(echo_json):
    got = api.post(echo_json.base + "/", json={"x": [1, "\u00e9"]}).json()
    assert json.loads(got["body"].encode("latin-1")) == {"x": [1, "\u00e9"]}
    assert got["headers"]["content-type"] == ["application/json"]


def test_json_with_data_is_refused(echo_json):
    with pytest.raises(ValueError):
        api.post(echo_json.base + "/", data={"a": 1}, json={"b": 2})
    assert echo_json.requests == []


def test_files_make_a_multipart_body_with_form_fields(echo_json, tmp_path):
    path = tmp_path / "report.csv"
    path.write_bytes(b"a,b\n1,2\n")
    with open(path, "rb") as f:
        got = api.post(
            echo_json.base + "/up",
            data={"field": "value"},
            files={"file": f, "raw": ("x.bin", b"\x00\xff", "application/x-thing")},
        ).json()
    ctype = got["headers"]["content-type"][0]
    assert ctype.startswith("multipart/form-data; boundary=")
    body = got["body"].encode("latin-1")
    assert b'name="field"\r\n\r\nvalue\r\n' in body
    assert b'name="file"; filename="report.csv"\r\n\r\na,b\n1,2\n\r\n' in body
    assert b'filename="x.bin"\r\nContent-Type: application/x-thing\r\n\r\n\x00\xff\r\n' in body


def test_request_headers_override_session_headers_and_none_removes_one(echo_json):
    with Session(headers={"X-A": "session", "X-B": "session"}) as s:
        s.headers["X-C"] = "attr"
        got = s.get(echo_json.base + "/", headers={"x-a": "request", "X-B": None}).json()
    headers = got["headers"]
    assert headers["x-a"] == ["request"]
    assert "x-b" not in headers
    assert headers["x-c"] == ["attr"]
    assert headers["accept"] == ["*/*"]
    assert "accept-encoding" in headers and "user-agent" in headers


# -- auth -------------------------------------------------------------------------------------


def test_auth_tuple_and_basic_auth_class_send_authorization(echo_json):
    got = api.get(echo_json.base + "/", auth=("user", "p:w")).json()
    assert got["headers"]["authorization"] == [basic("user", "p:w")]
    # ISO-8859-1 when it can encode the pair (what requests and 2.x send), else UTF-8
    got = api.get(echo_json.base + "/", auth=HTTPBasicAuth("u", "\u00e9")).json()
    assert got["headers"]["authorization"] == [
        "Basic " + base64.b64encode("u:\u00e9".encode("latin-1")).decode()
    ]
    got = api.get(echo_json.base + "/", auth=HTTPBasicAuth("u", "\u20ac")).json()
    assert got["headers"]["authorization"] == [
        "Basic " + base64.b64encode("u:\u20ac".encode()).decode()
    ]


def test_auth_of_no_known_kind_is_refused_before_sending(echo_json):
    with pytest.raises(NotImplementedError):  # 2.x's error
        Session(auth=123)
    with Session() as s, pytest.raises(TypeError):  # requests' error
        s.get(echo_json.base + "/", auth=object())


def test_auth_string_is_sent_as_the_header_value(echo_json):
    got = api.get(echo_json.base + "/", auth="Bearer xyz").json()
    assert got["headers"]["authorization"] == ["Bearer xyz"]


def test_session_auth_applies_and_request_auth_wins(echo_json):
    with Session(auth=("s", "1")) as s:
        assert s.get(echo_json.base + "/").json()["headers"]["authorization"] == [basic("s", "1")]
        got = s.get(echo_json.base + "/", auth=("r", "2")).json()
    assert got["headers"]["authorization"] == [basic("r", "2")]


def test_url_credentials_become_basic_auth(echo_json):
    url = echo_json.base.replace("http://", "http://me:se%40cret@") + "/"
    got = api.get(url).json()
    assert got["headers"]["authorization"] == [basic("me", "se@cret")]
    assert got["target"] == "/"


def test_auth_callable_receives_the_prepared_request(echo_json):
    seen: List[Any] = []

    def token_auth(r):
        seen.append((r.method, r.url, r.body))
        r.headers["Authorization"] = "Bearer t0k"
        return r

    got = api.post(echo_json.base + "/a", data=b"zz", auth=token_auth).json()
    assert got["headers"]["authorization"] == ["Bearer t0k"]
    assert seen == [("POST", echo_json.base + "/a", b"zz")]


def test_authorization_is_dropped_on_a_cross_origin_redirect(server_factory, echo_json):
    def respond(conn, req):
        conn.respond(302, b"", [("Location", echo_json.base + "/landed")])

    redirector = server_factory(keep_alive(respond))
    r = api.get(redirector.base + "/", auth=("u", "p"))
    assert redirector.requests[0]["headers"]["authorization"] == [basic("u", "p")]
    assert "authorization" not in r.json()["headers"]


# -- redirects --------------------------------------------------------------------------------


def redirecting(conn, req):
    target = req["target"]
    if target.startswith("/hop/"):
        n = int(target.rsplit("/", 1)[1])
        location = f"/hop/{n - 1}" if n > 1 else "/done"
        conn.respond(302, b"moved", [("Location", location)], reason="Found")
    elif target == "/see-other":
        conn.respond(303, b"", [("Location", "/done")])
    elif target == "/temporary":
        conn.respond(307, b"", [("Location", "/done")])
    else:
        echo(conn, req)


def test_redirects_are_followed_with_history_on_one_connection(server_factory):
    server = server_factory(keep_alive(redirecting))
    with Session() as s:
        r = s.get(server.base + "/hop/3")
    assert r.status_code == 200 and r.url == server.base + "/done"
    assert [h.status_code for h in r.history] == [302, 302, 302]
    assert [h.url for h in r.history] == [server.base + f"/hop/{n}" for n in (3, 2, 1)]
    assert [h.request.url for h in r.history] == [h.url for h in r.history]
    assert r.history[0].content == b"moved" and r.history[0].reason == "Found"
    assert server.connections == 1


def test_303_turns_post_into_get_and_307_repeats_the_body(server_factory):
    server = server_factory(keep_alive(redirecting))
    got = api.post(server.base + "/see-other", data=b"payload").json()
    assert got["method"] == "GET" and got["body"] == ""
    got = api.post(server.base + "/temporary", data=b"payload").json()
    assert got["method"] == "POST" and got["body"] == "payload"


def test_too_many_redirects_raises_with_the_last_response(server_factory):
    server = server_factory(keep_alive(redirecting))
    with Session(max_redirects=2) as s:
        with pytest.raises(TooManyRedirects) as info:
            s.get(server.base + "/hop/5")
    assert isinstance(info.value, HTTPError)
    assert info.value.response.status_code == 302
    assert len(server.requests) == 3


def test_allow_redirects_false_returns_the_redirect(server_factory):
    server = server_factory(keep_alive(redirecting))
    r = api.get(server.base + "/hop/1", allow_redirects=False)
    assert r.status_code == 302 and r.is_redirect and not r.is_permanent_redirect
    assert r.headers["location"] == "/done" and r.content == b"moved"
    assert len(server.requests) == 1


# -- cookies ----------------------------------------------------------------------------------


def cookie_server(conn, req):
    if req["target"].startswith("/set"):
        conn.respond(200, b"", [("Set-Cookie", "sid=abc; Path=/"), ("Set-Cookie", "lang=en")])
    else:
        echo(conn, req)


def test_session_keeps_cookies_across_requests(server_factory):
    server = server_factory(keep_alive(cookie_server))
    with Session() as s:
        r = s.get(server.base + "/set")
        assert r.cookies.get_dict() == {"sid": "abc", "lang": "en"}
        assert s.cookies["sid"] == "abc" and "lang" in s.cookies
        got = s.get(server.base + "/read").json()
    assert sorted(got["headers"]["cookie"][0].split("; ")) == ["lang=en", "sid=abc"]


def test_request_cookies_are_sent_once_and_override_session_cookies_by_name(server_factory):
    server = server_factory(keep_alive(cookie_server))
    with Session() as s:
        s.cookies.set("sid", "session")
        s.cookies.set("keep", "1")
        got = s.get(server.base + "/read", cookies={"sid": "request", "extra": "x"}).json()
        cookie = got["headers"]["cookie"][0]
        assert sorted(cookie.split("; ")) == ["extra=x", "keep=1", "sid=request"]
        again = s.get(server.base + "/read").json()["headers"]["cookie"][0]
    assert sorted(again.split("; ")) == ["keep=1", "sid=session"]


def test_cookies_set_by_a_redirect_are_sent_to_its_target(server_factory):
    def respond(conn, req):
        if req["target"] == "/login":
            conn.respond(302, b"", [("Location", "/home"), ("Set-Cookie", "auth=yes; Path=/")])
        else:
            echo(conn, req)

    server = server_factory(keep_alive(respond))
    with Session() as s:
        r = s.get(server.base + "/login")
    assert r.json()["headers"]["cookie"] == ["auth=yes"]
    assert r.history[0].cookies["auth"] == "yes"


def test_session_accepts_a_cookie_dict():
    s = Session(cookies={"a": "1"})
    assert isinstance(s.cookies, RequestsCookieJar) and s.cookies.get_dict() == {"a": "1"}
    del s.cookies["a"]
    assert "a" not in s.cookies


# -- response ---------------------------------------------------------------------------------


def status_server(conn, req):
    code = int(req["target"].strip("/"))
    conn.respond(
        code, b"status body", reason={404: "Not Found", 503: "Unavailable"}.get(code, "OK")
    )


@pytest.mark.parametrize("code, kind", [(404, "Client Error"), (503, "Server Error")])
def test_raise_for_status_raises_http_error_with_the_response(server_factory, code, kind):
    server = server_factory(keep_alive(status_server))
    r = api.get(f"{server.base}/{code}")
    assert not r.ok and not r
    with pytest.raises(HTTPError) as info:
        r.raise_for_status()
    error = info.value
    assert isinstance(error, HTTPStatusError)
    assert error.response is r and error.response.content == b"status body"
    assert error.status_code == code and error.request is r.request
    assert str(error).startswith(f"{code} {kind}: ")
    assert str(error).endswith(f"for url: {server.base}/{code}")


def test_raise_for_status_is_silent_for_success(server_factory):
    server = server_factory(keep_alive(status_server))
    r = api.get(f"{server.base}/204")
    assert r.ok and bool(r)
    r.raise_for_status()


def test_elapsed_measures_time_to_the_response_head(server_factory):
    def respond(conn, req):
        gevent.sleep(0.1)
        conn.respond(200, b"x")

    server = server_factory(keep_alive(respond))
    r = api.get(server.base + "/")
    assert isinstance(r.elapsed, timedelta)
    assert 0.09 <= r.elapsed.total_seconds() < 2


def test_response_is_a_context_manager_that_closes_a_stream(server_factory):
    def respond(conn, req):
        conn.respond(200, b"z" * 100_000)

    server = server_factory(keep_alive(respond))
    with Session() as s:
        with s.get(server.base + "/", stream=True) as r:
            assert not r.raw.message_complete
        assert r.raw._conn is None  # released: closed, since the body was not read
        assert wait_until(lambda: server.open_connections == 0)


# -- text and json ----------------------------------------------------------------------------


def typed(ctype, body):
    def respond(conn, req):
        headers = [("Content-Type", ctype)] if ctype else []
        conn.respond(200, body, headers)

    return keep_alive(respond)


@pytest.mark.parametrize(
    "ctype, body, encoding, text",
    [
        ("text/plain; charset=utf-8", "h\u00e9".encode(), "utf-8", "h\u00e9"),
        ('text/html; charset="cp1252"', b"\x80", "cp1252", "\u20ac"),
        # encoding is what Content-Type declares (None otherwise, as 2.x); text/* is
        # still read as ISO-8859-1 (requests) and JSON as UTF-8
        ("text/plain", "h\u00e9".encode(), None, "h\u00c3\u00a9"),
        ("application/json", '"\u00e9"'.encode(), None, '"\u00e9"'),
        ("application/problem+json", '"\u00e9"'.encode(), None, '"\u00e9"'),
        ("application/octet-stream", "\u00e9".encode(), None, "\u00e9"),
        (None, b"\xe9t\xe9", None, "\u00e9t\u00e9"),
        ("text/plain; charset=no-such-codec", "\u00e9".encode(), "no-such-codec", "\u00e9"),
        (None, b"\xef\xbb\xbfhi", None, "hi"),
    ],
)
def test_text_charset_rules(server_factory, ctype, body, encoding, text):
    server = server_factory(typed(ctype, body))
    r = api.get(server.base + "/")
    assert r.encoding == encoding
    assert isinstance(r.text, str) and r.text == text


def test_apparent_encoding_guesses_from_the_bytes(server_factory):
    server = server_factory(typed(None, "\u00e9".encode()))
    assert api.get(server.base + "/").apparent_encoding == "utf-8"
    server = server_factory(typed(None, b"\xe9"))
    assert api.get(server.base + "/").apparent_encoding == "ISO-8859-1"


def test_setting_encoding_changes_text(server_factory):
    server = server_factory(typed("text/plain", "\u00e9".encode()))
    r = api.get(server.base + "/")
    assert r.text == "\u00c3\u00a9"
    r.encoding = "utf-8"
    assert r.text == "\u00e9"


def test_empty_body_gives_empty_text(server_factory):
    server = server_factory(typed("text/plain", b""))
    assert api.get(server.base + "/").text == ""


def test_json_uses_a_declared_non_utf_charset(server_factory):
    server = server_factory(typed("application/json; charset=latin-1", b'{"k": "\xe9"}'))
    assert api.get(server.base + "/").json() == {"k": "\u00e9"}
    server = server_factory(typed("application/json", '{"k": "\u00e9"}'.encode("utf-16")))
    assert api.get(server.base + "/").json() == {"k": "\u00e9"}


# -- decoding ---------------------------------------------------------------------------------


def _brotli():
    return pytest.importorskip("brotlicffi")


def _zstd():
    return pytest.importorskip("zstandard")


ENCODERS = {
    "gzip": lambda data: gzip.compress(data),
    "deflate": lambda data: zlib.compress(data),
    "br": lambda data: _brotli().compress(data),
    "zstd": lambda data: _zstd().ZstdCompressor().compress(data),
}

PLAIN = b"".join(b"line %d of the decoded body\n" % i for i in range(3000))


@pytest.mark.parametrize("coding", sorted(ENCODERS))
def test_content_and_streamed_iteration_are_decoded(server_factory, coding):
    encoded = ENCODERS[coding](PLAIN)

    def respond(conn, req):
        pieces = [encoded[i : i + 997] for i in range(0, len(encoded), 997)]
        chunked(conn, pieces, [("Content-Encoding", coding), ("Content-Type", "text/plain")])

    server = server_factory(keep_alive(respond))
    with Session() as s:
        assert s.get(server.base + "/").content == PLAIN
        r = s.get(server.base + "/", stream=True)
        pieces = list(r.iter_content(4096))
        assert b"".join(pieces) == PLAIN and all(0 < len(p) <= 4096 for p in pieces)
        r = s.get(server.base + "/", stream=True)
        lines = list(r.iter_lines())
    assert lines == PLAIN.splitlines()
    assert server.connections == 1  # consumed streams gave the connection back


def test_raw_keeps_the_encoded_body(server_factory):
    encoded = gzip.compress(b"hello")

    def respond(conn, req):
        conn.respond(200, encoded, [("Content-Encoding", "gzip")])

    server = server_factory(keep_alive(respond))
    r = api.get(server.base + "/", stream=True)
    assert r.raw.read() == encoded


# -- streaming and iteration ------------------------------------------------------------------


def test_iter_lines_reassembles_lines_across_chunk_boundaries(server_factory):
    pieces = [b"fir", b"st\r", b"\nsecond\n\nth", b"ird\r", b"\r", b"fourth\rfif", b"th"]

    def respond(conn, req):
        chunked(conn, pieces)

    server = server_factory(keep_alive(respond))
    with Session() as s:
        lines = list(s.get(server.base + "/", stream=True).iter_lines(chunk_size=None))
        assert lines == [b"first", b"second", b"", b"third", b"", b"fourth", b"fifth"]
        assert lines == b"".join(pieces).splitlines()
        buffered = s.get(server.base + "/")
        assert list(buffered.iter_lines(chunk_size=3)) == lines


def test_iter_lines_decodes_characters_split_between_chunks(server_factory):
    data = "caf\u00e9\nna\u00efve\n".encode()
    split = data.index(b"\xc3") + 1

    def respond(conn, req):
        chunked(conn, [data[:split], data[split:]], [("Content-Type", "text/plain; charset=utf-8")])

    server = server_factory(keep_alive(respond))
    r = api.get(server.base + "/", stream=True)
    assert list(r.iter_lines(decode_unicode=True)) == ["caf\u00e9", "na\u00efve"]


def test_iter_lines_with_a_delimiter_split_across_chunks(server_factory):
    def respond(conn, req):
        chunked(conn, [b"a|", b"|b||c|", b"|"])

    server = server_factory(keep_alive(respond))
    r = api.get(server.base + "/", stream=True)
    assert list(r.iter_lines(delimiter=b"||")) == [b"a", b"b", b"c"]


def test_streamed_body_can_be_iterated_once(server_factory):
    def respond(conn, req):
        conn.respond(200, b"0123456789")

    server = server_factory(keep_alive(respond))
    r = api.get(server.base + "/", stream=True)
    assert list(r.iter_content(4)) == [b"0123", b"4567", b"89"]
    with pytest.raises(StreamConsumedError):
        r.iter_content(4)
    with pytest.raises(StreamConsumedError):
        _ = r.content
    buffered = api.get(server.base + "/")
    assert list(buffered.iter_content(4)) == [b"0123", b"4567", b"89"]
    assert list(buffered.iter_content(4)) == [b"0123", b"4567", b"89"]


def test_iter_content_rejects_a_bad_chunk_size(server_factory):
    server = server_factory(typed(None, b"x"))
    r = api.get(server.base + "/")
    with pytest.raises(TypeError):
        r.iter_content("10")
    assert list(r.iter_content(0)) == [b"x"]  # 2.x: 0 or less means single bytes


# -- pooling ----------------------------------------------------------------------------------


def test_holding_many_read_responses_does_not_starve_a_one_connection_pool(echo_json):
    with Session(concurrency=1, pool_timeout=1) as s:
        held = [s.get(f"{echo_json.base}/{i}") for i in range(5)]
    assert [r.json()["target"] for r in held] == [f"/{i}" for i in range(5)]
    assert echo_json.connections == 1


def test_an_unread_stream_holds_its_connection_until_consumed_or_closed(server_factory):
    def respond(conn, req):
        conn.respond(200, b"x" * 300_000 if req["target"] != "/small" else b"s")

    server = server_factory(keep_alive(respond))
    with Session(concurrency=1, pool_timeout=0.2) as s:
        first = s.get(server.base + "/big", stream=True)
        with pytest.raises(PoolTimeout):
            s.get(server.base + "/small")
        first.close()
        assert s.get(server.base + "/small").content == b"s"
        second = s.get(server.base + "/big", stream=True)
        assert len(second.content) == 300_000  # reading the body gives the connection back
        assert s.get(server.base + "/small").content == b"s"
    assert server.connections == 2  # the closed stream's connection was dropped, once


def test_a_stream_complete_with_its_head_frees_the_connection_at_once(echo_json):
    with Session(concurrency=1, pool_timeout=0.2) as s:
        held = [s.get(f"{echo_json.base}/{i}", stream=True) for i in range(3)]
        assert [r.json()["target"] for r in held] == ["/0", "/1", "/2"]
    assert echo_json.connections == 1


def test_session_close_closes_idle_connections(echo_json):
    s = Session()
    s.get(echo_json.base + "/")
    assert echo_json.open_connections == 1
    s.close()
    assert wait_until(lambda: echo_json.open_connections == 0)
    assert s.get(echo_json.base + "/again").ok  # still usable


# -- timeouts and retries ---------------------------------------------------------------------


def test_number_timeout_bounds_the_wait_for_the_response(server_factory):
    server = server_factory(hang)
    start = time.monotonic()
    with pytest.raises(ReadTimeout):
        api.get(server.base + "/", timeout=0.2)
    assert time.monotonic() - start < 1.5


def test_tuple_timeout_read_part_bounds_reading(server_factory):
    server = server_factory(hang)
    start = time.monotonic()
    with pytest.raises(ReadTimeout):
        api.get(server.base + "/", timeout=(5, 0.2))
    assert time.monotonic() - start < 1.5


def test_read_timeout_applies_to_a_body_that_stalls(server_factory):
    def respond(conn):
        conn.read_request()
        conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
        while conn.recv_more():
            pass

    server = server_factory(respond)
    with pytest.raises(ReadTimeout):
        api.get(server.base + "/", timeout=0.2)


@pytest.fixture
def unanswered_port():
    """A listening socket whose accept queue is full: new connections never complete."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    fillers = []
    for _ in range(4):
        s = socket.socket()
        s.setblocking(False)
        try:
            s.connect(listener.getsockname())
        except BlockingIOError:
            pass
        fillers.append(s)
    time.sleep(0.05)
    yield listener.getsockname()[1]
    for s in fillers:
        s.close()
    listener.close()


def test_tuple_timeout_connect_part_bounds_connecting(unanswered_port):
    start = time.monotonic()
    with pytest.raises(ConnectTimeout):
        api.get(f"http://127.0.0.1:{unanswered_port}/", timeout=(0.2, 30))
    assert time.monotonic() - start < 2


@pytest.mark.parametrize("bad", [0, -1, (1, 2, 3), "5", (1, "x"), True])
def test_invalid_timeout_is_refused(bad):
    with pytest.raises(ValueError):
        api.get("http://127.0.0.1:9/", timeout=bad)


def test_callers_gevent_timeout_is_neither_retried_nor_wrapped(server_factory):
    server = server_factory(hang)
    mine = gevent.Timeout(0.2)
    with Session(max_retries=3) as s:
        with pytest.raises(gevent.Timeout) as info:
            with mine:
                s.get(server.base + "/")
    assert info.value is mine
    assert len(server.requests) == 1


def test_max_retries_retries_connections_reset_before_the_response(server_factory):
    def respond(conn):
        if server.connections <= 2:
            conn.read_request()
            conn.reset()
            return
        keep_alive(echo)(conn)

    server = server_factory(respond)
    with Session() as s, pytest.raises(NetworkError):
        s.get(server.base + "/")
    with Session(max_retries=1) as s:
        assert s.get(server.base + "/x").json()["target"] == "/x"


def test_max_retries_set_between_requests_takes_effect(server_factory):
    def respond(conn):
        if server.connections in (1, 2, 4, 5):  # the client itself tries twice
            conn.read_request()
            conn.reset()
            return
        keep_alive(echo)(conn)

    server = server_factory(respond)
    with Session(max_retries=1) as s:
        assert s.get(server.base + "/a").ok  # the reset first attempt is retried
        s.close()
        s.max_retries = 0
        with pytest.raises(NetworkError):  # no longer retried
            s.get(server.base + "/b")


# -- TLS ---------------------------------------------------------------------------------------


@pytest.fixture
def tls_server(server_factory, server_ssl_context):
    return server_factory(keep_alive(echo), ssl_context=server_ssl_context)


def test_verify_with_a_ca_path_accepts_the_test_ca(tls_server, ca_file):
    r = api.get(tls_server.base + "/", verify=ca_file)
    assert r.json()["target"] == "/"


def test_default_verification_refuses_an_unknown_ca(tls_server):
    with pytest.raises(TLSError):
        api.get(tls_server.base + "/")


def test_requests_ca_bundle_environment_variable_is_honoured(tls_server, ca_file, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", ca_file)
    assert api.get(tls_server.base + "/").ok
    with Session(trust_env=False) as s, pytest.raises(TLSError):
        s.get(tls_server.base + "/")


def test_unverified_connection_never_serves_a_verified_request(tls_server, ca_file):
    with Session() as s:
        assert s.get(tls_server.base + "/", verify=False).ok
        with pytest.raises(TLSError):
            s.get(tls_server.base + "/")
        assert s.get(tls_server.base + "/", verify=ca_file).ok
        s.verify = False
        assert s.get(tls_server.base + "/").ok


def test_missing_ca_bundle_path_is_an_error(tls_server, tmp_path):
    with pytest.raises(OSError):
        api.get(tls_server.base + "/", verify=str(tmp_path / "nope.pem"))


@pytest.fixture
def mtls_server(server_factory, tls_ca, tls_cert):
    ctx = gevent.ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls_cert.configure_cert(ctx)
    tls_ca.configure_trust(ctx)
    ctx.verify_mode = ssl.CERT_REQUIRED

    def respond(conn, req):
        peer = conn.sock.getpeercert()
        subject = dict(x[0] for x in peer["subject"]) if peer else {}
        conn.respond(200, json.dumps(subject).encode())

    return server_factory(keep_alive(respond), ssl_context=ctx)


def test_client_certificate_as_one_file_or_a_pair(mtls_server, tls_ca, ca_file, tmp_path):
    client = tls_ca.issue_cert("client.example")
    combined = tmp_path / "client.pem"
    client.private_key_and_cert_chain_pem.write_to_path(str(combined))
    certfile, keyfile = tmp_path / "c.pem", tmp_path / "k.pem"
    client.cert_chain_pems[0].write_to_path(str(certfile))
    client.private_key_pem.write_to_path(str(keyfile))
    with Session(verify=ca_file) as s:
        r = s.get(mtls_server.base + "/", cert=str(combined))
        assert r.ok
        r = s.get(mtls_server.base + "/", cert=(str(certfile), str(keyfile)))
        assert r.ok
        with pytest.raises(NetworkError):
            s.get(mtls_server.base + "/")  # no certificate: the server refuses


# -- proxies ----------------------------------------------------------------------------------


def proxy_answers(conn, req):
    conn.respond(200, json.dumps({"target": req["target"], "headers": req["headers"]}).encode())


@pytest.fixture
def proxy(server_factory):
    return server_factory(keep_alive(proxy_answers))


def test_http_proxy_from_arguments_with_credentials(proxy):
    url = f"http://user:pa%40ss@127.0.0.1:{proxy.port}"
    got = api.get("http://origin.test:8080/x?y=1", proxies={"http": url}).json()
    assert got["target"] == "http://origin.test:8080/x?y=1"
    assert got["headers"]["proxy-authorization"] == [basic("user", "pa@ss")]
    assert got["headers"]["host"] == ["origin.test:8080"]


def test_proxy_keys_scheme_host_is_more_specific_than_scheme(proxy, server_factory):
    other = server_factory(keep_alive(proxy_answers))
    proxies = {
        "http": f"http://127.0.0.1:{other.port}",
        "http://origin.test": f"http://127.0.0.1:{proxy.port}",
    }
    api.get("http://origin.test/", proxies=proxies)
    api.get("http://else.test/", proxies=proxies)
    assert [r["target"] for r in proxy.requests] == ["http://origin.test/"]
    assert [r["target"] for r in other.requests] == ["http://else.test/"]


def test_each_proxy_gets_its_own_connections(proxy, server_factory):
    other = server_factory(keep_alive(proxy_answers))
    with Session() as s:
        s.get("http://origin.test/", proxies={"http": f"http://127.0.0.1:{proxy.port}"})
        s.get("http://origin.test/", proxies={"http": f"http://u:p@127.0.0.1:{proxy.port}"})
        s.get("http://origin.test/", proxies={"http": f"http://127.0.0.1:{other.port}"})
    assert len(proxy.requests) == 2 and proxy.connections == 2
    assert "proxy-authorization" not in proxy.requests[0]["headers"]
    assert proxy.requests[1]["headers"]["proxy-authorization"] == [basic("u", "p")]
    assert len(other.requests) == 1


def connect_proxy(conn):
    """CONNECT only; tunnels to the requested port on 127.0.0.1."""
    req = conn.read_request()
    if req is None or req["method"] != "CONNECT":
        conn.respond(405, reason="Method Not Allowed")
        return
    port = int(req["target"].rpartition(":")[2])
    upstream = gevent.socket.create_connection(("127.0.0.1", port), timeout=2)
    upstream.settimeout(None)
    try:
        conn.send(b"HTTP/1.1 200 Connection established\r\n\r\n")
        gevent.joinall(
            [gevent.spawn(pipe, conn.sock, upstream), gevent.spawn(pipe, upstream, conn.sock)]
        )
    finally:
        upstream.close()


def test_https_through_a_connect_proxy_with_credentials(server_factory, tls_server, ca_file):
    tunnel = server_factory(connect_proxy)
    url = f"https://localhost:{tls_server.port}/secure"
    r = api.get(url, verify=ca_file, proxies={"https": f"http://u:s3cret@127.0.0.1:{tunnel.port}"})
    assert r.json()["target"] == "/secure"
    connect = tunnel.requests[0]
    assert connect["method"] == "CONNECT" and connect["target"] == f"localhost:{tls_server.port}"
    assert connect["headers"]["proxy-authorization"] == [basic("u", "s3cret")]
    assert "proxy-authorization" not in r.json()["headers"]  # never sent to the origin


def test_environment_proxy_is_used(proxy, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", f"http://env:pw@127.0.0.1:{proxy.port}")
    got = api.get("http://origin.test/env").json()
    assert got["target"] == "http://origin.test/env"
    assert got["headers"]["proxy-authorization"] == [basic("env", "pw")]


def test_lowercase_environment_variable_wins(proxy, monkeypatch):
    monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{proxy.port}")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    assert api.get("http://origin.test/").json()["target"] == "http://origin.test/"


def test_https_proxy_environment_variable_applies_to_https_only(proxy, echo_json, monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{proxy.port}")
    assert api.get(echo_json.base + "/direct").json()["target"] == "/direct"
    assert proxy.requests == []


@pytest.mark.parametrize(
    "no_proxy", ["127.0.0.1", "localhost,127.0.0.1", "127.0.0.0/8", "*", " 127.0.0.1 "]
)
def test_no_proxy_bypasses_the_environment_proxy(proxy, echo_json, monkeypatch, no_proxy):
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
    monkeypatch.setenv("NO_PROXY", no_proxy)
    assert api.get(echo_json.base + "/direct").json()["target"] == "/direct"
    assert proxy.requests == []


def test_no_proxy_with_another_port_does_not_bypass(proxy, echo_json, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
    monkeypatch.setenv("NO_PROXY", f"127.0.0.1:{echo_json.port + 1}")
    api.get(echo_json.base + "/p")
    assert [r["target"] for r in proxy.requests] == [echo_json.base + "/p"]


def test_explicit_proxies_ignore_no_proxy(proxy, monkeypatch):
    monkeypatch.setenv("NO_PROXY", "*")
    api.get("http://origin.test/", proxies={"http": f"127.0.0.1:{proxy.port}"})
    assert len(proxy.requests) == 1


def test_trust_env_false_ignores_environment_proxies(proxy, echo_json, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
    monkeypatch.setenv("ALL_PROXY", f"http://127.0.0.1:{proxy.port}")
    with Session(trust_env=False) as s:
        assert s.get(echo_json.base + "/direct").json()["target"] == "/direct"
    assert proxy.requests == []


def test_session_settings_changed_between_requests_take_effect(proxy, echo_json):
    """The session's own settings are kept between requests only while they are
    the same objects with the same content."""
    with Session() as s:
        assert s.get(echo_json.base + "/1").json()["target"] == "/1"
        s.proxies["http"] = f"http://127.0.0.1:{proxy.port}"  # changed in place
        assert s.get(echo_json.base + "/2").json()["target"] == echo_json.base + "/2"
        del s.proxies["http"]
        assert s.get(echo_json.base + "/3").json()["target"] == "/3"
        s.timeout = [5, 5]
        assert s.get(echo_json.base + "/4").ok
        s.timeout[1] = "soon"  # a list changed in place is read again
        with pytest.raises(ValueError):
            s.get(echo_json.base + "/5")
        s.timeout = 5
        s.verify = "/nonexistent/ca.pem"  # http: no TLS, nothing to check
        assert s.get(echo_json.base + "/6").ok
    assert [r["target"] for r in proxy.requests] == [echo_json.base + "/2"]


def test_environment_proxy_changes_between_requests_of_one_session(proxy, echo_json, monkeypatch):
    with Session() as s:
        assert s.get(echo_json.base + "/a").json()["target"] == "/a"
        monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{proxy.port}")
        assert s.get(echo_json.base + "/b").json()["target"] == echo_json.base + "/b"
        monkeypatch.setenv("no_proxy", "127.0.0.1")
        assert s.get(echo_json.base + "/c").json()["target"] == "/c"
        monkeypatch.delenv("no_proxy")
        monkeypatch.delenv("http_proxy")
        assert s.get(echo_json.base + "/d").json()["target"] == "/d"
        monkeypatch.setenv("ALL_PROXY", f"http://127.0.0.1:{proxy.port}")
        assert s.get(echo_json.base + "/e").json()["target"] == echo_json.base + "/e"
    assert len(proxy.requests) == 2


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"http_proxy": "http://a:1"},
        {"HTTP_PROXY": "http://b:2", "REQUEST_METHOD": "GET"},  # httpoxy: ignored
        {"http_proxy": "http://a:1", "REQUEST_METHOD": "GET"},
        {"HTTPS_PROXY": "http://c:3", "https_proxy": "http://d:4"},
        {"ALL_PROXY": "http://e:5", "NO_PROXY": "x.test", "no_proxy": ""},
        {"REQUEST_METHOD": "GET"},
    ],
)
def test_environment_proxies_read_as_from_a_plain_mapping(env, monkeypatch):
    """The quick read of os.environ gives what the look-ups on a copy give."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert environ_proxies() == environ_proxies(dict(os.environ))
    monkeypatch.setattr(os, "environ", dict(os.environ))  # a replaced os.environ
    assert environ_proxies() == environ_proxies(dict(os.environ))
    assert getenv("HTTP_PROXY") == os.environ.get("HTTP_PROXY")


def test_getenv_reads_os_environ(monkeypatch):
    monkeypatch.setenv("GHC_TEST_VALUE", "\u00e9t\u00e9")
    assert getenv("GHC_TEST_VALUE") == "\u00e9t\u00e9"
    monkeypatch.delenv("GHC_TEST_VALUE")
    assert getenv("GHC_TEST_VALUE") is None


def test_a_none_proxy_entry_means_direct(proxy, echo_json, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
    assert api.get(echo_json.base + "/d", proxies={"http": None}).json()["target"] == "/d"
    assert proxy.requests == []


@pytest.mark.parametrize("url", ["socks6://127.0.0.1:1080", "ftp://127.0.0.1:3128"])
def test_unsupported_proxy_schemes_are_refused_not_bypassed(url, echo_json):
    with pytest.raises(InvalidURL):
        api.get(echo_json.base + "/", proxies={"http": url})
    assert echo_json.requests == []


# -- hooks and misc ---------------------------------------------------------------------------


def test_session_hooks_added_between_requests_are_called(echo_json):
    seen: List[str] = []
    with Session() as s:
        s.get(echo_json.base + "/none")
        s.hooks["response"].append(lambda r, **kw: seen.append(r.url))
        s.get(echo_json.base + "/one")
        s.hooks = {"response": [lambda r, **kw: seen.append("replaced")]}
        s.get(echo_json.base + "/two")
    assert seen == [echo_json.base + "/one", "replaced"]


def test_response_hooks_see_every_hop(server_factory):
    server = server_factory(keep_alive(redirecting))
    seen: List[int] = []
    api.get(server.base + "/hop/2", hooks={"response": lambda r, **kw: seen.append(r.status_code)})
    assert seen == [302, 302, 200]


def test_prepared_request_is_available_on_the_response(echo_json):
    r = api.post(echo_json.base + "/r", data=b"body", headers={"X-T": "1"})
    assert isinstance(r.request, PreparedRequest)
    assert r.request.method == "POST" and r.request.body == b"body"
    assert r.request.headers["x-t"] == "1"
    assert repr(r) == "<Response [200]>"


def test_session_urlopen_and_download_share_its_clients_and_cookies(server_factory, tmp_path):
    """2.x's Session was a UserAgent; ours is built from parts, and its 2.x methods
    run on an agent that borrows the session's clients, headers and cookies."""

    def respond(conn, req):
        conn.respond(200, b"body", [("Set-Cookie", "k=v; Path=/")])

    server = server_factory(keep_alive(respond))
    with Session(headers={"X-Session": "1"}) as s:
        assert not isinstance(s, UserAgent)
        assert s.get(server.base + "/").status_code == 200
        resp = s.urlopen(server.base + "/again")
        assert resp.content == b"body"
        s.download(server.base + "/file", tmp_path / "f")
        assert (tmp_path / "f").read_bytes() == b"body"
        (client,) = s._clients.values()
        stats = client.statistics()
        assert stats.created == 1 and stats.idle == 1
    sent = server.requests
    assert [r["headers"]["x-session"] for r in sent] == [["1"]] * 3
    assert "cookie" not in sent[0]["headers"]
    assert sent[1]["headers"]["cookie"] == ["k=v"] and sent[2]["headers"]["cookie"] == ["k=v"]


def test_session_refuses_client_options_that_name_one_origin():
    with pytest.raises(TypeError):
        Session(host="example.com")
    with pytest.raises(TypeError):
        Session(port=8080)


def test_session_takes_2x_client_keywords_in_its_own_terms(server_factory):
    """2.x's Session was a UserAgent and passed HTTPClient keywords to its clients."""
    assert Session(insecure=True).verify is False
    assert Session(connection_timeout=2, network_timeout=3).timeout == (2, 3)
    assert Session(network_timeout=3, timeout=7).timeout == 7  # requests' own wins
    proxied = Session(proxy_host="proxy.example", proxy_port=3128, proxy_user="u")
    assert proxied.proxies["https"] == "http://u:@proxy.example:3128"
    jar = CookieJar()
    assert Session(cookiejar=jar).cookies is not None
    slow = server_factory(hang)
    with Session(network_timeout=0.2) as s:
        started = time.monotonic()
        with pytest.raises(ReadTimeout):
            s.get(slow.base + "/")
        assert time.monotonic() - started < 2


def test_links_parse_the_link_header(server_factory):
    def respond(conn, req):
        link = '<https://a.example/2>; rel="next", <https://a.example/9>; rel=last; title="L, 9"'
        conn.respond(200, b"", [("Link", link)])

    server = server_factory(keep_alive(respond))
    r = api.get(server.base + "/")
    assert r.links == {
        "next": {"url": "https://a.example/2", "rel": "next"},
        "last": {"url": "https://a.example/9", "rel": "last", "title": "L, 9"},
    }
    assert api.get(server_factory(typed(None, b"")).base + "/").links == {}


def test_session_urlopen_accepts_every_status_and_gives_session_responses(server_factory):
    """2.x's Session had no status check: urlopen returned a 404 as a response."""
    server = server_factory(keep_alive(lambda conn, req: conn.respond(404, b"gone")))
    with Session() as s:
        resp = s.urlopen(server.base + "/missing")
        assert isinstance(resp, Response)
        assert resp.status_code == 404 and resp.content == b"gone"


def test_a_given_cookie_jar_is_the_sessions_own(server_factory):
    """Cookies that responses set land in the jar the caller passed (2.x's
    cookiejar=), not in a copy."""

    def respond(conn, req):
        conn.respond(200, b"", [("Set-Cookie", "a=1; Path=/")])

    server = server_factory(keep_alive(respond))
    jar = CookieJar()
    for make in (lambda: Session(cookies=jar), lambda: Session(cookiejar=jar)):
        with make() as s:
            assert s.cookies is jar
            s.get(server.base + "/")
        assert [c.name for c in jar] == ["a"]
        jar.clear()
    assert len(Session(cookiejar=True).cookies) == 0
