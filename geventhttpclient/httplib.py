"""An ``http.client`` drop-in whose responses are read by our parser.

:class:`HTTPConnection`, :class:`HTTPSConnection` and :class:`HTTPResponse` have the
surface of their ``http.client`` namesakes, so ``urllib.request``, ``xmlrpc.client``,
``http.cookiejar`` and code written against ``http.client`` run on them unchanged;
:func:`patch` / :func:`patched` install them in ``http.client`` (as geventhttpclient
2.x did), which is where ``urllib.request`` looks them up on every request.

Why not :meth:`HTTPClient.request`: ``http.client`` lets the caller build the head
line by line (``putrequest``/``putheader``), send the body in pieces after the head
(``send``), target a proxy with absolute-form URLs, frame an iterable body with a
caller-set Content-Length, and replace the socket (``self.sock = ...`` in a
subclass's ``connect``). ``HTTPClient.request`` builds and sends a whole request in
one call, so this module drives the same parts below it instead: the request
validation of ``_http11`` (CR/LF/NUL refused with a ``ValueError``), a
:class:`~geventhttpclient.connectionpool.Connection` (socket, receive buffer and C
parser) and :class:`~geventhttpclient.response.HTTPSocketPoolResponse`, which reads
and frames the response.

One connection per :class:`HTTPConnection`, kept alive between requests as
``http.client`` does. The response borrows it the way ``http.client``'s response
borrows the socket through ``makefile``: it holds one of the socket's io references,
so ``conn.sock.close()`` while a body is still streaming (``urllib.request`` does
exactly that after ``getresponse()``) takes effect only when the response is done.
"""

from __future__ import annotations

import contextlib
import http.client
import io
import os
import socket
import ssl
import warnings
from collections.abc import Iterable
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Tuple, Union

import gevent.socket
import gevent.ssl
from gevent.hub import get_hub

from . import _net
from . import exceptions as _exceptions
from ._connection import ACTIVE, IDLE, Connection, RecvBuffer, connect_head, connect_tunnel
from ._http11 import (
    BODY_METHODS,
    check_field,
    check_method,
    check_target,
    chunk_frames,
    closes_connection,
    host_header,
    iter_fields,
)
from ._parser import DEFAULT_LIMITS, ParserLimits
from .exceptions import (
    ConnectionClosed,
    HeaderInjectionError,
    HTTPParseError,
    LimitExceeded,
    UnexpectedResponse,
)
from .header import Headers
from .response import HTTPSocketPoolResponse, byte_view
from .timings import ConnectPhases, Timings

__all__ = [
    "HTTPConnection",
    "HTTPSConnection",
    "HTTPResponse",
    "HTTPMessage",
    "HTTPException",
    "NotConnected",
    "InvalidURL",
    "UnknownProtocol",
    "UnknownTransferEncoding",
    "UnimplementedFileMode",
    "IncompleteRead",
    "ImproperConnectionState",
    "CannotSendRequest",
    "CannotSendHeader",
    "ResponseNotReady",
    "BadStatusLine",
    "LineTooLong",
    "RemoteDisconnected",
    "HTTP_PORT",
    "HTTPS_PORT",
    "responses",
    "error",
    "patch",
    "unpatch",
    "patched",
]

HTTP_PORT = http.client.HTTP_PORT
HTTPS_PORT = http.client.HTTPS_PORT
responses = http.client.responses
HTTPMessage = http.client.HTTPMessage

# The connection-state errors are http.client's own: nothing of ours to add to them.
HTTPException = http.client.HTTPException
error = HTTPException
NotConnected = http.client.NotConnected
UnknownProtocol = http.client.UnknownProtocol
UnknownTransferEncoding = http.client.UnknownTransferEncoding
UnimplementedFileMode = http.client.UnimplementedFileMode
ImproperConnectionState = http.client.ImproperConnectionState
CannotSendRequest = http.client.CannotSendRequest
CannotSendHeader = http.client.CannotSendHeader
ResponseNotReady = http.client.ResponseNotReady

_CS_IDLE = "Idle"
_CS_REQ_STARTED = "Request-started"
_CS_REQ_SENT = "Request-sent"

_UNKNOWN = "UNKNOWN"  # http.client's value for a response's fields before begin()

_ORIGINALS = (http.client.HTTPConnection, http.client.HTTPSConnection, http.client.HTTPResponse)


# -- errors: ours and http.client's at once --------------------------------------------
#
# Code written for http.client catches http.client's classes; code written for
# geventhttpclient catches ours. Each error below is both, so neither kind of
# handler misses it.


# The error classes live in exceptions.py, named for this module.
InvalidURL = _exceptions.HTTPLibInvalidURL
BadStatusLine = _exceptions.HTTPLibBadStatusLine
LineTooLong = _exceptions.HTTPLibLineTooLong
RemoteDisconnected = _exceptions.HTTPLibRemoteDisconnected
IncompleteRead = _exceptions.HTTPLibIncompleteRead


def _head_error(exc: BaseException) -> BaseException:
    """The http.client-compatible error for a failure while reading a response head."""
    if isinstance(exc, ConnectionClosed) and not isinstance(exc, RemoteDisconnected):
        return RemoteDisconnected("Remote end closed connection without response")
    if isinstance(exc, LimitExceeded) and not isinstance(exc, LineTooLong):
        return LineTooLong(exc.reason, exc.code, exc.offset)
    if isinstance(exc, HTTPParseError) and not isinstance(exc, http.client.HTTPException):
        return BadStatusLine(exc.reason, exc.code, exc.offset)
    return exc


