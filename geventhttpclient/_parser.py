"""The Python face of the C response parser (``csrc/hparser.c``, built by cffi).

Theory of operation: a :class:`HTTPResponseParser` lives as long as its connection.
The connection feeds it bytes from its receive buffer. For a typical response the C
parser never calls back into Python (each crossing costs more than parsing the head):

* it has no ``on_headers_complete`` callback, so ``hp_execute`` returns right after the
  head; we slice the head from the caller's buffer (fields are split from it with
  ``bytes`` methods only when asked for: the C side has already validated every byte,
  so a plain split is exact) and read status, flags and Content-Length from the
  parser struct;
* the body bytes of a Content-Length response that came in the same buffer are
  sliced the same way and accounted with ``hp_body_consumed``;
* the end of the message is read from the ``HP_F_DONE`` flag.

Chunked and close-delimited bodies go through ``hp_execute`` and its ``on_body``
callback, which removes the chunked framing; trailers come through ``on_trailers``.

Bytes the C parser does not consume (an incomplete head or chunk-size line) must be
presented again, followed by new bytes: :meth:`HTTPResponseParser.feed` returns how
many bytes it consumed and the caller keeps the rest.

Errors become :class:`HTTPParseError` (or its subclasses for limits and truncation),
which this module also exports under its 2.x name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, List, Optional, Tuple, TypeVar

from ._cparser import ffi, lib
from .exceptions import (
    HTTPParseError,
    IncompleteResponse,
    LimitExceeded,
    UnexpectedResponse,
)

__all__ = [
    "HTTPParseError",
    "HTTPResponseParser",
    "ParserLimits",
    "DEFAULT_LIMITS",
]

F_CHUNKED = lib.HP_F_CHUNKED
F_KEEP_ALIVE = lib.HP_F_KEEP_ALIVE
F_UPGRADE = lib.HP_F_UPGRADE
F_DONE = lib.HP_F_DONE
F_CODED = lib.HP_F_CODED
F_COOKIE = lib.HP_F_COOKIE
F_COOKIE2 = lib.HP_F_COOKIE2
_FIELD_FLAGS = F_CODED | F_COOKIE | F_COOKIE2
_S_BODY_LENGTH = lib.HP_S_BODY_LENGTH
_S_CHUNK_SIZE = lib.HP_S_CHUNK_SIZE
_S_BODY_EOF = lib.HP_S_BODY_EOF
_BODY_NORMAL = lib.HP_BODY_NORMAL
_BODY_NONE = lib.HP_BODY_NONE
_BODY_TUNNEL = lib.HP_BODY_TUNNEL
_S_ERROR = lib.HP_S_ERROR
# The functions of the per-response path, looked up once: each ``lib.name`` costs
# about as much as a call (CPython, callgrind), a module global next to nothing.
_execute = lib.hp_execute
_body_consumed = lib.hp_body_consumed
_finish = lib.hp_finish
_idle = lib.hp_idle
_VERSION_NAMES = tuple(f"HTTP/1.{minor}" for minor in range(10))
"""By ``http_minor``: the C parser accepts HTTP/1.0 to HTTP/1.9."""

_LIMIT_ERRORS = frozenset(
    {
        lib.HP_E_LINE_TOO_LONG,
        lib.HP_E_TOO_MANY_HEADERS,
        lib.HP_E_HEAD_TOO_LARGE,
        lib.HP_E_CHUNK_LINE_TOO_LONG,
        lib.HP_E_TRAILERS_TOO_LARGE,
    }
)


@dataclass(frozen=True)
class ParserLimits:
    """Bounds on what a server may make us hold. Each is checked before the bytes it
    guards are kept, so a hostile server costs at most this much memory.

    The defaults follow common server limits (8 KiB lines as nginx and Apache use,
    100 headers as ``http.client`` allows).
    """

    max_line: int = 8192
    """Status line or one header line, CRLF included."""
    max_headers: int = 100
    """Header fields in the head; also bounds trailer fields."""
    max_head: int = 65536
    """The whole response head."""
    max_chunk_line: int = 4096
    """One chunk-size line, extensions included."""
    max_trailers: int = 16384
    """The trailer section of a chunked body."""
    max_interim: int = 32
    """1xx interim responses before the final one (stops an endless 1xx stream)."""


DEFAULT_LIMITS = ParserLimits()


def reason_phrase(head: bytes) -> str:
    """The reason phrase from a validated head ("HTTP/1.x NNN reason\r\n..."), decoded
    only when asked for: most callers never look at it."""
    return head[13 : head.find(b"\r\n")].decode("latin-1") if head else ""


def split_fields(block: bytes, first: int = 1) -> List[Tuple[str, str]]:
    """``(name, value)`` pairs from a head (``first=1`` skips the status line) or a
    trailer section the C parser has validated: lines end in CRLF, names are tokens
    followed directly by a colon, so plain splitting is exact."""
    pairs = []
    for line in block.decode("latin-1").split("\r\n")[first:-2]:
        name, _, value = line.partition(":")
        pairs.append((name, value.strip(" \t")))
    return pairs


def _error_for(code: int, offset: int) -> HTTPParseError:
    name = ffi.string(lib.hp_errno_name(code)).decode()
    reason = ffi.string(lib.hp_errno_description(code)).decode()
    if code in _LIMIT_ERRORS:
        return LimitExceeded(reason, name, offset)
    if code == lib.HP_E_INCOMPLETE:
        return IncompleteResponse(reason, name, offset)
    return HTTPParseError(reason, name, offset)


class HTTPResponseParser:
    """Incremental parser for the responses on one connection.

    Call :meth:`start` before each response, :meth:`feed` with received bytes, and
    :meth:`finish` when the peer closed. Parsed parts appear as attributes:
    ``status_code``, ``reason``, ``version``, ``header_pairs``, ``body_chunks``,
    ``headers_complete``, ``message_complete``, ``keep_alive``.
    """

    __slots__ = (
        "_p",
        "_handle",
        "_error",
        "limits",
        "status_code",
        "version",
        "head_block",
        "field_flags",
        "_header_pairs",
        "trailer_pairs",
        "body_chunks",
        "headers_complete",
        "message_complete",
        "keep_alive",
        "content_length",
        "interim",
        "upgraded",
        "_expect",
        "__weakref__",
    )

    def __init__(self, limits: ParserLimits = DEFAULT_LIMITS) -> None:
        self._p = p = ffi.new("hp_parser *")
        lib.hp_init(p)
        p.max_line = limits.max_line
        p.max_headers = limits.max_headers
        p.max_head = limits.max_head
        p.max_chunk_line = limits.max_chunk_line
        p.max_trailers = limits.max_trailers
        self._handle = ffi.new_handle(self)
        p.data = self._handle
        self.limits = limits
        self._error: Optional[BaseException] = None
        self.status_code = 0
        self.version = "HTTP/1.1"
        self.head_block = b""
        self.field_flags = 0
        """F_CODED, F_COOKIE, F_COOKIE2: which of those fields the last head had."""
        self._header_pairs: Optional[List[Tuple[str, str]]] = None
        self.trailer_pairs: List[Tuple[str, str]] = []
        self.keep_alive = False
        self.content_length: Optional[int] = None
        self.interim: List[int] = []
        self.upgraded = False
        self._expect = _BODY_NORMAL  # p.expect as last written (hp_init's)
        self.start()

    def start(self, no_body: bool = False, tunnel: bool = False) -> None:
        """Expect a new response: ``no_body`` for the response to HEAD, ``tunnel`` for
        the response to CONNECT (a 2xx ends the HTTP part of the connection).

        Only what is read before the head arrives is reset here (this runs once per
        request); the head itself sets the rest (:meth:`_take_head`).
        """
        expect = _BODY_NONE if no_body else _BODY_TUNNEL if tunnel else _BODY_NORMAL
        if expect != self._expect:  # a write to the C struct costs a call's worth
            self._p.expect = self._expect = expect
        self.body_chunks: List[bytes] = []
        self.headers_complete = False
        self.message_complete = False
        if self.interim:
            self.interim = []

    def feed(self, data: Any, length: Optional[int] = None, src: Any = None, base: int = 0) -> int:
        """Parse ``data`` (a cdata ``char *`` with ``length``, or any buffer).

        ``src`` is the Python buffer that ``data`` points into, at offset ``base``:
        the head and body are sliced from it (one copy each), else copied out of
        ``data``. Returns the number of bytes consumed; the caller must present the
        rest again. Raises :class:`HTTPParseError` (or a subclass) if the bytes are
        not valid.
        """
        if src is None and not isinstance(data, ffi.CData):
            src = data  # a Python buffer: slice from it, parse through a pointer to it
            data = ffi.from_buffer(data)
            if length is None:
                length = len(src)
        # (a pointer without its length fails in hp_execute's argument conversion)
        p = self._p
        consumed: int = _execute(p, _SETTINGS, data, length)
        head_len = p.head_len
        if head_len:
            consumed = self._take_head(data, length, consumed, src, base, head_len)  # type: ignore[arg-type]
        flags = p.flags
        if flags & F_DONE:
            # Read from the flags rather than a callback: one crossing fewer.
            if p.error:
                self._raise(consumed)
            if self.headers_complete and not self.message_complete:
                self.message_complete = True
                self.keep_alive = bool(flags & F_KEEP_ALIVE)
        elif p.error:
            self._raise(consumed)
        return consumed

    def _take_head(
        self, data: Any, length: int, consumed: int, src: Any, base: int, head_len: int
    ) -> int:
        """hp_execute stopped right after a head (the last ``head_len`` bytes it
        consumed): take it, then the body bytes that came with it. Returns the new
        count of bytes consumed. (Each read of a field of ``p`` costs about as much
        as a Python call: read once, passed on.)"""
        p = self._p
        status = p.status_code
        while status < 200:  # interim responses (and errors) first
            if p.error:
                return consumed
            try:
                self._interim(status)
            except BaseException:
                lib.hp_fail(p, lib.HP_E_CALLBACK)  # for good, as after a callback
                raise
            if consumed == length:
                return consumed
            # the final response (or another 1xx) follows
            consumed += _execute(p, _SETTINGS, data + consumed, length - consumed)
            head_len = p.head_len
            if not head_len:
                return consumed
            status = p.status_code
        if p.error:
            return consumed
        end = base + consumed
        if src is None:
            head = ffi.unpack(data + (consumed - head_len), head_len)
        else:
            head = src[end - head_len : end]
            if type(head) is not bytes:
                head = bytes(head)
        # Fields (and the reason phrase) are split only when someone looks at them:
        # many callers never do, and the C side already took what framing needs.
        self.head_block = head
        self.version = _VERSION_NAMES[p.http_minor]
        self.status_code = status
        cl = p.content_length
        self.content_length = None if cl < 0 else cl
        flags = p.flags
        self.keep_alive = flags & F_KEEP_ALIVE != 0
        self.upgraded = flags & F_UPGRADE != 0  # a tunnel opened (expect and a 2xx)
        self.field_flags = flags & _FIELD_FLAGS
        self._header_pairs = None
        if self.trailer_pairs:
            self.trailer_pairs = []
        self.headers_complete = True
        left = length - consumed
        if left:
            state = p.state
            if state == _S_BODY_LENGTH:
                # The body bytes that came with the head: sliced here, no callback.
                n = p.remaining
                if n > left:
                    n = left
                if src is None:
                    body = ffi.unpack(data + consumed, n)
                else:
                    body = src[end : end + n]
                    if type(body) is not bytes:
                        body = bytes(body)
                self.body_chunks.append(body)
                _body_consumed(p, _SETTINGS, n)
                consumed += n
            elif state == _S_CHUNK_SIZE or state == _S_BODY_EOF:
                consumed += _execute(p, _SETTINGS, data + consumed, left)
            # else no body (HEAD, 204, 304, a tunnel): what follows is not ours
        return consumed

    def _interim(self, status: int) -> None:
        if status == 101:
            self.upgraded = True
            raise UnexpectedResponse("unsolicited 101 Switching Protocols")
        self.interim.append(status)
        if len(self.interim) > self.limits.max_interim:
            raise LimitExceeded(
                f"more than {self.limits.max_interim} interim (1xx) responses",
                "GH_E_TOO_MANY_INTERIM",
            )

    def body_consumed(self, n: int) -> None:
        """The caller received ``n`` bytes of a Content-Length body straight into its
        own buffer: account for them without passing them through the parser."""
        p = self._p
        _body_consumed(p, _SETTINGS, n)
        flags = p.flags
        if flags & F_DONE and self.headers_complete and not self.message_complete:
            self.message_complete = True
            self.keep_alive = bool(flags & F_KEEP_ALIVE)

    def finish(self) -> None:
        """The peer closed the connection: complete a close-delimited body, or raise
        :class:`IncompleteResponse` if the response was cut short."""
        if _finish(self._p, _SETTINGS) != 0:
            self._raise(0)
        if self._p.flags & F_DONE:
            self._on_message_complete()
        if not self.message_complete:
            raise IncompleteResponse(
                "connection closed before the response started", "HP_E_INCOMPLETE", 0
            )

    @property
    def idle(self) -> bool:
        """True between messages, when nothing of a next response has been seen."""
        return bool(_idle(self._p))

    @property
    def remaining(self) -> int:
        """Body bytes still expected in a Content-Length body (0 otherwise)."""
        p = self._p
        return int(p.remaining) if p.state == _S_BODY_LENGTH else 0

    @property
    def failed(self) -> bool:
        return bool(self._p.state == _S_ERROR)

    def _raise(self, offset: int) -> None:
        err = self._error
        if err is not None:
            self._error = None
            raise err
        raise _error_for(self._p.error, offset)

    @property
    def header_pairs(self) -> List[Tuple[str, str]]:
        """The final response's fields as ``(name, value)`` str pairs (latin-1)."""
        pairs = self._header_pairs
        if pairs is None:
            pairs = self._header_pairs = split_fields(self.head_block)
        return pairs

    @property
    def reason(self) -> str:
        """The reason phrase of the final response ("" before its head)."""
        return reason_phrase(self.head_block)

    @property
    def chunked(self) -> bool:
        return bool(self._p.flags & F_CHUNKED) if self.headers_complete else False

    # -- called from C through the extern "Python" trampolines, and by finish() ----

    def _on_trailers(self, block: bytes) -> None:
        self.trailer_pairs = split_fields(block, first=0)

    def _on_message_complete(self) -> None:
        if self.headers_complete and not self.message_complete:
            self.message_complete = True
            self.keep_alive = bool(self._p.flags & F_KEEP_ALIVE)


