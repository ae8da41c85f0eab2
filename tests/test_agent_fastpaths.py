"""The agent's fast paths (issue 14) give the same results as the work they skip.

Each shortcut is checked on the case it takes and on the case it must not take:
response headers built on first use (and Content-Encoding still honoured in any
spelling), an empty cookie jar skipped (but a jar with cookies, or one whose methods
a subclass overrides, always asked), responses without Set-Cookie skipped by the jar
(and one with it stored), cached heads of headered requests (the same fields give
the same bytes, other fields other bytes), and cached URL parses (never for URLs
with credentials, never for URLs that fail).
"""

from __future__ import annotations

import gzip
from http.cookiejar import CookieJar

import pytest
from conftest import keep_alive

from geventhttpclient import HTTPClient
from geventhttpclient import url as url_module
from geventhttpclient.exceptions import BadStatusCode, DecompressionLimitExceeded
from geventhttpclient.header import Headers
from geventhttpclient.url import URL
from geventhttpclient.useragent import (
    CompatResponse,
    UserAgent,
    jar_adds_nothing,
    sets_no_cookie,
)


def _serve(server_factory, responses):
    """A keep-alive server answering each request with the next (status, headers, body)."""
    queue = list(responses)

    def respond(conn, req):
        status, headers, body = queue.pop(0) if len(queue) > 1 else queue[0]
        conn.respond(status, body, headers)

    return server_factory(keep_alive(respond))


# -- response headers on first use ---------------------------------------------------


@pytest.mark.parametrize("spelling", ["Content-Encoding", "content-encoding", "CONTENT-ENCODING"])
def test_gzip_body_decoded_without_touching_headers(server_factory, spelling):
    body = b"hello " * 100
    srv = _serve(server_factory, [(200, [(spelling, "gzip")], gzip.compress(body))])
    with UserAgent() as ua:
        resp = ua.urlopen(srv.base + "/")
        assert resp.content == body


def test_identity_body_and_lazy_headers(server_factory):
    srv = _serve(server_factory, [(200, [("X-One", "1"), ("Content-Type", "text/plain")], b"ok")])
    with UserAgent() as ua:
        resp = ua.urlopen(srv.base + "/")
        assert "headers" not in vars(resp)  # not built by the agent
        assert resp.content == b"ok"
        assert resp.headers["x-one"] == "1"
        assert resp.headers is resp.stream.headers
        resp.headers = Headers({"X-Two": "2"})  # assignable, as in 2.x
        assert resp.headers["x-two"] == "2"
        assert resp.info()["x-two"] == "2"


def test_has_field_reads_the_head(server_factory):
    srv = _serve(server_factory, [(200, [("X-Reason", "content-encoding: gzip")], b"ok")])
    with HTTPClient.from_url(srv.base) as client:
        resp = client.get("/")
        # a field's value that looks like another field is not that field
        assert resp.has_field("x-reason") and resp.has_field("X-REASON")
        assert not resp.has_field("content-encoding")
        assert not resp.has_field("reason")
        assert resp.read() == b"ok"


class _PlainHeadersResponse(CompatResponse):
    """As Locust's FastResponse: ``headers`` a plain class attribute, instances
    copied by their ``__dict__``."""

    headers = None


def test_subclass_with_plain_headers_attribute(server_factory):
    srv = _serve(server_factory, [(200, [("Content-Encoding", "gzip")], gzip.compress(b"zz"))])

    class Agent(UserAgent):
        response_type = _PlainHeadersResponse

    with Agent() as ua:
        resp = ua.urlopen(srv.base + "/")
        assert vars(resp)["headers"]["content-encoding"] == "gzip"
        copy = _PlainHeadersResponse.__new__(_PlainHeadersResponse)
        copy.__dict__.update(resp.__dict__)
        assert copy.headers is resp.headers
        assert resp.content == b"zz"


# -- cookie jars ------------------------------------------------------------------------


def test_empty_jar_skipped_but_cookies_round_trip(server_factory):
    seen = []

    def respond(conn, req):
        seen.append(req["headers"].get("cookie"))
        if req["target"] == "/set":
            conn.respond(200, b"set", [("Set-Cookie", "a=1; Path=/")])
        else:
            conn.respond(200, b"plain")

    srv = server_factory(keep_alive(respond))
    jar = CookieJar()
    assert jar_adds_nothing(jar)
    with UserAgent(cookiejar=jar) as ua:
        assert ua.urlopen(srv.base + "/plain").content == b"plain"
        assert len(jar) == 0
        assert ua.urlopen(srv.base + "/set").content == b"set"
        assert len(jar) == 1 and not jar_adds_nothing(jar)
        assert ua.urlopen(srv.base + "/plain").content == b"plain"
    assert seen == [None, None, ["a=1"]]


def test_jar_subclass_is_always_asked(server_factory):
    calls = []

    class CountingJar(CookieJar):
        def add_cookie_header(self, request):
            calls.append("add")
            request.add_unredirected_header("Cookie", "made=up")

        def extract_cookies(self, response, request):
            calls.append("extract")

    seen = []

    def respond(conn, req):
        seen.append(req["headers"].get("cookie"))
        conn.respond(200, b"x")

    srv = server_factory(keep_alive(respond))
    jar = CountingJar()
    assert not jar_adds_nothing(jar)
    with UserAgent(cookiejar=jar) as ua:
        assert ua.urlopen(srv.base + "/").content == b"x"
    assert calls == ["add", "extract"]
    assert seen == [["made=up"]]


