"""The CLI's embedded server (geventhttpclient/_cli/localserver.py), driven by our own
HTTPClient: each route, request bodies on keep-alive connections, the stall, TLS."""

from __future__ import annotations

import gzip
import json
import time
from typing import Iterator

import gevent
import pytest

from geventhttpclient import HTTPClient
from geventhttpclient._cli.localserver import GZIP_TEXT, RESPONSE_BODY, LocalServer
from geventhttpclient.exceptions import HTTPError


@pytest.fixture
def server() -> Iterator[LocalServer]:
    with LocalServer() as s:
        yield s


@pytest.fixture
def client(server: LocalServer) -> Iterator[HTTPClient]:
    with HTTPClient.from_url(server.url, network_timeout=5) as c:
        yield c


def get(client: HTTPClient, target: str, **kw):
    response = client.request(kw.pop("method", "GET"), target, **kw)
    return response, response.read()


def test_root_is_the_fixed_response_on_one_connection(server, client) -> None:
    assert server.url.startswith("http://127.0.0.1:") and server.url.endswith("/")
    for _ in range(3):
        response, body = get(client, "/")
        assert response.status_code == 200 and body == RESPONSE_BODY
    assert server.requests == 3
    assert client.statistics().created == 1


def test_head_of_root_has_no_body(client) -> None:
    response, body = get(client, "/", method="HEAD")
    assert response.status_code == 200 and body == b""
    assert int(response.headers["Content-Length"]) == len(RESPONSE_BODY)
    assert get(client, "/")[1] == RESPONSE_BODY  # the connection is still in step


def test_post_bodies_are_read_and_the_connection_kept(client) -> None:
    response, body = get(client, "/echo", method="POST", body=b"a" * 5000)
    echo = json.loads(body)
    assert echo["method"] == "POST" and echo["path"] == "/echo"
    assert echo["body"] == "a" * 5000
    # A POST to "/" too: its body must not be taken for the next request.
    assert get(client, "/", method="POST", body=b"GET / HTTP/1.1\r\n\r\n")[1] == RESPONSE_BODY
    assert get(client, "/echo?x=1")[1].startswith(b"{")
    assert client.statistics().created == 1


def test_chunked_request_body_is_read(client) -> None:
    response, body = get(client, "/echo", method="PUT", body=iter([b"one ", b"two", b" three"]))
    echo = json.loads(body)
    assert echo["body"] == "one two three"
    assert ["Transfer-Encoding", "chunked"] in echo["headers"]
    assert get(client, "/")[1] == RESPONSE_BODY
    assert client.statistics().created == 1


def test_echo_shows_the_request_head(client) -> None:
    _, body = get(client, "/echo?a=b", method="DELETE", headers={"X-Test": "yes", "X-Two": "2"})
    echo = json.loads(body)
    assert echo["method"] == "DELETE" and echo["path"] == "/echo?a=b"
    assert echo["version"] == "HTTP/1.1"
    assert ["X-Test", "yes"] in echo["headers"] and ["X-Two", "2"] in echo["headers"]
    assert echo["body"] == ""


def test_delay_waits_the_milliseconds_asked(client) -> None:
    t0 = time.monotonic()
    response, body = get(client, "/delay?ms=150")
    assert time.monotonic() - t0 >= 0.14
    assert body == RESPONSE_BODY


@pytest.mark.parametrize("status", [201, 204, 404, 503])
def test_status_route(client, status: int) -> None:
    response, body = get(client, f"/status/{status}")
    assert response.status_code == status
    assert body == (b"" if status == 204 else f"{status}\n".encode())
    assert get(client, "/")[1] == RESPONSE_BODY


def test_bad_numbers_and_unknown_paths(client) -> None:
    assert get(client, "/status/99")[0].status_code == 400
    assert get(client, "/status/abc")[0].status_code == 400
    assert get(client, "/delay?ms=x")[0].status_code == 400
    assert get(client, "/nothing")[0].status_code == 404
    assert get(client, "/")[1] == RESPONSE_BODY


def test_fail_breaks_the_response(client) -> None:
    for _ in range(2):
        with pytest.raises(HTTPError):
            get(client, "/fail")
    assert get(client, "/")[1] == RESPONSE_BODY  # on a new connection


