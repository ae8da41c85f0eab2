"""The httpx face (geventhttpclient.httpx) against loopback servers: httpx's names on
the session's rules, streaming, settings, and errors that are both httpx's class and
the engine's."""

from __future__ import annotations

import gzip
import pickle
import socket
import ssl

import gevent
import pytest
from conftest import basic, echo_json, keep_alive

from geventhttpclient import exceptions as exc
from geventhttpclient import httpx
from geventhttpclient import requests as rq

PROXY_ENV = ["http_proxy", "https_proxy", "all_proxy", "no_proxy"]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    """No proxy or CA variables from the machine running the tests."""
    for name in PROXY_ENV + ["REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"]:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


GZIPPED = gzip.compress(b"squeezed " * 100)
BIG = b"x" * (1024 * 1024)


def route(conn, req):
    """A small site: each path is one behaviour the tests below use."""
    path, _, _query = req["target"].partition("?")
    if path == "/redirect":
        conn.respond(301, b"moved", [("Location", "/echo")], reason="Moved Permanently")
    elif path == "/loop":
        conn.respond(302, b"", [("Location", "/loop")], reason="Found")
    elif path.startswith("/status/"):
        code = int(path.rsplit("/", 1)[1])
        conn.respond(code, b"status", [("Content-Type", "text/plain")], reason="Whatever")
    elif path == "/big":
        conn.respond(200, BIG)
    elif path == "/gzip":
        conn.respond(200, GZIPPED, [("Content-Encoding", "gzip")])
    elif path == "/lines":
        conn.respond(
            200, "één\ntwee\r\ndrie".encode(), [("Content-Type", "text/plain; charset=utf-8")]
        )
    elif path == "/cookie":
        conn.respond(200, b"", [("Set-Cookie", "a=1; Path=/"), ("Set-Cookie", "b=2; Path=/")])
    elif path == "/stall":
        gevent.sleep(2)
        conn.respond(200, b"late")
    elif path == "/cut":
        conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b")
        conn.close()
    else:
        echo_json(conn, req)


@pytest.fixture
def site(server_factory):
    return server_factory(keep_alive(route))


def dead_port() -> int:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


# -- responses ------------------------------------------------------------------------------


def test_response_has_httpx_names(site):
    with httpx.Client() as client:
        r = client.get(f"{site.base}/echo")
    assert (r.status_code, r.reason_phrase, r.http_version) == (200, "OK", "HTTP/1.1")
    assert r.is_success and not r.is_error and not r.is_redirect and not r.is_informational
    assert r.url == f"{site.base}/echo"
    assert r.headers["content-type"] == "application/json"
    assert r.json()["method"] == "GET"
    assert r.read() == r.content and r.text == r.content.decode()
    assert r.is_closed and r.is_stream_consumed
    assert r.num_bytes_downloaded == len(r.content)
    assert repr(r) == "<Response [200 OK]>"


@pytest.mark.parametrize(
    ("code", "client_error", "server_error"), [(404, True, False), (503, False, True)]
)
def test_status_predicates_and_raise_for_status(site, code, client_error, server_error):
    with httpx.Client() as client:
        r = client.get(f"{site.base}/status/{code}")
    assert (r.is_client_error, r.is_server_error, r.is_error) == (client_error, server_error, True)
    with pytest.raises(httpx.HTTPStatusError) as info:
        r.raise_for_status()
    error = info.value
    assert error.response is r and error.request.method == "GET"
    assert (
        str(error)
        == f"{'Client' if client_error else 'Server'} error '{code} Whatever' for url '{r.url}'"
    )
    # one error, caught by each face's name for it
    assert isinstance(error, rq.HTTPStatusError) and isinstance(error, exc.BadStatusCode)
    assert error.status_code == code


def test_raise_for_status_returns_the_response_and_leaves_redirects_alone(site):
    with httpx.Client() as client:
        ok = client.get(f"{site.base}/echo")
        moved = client.get(f"{site.base}/redirect")
    assert ok.raise_for_status() is ok
    assert moved.status_code == 301 and moved.has_redirect_location
    assert moved.raise_for_status() is moved


