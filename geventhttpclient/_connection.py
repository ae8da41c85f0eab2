"""One HTTP/1.1 connection: everything that reads from or writes to a socket once it
is open (``_net`` opens it).

A :class:`Connection` owns its socket, its response parser and, while a request
uses it, a receive buffer. It sends request heads and bodies (bytes, files by
``os.sendfile`` on plain TCP, length-checked streams, chunked iterables), receives
with ``network_timeout``, feeds the parser, answers whether it may serve another
request (:meth:`Connection.done`), and can be aborted from another greenlet.
Its ``state`` is one of :data:`NEW`, :data:`IDLE`, :data:`ACTIVE`, :data:`CLOSED`.

The pool (``connectionpool``) decides who gets which connection; a response hands
its connection back through the :class:`Releaser` protocol, which the pool and
``httplib``'s one-connection slot implement.
"""

from __future__ import annotations

import errno
import mmap
import os
import platform
import select as _select
import socket as _stdsocket
import ssl as _stdssl
import time
from typing import Any, Callable, Dict, Optional, Protocol

import gevent
import gevent.socket
import gevent.ssl
from gevent.hub import get_hub
from gevent.monkey import get_original

from ._cparser import ffi
from ._http11 import RequestBody, check_field, chunk_frames, host_header
from ._parser import DEFAULT_LIMITS, HTTPResponseParser, ParserLimits
from .exceptions import ClientClosed, ConnectionClosed, LimitExceeded, ReadTimeout, RequestError

__all__ = [
    "BUFFER_SIZE",
    "NEW",
    "IDLE",
    "ACTIVE",
    "CLOSED",
    "Connection",
    "RecvBuffer",
    "Releaser",
    "connect_head",
    "connect_tunnel",
    "make_poller",
    "socket_is_alive",
]

NEW = 0
"""Made, not yet given to a request."""
IDLE = 1
"""Kept alive in a pool between requests: it holds no receive buffer."""
ACTIVE = 2
"""Serving a request, from acquire until its response ends."""
CLOSED = 3
"""Its socket is closed (or it was aborted): never used again."""

BUFFER_SIZE = 65536
"""Receive buffer per active connection: one recv can take a whole 64 KiB read."""

# Private: the default anonymous mapping is shared, so after a fork() parent and
# child would receive into the same pooled pages. (No such flag, or fork, on Windows.)
_MAP_KW: Dict[str, int] = (
    {"flags": mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS} if hasattr(mmap, "MAP_PRIVATE") else {}
)

_PEEK_FLAGS = _stdsocket.MSG_PEEK | getattr(_stdsocket, "MSG_DONTWAIT", 0)
# The real poll even under gevent.monkey (Locust patches everything): the check must
# not yield.
_make_poll: Optional[Callable[[], Any]] = (
    get_original("select", "poll") if hasattr(_select, "poll") else None
)
_POLLIN = getattr(_select, "POLLIN", 1)
_SSLWantRead = _stdssl.SSLWantReadError
_SSLWantWrite = _stdssl.SSLWantWriteError
_SSLZeroReturn = _stdssl.SSLZeroReturnError
_SSLError = _stdssl.SSLError
_SSL_ERROR_EOF = _stdssl.SSL_ERROR_EOF
_TLS_TRY_FIRST = platform.python_implementation() != "PyPy"
"""Whether the first read of a TLS response tries the SSL object before waiting for
the socket. CPython: yes, the answer is usually there by then (over loopback 60-98%
of first reads at c=100 to 1) and waiting first cost more than the failed reads
(/small over TLS, c=10 and c=100, 9 alternated rounds: 0.88-0.91x of trying first).
PyPy: no, half the tries fail there and its ssl module makes each failure dear
(trying first: 0.68x at c=10, 0.79x at c=100). The SSL object may hold decrypted
bytes already; then it is read first either way."""
_TLS_WRITE_ONCE = 1 << 20
"""Largest write tried directly on the SSL object. OpenSSL wants a write it could not
finish retried with the same bytes; gevent's ``sendall``, which does the retry, sends
in chunks of at least 1 MiB, so up to that size its first chunk is those bytes."""

# Deadlines: not the loop's clock, which is the wall clock cached at the start of a
# loop iteration (a clock step or a long computation before the read would move them).
_monotonic = time.monotonic


