"""The connection and the client over a fake stream: one end of a socket pair is
the connection's socket, the test writes the server's bytes on the other.

No listening server, no accept, no ports: each test says exactly which bytes the
"server" sends and when, and reads exactly what the client wrote. What is tested
is ``_connection.Connection`` (sending, receiving with ``network_timeout``,
framing, the reuse decision, abort) and ``HTTPClient`` on top of it, with
``_net.connect`` replaced by a function that hands out socket-pair ends.
"""

from __future__ import annotations

import time
from typing import Any, List, Tuple

import gevent
import gevent.socket
import pytest

from geventhttpclient import HTTPClient, _net
from geventhttpclient._connection import (
    ACTIVE,
    CLOSED,
    NEW,
    Connection,
    RecvBuffer,
    connect_head,
)
from geventhttpclient._http11 import RequestBody
from geventhttpclient.exceptions import (
    ClientClosed,
    HeaderInjectionError,
    ReadTimeout,
    RequestError,
)

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


def pair(timeout: float = 2.0) -> Tuple[Connection, Any]:
    """A connection over one end of a socket pair, and the peer's end."""
    ours, theirs = gevent.socket.socketpair()
    conn = Connection(ours, timeout=timeout)
    conn.buf = RecvBuffer()
    conn.state = ACTIVE
    return conn, theirs


def read_response(conn: Connection) -> None:
    """Receive and parse until the message is complete."""
    conn.parser.start(False, False)
    while not conn.parser.message_complete:
        if conn.fill() == 0:
            conn.parser.finish()
            break
        conn.parse()


def test_a_new_connection_says_so_until_a_pool_takes_it():
    ours, theirs = gevent.socket.socketpair()
    conn = Connection(ours)
    assert conn.state == NEW
    conn.close()
    assert conn.state == CLOSED
    theirs.close()


def test_a_keep_alive_response_leaves_the_connection_reusable():
    conn, peer = pair()
    conn.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert peer.recv(100) == b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"
    peer.sendall(OK)
    read_response(conn)
    assert conn.parser.status_code == 200
    assert conn.done(reusable=True)
    assert not conn.done(reusable=False)  # the request asked to close
    conn.close()
    peer.close()


