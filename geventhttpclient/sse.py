"""Server-sent events and line streams: incremental parsers, bytes in, records out.

Every response face (``HTTPClient``'s responses, ``UserAgent``'s, the requests-style
and httpx-style ones) has ``iter_lines()`` and ``iter_events()``, built on the two
parsers here. They hold no socket: a face feeds them the body's bytes as they
arrive and yields what they return, so an event is seen the moment its last byte
is received.

Theory of operation
-------------------
:class:`LineSplitter` cuts bytes into lines. A line ends at CRLF, LF or CR (the
event-stream grammar allows all three, and a stream may mix them); a CR that ends
one piece of input may be the first half of a CRLF whose LF starts the next piece,
so the splitter remembers that it owes the next piece one LF to skip. The pieces of
an unfinished line are kept in a list and joined once, when its end comes.

:class:`EventStreamParser` interprets the lines as the WHATWG HTML standard's
"Interpreting an event stream" (section 9.2.6) says, as a browser's ``EventSource``
does:

* a line starting with ``:`` is a comment; any other line is a field: the name up
  to the first ``:``, the value after it with one leading space removed (a line
  without ``:`` is a name with an empty value);
* ``data`` appends the value and a LF to the data buffer; ``event`` sets the type;
  ``id`` sets the last event ID unless the value contains NUL (an empty value
  resets it); ``retry`` sets the reconnection time if the value is ASCII digits
  only; any other field is ignored;
* a blank line dispatches the event: none if the data buffer is empty, else one
  with the data less its final LF, the type (``"message"`` if none was given) and
  the last event ID, which persists across events until the stream sets it again;
* the stream is UTF-8 (bytes that do not decode become U+FFFD), and one BOM at its
  start is skipped; at the end of the stream an unfinished event is dropped.

Bounded memory: a line longer than ``max_line_size`` bytes or an event whose data
lines grow past ``max_event_size`` raises :class:`StreamLimitExceeded` (a
:class:`~geventhttpclient.exceptions.LimitExceeded`) at once, before the bytes are
kept, so a server that never ends a line cannot make the buffer grow without end.

Timing: each event's ``elapsed`` is the time from the start of its request (the
zero of ``response.timings``: see :mod:`geventhttpclient.timings`) to the receipt
of the bytes that completed the event, so a load test reads time to first event
and the gaps between events straight from the records.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator, List, NamedTuple, Optional

from .exceptions import StreamLimitExceeded
from .timings import clock

__all__ = [
    "DEFAULT_MAX_EVENT_SIZE",
    "DEFAULT_MAX_LINE_SIZE",
    "EventStreamParser",
    "LineSplitter",
    "ServerSentEvent",
    "StreamLimitExceeded",
    "iter_events",
    "iter_lines",
]

DEFAULT_MAX_LINE_SIZE = 1024 * 1024
"""The longest line (bytes, without its line end) by default: 1 MiB. An event
stream's lines are JSON documents at most (an LLM token, a notification); a line
that does not end within a megabyte is a broken or hostile stream, not data."""

DEFAULT_MAX_EVENT_SIZE = 8 * 1024 * 1024
"""The largest event (bytes of its data lines) by default: 8 MiB, room for several
maximal lines joined."""

_BOM = b"\xef\xbb\xbf"


class ServerSentEvent(NamedTuple):
    """One event of a ``text/event-stream``: an immutable record.

    ``event``: its type (``"message"`` unless the stream named one); ``data``: its
    data lines joined with ``"\\n"``; ``id``: the last event ID, as ``EventSource``
    keeps it (it persists from one event to the next until the stream sets it
    again; ``""`` if it never did); ``retry``: the reconnection time in
    milliseconds the stream last set (None if it never did; it persists as ``id``
    does, being the stream's setting rather than the event's); ``elapsed``: float
    seconds from the start of the request to the arrival of this event's last
    byte. A named tuple: the cheapest immutable record to make, one per event.
    """

    event: str = "message"
    data: str = ""
    id: str = ""
    retry: Optional[int] = None
    elapsed: float = 0.0

    def json(self) -> Any:
        """The data parsed as JSON (what LLM APIs stream)."""
        import json  # here: plain HTTPClient users never need it at import

        return json.loads(self.data)


class LineSplitter:
    """Lines from bytes fed in pieces of any size, without their line ends.

    A line ends at CRLF, LF or CR, the CRLF also when its CR ends one piece and its
    LF starts the next. ``strip_bom``: one UTF-8 BOM at the very start is dropped
    (an event stream may start with one). A line longer than ``max_line_size``
    bytes raises :class:`StreamLimitExceeded`; None: no limit.
    """

    __slots__ = ("max_line_size", "_parts", "_size", "_skip_lf", "_bom")

    def __init__(
        self, max_line_size: Optional[int] = DEFAULT_MAX_LINE_SIZE, *, strip_bom: bool = False
    ) -> None:
        self.max_line_size = max_line_size
        self._parts: List[bytes] = []  # the unfinished line, in pieces
        self._size = 0  # their total length
        self._skip_lf = False  # the last piece ended with CR: a LF next is its CRLF
        self._bom = strip_bom  # still to look for a BOM at the start

    def feed(self, data: bytes) -> List[bytes]:
        """The lines ``data`` completes (possibly none).

        :raises StreamLimitExceeded: a line is longer than ``max_line_size``.
        """
        if self._bom:
            if self._parts:  # the start was too short to tell
                data = b"".join(self._parts) + data
                self._parts, self._size = [], 0
            if len(data) < 3 and _BOM.startswith(data):
                self._parts.append(data)  # still too short to tell
                self._size = len(data)
                return []
            self._bom = False
            if data[:3] == _BOM:
                data = data[3:]
        if self._skip_lf and data:
            self._skip_lf = False
            if data[:1] == b"\n":
                data = data[1:]
        if not data:
            return []
        limit = self.max_line_size
        # find(), not ``in``: bytes.__contains__ first tries its operand as an int
        # and formats (then drops) a TypeError, per chunk on CPython.
        if data.find(b"\n") < 0 and data.find(b"\r") < 0:
            size = self._size + len(data)
            if limit is not None and size > limit:
                raise self._too_long(size)
            self._parts.append(data)
            self._size = size
            return []
        # bytes.splitlines ends lines at exactly CR, LF and CRLF (str's would also
        # at form feeds and the like); keepends tells a last, unfinished piece.
        lines = data.splitlines(True)
        last = lines[-1]
        if last[-1:] in b"\r\n":
            rest = b""
            if last[-1:] == b"\r":
                self._skip_lf = True
        else:
            rest = lines.pop()
        out: List[bytes] = []
        for i, line in enumerate(lines):
            end = len(line) - (2 if line[-2:] == b"\r\n" else 1)
            if i == 0 and self._parts:
                size = self._size + end
                if limit is not None and size > limit:
                    raise self._too_long(size)
                self._parts.append(line[:end])
                out.append(b"".join(self._parts))
                self._parts, self._size = [], 0
                continue
            if limit is not None and end > limit:
                raise self._too_long(end)
            out.append(line[:end])
        if rest:
            if limit is not None and len(rest) > limit:
                raise self._too_long(len(rest))
            self._parts.append(rest)
            self._size = len(rest)
        return out

    def flush(self) -> List[bytes]:
        """The end of the input: the last line if it had no line end (else none)."""
        parts = self._parts
        self._parts, self._size, self._skip_lf, self._bom = [], 0, False, False
        if not parts:
            return []
        return [b"".join(parts)]

    def _too_long(self, size: int) -> StreamLimitExceeded:
        self._parts, self._size = [], 0
        return StreamLimitExceeded(
            f"a line of the stream is longer than max_line_size ({size} > "
            f"{self.max_line_size} bytes)",
            "GH_E_LINE_TOO_LONG",
        )


class EventStreamParser:
    """The WHATWG event-stream interpretation, fed bytes in pieces of any size.

    ``start``: the request's start on the :func:`~geventhttpclient.timings.clock`,
    from which events' ``elapsed`` counts. ``max_line_size`` and ``max_event_size``
    bound memory (None: no bound). :attr:`last_event_id` and :attr:`retry` are the
    stream's state, what a reconnecting client sends back (``Last-Event-ID``) and
    waits before reconnecting.
    """

    __slots__ = (
        "start",
        "max_event_size",
        "last_event_id",
        "retry",
        "_lines",
        "_data",
        "_size",
        "_type",
    )

    def __init__(
        self,
        start: float = 0.0,
        *,
        max_line_size: Optional[int] = DEFAULT_MAX_LINE_SIZE,
        max_event_size: Optional[int] = DEFAULT_MAX_EVENT_SIZE,
    ) -> None:
        self.start = start
        self.max_event_size = max_event_size
        self.last_event_id = ""
        self.retry: Optional[int] = None
        self._lines = LineSplitter(max_line_size, strip_bom=True)
        self._data: List[str] = []  # the data buffer, one entry per data line
        self._size = 0  # bytes in _data and _type
        self._type = ""

    def feed(self, data: bytes, now: Optional[float] = None) -> List[ServerSentEvent]:
        """The events ``data`` completes; ``now``: when it arrived (the clock read
        here if None).

        :raises StreamLimitExceeded: a line or an event over its limit.
        """
        lines = self._lines.feed(data)
        if not lines:
            return []
        if now is None:
            now = clock()
        events: List[ServerSentEvent] = []
        for line in lines:
            if line:
                self._field(line)
                continue
            # a blank line: dispatch
            if self._data:
                events.append(
                    ServerSentEvent(
                        self._type or "message",
                        "\n".join(self._data),
                        self.last_event_id,
                        self.retry,
                        now - self.start,
                    )
                )
            self._data, self._size, self._type = [], 0, ""
        return events

    def close(self) -> None:
        """The end of the stream: an unfinished event is dropped, as ``EventSource``
        drops it (it has no blank line, so it was never dispatched)."""
        self._lines.flush()
        self._data, self._size, self._type = [], 0, ""

    def _field(self, line: bytes) -> None:
        if line[:1] == b":":
            return  # a comment (servers send them to keep a connection alive)
        name, colon, value = line.partition(b":")
        if colon and value[:1] == b" ":
            value = value[1:]
        if name == b"data":
            self._grow(len(value) + 1)
            self._data.append(value.decode("utf-8", "replace"))
        elif name == b"event":  # replaced, not appended: bounded by the line limit
            self._type = value.decode("utf-8", "replace")
        elif name == b"id":
            if b"\0" not in value:
                self.last_event_id = value.decode("utf-8", "replace")
        elif name == b"retry":
            if value and value.isdigit():  # bytes.isdigit: ASCII digits only
                self.retry = int(value)

    def _grow(self, n: int) -> None:
        size = self._size + n
        limit = self.max_event_size
        if limit is not None and size > limit:
            self._data, self._size, self._type = [], 0, ""
            raise StreamLimitExceeded(
                f"an event of the stream is larger than max_event_size ({size} > {limit} bytes)",
                "GH_E_EVENT_TOO_LARGE",
            )
        self._size = size


def iter_lines(
    chunks: Iterable[bytes], *, max_line_size: Optional[int] = DEFAULT_MAX_LINE_SIZE
) -> Iterator[bytes]:
    """The lines of ``chunks`` (bytes as they arrive), without their line ends (CRLF,
    LF or CR); the last one also without one. Each line is yielded as soon as its
    end arrives.

    :raises StreamLimitExceeded: a line is longer than ``max_line_size`` bytes.
    """
    splitter = LineSplitter(max_line_size)
    try:
        for chunk in chunks:
            if chunk:
                yield from splitter.feed(chunk)
        yield from splitter.flush()
    finally:
        _close(chunks)


def iter_events(
    chunks: Iterable[bytes],
    start: Optional[float] = None,
    *,
    max_line_size: Optional[int] = DEFAULT_MAX_LINE_SIZE,
    max_event_size: Optional[int] = DEFAULT_MAX_EVENT_SIZE,
    arrival: Callable[[], float] = clock,
) -> Iterator[ServerSentEvent]:
    """The events of ``chunks`` (the body's bytes as they arrive), each yielded as
    soon as its blank line arrives. ``start``: the request's start on
    :func:`~geventhttpclient.timings.clock` (None: now); ``arrival()`` tells when a
    chunk came (the clock when it is handed over, by default).

    :raises StreamLimitExceeded: a line or an event over its limit.
    """
    if start is None:
        start = clock()
    parser = EventStreamParser(start, max_line_size=max_line_size, max_event_size=max_event_size)
    try:
        for chunk in chunks:
            if chunk:
                yield from parser.feed(chunk, arrival())
        parser.close()
    finally:
        _close(chunks)


def _close(chunks: Iterable[bytes]) -> None:
    """Close the source of ``chunks`` if it is a generator: when the consumer stops
    early or a limit is exceeded, its clean-up (closing a connection whose body was
    not read to the end) runs now, not when the garbage collector gets to it."""
    close = getattr(chunks, "close", None)
    if close is not None:
        close()
