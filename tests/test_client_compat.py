"""HTTPClient's 2.x request side: ``_build_request``, multi-valued header fields,
request framing (chunked, Content-Length, HTTP/1.0), ``Expect: 100-continue``,
SNI from a ``Host`` header, and the exception types 2.x programs catch for a
certificate that fails verification and for a proxy that refuses CONNECT.

Each test runs its own scripted loopback server (conftest) and checks the bytes
that reached it: ``_build_request`` must show exactly the head that is sent.
"""

from __future__ import annotations

import io
import ssl
from typing import Any, List

import gevent.ssl
import pytest
from conftest import keep_alive

from geventhttpclient import HTTPClient
from geventhttpclient.exceptions import (
    ConnectError,
    HeaderInjectionError,
    InvalidURL,
    RequestError,
    TLSError,
)

TIMEOUT = 2.0


def ok(conn, req):
    conn.respond(200, b"ok")


def never_connects(**kw: Any) -> HTTPClient:
    return HTTPClient("localhost", port=1, **kw)


# -- _build_request -------------------------------------------------------------------


@pytest.mark.parametrize(
    "method, body, headers",
    [
        ("GET", b"", None),
        ("POST", b"payload", {"Content-Type": "text/plain"}),
        ("PUT", None, {"X-Multi": ["a", "b"]}),
        ("DELETE", b"", [("X-A", "1"), ("x-a", "2")]),
    ],
)
def test_build_request_shows_the_head_that_is_sent(server_factory, method, body, headers):
    server = server_factory(keep_alive(ok))
    client = HTTPClient("127.0.0.1", server.port)
    shown = client._build_request(method, "/p?q=1", body, headers)
    assert isinstance(shown, str)
    client.request(method, "/p?q=1", body=body, headers=headers).read()
    assert server.requests[0]["raw_head"] == shown.encode("latin-1")


def test_build_request_orders_fields_like_2x():
    client = never_connects(headers={"Accept": "*/*"})
    head = client._build_request("GET", "tp/", b"", {"X-Own": "1"})
    lines = head.split("\r\n")
    assert lines[0] == "GET /tp/ HTTP/1.1"
    assert lines[1].startswith("User-Agent: python/gevent-http-client-")
    assert lines[2:] == ["Accept: */*", "Host: localhost:1", "X-Own: 1", "", ""]


@pytest.mark.parametrize(
    "method, uri, headers",
    [
        ("GET\r\nX-Smuggled: 1", "/", None),
        ("GE T", "/", None),
        ("GET", "/a\r\nX-Smuggled: 1", None),
        ("GET", "/a b", None),
        ("GET", "/a\x00", None),
        ("GET", "/", {"X-Foo": "bar\r\nX-Evil: 1"}),
        ("GET", "/", {"X-Foo": "bar\rX-Evil: 1"}),
        ("GET", "/", {"X: Foo": "a"}),
        ("GET", "/", {"X-Multi": ["ok", "bad\nX-Evil: 1"]}),
    ],
)
def test_build_request_refuses_injection_like_request(method, uri, headers):
    client = never_connects()
    with pytest.raises(HeaderInjectionError) as info:
        client._build_request(method, uri, b"", headers)
    assert isinstance(info.value, ValueError)


def test_build_request_refuses_other_origins_and_protocol_relative_targets():
    client = never_connects()
    for uri in ("//other.example/p", "http://other.example/p"):
        with pytest.raises(InvalidURL):
            client._build_request("GET", uri)


def test_build_request_keeps_empty_and_tab_values():
    head = never_connects()._build_request("GET", "/", b"", {"X-Empty": "", "X-Tab": "a\tb"})
    assert "X-Empty: \r\n" in head
    assert "X-Tab: a\tb\r\n" in head


# -- header fields ------------------------------------------------------------------------


def test_list_and_tuple_values_are_one_field_line_each(echo_server):
    client = HTTPClient("127.0.0.1", echo_server.port, headers={"X-Default": ("d1", "d2")})
    client.get("/", headers={"X-Multi": ["a", "b"]}).read()
    raw = echo_server.requests[0]["raw_head"]
    assert b"X-Multi: a\r\nX-Multi: b\r\n" in raw
    assert b"X-Default: d1\r\nX-Default: d2\r\n" in raw
    assert b"[" not in raw and b"(" not in raw


def test_a_request_field_still_replaces_every_default_of_its_name(echo_server):
    client = HTTPClient("127.0.0.1", echo_server.port, headers={"Accept": ["a/b", "c/d"]})
    client.get("/", headers={"accept": "x/y"}).read()
    assert echo_server.requests[0]["headers"]["accept"] == ["x/y"]


