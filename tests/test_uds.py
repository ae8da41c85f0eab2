"""Unix domain sockets: ``HTTPClient(uds=...)``, ``http+unix://`` URLs, the
requests-style ``Session(uds=...)``: pooled and kept alive like TCP, the Host field
configurable, failures as clear errors.

The servers are scripted gevent servers listening on a socket file in the test's
temporary directory (the Docker API and sidecars listen like this).
"""

from __future__ import annotations

import json
import os
import socket
import urllib.parse

import gevent
import gevent.event
import pytest
from conftest import ScriptedServer, echo_json, keep_alive

from geventhttpclient import HTTPClient, Session, UserAgent
from geventhttpclient.exceptions import (
    ConnectError,
    ConnectionRefused,
    HTTPParseError,
    InvalidURL,
    ReadTimeout,
)
from geventhttpclient.url import URL


@pytest.fixture
def sock_path(tmp_path) -> str:
    # AF_UNIX paths are limited to about 107 bytes: pytest's tmp_path may be longer
    path = str(tmp_path / "api.sock")
    if len(path) > 100:
        pytest.skip("temporary directory path too long for a Unix socket")
    return path


@pytest.fixture
def uds_server(sock_path):
    server = ScriptedServer(keep_alive(echo_json), uds=sock_path)
    yield server
    server.stop()


def test_uds_argument_sends_requests_over_the_socket_with_host_localhost(uds_server):
    with HTTPClient("localhost", uds=uds_server.host) as client:
        response = client.get("/v1.43/info?x=1")
        seen = json.loads(response.read())
    assert response.status_code == 200
    assert seen["target"] == "/v1.43/info?x=1"
    assert seen["headers"]["host"] == ["localhost"]


def test_http_unix_url_names_the_socket_by_its_percent_encoded_path(uds_server):
    url = f"http+unix://{urllib.parse.quote(uds_server.host, safe='')}/v1.43/info"
    assert URL(url).host == urllib.parse.quote(uds_server.host, safe="")  # case kept
    with HTTPClient.from_url(url) as client:
        seen = json.loads(client.get(URL(url).request_uri).read())
    assert seen["target"] == "/v1.43/info"
    assert seen["headers"]["host"] == ["localhost"]


def test_host_field_is_configurable(uds_server):
    with HTTPClient("localhost", uds=uds_server.host, headers={"Host": "docker"}) as client:
        seen = json.loads(client.get("/").read())
    assert seen["headers"]["host"] == ["docker"]
    with HTTPClient("api.moby.localhost", uds=uds_server.host) as client:
        seen = json.loads(client.get("/").read())
    assert seen["headers"]["host"] == ["api.moby.localhost"]


def test_connections_are_pooled_and_kept_alive(uds_server):
    with HTTPClient("localhost", uds=uds_server.host, concurrency=3) as client:

        def fetch(i: int) -> str:
            return json.loads(client.get(f"/{i}").read())["target"]

        jobs = [gevent.spawn(fetch, i) for i in range(30)]
        gevent.joinall(jobs, raise_error=True)
        assert sorted(j.value for j in jobs) == sorted(f"/{i}" for i in range(30))
        stats = client.statistics()
    assert 1 <= uds_server.connections <= 3
    assert stats.created <= 3 and stats.reused >= 27


def test_post_body_and_file_body_go_over_the_socket(uds_server, tmp_path):
    data = tmp_path / "body.bin"
    data.write_bytes(b"f" * 200_000)
    with HTTPClient("localhost", uds=uds_server.host) as client:
        seen = json.loads(client.post("/p", body=b"payload").read())
        assert seen["body"] == "payload"
        with open(data, "rb") as f:
            seen = json.loads(client.post("/f", body=f).read())
        assert len(seen["body"]) == 200_000


def test_timings_of_a_uds_connection(uds_server):
    with HTTPClient("localhost", uds=uds_server.host) as client:
        first = client.get("/")
        first.read()
        second = client.get("/")
        second.read()
    assert first.timings.dns is None  # nothing to resolve
    assert first.timings.connect is not None and not first.timings.reused
    assert second.timings.reused


