"""TLSInTLS on its own: a TLS session to an origin inside the TLS session to an HTTPS
proxy (tests/httpsproxy.py), over a CONNECT tunnel, on loopback.

Each test opens the outer TLS connection and the tunnel itself, then hands the outer
socket to TLSInTLS, as ``_net.connect`` does; the origins are TLS servers with trustme
certificates (``tls_cert`` is for localhost, 127.0.0.1 and ::1).
"""

from __future__ import annotations

import errno
import hashlib
import os
import socket
import ssl
from typing import Any, Callable, List, Optional

import gevent
import gevent.event
import gevent.socket
import gevent.ssl
import pytest
from conftest import ScriptedServer, ServerConn, wait_until
from httpsproxy import HTTPSProxy

from geventhttpclient import _connection
from geventhttpclient._connection import Connection
from geventhttpclient._tls_in_tls import TLSInTLS
from geventhttpclient.exceptions import ClientClosed

TIMEOUT = 5.0
MIB = 1 << 20


@pytest.fixture
def proxy(tls_cert):
    p = HTTPSProxy(tls_cert)
    yield p
    p.stop()


@pytest.fixture
def origin_factory(server_factory, tls_cert):
    """A TLS origin on loopback running ``handler``; ``cert`` (default ``tls_cert``)
    its certificate; the server names it got as SNI go to ``origin.sni``."""

    def make(handler: Callable[[ServerConn], Any], cert: Any = None) -> ScriptedServer:
        ctx = gevent.ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        (cert or tls_cert).configure_cert(ctx)
        names: List[Optional[str]] = []
        ctx.sni_callback = lambda sslobj, name, c: names.append(name)
        server = server_factory(handler, ssl_context=ctx)
        server.sni = names  # type: ignore[attr-defined]
        return server

    return make


def client_context(ca: Any, alpn: Optional[List[str]] = None) -> ssl.SSLContext:
    ctx = gevent.ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ca.configure_trust(ctx)
    if alpn:
        ctx.set_alpn_protocols(alpn)
    return ctx


def open_outer(proxy: HTTPSProxy, ca: Any, target: str, timeout: float = TIMEOUT) -> Any:
    """TLS to the proxy (named localhost) and an answered CONNECT to ``target``."""
    raw = gevent.socket.create_connection(("127.0.0.1", proxy.port), timeout=timeout)
    outer = client_context(ca).wrap_socket(raw, server_hostname="localhost")
    outer.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        block = outer.recv(1)  # byte by byte: nothing past the head may be taken
        assert block, "proxy closed during CONNECT"
        head += block
    assert head.startswith(b"HTTP/1.1 200 "), head
    return outer


def open_tunnel(
    proxy: HTTPSProxy,
    origin: ScriptedServer,
    ca: Any,
    name: str = "localhost",
    timeout: float = TIMEOUT,
    context: Optional[ssl.SSLContext] = None,
    session: Any = None,
) -> TLSInTLS:
    outer = open_outer(proxy, ca, f"{name}:{origin.port}")
    outer.settimeout(timeout)  # the handshake's waits are the outer socket's
    try:
        return TLSInTLS(outer, context or client_context(ca), name, session)
    except BaseException:
        outer.close()
        raise


def recv_exactly(tls: TLSInTLS, n: int) -> bytes:
    out = bytearray()
    while len(out) < n:
        block = tls.recv(n - len(out))
        assert block, f"EOF after {len(out)} of {n} bytes"
        out += block
    return bytes(out)


def echo(conn: ServerConn) -> None:
    while True:
        data = conn.sock.recv(65536)
        if not data:
            return
        conn.sock.sendall(data)


# -- bytes through the tunnel --------------------------------------------------------------


def test_bytes_go_both_ways_through_the_inner_session(proxy, origin_factory, tls_ca):
    origin = origin_factory(echo)
    tls = open_tunnel(proxy, origin, tls_ca)
    try:
        tls.sendall(b"hello through two TLS sessions")
        assert recv_exactly(tls, 30) == b"hello through two TLS sessions"
        view = memoryview(bytearray(64))
        assert tls.send(b"abc") == 3
        got = 0
        while got < 3:
            got += tls.recv_into(view[got:], 3 - got)
        assert view[:3] == b"abc"
    finally:
        tls.close()
    assert proxy.tunnels == [f"localhost:{origin.port}"]
    # the proxy only ever saw its CONNECT in the clear: the rest was the origin's TLS
    assert [r["method"] for r in proxy.requests] == ["CONNECT"]
    assert not proxy.errors and not origin.errors


