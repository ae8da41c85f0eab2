"""A client's life: close() with requests in flight, Connection: close, threads, fork.

``close()`` means "stop now" on every face: whatever a request is doing (connecting,
sending, waiting for the head, streaming the body) it ends within well under 100 ms
with ``ClientClosed``, its socket closed; a request waiting for a connection, or made
later, gets ``PoolClosed``. ``close(wait=...)`` is the graceful variant. A request
that asks to close its connection never leaves it in the pool. A client belongs to
the OS thread that first used it; after ``fork()`` the child never touches the
parent's sockets.
"""

from __future__ import annotations

import http.server
import json
import os
import socketserver
import threading
import time

import gevent
import gevent.event
import gevent.pool
import pytest
from conftest import open_fds, wait_until
from faultserver import (
    Expect,
    FaultServer,
    Loop,
    ReadBytes,
    Respond,
    Send,
    Serve,
    Signal,
    Stall,
)

from geventhttpclient import HTTPClient, HTTPClientPool, Session, UserAgent, api, httplib
from geventhttpclient import httpx as ghttpx
from geventhttpclient.exceptions import ClientClosed, HTTPError, PoolClosed, WrongThread

PROMPT = 0.1  # seconds: "ends promptly", against network_timeout=5 below
OK = b"HTTP/1.1 200 OK\r\n"


@pytest.fixture
def servers():
    made = []

    def make(*args, **kw):
        s = FaultServer(*args, **kw)
        made.append(s)
        return s

    yield make
    for s in made:
        s.stop()


def settled_fds():
    """Open descriptors once pending closes ran (gevent closes a socket with
    watchers from the hub's next loop iteration)."""
    for _ in range(3):
        gevent.sleep(0)
    return open_fds()


def stalled(gate, reached=None):
    """A keep-alive server that reads each request and answers only once ``gate``
    is set (``reached`` is set when a request has arrived)."""
    steps = [Expect()]
    if reached is not None:
        steps.append(Signal(reached))
    return Loop(lambda c: [*steps, Stall(gate), Respond()])


def outcome(fn, *args, **kw):
    """Run ``fn`` and return (result or exception, seconds it took)."""
    t0 = time.monotonic()
    try:
        result = fn(*args, **kw)
    except HTTPError as exc:
        result = exc
    return result, time.monotonic() - t0


# -- close() with requests in flight ----------------------------------------------------


def test_close_aborts_requests_in_flight_at_once_and_fails_the_waiters(servers):
    fds = settled_fds()
    gate = gevent.event.Event()
    server = servers([stalled(gate)])
    http = HTTPClient("127.0.0.1", server.port, concurrency=5, network_timeout=5)
    results = {}
    ended = {}

    def one(rid):
        try:
            results[rid] = http.get(f"/{rid}", headers={"X-Id": str(rid)}).read()
        except HTTPError as exc:
            results[rid] = exc
        ended[rid] = time.monotonic()

    group = gevent.pool.Group()
    for rid in range(8):  # 5 in flight, 3 waiting for a connection
        group.spawn(one, rid)
    assert wait_until(lambda: len(server.requests) == 5)
    assert http.statistics().waiting == 3
    closed_at = time.monotonic()
    http.close()
    with gevent.Timeout(2):
        group.join()
    kinds = sorted(type(v).__name__ for v in results.values())
    assert kinds == ["ClientClosed"] * 5 + ["PoolClosed"] * 3, results
    assert max(ended.values()) - closed_at < PROMPT
    aborted = [v for v in results.values() if isinstance(v, ClientClosed)]
    assert all(isinstance(e, PoolClosed) and isinstance(e, OSError) for e in aborted)
    assert "closed" in str(aborted[0])
    s = http.statistics()
    assert s.closed and s.connections == 0 and s.idle == 0 and s.active == 0, s
    with pytest.raises(PoolClosed) as info:
        http.get("/late")
    assert not isinstance(info.value, ClientClosed)  # nothing was in flight
    gate.set()  # the server's ends find out the client closed, and close too
    assert wait_until(lambda: server.open_connections == 0)
    server.stop()
    assert settled_fds() <= fds


