"""The streaming, file-like response.

A response holds its connection only until the message is complete: the moment the
parser reports the end of the body (often while the head is read, for small
responses) the connection goes back to the pool, and the response keeps the body
bytes it already received. A connection goes back only if the server allowed
keep-alive and sent nothing past the end of the message; every other ending, an
error included, closes it.

Large Content-Length bodies skip the receive buffer: ``read(n)`` takes bytes straight
from ``recv`` and ``readinto(b)`` receives straight into ``b``; the parser then only
counts them.

``HTTPResponse`` here is 2.x's other face, the parser object fed bytes by hand
(:mod:`geventhttpclient._sansio`); streaming responses count as instances of it.
"""

from __future__ import annotations

import platform
import weakref
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Optional, Sequence, Tuple, Type, Union

from ._net import translate
from ._parser import (
    F_CODED,
    F_COOKIE,
    F_COOKIE2,
    HTTPResponseParser,  # noqa: F401 - 2.x's response had it
    reason_phrase,
    split_fields,
)
from ._sansio import HTTPResponse, readline_arguments
from ._sansio import make_headers as _make_headers
from .exceptions import (
    ConnectionClosed,
    HTTPConnectionClosed,
    HTTPParseError,
    HTTPProtocolViolationError,
    IncompleteResponse,
)
from .header import HeadAccess, Headers
from .sse import (
    DEFAULT_MAX_EVENT_SIZE,
    DEFAULT_MAX_LINE_SIZE,
    ServerSentEvent,
    iter_events,
    iter_lines,
)
from .timings import Timings
from .timings import clock as _clock

if TYPE_CHECKING:
    from ._connection import Connection, Releaser

__all__ = [
    "HTTPResponse",
    "HTTPSocketPoolResponse",
    "TracedResponse",
    "HTTPSocketResponse",
    "HTTPConnectionClosed",
    "HTTPParseError",
    "HTTPProtocolViolationError",
]

_RECV_INTO_COPY = platform.python_implementation() == "PyPy"
"""How ``read(n)`` gets bytes: CPython's ``recv`` fills a new bytes object with one
copy; PyPy's ``recv`` is slower than filling our buffer and copying once (/big,
1,040 against 1,350 MB/s when it was measured; benchmarks/results/HISTORY.md)."""

DIRECT_READ_MIN = 16384
"""Reads at least this large bypass the receive buffer (one copy fewer)."""


def _collected(pool: Releaser, conn: Connection) -> None:
    """A streaming response was dropped unread. No reliance on this for correctness
    (PyPy collects late); it stops a forgotten response from pinning a pool slot
    forever. It may run in the middle of another greenlet's pool operation, so the
    pool is touched later, from the hub."""
    try:
        pool.discard_soon(conn)
    except Exception:  # noqa: BLE001 - never raise from a finaliser
        pass


_FLAGGED_FIELDS = {"content-encoding": F_CODED, "set-cookie": F_COOKIE, "set-cookie2": F_COOKIE2}
"""Lowercase names whose presence the C parser notes in its flags as it validates the
head (the names the agents ask about for every response)."""

_FIELD_NEEDLES: Dict[str, bytes] = {}
"""has_field's search strings (``b"\\ncontent-encoding:"``) by the names asked for,
made once: the agents ask for the same two or three names on every response."""

_RESET = (ConnectionResetError, ConnectionAbortedError, BrokenPipeError)


def _cut_short(exc: BaseException, where: str) -> BaseException:
    """The library error for a failure after the response began. A reset there ends
    the message early: IncompleteResponse, never ConnectionClosed, which means "no
    byte of the response arrived" and lets idempotent requests be retried."""
    if isinstance(exc, _RESET):
        return IncompleteResponse(f"connection reset {where}: {exc}", "HP_E_INCOMPLETE", 0)
    return translate(exc, f"reading the response {where}")


def byte_view(b: Any) -> memoryview:
    """A flat, writable byte view of ``b``, cast only when its items are not bytes:
    on PyPy 7.3 a socket refuses to receive into a slice of a cast memoryview."""
    mv = memoryview(b)
    if mv.itemsize != 1 or mv.ndim != 1:
        mv = mv.cast("B")
    return mv