# -- requests ---------------------------------------------------------------------------------


def test_redirects_are_not_followed_unless_asked(site):
    with httpx.Client() as client:
        assert client.get(f"{site.base}/redirect").status_code == 301
        followed = client.get(f"{site.base}/redirect", follow_redirects=True)
    assert followed.status_code == 200 and followed.url == f"{site.base}/echo"
    assert [h.status_code for h in followed.history] == [301]
    with httpx.Client(follow_redirects=True) as client:
        assert client.get(f"{site.base}/redirect").status_code == 200
        assert client.get(f"{site.base}/redirect", follow_redirects=False).status_code == 301


def test_too_many_redirects_is_both_faces_error(site):
    with httpx.Client(max_redirects=2, follow_redirects=True) as client:
        assert client.max_redirects == 2
        with pytest.raises(httpx.TooManyRedirects) as info:
            client.get(f"{site.base}/loop")
    assert isinstance(info.value, exc.TooManyRedirects)
    assert isinstance(info.value.__cause__, exc.TooManyRedirects)
    assert str(info.value) == str(info.value.__cause__)


@pytest.mark.parametrize("path", ["items", "/items", "items?x=1"])
def test_base_url_extends_its_path(site, path):
    with httpx.Client(base_url=f"{site.base}/api") as client:
        assert client.base_url == f"{site.base}/api/"
        target = client.get(path).json()["target"]
    assert target == "/api/" + path.lstrip("/")


def test_absolute_url_ignores_base_url(site, server_factory):
    other = server_factory(keep_alive(route))
    with httpx.Client(base_url=site.base) as client:
        assert client.get(f"{other.base}/x").json()["target"] == "/x"
    assert other.connections == 1 and site.connections == 0


def test_params_headers_cookies_merge_with_the_clients(site):
    with httpx.Client(params={"a": "1"}, headers={"X-A": "1"}, cookies={"c": "1"}) as client:
        seen = client.get(
            f"{site.base}/echo", params={"b": "2"}, headers={"X-B": "2"}, cookies={"d": "2"}
        ).json()
        overridden = client.get(f"{site.base}/echo", params={"a": "9"}).json()
    assert seen["target"] == "/echo?a=1&b=2"
    assert seen["headers"]["x-a"] == ["1"] and seen["headers"]["x-b"] == ["2"]
    assert seen["headers"]["cookie"] == ["c=1; d=2"]
    assert overridden["target"] == "/echo?a=9"


def test_auth_on_client_and_per_request(site):
    with httpx.Client(auth=("user", "pass")) as client:
        assert client.get(f"{site.base}/").json()["headers"]["authorization"] == [
            basic("user", "pass")
        ]
        other = client.get(f"{site.base}/", auth=httpx.BasicAuth("u2", "p2")).json()
        assert other["headers"]["authorization"] == [basic("u2", "p2")]


def test_response_cookies_are_kept_by_the_client(site):
    with httpx.Client() as client:
        r = client.get(f"{site.base}/cookie")
        assert {c.name for c in r.cookies} == {"a", "b"}
        assert client.cookies["a"] == "1"
        assert client.get(f"{site.base}/echo").json()["headers"]["cookie"] == ["a=1; b=2"]


@pytest.mark.parametrize(
    ("kw", "body", "content_type"),
    [
        ({"content": b"raw"}, "raw", None),
        ({"content": "text \u00e9"}, "text \u00c3\u00a9", None),
        ({"content": iter([b"one", b"two"])}, "onetwo", None),
        ({"data": {"k": "v w"}}, "k=v+w", "application/x-www-form-urlencoded"),
        ({"json": {"k": 1}}, '{"k": 1}', "application/json"),
    ],
)
def test_bodies_are_encoded_by_the_session(site, kw, body, content_type):
    with httpx.Client() as client:
        seen = client.post(f"{site.base}/echo", **kw).json()
    assert seen["body"] == body
    assert seen["headers"].get("content-type") == ([content_type] if content_type else None)