def test_every_shape_of_headers_gives_the_same_field_lines():
    client = never_connects()

    def fields(headers):
        head = client._build_request("GET", "/", b"", headers)
        return [line for line in head.split("\r\n") if line.startswith("X-")]

    expected = ["X-A: 1", "X-A: 2", "X-B: b"]
    assert fields({"X-A": ["1", "2"], "X-B": "b"}) == expected
    assert fields({"X-A": ("1", "2"), "X-B": b"b"}) == expected
    assert fields([("X-A", "1"), ("X-A", "2"), ("X-B", "b")]) == expected
    assert fields([["X-A", ["1", "2"]], ["X-B", bytearray(b"b")]]) == expected
    assert fields(iter([("X-A", 1), ("X-A", ["2"]), ("X-B", "b")])) == expected  # one-shot


def test_the_field_cache_keeps_only_str_pairs_apart_from_look_alikes():
    client = never_connects()
    assert "X-Flag: 1\r\n" in client._build_request("GET", "/", b"", {"X-Flag": "1"})
    assert "X-Flag: True\r\n" in client._build_request("GET", "/", b"", {"X-Flag": True})
    assert "X-Flag: 1\r\n" in client._build_request("GET", "/", b"", {"X-Flag": 1})
    assert set(client._template.checked) == {("X-Flag", "1")}
    for i in range(1000):
        client._build_request("GET", "/", b"", {"X-N": str(i)})
    assert len(client._template.checked) <= 256
    with pytest.raises(HeaderInjectionError):  # a refused field is never remembered
        client._build_request("GET", "/", b"", {"X-Bad": "a\r\nb"})
    with pytest.raises(HeaderInjectionError):
        client._build_request("GET", "/", b"", {"X-Bad": "a\r\nb"})


# -- framing ------------------------------------------------------------------------------


def test_http_1_0_refuses_a_chunked_body_before_connecting(echo_server):
    client = HTTPClient("127.0.0.1", echo_server.port, version=HTTPClient.HTTP_10)
    with pytest.raises(RequestError):
        client.post("/", body=(b"chunk" for _ in range(3)))
    with pytest.raises(RequestError):
        client.post("/", body=b"abc", headers={"Transfer-Encoding": "chunked"})
    assert echo_server.connections == 0
    # a sized body is fine
    assert client.post("/", body=io.BytesIO(b"x" * 10), headers={"Content-Length": "10"}).read()


def test_chunked_drops_a_content_length_given_with_it(echo_server):
    client = HTTPClient("127.0.0.1", echo_server.port)
    headers = {"Transfer-Encoding": "chunked", "Content-Length": "10"}
    assert client.post("/", body=b"x" * 10, headers=headers).read().endswith(b"x" * 10)
    req = echo_server.requests[0]
    assert req["headers"]["transfer-encoding"] == ["chunked"]
    assert "content-length" not in req["headers"]
    assert req["body"] == b"x" * 10


def test_a_default_transfer_encoding_frames_bodies_and_identity_overrides_it(echo_server):
    client = HTTPClient("127.0.0.1", echo_server.port, headers={"Transfer-Encoding": "chunked"})
    client.post("/", body=b"data").read()
    client.post("/", body=b"data", headers={"Transfer-Encoding": "identity"}).read()
    chunked, identity = echo_server.requests
    assert chunked["headers"]["transfer-encoding"] == ["chunked"]
    assert "content-length" not in chunked["headers"]
    assert chunked["body"] == b"data"
    assert "transfer-encoding" not in identity["headers"]
    assert identity["headers"]["content-length"] == ["4"]
    assert identity["body"] == b"data"


def test_bodyless_requests_send_content_length_only_where_a_body_has_meaning():
    client = never_connects()
    for method in ("POST", "PUT", "PATCH"):
        for body in (None, b"", ""):
            assert "Content-Length: 0\r\n" in client._build_request(method, "/", body, {})
    for method in ("GET", "HEAD", "OPTIONS", "DELETE", "TRACE"):
        for body in (None, b"", ""):
            assert "Content-Length" not in client._build_request(method, "/", body, {})


