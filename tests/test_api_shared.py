"""The module functions (``geventhttpclient.get()`` & co.): connections are shared
between calls, per OS thread, and nothing else is: cookies, credentials, headers
and TLS settings of one call never reach another."""

from __future__ import annotations

import gc
import http.server
import os
import socketserver
import subprocess
import sys
import textwrap
import threading

import gevent
import gevent.event
import pytest
from conftest import basic, keep_alive, wait_until
from conftest import echo_json as echo
from test_lifecycle import in_child

from geventhttpclient import api


@pytest.fixture(autouse=True)
def close_module_connections(server_factory):
    """Each test starts without shared connections, and leaves none to its servers."""
    api._close_shared()
    yield
    api._close_shared()


@pytest.fixture
def echo_json(server_factory):
    return server_factory(keep_alive(echo))


class _Numbered(http.server.BaseHTTPRequestHandler):
    """Keep-alive; the body is the index of the connection the request came on."""

    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        with self.server.lock:  # type: ignore[attr-defined]
            self.index = self.server.accepted  # type: ignore[attr-defined]
            self.server.accepted += 1  # type: ignore[attr-defined]

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        body = str(self.index).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def thread_server():
    """A stdlib server in OS threads: it serves while the test's hub waits for
    another thread, a forked child or a subprocess."""
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Numbered)
    server.daemon_threads = True
    server.lock = threading.Lock()  # type: ignore[attr-defined]
    server.accepted = 0  # type: ignore[attr-defined]
    t = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    t.daemon = True
    t.start()
    yield server
    server.shutdown()
    server.server_close()


def numbered(server, path="/"):
    return f"http://127.0.0.1:{server.server_address[1]}{path}"


# -- connections are shared -------------------------------------------------------------


def test_module_calls_reuse_one_keep_alive_connection(echo_json):
    for verb in (api.get, api.post, api.put, api.delete, api.options, api.patch):
        assert verb(echo_json.base + "/").status_code == 200
    assert echo_json.connections == 1 and len(echo_json.requests) == 6


def test_calls_with_other_tls_settings_never_share_a_connection(
    server_factory, server_ssl_context, ca_file
):
    server = server_factory(keep_alive(echo), ssl_context=server_ssl_context)
    url = f"https://localhost:{server.port}/"
    assert api.get(url, verify=False).ok
    assert api.get(url, verify=ca_file).ok  # not on the verify=False connection
    assert server.connections == 2
    assert api.get(url, verify=False).ok and api.get(url, verify=ca_file).ok
    assert server.connections == 2


def test_a_call_beyond_the_pool_size_does_not_wait(server_factory, monkeypatch):
    """With every shared connection held by a streamed response, a call gets one of
    its own (closed when its response ends) rather than wait for one."""
    gate = gevent.event.Event()

    def respond(conn, req):
        if req["target"] == "/held":
            conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nhe")
            gate.wait(5)
            conn.send(b"ld")
        else:
            conn.respond(200, req["target"].encode())

    monkeypatch.setattr(api, "SHARED_CONCURRENCY", 1)
    api._close_shared()  # the next call makes a session with the new size
    server = server_factory(keep_alive(respond))
    held = api.get(server.base + "/held", stream=True)
    assert api.get(server.base + "/extra").content == b"/extra"
    assert wait_until(lambda: server.open_connections == 1)  # the extra one closed
    gate.set()
    assert held.content == b"held"  # read to the end: its connection goes back
    assert api.get(server.base + "/after").content == b"/after"
    assert server.connections == 2


# -- nothing else is --------------------------------------------------------------------


def test_cookies_a_call_receives_are_not_sent_by_the_next(server_factory):
    def respond(conn, req):
        if req["target"] == "/login":
            conn.respond(302, b"", [("Location", "/home"), ("Set-Cookie", "sid=1; Path=/")])
        else:
            conn.respond(200, req["headers"].get("cookie", ["-"])[0].encode())

    server = server_factory(keep_alive(respond))
    r = api.get(server.base + "/login")
    assert r.content == b"sid=1"  # kept for the call's own redirect, as requests does
    assert r.history[0].cookies["sid"] == "1"
    assert api.get(server.base + "/home").content == b"-"
    assert server.connections == 1