class _Aborted:
    """What an aborted connection's socket becomes: every send or receive raises
    :class:`ClientClosed` (a new instance each time: re-raising one instance would
    grow its traceback), closing it again does nothing. The real socket is closed."""

    __slots__ = ("message",)

    def __init__(self, message: str) -> None:
        self.message = message

    def _fail(self, *args: Any, **kw: Any) -> Any:
        raise ClientClosed(errno.ECANCELED, self.message)

    recv = recv_into = send = sendall = sendfile = _fail

    def fileno(self) -> int:
        return -1

    def close(self) -> None:
        pass

    def settimeout(self, timeout: Any) -> None:
        pass

    def gettimeout(self) -> None:
        return None


class RecvBuffer:
    """Anonymous-mmap memory with a memoryview and a C pointer made once (both cost
    on each use).

    mmap rather than bytearray: a bytearray is zero-filled, so all 64 KiB are
    resident from the start, and once freed it sits in malloc's heap (PyPy's GC
    frees big objects in batches, fragmenting it); an anonymous mapping costs only the
    pages a response touches (one for a small response) and goes back to the
    kernel as a whole when dropped: RSS per pooled connection on PyPy 43 -> 35 KiB
    (benchmarks/results/HISTORY.md).
    """

    __slots__ = ("data", "view", "ptr", "size")

    def __init__(self, size: int = BUFFER_SIZE) -> None:
        try:
            self.data: Any = mmap.mmap(-1, size, **_MAP_KW)
        except OSError:  # out of mappings (vm.max_map_count): plain memory still works
            self.data = bytearray(size)
        self.view = memoryview(self.data)
        self.ptr = ffi.from_buffer(self.data)
        self.size = size