class HTTPSocketPoolResponse(HeadAccess):
    """A response read from a pooled connection.

    Attributes from 2.x: ``status_code``, ``status_message``, ``version``, ``headers``
    (a :class:`Headers`), ``content_length``/``length``, ``method``,
    ``headers_complete``, ``message_complete``; methods ``read``, ``readinto``,
    ``readline``, iteration (blocks of ``block_size``), ``release``, ``get``,
    ``items``, ``info``, ``should_keep_alive``, ``should_close``, context manager.
    New here: ``read1`` (what has arrived), ``iter_lines`` and ``iter_events``
    (server-sent events, content-decoded: see :mod:`geventhttpclient.sse`),
    ``started_at`` and ``timings``.

    Reading raises :class:`IncompleteResponse` if the connection ends before the
    body does, :class:`HTTPParseError` for malformed framing and a
    :class:`NetworkError` subclass for transport failures.
    """

    # Slots: one response is made per request, and slot stores are the cheapest kind
    # (a dict-backed instance whose attributes are set in varying order rebuilds its
    # dict). __dict__ stays for code that hangs its own attributes on responses.
    __slots__ = (
        "_conn",
        "_pool",
        "method",
        "block_size",
        "_headers_type",
        "sent_request",
        "_parser",
        "_chunks",
        "_off",
        "_headers",
        "_keep_alive",
        "_complete",
        "_reusable",
        "status_code",
        "version",
        "content_length",
        "_head_block",
        "_head_lower",
        "_field_flags",
        "_trailer_pairs",
        "_guard",
        "_t_ready",
        "_t_sent",
        "_t_head",
        "_t_body",
        "_t_end",
        "_nsent",
        "_ended",
        "__dict__",
        "__weakref__",
    )

    def __init__(
        self,
        conn: Connection,
        pool: Releaser,
        method: str = "GET",
        headers_type: Type[Any] = Headers,
        block_size: int = 65536,
        *,
        tunnel: bool = False,
        read_head: bool = True,
        sent_request: Optional[bytes] = None,
        reusable: bool = True,
    ) -> None:
        """``pool`` takes the connection back when the response ends.
        ``tunnel``: the request was a CONNECT (a 2xx has no body).
        ``read_head=False``: the caller sends the request first, then calls
        :meth:`begin`. ``sent_request``: the head sent, kept for inspection.
        ``reusable=False``: the request asked to close its connection."""
        # The request's clock readings (see timings.py): this one, when the head
        # is in and when the body ends; when sending ended only if it took time.
        # Each costs as much as a few slot stores (callgrind), so no more: the
        # request's start is this reading less the pool wait and connecting.
        self._t_ready = _clock()
        # Set here, not first when the head or the end comes: PyPy lays an object out
        # by the attributes it has, and one added later (in begin, where this object
        # is no longer new to the JIT) costs a new layout and a copy of its storage
        # per response (seen in PyPy's JIT log: three array copies per request).
        self._t_head = self._t_body = self._t_end = 0.0
        self._ended: Optional[Tuple[float, Any, int, int]] = None
        conn.parsed = 0
        self._conn: Optional[Connection] = conn
        self._pool: Optional[Releaser] = pool
        self.method = method
        self.block_size = block_size
        self._headers_type = headers_type
        self.sent_request = sent_request
        parser = conn.parser
        self._parser = parser
        parser.start(method == "HEAD", tunnel)
        self._chunks: List[bytes] = parser.body_chunks
        self._off = 0
        self._headers: Any = None
        self._keep_alive = False
        self._complete = False
        self._reusable = reusable  # False: not sent in full, or asked to close
        self.status_code = 0
        self.version = "HTTP/1.1"
        self.content_length: Optional[int] = None
        self._head_block = b""
        self._head_lower: Optional[bytes] = None  # has_field's lowercased head
        self._field_flags = 0  # the parser's F_CODED, F_COOKIE, F_COOKIE2 for this head
        self._trailer_pairs: Sequence[Tuple[str, str]] = ()  # no list made per response
        self._guard: Optional[weakref.finalize] = None
        if read_head:
            self.begin()

    # -- receiving ---------------------------------------------------------------

    @property
    def _sent_request(self) -> Optional[bytes]:
        """2.x's name of :attr:`sent_request`."""
        return self.sent_request

    def begin(self, sent_in_full: bool = True, sent_bytes: int = 0, sent_at: float = 0.0) -> None:
        """Read the response head (interim 1xx responses are skipped by the parser).

        ``sent_in_full=False``: the server answered before the whole request body
        went (an early 413, a final answer to ``Expect: 100-continue``), so the
        connection is not reused. The head of a response is read once.
        ``sent_bytes``: how much of the request went (0: ``sent_request``, the
        head alone), ``sent_at`` when sending
        ended (:func:`~geventhttpclient.timings.clock`; 0.0: at once, the head in
        one write), for :attr:`timings`.
        """
        if sent_at:  # else unset: sent at once, the head alone (see timings)
            self._t_sent = sent_at
            self._nsent = sent_bytes
        if not sent_in_full:
            self._reusable = False
        conn: Connection = self._conn  # type: ignore[assignment]  # set until the head is read
        parser = self._parser
        first = True
        try:
            if conn.end != conn.start:
                conn.parse()  # bytes that came before (after a 100 Continue)
            while not parser.headers_complete:
                # Each parse takes all it can (interim responses included), so what
                # is left is an incomplete head: receive more.
                try:
                    n = conn.fill_first() if first else conn.fill()
                except (ConnectionResetError, ConnectionAbortedError, BrokenPipeError) as exc:
                    if first and parser.idle:
                        raise ConnectionClosed(
                            exc.errno or 0, f"connection closed before the response: {exc}"
                        ) from exc
                    raise _cut_short(exc, "head") from exc
                if n == 0:
                    if first and parser.idle:
                        raise ConnectionClosed(0, "connection closed before the response")
                    parser.finish()
                first = False
                conn.parse()
        except BaseException as exc:
            self.abandon()
            if isinstance(exc, Exception):
                raise translate(exc, "reading the response head") from exc
            raise
        self._t_head = now = _clock()
        if self._chunks:  # body bytes came with the head
            self._t_body = now
        # The parser serves the next request on this connection once the message is
        # complete: keep what belongs to this response.
        self.status_code = parser.status_code
        self.version = parser.version
        self.content_length = parser.content_length
        self._head_block = parser.head_block
        self._head_lower = None
        self._field_flags = parser.field_flags
        self._after_parse(now)
        if self._conn is not None:
            # Still streaming: if the caller drops the response unread, give the
            # connection back after collection. Only streaming responses pay for this.
            self._guard = weakref.finalize(self, _collected, self._pool, self._conn)  # type: ignore[arg-type]

    def _pump(self) -> None:
        """Receive once and parse; the connection goes back when the message ends."""
        conn = self._conn
        assert conn is not None
        try:
            if conn.fill() == 0:
                self._parser.finish()
            else:
                conn.parse()
                if not self._t_body and self._chunks:
                    self._t_body = _clock()
        except BaseException as exc:
            self.abandon()
            if isinstance(exc, Exception):
                raise _cut_short(exc, "body") from exc
            raise
        self._after_parse()

    def _direct(self, length: int) -> None:
        """Account for ``length`` body bytes received outside the buffer."""
        if not self._t_body and length:
            self._t_body = _clock()
        self._parser.body_consumed(length)
        self._conn.parsed += length  # type: ignore[union-attr]
        self._after_parse()

    def _after_parse(self, now: float = 0.0) -> None:
        """The connection goes back once the message is complete. ``now``: the
        clock, if just read (the body came with the head)."""
        parser = self._parser
        if parser.message_complete:
            conn = self._conn
            if conn is None:
                return
            pool: Releaser = self._pool  # type: ignore[assignment]  # set with _conn
            self._conn = self._pool = None
            self._t_end = now or _clock()
            self._ended = (conn.queued, conn.phases, conn.requests, conn.parsed)
            self._complete = True
            self._keep_alive = parser.keep_alive
            if parser.trailer_pairs:
                self._trailer_pairs = parser.trailer_pairs
            if self._guard is not None:
                self._guard.detach()
            if conn.done(self._reusable):
                pool.release(conn)
            else:
                pool.discard(conn)

    def abandon(self) -> None:
        """The message will not complete normally: close the connection."""
        conn, pool = self._conn, self._pool
        self._conn = self._pool = None
        if self._guard is not None:
            self._guard.detach()
        if conn is not None:
            self._ended = (conn.queued, conn.phases, conn.requests, conn.parsed)
        if conn is not None and pool is not None:
            pool.discard(conn)

    @property
    def timings(self) -> Timings:
        """Where this request's time went (see :class:`~geventhttpclient.timings.Timings`):
        a new snapshot on each read; ``receive`` and ``total`` once the body is in."""
        conn = self._conn
        ended = self._ended
        if conn is not None:
            queued, phases, served, received = conn.queued, conn.phases, conn.requests, conn.parsed
        elif ended is not None:
            queued, phases, served, received = ended
        else:
            queued, phases, served, received = 0.0, None, 0, 0
        reused = served > 0
        dns = connect = tls = resumed = None
        ready = self._t_ready
        start = ready - queued
        if phases is not None and not reused:
            dns, connect, tls, resumed = phases.dns, phases.connect, phases.tls, phases.tls_resumed
            start -= (dns or 0.0) + (connect or 0.0) + (tls or 0.0)
        sent = getattr(self, "_t_sent", 0.0) or ready
        head = self._t_head
        end = self._t_end
        body = self._t_body
        return Timings(
            queued=queued,
            dns=dns,
            connect=connect,
            tls=tls,
            send=sent - ready if head else None,
            wait=head - sent if head else None,
            receive=end - head if end and head else None,
            total=end - start if end else None,
            elapsed=head - start if head else None,
            first_body_byte=body - start if body else None,
            reused=reused,
            tls_resumed=resumed,
            bytes_sent=getattr(self, "_nsent", 0) or len(self.sent_request or b""),
            bytes_received=received,
        )

    @property
    def started_at(self) -> float:
        """When the request started, on :func:`~geventhttpclient.timings.clock`: the
        zero of :attr:`timings` (``elapsed``, ``total``) and of events' ``elapsed``;
        before any pool wait, name lookup, connect and handshake it had."""
        t = self.timings
        return self._t_ready - t.queued - (t.dns or 0.0) - (t.connect or 0.0) - (t.tls or 0.0)

    def release(self) -> None:
        """Give the connection back (closing it if the body was not fully read)."""
        if self._conn is not None:
            self.abandon()

    close = release

    @property
    def _sock(self) -> Any:
        """2.x's private name for the socket: set while the response holds its
        connection, None once it went back (code checks it to see a release)."""
        conn = self._conn
        return conn.sock if conn is not None else None

    def __enter__(self) -> HTTPSocketPoolResponse:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()

    # -- the body ----------------------------------------------------------------

    def _buffered(self) -> int:
        n = 0
        for c in self._chunks:
            n += len(c)
        return n - self._off

    def _take(self, amt: int) -> bytes:
        chunks = self._chunks
        out: List[bytes] = []
        off = self._off
        while amt and chunks:
            c = chunks[0]
            avail = len(c) - off
            if avail <= amt:
                out.append(c[off:] if off else c)
                del chunks[0]
                off = 0
                amt -= avail
            else:
                out.append(c[off : off + amt])
                off += amt
                amt = 0
        self._off = off
        if len(out) == 1:
            return out[0]
        return b"".join(out)

    def _take_all(self) -> bytes:
        # Emptied in place: the list is the parser's, whose connection may sit idle
        # in the pool for long.
        chunks = self._chunks
        if len(chunks) == 1 and not self._off:
            data = chunks[0]
        else:
            data = b"".join(chunks)[self._off :]
        chunks.clear()
        self._off = 0
        return data

    def read(self, amt: Optional[int] = None) -> bytes:
        """Up to ``amt`` body bytes (all of the rest if None); b"" at the end.

        Blocks until ``amt`` bytes are there or the body ends, like a buffered file.
        """
        if amt is None or amt < 0:
            while self._conn is not None:
                self._pump()
            return self._take_all()
        if amt == 0:
            return b""
        conn = self._conn
        if conn is not None and amt >= DIRECT_READ_MIN and not conn.pending:
            # Big reads bypass the receive buffer. Body bytes that came with the head
            # (or an earlier small read) go first: otherwise every later read would
            # stay misaligned on the buffered path (two copies and three allocations
            # per read there; PyPy /big read(65536): 625-780 -> 1,070-1,400 MB/s).
            buffered = self._buffered() if self._chunks else 0
            if buffered < amt and self._parser.remaining:
                return self._read_direct(amt, self._take_all() if buffered else b"")
        while self._conn is not None and self._buffered() < amt:
            self._pump()
        return self._take(amt)

    def _read_direct(self, amt: int, prefix: bytes) -> bytes:
        """``prefix`` (already received) plus up to ``amt - len(prefix)`` more bytes
        straight from the socket, stopping at the end of the body."""
        conn = self._conn
        assert conn is not None
        have = len(prefix)
        want = have + min(amt - have, self._parser.remaining)
        got = have
        try:
            if _RECV_INTO_COPY and want <= conn.buf.size:  # type: ignore[union-attr]
                # PyPy: fill the receive buffer, then make one bytes object. One
                # receive and no loop here: a loop in the function that makes the
                # block keeps the previous block alive in PyPy's JIT, doubling what
                # each minor collection copies (/big read ~16% slower; HISTORY.md).
                view = conn.buf.view  # type: ignore[union-attr]
                if have:
                    view[:have] = prefix
                    got += conn.read_into(view[have:want])
                else:
                    got = conn.read_into(view, want)
                if got < want:
                    if not self._t_body and got > have:
                        self._t_body = _clock()  # the first bytes, before waiting for more
                    got = self._fill(view, got, want)
                data: bytes = view[:got].tobytes()
                # Accounted only now: completing the body hands the connection, and
                # this buffer with it, back to the pool.
                self._direct(got - have)
                return data
            pieces = [prefix] if have else []
            while got < want:
                if _RECV_INTO_COPY:
                    view = conn.buf.view  # type: ignore[union-attr]
                    n = conn.read_into(view, min(want - got, len(view)))
                    data = view[:n].tobytes()
                else:
                    data = conn.read_bytes(want - got)
                if not data:
                    self._parser.finish()  # raises IncompleteResponse
                pieces.append(data)
                got += len(data)
                self._direct(len(data))
        except BaseException as exc:
            if have:  # what was already received stays readable, as on the buffered path
                self._chunks.insert(0, prefix)
                self._off = 0
            self.abandon()
            if isinstance(exc, Exception):
                raise _cut_short(exc, "body") from exc
            raise
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)

    def _fill(self, view: Any, got: int, want: int) -> int:
        """Receive into ``view[got:want]`` until it is full; raises at the end of
        the stream (IncompleteResponse: the body is shorter than announced)."""
        conn = self._conn
        assert conn is not None
        while got < want:
            n = conn.read_into(view[got:want])
            if not n:
                self._parser.finish()  # raises IncompleteResponse
            got += n
        return got

    def readinto(self, b: Any) -> int:
        """Fill ``b`` with body bytes; returns how many (0 at the end)."""
        mv = byte_view(b)
        size = len(mv)
        if not size:
            return 0
        if not self._chunks and self._conn is not None:
            conn = self._conn
            remaining = self._parser.remaining
            if remaining and not conn.pending and size >= DIRECT_READ_MIN:
                want = min(size, remaining)
                try:
                    n = conn.read_into(mv, want)
                    if n == 0:
                        self._parser.finish()
                    self._direct(n)
                except BaseException as exc:
                    self.abandon()
                    if isinstance(exc, Exception):
                        raise _cut_short(exc, "body") from exc
                    raise
                return n
            while not self._chunks and self._conn is not None:
                self._pump()
        data = self._take(min(size, self._buffered()))
        n = len(data)
        mv[:n] = data
        return n

    def readline(self, size: Union[int, bytes, None] = -1, sep: bytes = b"\n") -> bytes:
        """One line of the body, separator included (b"" at the end); the last line
        may lack it.

        Both call shapes work: ``readline(size)`` as in :mod:`io` (at most ``size``
        bytes; None or negative for no limit), and 2.x's ``readline(sep)``, a bytes
        separator of any length (also as ``sep=``). The default separator is
        ``b"\\n"``, which also ends every CRLF line; 2.x defaulted to ``b"\\r\\n"``.
        """
        if type(size) is not int or not sep:  # one check on the usual call
            size, sep = readline_arguments(size, sep)
        scanned = 0  # bytes after the read position already searched
        while True:
            chunks = self._chunks
            if len(chunks) > 1:
                chunks[:] = [b"".join(chunks)[self._off :]]
                self._off = 0
            off = self._off
            c = chunks[0] if chunks else b""
            j = c.find(sep, off + scanned)
            if j >= 0:
                n = j + len(sep) - off
                return self._take(n if size < 0 else min(n, size))
            avail = len(c) - off
            if 0 <= size <= avail:
                return self._take(size)
            # a separator may straddle the end of what was searched
            scanned = avail - len(sep) + 1
            if scanned < 0:
                scanned = 0
            if self._conn is None:
                return self._take_all()
            self._pump()

    def read1(self, amt: int = -1) -> bytes:
        """Body bytes already received, else what the next receive brings (b"" at
        the end), at most ``amt`` (no limit if negative): it never waits for more
        than one arrival, so a stream's pieces are seen as they come (``read(n)``
        waits for ``n`` bytes, as a buffered file does)."""
        if amt == 0:
            return b""
        while True:
            while not self._chunks:
                if self._conn is None:
                    return b""
                self._pump()
            data = self._take_all() if amt is None or amt < 0 else self._take(amt)
            if data:
                return data

    def _arriving(self) -> Iterator[bytes]:
        """The body as it arrives, content-decoded (any Content-Encoding the
        library decodes): lines and events are text, which compressed bytes are not.
        Stopping early, or an error, closes the connection.

        No cap on the decoded total (``max_size=None``): a stream may run for
        hours, and its memory is bounded where it is kept, by the line and event
        limits; the decoder hands on at most one block at a time."""
        try:
            decoder = None
            if self.has_field("content-encoding"):
                from ._decoding import decoder_for

                decoder = decoder_for(self.headers, None)
            while True:
                data = self.read1()
                if not data:
                    break
                if decoder is None:
                    yield data
                else:
                    yield from decoder.iter_decompress(data)
            if decoder is not None:
                yield from decoder.iter_finish()
        except BaseException:
            self.release()
            raise

    def iter_lines(
        self, *, max_line_size: Optional[int] = DEFAULT_MAX_LINE_SIZE
    ) -> Iterator[bytes]:
        """The body line by line as it arrives, without the line ends (CRLF, LF or
        CR, as :class:`~geventhttpclient.sse.LineSplitter` splits), the last line
        too if it has none. Unlike :meth:`read`, the body is content-decoded
        (gzip, deflate, br, zstd): lines of compressed bytes mean nothing.

        :raises StreamLimitExceeded: a line longer than ``max_line_size`` bytes
            (None: no limit); the connection is closed.
        :raises DecodingError: a Content-Encoding that does not decode.
        """
        return iter_lines(self._arriving(), max_line_size=max_line_size)

    def iter_events(
        self,
        *,
        max_line_size: Optional[int] = DEFAULT_MAX_LINE_SIZE,
        max_event_size: Optional[int] = DEFAULT_MAX_EVENT_SIZE,
    ) -> Iterator[ServerSentEvent]:
        """The body parsed as a ``text/event-stream`` (see :mod:`geventhttpclient.sse`),
        each :class:`~geventhttpclient.sse.ServerSentEvent` yielded when its blank
        line arrives, ``elapsed`` counted from :attr:`started_at`. Content-decoded,
        as :meth:`iter_lines`. The Content-Type is not checked.

        :raises StreamLimitExceeded: a line or an event over its limit (None: no
            limit); the connection is closed.
        :raises DecodingError: a Content-Encoding that does not decode.
        """
        return iter_events(
            self._arriving(),
            self.started_at,
            max_line_size=max_line_size,
            max_event_size=max_event_size,
        )

    def readlines(self) -> List[bytes]:
        return list(iter(self.readline, b""))

    def __iter__(self) -> Iterator[bytes]:
        """Blocks of the body (``block_size`` each, the last shorter), not lines, as
        in 2.x. A generator rather than ``return self``: measured 10% less time per
        4 KiB block (about 70 ns) in a ``for`` loop over a buffered body."""
        while True:
            block = self.read(self.block_size)
            if not block:
                return
            yield block

    def __next__(self) -> bytes:
        """The next block: 2.x code calls ``next(response)``."""
        block = self.read(self.block_size)
        if not block:
            raise StopIteration
        return block

    def readable(self) -> bool:
        return True

    # -- the head ----------------------------------------------------------------

    def get_code(self) -> int:
        return self.status_code

    @property
    def status_message(self) -> str:
        """The reason phrase, decoded on first use."""
        return reason_phrase(self._head_block)

    @property
    def reason(self) -> str:
        return self.status_message

    @property
    def headers(self) -> Any:
        h = self._headers
        if h is None:
            h = self._headers = _make_headers(self._headers_type, split_fields(self._head_block))
        return h

    def has_field(self, name: str, *names: str) -> bool:
        """Whether the head has a field called ``name`` (or any of ``names``; any
        case), answered without building :attr:`headers` while it is not built:
        building it splits every field, which costs more than many callers' whole
        use of the response. ``content-encoding``, ``set-cookie`` and
        ``set-cookie2`` (the agents' questions, asked in lowercase) come from flags
        the C parser set as it compared the names; other names are looked for in
        the head's bytes. The head was validated: every line ends in CRLF and a
        name is followed directly by its colon, so a line starting with ``name:``
        is the field."""
        if not names and self._headers is None:
            # The agents' question: one flagged name. Answered here, with no loop
            # in this function: PyPy's JIT does not inline a function with a loop,
            # and the residual call made each response allocate 0.9-1.7 KiB more
            # (benchmarks/pypy_alloc.py: 0.9 through urlopen, 1.7 called alone).
            flag = _FLAGGED_FIELDS.get(name)
            if flag is not None:
                return (self._field_flags & flag) != 0
        return self._has_any_field((name, *names))

    def _has_any_field(self, names: Tuple[str, ...]) -> bool:
        """:meth:`has_field` for any of ``names``."""
        h = self._headers
        if h is not None:
            return any(n in h for n in names)
        head = self._head_lower
        for n in names:
            flag = _FLAGGED_FIELDS.get(n)
            if flag is not None:  # the parser noted it (the agents' questions)
                if self._field_flags & flag:
                    return True
                continue
            if head is None:  # lowercased once for the other names
                head = self._head_lower = self._head_block.lower()
            needle = _FIELD_NEEDLES.get(n)
            if needle is None:
                needle = b"\n" + n.lower().encode("latin-1") + b":"
                if len(_FIELD_NEEDLES) < 64:
                    _FIELD_NEEDLES[n] = needle
            # find(), not ``in``: bytes.__contains__ first tries the operand as an
            # int and formats (then drops) a TypeError, 2.6k instructions on CPython.
            if head.find(needle) >= 0:
                return True
        return False

    @property
    def trailers(self) -> Any:
        return _make_headers(self._headers_type, self._trailer_pairs)

    @property
    def length(self) -> Optional[int]:
        return self.content_length

    @property
    def headers_complete(self) -> bool:
        return self.status_code != 0

    @property
    def message_complete(self) -> bool:
        return self._complete

    def should_keep_alive(self) -> bool:
        return self._keep_alive if self._complete else self._parser.keep_alive

    def should_close(self) -> bool:
        return not (self._complete and self._keep_alive)

    def __repr__(self) -> str:
        state = "complete" if self._complete else "streaming"
        return f"<{type(self).__name__} {self.status_code} {self.status_message!r} {state}>"