@pytest.mark.parametrize("how", ["read", "readinto", "iterate", "readline"])
def test_close_aborts_a_stalled_body_being_streamed(servers, how):
    gate = gevent.event.Event()
    head = OK + b"Content-Length: 6\r\n\r\nabc\n"
    server = servers([Loop(lambda c: [Expect(), Send(head), Stall(gate), Send(b"de")])])
    http = HTTPClient("127.0.0.1", server.port, network_timeout=5)
    r = http.get("/")
    got = []

    def reader():
        if how == "read":
            got.append(r.read())
        elif how == "readinto":
            buf = bytearray(6)
            while True:
                n = r.readinto(buf)
                if not n:
                    break
                got.append(bytes(buf[:n]))
        elif how == "iterate":
            got.extend(r)
        else:
            got.append(r.readline())  # the first line is there
            got.append(r.readline())  # this one waits

    g = gevent.spawn(outcome, reader)
    assert wait_until(lambda: http.statistics().active == 1 and not g.ready() and g.started)
    gevent.sleep(
        0.01
    )  # let the reader get to its wait (not a synchronisation: either way it must end)
    http.close()
    result, took = g.get(timeout=2)
    assert isinstance(result, ClientClosed), (result, got)
    assert b"".join(got) in (b"", b"abc\n")  # what arrived, never the rest
    gate.set()
    assert wait_until(lambda: server.open_connections == 0)


def test_close_aborts_an_upload_the_server_does_not_read(servers):
    gate = gevent.event.Event()
    reached = gevent.event.Event()
    server = servers([Expect(body=False), ReadBytes(1000), Signal(reached), Stall(gate)])
    http = HTTPClient("127.0.0.1", server.port, network_timeout=5)
    g = gevent.spawn(outcome, http.post, "/", body=b"x" * (64 * 1024 * 1024))
    assert reached.wait(2)
    gevent.sleep(0.01)  # the sender fills the socket buffers and waits
    t0 = time.monotonic()
    http.close()
    result, _ = g.get(timeout=2)
    assert isinstance(result, ClientClosed), result
    assert time.monotonic() - t0 < PROMPT
    gate.set()


def test_close_aborts_a_request_still_connecting(servers):
    """A server that accepts and never answers the TLS handshake: the request is
    inside connect() when the client closes."""
    gate = gevent.event.Event()
    reached = gevent.event.Event()
    server = servers([Signal(reached), Stall(gate)])
    http = HTTPClient(
        "127.0.0.1", server.port, ssl=True, insecure=True, connection_timeout=5, network_timeout=5
    )
    g = gevent.spawn(outcome, http.get, "/")
    assert reached.wait(2)
    t0 = time.monotonic()
    http.close()
    result, _ = g.get(timeout=2)
    assert isinstance(result, ClientClosed), result
    assert time.monotonic() - t0 < PROMPT
    assert http.statistics().connections == 0
    gate.set()


def test_close_wait_lets_requests_in_flight_finish(servers):
    gate = gevent.event.Event()
    server = servers([stalled(gate)])
    http = HTTPClient("127.0.0.1", server.port, concurrency=2, network_timeout=5)
    group = gevent.pool.Group()
    results = {}

    def one(rid):
        results[rid], _ = outcome(lambda: http.get(f"/{rid}", headers={"X-Id": str(rid)}).read())

    for rid in range(3):  # 2 in flight, 1 waiting
        group.spawn(one, rid)
    assert wait_until(lambda: len(server.requests) == 2)
    closer = gevent.spawn(http.close, wait=5)
    assert wait_until(lambda: isinstance(results.get(2), PoolClosed))  # the waiter, at once
    assert not closer.ready()  # close(wait=...) blocks while requests are in flight
    with pytest.raises(PoolClosed):
        http.get("/new")  # and takes no new one meanwhile
    gate.set()
    closer.get(timeout=2)
    group.join(timeout=2)
    assert results[0] == b"0" and results[1] == b"1", results
    assert http.statistics().connections == 0
    assert wait_until(lambda: server.open_connections == 0)


def test_close_wait_aborts_what_is_still_in_flight_at_the_deadline(servers):
    gate = gevent.event.Event()
    server = servers([stalled(gate)])
    http = HTTPClient("127.0.0.1", server.port, network_timeout=5)
    g = gevent.spawn(outcome, http.get, "/")
    assert wait_until(lambda: len(server.requests) == 1)
    t0 = time.monotonic()
    http.close(wait=0.2)
    took = time.monotonic() - t0
    result, _ = g.get(timeout=2)
    assert isinstance(result, ClientClosed), result
    assert 0.15 < took < 0.2 + PROMPT
    gate.set()


def _urlopen_content(agent, url):
    return agent.urlopen(url).content


def _session_content(session, url):
    return session.get(url).content


def _httpx_content(client, url):
    return client.get(url).content


