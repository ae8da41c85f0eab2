"""Reading and writing over TLS: what a connection does with the SSL object once the
handshake is done.

A connection over gevent's SSLSocket reads and writes the socket's SSL object itself
(the way it reads the kernel socket for plain TCP) and waits with its own timer.
These tests pin what that must keep: bodies across many TLS records and read in
small pieces (decrypted bytes left inside the SSL object), keep-alive after them,
truncated bodies (with and without close_notify) failing as over TCP, timeouts,
close() interrupting a read, and writes larger than the socket buffers.
"""

from __future__ import annotations

import hashlib
import ssl
import time

import gevent
import gevent.event
import gevent.ssl
import pytest
from conftest import keep_alive

from geventhttpclient import HTTPClient, httplib
from geventhttpclient.exceptions import ClientClosed, IncompleteResponse, ReadTimeout

pytest.importorskip("trustme")

TIMEOUT = 5.0
BIG = bytes(range(256)) * 4096 * 3  # 3 MiB: about 190 TLS records


@pytest.fixture
def server_ssl_context(tls_cert):
    """A gevent SSLContext: the in-process server's handshakes must yield."""
    ctx = gevent.ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls_cert.configure_cert(ctx)
    return ctx


def tls_client(server, ca_file, **kw) -> HTTPClient:
    kw.setdefault("connection_timeout", TIMEOUT)
    kw.setdefault("network_timeout", TIMEOUT)
    return HTTPClient("127.0.0.1", server.port, ssl=True, ssl_options={"ca_certs": ca_file}, **kw)


MEDIUM = BIG[:600_000]  # about 37 records: read in small pieces, quick on a cold PyPy


def big_or_small(conn, req):
    body = {"/big": BIG, "/medium": MEDIUM}.get(req["target"], b"small")
    conn.respond(200, body)


def test_tls_reads_do_not_go_through_the_sslsocket_methods(
    server_factory, server_ssl_context, ca_file, monkeypatch
):
    """The connection reads and writes the SSL object: gevent's SSLSocket.recv_into,
    recv, send and sendall are not on the request path (they made a timeout object
    and an exception for every wait)."""
    server = server_factory(keep_alive(big_or_small), ssl_context=server_ssl_context)
    http = tls_client(server, ca_file)
    assert http.get("/").read() == b"small"  # connected (the handshake is gevent's)
    used = []

    def watched(name):
        original = getattr(gevent.ssl.SSLSocket, name)

        def method(self, *args, **kw):
            if self.getpeername()[1] == server.port:  # the client's end, not the server's
                used.append(name)
            return original(self, *args, **kw)

        return method

    for name in ("recv_into", "recv", "send", "sendall", "read", "write"):
        monkeypatch.setattr(gevent.ssl.SSLSocket, name, watched(name))
    for _ in range(3):
        assert http.get("/").read() == b"small"
    assert http.get("/big").read() == BIG
    assert used == []
    assert server.connections == 1


def test_tls_body_of_many_records_read_in_small_pieces_then_keep_alive(
    server_factory, server_ssl_context, ca_file
):
    """readinto() a buffer smaller than a TLS record and read(n) of odd sizes leave
    decrypted bytes inside the SSL object, with nothing left on the socket: the next
    read must take them without waiting for the socket, and the connection serves
    the next request."""
    server = server_factory(keep_alive(big_or_small), ssl_context=server_ssl_context)
    http = tls_client(server, ca_file)
    r = http.get("/medium")
    buf = bytearray(1000)
    got = bytearray()
    while True:
        n = r.readinto(buf)
        if not n:
            break
        got += buf[:n]
    assert bytes(got) == MEDIUM
    r = http.get("/medium")
    parts = []
    while True:
        block = r.read(7777)
        if not block:
            break
        parts.append(block)
    assert b"".join(parts) == MEDIUM
    assert http.get("/small").read() == b"small"
    assert server.connections == 1


def read_all(r):
    return r.read()


def read_blocks(r):
    """read(65536) until b"": the path that gathers TLS records into one block."""
    parts = []
    while True:
        block = r.read(65536)
        if not block:
            return b"".join(parts)
        parts.append(block)


@pytest.mark.parametrize("read", [read_all, read_blocks])
@pytest.mark.parametrize("close_notify", [True, False], ids=["close_notify", "ragged_eof"])
def test_tls_truncated_body_raises_as_over_tcp(
    server_factory, server_ssl_context, ca_file, close_notify, read
):
    """A body shorter than its Content-Length is never returned as complete, whether
    the server ends TLS properly (close_notify) or just closes the socket."""

    def cut_short(conn):
        conn.read_request()
        conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 500000\r\n\r\n" + BIG[:300000])
        if close_notify:
            conn.sock.unwrap()
        conn.close()

    server = server_factory(cut_short, ssl_context=server_ssl_context)
    http = tls_client(server, ca_file)
    r = http.get("/")
    with pytest.raises(IncompleteResponse):
        read(r)


def test_tls_body_read_in_blocks_is_whole(server_factory, server_ssl_context, ca_file):
    server = server_factory(keep_alive(big_or_small), ssl_context=server_ssl_context)
    http = tls_client(server, ca_file)
    for _ in range(2):
        assert read_blocks(http.get("/big")) == BIG
    assert server.connections == 1


