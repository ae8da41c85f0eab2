"""TLS in TLS: the origin's TLS session carried inside the TLS session to an
``https://`` proxy (after the proxy answered our CONNECT).

Why: an HTTPS proxy speaks TLS itself, so after CONNECT the tunnel to the origin is
the *plaintext* of the proxy's TLS connection. The origin's TLS cannot be
``wrap_socket``-ed onto that (OpenSSL would read and write the kernel socket,
underneath the proxy's TLS); it runs on memory instead: an ``ssl.SSLObject`` over two
``ssl.MemoryBIO`` (the shape of urllib3's ``SSLTransport``, written here for gevent).

Theory of operation: the inner ``SSLObject`` never touches a socket. Whenever it
wants bytes (``SSLWantReadError``) we flush what it has written to the outer socket
and feed it one ``recv`` of the outer socket's plaintext; whatever it writes we send
with the outer socket's ``sendall``. So every wait is a wait of the outer gevent
``SSLSocket``, under its timeout (a stalled origin or proxy raises ``socket.timeout``,
which the caller translates), and ``Connection.abort`` from another greenlet cancels
it through the outer's read and write events (:attr:`TLSInTLS._read_event`).

End of stream, as gevent's ``suppress_ragged_eofs`` (the default) has it: the
origin's close_notify and an EOF without one both read as 0 / ``b""``; a body cut
short is caught by the HTTP framing above. Any other ``ssl`` error (a certificate
that does not verify, a bad record) propagates unchanged for ``_net`` to translate.

Like a socket, one greenlet may read while another writes; two readers (or two
writers) at once are not supported.
"""

from __future__ import annotations

import errno
import socket as _stdsocket
import ssl
from typing import Any, Optional, Tuple, Union

__all__ = ["TLSInTLS"]

_RECV_SIZE = 65536
"""Plaintext asked of the outer socket per wait. One outer read returns at most one
outer record (16 KiB); asking for more costs nothing (the bytes object is shrunk)."""

_WRITE_CHUNK = 65536
"""Plaintext encrypted per step of a large ``sendall``: the inner ciphertext of one
step sits in memory (``MemoryBIO``) until the outer socket has sent it, so a body of
many MiB is never held twice over."""

_Buffer = Union[bytes, bytearray, memoryview]


def _bytes_view(data: Any) -> memoryview:
    """A flat memoryview of bytes over ``data``; ``cast`` only when it is not one
    already: PyPy copies a cast view byte by byte when the ``ssl`` module turns it
    into bytes (a 6 MiB upload took 1 s instead of 0.1 s, blocking the hub)."""
    view = data if isinstance(data, memoryview) else memoryview(data)
    if view.format != "B" or view.ndim != 1:
        view = view.cast("B")
    return view


def _is_eof(exc: ssl.SSLError) -> bool:
    """An end of the inner stream: the origin's close_notify (``SSLZeroReturnError``)
    or the tunnel ending without one (``SSLEOFError``; PyPy's ssl reports some as a
    plain ``SSLError`` with ``SSL_ERROR_EOF``)."""
    return isinstance(exc, (ssl.SSLZeroReturnError, ssl.SSLEOFError)) or (
        bool(exc.args) and exc.args[0] in (ssl.SSL_ERROR_EOF, ssl.SSL_ERROR_ZERO_RETURN)
    )