# MiBs between this hub's own client, proxy and origin: data is always waiting, so
# each side runs long stretches without yielding (as any gevent socket does).
@pytest.mark.hub_block_limit(1.0)
def test_several_mib_go_each_way(proxy, origin_factory, tls_ca):
    size = 6 * MIB + 12345  # not a multiple of a record or of a write step
    upload = os.urandom(size)
    download = os.urandom(size)

    def digest_then_send(conn: ServerConn) -> None:
        h = hashlib.sha256()
        left = size
        while left:
            data = conn.sock.recv(min(left, 65536))
            if not data:
                return
            h.update(data)
            left -= len(data)
        conn.sock.sendall(h.digest() + download)

    origin = origin_factory(digest_then_send)
    tls = open_tunnel(proxy, origin, tls_ca)
    try:
        tls.sendall(upload)  # one call: the write steps are TLSInTLS's business
        assert recv_exactly(tls, 32) == hashlib.sha256(upload).digest()
        buf = bytearray(256 * 1024)
        view = memoryview(buf)
        h = hashlib.sha256()
        got = 0
        while got < size:
            n = tls.recv_into(view, min(len(buf), size - got))
            assert n, f"EOF after {got} bytes"
            h.update(view[:n])
            got += n
        assert h.digest() == hashlib.sha256(download).digest()
    finally:
        tls.close()


# MiBs between this hub's own client, proxy and origin: data is always waiting, so
# each side runs long stretches without yielding (as any gevent socket does).
@pytest.mark.hub_block_limit(1.0)
def test_a_reader_and_a_writer_greenlet_share_the_tunnel(proxy, origin_factory, tls_ca):
    size = MIB + 5  # both directions at once; the bulk is test_several_mib_go_each_way
    payload = os.urandom(size)
    origin = origin_factory(echo)
    tls = open_tunnel(proxy, origin, tls_ca)
    try:
        writer = gevent.spawn(tls.sendall, payload)
        received = recv_exactly(tls, size)  # reading while the writer writes
        writer.get(timeout=TIMEOUT)
        assert received == payload
    finally:
        tls.close()


def test_reads_smaller_than_a_record_keep_the_rest_pending(proxy, origin_factory, tls_ca):
    message = bytes(range(256)) * 40  # 10,240 bytes: one record

    def send_once(conn: ServerConn) -> None:
        conn.sock.sendall(message)
        conn.sock.recv(1)  # until the client closes

    origin = origin_factory(send_once)
    tls = open_tunnel(proxy, origin, tls_ca)
    try:
        first = tls.recv(7)
        assert first == message[:7]
        assert tls.pending() == len(message) - 7  # decrypted, waiting in the session
        parts = [first]
        view = memoryview(bytearray(100))
        while sum(map(len, parts)) < len(message):
            n = tls.recv_into(view, 13)
            assert 0 < n <= 13
            parts.append(view[:n].tobytes())
        assert b"".join(parts) == message
        assert tls.pending() == 0
    finally:
        tls.close()


def test_zero_sized_reads_and_writes_do_nothing(proxy, origin_factory, tls_ca):
    origin = origin_factory(echo)
    tls = open_tunnel(proxy, origin, tls_ca)
    try:
        assert tls.recv(0) == b""
        assert tls.recv_into(bytearray(0)) == 0
        assert tls.send(b"") == 0
        tls.sendall(b"")
        tls.sendall(b"x")
        assert tls.recv(1) == b"x"  # the stream is still in step
    finally:
        tls.close()


# -- ends of the stream --------------------------------------------------------------------


def test_the_origins_close_notify_reads_as_the_end(proxy, origin_factory, tls_ca):
    def bye_then_close_notify(conn: ServerConn) -> None:
        conn.sock.sendall(b"bye")
        conn.sock.unwrap()  # sends close_notify; returns when the client closes

    origin = origin_factory(bye_then_close_notify)
    tls = open_tunnel(proxy, origin, tls_ca)
    try:
        assert recv_exactly(tls, 3) == b"bye"
        # the end, while the tunnel (the outer TLS and TCP) is still open: only the
        # close_notify can have told
        assert tls.recv(10) == b""
        assert tls.recv_into(bytearray(10)) == 0  # and it stays the end
        assert origin.open_connections == 1
    finally:
        tls.close()