def test_tls_body_ended_by_close_notify_is_whole(server_factory, server_ssl_context, ca_file):
    """A body framed by the end of the connection ends at the server's close_notify."""

    def until_close(conn):
        conn.read_request()
        conn.send(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + BIG[:200000])
        conn.sock.unwrap()
        conn.close()

    server = server_factory(until_close, ssl_context=server_ssl_context)
    http = tls_client(server, ca_file)
    assert http.get("/").read() == BIG[:200000]


def test_tls_read_timeout_is_network_timeout(server_factory, server_ssl_context, ca_file):
    gate = gevent.event.Event()

    def silent(conn):
        conn.read_request()
        gate.wait(5)

    server = server_factory(silent, ssl_context=server_ssl_context)
    http = tls_client(server, ca_file, network_timeout=0.3)
    t0 = time.monotonic()
    with pytest.raises(ReadTimeout):
        http.get("/")
    assert 0.25 < time.monotonic() - t0 < 2.0
    gate.set()


def test_tls_timeout_counts_from_each_wait_not_from_the_request(
    server_factory, server_ssl_context, ca_file
):
    """A slow body whose parts each come within network_timeout is read whole."""

    def trickle(conn):
        conn.read_request()
        conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n")
        for c in b"abcde":
            gevent.sleep(0.15)
            conn.send(bytes([c]))

    server = server_factory(trickle, ssl_context=server_ssl_context)
    http = tls_client(server, ca_file, network_timeout=0.4)
    assert http.get("/").read() == b"abcde"


def test_tls_close_interrupts_a_read_with_client_closed(
    server_factory, server_ssl_context, ca_file
):
    gate = gevent.event.Event()
    reached = gevent.event.Event()

    def stalled(conn):
        conn.read_request()
        conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nxx")
        reached.set()
        gate.wait(5)

    server = server_factory(stalled, ssl_context=server_ssl_context)
    http = tls_client(server, ca_file)

    def fetch():
        try:
            return http.get("/").read()
        except Exception as exc:  # noqa: BLE001 - the test looks at it
            return exc

    g = gevent.spawn(fetch)
    assert reached.wait(2)
    gevent.sleep(0.05)  # the client waits for the rest of the body
    t0 = time.monotonic()
    http.close()
    result = g.get(timeout=2)
    assert isinstance(result, ClientClosed), result
    assert time.monotonic() - t0 < 0.5
    gate.set()


def test_tls_writes_larger_than_the_socket_buffers_arrive_whole(
    server_factory, server_ssl_context, ca_file
):
    """httplib's send() of 1 MiB blocks, more than the loopback buffers hold (4 MiB
    each way here), while the server does not read yet: the SSL object runs out of
    room mid-write, and the write is finished with the same bytes (OpenSSL refuses
    anything else). A 3 MiB block goes to gevent's sendall whole."""
    blocks = [BIG[: 1 << 20]] * 14 + [BIG[:999_999], BIG, b"tail"]
    body = b"".join(blocks)

    def slow_reader(conn):
        while b"\r\n\r\n" not in conn.buf:
            conn.recv_more()
        gevent.sleep(0.3)  # the client fills the buffers and waits
        head, rest = conn.buf.split(b"\r\n\r\n", 1)
        digest = hashlib.sha256(rest)
        left = len(body) - len(rest)
        while left > 0:
            data = conn.sock.recv(65536)
            if not data:
                return
            digest.update(data)
            left -= len(data)
        conn.respond(200, digest.hexdigest().encode())

    server = server_factory(slow_reader, ssl_context=server_ssl_context)
    ctx = ssl.create_default_context(cafile=ca_file)
    conn = httplib.HTTPSConnection("127.0.0.1", server.port, timeout=TIMEOUT, context=ctx)
    conn.putrequest("POST", "/")
    conn.putheader("Content-Length", str(len(body)))
    conn.endheaders()
    for block in blocks:
        conn.send(block)
    assert conn.getresponse().read() == hashlib.sha256(body).hexdigest().encode()
    conn.close()


def test_bytes_left_inside_the_tls_layer_make_an_idle_connection_stale(
    server_factory, server_ssl_context, ca_file
):
    """Unsolicited bytes in the same TLS record as the end of a body stay in the SSL
    object when a read asks for just the body's rest (the direct read path): the
    kernel socket is empty, so only the SSL object's ``pending()`` can tell that the
    connection must not serve the next request (it would read them as its answer)."""
    body = b"b" * 20_000
    stale = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nstale"

    def respond(conn, req):
        if req["target"] == "/first":
            conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body + stale)
        else:
            conn.respond(200, b"fresh")

    server = server_factory(keep_alive(respond), ssl_context=server_ssl_context)
    with HTTPClient("localhost", server.port, ssl_options={"ca_certs": ca_file}) as client:
        first = client.get("/first")
        assert b"".join(iter(lambda: first.read(65536), b"")) == body
        assert client.get("/second").read() == b"fresh"
    assert server.connections == 2