@pytest.mark.parametrize(
    "answer, why",
    [
        (OK.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"), "the server closes"),
        (OK + b"HTTP/1.1 200 OK\r\n", "bytes past the message"),
    ],
)
def test_a_connection_is_not_reused_when(answer, why):
    conn, peer = pair()
    peer.sendall(answer)
    read_response(conn)
    assert not conn.done(reusable=True), why
    conn.close()
    peer.close()


def test_waiting_longer_than_network_timeout_raises_read_timeout():
    conn, peer = pair(timeout=0.05)
    t0 = time.monotonic()
    with pytest.raises(ReadTimeout):
        conn.fill()
    assert 0.04 < time.monotonic() - t0 < 1.0
    conn.close()
    peer.close()


def test_abort_wakes_the_reader_with_client_closed_and_closes_the_socket():
    conn, peer = pair()
    reader = gevent.spawn(conn.fill)
    gevent.sleep(0.01)  # the reader waits for bytes (either way it must end)
    conn.abort("stop")
    with pytest.raises(ClientClosed):
        reader.get(timeout=1)
    assert conn.state == CLOSED and not conn.done(reusable=True)
    assert peer.recv(10) == b""  # the peer sees the close
    with pytest.raises(ClientClosed):
        conn.write(b"more")  # and nothing more can be sent
    peer.close()


def body(kind: str, **fields: Any) -> RequestBody:
    rb = RequestBody(kind)
    for name, value in fields.items():
        setattr(rb, name, value)
    return rb


def drain(peer: Any, n: int, sender: Any) -> bytes:
    """``n`` bytes from ``peer``, or what came before ``sender`` ended."""
    got = b""
    while len(got) < n:
        with gevent.Timeout(0.5, False):
            block = peer.recv(65536)
            if not block:
                break
            got += block
            continue
        if sender.ready():
            break
    return got


@pytest.mark.parametrize(
    "rb, wire",
    [
        (body("bytes", data=b"hello"), b"HEADhello"),
        (body("bytes", data=b"x" * 70000), b"HEAD" + b"x" * 70000),
        (body("chunked", chunks=[b"ab", b"", "c"]), b"HEAD2\r\nab\r\n1\r\nc\r\n0\r\n\r\n"),
        (body("stream", chunks=[b"ab", b"c"], length=3), b"HEADabc"),
        (body("file", start=1, length=4), b"HEADfile"),
    ],
    ids=["bytes", "big-bytes", "chunked", "stream", "file"],
)
def test_send_puts_head_and_body_on_the_wire_as_framed(rb, wire, tmp_path):
    conn, peer = pair()
    if rb.kind == "file":  # a real file: sent by os.sendfile on this plain socket
        path = tmp_path / "body"
        path.write_bytes(b"-file-")
        rb.file = open(path, "rb")  # noqa: SIM115 - closed below
        rb.file.seek(rb.start)
    sender = gevent.spawn(conn.send, b"HEAD", rb)
    got = drain(peer, len(wire), sender)
    sender.get(timeout=2)
    assert got == wire
    if rb.file is not None:
        rb.file.close()
    conn.close()
    peer.close()


@pytest.mark.parametrize("chunks", [[b"abcd"], [b"a"]], ids=["longer", "shorter"])
def test_a_stream_body_must_match_its_content_length(chunks):
    conn, peer = pair()
    with pytest.raises(RequestError):
        conn.send(b"HEAD", body("stream", chunks=chunks, length=3))
    conn.close()
    peer.close()


def test_connect_head_validates_what_goes_to_the_proxy():
    assert connect_head("example.com", 443, {"Proxy-Authorization": "Basic eA=="}) == (
        b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n"
        b"Proxy-Authorization: Basic eA==\r\n\r\n"
    )
    with pytest.raises(HeaderInjectionError):
        connect_head("example.com", 443, {"X": "a\r\nInjected: 1"})


# -- the client over fake streams -----------------------------------------------------


@pytest.fixture
def fake_net(monkeypatch):
    """``_net.connect`` hands out socket-pair ends; the test gets the peers."""
    peers: List[Any] = []

    def connect(host: str, port: int, **kw: Any) -> Any:
        ours, theirs = gevent.socket.socketpair()
        peers.append(theirs)
        return ours

    monkeypatch.setattr(_net, "connect", connect)
    yield peers
    for p in peers:
        p.close()


def test_client_sends_one_head_and_reads_its_response_over_a_fake_stream(fake_net):
    http = HTTPClient("example.com", network_timeout=2)
    getter = gevent.spawn(lambda: http.get("/x", headers={"X-A": "1"}).read())
    gevent.sleep(0)
    peer = fake_net[0]
    head = peer.recv(65536)
    assert head.startswith(b"GET /x HTTP/1.1\r\n") and b"\r\nX-A: 1\r\n" in head
    peer.sendall(OK)
    assert getter.get(timeout=2) == b"ok"
    assert http.statistics().idle == 1  # kept alive for the next request
    http.close()


def test_client_retries_a_get_once_when_a_reused_connection_was_closed(fake_net):
    http = HTTPClient("example.com", network_timeout=2)
    first = gevent.spawn(lambda: http.get("/").read())
    gevent.sleep(0)
    fake_net[0].recv(65536)
    fake_net[0].sendall(OK)
    assert first.get(timeout=2) == b"ok"
    # The server closes the idle connection right as the next request goes out:
    # the request is sent again on a new connection, once.
    second = gevent.spawn(lambda: http.get("/").read())
    gevent.sleep(0)
    fake_net[0].recv(65536)
    fake_net[0].close()
    gevent.sleep(0.01)
    assert len(fake_net) == 2
    fake_net[1].recv(65536)
    fake_net[1].sendall(OK)
    assert second.get(timeout=2) == b"ok"
    http.close()