def test_sets_no_cookie(server_factory):
    srv = _serve(
        server_factory,
        [
            (200, [("set-COOKIE", "b=2")], b"1"),
            (200, [("Set-Cookie2", "c=3")], b"2"),
            (200, [], b"3"),
        ],
    )
    jar = CookieJar()
    with UserAgent() as ua:
        with_cookie = ua.urlopen(srv.base + "/")
        with_cookie2 = ua.urlopen(srv.base + "/")
        without = ua.urlopen(srv.base + "/")
        assert not sets_no_cookie(jar, with_cookie)
        assert not sets_no_cookie(jar, with_cookie2)
        assert sets_no_cookie(jar, without)
        for r in (with_cookie, with_cookie2, without):
            r.release()


# -- cached heads of headered requests -----------------------------------------------------


def test_headed_heads_follow_the_fields(server_factory):
    srv = server_factory(keep_alive(lambda conn, req: conn.respond(200, b"")))
    with HTTPClient.from_url(srv.base) as client:
        for value in ("a", "a", "b", "a"):
            client.get("/p", headers=Headers({"X-V": value})).read()
        client.get("/p", headers=Headers([("X-V", "a"), ("X-W", "c")])).read()
        client.get("/q", headers=Headers({"X-V": "a"})).read()
        client.request("HEAD", "/p", headers=Headers({"X-V": "a"})).read()
    got = [
        (r["method"], r["target"], r["headers"].get("x-v"), r["headers"].get("x-w"))
        for r in srv.requests
    ]
    assert got == [
        ("GET", "/p", ["a"], None),
        ("GET", "/p", ["a"], None),
        ("GET", "/p", ["b"], None),
        ("GET", "/p", ["a"], None),
        ("GET", "/p", ["a"], ["c"]),
        ("GET", "/q", ["a"], None),
        ("HEAD", "/p", ["a"], None),
    ]
    # the same fields give the same bytes as the uncached path
    heads = [r["raw_head"] for r in srv.requests]
    assert heads[0] == heads[1] == heads[3]
    assert heads[0] == client._build_request("GET", "/p", headers=Headers({"X-V": "a"})).encode(
        "latin-1"
    )


def test_headed_cache_still_refuses_injection(server_factory):
    from geventhttpclient.exceptions import HeaderInjectionError

    srv = server_factory(keep_alive(lambda conn, req: conn.respond(200, b"")))
    with HTTPClient.from_url(srv.base) as client:
        for _ in range(2):
            with pytest.raises(HeaderInjectionError):
                client.get("/", headers=Headers({"X-Bad": "a\r\nInjected: 1"}))
    assert srv.requests == []


# -- cached URL parses ---------------------------------------------------------------------------


def test_url_parse_cache_matches_and_skips_credentials():
    text = "http://example.com:8080/a;p?q=1#f"
    first, second = URL(text), URL(text)
    assert (first.host, first.port, first.path, first.params, first.query, first.fragment) == (
        "example.com",
        8080,
        "/a",
        "p",
        "q=1",
        "f",
    )
    assert str(first) == str(second) == text
    second.path = "/changed"  # instances do not share state
    assert first.path == "/a"
    assert text in url_module._PARSED
    secret = "http://user:pw@example.com/"
    assert URL(secret).password == "pw"
    assert secret not in url_module._PARSED


def test_url_parse_errors_are_not_cached():
    from geventhttpclient.exceptions import InvalidURL

    for _ in range(2):
        with pytest.raises(InvalidURL):
            URL("http://example.com:99999/")
    assert "http://example.com:99999/" not in url_module._PARSED


# -- the default per-attempt hooks ------------------------------------------------------


def test_default_hooks_verify_and_bound(server_factory):
    srv = _serve(
        server_factory,
        [(404, [], b"gone"), (200, [("Content-Encoding", "gzip")], gzip.compress(b"z" * 100))],
    )
    with UserAgent(max_decompressed_size=10) as ua:
        with pytest.raises(BadStatusCode) as err:  # _verify_status's
            ua.urlopen(srv.base + "/a")
        assert err.value.code == 404
        resp = ua.urlopen(srv.base + "/b")
        assert resp.max_decompressed_size == 10  # _apply_limits's bound
        with pytest.raises(DecompressionLimitExceeded):
            _ = resp.content


@pytest.mark.parametrize(
    "fields",
    [
        [],
        [("Content-Encoding", "identity")],
        [("SET-COOKIE", "a=1")],
        [("set-cookie2", "b=2")],
        [("X-Reason", "set-cookie: a=1")],
        [("Content-Encoding", "identity"), ("Set-Cookie", "a=1"), ("Set-Cookie2", "b=2")],
    ],
)
def test_has_field_from_the_parsers_flags_agrees_with_the_headers(server_factory, fields):
    """The names the parser notes (answered from its flags) and any other spelling of
    them (answered from the head's bytes) give what the built headers say."""
    srv = _serve(server_factory, [(200, fields, b"ok")])
    with HTTPClient.from_url(srv.base) as client:
        resp = client.get("/")
        names = ["content-encoding", "set-cookie", "set-cookie2", "Set-Cookie", "X-Reason"]
        answers = {n: resp.has_field(n) for n in names}
        assert resp.has_field("set-cookie", "set-cookie2") == (
            answers["set-cookie"] or answers["set-cookie2"]
        )
        assert resp.read() == b"ok"
        assert answers == {n: n in resp.headers for n in names}