def test_credentials_and_headers_of_a_call_do_not_reach_the_next(echo_json):
    got = api.get(echo_json.base + "/", auth=("u", "p"), headers={"X-Me": "1"}).json()
    assert got["headers"]["authorization"] == [basic("u", "p")]
    assert got["headers"]["x-me"] == ["1"]
    userinfo = echo_json.base.replace("http://", "http://v:q@")
    assert api.get(userinfo + "/").json()["headers"]["authorization"] == [basic("v", "q")]
    got = api.get(echo_json.base + "/", cookies={"c": "1"}).json()
    assert got["headers"]["cookie"] == ["c=1"]
    plain = api.get(echo_json.base + "/").json()["headers"]
    assert not {"authorization", "x-me", "cookie"} & set(plain)
    assert echo_json.connections == 1


def test_an_environment_proxy_set_between_calls_takes_effect(
    echo_json, server_factory, monkeypatch
):
    def proxy_answers(conn, req):
        conn.respond(200, req["target"].encode())

    proxy = server_factory(keep_alive(proxy_answers))
    for scheme in ("http", "all", "no"):
        monkeypatch.delenv(f"{scheme}_proxy", raising=False)
        monkeypatch.delenv(f"{scheme.upper()}_PROXY", raising=False)
    assert api.get(echo_json.base + "/a").json()["target"] == "/a"
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
    assert api.get(echo_json.base + "/b").content == (echo_json.base + "/b").encode()
    monkeypatch.delenv("HTTP_PROXY")
    assert api.get(echo_json.base + "/c").json()["target"] == "/c"
    assert echo_json.connections == 1 and proxy.connections == 1


# -- threads, fork, exit ------------------------------------------------------------------


def test_each_os_thread_has_its_own_connections(thread_server):
    url = numbered(thread_server)
    assert api.get(url).content == b"0"
    box = []
    worker = threading.Thread(target=lambda: box.append([api.get(url).text for _ in range(2)]))
    worker.start()
    assert wait_until(lambda: not worker.is_alive(), timeout=10)
    assert box == [["1", "1"]]  # not the main thread's connection, and kept alive
    assert api.get(url).content == b"0"
    assert thread_server.accepted == 2


def test_the_sessions_of_ended_threads_are_closed_when_another_thread_starts(thread_server):
    url = numbered(thread_server)
    for _ in range(2):
        worker = threading.Thread(target=lambda: api.get(url))
        worker.start()
        assert wait_until(lambda: not worker.is_alive(), timeout=10)  # noqa: B023
        gc.collect()  # PyPy: the ended thread's mark goes with a collection
    assert len(api._registry) == 1  # the second thread's; the first one's was closed
    assert api.get(url).content == b"2"
    assert len(api._registry) == 1  # the main thread's: both threads have ended


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork() here")
@pytest.mark.hub_block_limit(5)
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_a_forked_child_opens_its_own_connection(thread_server):
    url = numbered(thread_server)
    assert api.get(url).content == b"0"
    report = in_child(lambda: {"bodies": [api.get(url).text for _ in range(2)]})
    assert report == {"bodies": ["1", "1"]}  # its own connection, kept alive
    assert api.get(url).content == b"0"  # the parent's is untouched


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts sockets in /proc")
@pytest.mark.hub_block_limit(30)
def test_connections_are_closed_at_exit_without_resource_warnings(thread_server):
    """A handler registered before the import runs after the library's own: by
    then the shared connections, the streamed response's included, are closed."""
    script = textwrap.dedent(
        f"""
        import atexit, os

        def sockets():
            fds = os.listdir("/proc/self/fd")
            return sum(os.readlink(f"/proc/self/fd/{{fd}}").startswith("socket:")
                       for fd in fds if os.path.exists(f"/proc/self/fd/{{fd}}"))

        before = sockets()
        atexit.register(lambda: print("sockets left at exit:", sockets() - before))
        import geventhttpclient
        for _ in range(2):
            assert geventhttpclient.get({numbered(thread_server)!r}).text == "0"
        r = geventhttpclient.get({numbered(thread_server)!r}, stream=True)
        assert sockets() - before == 1
        """
    )
    done = gevent.get_hub().threadpool.spawn(
        subprocess.run,
        [sys.executable, "-X", "dev", "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
    )
    result = done.get()
    assert result.returncode == 0, result.stderr
    assert "sockets left at exit: 0" in result.stdout, result.stdout
    assert "ResourceWarning" not in result.stderr
    assert thread_server.accepted == 1  # one connection for the three calls