def test_a_tunnel_closed_without_close_notify_reads_as_the_end(proxy, origin_factory, tls_ca):
    def bye_then_close(conn: ServerConn) -> None:
        conn.sock.sendall(b"bye")  # then the handler returns: TCP closed, no close_notify

    origin = origin_factory(bye_then_close)
    tls = open_tunnel(proxy, origin, tls_ca)
    try:
        assert recv_exactly(tls, 3) == b"bye"
        assert tls.recv_into(bytearray(10)) == 0
        assert tls.recv(10) == b""
    finally:
        tls.close()


def test_shutdown_sends_close_notify_and_keeps_reading(proxy, origin_factory, tls_ca):
    """SHUT_WR: the origin reads our close_notify as its end and can still answer
    (the tunnel stays open: only the inner stream was half-closed)."""
    seen = gevent.event.AsyncResult()

    def read_to_end_then_answer(conn: ServerConn) -> None:
        data = b""
        while True:
            block = conn.sock.recv(65536)
            if not block:
                break
            data += block
        seen.set(data)
        conn.sock.sendall(b"got " + str(len(data)).encode())

    origin = origin_factory(read_to_end_then_answer)
    tls = open_tunnel(proxy, origin, tls_ca)
    try:
        tls.sendall(b"12345")
        tls.shutdown(socket.SHUT_WR)
        assert seen.get(timeout=TIMEOUT) == b"12345"
        assert recv_exactly(tls, 5) == b"got 5"
        tls.shutdown(socket.SHUT_RD)
        assert tls.recv(1) == b""
    finally:
        tls.close()


# -- handshake failures --------------------------------------------------------------------


def test_an_origin_signed_by_another_ca_fails_verification(proxy, origin_factory, tls_ca):
    import trustme

    other = trustme.CA().issue_cert("localhost")
    origin = origin_factory(echo, cert=other)
    with pytest.raises(ssl.SSLCertVerificationError) as info:
        open_tunnel(proxy, origin, tls_ca)
    assert info.value.verify_code == 20  # X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY
    assert wait_until(lambda: origin.open_connections == 0)  # it got our alert and left


def test_an_origin_certificate_for_another_name_fails_verification(proxy, origin_factory, tls_ca):
    origin = origin_factory(echo)
    with pytest.raises(ssl.SSLCertVerificationError) as info:
        open_tunnel(proxy, origin, tls_ca, name="origin.test")
    assert info.value.verify_code == 62  # X509_V_ERR_HOSTNAME_MISMATCH
    assert "origin.test" in str(info.value)


def test_a_tunnel_closed_during_the_handshake_is_an_ssl_error(proxy, server_factory, tls_ca):
    origin = server_factory(lambda conn: None)  # accepts, then closes
    with pytest.raises(ssl.SSLError):
        open_tunnel(proxy, origin, tls_ca)


