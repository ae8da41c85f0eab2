"""The 2.x parser object: a response you feed bytes to, with no socket.

In geventhttpclient 2.x, ``geventhttpclient.response.HTTPResponse`` was the parser
itself: ``HTTPResponse(method="GET")``, then ``feed(data)`` with whatever bytes
arrived and ``feed(b"")`` at the end of the stream, reading ``status_code``, the
headers and the buffered body off the same object. Tests, mocks and wrappers (the
requests face wraps one after feeding it) were written against that shape, so it
is kept here, over this package's own C parser (:class:`HTTPResponseParser`).

Theory of operation: one :class:`HTTPResponse` owns one parser and reads one
response (interim 1xx responses before it included). Each ``feed`` appends to the
bytes the parser left unconsumed last time (an incomplete head or chunk-size line
must be presented again), parses, then reports what happened through overridable
hooks, in message order:

* ``_on_message_begin()`` when the first byte of a message arrives;
* ``_on_status(reason)`` and ``_on_headers_complete()`` once the head is parsed
  (status, version, headers and ``content_length`` are set before);
* ``_on_body(data)`` for each piece of body, transfer coding removed;
* ``_on_message_complete()`` at the end of the message.

An interim response (``100 Continue``, ``103 Early Hints``) is reported as a
message of its own, complete, without headers; the final response's
``_on_message_begin`` then resets the object for it, as 2.x did.

The defaults keep the state 2.x code reads: ``message_begun``,
``headers_complete``, ``message_complete`` and the body buffer, which ``read``,
``readinto``, ``readline`` and iteration drain without blocking (there is nothing to
wait on: they return what has been fed so far).

This is not the streaming path: :class:`~geventhttpclient.response.HTTPSocketPoolResponse`
drives the parser directly. Nothing here runs per request.
"""

from __future__ import annotations

from abc import ABCMeta
from typing import Any, Iterator, List, Optional, Sequence, Tuple, Type, Union

from ._parser import DEFAULT_LIMITS, HTTPResponseParser, ParserLimits
from .exceptions import HTTPParseError, IncompleteResponse
from .header import HeadAccess, Headers

__all__ = ["HTTPResponse", "make_headers", "readline_arguments"]


def make_headers(headers_type: Type[Any], pairs: Sequence[Tuple[str, str]]) -> Any:
    """A ``headers_type`` instance holding ``pairs`` (name, value) in order."""
    fast = getattr(headers_type, "_from_str_pairs", None)
    if fast is not None:
        return fast(list(pairs))
    h = headers_type()
    for name, value in pairs:
        h.add(name, value)
    return h


# ABCMeta for register() only (the streaming class becomes a virtual subclass).
def readline_arguments(size: Any, sep: bytes) -> Tuple[int, bytes]:
    """``readline``'s two call shapes as ``(size, separator)``: ``readline(size)``
    as in :mod:`io` (None or negative: no limit) and 2.x's ``readline(sep)``, a
    bytes separator of any length (also as ``sep=``).

    :raises TypeError: for a size that is neither an int nor bytes.
    :raises ValueError: for an empty separator.
    """
    if size is None:
        size = -1
    elif isinstance(size, (bytes, bytearray, memoryview)):
        sep, size = bytes(size), -1
    elif not isinstance(size, int):
        raise TypeError(f"readline() takes an int size or a bytes separator, not {size!r}")
    if not sep:
        raise ValueError("empty line separator")
    return size, sep