class Connection:
    """One socket, its parser and, while in use, a receive buffer.

    ``start:end`` is the part of the buffer received but not yet consumed by the
    parser; it must be presented to the parser again with whatever comes next.
    ``state``: :data:`NEW`, :data:`IDLE`, :data:`ACTIVE` or :data:`CLOSED` (set by the
    pool on acquire and release; closing or aborting sets ``CLOSED``).
    """

    __slots__ = (
        "state",
        "sock",
        "raw",
        "fd",
        "parser",
        "buf",
        "start",
        "end",
        "requests",
        "_raw_send",
        "_raw_recv_into",
        "_raw_recv",
        "_tls",
        "_read_event",
        "_hub",
        "_timer",
        "_timeout",
        "_waiting",
        "_since",
        "created_at",
        "idle_since",
        "queued",
        "phases",
        "parsed",
        "keep_session",
        "tls_session",
        "__weakref__",
    )

    def __init__(
        self,
        sock: Any,
        limits: ParserLimits = DEFAULT_LIMITS,
        timeout: Optional[float] = None,
    ):
        self.state = NEW
        self.sock = sock
        # The kernel socket under gevent's wrapper: direct non-blocking send and
        # receive, and the MSG_PEEK liveness check where poll() is missing.
        self.raw = getattr(sock, "_sock", sock)
        try:
            self.fd: int = sock.fileno()
        except (AttributeError, OSError, ValueError):
            self.fd = -1
        self.parser = HTTPResponseParser(limits)
        self.buf: Optional[RecvBuffer] = None
        self.start = 0
        self.end = 0
        self.requests = 0
        # Plain TCP only: TLS bytes must go through the SSL object, which waits itself.
        plain = not hasattr(sock, "do_handshake") and hasattr(sock, "_read_event")
        self._raw_send = getattr(self.raw, "send", None) if plain else None
        self._raw_recv_into = getattr(self.raw, "recv_into", None) if plain else None
        self._raw_recv = getattr(self.raw, "recv", None) if plain else None
        # TLS over gevent's SSLSocket: its SSL object (gevent's private ``_sslobj``,
        # the stdlib's C object over the non-blocking kernel socket) is read and
        # written directly, and waits use our timer, as for plain TCP. gevent's
        # SSLSocket made a timeout object and an exception for every wait and ran
        # three Python layers per read (/small over TLS, c=10, callgrind: 101,000 ->
        # 86,000 instructions per request). Anything else (a stdlib SSLSocket, an
        # unwrapped one) goes through the socket's own methods. (An SSLObject over
        # memory BIOs saves OpenSSL's second read() per record but costs more Python
        # calls per request: CPU per /small request 45 -> 56 us, /big no faster, in
        # a prototype on both interpreters.)
        tls = None
        if isinstance(sock, gevent.ssl.SSLSocket) and hasattr(sock, "_read_event"):
            tls = getattr(sock, "_sslobj", None)
        self._tls: Any = tls
        self._read_event = getattr(sock, "_read_event", None)
        self._hub: Any = None
        self._timer: Any = None  # armed while it may have a wait to watch
        self._timeout = timeout
        self._waiting: Any = None  # the greenlet waiting for this socket, if any
        self._since = 0.0  # time.monotonic() when that wait began
        self.created_at = _monotonic()
        """When the connection was made (``time.monotonic()``): its age."""
        self.idle_since = self.created_at
        """When it last went back to its pool (``time.monotonic()``; set by the pool
        while it has a ``keepalive_expiry`` or other lifecycle limit)."""
        self.queued = 0.0
        """Seconds the current request waited in the pool for it (set by the pool)."""
        self.phases: Any = None
        """How it was opened (a :class:`~geventhttpclient.timings.ConnectPhases`), or None."""
        self.parsed = 0
        """Bytes of the current response received and parsed so far."""
        self.keep_session = False
        """Keep the TLS session in :attr:`tls_session` when closing (for resumption)."""
        self.tls_session: Any = None

    def read_into(self, view: Any, nbytes: int = 0) -> int:
        """Receive into the caller's ``view`` (up to ``nbytes``, or its length) with
        ``network_timeout``; 0 means the peer closed. Cheaper than gevent's for plain TCP.

        gevent makes a new Timeout object for every wait of a socket with a timeout;
        we watch waits with one lazily re-armed timer per connection instead (see
        :meth:`_wait_readable`), over TLS too (the SSL object is read directly).
        """
        recv_into = self._raw_recv_into
        if recv_into is None:
            tls = self._tls
            if tls is not None:
                nbytes = nbytes or len(view)
                try:
                    return tls.read(nbytes, view)  # type: ignore[no-any-return]
                except (OSError, ValueError) as exc:  # SSLError (want more, EOF) is one
                    got: int = self._tls_again(exc, view, nbytes)
                    return got
            # (SSLSocket reads nothing for an explicit nbytes=0)
            sock = self.sock
            try:
                return sock.recv_into(view, nbytes or len(view))  # type: ignore[no-any-return]
            except (OSError, ValueError):
                if self.sock is not sock:  # aborted under the read: say so (ClientClosed)
                    return self.sock.recv_into(view, nbytes)  # type: ignore[no-any-return]
                raise
        while True:
            try:
                return recv_into(view, nbytes)  # type: ignore[no-any-return]
            except BlockingIOError:
                self._wait_readable()
            except InterruptedError:
                pass

    def read_bytes(self, nbytes: int) -> bytes:
        """Up to ``nbytes`` as a new bytes object (b"" when the peer closed)."""
        recv = self._raw_recv
        if recv is None:
            tls = self._tls
            if tls is not None:
                buf = self.buf
                if buf is not None and self.start == self.end and nbytes <= buf.size:
                    return self._tls_gather(buf.view, nbytes)
                try:
                    return tls.read(nbytes)  # type: ignore[no-any-return]
                except (OSError, ValueError) as exc:
                    data: bytes = self._tls_again(exc, None, nbytes)
                    return data
            sock = self.sock
            try:
                return sock.recv(nbytes)  # type: ignore[no-any-return]
            except (OSError, ValueError):
                if self.sock is not sock:  # aborted under the read: say so (ClientClosed)
                    return self.sock.recv(nbytes)  # type: ignore[no-any-return]
                raise
        while True:
            try:
                return recv(nbytes)  # type: ignore[no-any-return]
            except BlockingIOError:
                self._wait_readable()
            except InterruptedError:
                pass

    def _tls_gather(self, view: Any, nbytes: int) -> bytes:
        """:meth:`read_bytes` over TLS, through the idle receive buffer: what the first
        read brings (waiting for it) and the records that are here already, up to
        ``nbytes``, as one bytes object. A read of the SSL object ends at a record
        (16 KiB at most): a bytes object of each (CPython's makes one of ``nbytes``
        and shrinks it), joined by the caller, cost more (/big read(65536) over TLS,
        callgrind: 602M -> 570M instructions per 100 MiB)."""
        tls = self._tls
        try:
            got: int = tls.read(nbytes, view)
        except (OSError, ValueError) as exc:
            got = self._tls_again(exc, view, nbytes)
        while 0 < got < nbytes:
            try:
                n = tls.read(nbytes - got, view[got:])
            except (OSError, ValueError):
                break  # nothing more yet; or an end, which the next read meets again
            if not n:
                break
            got += n
        return view[:got].tobytes()  # type: ignore[no-any-return]

    def _tls_again(self, exc: BaseException, view: Any, nbytes: int) -> Any:
        """After a read of the SSL object raised ``exc``: wait and read again while it
        wants more bytes, then as :meth:`read_into` (``view``) or :meth:`read_bytes`
        (``view`` None). gevent's SSLSocket rules: with ``suppress_ragged_eofs`` (the
        default) a close_notify or an EOF without one ends the stream (0 or b""), and
        the response's framing decides whether it ended too early."""
        tls = self._tls
        while True:
            if not isinstance(exc, _SSLWantRead):
                sock = self.sock
                if getattr(sock, "_sslobj", None) is not tls or isinstance(exc, _SSLWantWrite):
                    # Closed or unwrapped under us (gevent's SSLSocket raises its own
                    # error), or the SSL object must send first (a renegotiation:
                    # gevent's SSLSocket waits for room).
                    return sock.recv(nbytes) if view is None else sock.recv_into(view, nbytes)
                if (
                    isinstance(exc, _SSLZeroReturn)
                    or (isinstance(exc, _SSLError) and exc.args[0] == _SSL_ERROR_EOF)
                ) and getattr(sock, "suppress_ragged_eofs", True):
                    return b"" if view is None else 0
                raise exc
            self._wait_readable()
            try:
                return tls.read(nbytes) if view is None else tls.read(nbytes, view)
            except (OSError, ValueError) as again:
                exc = again

    def _wait_readable(self) -> None:
        """Wait until the socket is readable, at most ``timeout`` seconds.

        Starting and stopping a loop timer around every wait cost more than the
        wait itself on PyPy (gevent's cffi watchers; it also pushed the request's
        JIT trace over PyPy's length limit). So a wait only notes when it began,
        and a timer armed on the first wait checks when it fires: past the
        deadline it fails the read, before it re-arms for what is left, and with
        no wait in progress it stays off until the next one. A busy connection
        pays for one timer start per ``timeout`` seconds, not per request.
        """
        hub = self._hub
        if hub is None:
            hub = self._hub = get_hub()
        timeout = self._timeout
        if timeout is None:
            hub.wait(self._read_event)
            return
        self._since = _monotonic()
        self._waiting = gevent.getcurrent()
        if self._timer is None:
            self._arm(timeout)
        try:
            hub.wait(self._read_event)
        finally:
            self._waiting = None

    def _arm(self, seconds: float) -> None:
        # Unreferenced: a timer watching an idle connection must not keep the loop
        # (gevent.wait(), a hub join) alive; a real wait holds it through its socket.
        timer = self._timer = self._hub.loop.timer(seconds, ref=False)
        timer.start(self._check_deadline)

    def _check_deadline(self) -> None:
        """Timer callback (runs in the hub)."""
        old, self._timer = self._timer, None
        if old is not None:
            old.close()
        glet = self._waiting
        timeout = self._timeout
        if glet is None or timeout is None:
            return  # nothing waits: off until the next wait
        left = self._since + timeout - _monotonic()
        if left > 0:
            self._arm(left)
            return
        self._waiting = None
        glet.throw(ReadTimeout(errno.ETIMEDOUT, f"no data from the server for {timeout}s"))

    def write(self, data: bytes) -> bool:
        """Send all of ``data``; one direct non-blocking send when the kernel takes it all.
        Returns True if that one send (or TLS write) took it, False if it had to wait.

        gevent's ``sendall`` asks the kernel for the send buffer size on every call (a
        syscall per request); a request head almost always fits in one ``send``.
        """
        send = self._raw_send
        if send is not None:
            try:
                n = send(data)
            except BlockingIOError:
                n = 0
            if n == len(data):
                return True
            data = memoryview(data)[n:]
        elif self._tls is not None and len(data) <= _TLS_WRITE_ONCE:
            try:
                # without SSL_MODE_ENABLE_PARTIAL_WRITE (neither CPython nor PyPy sets
                # it) a write that returns wrote all of it
                self._tls.write(data)
                return True
            except (_SSLWantWrite, _SSLWantRead):
                pass  # no room: gevent's sendall waits and retries with the same bytes
            except OSError:
                if getattr(self.sock, "_sslobj", None) is self._tls:
                    raise
                # closed or unwrapped under us: gevent's own error, as before
        self.sock.sendall(data)
        return False

    def send(self, head: bytes, body: RequestBody, block_size: int = 65536) -> int:
        """Send a request: ``head`` (b"" when it went already, before a 100
        Continue), then ``body`` as :func:`~geventhttpclient._http11.prepare_body`
        framed it. A small body goes in one write with the head. Returns the
        bytes sent (head and framed body)."""
        kind = body.kind
        if kind == "none":
            self.write(head)
            return len(head)
        if kind == "bytes":
            data = body.data
            if len(data) <= 65536:
                self.write(head + data if head else data)
            else:
                sock = self.sock
                if head:
                    sock.sendall(head)
                sock.sendall(data)
            return len(head) + len(data)
        if kind == "file":
            if head:
                self.sock.sendall(head)
            self._send_file(body, block_size)
            return len(head) + (body.length or 0)
        if kind == "stream":
            if head:
                self.write(head)
            self._send_sized_stream(body)
            return len(head) + (body.length or 0)
        # "chunked"
        sock = self.sock
        first = True
        sent = len(head)
        for frame in chunk_frames(body.chunks or ()):
            sent += len(frame)
            if first and head:
                frame = head + frame
                first = False
            sock.sendall(frame)
        return sent

    def _send_sized_stream(self, body: RequestBody) -> None:
        """Blocks of a body whose length was declared: exactly that many bytes, or a
        RequestError (the server would wait for the rest, or read the excess as the
        next request)."""
        sock = self.sock
        expected = body.length or 0
        sent = 0
        for block in body.chunks or ():
            data = block.encode("utf-8") if isinstance(block, str) else bytes(block)
            sent += len(data)
            if sent > expected:
                raise RequestError(f"body longer than its Content-Length {expected}")
            sock.sendall(data)
        if sent != expected:
            raise RequestError(f"body of {sent} bytes, Content-Length said {expected}")

    def _send_file(self, body: RequestBody, block_size: int) -> None:
        """A sized file body: by ``os.sendfile`` on plain TCP (no copy through
        Python), else read and sent in blocks. A file shorter than its size fails
        the request rather than leave the server waiting."""
        f = body.file
        length = body.length or 0
        sock = self.sock
        if self._raw_send is not None and hasattr(os, "sendfile"):
            fd = f.fileno()
            offset = body.start
            out = sock.fileno()
            sent = 0
            while sent < length:
                try:
                    n = os.sendfile(out, fd, offset + sent, length - sent)
                except BlockingIOError:
                    gevent.socket.wait_write(out, self._timeout)
                    continue
                if n == 0:
                    break
                sent += n
            f.seek(offset + sent)
            if sent < length:
                raise ConnectionClosed(errno.EIO, "file shorter than its size while sending")
            return
        left = length
        while left > 0:
            block = f.read(min(left, block_size))
            if not block:
                raise ConnectionClosed(errno.EIO, "file shorter than its size while sending")
            sock.sendall(block)
            left -= len(block)

    def await_continue(self, timeout: float) -> bool:
        """After a head with ``Expect: 100-continue``: wait up to ``timeout`` seconds
        for the interim answer; True if a final response came instead (the body is
        then not sent), or the connection closed.

        A final response that arrives together with (after) a 100 Continue does not
        cancel the body: the server asked for it and reads it before the next
        request, so it is sent.
        """
        parser = self.parser
        with gevent.Timeout(timeout, False):
            while not parser.interim and not parser.headers_complete:
                if self.fill() == 0:
                    return True  # the head reader reports the close
                self.parse()
        return parser.headers_complete and 100 not in parser.interim

    def fill(self) -> int:
        """Receive more into the connection's buffer, after the bytes the parser has
        not consumed; returns how many (0: the peer closed)."""
        buf: RecvBuffer = self.buf  # type: ignore[assignment]  # ACTIVE: it has one
        end = self.end
        if end == buf.size:
            self._make_room()
            buf = self.buf  # type: ignore[assignment]
            end = self.end
        n = self.read_into(buf.view[end:] if end else buf.view)
        self.end = end + n
        return n

    def fill_first(self) -> int:
        """:meth:`fill` for the first bytes of the response to a request just sent.

        They cannot be there yet (the server has to answer first), so on plain TCP
        we wait for readability before trying: trying first fails with EAGAIN on
        99.9% of requests, and CPython makes an exception with a decoded message
        of each (/small c=100: 33,000 -> 39,800 req/s; benchmarks/results/HISTORY.md).
        Over TLS, see :data:`_TLS_TRY_FIRST`.
        """
        if self.end:
            return self.fill()
        if self._raw_recv_into is None:
            tls = self._tls
            if tls is None or _TLS_TRY_FIRST or tls.pending():
                return self.fill()
        self._wait_readable()
        n = self.end = self.read_into(self.buf.view)  # type: ignore[union-attr]
        return n

    def _make_room(self) -> None:
        buf = self.buf
        assert buf is not None
        pending = self.end - self.start
        if self.start:
            buf.data[:pending] = buf.data[self.start : self.end]
        else:
            # One unit (a head, a chunk-size line) fills the buffer: the parser's
            # limits stop this before it grows far past max_head.
            limit = self.parser.limits.max_head * 2
            if buf.size >= limit:
                raise LimitExceeded("response head exceeds the buffer limit", "GH_E_BUFFER")
            bigger = RecvBuffer(buf.size * 2)
            bigger.data[:pending] = buf.data[: self.end]
            self.buf = bigger
        self.start = 0
        self.end = pending

    def parse(self) -> int:
        """Feed the unconsumed bytes to the parser; returns bytes consumed."""
        buf: RecvBuffer = self.buf  # type: ignore[assignment]  # ACTIVE: it has one
        start = self.start
        end = self.end
        n = self.parser.feed(buf.ptr + start if start else buf.ptr, end - start, buf.data, start)
        self.parsed += n
        start += n
        if start == end:
            self.start = self.end = 0
        else:
            self.start = start
        return n

    @property
    def pending(self) -> int:
        """Bytes received and not yet consumed."""
        return self.end - self.start

    def is_alive(self, poller: Any = None) -> bool:
        """False if the server closed the idle connection or sent unsolicited bytes.

        ``poller``: a ``select.poll`` object with nothing registered, to reuse (one
        per pool: pools are not shared between threads, and a poll object must not
        be used by two at once).
        """
        # Bytes already out of the kernel socket, where poll() cannot see them: the
        # rest of a TLS record whose start ended the last body.
        tls = self._tls
        if tls is not None:
            if tls.pending():
                return False
        elif self._raw_recv is None:  # neither plain TCP nor gevent's TLS (TLS in TLS)
            pending = getattr(self.sock, "pending", None)
            if pending is not None and pending():
                return False
        if poller is None and _make_poll is not None:
            poller = _make_poll()
        fd = self.fd
        if poller is not None and fd >= 0:
            try:
                poller.register(fd, _POLLIN)
                try:
                    # readable: closed, or bytes nobody asked for (POLLHUP and
                    # POLLERR are reported too)
                    ready = poller.poll(0)
                    return not ready or all(f != fd for f, _ in ready)
                finally:
                    poller.unregister(fd)
            except (OSError, ValueError):
                return False
        try:
            self.raw.recv(1, _PEEK_FLAGS)  # b"": closed; bytes: nobody asked for them
            return False
        except BlockingIOError:
            return True
        except (OSError, ValueError):
            return False

    def done(self, reusable: bool) -> bool:
        """The response on this connection is complete: may the connection serve
        another request? Only if the request was sent in full and did not ask to
        close (``reusable``), the server allows keep-alive, nothing arrived past the
        message (never to be read as the next answer), it was not upgraded to
        another protocol and nobody aborted it meanwhile."""
        parser = self.parser
        return (
            reusable
            and parser.keep_alive
            and self.end == self.start
            and not parser.upgraded
            and self.state == ACTIVE
        )

    def close(self) -> None:
        if self.keep_session:
            self.tls_session = getattr(self.sock, "session", None)
        self.state = CLOSED
        self.fd = -1  # the number may be reused by the next socket
        self._tls = None
        timer, self._timer = self._timer, None
        if timer is not None:
            timer.close()
        try:
            self.sock.close()
        except OSError:
            pass

    def abort(self, message: str) -> None:
        """Close the connection under whoever uses it, with :class:`ClientClosed`.

        A greenlet waiting on the socket (for the answer, for room to send, inside
        TLS) gets the error at once, before gevent's own "closed in another
        greenlet" error could reach it; any later send or receive raises it too, so
        a streaming response read after the abort fails the same way instead of
        reading a closed (or re-used) descriptor.
        """
        sock = self.sock
        if isinstance(sock, _Aborted):
            return
        self.state = CLOSED
        self.sock = self.raw = _Aborted(message)
        self._raw_send = self._raw_recv_into = self._raw_recv = self._tls = None
        hub = self._hub or get_hub()
        for event in (getattr(sock, "_read_event", None), getattr(sock, "_write_event", None)):
            if event is not None:
                hub.cancel_wait(event, ClientClosed(errno.ECANCELED, message))
        self.fd = -1
        timer, self._timer = self._timer, None
        if timer is not None:
            timer.close()
        try:
            sock.close()
        except OSError:
            pass