def test_an_origin_that_does_not_speak_tls_is_an_ssl_error(proxy, server_factory, tls_ca):
    def plaintext(conn: ServerConn) -> None:
        conn.sock.recv(65536)
        conn.send(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

    origin = server_factory(plaintext)
    with pytest.raises(ssl.SSLError):
        open_tunnel(proxy, origin, tls_ca)


def test_a_failed_handshake_leaves_the_outer_socket_to_the_caller(proxy, origin_factory, tls_ca):
    origin = origin_factory(echo)
    outer = open_outer(proxy, tls_ca, f"origin.test:{origin.port}")
    try:
        with pytest.raises(ssl.SSLCertVerificationError):
            TLSInTLS(outer, client_context(tls_ca), "origin.test")
        assert outer.fileno() >= 0  # _net.connect closes it, as it closes any socket
    finally:
        outer.close()


# -- timeouts --------------------------------------------------------------------------


def test_a_stalled_origin_times_out_by_the_outer_sockets_timeout(proxy, origin_factory, tls_ca):
    release = gevent.event.Event()

    def stall(conn: ServerConn) -> None:
        conn.sock.recv(65536)  # the request; no answer
        release.wait(TIMEOUT)

    origin = origin_factory(stall)
    tls = open_tunnel(proxy, origin, tls_ca)
    try:
        tls.settimeout(0.05)
        assert tls.gettimeout() == 0.05 == tls.outer.gettimeout()
        tls.sendall(b"anyone?")
        with pytest.raises(socket.timeout):
            tls.recv(10)
        with pytest.raises(socket.timeout):
            tls.recv_into(bytearray(10))
    finally:
        release.set()
        tls.close()


def test_a_stalled_handshake_times_out_by_the_outer_sockets_timeout(proxy, server_factory, tls_ca):
    release = gevent.event.Event()
    origin = server_factory(lambda conn: release.wait(TIMEOUT))  # never says ServerHello
    try:
        with pytest.raises(socket.timeout):
            open_tunnel(proxy, origin, tls_ca, timeout=0.05)
    finally:
        release.set()


# -- the facts of the origin's session --------------------------------------------------------


def test_tls_facts_are_the_origins_and_sni_is_per_session(proxy, origin_factory, tls_ca):
    origin_cert = tls_ca.issue_cert("origin.test")
    origin = origin_factory(echo, cert=origin_cert)
    outer = open_outer(proxy, tls_ca, f"origin.test:{origin.port}")
    tls = TLSInTLS(outer, client_context(tls_ca, alpn=["http/1.1"]), "origin.test")
    try:
        assert proxy.sni == ["localhost"]  # the outer handshake named the proxy
        assert origin.sni == ["origin.test"]  # the inner one named the origin
        assert tls.server_hostname == "origin.test"
        assert tls.version() in ("TLSv1.2", "TLSv1.3")
        cipher = tls.cipher()
        assert cipher is not None and cipher[1] == tls.version()
        cert = tls.getpeercert()
        assert ("DNS", "origin.test") in cert["subjectAltName"]
        assert outer.getpeercert()["subjectAltName"] != cert["subjectAltName"]
        der = tls.getpeercert(binary_form=True)
        assert der == ssl.PEM_cert_to_DER_cert(origin_cert.cert_chain_pems[0].bytes().decode())
        assert tls.selected_alpn_protocol() is None  # the echo origin offers none
        assert tls.fileno() == outer.fileno() >= 0
        assert tls.getpeername() == outer.getpeername() == ("127.0.0.1", proxy.port)
        assert tls.getsockname() == outer.getsockname()
        assert tls._read_event is outer._read_event
        assert tls._write_event is outer._write_event
        assert "origin.test" in repr(tls)
        assert not tls.session_reused
    finally:
        tls.close()
    assert tls.closed and outer.fileno() == -1


def test_the_origins_session_resumes_on_a_new_tunnel(proxy, origin_factory, tls_ca):
    origin = origin_factory(echo)
    ctx = client_context(tls_ca)
    first = open_tunnel(proxy, origin, tls_ca, context=ctx)
    first.sendall(b"x")
    assert first.recv(1) == b"x"  # TLS 1.3: the ticket came before the echo
    session = first.session
    first.close()
    assert session is not None and first.session.id == session.id  # readable after close
    second = open_tunnel(proxy, origin, tls_ca, context=ctx, session=session)
    try:
        assert second.session_reused
        second.sendall(b"y")
        assert second.recv(1) == b"y"
    finally:
        second.close()


# -- under a Connection -----------------------------------------------------------------


def answer_requests(conn: ServerConn) -> None:
    while True:
        req = conn.read_request()
        if req is None:
            return
        conn.respond(200, b"from origin " + req["target"].encode() + b" " + req["body"])


def test_a_connection_over_it_sends_and_reads_through_the_tls(proxy, origin_factory, tls_ca):
    """Connection treats it as neither plain TCP (whose bytes it would write to the
    kernel socket, past both TLS sessions) nor a gevent SSLSocket."""
    origin = origin_factory(answer_requests)
    tls = open_tunnel(proxy, origin, tls_ca)
    conn = Connection(tls, timeout=TIMEOUT)
    try:
        assert conn._raw_send is None and conn._raw_recv_into is None and conn._tls is None
        assert conn.fd == tls.fileno()
        conn.write(b"POST /a HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4\r\n\r\nbody")
        view = memoryview(bytearray(4096))
        got = 0
        while b"body" not in view[:got].tobytes():
            n = conn.read_into(view[got:])
            assert n
            got += n
        assert view[:got].tobytes().endswith(b"from origin /a body")
        assert conn.is_alive()  # idle, nothing unsolicited
    finally:
        conn.close()
    assert origin.requests[0]["target"] == "/a"


@pytest.mark.parametrize("poll", [True, False], ids=["poll", "peek"])
def test_a_connection_over_it_is_alive_until_the_origin_closes(
    proxy, origin_factory, tls_ca, monkeypatch, poll
):
    """Idle tunnel: alive; once the origin closed it (and the proxy the outer
    connection): not. By poll() of the outer descriptor, or where there is none by
    a peek at the kernel socket under it."""
    if not poll:
        monkeypatch.setattr(_connection, "_make_poll", None)
    close = gevent.event.Event()

    def one_byte_then_close(conn: ServerConn) -> None:
        conn.sock.sendall(b"x")
        close.wait(TIMEOUT)

    origin = origin_factory(one_byte_then_close)
    tls = open_tunnel(proxy, origin, tls_ca)
    conn = Connection(tls, timeout=TIMEOUT)
    try:
        assert conn.read_bytes(1) == b"x"
        assert conn.is_alive()
        close.set()
        assert wait_until(lambda: not conn.is_alive())
    finally:
        conn.close()


def test_aborting_a_connection_over_it_wakes_its_reader(proxy, origin_factory, tls_ca):
    release = gevent.event.Event()

    def echo_once_then_stall(conn: ServerConn) -> None:
        conn.sock.sendall(conn.sock.recv(10))
        release.wait(TIMEOUT)

    origin = origin_factory(echo_once_then_stall)
    tls = open_tunnel(proxy, origin, tls_ca)
    tls.sendall(b"x")
    assert tls.recv(1) == b"x"  # whatever the origin sends unasked (tickets) is read
    conn = Connection(tls, timeout=TIMEOUT)
    reader = gevent.spawn(conn.read_bytes, 100)
    try:
        assert wait_until(lambda: tls.outer._read_event.active)  # waiting in there
        conn.abort("client closed")
        with pytest.raises(ClientClosed):
            reader.get(timeout=1)
        assert tls.outer.fileno() == -1
    finally:
        release.set()
        reader.kill()


def test_an_outer_socket_closed_under_a_waiting_read_is_an_oserror(proxy, origin_factory, tls_ca):
    """gevent's SSLSocket raises ValueError when it was closed while a read waited and
    the socket became readable before the close's wake-up: callers translate
    OSErrors (a closed plain socket gives EBADF), not that."""
    origin = origin_factory(echo)
    tls = open_tunnel(proxy, origin, tls_ca)
    outer = tls.outer

    class ClosedUnderTheRead:
        def recv(self, n: int) -> bytes:
            raise ValueError("Read on closed or unwrapped SSL socket.")

        def sendall(self, data: bytes) -> None:
            outer.sendall(data)

    try:
        tls.outer = ClosedUnderTheRead()
        with pytest.raises(OSError) as info:
            tls.recv(10)
        assert info.value.errno == errno.EBADF
    finally:
        outer.close()


def test_reads_and_writes_after_close_are_oserrors(proxy, origin_factory, tls_ca):
    origin = origin_factory(echo)
    tls = open_tunnel(proxy, origin, tls_ca)
    tls.close()
    for call in (
        lambda: tls.recv(1),
        lambda: tls.recv_into(bytearray(1)),
        lambda: tls.sendall(b"x"),
    ):
        with pytest.raises(OSError):
            call()


def test_closing_a_connection_over_it_keeps_the_origins_session(proxy, origin_factory, tls_ca):
    origin = origin_factory(echo)
    tls = open_tunnel(proxy, origin, tls_ca)
    tls.sendall(b"x")
    assert tls.recv(1) == b"x"
    proxy_session = tls.outer.session
    conn = Connection(tls, timeout=TIMEOUT)
    conn.keep_session = True
    conn.close()
    assert conn.tls_session is not None and conn.tls_session.id == tls.session.id
    assert conn.tls_session.id != proxy_session.id  # the origin's, not the proxy's