FACES = {
    "HTTPClient": (
        lambda base: HTTPClient.from_url(base, network_timeout=5),
        lambda c, base: c.get("/").read(),
    ),
    "HTTPClientPool": (
        lambda base: HTTPClientPool(network_timeout=5),
        lambda c, base: c.get_client(base).get("/").read(),
    ),
    "UserAgent": (lambda base: UserAgent(network_timeout=5), _urlopen_content),
    "Session": (lambda base: Session(), _session_content),
    "httpx.Client": (lambda base: ghttpx.Client(timeout=5), _httpx_content),
}


@pytest.mark.parametrize("face", list(FACES))
@pytest.mark.parametrize("how", ["close", "context_manager"])
def test_every_face_aborts_its_requests_in_flight_on_close(servers, face, how):
    fds = settled_fds()
    gate = gevent.event.Event()
    server = servers([stalled(gate)])
    make, use = FACES[face]
    client = make(server.base)
    if how == "close":
        g = gevent.spawn(outcome, use, client, server.base + "/")
        assert wait_until(lambda: len(server.requests) == 1)
        t0 = time.monotonic()
        client.close()
    else:
        inside = gevent.event.Event()

        def body():
            with client:
                inside.set()
                gevent.sleep(5)  # killed below: leaves the block by an exception

        g = gevent.spawn(outcome, use, client, server.base + "/")
        holder = gevent.spawn(body)
        assert inside.wait(2) and wait_until(lambda: len(server.requests) == 1)
        t0 = time.monotonic()
        holder.kill()  # the with block exits: __exit__ closes
    result, _ = g.get(timeout=2)
    took = time.monotonic() - t0
    assert isinstance(result, Exception), result
    # the faces translate to their own vocabulary; the cause is ClientClosed
    chain = [result, result.__cause__, result.__context__]
    assert any(isinstance(e, ClientClosed) for e in chain), chain
    assert took < PROMPT
    gate.set()
    assert wait_until(lambda: server.open_connections == 0)
    server.stop()
    assert settled_fds() <= fds


def test_httplib_connection_close_aborts_a_response_being_awaited(servers):
    gate = gevent.event.Event()
    server = servers([stalled(gate)])
    conn = httplib.HTTPConnection("127.0.0.1", server.port, timeout=5)
    conn.request("GET", "/")
    g = gevent.spawn(outcome, conn.getresponse)
    assert wait_until(lambda: len(server.requests) == 1)
    gevent.sleep(0.01)  # the reader waits for the head
    t0 = time.monotonic()
    conn.close()
    result, _ = g.get(timeout=2)
    assert isinstance(result, ClientClosed), result
    assert time.monotonic() - t0 < PROMPT
    gate.set()
    assert wait_until(lambda: server.open_connections == 0)


def test_module_get_stream_goes_back_to_the_shared_pool_when_read(servers):
    server = servers([Serve()])
    r = api.get(server.base + "/", stream=True, headers={"X-Id": "streamed"})
    assert r.raw.read() == b"streamed"
    assert api.get(server.base + "/", headers={"X-Id": "next"}).content == b"next"
    assert server.connections == 1  # the streamed response gave its connection back
    api._close_shared()  # what happens at exit
    assert wait_until(lambda: server.open_connections == 0)


def test_session_evicting_a_client_lets_its_request_in_flight_finish(servers):
    gate = gevent.event.Event()
    slow = servers([stalled(gate)])
    other = servers([Serve()])
    with Session(max_clients=1) as s:
        g = gevent.spawn(outcome, lambda: s.get(slow.base + "/", headers={"X-Id": "a"}).content)
        assert wait_until(lambda: len(slow.requests) == 1)
        assert s.get(other.base + "/", headers={"X-Id": "b"}).content == b"b"  # evicts slow's
        gate.set()
        result, _ = g.get(timeout=2)
    assert result == b"a"
    assert wait_until(lambda: slow.open_connections == 0)


# -- Connection: close ------------------------------------------------------------------


@pytest.mark.parametrize(
    "version, headers, reused",
    [
        ("HTTP/1.1", {"Connection": "close"}, False),
        ("HTTP/1.1", {"Connection": "Keep-Alive, CLOSE"}, False),
        ("HTTP/1.1", {}, True),
        ("HTTP/1.0", {}, False),
        ("HTTP/1.0", {"Connection": "keep-alive"}, True),
    ],
)
def test_a_request_that_asks_to_close_never_leaves_its_connection_in_the_pool(
    servers, version, headers, reused
):
    server = servers([Serve()])  # answers keep-alive, whatever the request said
    http = HTTPClient("127.0.0.1", server.port, version=version)
    for rid in range(3):
        r = http.get(f"/{rid}", headers={"X-Id": str(rid), **headers})
        assert r.read() == str(rid).encode()
    assert server.connections == (1 if reused else 3)
    if not reused:
        assert http.statistics().idle == 0
        assert wait_until(lambda: server.open_connections == 0)  # we closed them
    http.close()