class Releaser(Protocol):
    """Where a response gives its connection back when it ends: the pool, or
    ``httplib``'s one-connection slot."""

    trace: Any
    """A trace hook (see :mod:`geventhttpclient.timings`), or None."""

    def release(self, conn: Connection) -> None:
        """The response is complete and the connection may serve another request."""

    def discard(self, conn: Connection, reason: str = ...) -> None:
        """The connection must not be reused: close it and free its place."""

    def discard_soon(self, conn: Connection) -> None:
        """:meth:`discard` from the hub's next loop iteration (safe in finalisers)."""


# The real poll even under gevent.monkey (Locust patches everything): the check must
# not yield.
def make_poller() -> Any:
    """A ``select.poll`` object for :meth:`Connection.is_alive` (None where there is
    no poll): one per pool, as a poll object must not be used by two at once."""
    return _make_poll() if _make_poll is not None else None


def socket_is_alive(sock: Any) -> bool:
    """2.x's liveness check of an idle socket: False when closed by either side or
    when unsolicited bytes wait (the rule of :meth:`Connection.is_alive`)."""
    if sock.fileno() < 0:
        return False
    raw = getattr(sock, "_sock", sock)
    try:
        raw.recv(1, _PEEK_FLAGS)  # b"": closed; bytes: nobody asked for them
        return False
    except BlockingIOError:
        return True
    except (OSError, ValueError):
        return False