_CallbackT = TypeVar("_CallbackT", bound=Callable[..., int])
_CB_ERROR: int = lib.HP_CB_ERROR


def _extern(callback: _CallbackT) -> _CallbackT:
    """``ffi.def_extern()`` (which returns the function it registers), typed."""
    registered: _CallbackT = ffi.def_extern()(callback)
    return registered


@_extern
def _gh_on_body(p: Any, at: Any, length: int) -> int:
    self: HTTPResponseParser = ffi.from_handle(p.data)
    try:
        self.body_chunks.append(ffi.unpack(at, length))
    except BaseException as exc:  # noqa: BLE001 - re-raised from feed()
        self._error = exc
        return _CB_ERROR
    return 0


@_extern
def _gh_on_trailers(p: Any, at: Any, length: int) -> int:
    self: HTTPResponseParser = ffi.from_handle(p.data)
    try:
        self._on_trailers(ffi.unpack(at, length))
    except BaseException as exc:  # noqa: BLE001 - re-raised from feed()
        self._error = exc
        return _CB_ERROR
    return 0


_SETTINGS = ffi.new("hp_settings *")
# on_headers_complete stays NULL: hp_execute stops after each head and feed() takes
# it; on_message_complete stays NULL: feed() reads HP_F_DONE instead.
_SETTINGS.on_body = lib._gh_on_body
_SETTINGS.on_trailers = lib._gh_on_trailers