def test_connection_close_as_a_client_default_header(servers):
    server = servers([Serve()])
    http = HTTPClient("127.0.0.1", server.port, headers={"Connection": "close"})
    for rid in range(2):
        assert http.get(f"/{rid}", headers={"X-Id": str(rid)}).read() == str(rid).encode()
    assert http.get("/", headers={"X-Id": "x", "Connection": "keep-alive"}).read() == b"x"
    assert http.get("/", headers={"X-Id": "y", "Connection": "keep-alive"}).read() == b"y"
    assert server.connections == 3  # two closed ones, then one kept alive
    http.close()


@pytest.mark.parametrize("headers, reused", [({"Connection": "close"}, False), ({}, True)])
def test_httplib_request_that_asks_to_close_is_not_reused(servers, headers, reused):
    server = servers([Serve()])
    fds = settled_fds()
    conn = httplib.HTTPConnection("127.0.0.1", server.port, timeout=5)
    for rid in range(2):
        conn.request("GET", f"/{rid}", headers={"X-Id": str(rid), **headers})
        assert conn.getresponse().read() == str(rid).encode()
    assert server.connections == (1 if reused else 2)
    conn.close()
    assert wait_until(lambda: server.open_connections == 0)
    assert settled_fds() <= fds  # a body complete with its head was closed too


# -- threads ----------------------------------------------------------------------------


class _Handler(http.server.BaseHTTPRequestHandler):
    """Keep-alive: the body is the index of the connection it came on; ``/stall``
    waits for the server's ``release`` event first."""

    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        server = self.server
        with server.lock:  # type: ignore[attr-defined]
            self.index = server.accepted  # type: ignore[attr-defined]
            server.accepted += 1  # type: ignore[attr-defined]

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        if self.path == "/stall":
            self.server.stalled.set()  # type: ignore[attr-defined]
            self.server.release.wait(10)  # type: ignore[attr-defined]
        body = str(self.index).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def thread_server():
    """A stdlib server in OS threads: it serves while the test's own hub (or the
    whole process, in a forked child) does something else."""
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.lock = threading.Lock()
    server.accepted = 0
    server.stalled = threading.Event()
    server.release = threading.Event()
    t = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    t.daemon = True
    t.start()
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()


def _in_thread(fn):
    """Run ``fn`` in a new OS thread; its result or exception."""
    box = []

    def run():
        try:
            box.append(fn())
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            box.append(exc)

    t = threading.Thread(target=run)
    t.start()
    assert wait_until(lambda: not t.is_alive(), timeout=10)
    return box[0]


def test_a_client_used_from_another_thread_raises_a_clear_error(thread_server):
    http = HTTPClient("127.0.0.1", thread_server.server_address[1], network_timeout=5)
    assert http.get("/").read() == b"0"
    got = _in_thread(lambda: http.get("/").read())
    assert isinstance(got, WrongThread), got
    assert "one client per thread" in str(got)
    assert http.get("/").read() == b"0"  # still fine in its own thread
    assert isinstance(_in_thread(http.close), WrongThread)  # its loop watches the sockets
    assert http.get("/").read() == b"0"
    http.close()


def test_a_client_belongs_to_the_thread_that_first_uses_it(thread_server):
    http = HTTPClient("127.0.0.1", thread_server.server_address[1], network_timeout=5)
    got = _in_thread(lambda: [http.get("/").read() for _ in range(3)])
    assert got == [b"0", b"0", b"0"]
    with pytest.raises(WrongThread):
        http.get("/")
    http.close()  # allowed once the thread that used it has ended
    with pytest.raises(PoolClosed):
        http.get("/")


def test_session_and_user_agent_in_another_thread_raise_the_same_error(thread_server):
    url = f"http://127.0.0.1:{thread_server.server_address[1]}/"
    with Session() as s, UserAgent(max_retries=0) as ua:
        assert s.get(url).content == b"0"
        assert ua.urlopen(url).content == b"1"
        assert isinstance(_in_thread(lambda: s.get(url).content), WrongThread)
        assert isinstance(_in_thread(lambda: ua.urlopen(url).content), WrongThread)