# -- one connection, lent to one response at a time ---------------------------------


def _sock_timeout(sock: Any) -> Optional[float]:
    try:
        return sock.gettimeout()
    except (AttributeError, OSError):
        return None


def _is_closed(sock: Any) -> bool:
    try:
        return sock.fileno() < 0
    except (OSError, ValueError):
        return True


class _Slot:
    """The connection of one :class:`HTTPConnection`, in the role of the pool that
    :class:`HTTPSocketPoolResponse` gives its connection back to.

    ``conn`` is the connection the next request will use (None: connect first).
    While a response reads, it holds an io reference on the socket (the
    ``makefile`` protocol of sockets), so closing ``sock`` is deferred until the
    response gives the connection back; a connection that was closed or replaced in
    the meantime is then closed instead of kept.
    """

    __slots__ = ("conn", "lent", "timeout")
    trace: Any = None  # no trace hook on this face

    def __init__(self) -> None:
        self.conn: Optional[Connection] = None
        self.lent: Optional[Connection] = None
        self.timeout: Optional[float] = None  # the socket timeout ``conn`` was made with

    def adopt(self, sock: Any, limits: ParserLimits = DEFAULT_LIMITS) -> Connection:
        """Make a connection over ``sock`` the slot's; it waits for the server as long
        as the socket's timeout says (a value it keeps: see :meth:`refresh`)."""
        self.timeout = _sock_timeout(sock)
        conn = Connection(sock, limits, timeout=self.timeout)
        conn.buf = RecvBuffer()
        self.replace(conn)
        return conn

    def refresh(self, limits: ParserLimits) -> None:
        """Re-wrap the idle connection if someone changed its socket's timeout since
        (``conn.sock.settimeout(...)``, as urllib3 does after connecting): the
        connection's waits use the timeout it was made with."""
        conn = self.conn
        if conn is None or conn is self.lent or conn.pending:
            return
        if _sock_timeout(conn.sock) != self.timeout:
            requests = conn.requests
            self.conn = None  # the socket lives on in the new connection
            self.adopt(conn.sock, limits).requests = requests

    def lend(self, conn: Connection) -> None:
        conn.state = ACTIVE
        refs = getattr(conn.sock, "_io_refs", None)
        if refs is not None:
            conn.sock._io_refs = refs + 1
        self.lent = conn

    def _returned(self, conn: Connection) -> None:
        if self.lent is conn:
            self.lent = None
            decref = getattr(conn.sock, "_decref_socketios", None)
            if decref is not None:
                decref()  # closes the socket now if sock.close() was deferred

    # The three methods HTTPSocketPoolResponse calls on its pool:

    def release(self, conn: Connection) -> None:
        self._returned(conn)
        conn.state = IDLE
        conn.requests += 1
        if conn is not self.conn or _is_closed(conn.sock):
            self.discard(conn)

    def discard(self, conn: Connection, reason: str = "") -> None:
        self._returned(conn)
        conn.close()
        if self.conn is conn:
            self.conn = None

    def discard_soon(self, conn: Connection) -> None:
        get_hub().loop.run_callback(self.discard, conn)

    def replace(self, conn: Optional[Connection]) -> None:
        """Make ``conn`` the connection; the old one is closed unless a response has it."""
        old, self.conn = self.conn, conn
        if old is not None and old is not conn and old is not self.lent:
            old.close()


# -- the response ----------------------------------------------------------------------


class HTTPLibHeaders(Headers):
    """2.x's header type for this module: a :class:`Headers` whose item access
    joins a repeated field into one ``", "``-separated line, as ``http.client``
    messages do. (Responses here carry an ``http.client.HTTPMessage`` as ``msg``.)"""

    def __getitem__(self, key: str) -> Any:
        value = super().__getitem__(key)
        return ", ".join(value) if isinstance(value, list) else value


class _ResponseMessage(http.client.HTTPMessage):
    """The response fields as geventhttpclient 2.x gave them to ``http.client`` code.

    Two differences from the ``HTTPMessage`` that ``http.client`` parses, both 2.x's:
    field names are lowercased (``items()``, ``keys()``: field names are
    case-insensitive, and 2.x handed them out that way), and ``msg[name]`` joins
    all lines of a repeated field with ", " (RFC 9110 5.3) where ``http.client``
    returns the first one. ``get()`` and ``get_all()`` are ``email.message``'s own:
    ``get_all`` keeps each ``Set-Cookie`` line apart for ``http.cookiejar``, and
    ``email``'s parameter helpers (``get_content_type``...) read the first line
    through ``get``, as they do on ``http.client``.
    """

    def __getitem__(self, name: str) -> Any:
        values = self.get_all(name)
        if not values:
            return None
        if len(values) == 1:
            return values[0]
        return ", ".join(str(v) for v in values)


def _message(pairs: Iterable[Tuple[str, str]]) -> _ResponseMessage:
    msg = _ResponseMessage()
    for name, value in pairs:
        msg[name.lower()] = value
    return msg