def connect_head(host: str, port: int, fields: Dict[str, str]) -> bytes:
    """The CONNECT request for a tunnel to ``host:port`` (RFC 9110 9.3.6) with
    ``fields`` (``Proxy-Authorization``, a caller's own), each validated: an
    injected CR/LF must not reach the proxy."""
    authority = host_header(host, port, -1)
    lines = [f"CONNECT {authority} HTTP/1.1".encode("ascii")]
    for name, value in {"Host": authority, **fields}.items():
        n, v = check_field(name, value)
        lines.append(n + b": " + v)
    return b"\r\n".join(lines) + b"\r\n\r\n"


def connect_tunnel(sock: Any, head: bytes, limits: ParserLimits = DEFAULT_LIMITS) -> Any:
    """Send a CONNECT request ``head`` to an HTTP proxy and read its response head.

    Returns the parser (status, reason, header pairs). Raises :class:`ConnectionClosed`
    if the proxy closes first, :class:`HTTPParseError` for a malformed answer, and
    :class:`UnexpectedResponse` if the proxy sends bytes past its 2xx head (nothing
    may come before our TLS handshake). Callers turn these into their own errors.
    """
    from .exceptions import UnexpectedResponse

    sock.sendall(head)
    parser = HTTPResponseParser(limits)
    parser.start(tunnel=True)
    data = b""
    while not parser.headers_complete:
        block = sock.recv(8192)
        if not block:
            raise ConnectionClosed(errno.ECONNRESET, "proxy closed the connection during CONNECT")
        data += block
        data = data[parser.feed(data) :]
    if data and 200 <= parser.status_code < 300:
        raise UnexpectedResponse("proxy sent bytes after its CONNECT response")
    return parser