def test_missing_socket_file_is_a_connect_error_naming_it(tmp_path):
    path = str(tmp_path / "nobody.sock")
    with HTTPClient("localhost", uds=path) as client:
        with pytest.raises(ConnectError) as info:
            client.get("/")
    assert path in str(info.value)


def test_socket_nobody_listens_on_is_connection_refused(sock_path):
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(sock_path)
    listener.close()  # the file stays, nothing accepts
    assert os.path.exists(sock_path)
    with HTTPClient("localhost", uds=sock_path) as client:
        with pytest.raises(ConnectionRefused):
            client.get("/")


def test_uds_and_a_proxy_are_refused_together(sock_path):
    with pytest.raises(ValueError):
        HTTPClient("localhost", uds=sock_path, proxy="http://127.0.0.1:3128")


def test_other_unix_like_schemes_are_refused():
    with pytest.raises(InvalidURL):
        HTTPClient.from_url("ftp+unix://%2Ftmp%2Fx.sock/")


def test_https_over_uds_verifies_the_host_name(sock_path, server_ssl_context, ca_file):
    server = ScriptedServer(keep_alive(echo_json), ssl_context=server_ssl_context, uds=sock_path)
    try:
        url = f"https+unix://{urllib.parse.quote(sock_path, safe='')}/"
        client = HTTPClient.from_url(
            url, ssl_options={"ca_certs": ca_file, "server_hostname": "localhost"}
        )
        with client:
            seen = json.loads(client.get("/tls").read())
        assert seen["target"] == "/tls"
    finally:
        server.stop()


def test_session_with_uds_sends_every_request_over_the_socket(uds_server):
    with Session(uds=uds_server.host) as session:
        response = session.get("http://localhost/containers/json", params={"all": "1"})
        response.raise_for_status()
        assert response.json()["target"] == "/containers/json?all=1"
        assert response.json()["headers"]


def test_a_server_that_stalls_is_a_read_timeout(sock_path):
    stalled = gevent.event.Event()

    def stall(conn):
        conn.read_request()
        stalled.wait(5)  # never answers (set when the test ends)

    server = ScriptedServer(stall, uds=sock_path)
    try:
        with HTTPClient("localhost", uds=sock_path, network_timeout=0.2) as client:
            with pytest.raises(ReadTimeout):
                client.get("/")
    finally:
        stalled.set()
        server.stop()


def test_a_malformed_response_is_a_parse_error_and_the_connection_is_not_reused(sock_path):
    def garbage(conn):
        conn.read_request()
        conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: nope\r\n\r\nbody")

    server = ScriptedServer(garbage, uds=sock_path)
    try:
        with HTTPClient("localhost", uds=sock_path) as client:
            with pytest.raises(HTTPParseError):
                client.get("/")
            assert client.statistics().idle == 0
    finally:
        server.stop()


def test_http_unix_urls_on_the_requests_style_api_and_the_agent(uds_server, monkeypatch):
    """``http+unix://`` URLs as requests-unixsocket writes them, on the faces that
    take whole URLs: the socket's path percent-encoded as the host, ``Host:
    localhost``, no proxy from the environment."""
    monkeypatch.setenv("ALL_PROXY", "socks5h://127.0.0.1:9")  # must not be used
    url = uds_server.base + "/info?x=1"
    with Session() as session:
        seen = session.get(url).json()
        assert seen["target"] == "/info?x=1"
        assert seen["headers"]["host"] == ["localhost"]
        assert session.get(uds_server.base + "/again").json()["target"] == "/again"
    with UserAgent() as agent:
        seen = json.loads(agent.urlopen(url).content)
        assert seen["target"] == "/info?x=1"
    assert uds_server.connections == 2  # the session's two requests shared one


def test_https_unix_url_on_the_requests_style_api(sock_path, server_ssl_context, ca_file):
    server = ScriptedServer(keep_alive(echo_json), ssl_context=server_ssl_context, uds=sock_path)
    try:
        with Session() as session:
            seen = session.get(server.base + "/tls", verify=ca_file).json()
        assert seen["target"] == "/tls"
    finally:
        server.stop()