class HTTPResponse(io.BufferedIOBase):
    """``http.client.HTTPResponse`` over :class:`HTTPSocketPoolResponse`.

    ``HTTPResponse(sock, debuglevel=0, method=None, url=None)`` then :meth:`begin`,
    as in ``http.client``; :meth:`HTTPConnection.getresponse` does both.

    Differences from ``http.client``: a body cut short raises :class:`IncompleteRead`
    from ``read(amt)`` too (http.client returns ``b""`` there and only ``read()``
    raises), a malformed head is a :class:`BadStatusLine` whatever line was bad, and
    ``msg``/``headers`` is a :class:`_ResponseMessage` (lowercased names, repeated
    fields joined by ``msg[name]``) as in geventhttpclient 2.x.

    As in ``http.client``, :meth:`isclosed` turns true once the body has been read
    to its end, while ``closed`` stays false until :meth:`close`: ``io.TextIOWrapper``
    checks ``closed`` before every line, so a response that closed itself at the end
    of its body would fail ``for line in io.TextIOWrapper(resp)`` on lines it had
    already received (geventhttpclient 2.x reported ``closed`` like ``isclosed()``).

    The 2.x response surface is here too, for code written against it:
    ``status_code``, ``content_length``, ``headers_complete``, ``message_complete``,
    ``should_keep_alive()``, ``should_close()``, ``release()``, ``resp[name]``,
    ``get()``, ``name in resp`` and ``items()``.
    """

    def __init__(
        self,
        sock: Any,
        debuglevel: int = 0,
        method: Optional[str] = None,
        url: Optional[str] = None,
    ) -> None:
        if isinstance(sock, _Slot):
            self._slot = sock
        else:
            self._slot = _Slot()
            self._slot.adopt(sock)
        self.debuglevel = debuglevel
        self._method = (method or "GET").upper()
        self.url = url
        self._raw: Optional[HTTPSocketPoolResponse] = None
        self._socket: Any = None  # the connection's socket, from begin() on
        self._pushback = b""  # bytes taken from the body but not yet given out (peek)
        self._consumed = 0
        self._message: Optional[http.client.HTTPMessage] = None
        self._msg: Any = None  # urllib.request sets msg to the reason phrase
        self.version: Any = _UNKNOWN
        self.status: Any = _UNKNOWN
        self.code: Any = None
        self.reason: Any = _UNKNOWN
        self.chunked: Any = _UNKNOWN
        self.chunk_left: Any = _UNKNOWN
        self.will_close: Any = _UNKNOWN
        self._content_length: Optional[int] = None
        self._block = 8192

    # -- the head --------------------------------------------------------------------

    def begin(self) -> None:
        """Read the response head (interim 1xx responses are skipped by the parser)."""
        if self._raw is not None:
            return
        slot = self._slot
        conn = slot.conn
        if conn is None:
            raise NotConnected()
        self._socket = conn.sock
        slot.lend(conn)
        try:
            raw = HTTPSocketPoolResponse(conn, slot, self._method, read_head=True)
        except Exception as exc:
            compat = _head_error(exc)
            if compat is exc:
                raise
            raise compat from exc
        self._raw = raw
        self._block = raw.block_size
        self.status = self.code = raw.status_code
        self.reason = raw.status_message
        self.version = 10 if raw.version == "HTTP/1.0" else 11
        self.will_close = not raw.should_keep_alive()
        te = raw.headers.get("transfer-encoding")
        if isinstance(te, list):
            te = ", ".join(te)
        self.chunked = bool(te) and te.rsplit(",", 1)[-1].strip().lower() == "chunked"
        self.chunk_left = None
        no_body = self._method == "HEAD" or self.status in (204, 304)
        self._content_length = 0 if no_body else raw.content_length
        if self.debuglevel > 0:
            print("reply:", repr(f"{raw.version} {self.status} {self.reason}"))
            for name, value in raw.headers.items():
                print("header:", name + ":", value)

    @property
    def headers(self) -> Optional[http.client.HTTPMessage]:
        """The fields as an ``http.client.HTTPMessage`` (an ``email.message.Message``),
        made on first use: ``http.cookiejar`` and ``urllib`` need ``get_all`` & co."""
        if self._message is None and self._raw is not None:
            self._message = _message(self._raw.headers.items())
        return self._message

    @headers.setter
    def headers(self, value: Any) -> None:
        self._message = value

    @property
    def msg(self) -> Any:
        """The headers, unless someone assigned something else (``urllib.request``
        overwrites ``msg`` with the reason phrase, as it does on ``http.client``)."""
        return self.headers if self._msg is None else self._msg

    @msg.setter
    def msg(self, value: Any) -> None:
        self._msg = value

    def getheader(self, name: str, default: Any = None) -> Any:
        """All values of ``name`` joined with ", ", or ``default``."""
        headers = self.headers
        if headers is None:
            raise ResponseNotReady()
        values = headers.get_all(name) or default
        if isinstance(values, str) or not hasattr(values, "__iter__"):
            return values
        return ", ".join(values)

    def getheaders(self) -> List[Tuple[str, str]]:
        """Every field line as ``(name, value)``, names as the server sent them."""
        raw = self._raw
        if raw is None:
            raise ResponseNotReady()
        return list(raw.headers.items())

    def info(self) -> Any:
        return self.headers

    def geturl(self) -> Optional[str]:
        return self.url

    def getcode(self) -> Any:
        return self.status

    # -- the geventhttpclient 2.x surface -------------------------------------------------

    def _started(self) -> HTTPSocketPoolResponse:
        raw = self._raw
        if raw is None:
            raise ResponseNotReady()
        return raw

    @property
    def _sock(self) -> Any:
        """The socket while the body still arrives on it; None once the message is
        complete (its connection went back to the :class:`HTTPConnection`, often
        while the head was read) or the response closed. 2.x had this attribute."""
        raw = self._raw
        if raw is None or raw.message_complete or self.closed:
            return None
        return self._socket

    @property
    def status_code(self) -> Any:
        return self.status

    @property
    def timings(self) -> Optional[Timings]:
        """Where the request's time went (:class:`~geventhttpclient.timings.Timings`),
        None before :meth:`begin`. The request went out before the response object
        existed: ``send`` is not measured here (0.0), ``wait`` runs from
        :meth:`begin`, and the phases of making the connection are those of a new
        one made by :meth:`HTTPConnection.connect`."""
        raw = self._raw
        return None if raw is None else raw.timings

    @property
    def content_length(self) -> Optional[int]:
        """The length the head announced (None for a chunked or unframed body)."""
        return self._started().content_length

    @property
    def headers_complete(self) -> bool:
        return self._raw is not None

    @property
    def message_complete(self) -> bool:
        """True once the whole message has arrived (not necessarily been read)."""
        raw = self._raw
        return raw is not None and raw.message_complete

    def should_keep_alive(self) -> bool:
        return self._started().should_keep_alive()

    def should_close(self) -> bool:
        """True unless the message is complete and its connection may be reused."""
        return self._started().should_close()

    def release(self) -> None:
        self.close()

    def __getitem__(self, name: str) -> str:
        value = self.getheader(name)
        if value is None:
            raise KeyError(name)
        return value

    def get(self, name: str, default: Any = None) -> Any:
        return self.getheader(name, default)

    def __contains__(self, name: object) -> bool:
        headers = self.headers
        return headers is not None and isinstance(name, str) and name in headers

    def items(self) -> List[Tuple[str, str]]:
        """``("status", "200")`` and then one ``(name, value)`` per field, names
        lowercased and repeated fields joined with ", ".

        This is the shape ``httplib2.Response`` copies from a response that is not
        an ``http.client.HTTPResponse`` instance (ours are not, unless
        :func:`patch` is in force): without the status pseudo-field its status would
        default to 200, and redirects and errors would go unnoticed; the joined
        values are what it builds itself from ``http.client``'s responses. A field
        the server called ``Status`` does not override the real status.
        """
        fields = {"status": str(self.status)}
        for name, value in self._started().headers.items():
            key = name.lower()
            if key == "status":
                continue
            fields[key] = f"{fields[key]}, {value}" if key in fields else value
        return list(fields.items())

    @property
    def length(self) -> Optional[int]:
        """Body bytes still to come when the length is known (None otherwise)."""
        if self._content_length is None or self.chunked is True:
            return None
        return max(0, self._content_length - self._consumed)

    @length.setter
    def length(self, value: Optional[int]) -> None:
        # http.client code may zero it; keep the arithmetic consistent with that.
        self._content_length = None if value is None else self._consumed + value

    # -- state -------------------------------------------------------------------------

    def isclosed(self) -> bool:
        """True once closed or once the body was read to its end (not merely received:
        urllib3 takes a closed response for a finished one)."""
        if self.closed:
            return True
        raw = self._raw
        if raw is None or not raw.message_complete or self._pushback:
            return False
        # Complete: raw.read no longer touches the network, it only hands out the
        # bytes still buffered.
        self._pushback = raw.read(self._block)
        return not self._pushback

    def close(self) -> None:
        try:
            super().close()
        finally:
            raw = self._raw
            if raw is not None:
                raw.release()
            self._pushback = b""

    def __del__(self) -> None:
        # io.IOBase would call close() here; the raw response's own finaliser gives
        # the connection back from the hub instead, which is safe in a finaliser.
        pass

    def flush(self) -> None:
        pass

    def readable(self) -> bool:
        return True

    def fileno(self) -> int:
        if self._socket is None or self.closed:
            raise ValueError("I/O operation on closed or unstarted response")
        return int(self._socket.fileno())

    # -- the body ----------------------------------------------------------------------

    def _raw_call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Call a body read of the raw response; errors become http.client's."""
        try:
            return fn(*args)
        except HTTPParseError as exc:
            if isinstance(exc, ConnectionClosed):
                if isinstance(exc, RemoteDisconnected):
                    raise
                raise RemoteDisconnected(str(exc)) from exc
            if isinstance(exc, IncompleteRead):
                raise
            raw = self._raw
            assert raw is not None
            partial = raw.read()  # what arrived before the failure (no I/O now)
            expected = self.length
            if expected is not None:
                expected = max(0, expected - len(partial))
            raise IncompleteRead(partial, expected, exc.reason, exc.code) from exc

    def _take_pushback(self, amt: int) -> bytes:
        data = self._pushback
        if amt < len(data):
            self._pushback = data[amt:]
            return data[:amt]
        self._pushback = b""
        return data

    def read(self, amt: Optional[int] = None) -> bytes:
        """Up to ``amt`` bytes (blocking until there are that many or the body ends),
        or the rest of the body; ``b""`` at the end or once closed."""
        raw = self._raw
        if raw is None or self.closed:
            return b""
        if amt is None or amt < 0:
            data = self._pushback
            self._pushback = b""
            try:
                data += self._raw_call(raw.read)
            except IncompleteRead as exc:
                exc.partial = data + exc.partial
                self._consumed += len(exc.partial)
                raise
        else:
            data = self._take_pushback(amt)
            if len(data) < amt:
                data += self._raw_call(raw.read, amt - len(data))
        self._consumed += len(data)
        return data

    def readinto(self, b: Any) -> int:
        """Fill ``b`` (blocking until full or the body ends); the number of bytes."""
        raw = self._raw
        if raw is None or self.closed:
            return 0
        mv = byte_view(b)
        size = len(mv)
        head = self._take_pushback(size)
        n = len(head)
        mv[:n] = head
        while n < size:
            got = self._raw_call(raw.readinto, mv[n:])
            if not got:
                break
            n += got
        self._consumed += n
        return n

    def _read_some(self, size: int) -> bytes:
        """At most one receive's worth, up to ``size`` bytes."""
        raw = self._raw
        assert raw is not None
        buf = bytearray(size)
        n = self._raw_call(raw.readinto, buf)
        return bytes(memoryview(buf)[:n])

    def read1(self, n: int = -1) -> bytes:
        """Bytes already received, or those of one receive if none are."""
        if self._raw is None or self.closed or n == 0:
            return b""
        size = n if n > 0 else self._block
        data = self._take_pushback(size) if self._pushback else self._read_some(size)
        self._consumed += len(data)
        return data

    def peek(self, n: int = 0) -> bytes:
        """Body bytes ahead, without consuming them (at least one unless at the end)."""
        if self._raw is None or self.closed:
            return b""
        if not self._pushback:
            self._pushback = self._read_some(max(n, self._block))
        return self._pushback

    def readline(self, limit: Optional[int] = -1) -> bytes:
        raw = self._raw
        if raw is None or self.closed:
            return b""
        if limit is None:
            limit = -1
        data = self._pushback
        j = data.find(b"\n")
        if j >= 0 or (0 <= limit <= len(data)):
            cut = j + 1 if j >= 0 else limit
            if 0 <= limit < cut:
                cut = limit
            line = self._take_pushback(cut)
        else:
            self._pushback = b""
            rest = -1 if limit < 0 else limit - len(data)
            line = data + self._raw_call(raw.readline, rest)
        self._consumed += len(line)
        return line

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.status} {self.reason!r}>"


