"""An httpx-style face on the requests-style :class:`~geventhttpclient.requests.Session`.

Code written against httpx's synchronous API mostly runs unchanged::

    from geventhttpclient import httpx

    with httpx.Client(base_url="https://api.example", timeout=10) as client:
        r = client.get("/items", params={"page": 2})
        r.raise_for_status()
        items = r.json()
        with client.stream("GET", "/export") as r:
            for line in r.iter_lines():
                ...

Theory of operation: this module owns no HTTP rule. A :class:`Client` holds one
:class:`~geventhttpclient.requests.Session` and translates httpx's names into the
session's (``follow_redirects`` -> ``allow_redirects``, ``content=`` -> ``data=``,
:class:`Timeout` -> ``(connect, read)``); redirects, retries, cookies, body encoding
(form, JSON, multipart), content decoding and charsets are the session's, so every
face of the library behaves the same. :class:`Response` is the session's response
with httpx's names added. What is left here is vocabulary, ``base_url`` joining,
and error translation.

Errors. httpx's exception names, rooted in our own root::

    exceptions.HTTPError
    └── HTTPError
        ├── RequestError
        │   ├── TransportError
        │   │   ├── TimeoutException (exceptions.TimeoutError)
        │   │   │   ├── ConnectTimeout (exceptions.ConnectTimeout)
        │   │   │   ├── ReadTimeout (exceptions.ReadTimeout)
        │   │   │   ├── WriteTimeout
        │   │   │   └── PoolTimeout (exceptions.PoolTimeout)
        │   │   ├── NetworkError (exceptions.NetworkError)
        │   │   │   ├── ConnectError (exceptions.ConnectError)
        │   │   │   ├── ReadError
        │   │   │   ├── WriteError
        │   │   │   └── CloseError
        │   │   ├── ProtocolError (exceptions.ProtocolError)
        │   │   │   ├── LocalProtocolError (exceptions.RequestError)
        │   │   │   └── RemoteProtocolError
        │   │   ├── ProxyError
        │   │   └── UnsupportedProtocol (exceptions.InvalidURL)
        │   ├── DecodingError (exceptions.DecodingError)
        │   └── TooManyRedirects (exceptions.TooManyRedirects)
        ├── HTTPStatusError (exceptions.HTTPStatusError)
        └── InvalidURL (exceptions.InvalidURL)
    StreamError (RuntimeError)
    └── StreamConsumed (exceptions.StreamConsumedError)

The engine raises its own errors; they are translated once, where they leave this
face (a request, or reading a streamed body), into the httpx class of the table
:data:`_TRANSLATION`, ``raise ... from`` the original. The error raised is an
instance of the httpx class *and* of the exact class the engine raised: a refused
connection is an ``httpx.ConnectError`` and still a ``ConnectionRefusedError``, a
certificate failure an ``httpx.ConnectError`` and still an ``ssl.SSLError``, a body
cut short an ``httpx.RemoteProtocolError`` and still an ``IncompleteResponse``. So
code catching httpx's names, ours, 2.x's or the builtins all keeps working. Such a
combined class is made once per pair and cached (a few dozen at most); its
``str()``, attributes and ``errno`` are the original's. Usage errors (``TypeError``,
``ValueError`` for bad arguments, :class:`~geventhttpclient.exceptions.UnsupportedAuth`)
and a closed client (``PoolClosed``, a ``RuntimeError`` as in httpx) pass unchanged.

Per-request ``cookies``, ``auth`` and ``timeout`` work as in httpx (2.6.1 refused
them with ``NotImplementedError``): the session already supports them.

Differences from httpx, on purpose (most are 2.6.1's, whose programs must run):

* ``follow_redirects`` is False on a :class:`Client` (httpx) but True for the
  module-level :func:`get` and friends (2.6.1 followed there);
* :meth:`Response.raise_for_status` raises for 4xx and 5xx only, not for an
  unfollowed 3xx (2.6.1); it returns the response otherwise (httpx);
* :meth:`Response.iter_lines` yields ``str`` (httpx; 2.6.1 gave requests' bytes,
  still there with ``decode_unicode=False``); ``iter_bytes`` yields decoded bytes
  (httpx; 2.6.1 gave the raw ones, which are :meth:`Response.iter_raw`);
* ``url`` is a ``str`` and ``headers`` our :class:`~geventhttpclient.header.Headers`
  (a repeated field reads as a list); ``.text`` without a declared charset follows
  the session's rules (ISO-8859-1 for ``text/*``, UTF-8 for JSON);
* the connection limit (:class:`Limits`) is per origin, and by default a request
  waits for a free connection without limit (``Timeout.pool`` is None): greenlet
  programs often run more requests at once than there are connections;
* there is no HTTP/2, no transport mounting, no ``build_request``/``send``, no
  request event hooks and no async client: concurrency comes from gevent.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Tuple, Union

from . import exceptions as exc
from ._bodies import FilesInput as FilesInput
from ._bodies import Payload as Payload
from .auth import BasicAuth
from .auth import resolve_auth as resolve_auth
from .header import HeadersDataType as HeadersDataType
from .requests import RequestsResponse as RequestsResponse
from .requests import Response as _SessionResponse
from .requests import Session
from .sse import DEFAULT_MAX_EVENT_SIZE, DEFAULT_MAX_LINE_SIZE, ServerSentEvent
from .url import URL
from .url import ParamsDataType as ParamsDataType
from .useragent import CompatRequest as CompatRequest

__all__ = [
    "BasicAuth",
    "Client",
    "Limits",
    "Response",
    "Timeout",
    "HTTPError",
    "RequestError",
    "TransportError",
    "TimeoutException",
    "ConnectTimeout",
    "ReadTimeout",
    "WriteTimeout",
    "PoolTimeout",
    "NetworkError",
    "ConnectError",
    "ReadError",
    "WriteError",
    "CloseError",
    "ProtocolError",
    "LocalProtocolError",
    "RemoteProtocolError",
    "ProxyError",
    "UnsupportedProtocol",
    "DecodingError",
    "TooManyRedirects",
    "HTTPStatusError",
    "InvalidURL",
    "StreamError",
    "StreamConsumed",
    "request",
    "stream",
    "get",
    "options",
    "head",
    "post",
    "put",
    "patch",
    "delete",
]

_UNSET: Any = object()
_RAW_BLOCK = 64 * 1024
"""Bytes asked of the socket per step when ``iter_raw`` has no ``chunk_size``."""


# -- errors ---------------------------------------------------------------------------


# The error classes live in exceptions.py (their names clash with ours there).
HTTPError = exc.HttpxHTTPError
RequestError = exc.HttpxRequestError
TransportError = exc.HttpxTransportError
TimeoutException = exc.HttpxTimeoutException
ConnectTimeout = exc.HttpxConnectTimeout
ReadTimeout = exc.HttpxReadTimeout
WriteTimeout = exc.HttpxWriteTimeout
PoolTimeout = exc.HttpxPoolTimeout
NetworkError = exc.HttpxNetworkError
ConnectError = exc.HttpxConnectError
ReadError = exc.HttpxReadError
WriteError = exc.HttpxWriteError
CloseError = exc.HttpxCloseError
ProtocolError = exc.HttpxProtocolError
LocalProtocolError = exc.HttpxLocalProtocolError
RemoteProtocolError = exc.HttpxRemoteProtocolError
ProxyError = exc.HttpxProxyError
UnsupportedProtocol = exc.HttpxUnsupportedProtocol
DecodingError = exc.HttpxDecodingError
TooManyRedirects = exc.HttpxTooManyRedirects
HTTPStatusError = exc.HttpxHTTPStatusError
InvalidURL = exc.HttpxInvalidURL
StreamError = exc.HttpxStreamError
StreamConsumed = exc.HttpxStreamConsumed
_combined = exc.combined_error_class


_TRANSLATION: Tuple[Tuple[type, Optional[type]], ...] = (
    # usage errors and a closed client are not failures of a request
    (exc.UnsupportedAuth, None),
    (exc.PoolClosed, None),
    (exc.TooManyRedirects, TooManyRedirects),
    (exc.HTTPStatusError, HTTPStatusError),
    (exc.StreamConsumedError, StreamConsumed),
    (exc.UnrewoundBodyError, StreamConsumed),
    (exc.PoolTimeout, PoolTimeout),
    (exc.ConnectTimeout, ConnectTimeout),
    (exc.ReadTimeout, ReadTimeout),
    (exc.TimeoutError, TimeoutException),
    (exc.TLSError, ConnectError),  # httpx reports a failed handshake so
    (exc.ConnectError, ConnectError),
    (exc.DecodingError, DecodingError),
    (exc.ConnectionClosed, RemoteProtocolError),  # httpx: "Server disconnected"
    (exc.ProtocolError, RemoteProtocolError),
    (exc.NetworkError, NetworkError),
    (exc.UnsupportedRedirectSchemeError, UnsupportedProtocol),
    (exc.InvalidURL, InvalidURL),
    (exc.RequestError, LocalProtocolError),
    (exc.HTTPError, RequestError),
)
"""Engine error -> httpx class; the first matching row wins (most specific first)."""


def _translate(error: BaseException, request: Any = None) -> BaseException:
    """``error`` as this face raises it (see the module docstring); ``error`` itself
    when it is already one of ours or not to be translated."""
    if isinstance(error, (HTTPError, StreamError)) or not isinstance(error, exc.HTTPError):
        return error
    # 2.x's "every attempt failed" is named after its last failure (a ReadTimeout...)
    original = getattr(error, "original", None)
    if not isinstance(error, exc.RetriesExceeded) or not isinstance(original, exc.HTTPError):
        original = error
    face = next(target for source, target in _TRANSLATION if isinstance(original, source))
    if face is None:
        return error
    cls: Any = _combined(face, type(error))
    # No __init__: the new error is the engine's, field for field, under a new class.
    new = cls.__new__(cls)
    new.args = error.args
    new.__dict__.update(error.__dict__)
    if isinstance(error, OSError):
        # errno & co. are not in __dict__; None must stay unset, or str() shows it
        for name in ("errno", "strerror", "filename", "filename2"):
            value = getattr(error, name)
            if value is not None:
                setattr(new, name, value)
    if "request" not in new.__dict__:
        new.request = request
    return new


@contextmanager
def _translated(request: Any = None) -> Iterator[None]:
    """Re-raise the engine's errors as this face's (``raise ... from`` the original)."""
    try:
        yield
    except exc.HTTPError as error:
        new = _translate(error, request)
        if new is error:
            raise
        raise new from error


# -- settings -------------------------------------------------------------------------


class Timeout:
    """Time limits in seconds (None: no limit), httpx's ``Timeout``.

    ``Timeout(5.0)`` sets all four; ``Timeout(5.0, connect=2.0)`` one differently;
    ``Timeout(connect=2, read=10, write=10, pool=None)`` needs all four;
    ``Timeout((connect, read, write, pool))`` and 2.6.1's ``(connect, read)`` pair
    work too. ``connect`` and ``read`` are the session's ``(connect, read)``
    timeouts (the read limit also bounds sends, so ``write`` is kept but has no
    effect of its own); ``pool`` is how long a request waits for a free
    connection, set once per :class:`Client`.

    :raises ValueError: when neither a default nor all four values are given.
    """

    __slots__ = ("connect", "read", "write", "pool")

    def __init__(
        self,
        timeout: Any = _UNSET,
        *,
        connect: Any = _UNSET,
        read: Any = _UNSET,
        write: Any = _UNSET,
        pool: Any = _UNSET,
    ) -> None:
        if isinstance(timeout, Timeout):
            connect, read, write, pool = timeout.connect, timeout.read, timeout.write, timeout.pool
        elif isinstance(timeout, tuple) and len(timeout) == 4:
            connect, read, write, pool = timeout
        elif isinstance(timeout, tuple) and len(timeout) == 2:
            connect, read = timeout
            write, pool = read, None
        elif isinstance(timeout, tuple):
            raise ValueError(f"a timeout tuple is (connect, read[, write, pool]), not {timeout!r}")
        elif timeout is _UNSET:
            if _UNSET in (connect, read, write, pool):
                raise ValueError(
                    "Timeout needs a default or all four of connect, read, write, pool"
                )
        else:
            connect = timeout if connect is _UNSET else connect
            read = timeout if read is _UNSET else read
            write = timeout if write is _UNSET else write
            pool = timeout if pool is _UNSET else pool
        self.connect: Optional[float] = connect
        self.read: Optional[float] = read
        self.write: Optional[float] = write
        self.pool: Optional[float] = pool

    def as_dict(self) -> Dict[str, Optional[float]]:
        return {"connect": self.connect, "read": self.read, "write": self.write, "pool": self.pool}

    def _pair(self) -> Tuple[Optional[float], Optional[float]]:
        return self.connect, self.read

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Timeout) and self.as_dict() == other.as_dict()

    def __hash__(self) -> int:
        return hash((self.connect, self.read, self.write, self.pool))

    def __repr__(self) -> str:
        values = {self.connect, self.read, self.write, self.pool}
        if len(values) == 1:
            return f"Timeout(timeout={self.connect})"
        return (
            f"Timeout(connect={self.connect}, read={self.read}, write={self.write}, "
            f"pool={self.pool})"
        )


DEFAULT_TIMEOUT = Timeout(5.0, pool=None)
"""httpx's five seconds for connecting, reading and writing; no limit on waiting for
a pooled connection (see the module docstring)."""


class Limits:
    """httpx's connection limits. ``max_connections`` is the number of connections
    per origin (the session's ``concurrency``; None keeps its default);
    ``max_keepalive_connections`` and ``keepalive_expiry`` are accepted and have no
    effect: every connection of the pool is kept alive while the server allows it.
    """

    __slots__ = ("max_connections", "max_keepalive_connections", "keepalive_expiry")

    def __init__(
        self,
        *,
        max_connections: Optional[int] = None,
        max_keepalive_connections: Optional[int] = None,
        keepalive_expiry: Optional[float] = 5.0,
    ) -> None:
        self.max_connections = max_connections
        self.max_keepalive_connections = max_keepalive_connections
        self.keepalive_expiry = keepalive_expiry

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Limits) and (
            self.max_connections,
            self.max_keepalive_connections,
            self.keepalive_expiry,
        ) == (other.max_connections, other.max_keepalive_connections, other.keepalive_expiry)

    def __repr__(self) -> str:
        return (
            f"Limits(max_connections={self.max_connections}, "
            f"max_keepalive_connections={self.max_keepalive_connections}, "
            f"keepalive_expiry={self.keepalive_expiry})"
        )


# -- the response -----------------------------------------------------------------------


class Response(_SessionResponse):
    """The session's response with httpx's names.

    Everything of :class:`geventhttpclient.requests.Response` is here
    (``status_code``, ``headers``, ``content``, ``text``, ``json()``, ``encoding``,
    ``cookies``, ``history``, ``elapsed``, ``request``, ``url``...), plus httpx's
    ``reason_phrase``, ``http_version``, ``is_success`` and the other status
    predicates, ``read()``, ``iter_bytes()``, ``iter_text()``, ``iter_lines()``,
    ``iter_raw()``, ``is_closed``, ``is_stream_consumed`` and
    ``num_bytes_downloaded``. A response of :meth:`Client.stream` leaves its body
    unread until one of those reads it.
    """

    # Class-level defaults: the session builds responses; these are set only when
    # they change, by the client and by the reads below.
    _is_stream = False
    _raw_used = False
    _decoded_used = False
    _closed = False
    _filling = False
    _downloaded = 0

    # -- status ---------------------------------------------------------------------

    @property
    def reason_phrase(self) -> str:
        return self.reason

    @property
    def http_version(self) -> str:
        """``"HTTP/1.1"`` or ``"HTTP/1.0"``."""
        return self.version

    @property
    def is_informational(self) -> bool:
        return 100 <= self.status_code < 200

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300

    @property
    def is_client_error(self) -> bool:
        return 400 <= self.status_code < 500

    @property
    def is_server_error(self) -> bool:
        return 500 <= self.status_code < 600

    @property
    def is_error(self) -> bool:
        return 400 <= self.status_code < 600

    @property
    def has_redirect_location(self) -> bool:
        """A redirect status with a ``Location`` (what :attr:`is_redirect` also says)."""
        return self.is_redirect

    @property
    def charset_encoding(self) -> Optional[str]:
        """The charset :attr:`text` uses, by the session's rules (see
        :attr:`encoding`)."""
        return self.encoding

    def raise_for_status(self) -> Response:  # type: ignore[override]  # httpx returns self
        """Return this response, or raise :class:`HTTPStatusError` for a 4xx or 5xx
        status (an unfollowed redirect is returned, as in 2.6.1).

        :raises HTTPStatusError: with ``.request`` and ``.response``.
        """
        if not self.is_error:
            return self
        kind = "Client error" if self.is_client_error else "Server error"
        message = f"{kind} '{self.status_code} {self.reason}' for url '{self.url}'"
        raise HTTPStatusError(message, request=self.request, response=self)

    # -- the body ---------------------------------------------------------------------

    @property
    def content(self) -> bytes:
        """The whole decoded body, read on first use.

        :raises StreamConsumed: after :meth:`iter_raw`, which took the body as sent.
        """
        if self._raw_used:
            raise StreamConsumed("the body was read raw (iter_raw): it cannot be decoded now")
        self._decoded_used = True
        # The session fills content through self.read(): inside, read() must be the
        # session's "rest of the body", not httpx's "the content" (which is this).
        self._filling = True
        try:
            with _translated(self.request):
                data = super().content
        finally:
            self._filling = False
        if self._downloaded < len(data):
            self._downloaded = len(data)
        return data

    def read(self, n: Optional[int] = None) -> bytes:
        """The whole body (httpx), read if it was not yet, as :attr:`content`.

        With ``n`` (2.6.1's streaming read): up to ``n`` more decoded bytes.
        """
        if n is None and not self._filling:
            return self.content
        self._decoded_used = True
        with _translated(self.request):
            data = super().read(n)
        if n is not None:
            self._downloaded += len(data)
        return data

    def iter_bytes(self, chunk_size: Optional[int] = None) -> Iterator[bytes]:
        """The decoded body in pieces as they arrive, of at most ``chunk_size`` bytes.

        :raises StreamConsumed: if a streamed body was already iterated.
        """
        self._start_decoded()
        with _translated(self.request):  # a second iteration is refused at once
            chunks = self.iter_content(chunk_size)
        return self._tracked(chunks, count=True)

    def iter_text(self, chunk_size: Optional[int] = None) -> Iterator[str]:
        """The body as ``str`` pieces, decoded in :attr:`encoding` (UTF-8 if None),
        multi-byte characters kept whole."""
        self._start_decoded()
        with _translated(self.request):
            chunks = self.iter_content(chunk_size, decode_unicode=True)
        return self._tracked(chunks)

    def iter_lines(  # httpx's default: str lines
        self,
        chunk_size: Optional[int] = None,
        decode_unicode: bool = True,
        delimiter: Union[str, bytes, None] = None,
        *,
        max_line_size: Optional[int] = None,
    ) -> Iterator[Any]:
        """The body line by line, without the line ends, as ``str`` (httpx).

        The session's rules split lines (``\\r\\n``, ``\\n`` or ``\\r``, or
        ``delimiter``); ``decode_unicode=False`` gives bytes, as 2.6.1 did.
        ``max_line_size`` (ours; None, httpx's behaviour: no limit) bounds a line.

        :raises RemoteProtocolError: a line longer than ``max_line_size`` (also a
            :class:`~geventhttpclient.exceptions.StreamLimitExceeded`).
        """
        self._start_decoded()
        with _translated(self.request):
            lines = super().iter_lines(
                chunk_size, decode_unicode, delimiter, max_line_size=max_line_size
            )
        return self._tracked(lines)

    def iter_events(
        self,
        *,
        max_line_size: Optional[int] = DEFAULT_MAX_LINE_SIZE,
        max_event_size: Optional[int] = DEFAULT_MAX_EVENT_SIZE,
    ) -> Iterator[ServerSentEvent]:
        """The decoded body parsed as a ``text/event-stream`` (see
        :meth:`~geventhttpclient.useragent.CompatResponse.iter_events`), errors in
        httpx's names.

        :raises RemoteProtocolError: a line or an event over its limit (also a
            :class:`~geventhttpclient.exceptions.StreamLimitExceeded`).
        :raises StreamConsumed: if the body was read raw or already iterated.
        """
        self._start_decoded()
        with _translated(self.request):
            events = super().iter_events(max_line_size=max_line_size, max_event_size=max_event_size)
        return self._tracked(events)

    def _decoded_stream(self) -> Iterator[bytes]:
        """The decoded body as it arrives, counted as :meth:`iter_bytes` counts it."""
        with _translated(self.request):
            chunks = self.iter_content(None)
        return self._tracked(chunks, count=True)

    def iter_raw(self, chunk_size: Optional[int] = None) -> Iterator[bytes]:
        """The body as the server sent it (still compressed), from a
        :meth:`Client.stream` response: pieces as they arrive, or of ``chunk_size``
        bytes (the last one shorter).

        :raises StreamConsumed: if the body was already read or iterated, which a
            response that is not streamed always was.
        """
        if not self._is_stream or self.is_stream_consumed:
            raise StreamConsumed("the body was already read: iter_raw needs Client.stream()")
        if chunk_size is not None and chunk_size < 1:
            raise ValueError("chunk_size must be at least 1")
        self._raw_used = True
        return self._tracked(self._raw_chunks(chunk_size), count=True)

    def _raw_chunks(self, chunk_size: Optional[int]) -> Iterator[bytes]:
        raw = self.raw
        try:
            if chunk_size is not None:
                while True:
                    data = raw.read(chunk_size)
                    if not data:
                        return
                    yield data
            buf = bytearray(_RAW_BLOCK)
            view = memoryview(buf)
            while True:
                n = raw.readinto(view)
                if not n:
                    return
                yield bytes(view[:n])
        except BaseException:
            # An error, the caller stopping early or its own timeout: the rest of the
            # body will not be read, so the connection is closed rather than reused.
            raw.release()
            raise

    def _start_decoded(self) -> None:
        if self._raw_used:
            raise StreamConsumed("the body was read raw (iter_raw): it cannot be decoded now")
        self._decoded_used = True

    def _tracked(self, chunks: Iterator[Any], count: bool = False) -> Iterator[Any]:
        """``chunks`` with the engine's errors translated, bytes counted (``count``)
        and the response closed at the end, as httpx does."""
        with _translated(self.request):
            for chunk in chunks:
                if count:
                    self._downloaded += len(chunk)
                yield chunk
        self._closed = True

    @property
    def num_bytes_downloaded(self) -> int:
        """Body bytes handed out so far by :attr:`content`, :meth:`read`,
        :meth:`iter_bytes` and :meth:`iter_raw` (httpx counts bytes as received;
        the same figure unless the body is compressed)."""
        return self._downloaded

    @property
    def is_stream_consumed(self) -> bool:
        """True once the body was read or its iteration began."""
        return self._raw_used or self._decoded_used or not self._is_stream

    @property
    def is_closed(self) -> bool:
        """True once the body was read to its end or :meth:`close` was called (the
        connection itself goes back as soon as its last byte arrived)."""
        return self._closed or not self._is_stream

    def release(self) -> None:
        """Give the connection back; an unread rest of the body closes it."""
        self._closed = True
        super().release()

    def close(self) -> None:
        """Give the connection back; an unread rest of the body closes it."""
        self.release()

    def __repr__(self) -> str:
        return f"<Response [{self.status_code} {self.reason}]>"


# -- the client -----------------------------------------------------------------------


class _Session(Session):
    """The client's session: makes this face's :class:`Response`."""

    response_type = Response


def _ignore_result(hook: Callable[[Any], Any]) -> Callable[[Any], None]:
    """httpx ignores what a response hook returns; the session would take it as a
    replacement response."""

    def call(response: Any) -> None:
        hook(response)

    return call


def _proxies(proxy: Any, proxies: Any) -> Optional[Dict[str, Any]]:
    """The session's ``proxies`` from httpx's ``proxy=`` URL or its older
    ``proxies=`` mapping (keys such as ``"all://"``, ``"https://"`` or
    ``"http://host"``)."""
    if proxy is not None:
        return {"http": str(proxy), "https": str(proxy)}
    if not proxies:
        return None
    if not isinstance(proxies, Mapping):
        return {"http": str(proxies), "https": str(proxies)}
    out: Dict[str, Any] = {}
    for key, value in proxies.items():
        key = str(key)
        out[key[:-3] if key.endswith("://") else key] = None if value is None else str(value)
    return out


class Client:
    """httpx's synchronous ``Client`` on a pooled, keep-alive
    :class:`~geventhttpclient.requests.Session`.

    Keyword arguments as in httpx: ``base_url``, ``params``, ``headers``,
    ``cookies``, ``auth`` (a pair, :class:`BasicAuth` or a requests-style
    callable), ``timeout`` (seconds, a :class:`Timeout`, or None for no limit;
    default :data:`DEFAULT_TIMEOUT`), ``follow_redirects`` (default False),
    ``max_redirects``, ``verify``, ``cert``, ``proxy`` (or ``proxies``),
    ``limits`` (:class:`Limits`), ``trust_env``, ``event_hooks`` (``"response"``
    hooks, called for every response, redirects included). Any other keyword goes
    to the :class:`~geventhttpclient.requests.Session` (``max_retries``,
    ``retry_delay``, and 2.x's ``connection_timeout``/``network_timeout``, which
    become the :class:`Timeout` when ``timeout`` is not given).

    The session is :attr:`session`, for its settings that httpx has no name for.
    Close the client (or use ``with``) to close its connections; a closed client
    refuses requests, as httpx does. Greenlet-safe.
    """

    def __init__(
        self,
        *,
        auth: Any = None,
        params: Any = None,
        headers: Any = None,
        cookies: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxy: Any = None,
        proxies: Any = None,
        timeout: Any = _UNSET,
        follow_redirects: bool = False,
        limits: Optional[Limits] = None,
        event_hooks: Optional[Mapping[str, Any]] = None,
        base_url: Union[str, URL] = "",
        trust_env: bool = True,
        **session_kw: Any,
    ) -> None:
        if timeout is _UNSET:
            legacy = [session_kw.pop(k, _UNSET) for k in ("connection_timeout", "network_timeout")]
            if legacy == [_UNSET, _UNSET]:
                timeout = DEFAULT_TIMEOUT
            else:
                default = DEFAULT_TIMEOUT.read
                connect, read = (default if v is _UNSET else v for v in legacy)
                timeout = Timeout((connect, read))
        self._timeout = Timeout(timeout)
        hooks = dict(event_hooks or {})
        if hooks.get("request"):
            raise NotImplementedError("request event hooks are not supported; use auth= callables")
        self._event_hooks = {"request": [], "response": list(hooks.get("response") or [])}
        session_kw.setdefault("pool_timeout", self._timeout.pool)
        if limits is not None and limits.max_connections is not None:
            session_kw.setdefault("concurrency", limits.max_connections)
        self.session = _Session(
            auth=auth,
            params=params,
            headers=headers,
            cookies=cookies,
            verify=verify,
            cert=cert,
            proxies=_proxies(proxy, proxies),
            timeout=self._timeout._pair(),
            trust_env=trust_env,
            hooks={"response": [_ignore_result(h) for h in self._event_hooks["response"]]},
            **session_kw,
        )
        self.base_url = base_url
        self.follow_redirects = follow_redirects
        self._closed = False

    # -- httpx's attribute names over the session's --------------------------------------

    @property
    def base_url(self) -> str:
        return self._base_url

    @base_url.setter
    def base_url(self, value: Union[str, URL]) -> None:
        # httpx: a base URL always ends with "/", so relative paths extend its path
        value = str(value or "")
        self._base_url = value if not value or value.endswith("/") else value + "/"

    @property
    def headers(self) -> Any:
        return self.session.headers

    @headers.setter
    def headers(self, value: Any) -> None:
        self.session.headers = value

    @property
    def cookies(self) -> Any:
        return self.session.cookies

    @cookies.setter
    def cookies(self, value: Any) -> None:
        self.session.cookies = value

    @property
    def params(self) -> Any:
        return self.session.params

    @params.setter
    def params(self, value: Any) -> None:
        self.session.params = value

    @property
    def auth(self) -> Any:
        return self.session.auth

    @auth.setter
    def auth(self, value: Any) -> None:
        self.session.auth = value

    @property
    def timeout(self) -> Timeout:
        return self._timeout

    @timeout.setter
    def timeout(self, value: Any) -> None:
        self._timeout = Timeout(value)
        self.session.timeout = self._timeout._pair()

    @property
    def max_redirects(self) -> int:
        return self.session.max_redirects

    @max_redirects.setter
    def max_redirects(self, value: int) -> None:
        self.session.max_redirects = int(value)

    @property
    def trust_env(self) -> bool:
        return bool(self.session.trust_env)

    @property
    def event_hooks(self) -> Dict[str, List[Callable[..., Any]]]:
        return self._event_hooks

    @property
    def is_closed(self) -> bool:
        return self._closed

    # -- requests -----------------------------------------------------------------------

    def _url(self, url: Union[str, URL]) -> str:
        """``url`` joined to :attr:`base_url` unless it has a scheme (httpx: a
        relative path, with or without a leading "/", extends the base path)."""
        text = str(url)
        base = self._base_url
        if not base or "://" in text.split("?", 1)[0]:
            return text
        return base + text.lstrip("/")

    def _send(self, method: str, url: Union[str, URL], stream: bool, kw: Dict[str, Any]) -> Any:
        if self._closed:
            raise exc.PoolClosed("Cannot send a request, as the client has been closed.")
        content = kw.pop("content", None)
        if content is not None:
            if isinstance(content, Mapping):
                raise TypeError("content= takes bytes, str or an iterable of bytes; use data=")
            if kw.get("data") is not None or kw.get("files"):
                raise ValueError("pass content= alone: it cannot be combined with data= or files=")
            kw["data"] = content
        follow = kw.pop("follow_redirects", None)
        kw["allow_redirects"] = self.follow_redirects if follow is None else bool(follow)
        timeout = kw.pop("timeout", _UNSET)
        if timeout is not _UNSET:
            kw["timeout"] = Timeout(timeout)._pair()
        with _translated():
            response: Any = self.session.request(method, self._url(url), stream=stream, **kw)
        response._is_stream = stream
        return response

    def request(
        self,
        method: str,
        url: Union[str, URL],
        *,
        content: Any = None,
        data: Any = None,
        files: Any = None,
        json: Any = None,
        params: Any = None,
        headers: Any = None,
        cookies: Any = None,
        auth: Any = None,
        follow_redirects: Optional[bool] = None,
        timeout: Any = _UNSET,
    ) -> Response:
        """Send a request and return its :class:`Response`, body read.

        ``content`` is the body as it is (bytes, str as UTF-8, an iterable of bytes
        or a file); ``data`` a form (a dict), ``files`` a multipart upload, ``json``
        a JSON body; ``params``, ``headers``, ``cookies`` and ``auth`` add to or
        replace the client's for this request; ``follow_redirects`` and ``timeout``
        override the client's.

        :raises ValueError: for conflicting bodies (``content`` or ``data`` with
            ``json``).
        :raises HTTPError: a subclass as the module docstring draws.
        :raises RuntimeError: if the client is closed.
        """
        kw = dict(
            content=content,
            data=data,
            files=files,
            json=json,
            params=params,
            headers=headers,
            cookies=cookies,
            auth=auth,
            follow_redirects=follow_redirects,
            timeout=timeout,
        )
        return self._send(method, url, False, kw)

    @contextmanager
    def stream(self, method: str, url: Union[str, URL], **kw: Any) -> Iterator[Response]:
        """A request whose body is left unread, for ``iter_bytes()`` and friends;
        the response is closed when the block ends. Arguments as :meth:`request`."""
        response = self._send(method, url, True, _request_kw(kw))
        try:
            yield response
        finally:
            response.close()

    def get(self, url: Union[str, URL], **kw: Any) -> Response:
        return self.request("GET", url, **kw)

    def options(self, url: Union[str, URL], **kw: Any) -> Response:
        return self.request("OPTIONS", url, **kw)

    def head(self, url: Union[str, URL], **kw: Any) -> Response:
        return self.request("HEAD", url, **kw)

    def post(self, url: Union[str, URL], data: Any = None, json: Any = None, **kw: Any) -> Response:
        return self.request("POST", url, data=data, json=json, **kw)

    def put(self, url: Union[str, URL], data: Any = None, **kw: Any) -> Response:
        return self.request("PUT", url, data=data, **kw)

    def patch(self, url: Union[str, URL], data: Any = None, **kw: Any) -> Response:
        return self.request("PATCH", url, data=data, **kw)

    def delete(self, url: Union[str, URL], **kw: Any) -> Response:
        return self.request("DELETE", url, **kw)

    def close(self) -> None:
        """Close the connections; later requests raise ``RuntimeError``, and a
        request in flight or a streamed response still being read ends with
        ``ClientClosed`` (a ``RuntimeError`` too, as httpx raises)."""
        self._closed = True
        self.session.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<Client {state} base_url={self._base_url!r} {self.session!r}>"


_REQUEST_KW = frozenset(
    {
        "content",
        "data",
        "files",
        "json",
        "params",
        "headers",
        "cookies",
        "auth",
        "follow_redirects",
        "timeout",
    }
)


def _request_kw(kw: Dict[str, Any]) -> Dict[str, Any]:
    unknown = set(kw) - _REQUEST_KW
    if unknown:
        raise TypeError(f"unexpected keyword arguments: {', '.join(sorted(unknown))}")
    return kw


# -- module-level calls -------------------------------------------------------------------

_CLIENT_KW = ("verify", "cert", "proxy", "proxies", "trust_env")


def _one_shot(kw: Dict[str, Any]) -> Client:
    """A client for one call, as httpx makes: nothing (cookies, connections) is
    shared between calls. Redirects are followed unless told otherwise (2.6.1)."""
    kw.setdefault("follow_redirects", True)
    return Client(**{k: kw.pop(k) for k in _CLIENT_KW if k in kw})


def request(method: str, url: Union[str, URL], **kw: Any) -> Response:
    """One request on a client of its own (closed before returning), keyword
    arguments as :meth:`Client.request` plus ``verify``, ``cert``, ``proxy`` and
    ``trust_env``. Redirects are followed unless ``follow_redirects=False``."""
    with _one_shot(kw) as client:
        return client.request(method, url, **kw)


@contextmanager
def stream(method: str, url: Union[str, URL], **kw: Any) -> Iterator[Response]:
    """:meth:`Client.stream` on a client of its own, closed with the block."""
    with _one_shot(kw) as client, client.stream(method, url, **kw) as response:
        yield response


def get(url: Union[str, URL], **kw: Any) -> Response:
    return request("GET", url, **kw)


def options(url: Union[str, URL], **kw: Any) -> Response:
    return request("OPTIONS", url, **kw)


def head(url: Union[str, URL], **kw: Any) -> Response:
    return request("HEAD", url, **kw)


def post(url: Union[str, URL], data: Any = None, json: Any = None, **kw: Any) -> Response:
    return request("POST", url, data=data, json=json, **kw)


def put(url: Union[str, URL], data: Any = None, **kw: Any) -> Response:
    return request("PUT", url, data=data, **kw)


def patch(url: Union[str, URL], data: Any = None, **kw: Any) -> Response:
    return request("PATCH", url, data=data, **kw)


def delete(url: Union[str, URL], **kw: Any) -> Response:
    return request("DELETE", url, **kw)