class HTTPResponse(HeadAccess, metaclass=ABCMeta):  # noqa: B024
    """A response parsed from bytes fed to it (2.x's ``response.HTTPResponse``).

    ``HTTPResponse(method="GET", headers_type=Headers, limits=DEFAULT_LIMITS)``;
    ``method="HEAD"`` makes the response end with its head, as the response to a
    HEAD request does.

    Streaming responses from :class:`~geventhttpclient.HTTPClient` are registered
    as virtual subclasses: ``isinstance(client.get("/"), HTTPResponse)`` holds, as
    it did in 2.x, at no cost to them.

    Raises :class:`HTTPParseError` from :meth:`feed` for malformed bytes (also for
    bytes after the end of a response other than to HEAD), and
    :class:`IncompleteResponse` (an ``HTTPParseError``) from ``feed(b"")`` when the
    stream ends before the response does. After either, every later ``feed``
    raises again.
    """

    #: The request head that produced this response; 2.x's UserAgent printed it.
    _sent_request: Any = None

    block_size = 65536
    """Size of the blocks iteration yields."""

    def __init__(
        self,
        method: str = "GET",
        headers_type: Type[Any] = Headers,
        limits: ParserLimits = DEFAULT_LIMITS,
    ) -> None:
        self.method = method.upper()
        self._headers_type = headers_type
        parser = self._parser = HTTPResponseParser(limits)
        parser.start(no_body=self.method == "HEAD")
        self._unparsed = b""
        self._begun = False
        self._interim_seen = 0
        self._head_taken = False
        self._reported_end = False
        self._keep_alive = False
        self._broken = False  # malformed bytes, or a hook raised
        self._error: Optional[BaseException] = None
        self._trailing_data_dropped = False
        self.message_begun = False
        self.headers_complete = False
        self.message_complete = False
        self.status_code = 0
        self.status_message: Optional[str] = None
        self.version = "HTTP/1.1"
        self.content_length: Optional[int] = None
        self.headers: Any = headers_type()
        self._body_buffer = bytearray()

    # -- feeding -------------------------------------------------------------------

    def feed(self, data: Union[bytes, bytearray, memoryview, str]) -> None:
        """Parse ``data``, the next bytes of the stream; ``b""`` (or ``""``) means the
        stream ended. A ``str`` is encoded as UTF-8, as 2.x did.

        Raises :class:`HTTPParseError` (or a subclass) if the bytes are not a valid
        response, :class:`IncompleteResponse` at the end of a stream that cut the
        response short; an exception raised by a hook propagates unchanged.
        """
        if self._error is not None:
            raise HTTPParseError(f"the response already failed: {self._error}") from self._error
        if isinstance(data, str):
            data = data.encode("utf-8")
        elif type(data) is not bytes:
            data = bytes(data)
        try:
            if data:
                self._parse(data)
            elif not self._parser.message_complete:
                self._unparsed = b""
                self._parser.finish()  # completes a close-delimited body, else raises
                self._report()
        except BaseException as exc:
            self._error = exc
            if not isinstance(exc, IncompleteResponse):
                self._broken = True
            raise

    def _parse(self, data: bytes) -> None:
        parser = self._parser
        if parser.message_complete:
            self._after_end(0)
            return
        if not self._begun:
            self._begun = True
            self._on_message_begin()
        buf = self._unparsed + data if self._unparsed else data
        start = 0
        while True:
            # Each call takes all it can; what it leaves is an incomplete unit (head,
            # chunk-size line) to present again with the next bytes, or the end.
            consumed = parser.feed(buf[start:] if start else buf)
            start += consumed
            self._report()
            if parser.message_complete:
                self._unparsed = b""
                if start < len(buf):
                    self._after_end(start)
                return
            if not consumed or start == len(buf):
                break
        self._unparsed = buf[start:]

    def _after_end(self, offset: int) -> None:
        """Bytes past the end of the response: a server that sends a body with its
        response to HEAD is common enough to tolerate (the connection must close);
        anything else is a broken stream."""
        if self.method == "HEAD":
            self._trailing_data_dropped = True
            return
        raise HTTPParseError("bytes after the end of the response", "GH_E_DATA_AFTER_END", offset)

    def _report(self) -> None:
        """Turn what the parser took in since the last call into hook calls. Control
        flow reads the parser and private flags, not the attributes the hooks set,
        so that an overridden hook cannot derail it."""
        parser = self._parser
        interim = parser.interim
        while self._interim_seen < len(interim):
            status = interim[self._interim_seen]
            self._interim_seen += 1
            if self._reported_end:
                self._on_message_begin()
            self.status_code = status
            self._keep_alive = True  # the final response follows on this connection
            self._reported_end = True
            self._on_headers_complete()
            self._on_message_complete()
        if parser.headers_complete and not self._head_taken:
            if self._reported_end:  # after an interim response
                self._reported_end = False
                self._on_message_begin()
            self._head_taken = True
            self._take_head()
        chunks = parser.body_chunks
        if chunks:
            pieces = chunks[:]
            chunks.clear()
            on_body = self._on_body
            for piece in pieces:
                on_body(piece)
        if parser.message_complete and not self._reported_end:
            self._keep_alive = parser.keep_alive
            self._reported_end = True
            self._on_message_complete()

    def _take_head(self) -> None:
        parser = self._parser
        pairs = parser.header_pairs
        if sum(1 for name, _ in pairs if name.lower() == "content-length") > 1:
            # Identical duplicates (different ones the C parser refuses itself): RFC
            # 9110 section 8.6 allows accepting them; 2.x refused them, and so does
            # this face of it.
            raise HTTPParseError("duplicate Content-Length", "GH_E_DUPLICATE_CL", 0)
        self.headers = make_headers(self._headers_type, pairs)
        self.status_code = parser.status_code
        self.version = parser.version
        self.content_length = parser.content_length
        self._keep_alive = parser.keep_alive
        self._on_status(parser.reason)
        self._on_headers_complete()

    # -- hooks (2.x names; override or assign on the instance) ----------------------

    def _on_message_begin(self) -> None:
        if self.message_complete:  # an interim response came before this one
            self.headers_complete = False
            self.message_complete = False
            self.status_message = None
            self.headers = self._headers_type()
        self.message_begun = True

    def _on_status(self, reason: str) -> None:
        self.status_message = reason

    def _on_headers_complete(self) -> None:
        """The head is parsed. Unlike 2.x, the return value is ignored: whether a
        body follows is decided by ``method`` and the head itself."""
        self.headers_complete = True

    def _on_body(self, data: bytes) -> None:
        """A piece of body (2.x passed a ``bytearray``; this passes ``bytes``)."""
        self._body_buffer += data

    def _on_message_complete(self) -> None:
        self.message_complete = True

    # -- state ---------------------------------------------------------------------

    def should_keep_alive(self) -> bool:
        """What the response says about its connection (version, ``Connection``,
        framing): True if it may carry another response. False once malformed
        bytes were seen. Says nothing about whether the message was complete: see
        :meth:`should_close`."""
        return self._keep_alive and not self._broken

    def should_close(self) -> bool:
        """True unless the response ended cleanly on a connection that may be reused
        (no bytes past its end either)."""
        return (
            not self.message_complete
            or self._broken
            or self._trailing_data_dropped
            or not self._keep_alive
        )

    def parser_failed(self) -> bool:
        return self._error is not None

    def get_code(self) -> int:
        return self.status_code

    def get_http_version(self) -> str:
        return self.version

    def get_remaining_content_length(self) -> int:
        """Body bytes still expected of a Content-Length body (0 otherwise)."""
        return self._parser.remaining

    @property
    def length(self) -> Optional[int]:
        return self.content_length

    @property
    def reason(self) -> Optional[str]:
        return self.status_message

    @property
    def _headers_index(self) -> Any:
        """2.x's name for the headers object."""
        return self.headers

    @property
    def trailers(self) -> Any:
        return make_headers(self._headers_type, self._parser.trailer_pairs)

    # -- the body fed so far, file-like ------------------------------------------

    def read(self, amt: Optional[int] = None) -> bytes:
        """Up to ``amt`` of the body bytes fed so far (all if None). Never waits:
        ``b""`` means nothing is buffered; ``message_complete`` tells the end."""
        buf = self._body_buffer
        if amt is None or amt < 0 or amt >= len(buf):
            data = bytes(buf)
            del buf[:]
        else:
            data = bytes(buf[:amt])
            del buf[:amt]
        return data

    def readinto(self, b: Any) -> int:
        """Fill ``b`` from the buffered body; returns how many bytes (0 if none)."""
        mv = memoryview(b)
        if mv.itemsize != 1 or mv.ndim != 1:
            mv = mv.cast("B")
        buf = self._body_buffer
        n = min(len(mv), len(buf))
        mv[:n] = buf[:n]
        del buf[:n]
        return n

    def readline(self, size: Union[int, bytes, None] = -1, sep: bytes = b"\n") -> bytes:
        """One line of the buffered body, separator included.

        ``readline(10)`` caps the line at 10 bytes (io); ``readline(b"\\r\\n")`` or
        ``readline(sep=b"\\r\\n")`` ends lines at that separator (2.x). At the end
        of the message the last, unterminated piece is a line; before it, a line
        not complete yet stays buffered and ``b""`` is returned.
        """
        if type(size) is not int or not sep:
            size, sep = readline_arguments(size, sep)
        buf = self._body_buffer
        j = buf.find(sep)
        if j >= 0:
            n = j + len(sep)
        elif self._parser.message_complete:
            n = len(buf)
        else:
            n = -1  # no whole line yet
        if size >= 0 and (n > size or (n < 0 and len(buf) >= size)):
            n = size
        return self.read(n) if n > 0 else b""

    def readlines(self) -> List[bytes]:
        return list(iter(self.readline, b""))

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        data = self.read(self.block_size)
        if not data:
            raise StopIteration
        return data

    def readable(self) -> bool:
        return True

    def release(self) -> None:  # noqa: B027 - a no-op by design, not abstract
        """Nothing to give back: there is no connection. Kept so the object can be
        wrapped like a streaming response."""

    close = release

    def __enter__(self) -> HTTPResponse:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()

    def __repr__(self) -> str:
        state = "complete" if self.message_complete else "partial"
        return f"<{type(self).__name__} {self.status_code} {self.status_message!r} {state}>"