def test_100_continue_and_final_response_together_still_send_the_body(server_factory):
    body = b"b" * 1000

    def handler(conn):
        req = conn.read_request()
        assert req["body"] is None  # nothing before our answer
        conn.send(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        assert conn.read_body(req["headers"]) == body
        conn.read_request()  # the connection stays usable
        conn.respond(200, b"again")

    server = server_factory(handler)
    client = HTTPClient("127.0.0.1", server.port, network_timeout=TIMEOUT)
    response = client.post("/", body=body, headers={"Expect": "100-continue"})
    assert response.status_code == 200
    assert response.read() == b"ok"
    assert client.get("/").read() == b"again"
    assert server.errors == []


# -- TLS --------------------------------------------------------------------------------


@pytest.fixture
def sni_server(server_factory, tls_ca):
    """A TLS server with a certificate for vhost.test only, recording the SNI names."""
    ctx = gevent.ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls_ca.issue_cert("vhost.test").configure_cert(ctx)
    names: List[Any] = []
    ctx.sni_callback = lambda sslobj, name, c: names.append(name)
    server = server_factory(keep_alive(ok), ssl_context=ctx)
    server.names = names
    return server


def tls_client(server, ca_file, **kw) -> HTTPClient:
    kw.setdefault("ssl_options", {"ca_certs": ca_file})
    return HTTPClient("127.0.0.1", server.port, ssl=True, connection_timeout=TIMEOUT, **kw)


@pytest.mark.parametrize("host", ["vhost.test", "VHOST.test:8443"])
@pytest.mark.parametrize("name", ["Host", "host"])
def test_host_header_with_a_context_factory_names_the_tls_server(sni_server, ca_file, name, host):
    client = tls_client(
        sni_server,
        ca_file,
        headers={name: host},
        ssl_context_factory=gevent.ssl.create_default_context,
    )
    assert client.get("/").read() == b"ok"
    assert [n.lower() for n in sni_server.names] == ["vhost.test"]
    assert sni_server.requests[0]["headers"]["host"] == [host]


def test_server_hostname_option_wins_over_the_host_header(sni_server, ca_file):
    client = tls_client(
        sni_server,
        ca_file,
        headers={"Host": "other.test"},
        ssl_options={"ca_certs": ca_file, "server_hostname": "vhost.test"},
        ssl_context_factory=gevent.ssl.create_default_context,
    )
    assert client.get("/").read() == b"ok"
    assert sni_server.names == ["vhost.test"]


def test_host_header_without_a_factory_leaves_tls_to_the_host(sni_server, ca_file):
    """As in 2.x: only a custom factory makes the Host field name the TLS server."""
    client = tls_client(sni_server, ca_file, headers={"Host": "vhost.test"})
    with pytest.raises(TLSError):
        client.get("/")


def test_failed_verification_carries_openssls_verify_message(sni_server):
    client = HTTPClient("127.0.0.1", sni_server.port, ssl=True, connection_timeout=TIMEOUT)
    with pytest.raises(TLSError) as info:
        client.get("/")
    exc = info.value
    assert exc.reason == "CERTIFICATE_VERIFY_FAILED"
    assert "CERTIFICATE_VERIFY_FAILED" in str(exc)
    assert exc.verify_message == "unable to get local issuer certificate"
    assert exc.verify_code == 20


def test_failed_verification_is_the_stdlib_certificate_error(sni_server, ca_file):
    for kw in ({}, {"ssl_options": {"ca_certs": ca_file, "server_hostname": "wrong.test"}}):
        client = HTTPClient(
            "127.0.0.1", sni_server.port, ssl=True, connection_timeout=TIMEOUT, **kw
        )
        with pytest.raises(ssl.CertificateError) as info:
            client.get("/")
        assert isinstance(info.value, TLSError)
        assert isinstance(info.value, OSError)


# -- proxies ------------------------------------------------------------------------------


def refusing_proxy(conn):
    conn.read_request()
    conn.send(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n")


def test_a_refused_connect_is_a_runtime_error_like_2x(server_factory):
    proxy = server_factory(refusing_proxy)
    client = HTTPClient(
        "localhost",
        443,
        ssl=True,
        proxy_host="127.0.0.1",
        proxy_port=proxy.port,
        proxy_user="user",
        proxy_password="wrong",
        connection_timeout=TIMEOUT,
    )
    with pytest.raises(RuntimeError, match="407") as info:
        client.get("/")
    assert isinstance(info.value, ConnectError)


@pytest.mark.parametrize(
    "headers",
    [
        {"Host": ["a.example", "b.example"]},
        [("Host", "a.example"), ("host", "b.example")],
        {"Content-Length": ["5", "10"]},
        [("Content-Length", "10"), ("content-length", "10")],
        {"Transfer-Encoding": ["chunked", "chunked"]},
    ],
)
def test_host_and_framing_fields_are_refused_when_repeated(headers):
    """Two Host lines route a request two ways, two framing lines frame its body two
    ways (request smuggling): refused before any byte is sent, however given."""
    client = HTTPClient("127.0.0.1", port=1)  # never connects: refused first
    with pytest.raises(HeaderInjectionError):
        client.request("POST", "/", body=b"0123456789", headers=headers)
    with pytest.raises(HeaderInjectionError):
        client._build_request("POST", "/", b"0123456789", headers)


def test_repeated_host_in_client_defaults_is_refused():
    with pytest.raises(HeaderInjectionError):
        HTTPClient("127.0.0.1", port=1, headers={"Host": ["a.example", "b.example"]})


def test_nested_list_header_values_are_refused():
    client = HTTPClient("127.0.0.1", port=1)
    with pytest.raises(RequestError):
        client._build_request("GET", "/", "", {"X": [["a\r\nE: 1"]]})


def test_other_repeated_fields_still_go_out_as_lines():
    client = HTTPClient("127.0.0.1", port=1)
    head = client._build_request("GET", "/", "", [("Accept", "a"), ("accept", "b")])
    assert "Accept: a\r\naccept: b\r\n" in head
