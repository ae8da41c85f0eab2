"""geventhttpclient.httplib2: the real httplib2 on our connections, shared by greenlets.

httplib2 opens blocking sockets of its own unless gevent's monkey patching is in
force, and this suite does not monkey patch: the request tests here talk to a server
in a real thread (a gevent server in this process could not answer a blocking
client), and the test of concurrency runs a monkey-patched script in a subprocess.
``ClientPool`` is tested with fake clients.
"""

from __future__ import annotations

import http.client
import http.server
import importlib
import importlib.util
import ssl
import sys
import textwrap
import threading
import types
from typing import Any, Iterator, List, Optional, Tuple

import gevent
import gevent.subprocess
import pytest

import geventhttpclient
import geventhttpclient.httplib

HAVE_HTTPLIB2 = importlib.util.find_spec("httplib2") is not None
needs_httplib2 = pytest.mark.skipif(not HAVE_HTTPLIB2, reason="httplib2 is not installed")
unpatched = pytest.mark.filterwarnings("ignore:geventhttpclient.httplib2.Http without")

if HAVE_HTTPLIB2:
    # Ours first: importing it imports httplib2 with http.client patched.
    from geventhttpclient import httplib2 as ghttplib2

    httplib2 = ghttplib2.httplib2


# -- without httplib2 ---------------------------------------------------------------------


def reimport_ours(monkeypatch) -> Any:
    """Import geventhttpclient.httplib2 afresh; the test's end restores the old one."""
    monkeypatch.delitem(sys.modules, "geventhttpclient.httplib2", raising=False)
    monkeypatch.delattr(geventhttpclient, "httplib2", raising=False)
    return importlib.import_module("geventhttpclient.httplib2")


def test_importing_without_httplib2_names_the_missing_package(monkeypatch):
    monkeypatch.setitem(sys.modules, "httplib2", None)  # what an absent package looks like
    with pytest.raises(ModuleNotFoundError, match="pip install httplib2") as info:
        reimport_ours(monkeypatch)
    assert info.value.name == "httplib2"
    assert isinstance(info.value, ImportError)


# -- ClientPool, with fake clients ----------------------------------------------------------


class FakeClient:
    def __init__(self, made: List[FakeClient]) -> None:
        self.closed = False
        self.users = 0
        made.append(self)

    def close(self) -> None:
        self.closed = True


def fake_pool(concurrency: int) -> Tuple[Any, List[FakeClient]]:
    from geventhttpclient.httplib2 import ClientPool

    made: List[FakeClient] = []
    return ClientPool(lambda: FakeClient(made), concurrency=concurrency), made


@needs_httplib2
def test_pool_lends_each_client_to_one_greenlet_at_a_time():
    pool, made = fake_pool(2)
    assert len(made) == 1  # the first at once: a factory that fails, fails early
    busy = [0, 0]  # now, most

    def use() -> None:
        with pool.get() as client:
            client.users += 1
            busy[0] += 1
            busy[1] = max(busy)
            assert client.users == 1, "lent to two greenlets at once"
            gevent.sleep(0.01)
            client.users -= 1
            busy[0] -= 1

    gevent.joinall([gevent.spawn(use) for _ in range(6)], raise_error=True)
    assert busy[1] == 2
    assert len(made) == 2
    assert repr(pool) == "<ClientPool 2 idle, 0 lent, concurrency 2>"


@needs_httplib2
def test_pool_reuses_the_client_returned_last():
    pool, made = fake_pool(3)
    with pool.get() as a:
        with pool.get() as b:
            pass
    with pool.get() as again:
        assert again is a  # returned last: its connections are the warm ones
    assert b in made and len(made) == 2


@needs_httplib2
def test_a_client_whose_use_failed_is_closed_and_replaced():
    pool, made = fake_pool(1)
    with pytest.raises(OSError):
        with pool.get() as broken:
            raise OSError("reset half way through a response")
    assert broken.closed
    with pool.get() as fresh:
        assert fresh is not broken and not fresh.closed


@needs_httplib2
def test_a_killed_greenlet_gives_its_slot_back():
    pool, made = fake_pool(1)

    def hold() -> None:
        with pool.get():
            gevent.sleep(10)

    g = gevent.spawn(hold)
    gevent.sleep(0)
    g.kill()
    with gevent.Timeout(1):
        with pool.get() as client:
            assert client is not made[0] and made[0].closed


@needs_httplib2
def test_close_closes_idle_clients_now_and_lent_ones_when_they_come_back():
    pool, made = fake_pool(2)
    with pool.get() as lent:
        with pool.get() as idle:
            pass
        with gevent.Timeout(1):  # 2.x iterated its queue here and never returned
            pool.close()
        assert idle.closed and not lent.closed
    assert lent.closed
    with pool.get() as client:  # still usable, as httplib2.Http is after close()
        assert not client.closed and client not in (lent, idle)


@needs_httplib2
def test_concurrency_below_one_is_refused():
    with pytest.raises(ValueError, match="at least 1"):
        fake_pool(0)


# -- the binding ------------------------------------------------------------------------------


def test_httplib2_imported_first_is_left_alone_with_a_warning(monkeypatch):
    early = types.ModuleType("httplib2")  # an httplib2 whose classes are http.client's

    class HTTPConnectionWithTimeout(http.client.HTTPConnection):
        pass

    early.HTTPConnectionWithTimeout = HTTPConnectionWithTimeout  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "httplib2", early)
    with pytest.warns(RuntimeWarning, match="imported before geventhttpclient.httplib2"):
        ours = reimport_ours(monkeypatch)
    assert ours.httplib2 is early
    assert HTTPConnectionWithTimeout.__bases__ == (http.client.HTTPConnection,)