def test_files_make_a_multipart_body(site):
    with httpx.Client() as client:
        seen = client.post(f"{site.base}/echo", files={"f": ("a.txt", b"hello")}).json()
    assert seen["headers"]["content-type"][0].startswith("multipart/form-data; boundary=")
    assert 'filename="a.txt"' in seen["body"] and "hello" in seen["body"]


def test_conflicting_bodies_are_refused_before_sending(site):
    with httpx.Client() as client:
        with pytest.raises(ValueError):
            client.post(f"{site.base}/echo", content=b"x", json={"a": 1})
        with pytest.raises(ValueError):
            client.post(f"{site.base}/echo", content=b"x", data={"a": "1"})
        with pytest.raises(TypeError):
            client.post(f"{site.base}/echo", content={"a": "1"})
    assert site.connections == 0


def test_verbs_send_their_method(site):
    with httpx.Client() as client:
        for verb in ("get", "options", "post", "put", "patch", "delete"):
            assert getattr(client, verb)(f"{site.base}/echo").json()["method"] == verb.upper()
        assert client.head(f"{site.base}/echo").content == b""


def test_response_hooks_see_every_response_and_cannot_replace_it(site):
    seen = []
    hooks = {"response": [lambda r: seen.append(r.status_code) or "ignored"]}
    with httpx.Client(event_hooks=hooks, follow_redirects=True) as client:
        r = client.get(f"{site.base}/redirect")
    assert isinstance(r, httpx.Response) and seen == [301, 200]
    with pytest.raises(NotImplementedError):
        httpx.Client(event_hooks={"request": [print]})


def test_closed_client_refuses_requests(site):
    client = httpx.Client()
    client.close()
    assert client.is_closed
    with pytest.raises(RuntimeError):
        client.get(f"{site.base}/echo")
    assert site.connections == 0


# -- streaming ----------------------------------------------------------------------------------


def test_stream_leaves_the_body_unread_until_iterated(site):
    with httpx.Client() as client, client.stream("GET", f"{site.base}/gzip") as r:
        assert not r.is_stream_consumed and not r.is_closed
        assert b"".join(r.iter_bytes()) == b"squeezed " * 100
        assert r.is_stream_consumed
        with pytest.raises(httpx.StreamConsumed) as info:
            list(r.iter_bytes())
        assert isinstance(info.value, exc.StreamConsumedError)
    assert r.is_closed


def test_stream_read_then_text(site):
    with httpx.Client() as client, client.stream("GET", f"{site.base}/lines") as r:
        assert r.read() == "één\ntwee\r\ndrie".encode()
        assert r.text == "één\ntwee\r\ndrie"
        assert list(r.iter_lines()) == ["één", "twee", "drie"]


def test_iter_lines_and_iter_text_give_str(site):
    with httpx.Client() as client:
        with client.stream("GET", f"{site.base}/lines") as r:
            assert list(r.iter_lines()) == ["één", "twee", "drie"]
        with client.stream("GET", f"{site.base}/lines") as r:
            assert "".join(r.iter_text(1)) == "één\ntwee\r\ndrie"
        with client.stream("GET", f"{site.base}/lines") as r:
            assert list(r.iter_lines(decode_unicode=False)) == [
                "één".encode(),
                b"twee",
                b"drie",
            ]


def test_iter_bytes_chunk_size_bounds_the_pieces(site):
    with httpx.Client() as client:
        r = client.get(f"{site.base}/gzip")
        pieces = list(r.iter_bytes(100))
    assert b"".join(pieces) == b"squeezed " * 100
    assert max(map(len, pieces)) == 100


def test_iter_raw_gives_the_body_as_sent(site):
    with httpx.Client() as client:
        with client.stream("GET", f"{site.base}/gzip") as r:
            assert b"".join(r.iter_raw()) == GZIPPED
            assert r.num_bytes_downloaded == len(GZIPPED)
            with pytest.raises(httpx.StreamConsumed):
                r.read()
        with client.stream("GET", f"{site.base}/gzip") as r:
            assert [len(p) for p in r.iter_raw(10)][:2] == [10, 10]
        # a response that is not streamed was read: httpx refuses iter_raw on it too
        with pytest.raises(httpx.StreamConsumed):
            list(client.get(f"{site.base}/gzip").iter_raw())