class TLSInTLS:
    """A client TLS session to ``server_hostname`` over ``outer``, a connected gevent
    ``SSLSocket`` to an HTTPS proxy whose CONNECT tunnel is open. The constructor does
    the handshake.

    It has the socket surface ``_connection.Connection`` uses for a socket that is
    neither plain TCP nor a gevent ``SSLSocket`` (``recv_into``, ``recv``, ``send``,
    ``sendall``, ``settimeout``, ``fileno``, ``close``...) and the TLS facts of the
    *origin's* session (``version()``, ``cipher()``, ``getpeercert()``, ``session``);
    the proxy's are on :attr:`outer`.

    Raises what the handshake raises: ``ssl.SSLCertVerificationError`` (origin's
    certificate or name), other ``ssl.SSLError`` (``SSLEOFError`` when the tunnel
    closed during the handshake), ``socket.timeout`` from the outer's timeout,
    ``OSError``. It does not close ``outer`` then: its caller owns it until this
    returns.
    """

    __slots__ = ("outer", "_incoming", "_outgoing", "_tls", "_eof", "_closed")

    def __init__(
        self,
        outer: Any,
        context: ssl.SSLContext,
        server_hostname: str,
        session: Optional[ssl.SSLSession] = None,
    ) -> None:
        self.outer = outer
        """The TLS socket to the proxy, which carries this session's records."""
        self._incoming = ssl.MemoryBIO()
        self._outgoing = ssl.MemoryBIO()
        self._tls: ssl.SSLObject = context.wrap_bio(
            self._incoming, self._outgoing, server_hostname=server_hostname, session=session
        )
        self._eof = False  # the inner stream ended: every read returns 0 from now on
        self._closed = False
        self.do_handshake()

    # -- the handshake and the pump ----------------------------------------------------------

    def do_handshake(self) -> None:
        """Run (or finish) the handshake with the origin.

        Its presence also tells ``Connection`` that this is not plain TCP (which it
        would read and write past the TLS, through the kernel socket)."""
        while True:
            try:
                self._tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                self._flush()
                self._fill()
            except ssl.SSLError:
                # The alert OpenSSL wrote (bad certificate, unknown CA...) tells the
                # origin why; best effort, the error is what matters.
                try:
                    self._flush()
                except OSError:
                    pass
                raise
        self._flush()  # the client's Finished

    def _flush(self) -> None:
        """Send what the inner session wrote (records, alerts) through the outer."""
        outgoing = self._outgoing
        if outgoing.pending:
            self.outer.sendall(outgoing.read())

    def _fill(self) -> None:
        """Wait for the outer's next plaintext and give it to the inner session; at
        the outer's end of stream, tell the inner one (it then reports EOF)."""
        try:
            data = self.outer.recv(_RECV_SIZE)
        except ValueError as exc:
            # gevent's SSLSocket closed while this read waited (Connection.abort
            # from another greenlet, when the socket became readable before the
            # abort's wake-up ran): an OSError, as a closed plain socket gives, for
            # the callers to translate.
            raise OSError(errno.EBADF, "the TLS connection to the proxy was closed") from exc
        if data:
            self._incoming.write(data)
        else:
            self._incoming.write_eof()

    # -- reading ------------------------------------------------------------------------------

    def recv_into(self, buffer: Any, nbytes: Optional[int] = None, flags: int = 0) -> int:
        """Receive up to ``nbytes`` (default: the buffer's size) into ``buffer``;
        0 at the end of the stream.

        One call returns at most one inner record (16 KiB), as a read of an
        ``SSLSocket`` does. (Taking the records already here too would rarely find
        one: an inner record is 16 KiB plus its overhead, so it arrives in two outer
        records, and each ``recv`` of the outer gives one.)"""
        if flags:
            raise ValueError("non-zero flags not allowed in calls to recv_into() on TLSInTLS")
        view = _bytes_view(buffer)
        size = len(view)
        nbytes = size if not nbytes else min(nbytes, size)
        if nbytes <= 0 or self._eof:
            return 0
        got: int = self._read(nbytes, view)
        return got

    def recv(self, buflen: int = 1024, flags: int = 0) -> bytes:
        """Up to ``buflen`` bytes (at most one record); ``b""`` at the end of the
        stream."""
        if flags:
            raise ValueError("non-zero flags not allowed in calls to recv() on TLSInTLS")
        if buflen <= 0 or self._eof:
            return b""
        data: bytes = self._read(buflen, None)
        return data

    def _read(self, nbytes: int, view: Optional[memoryview]) -> Any:
        """One inner read (into ``view``, or as bytes), waiting on the outer socket
        while the inner session wants more bytes."""
        tls = self._tls
        while True:
            try:
                # (typeshed says bytearray; any writable buffer does)
                got = tls.read(nbytes) if view is None else tls.read(nbytes, view)  # type: ignore[arg-type]
            except ssl.SSLWantReadError:
                # TLS 1.3 may have written (a KeyUpdate answer) before wanting more.
                self._flush()
                self._fill()
                continue
            except ssl.SSLError as exc:
                if not _is_eof(exc):
                    raise
                self._eof = True
                return b"" if view is None else 0
            if self._outgoing.pending:
                self._flush()
            if not got:
                self._eof = True
            return got

    def pending(self) -> int:
        """Bytes here that a read takes without waiting on the outer socket: the
        decrypted ones (as ``SSLSocket.pending``) plus the inner records received and
        not yet decrypted. Nonzero on an idle connection means bytes nobody asked for
        (``Connection.is_alive``: poll() on the descriptor cannot see these)."""
        return self._tls.pending() + self._incoming.pending

    # -- writing ------------------------------------------------------------------------------

    def send(self, data: _Buffer, flags: int = 0) -> int:
        """Send up to :data:`_WRITE_CHUNK` bytes of ``data``; returns how many."""
        if flags:
            raise ValueError("non-zero flags not allowed in calls to send() on TLSInTLS")
        view = _bytes_view(data)[:_WRITE_CHUNK]
        if not len(view):
            return 0
        return self._write(view)

    def sendall(self, data: _Buffer, flags: int = 0) -> None:
        """Send all of ``data``, encrypted in steps of :data:`_WRITE_CHUNK`. It waits
        where the outer ``sendall`` waits (the kernel's buffer full), as a socket's
        does."""
        if flags:
            raise ValueError("non-zero flags not allowed in calls to sendall() on TLSInTLS")
        view = _bytes_view(data)
        for start in range(0, len(view), _WRITE_CHUNK):
            self._write(view[start : start + _WRITE_CHUNK])

    def _write(self, view: memoryview) -> int:
        """Encrypt ``view`` (the memory BIO takes all of it) and send the records."""
        tls = self._tls
        while True:
            try:
                n = tls.write(view)
                break
            except ssl.SSLWantReadError:
                # Only while a handshake is pending (TLS 1.2 renegotiation): it needs
                # the peer's answer first.
                self._flush()
                self._fill()
        self._flush()
        return n

    # -- closing --------------------------------------------------------------------------

    def close(self) -> None:
        """Close the outer socket (and with it the tunnel). No close_notify is sent
        to the origin, as gevent's ``SSLSocket.close`` sends none: a connection is
        closed when idle or broken, and waiting to write then helps nobody. The
        origin's session stays readable (:attr:`session`) for resumption."""
        self._closed = True
        self.outer.close()

    def shutdown(self, how: int) -> None:
        """End the inner stream, not the TCP connection: ``SHUT_WR`` (and
        ``SHUT_RDWR``) send the origin our close_notify, which it reads as the end
        while it can still answer; ``SHUT_RD`` (and ``SHUT_RDWR``) make our reads
        return the end.

        The TCP connection is left alone because a half-close of it would end the
        *outer* session: OpenSSL 3 treats an EOF without close_notify as a fatal
        error (the proxy answers with a decode_error alert), and gevent's
        ``SSLSocket.shutdown`` drops the outer TLS state besides."""
        if how != _stdsocket.SHUT_RD:
            try:
                self._tls.unwrap()
            except ssl.SSLWantReadError:
                pass  # sent; it would wait for the origin's close_notify: not ours to wait for
            self._flush()
        if how != _stdsocket.SHUT_WR:
            self._eof = True

    @property
    def closed(self) -> bool:
        return self._closed

    # -- socket facts, delegated to the outer socket -------------------------------------

    def fileno(self) -> int:
        """The outer socket's descriptor: ``Connection.is_alive`` polls it (an idle
        tunnel with anything to read is not reusable)."""
        return self.outer.fileno()

    def settimeout(self, timeout: Optional[float]) -> None:
        """The timeout of every wait: all of them are the outer socket's."""
        self.outer.settimeout(timeout)

    def gettimeout(self) -> Optional[float]:
        return self.outer.gettimeout()

    def setsockopt(self, *args: Any) -> None:
        self.outer.setsockopt(*args)

    def getsockopt(self, *args: Any) -> Any:
        return self.outer.getsockopt(*args)

    def getpeername(self) -> Any:
        """The proxy's address: the TCP peer."""
        return self.outer.getpeername()

    def getsockname(self) -> Any:
        return self.outer.getsockname()

    @property
    def _sock(self) -> Any:
        """The kernel socket under the outer one, as gevent names it on its sockets:
        where ``poll()`` is missing, ``Connection.is_alive`` peeks at it (any byte
        there, or its end, means an idle tunnel is not reusable), as it does under a
        gevent ``SSLSocket``. Never read or written: that would bypass both TLS
        sessions (``do_handshake`` keeps ``Connection`` from treating this as
        plain TCP)."""
        return self.outer._sock

    @property
    def _read_event(self) -> Any:
        """The outer's read watcher: ``Connection.abort`` cancels a wait on it from
        another greenlet (every read of ours waits there)."""
        return self.outer._read_event

    @property
    def _write_event(self) -> Any:
        """The outer's write watcher, for the same reason."""
        return self.outer._write_event

    # -- TLS facts of the origin's session --------------------------------------------------

    @property
    def context(self) -> ssl.SSLContext:
        return self._tls.context

    @property
    def server_hostname(self) -> Optional[str]:
        """The origin's name, sent as SNI and verified against its certificate."""
        return self._tls.server_hostname

    @property
    def session(self) -> Optional[ssl.SSLSession]:
        """The origin's TLS session, to resume on the next tunnel to it."""
        return self._tls.session

    @property
    def session_reused(self) -> bool:
        return bool(self._tls.session_reused)

    def version(self) -> Optional[str]:
        return self._tls.version()

    def cipher(self) -> Optional[Tuple[str, str, int]]:
        return self._tls.cipher()

    def shared_ciphers(self) -> Optional[Any]:
        return self._tls.shared_ciphers()

    def compression(self) -> Optional[str]:
        return self._tls.compression()

    def getpeercert(self, binary_form: bool = False) -> Any:
        """The origin's certificate (the proxy's: ``outer.getpeercert()``)."""
        return self._tls.getpeercert(binary_form)

    def selected_alpn_protocol(self) -> Optional[str]:
        return self._tls.selected_alpn_protocol()

    def get_channel_binding(self, cb_type: str = "tls-unique") -> Optional[bytes]:
        return self._tls.get_channel_binding(cb_type)

    def __repr__(self) -> str:
        state = "closed" if self._closed else self._tls.version()
        return f"<TLSInTLS {self._tls.server_hostname} {state} via {self.outer!r}>"