class TracedResponse(HTTPSocketPoolResponse):
    """The response of a client with a ``trace=`` hook: it tells the hook when it
    got its connection, when sending starts and ends, when the head is in, when the
    body is complete and when the connection goes back.

    A class of its own so that the responses of clients without a hook (nearly
    all) test nothing for it on their way. A hook that raises fails the read (or
    the request) with its exception, and the connection is closed.
    """

    __slots__ = ("_told",)

    def __init__(self, conn: Connection, pool: Releaser, *args: Any, **kw: Any) -> None:
        super().__init__(conn, pool, *args, **kw)
        trace = getattr(pool, "trace", None)
        if trace is not None:
            try:
                trace("pool.acquire.complete", {"reused": conn.requests > 0, "queued": conn.queued})
                trace("send_request.started", {"method": self.method})
            except BaseException:
                self.abandon()
                raise

    def begin(self, sent_in_full: bool = True, sent_bytes: int = 0, sent_at: float = 0.0) -> None:
        trace = getattr(self._pool, "trace", None)
        if trace is not None:
            try:
                trace(
                    "send_request.complete", {"bytes": sent_bytes or len(self.sent_request or b"")}
                )
                trace("receive_response_headers.started", {})
            except BaseException:
                self.abandon()
                raise
        super().begin(sent_in_full, sent_bytes, sent_at)

    def _after_parse(self, now: float = 0.0) -> None:
        conn, pool = self._conn, self._pool
        trace = getattr(pool, "trace", None)
        if conn is not None and trace is not None:
            try:
                if not getattr(self, "_told", False):  # the first call: the head is in
                    self._told = True
                    trace("receive_response_headers.complete", {"status_code": self.status_code})
                if self._parser.message_complete:
                    trace("receive_response_body.complete", {"bytes": conn.parsed})
                    if conn.done(self._reusable):
                        trace(
                            "connection.released",
                            {"pool": getattr(pool, "name", ""), "requests": conn.requests + 1},
                        )
            except BaseException:
                self.abandon()
                raise
        super()._after_parse(now)