def test_leaving_a_stream_early_closes_its_connection(site):
    with httpx.Client() as client:
        with client.stream("GET", f"{site.base}/big") as r:
            next(r.iter_raw(5))
        assert r.is_closed
        assert client.get(f"{site.base}/echo").status_code == 200
    assert site.connections == 2  # the half-read connection was not reused


def test_body_cut_short_in_a_stream_is_remote_protocol_error(site):
    with httpx.Client() as client, client.stream("GET", f"{site.base}/cut") as r:
        with pytest.raises(httpx.RemoteProtocolError) as info:
            list(r.iter_bytes())
    assert isinstance(info.value, exc.IncompleteResponse)
    assert isinstance(info.value.__cause__, exc.IncompleteResponse)


# -- errors ------------------------------------------------------------------------------------


def test_refused_connection_is_connect_error_and_stays_the_engines():
    with httpx.Client() as client, pytest.raises(httpx.ConnectError) as info:
        client.get(f"http://127.0.0.1:{dead_port()}/")
    error = info.value
    assert type(error).__name__ == "ConnectError"
    for cls in (httpx.TransportError, httpx.RequestError, httpx.HTTPError):
        assert isinstance(error, cls)
    for cls in (exc.ConnectionRefused, exc.ConnectError, ConnectionRefusedError, OSError):
        assert isinstance(error, cls)
    cause = error.__cause__
    assert isinstance(cause, exc.ConnectionRefused) and not isinstance(cause, httpx.HTTPError)
    assert str(error) == str(cause) and error.errno == cause.errno


def test_read_timeout_per_request_and_per_client(site):
    with httpx.Client() as client, pytest.raises(httpx.ReadTimeout) as info:
        client.get(f"{site.base}/stall", timeout=0.05)
    assert isinstance(info.value, httpx.TimeoutException)
    assert isinstance(info.value, exc.ReadTimeout) and isinstance(info.value, TimeoutError)
    with httpx.Client(timeout=httpx.Timeout(5.0, read=0.05)) as client:
        with pytest.raises(httpx.ReadTimeout):
            client.get(f"{site.base}/stall")


def test_untrusted_certificate_is_connect_error_and_ssl_error(
    server_factory, server_ssl_context, ca_file
):
    server = server_factory(keep_alive(route), ssl_context=server_ssl_context)
    with httpx.Client() as client, pytest.raises(httpx.ConnectError) as info:
        client.get(f"{server.base}/")
    assert isinstance(info.value, exc.TLSError) and isinstance(info.value, ssl.SSLError)
    with httpx.Client(verify=ca_file) as client:
        assert client.get(f"{server.base}/").status_code == 200


def test_header_injection_is_local_protocol_error(site):
    with httpx.Client() as client, pytest.raises(httpx.LocalProtocolError) as info:
        client.get(f"{site.base}/", headers={"X-Evil": "a\r\nInjected: 1"})
    assert isinstance(info.value, exc.HeaderInjectionError)
    assert site.raw == b""


def test_unsupported_scheme_is_invalid_url():
    with httpx.Client() as client, pytest.raises(httpx.InvalidURL) as info:
        client.get("ftp://example.invalid/")
    assert isinstance(info.value, ValueError)


def test_usage_errors_pass_unchanged(site):
    with httpx.Client() as client, pytest.raises(exc.UnsupportedAuth) as info:
        client.get(f"{site.base}/", auth=42)
    assert not isinstance(info.value, httpx.HTTPError)


def test_retries_exceeded_is_named_after_its_last_failure():
    error = httpx._translate(exc.RetriesExceeded("http://x/", 2, original=exc.ReadTimeout("slow")))
    assert isinstance(error, httpx.ReadTimeout) and isinstance(error, exc.RetriesExceeded)
    assert str(error) == "URL http://x/: 2, original=slow"


def test_translated_errors_pickle():
    with httpx.Client() as client, pytest.raises(httpx.ConnectError) as info:
        client.get(f"http://127.0.0.1:{dead_port()}/")
    copy = pickle.loads(pickle.dumps(info.value))
    assert type(copy) is type(info.value) and str(copy) == str(info.value)
    status = httpx.HTTPStatusError("boom", request=None, response=_FakeResponse())
    assert str(pickle.loads(pickle.dumps(status))) == "boom"