# -- connections -----------------------------------------------------------------------


def _encode_body(body: str) -> bytes:
    try:
        return body.encode("iso-8859-1")
    except UnicodeEncodeError as err:
        raise UnicodeEncodeError(
            err.encoding,
            err.object,
            err.start,
            err.end,
            f"Body ({body[err.start : err.end]!r}) is not valid Latin-1. "
            "Use body.encode('utf-8') if you want to send it encoded in UTF-8.",
        ) from None


def _content_length(body: Any, method: str) -> Optional[int]:
    """Content-Length as http.client decides it; None means chunked (or no body)."""
    if body is None:
        return 0 if method.upper() in BODY_METHODS else None
    if hasattr(body, "read"):
        return None
    try:
        return memoryview(body).nbytes
    except TypeError:
        pass
    if isinstance(body, str):
        return len(body)
    return None


def _field_name(name: Any) -> str:
    return name.decode("latin-1") if isinstance(name, (bytes, bytearray)) else str(name)


def _ascii_or_idna(host: str) -> str:
    try:
        host.encode("ascii")
        return host
    except UnicodeEncodeError:
        return host.encode("idna").decode("ascii")


class HTTPConnection:
    """``http.client.HTTPConnection`` with our request validation and parser.

    Differences from ``http.client``: several values given to one ``putheader`` are
    joined with ", " (http.client folds them over lines, which HTTP/1.1 deprecates
    and our validation refuses); a kept-alive connection the server has closed is
    replaced before the next request instead of failing it; after an error reading
    the response the connection is closed and ready for a new request.

    A subclass may initialise it with ``http.client.HTTPConnection.__init__(self,
    ...)`` by name, as httplib2's connection classes do (the name is looked up when
    called, when ``http.client`` is usually not patched): the state that function
    does not set has class defaults, and the connection slot is made on first use.
    """

    default_port = HTTP_PORT
    response_class: Any = HTTPResponse
    auto_open = 1
    debuglevel = 0
    _http_vsn = 11
    _http_vsn_str = "HTTP/1.1"
    limits: ParserLimits = DEFAULT_LIMITS
    _state = _CS_IDLE
    _response: Optional[HTTPResponse] = None
    _closing = False  # the request being made asks to close the connection

    # urllib.request calls this on the class to decide its own framing.
    _get_content_length = staticmethod(_content_length)

    def __init__(
        self,
        host: str,
        port: Optional[int] = None,
        timeout: Any = socket._GLOBAL_DEFAULT_TIMEOUT,  # type: ignore[attr-defined]
        source_address: Optional[Tuple[str, int]] = None,
        blocksize: int = 8192,
    ) -> None:
        self.timeout = timeout
        self.source_address = source_address
        self.blocksize = blocksize
        self._slot = _Slot()
        self._method: Optional[str] = None
        self._buffer: List[bytes] = []
        self._tunnel_host: Optional[str] = None
        self._tunnel_port: Optional[int] = None
        self._tunnel_headers: Dict[str, str] = {}
        self._raw_proxy_headers: Optional[http.client.HTTPMessage] = None
        self.host, self.port = self._get_hostport(host, port)
        self._validate_host(self.host)

    def __getattr__(self, name: str) -> Any:
        # Only for attributes not found otherwise: the slot of a connection that
        # http.client.HTTPConnection.__init__ initialised (see the class docstring).
        if name == "_slot":
            slot = self._slot = _Slot()
            return slot
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _validate_host(self, host: str) -> None:
        if any(c <= " " or c == "\x7f" for c in host):
            raise InvalidURL(f"URL can't contain control characters. {host!r}")

    def _get_hostport(self, host: str, port: Optional[int]) -> Tuple[str, int]:
        """``host`` may carry the port (``"example.com:8080"``, ``"[::1]:8080"``)."""
        if port is None:
            i = host.rfind(":")
            j = host.rfind("]")  # IPv6 literals are bracketed
            if i > j:
                digits = host[i + 1 :]
                if digits == "":
                    port = self.default_port
                elif digits.isdigit():
                    port = int(digits)
                else:
                    raise InvalidURL(f"nonnumeric port: '{digits}'")
                host = host[:i]
            else:
                port = self.default_port
        if host[:1] == "[" and host[-1:] == "]":
            host = host[1:-1]
        return host, int(port)

    def set_debuglevel(self, level: int) -> None:
        self.debuglevel = level

    def set_tunnel(
        self, host: str, port: Optional[int] = None, headers: Optional[Mapping[str, str]] = None
    ) -> None:
        """Reach ``host:port`` through the proxy at ``self.host:self.port`` with CONNECT."""
        if self.sock is not None:
            raise RuntimeError("Can't set up tunnel for established connection")
        self._tunnel_host, self._tunnel_port = self._get_hostport(host, port)
        self._tunnel_headers = dict(headers) if headers else {}

    def get_proxy_response_headers(self) -> Optional[http.client.HTTPMessage]:
        """The headers of the proxy's answer to CONNECT (None without a tunnel)."""
        return self._raw_proxy_headers

    # -- the socket --------------------------------------------------------------------

    @property
    def sock(self) -> Any:
        """The socket, or None when not connected. Assigning a connected socket (a
        subclass's ``connect`` may) makes it the connection; assigning None drops it."""
        conn = self._slot.conn
        return None if conn is None else conn.sock

    @sock.setter
    def sock(self, value: Any) -> None:
        if value is None:
            # Dropping the reference, as in http.client; whoever else has it may use it.
            self._slot.conn = None
        elif self._slot.conn is None or self._slot.conn.sock is not value:
            # how _open_socket made it, for the response's timings
            self._slot.adopt(value, self.limits).phases = self.__dict__.pop("_phases", None)

    def _open_socket(self, ssl_context: Any = None, server_hostname: Optional[str] = None) -> Any:
        """A connected socket (to the proxy, through its tunnel if one is set; with
        TLS if ``ssl_context``), opened as every client of ours opens one (Happy
        Eyeballs, IP literals without the resolver, errors translated to ours,
        which are also the ``OSError``/``socket.timeout``/``ssl`` errors that
        http.client callers catch)."""
        # Not http.client's _create_connection hook: http.client.HTTPConnection.__init__
        # points it at socket.create_connection, which blocks unless monkey patched.
        timeout = self.timeout
        if timeout is socket._GLOBAL_DEFAULT_TIMEOUT:  # type: ignore[attr-defined]
            timeout = socket.getdefaulttimeout()
        assert self.host is not None and self.port is not None
        phases = self._phases = ConnectPhases()
        return _net.connect(
            self.host,
            self.port,
            connection_timeout=timeout,
            network_timeout=timeout,
            ssl_context=ssl_context,
            server_hostname=server_hostname,
            tunnel=self._tunnel if self._tunnel_host else None,
            source_address=self.source_address,
            phases=phases,
        )

    def connect(self) -> None:
        """Connect to the host and port given to the constructor."""
        self.sock = self._open_socket()

    def _tunnel(self, sock: Any) -> None:
        """CONNECT to the tunnel host (RFC 9110 9.3.6); any 2xx opens the tunnel."""
        assert self._tunnel_host is not None and self._tunnel_port is not None
        head = connect_head(
            _ascii_or_idna(self._tunnel_host), self._tunnel_port, self._tunnel_headers
        )
        try:
            parser = connect_tunnel(sock, head, self.limits)
        except ConnectionClosed as exc:
            raise RemoteDisconnected("proxy closed the connection during CONNECT") from exc
        except UnexpectedResponse as exc:
            raise BadStatusLine(str(exc)) from exc
        except HTTPParseError as exc:
            raise _head_error(exc) from exc
        message = http.client.HTTPMessage()
        for name, value in parser.header_pairs:
            message[name] = value
        self._raw_proxy_headers = message
        if self.debuglevel > 0:
            print("proxy:", parser.status_code, parser.reason)
        if not 200 <= parser.status_code < 300:
            raise OSError(f"Tunnel connection failed: {parser.status_code} {parser.reason}")

    def close(self) -> None:
        """Close the connection and any response still unread (as http.client does)."""
        self._state = _CS_IDLE
        try:
            slot = self._slot
            conn, slot.conn = slot.conn, None
            if conn is not None and conn is slot.lent:
                # A greenlet may be waiting for this response: it ends now, with
                # ClientClosed, and the socket closes (its io reference dropped).
                slot._returned(conn)
                conn.abort(f"connection to {self.host}:{self.port} was closed")
            elif conn is not None:
                conn.close()
        finally:
            response, self._response = self._response, None
            if response is not None:
                response.close()

    def _ready_connection(self) -> Connection:
        """The connection to send on: reconnects when it was closed on either side."""
        slot = self._slot
        conn = slot.conn
        if conn is not None and slot.lent is not conn:
            if _is_closed(conn.sock) or (conn.requests and not conn.is_alive()):
                slot.replace(None)
                conn = None
        if conn is not None:
            slot.refresh(self.limits)
            conn = slot.conn
        if conn is None:
            if not self.auto_open:
                raise NotConnected()
            self.connect()
            conn = slot.conn
            if conn is None:
                raise NotConnected()
        return conn

    # -- requests ------------------------------------------------------------------------

    def send(self, data: Any) -> None:
        """Send bytes, a file-like object's contents or an iterable's blocks as they are."""
        conn = self._ready_connection()
        if self.debuglevel > 0:
            print("send:", repr(data))
        if hasattr(data, "read"):
            while True:
                block = data.read(self.blocksize)
                if not block:
                    break
                conn.write(block.encode("iso-8859-1") if isinstance(block, str) else block)
            return
        try:
            conn.write(data)
        except TypeError:
            if isinstance(data, Iterable):
                for block in data:
                    conn.write(block)
            else:
                raise TypeError(
                    f"data should be a bytes-like object or an iterable, got {type(data)!r}"
                ) from None

    def _output(self, line: bytes) -> None:
        self._buffer.append(line)

    def _send_output(self, message_body: Any = None, encode_chunked: bool = False) -> None:
        self._buffer.extend((b"", b""))
        msg = b"\r\n".join(self._buffer)
        self._buffer = []
        if isinstance(message_body, (bytes, bytearray)) and len(message_body) <= 65536:
            msg += message_body
            message_body = None
        self.send(msg)
        if message_body is None:
            return
        chunks: Iterable[Any]
        if hasattr(message_body, "read"):
            chunks = self._read_readable(message_body)
        else:
            try:
                memoryview(message_body)
            except TypeError:
                try:
                    chunks = iter(message_body)
                except TypeError:
                    raise TypeError(
                        "message_body should be a bytes-like object or an iterable, "
                        f"got {type(message_body)!r}"
                    ) from None
            else:
                chunks = (message_body,)
        blocks: Iterable[Any] = (_encode_body(c) if isinstance(c, str) else c for c in chunks)
        if encode_chunked and self._http_vsn == 11:
            blocks = chunk_frames(blocks)
        for block in blocks:
            if block:
                self.send(block)

    def _read_readable(self, readable: Any) -> Iterator[bytes]:
        while True:
            block = readable.read(self.blocksize)
            if not block:
                return
            yield block.encode("iso-8859-1") if isinstance(block, str) else block

    def putrequest(
        self, method: str, url: str, skip_host: bool = False, skip_accept_encoding: bool = False
    ) -> None:
        """Start a request: its request line, Host and Accept-Encoding: identity."""
        if self._response is not None and self._response.isclosed():
            self._response = None
        if self._state != _CS_IDLE or self._response is not None:
            raise CannotSendRequest(self._state)
        method_b = check_method(method)
        url = url or "/"
        try:
            target = check_target(url)
        except HeaderInjectionError as exc:
            raise InvalidURL(f"URL can't contain control characters. {url!r}") from exc
        self._state = _CS_REQ_STARTED
        self._method = method
        self._closing = self._http_vsn == 10  # unless it says keep-alive (putheader)
        self._buffer = [method_b + b" " + target + b" " + self._http_vsn_str.encode("ascii")]
        if self._http_vsn != 11:
            return
        if not skip_host:
            netloc = ""
            if url.startswith("http"):
                from urllib.parse import urlsplit

                netloc = urlsplit(url).netloc
            if netloc:
                self.putheader("Host", _ascii_or_idna(netloc))
            else:
                host, port = (
                    (self._tunnel_host, self._tunnel_port)
                    if self._tunnel_host
                    else (self.host, self.port)
                )
                assert host is not None and port is not None
                self.putheader("Host", host_header(_ascii_or_idna(host), port, self.default_port))
        if not skip_accept_encoding:
            self.putheader("Accept-Encoding", "identity")

    def putheader(self, header: Union[str, bytes], *values: Any) -> None:
        """One header field; several values are joined with ", "."""
        if self._state != _CS_REQ_STARTED:
            raise CannotSendHeader()
        parts = [
            v if isinstance(v, (bytes, bytearray)) else str(v).encode("latin-1") for v in values
        ]
        name, value = check_field(header, b", ".join(parts))
        if name.lower() == b"connection":
            self._closing = closes_connection([(name, value)], self._http_vsn == 10)
        self._output(name + b": " + value)

    def endheaders(self, message_body: Any = None, *, encode_chunked: bool = False) -> None:
        """Send the head, and ``message_body`` after it if given."""
        if self._state != _CS_REQ_STARTED:
            raise CannotSendHeader()
        self._state = _CS_REQ_SENT
        self._send_output(message_body, encode_chunked=encode_chunked)

    def request(
        self,
        method: str,
        url: str,
        body: Any = None,
        headers: Any = {},  # noqa: B006 - http.client's signature; never mutated
        *,
        encode_chunked: bool = False,
    ) -> None:
        """Send a whole request; framing headers are added as http.client adds them."""
        names = {_field_name(n).lower() for n, _ in iter_fields(headers)}
        self.putrequest(
            method,
            url,
            skip_host="host" in names,
            skip_accept_encoding="accept-encoding" in names,
        )
        if "content-length" not in names:
            if "transfer-encoding" not in names:
                encode_chunked = False
                length = _content_length(body, method)
                if length is None:
                    if body is not None:
                        encode_chunked = True
                        self.putheader("Transfer-Encoding", "chunked")
                else:
                    self.putheader("Content-Length", str(length))
        else:
            encode_chunked = False
        for name, value in iter_fields(headers):
            self.putheader(name, value)
        if isinstance(body, str):
            body = _encode_body(body)
        self.endheaders(body, encode_chunked=encode_chunked)

    def getresponse(self) -> HTTPResponse:
        """The response to the request sent, its head read."""
        if self._response is not None and self._response.isclosed():
            self._response = None
        if self._state != _CS_REQ_SENT or self._response is not None:
            raise ResponseNotReady(self._state)
        self._state = _CS_IDLE
        response = self.response_class(self._slot, self.debuglevel, method=self._method)
        try:
            response.begin()
        except BaseException:
            response.close()
            self.close()
            raise
        if self._closing:
            # The request said it closes after this response (RFC 9112 9.6), even
            # if the server offered to keep the connection: never reuse it.
            response.will_close = True
        if response.will_close:
            # The response keeps the connection to the end of its body, or closes
            # it now if the body is already complete; the next request gets a new
            # one (http.client closes its reference here too).
            self._slot.replace(None)
        else:
            self._response = response
        return response

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.host}:{self.port} {self._state}>"