# 2.x names. In 2.x the streaming response subclassed the parser object, and code
# checks isinstance against either: registering it as a virtual subclass keeps that
# true without a shared base (nothing changes for streaming instances).
HTTPResponse.register(HTTPSocketPoolResponse)
HTTPSocketResponse = HTTPSocketPoolResponse
"""2.x's socket-backed base class; here the one streaming class. Its constructor
differs (a pooled connection, not a socket): use it for isinstance and type hints."""

# 2.x's header-parsing states, kept as names for code that imported them.
HEADER_STATE_INIT = 0
HEADER_STATE_FIELD = 1
HEADER_STATE_VALUE = 2
HEADER_STATE_DONE = 3

# Make sure IncompleteResponse stays importable from here for 2.x-era code.
__all__ += ["IncompleteResponse"]


def _split_jit_trace() -> None:
    """PyPy: compile reading a response head as a function of its own.

    One request, traced by PyPy's JIT from the caller's loop to the parse, exceeds
    its trace length limit, and PyPy then stops inlining altogether. Not inlining
    :meth:`begin` cuts the trace in two pieces that both fit (/small c=100: 45,000
    -> 49,800 req/s; benchmarks/results/HISTORY.md). ``pypyjit.dont_trace_here`` is
    PyPy's documented way to say so.
    """
    try:
        import pypyjit  # type: ignore[import-not-found]
    except ImportError:
        return
    pypyjit.dont_trace_here(0, False, HTTPSocketPoolResponse.begin.__code__)


_split_jit_trace()