MONKEY_SCRIPT = r"""
from gevent import monkey
monkey.patch_all()
import threading
import gevent, gevent.server
from geventhttpclient import HTTPClient

def handle(sock, _):
    f = sock.makefile("rb")
    while f.readline():
        while f.readline() not in (b"\r\n", b""):
            pass
        sock.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

server = gevent.server.StreamServer(("127.0.0.1", 0), handle)
server.start()
http = HTTPClient("127.0.0.1", server.server_port, concurrency=3)
bodies = []
def fetch():
    bodies.append(http.get("/").read())
gevent.joinall([gevent.spawn(fetch) for _ in range(10)], raise_error=True)
t = threading.Thread(target=fetch)  # a greenlet, under monkey patching
t.start()
t.join()
http.close()
print(len(bodies), set(bodies))
"""


def test_under_monkey_patching_every_greenlet_and_patched_thread_may_use_a_client():
    """Locust patches everything: threading's "threads" are then greenlets of the
    one OS thread, and its thread ids are per greenlet. A client is bound to the
    OS thread's hub, so they all share it."""
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", MONKEY_SCRIPT], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip() == "11 {b'ok'}", out.stdout + out.stderr[-2000:]


# -- fork -------------------------------------------------------------------------------


def in_child(child):
    """Fork; the child runs ``child()`` and hands back the dict it returns (or the
    error it raised, as ``{"error": ...}``), then leaves without running the
    parent's cleanup. The parent gets that dict."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read_end)
            report = child()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            report = {"error": repr(exc)}
        os.write(write_end, json.dumps(report).encode())
        os._exit(0)
    os.close(write_end)
    report = json.loads(_read_to_end(read_end))
    try:
        os.waitpid(pid, 0)  # it has exited: its end of the pipe closed
    except ChildProcessError:
        pass  # reaped already (gevent's child watcher, where one is installed)
    return report


def _read_to_end(fd):
    """Everything from a pipe until the writer closes it, without blocking the hub."""
    import gevent.os

    os.set_blocking(fd, False)
    data = b""
    try:
        while True:
            block = gevent.os.nb_read(fd, 65536)
            if not block:
                return data
            data += block
    finally:
        os.close(fd)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork() here")
@pytest.mark.hub_block_limit(5)
# The warning is about the test's server thread, which the child never uses.
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_fork_in_the_middle_of_keep_alive_use(thread_server):
    """The parent has an idle keep-alive connection and one request in flight when
    it forks. The child's request opens its own connection (a shared one would
    interleave two processes' requests on one socket); the copy of the request in
    flight ends with ClientClosed in the child and completes in the parent."""
    port = thread_server.server_address[1]
    http = HTTPClient("127.0.0.1", port, concurrency=3, network_timeout=5)
    group = gevent.pool.Group()
    first = group.map(lambda _: http.get("/").read(), range(2))
    assert sorted(first) == [b"0", b"1"]  # two idle keep-alive connections
    stalled_box = {}

    def in_flight():
        stalled_box["result"], _ = outcome(lambda: http.get("/stall").read())

    g = gevent.spawn(in_flight)
    assert wait_until(thread_server.stalled.is_set)
    idle_before = http.statistics().idle
    assert idle_before == 1

    def child():
        body = http.get("/").read().decode()
        gevent.sleep(0.05)  # let the copied in-flight greenlet run and end
        return {
            "body": body,
            "again": http.get("/").read().decode(),
            "in_flight": type(stalled_box.get("result")).__name__,
            "stats": http.statistics().created,
        }

    report = in_child(child)
    assert "error" not in report, report
    assert report["body"] == "2"  # a new connection: 0 and 1 are the parent's
    assert report["again"] == "2"  # and the child keeps its own alive
    assert report["in_flight"] == "ClientClosed"
    assert report["stats"] == 3  # the parent's two, and the child's own
    thread_server.release.set()
    g.join(timeout=5)
    assert stalled_box["result"] in (b"0", b"1")  # the parent's request is whole
    assert http.get("/").read() in (b"0", b"1")  # and its connections still serve it
    assert http.statistics().created == 2
    http.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork() here")
@pytest.mark.hub_block_limit(5)
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_fork_while_another_thread_has_the_only_connection_in_flight(thread_server):
    """The client belongs to a worker thread whose request holds its one connection
    at the fork. That thread does not exist in the child, and its request never
    gives the slot back: the child's pool starts empty rather than wait forever."""
    port = thread_server.server_address[1]
    http = HTTPClient("127.0.0.1", port, concurrency=1, network_timeout=5, pool_timeout=2)
    worker = threading.Thread(target=lambda: http.get("/stall").read())
    worker.start()
    assert wait_until(thread_server.stalled.is_set)
    report = in_child(lambda: {"body": http.get("/").read().decode()})
    assert report == {"body": "1"}  # its own connection, the second the server saw
    thread_server.release.set()
    assert wait_until(lambda: not worker.is_alive(), timeout=5)
    http.close()  # its thread has ended: closing from here is allowed