_shared_https_context: Optional[ssl.SSLContext] = None


def _forget_shared_context() -> None:
    """Fork hook: the child makes its own default context (see ``_net``)."""
    global _shared_https_context
    _shared_https_context = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_shared_context)


def _https_context(private: bool) -> ssl.SSLContext:
    """The context of a connection given none, made as ``http.client`` makes it
    (certificate and host name verified, ALPN ``http/1.1``, TLS 1.3 post-handshake
    authentication allowed) but trusting certifi's bundle.

    ``http.client`` makes one per connection; loading the bundle takes about 20 ms,
    so ours is made once and shared. A connection that will change its context (a
    client certificate, ``check_hostname=False``) asks for a ``private`` one.
    """
    global _shared_https_context
    if not private and _shared_https_context is not None:
        return _shared_https_context
    # With a factory given, make_ssl_context makes a new context (no cache).
    context = _net.make_ssl_context(None, gevent.ssl.create_default_context)
    if getattr(context, "post_handshake_auth", None) is not None:
        context.post_handshake_auth = True
    if not private:
        _shared_https_context = context
    return context


class HTTPSConnection(HTTPConnection):
    """``http.client.HTTPSConnection``; certificates and host names are verified.

    Without ``context`` the certificate is checked against certifi's CA bundle
    (http.client uses the system store) and the host name is checked.
    ``cert_file``/``key_file`` load a client certificate into the context.
    ``key_file``, ``cert_file`` and ``check_hostname`` are accepted in their
    Python 3.11 places, with 3.11's ``DeprecationWarning`` (3.12 removed them).
    """

    default_port = HTTPS_PORT

    def __init__(
        self,
        host: str,
        port: Optional[int] = None,
        key_file: Optional[str] = None,
        cert_file: Optional[str] = None,
        timeout: Any = socket._GLOBAL_DEFAULT_TIMEOUT,  # type: ignore[attr-defined]
        source_address: Optional[Tuple[str, int]] = None,
        *,
        context: Optional[ssl.SSLContext] = None,
        check_hostname: Optional[bool] = None,
        blocksize: int = 8192,
    ) -> None:
        super().__init__(host, port, timeout, source_address, blocksize=blocksize)
        if key_file is not None or cert_file is not None or check_hostname is not None:
            warnings.warn(
                "key_file, cert_file and check_hostname are deprecated, "
                "use a custom context instead.",
                DeprecationWarning,
                stacklevel=2,
            )
        self.key_file = key_file
        self.cert_file = cert_file
        if context is None:
            context = _https_context(private=bool(cert_file or key_file or check_hostname is False))
        will_verify = context.verify_mode != ssl.CERT_NONE
        if check_hostname is None:
            check_hostname = context.check_hostname
        if check_hostname and not will_verify:
            raise ValueError(
                "check_hostname needs a SSL context with either CERT_OPTIONAL or CERT_REQUIRED"
            )
        if key_file or cert_file:
            context.load_cert_chain(cert_file, key_file)  # type: ignore[arg-type]
            if getattr(context, "post_handshake_auth", None) is not None:
                context.post_handshake_auth = True
        if check_hostname is not None:
            context.check_hostname = check_hostname
        self._context = context

    def connect(self) -> None:
        """Connect, tunnel if asked, and shake hands; TLS errors are ``ssl``'s
        (ours derive from them)."""
        self.sock = self._open_socket(self._context, self._tunnel_host or self.host)


# -- patching ---------------------------------------------------------------------------


def patch() -> None:
    """Make ``http.client`` (hence ``urllib.request``, ``xmlrpc.client``) use ours."""
    http.client.HTTPConnection = HTTPConnection  # type: ignore[misc,assignment]
    http.client.HTTPSConnection = HTTPSConnection  # type: ignore[misc,assignment]
    http.client.HTTPResponse = HTTPResponse  # type: ignore[misc,assignment]


def unpatch() -> None:
    """Put ``http.client``'s own classes back."""
    (
        http.client.HTTPConnection,  # type: ignore[misc]
        http.client.HTTPSConnection,  # type: ignore[misc]
        http.client.HTTPResponse,  # type: ignore[misc]
    ) = _ORIGINALS


@contextlib.contextmanager
def patched() -> Iterator[None]:
    """:func:`patch` for the ``with`` block; whatever was installed before comes back."""
    before = (http.client.HTTPConnection, http.client.HTTPSConnection, http.client.HTTPResponse)
    patch()
    try:
        yield
    finally:
        (
            http.client.HTTPConnection,  # type: ignore[misc]
            http.client.HTTPSConnection,  # type: ignore[misc]
            http.client.HTTPResponse,  # type: ignore[misc]
        ) = before