def test_fail_every_k_fails_every_kth_and_is_not_retried(server, client) -> None:
    outcomes = []
    for _ in range(6):
        try:
            outcomes.append(get(client, "/fail?every=3")[1] == RESPONSE_BODY)
        except HTTPError:
            outcomes.append(False)
    assert outcomes == [True, True, False, True, True, False]
    assert server.requests == 6


def test_trickle_sends_the_body_in_pieces_over_time(client) -> None:
    t0 = time.monotonic()
    response = client.get("/trickle?bytes=1000&ms=200")
    assert int(response.headers["Content-Length"]) == 1000
    assert time.monotonic() - t0 < 0.15  # the head comes first
    first = response.read(100)  # the first of ten pieces, after 20 ms
    t_first = time.monotonic() - t0
    rest = response.read()
    assert time.monotonic() - t0 >= 0.18 > t_first
    assert first + rest == b"t" * 1000


def test_bytes_route_sends_n_bytes(client) -> None:
    for n in (0, 10, 65536, 300_001):
        response, body = get(client, f"/bytes/{n}")
        assert response.status_code == 200 and len(body) == n
        assert set(body) <= {ord("b")}
    assert client.statistics().created == 1


def test_redirect_route(client) -> None:
    response, _ = get(client, "/redirect?to=/status/201")
    assert response.status_code == 302 and response.headers["Location"] == "/status/201"
    response, _ = get(client, "/redirect?n=2&to=/echo")
    hop = response.headers["Location"]
    assert hop.startswith("/redirect?n=1&")
    hop = get(client, hop)[0].headers["Location"]
    assert hop.startswith("/redirect?n=0&")
    assert get(client, hop)[0].headers["Location"] == "/echo"


def test_gzip_route_compresses_only_when_asked(client) -> None:
    response, body = get(client, "/gzip", headers={"Accept-Encoding": "gzip, deflate"})
    assert response.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(body) == GZIP_TEXT
    response, body = get(client, "/gzip")
    assert "Content-Encoding" not in response.headers
    assert body == GZIP_TEXT


def test_connection_close_and_http10_close_after_the_response(server) -> None:
    with HTTPClient.from_url(server.url) as client:
        assert get(client, "/", headers={"Connection": "close"})[0].headers["Connection"] == "close"
        assert get(client, "/echo", headers={"Connection": "close"})[1].startswith(b"{")
        assert client.statistics().created == 2
    with HTTPClient.from_url(server.url, version="HTTP/1.0") as client:
        response, body = get(client, "/")
        assert body == RESPONSE_BODY and response.headers["Connection"] == "close"


def test_stall_holds_new_responses_once() -> None:
    with LocalServer(stall_at=0.3, stall_for=0.5) as server:
        with HTTPClient.from_url(server.url, network_timeout=5) as client:
            t0 = time.monotonic()
            assert get(client, "/")[1] == RESPONSE_BODY  # starts the clock
            gevent.sleep(max(0.0, 0.4 - (time.monotonic() - t0)))
            t1 = time.monotonic()
            get(client, "/")  # asked during the stall: answered at its end, t0 + 0.8
            assert time.monotonic() - t0 >= 0.75
            assert time.monotonic() - t1 >= 0.3
            # Once only: afterwards the answers come without the half-second wait.
            t2 = time.monotonic()
            get(client, "/")
            get(client, "/delay?ms=10")
            assert time.monotonic() - t2 < 0.4


def test_in_flight_response_is_held_by_the_stall() -> None:
    with LocalServer(stall_at=0.1, stall_for=0.4) as server:
        with HTTPClient.from_url(server.url, network_timeout=5) as client:
            t0 = time.monotonic()
            get(client, "/")  # the first request: stall from t0 + 0.1 to t0 + 0.5
            get(client, "/delay?ms=200")  # would be done at about t0 + 0.2
            assert time.monotonic() - t0 >= 0.45


def test_tls(server_ssl_context, ca_file) -> None:
    with LocalServer(tls=server_ssl_context) as server:
        assert server.url.startswith("https://127.0.0.1:")
        with HTTPClient.from_url(server.url, ssl_options={"ca_certs": ca_file}) as client:
            assert get(client, "/")[1] == RESPONSE_BODY
            echo = json.loads(get(client, "/echo", method="POST", body=b"over tls")[1])
            assert echo["body"] == "over tls"
            assert client.statistics().created == 1