@needs_httplib2
def test_httplib2_runs_on_our_connection_classes():
    assert issubclass(httplib2.HTTPConnectionWithTimeout, geventhttpclient.httplib.HTTPConnection)
    assert issubclass(httplib2.HTTPSConnectionWithTimeout, geventhttpclient.httplib.HTTPSConnection)
    assert ghttplib2.httplib2 is sys.modules["httplib2"]
    # http.client was patched for the import only
    assert http.client.HTTPConnection.__module__ == "http.client"


@needs_httplib2
def test_http_warns_without_monkey_patching():
    with pytest.warns(RuntimeWarning, match="monkey"):
        ghttplib2.Http()


@needs_httplib2
@unpatched
def test_configuration_belongs_in_the_constructor():
    client = ghttplib2.Http(timeout=7, concurrency=3)
    assert (client.concurrency, client.pool.concurrency) == (3, 3)
    with client.pool.get() as pooled:  # httplib2's, made with our arguments
        assert isinstance(pooled, httplib2.Http) and pooled.timeout == 7
    assert not hasattr(client, "add_credentials")
    assert not hasattr(client, "follow_redirects")
    with pytest.raises(TypeError):
        ghttplib2.Http(no_such_option=1)  # made at once, so it fails here


# -- requests, against a server in a thread -------------------------------------------------


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, status: int, body: bytes, *headers: Tuple[str, str]) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path == "/redirect":
            self._send(302, b"", ("Location", "/target"))
        elif self.path == "/missing":
            self._send(404, b"gone", ("Content-Type", "text/plain"))
        elif self.path == "/cookies":
            self._send(200, b"", ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"))
        else:
            self._send(200, b"body of " + self.path.encode(), ("Content-Type", "text/plain"))

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self._send(200, body + b" " + self.headers["X-Custom"].encode())


def serve_in_a_thread(context: Optional[ssl.SSLContext] = None) -> Iterator[str]:
    """Serve Handler from a real thread until the generator is closed; yields the base URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    scheme = "https" if context is not None else "http"
    try:
        yield f"{scheme}://localhost:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def thread_server() -> Iterator[str]:
    yield from serve_in_a_thread()


@pytest.fixture
def tls_thread_server(tls_cert) -> Iterator[str]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)  # the stdlib's: it runs in a thread
    tls_cert.configure_cert(context)
    yield from serve_in_a_thread(context)


@needs_httplib2
@unpatched
def test_requests_come_back_as_plain_httplib2_gives_them(thread_server):
    base = thread_server
    for client in (httplib2.Http(), ghttplib2.Http()):
        response, content = client.request(base + "/some/path")
        assert isinstance(response, httplib2.Response)
        assert (response.status, response["status"], response.fromcache) == (200, "200", False)
        assert response["content-type"] == "text/plain"
        assert content == b"body of /some/path"

        response, content = client.request(base + "/missing")
        assert (response.status, content) == (404, b"gone")

        response, content = client.request(base + "/redirect")
        assert (response.status, content) == (200, b"body of /target")
        assert response.previous.status == 302

        response, _ = client.request(base + "/cookies")
        assert response["set-cookie"] == "a=1, b=2"

        response, content = client.request(
            base + "/upload", method="POST", body=b"payload", headers={"X-Custom": "present"}
        )
        assert content == b"payload present"
        client.close()


@needs_httplib2
@unpatched
def test_https_requests_verify_the_certificate(tls_thread_server, ca_file):
    trusting = ghttplib2.Http(ca_certs=ca_file)
    response, content = trusting.request(tls_thread_server + "/secure")
    assert (response.status, content) == (200, b"body of /secure")
    trusting.close()
    with pytest.raises(ssl.SSLCertVerificationError):
        ghttplib2.Http().request(tls_thread_server + "/secure")


# -- concurrency, monkey patched --------------------------------------------------------------

CONCURRENT_SCRIPT = textwrap.dedent(
    """
    import gevent.monkey
    gevent.monkey.patch_all()

    import time
    import warnings

    warnings.simplefilter("error")  # no warning about monkey patching here

    import gevent
    import gevent.pywsgi

    from geventhttpclient import httplib2

    def slow(env, start_response):
        gevent.sleep(0.3)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"body of " + env["PATH_INFO"].encode()]

    server = gevent.pywsgi.WSGIServer(("127.0.0.1", 0), slow, log=None)
    server.start()
    base = "http://127.0.0.1:%d" % server.server_port
    client = httplib2.Http(concurrency=3)
    started = time.monotonic()
    jobs = [gevent.spawn(client.request, base + p) for p in ("/one", "/two", "/three")]
    gevent.joinall(jobs, raise_error=True)
    took = time.monotonic() - started
    assert [j.value[1] for j in jobs] == [b"body of /one", b"body of /two", b"body of /three"]
    assert took < 0.8, "requests were serialised (%.2fs)" % took
    print("ok", repr(client.pool))
    """
)


@needs_httplib2
# gevent's resolver threads exist in this process; the child execs at once.
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded")
def test_pooled_requests_run_concurrently_under_monkey_patching():
    out = gevent.subprocess.run(
        [sys.executable, "-c", CONCURRENT_SCRIPT],
        stdout=gevent.subprocess.PIPE,
        stderr=gevent.subprocess.STDOUT,
        timeout=60,
    )
    assert out.returncode == 0, out.stdout.decode()
    assert out.stdout.decode().split(None, 1) == [
        "ok",
        "<ClientPool 3 idle, 0 lent, concurrency 3>\n",
    ]