class _FakeResponse:
    url = "http://x/"
    request = None
    status_code = 418


def test_errors_made_by_the_caller_work_as_httpx_ones():
    error = httpx.ConnectTimeout("slow", request="req")
    assert str(error) == "slow" and error.request == "req"
    assert isinstance(error, exc.ConnectTimeout) and isinstance(error, TimeoutError)
    assert isinstance(httpx.TooManyRedirects("loop"), exc.TooManyRedirects)
    assert isinstance(httpx.DecodingError("bad"), exc.DecodingError)


# -- settings and module-level calls ------------------------------------------------------------


def test_timeout_values():
    assert httpx.Timeout(3.0).as_dict() == dict.fromkeys(("connect", "read", "write", "pool"), 3.0)
    t = httpx.Timeout(3.0, connect=1.0, pool=None)
    assert (t.connect, t.read, t.write, t.pool) == (1.0, 3.0, 3.0, None)
    assert httpx.Timeout((1, 2)) == httpx.Timeout(connect=1, read=2, write=2, pool=None)
    assert httpx.Timeout(httpx.Timeout(4.0)) == httpx.Timeout(4.0)
    assert httpx.Timeout(None).as_dict() == dict.fromkeys(("connect", "read", "write", "pool"))
    with pytest.raises(ValueError):
        httpx.Timeout(connect=1.0)
    assert repr(httpx.Timeout(2.0)) == "Timeout(timeout=2.0)"


def test_client_settings_reach_the_session():
    legacy = httpx.Client(connection_timeout=1.0, network_timeout=2.0)
    assert (legacy.timeout.connect, legacy.timeout.read) == (1.0, 2.0)
    assert legacy.session.timeout == (1.0, 2.0)
    client = httpx.Client(
        timeout=httpx.Timeout(5.0, pool=1.5),
        limits=httpx.Limits(max_connections=3),
        proxy="http://proxy.invalid:3128",
        max_retries=2,
    )
    assert client.session.pool_timeout == 1.5 and client.session.concurrency == 3
    assert client.session.proxies == {
        "http": "http://proxy.invalid:3128",
        "https": "http://proxy.invalid:3128",
    }
    assert client.session.max_retries == 2
    client.timeout = 7
    assert client.session.timeout == (7, 7)
    assert httpx.Client(proxies={"all://": "http://p:1"}).session.proxies == {"all": "http://p:1"}
    assert httpx.Client().timeout == httpx.DEFAULT_TIMEOUT


def test_module_level_calls_follow_redirects_and_share_nothing(site):
    r = httpx.get(f"{site.base}/redirect")
    assert r.status_code == 200 and r.history[0].status_code == 301
    assert httpx.get(f"{site.base}/redirect", follow_redirects=False).status_code == 301
    assert httpx.post(f"{site.base}/echo", json={"a": 1}).json()["body"] == '{"a": 1}'
    httpx.get(f"{site.base}/cookie")
    assert "cookie" not in httpx.get(f"{site.base}/echo").json()["headers"]
    with httpx.stream("GET", f"{site.base}/gzip") as streamed:
        assert b"".join(streamed.iter_bytes()) == b"squeezed " * 100
    with pytest.raises(TypeError):
        httpx.get(f"{site.base}/echo", allow_redirects=True)


def test_client_proxy_of_any_scheme_reaches_the_origin(server_factory):
    """The httpx-style ``Client(proxy=...)`` takes every proxy scheme the engine
    speaks: here SOCKS5 with the proxy resolving the name."""
    from socksserver import SocksServer

    origin = server_factory(keep_alive(echo_json))
    with SocksServer(hosts={"origin.test": "127.0.0.1"}) as socks:
        with httpx.Client(proxy=socks.url("socks5h")) as client:
            r = client.get(f"http://origin.test:{origin.port}/via")
        assert r.json()["target"] == "/via"
        assert [(q.atyp, q.host) for q in socks.requests] == [("domain", "origin.test")]
