"""The whole error tree of geventhttpclient.

Every error the library raises on its own account derives from :class:`HTTPError`,
and each also derives from the builtin a user would already catch, so code written
against sockets, ``http.client`` or geventhttpclient 2.x keeps working::

    HTTPError(Exception)
    ├── InvalidURL(ValueError)                  URL cannot be parsed or used
    ├── RequestError(ValueError)                request refused before any byte is sent
    │     ├── HeaderInjectionError              CR, LF or NUL in method/target/header/host
    │     └── UnsupportedAuth(NotImplementedError, TypeError)  auth= of no known kind
    ├── NetworkError(OSError)                   the transport failed
    │     ├── ConnectError                      could not connect (refused, unreachable, DNS)
    │     │     ├── ConnectionRefused(ConnectionRefusedError)
    │     │     ├── DNSError(socket.gaierror)   name resolution failed
    │     │     └── ProxyError(RuntimeError)    the proxy refused, failed or broke its protocol
    │     │           ├── ProxyAuthenticationError  the proxy refused our credentials (407, SOCKS)
    │     │           └── ProxyProtocolError        the proxy's reply is malformed
    │     ├── TLSError(ssl.SSLError)            handshake or certificate verification failed
    │     │     └── CertificateVerifyError(ssl.CertificateError)  certificate or name refused
    │     ├── ConnectionClosed(HTTPParseError)  peer closed/reset before any response byte
    │     │     (also HTTPConnectionClosed, the 2.x name, from response.py)
    │     └── TimeoutError(builtin TimeoutError, socket.timeout)
    │           ├── ConnectTimeout              connection_timeout elapsed
    │           ├── ReadTimeout                 network_timeout elapsed waiting for bytes
    │           └── RequestTimeout              the per-request total ``timeout`` elapsed
    ├── ProtocolError(ValueError)               the server broke HTTP/1.1
    │     ├── HTTPParseError(http.client.HTTPException)  the parser refused the bytes
    │     │     ├── LimitExceeded               a configured size/count limit was hit
    │     │     │     └── StreamLimitExceeded   a line or event of a stream over its limit
    │     │     ├── IncompleteResponse          the connection ended mid-message: a body cut
    │     │     │                               short is never returned as complete
    │     │     └── DecodingError(zlib.error)   corrupt or unknown Content-Encoding
    │     │           └── DecompressionLimitExceeded(LimitExceeded)
    │     └── UnexpectedResponse                e.g. an unsolicited 101, too many 1xx
    ├── PoolTimeout(TimeoutError)               no connection became free in time
    ├── PoolClosed(RuntimeError)                the client was closed
    ├── ConnectionError                         2.x's root of the agent's errors (not the
    │     │                                     builtin: 2.x made it a plain Exception)
    │     ├── RetriesExceeded                   every attempt failed; ``.original``
    │     │     └── TooManyRedirects            more hops than ``max_redirects``
    │     ├── BadStatusCode                     status not in ``valid_response_codes``
    │     │     └── HTTPStatusError             ``raise_for_status()`` (requests' name)
    │     ├── EmptyResponse                     ``to_string=True`` and an empty body
    │     ├── UnrewoundBodyError(RequestError)  a body needed again cannot be replayed
    │     └── UnsupportedRedirectSchemeError(InvalidURL)  redirect to a non-http(s) URL
    └── StreamConsumedError(RuntimeError)       a streamed body was iterated already

The agent's errors are re-exported from ``useragent`` and ``requests``, where 2.x
code imports them.

Two faces speak another library's error vocabulary. Those classes are defined at
the end of this module under prefixed names (``HTTPLibInvalidURL``,
``HttpxReadTimeout``...), because their own names clash with ours, and carry their
own names in the face that re-exports them. Each is also one of the classes above,
so one ``except`` clause catches both:

* ``httplib``: ``InvalidURL``, ``BadStatusLine``, ``LineTooLong``,
  ``RemoteDisconnected``, ``IncompleteRead``, each also ``http.client``'s class of
  that name;
* ``httpx``: httpx's tree (``HTTPError``, ``RequestError``, ``TransportError``,
  ``TimeoutException``...), drawn in that module, each rooted in our
  :class:`HTTPError` and also the matching class here.

A caller's own :class:`gevent.Timeout` and :class:`greenlet.GreenletExit` are never
caught, wrapped or retried by the library; they pass through unchanged.

``IncompleteResponse`` and ``LimitExceeded`` derive from ``HTTPParseError`` because
2.x code and Locust catch ``HTTPParseError`` for every malformed or cut-short response.
``ConnectionClosed`` derives from ``NetworkError`` (hence ``OSError``) for the same
reason: Locust and 2.x code catch ``HTTPConnectionClosed`` and ``OSError``.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import zlib
from typing import TYPE_CHECKING, Any, Callable, Dict, Optional, Tuple, TypeVar, Union

if TYPE_CHECKING:
    from typing import Protocol

    from .url import URL  # url.py imports this module: for the checker only

    class _StatusSource(Protocol):
        """What :class:`HTTPStatusError` reads from the response it reports."""

        @property
        def url(self) -> Union[str, URL, None]: ...
        @property
        def status_code(self) -> int: ...
        @property
        def request(self) -> Any: ...


__all__ = [
    "HTTPError",
    "InvalidURL",
    "RequestError",
    "HeaderInjectionError",
    "UnsupportedAuth",
    "NetworkError",
    "ConnectError",
    "ConnectionRefused",
    "DNSError",
    "TLSError",
    "CertificateVerifyError",
    "ProxyError",
    "ProxyAuthenticationError",
    "ProxyProtocolError",
    "ConnectionClosed",
    "TimeoutError",
    "ConnectTimeout",
    "ReadTimeout",
    "RequestTimeout",
    "ProtocolError",
    "HTTPParseError",
    "LimitExceeded",
    "StreamLimitExceeded",
    "IncompleteResponse",
    "UnexpectedResponse",
    "PoolTimeout",
    "PoolClosed",
    "ClientClosed",
    "WrongThread",
    "HTTPConnectionClosed",
    "HTTPProtocolViolationError",
]

_BuiltinTimeoutError = TimeoutError


class HTTPError(Exception):
    """Root of every error geventhttpclient raises on its own account."""


class InvalidURL(HTTPError, ValueError):
    """The URL cannot be parsed, or names something we cannot request."""


class RequestError(HTTPError, ValueError):
    """The request was refused before connecting: nothing was sent."""


class UnsupportedAuth(RequestError, NotImplementedError, TypeError):
    """``auth=`` is neither credentials nor an auth callable. A ``NotImplementedError``
    as in 2.x and a ``TypeError`` as in requests: code written for either catches it."""


class HeaderInjectionError(RequestError):
    """CR, LF or NUL in the method, target, a header name or value, or the host.

    Refused before any byte is sent: such bytes would let the value start a new
    header or a new request on the wire (request smuggling, header injection).
    """


class NetworkError(HTTPError, OSError):
    """The transport failed. An ``OSError``, so socket-level handlers still catch it."""


class ConnectError(NetworkError):
    """No connection could be made to any address of the host."""


class ConnectionRefused(ConnectError, ConnectionRefusedError):
    """The server refused the connection (nothing listens there)."""


class DNSError(ConnectError, socket.gaierror):
    """The host name did not resolve."""


class TLSError(NetworkError, ssl.SSLError):
    """The TLS handshake failed, including certificate or host name verification."""


class CertificateVerifyError(TLSError, ssl.SSLCertVerificationError):
    """The server's certificate (or its host name) failed verification.

    Also the stdlib's ``ssl.CertificateError``, which 2.x raised and programs catch;
    ``verify_code`` and ``verify_message`` are OpenSSL's, as on the stdlib error.
    """


class ProxyError(ConnectError, RuntimeError):
    """The proxy could not give us a way to the origin: an HTTP proxy refused the
    CONNECT tunnel, a SOCKS proxy refused the connection or could not reach the
    host, or the proxy closed the connection during its handshake. Also a
    ``RuntimeError``, which 2.x raised here.

    ``reply``: the proxy's answer as a number where it gave one (the HTTP status
    of a refused CONNECT, the SOCKS reply code), else None."""

    reply: Optional[int] = None


class ProxyAuthenticationError(ProxyError):
    """The proxy refused our credentials, or asked for credentials we do not have
    (an HTTP ``407``, a failed SOCKS5 username/password exchange, a SOCKS5 proxy
    accepting none of the methods we offered, a SOCKS4 user id refused)."""


class ProxyProtocolError(ProxyError):
    """The proxy's reply is not what its protocol allows (a wrong SOCKS version
    byte, an unknown address type, a reply longer than its bound)."""


# socket.timeout is an alias of TimeoutError from 3.10 on; on 3.9 it is its own class,
# and 2.x users catch it, so inherit both where they differ.
_timeout_bases: Tuple[type, ...] = (NetworkError, _BuiltinTimeoutError)
if not issubclass(socket.timeout, _BuiltinTimeoutError):  # pragma: no cover - Python 3.9
    _timeout_bases = (NetworkError, _BuiltinTimeoutError, socket.timeout)


class TimeoutError(*_timeout_bases):  # type: ignore[misc]  # noqa: A001
    """A time limit set on the client or the request elapsed."""


class ConnectTimeout(TimeoutError, ConnectError):
    """``connection_timeout`` elapsed while connecting (or during the TLS handshake)."""


class ReadTimeout(TimeoutError):
    """``network_timeout`` elapsed while waiting for the server."""


class RequestTimeout(TimeoutError):
    """The per-request total ``timeout`` elapsed."""


class ProtocolError(HTTPError, ValueError):
    """The server's bytes are not acceptable HTTP/1.1."""


class HTTPParseError(ProtocolError, http.client.HTTPException):
    """The response parser refused the bytes.

    Also an ``http.client.HTTPException``, as in 2.x: code written for either
    library catches that.

    ``code`` is the parser's error name (``"HP_E_CHUNK_SIZE"``), ``reason`` its
    description, ``offset`` the byte offset in the feed where it was detected.
    """

    def __init__(
        self, reason: str = "", code: Optional[str] = None, offset: Optional[int] = None
    ) -> None:
        super().__init__(reason if code is None else f"{reason} ({code})")
        self.reason = reason
        self.code = code
        self.offset = offset


class ConnectionClosed(NetworkError, HTTPParseError):
    """The peer closed or reset the connection before any byte of the response.

    Also an ``HTTPParseError``, as 2.x's ``HTTPConnectionClosed`` was: Locust and 2.x
    code catch that. Idempotent requests are retried once on this error; others never.
    """

    def __init__(self, *args: object) -> None:
        OSError.__init__(self, *args)
        self.reason = str(args[-1]) if args else "connection closed"
        self.code = "GH_E_CONNECTION_CLOSED"
        self.offset = 0

    def __str__(self) -> str:
        return OSError.__str__(self)


class LimitExceeded(HTTPParseError):
    """A configured bound (header line, header count, head size, chunk line,
    trailer size, decompressed size, interim responses) was exceeded."""


class StreamLimitExceeded(LimitExceeded):
    """A line longer than ``max_line_size`` or an event larger than ``max_event_size``
    in ``iter_lines()``/``iter_events()`` (see :mod:`geventhttpclient.sse`): the
    stream is refused rather than buffered without bound. ``code`` is
    ``"GH_E_LINE_TOO_LONG"`` or ``"GH_E_EVENT_TOO_LARGE"``."""


class IncompleteResponse(HTTPParseError):
    """The connection ended before the message was complete (mid-head or mid-body)."""


class UnexpectedResponse(ProtocolError):
    """A well-formed response that makes no sense here (unsolicited 101, endless 1xx)."""


class PoolTimeout(HTTPError, _BuiltinTimeoutError):
    """No pooled connection became free within the pool's wait timeout."""


class PoolClosed(HTTPError, RuntimeError):
    """The client (its pool) was closed; 2.x raised a bare RuntimeError here."""


class WrongThread(HTTPError, RuntimeError):
    """A client was used from an OS thread other than the one that first used it.

    Each OS thread has its own gevent hub, and a connection belongs to the hub
    whose loop watches its socket; switching to it from another thread is what
    fails with ``greenlet.error`` (or hangs). Make one client per thread.
    """


class ClientClosed(NetworkError, PoolClosed):
    """The client was closed while this request was in flight: connecting, sending,
    waiting for the answer or streaming the body. Its connection was closed.

    A :class:`PoolClosed` (the client is closed) and a :class:`NetworkError` (the
    transport ended under the request). Never retried: the client takes no more
    requests, so another attempt could only fail the same way.
    """


# -- content decoding ----------------------------------------------------------------


class DecodingError(HTTPParseError, zlib.error):
    """The body could not be decoded: corrupt or truncated compressed data, a
    coding we do not support, or too many codings.

    An ``HTTPParseError`` (a malformed response, which Locust reports as a failed
    request) and a ``zlib.error`` (what 2.x raised for a corrupt body).
    """

    def __init__(self, reason: str, code: str = "GH_E_DECODING") -> None:
        super().__init__(reason, code)


class DecompressionLimitExceeded(DecodingError, LimitExceeded):
    """The body decompresses to more than the configured ``max_size``."""

    def __init__(self, reason: str, code: str = "GH_E_DECOMPRESSED_SIZE") -> None:
        super().__init__(reason, code)


# -- the agents (UserAgent, Session, the httpx face) -----------------------------------


def _format_text(args: Tuple[object, ...]) -> str:
    """The message part of a :class:`ConnectionError`, from its positional args.

    A format string with arguments is %-formatted (2.x); failing that, or for any
    other arguments, they are joined.
    """
    if not args:
        return ""
    first = args[0]
    if isinstance(first, str):
        if len(args) == 1:
            return first
        try:
            return first % args[1:]
        except (TypeError, ValueError):
            return first + ": " + ", ".join(str(a) for a in args[1:])
    return ", ".join(str(a) for a in args)


class ConnectionError(HTTPError):  # noqa: A001 - the 2.x name
    """A request through :class:`UserAgent` failed (2.x's root of its errors).

    ``ConnectionError(url, *args, **kw)``: ``url`` is kept as ``.url``, every keyword
    argument becomes an attribute (``code=404`` gives ``.code``), ``args`` are those
    given (``(url, *args)``). ``str()`` is ``"URL <url>: <text>"`` where the text is
    built from the arguments and then ``key=value`` for each keyword argument;
    ``repr()`` adds the keyword arguments to the usual ``Name(args...)`` form.

    Not the builtin ``ConnectionError`` (an ``OSError``): 2.x made it a plain
    ``Exception``; it derives from our :class:`HTTPError` so one ``except`` catches
    everything the library raises.
    """

    def __init__(self, url: Union[str, URL, None], *args: object, **kw: object) -> None:
        super().__init__(url, *args)
        self.url = url
        self.__dict__.update(kw)
        self.kw_text = ", ".join(f"{key}={val}" for key, val in kw.items())
        text = _format_text(args)
        if self.kw_text:
            text = f"{text}, {self.kw_text}" if text else self.kw_text
        self.text = text

    def __str__(self) -> str:
        if self.text:
            return f"URL {self.url}: {self.text}"
        return f"URL {self.url}"

    def __repr__(self) -> str:
        parts = [repr(a) for a in self.args]
        if self.kw_text:
            parts.append(self.kw_text)
        return f"{type(self).__name__}({', '.join(parts)})"


class RetriesExceeded(ConnectionError):
    """Every attempt failed; ``.original`` is the last error."""


class TooManyRedirects(RetriesExceeded):
    """More redirects than ``max_redirects``. A :class:`RetriesExceeded`, as in 2.x."""


class BadStatusCode(ConnectionError):
    """The status is not in ``valid_response_codes``; ``.code`` is the status and
    ``.response`` the response (its body already read, as ``.content``)."""


class EmptyResponse(ConnectionError):
    """``to_string=True`` and the body was empty."""


class UnrewoundBodyError(ConnectionError, RequestError):
    """A 307/308 redirect (or a retry) needs the body again and it cannot be replayed
    (a generator or unseekable stream that was already consumed)."""


class UnsupportedRedirectSchemeError(ConnectionError, InvalidURL):
    """A redirect pointed to a scheme other than http or https."""


class HTTPStatusError(BadStatusCode):
    """:meth:`Response.raise_for_status` found a 4xx or 5xx status.

    An :class:`~geventhttpclient.exceptions.HTTPError` (so ``except HTTPError``
    catches it, as with requests) and a
    :class:`~geventhttpclient.useragent.BadStatusCode` (so Locust-style code
    catching that does too). ``.response`` and ``.request`` are those of the failed
    exchange, ``.code`` and ``.status_code`` its status.
    """

    def __init__(self, message: str, response: _StatusSource) -> None:
        super().__init__(response.url, message, code=response.status_code)
        self.message = message
        self.response = response
        self.request = response.request
        self.status_code = response.status_code

    def __str__(self) -> str:
        return self.message


class StreamConsumedError(HTTPError, RuntimeError):
    """The body of a streamed response was already iterated over: it is gone, and
    returning what is left as if it were the whole body would be wrong."""


# 2.x names.
HTTPConnectionClosed = ConnectionClosed
HTTPProtocolViolationError = ProtocolError


# -- the vocabularies of two faces ------------------------------------------------------
#
# ``httplib`` speaks http.client's error names and ``httpx`` httpx's. Their names clash
# with ours (InvalidURL, HTTPError, ConnectError...), so they are defined here under
# prefixed names and named for the face module that re-exports them: repr, tracebacks
# and pickling show ``geventhttpclient.httpx.ReadTimeout``, the object that module has.


_Class = TypeVar("_Class", bound=type)


def _in_face(module: str, name: str) -> Callable[[_Class], _Class]:
    """Name the decorated class ``module.name``, where a face re-exports it."""

    def rename(cls: _Class) -> _Class:
        cls.__module__ = module
        cls.__name__ = name
        cls.__qualname__ = name
        return cls

    return rename


@_in_face("geventhttpclient.httplib", "InvalidURL")
class HTTPLibInvalidURL(HeaderInjectionError, http.client.InvalidURL):
    """A host, port or request target that cannot go on the wire (control bytes,
    whitespace, a non-numeric port)."""


@_in_face("geventhttpclient.httplib", "BadStatusLine")
class HTTPLibBadStatusLine(HTTPParseError, http.client.BadStatusLine):
    """The response head is malformed (http.client reports any such head this way)."""

    def __init__(self, reason: str = "", code: Optional[str] = None, offset: Optional[int] = None):
        HTTPParseError.__init__(self, reason, code, offset)
        self.line = reason


@_in_face("geventhttpclient.httplib", "LineTooLong")
class HTTPLibLineTooLong(LimitExceeded, http.client.LineTooLong):
    """A head line, the head or a chunk-size line exceeded the parser's limits."""

    def __init__(self, reason: str = "", code: Optional[str] = None, offset: Optional[int] = None):
        LimitExceeded.__init__(self, reason, code, offset)


@_in_face("geventhttpclient.httplib", "RemoteDisconnected")
class HTTPLibRemoteDisconnected(ConnectionClosed, http.client.RemoteDisconnected):
    """The server closed or reset the connection (a ``ConnectionResetError`` too)."""

    def __init__(self, *args: Any) -> None:
        ConnectionClosed.__init__(self, *args)
        self.line = ""


@_in_face("geventhttpclient.httplib", "IncompleteRead")
class HTTPLibIncompleteRead(IncompleteResponse, http.client.IncompleteRead):
    """The body ended early or was malformed. ``partial`` holds the bytes of the
    failed read, ``expected`` how many more were due (None if unknown)."""

    def __init__(
        self,
        partial: bytes,
        expected: Optional[int] = None,
        reason: str = "incomplete read",
        code: Optional[str] = None,
    ) -> None:
        IncompleteResponse.__init__(self, reason, code)
        self.partial = partial
        self.expected = expected

    def __str__(self) -> str:
        more = f", {self.expected} more expected" if self.expected is not None else ""
        return f"{self.reason}: {len(self.partial)} bytes read{more}"

    __repr__ = http.client.IncompleteRead.__repr__


def _rebuild(
    face: type, engine: Optional[type], args: Tuple[object, ...], state: Dict[str, object]
) -> BaseException:
    """Unpickle an error of the httpx face (a combined class is made again)."""
    # Any: the class is made at run time, and type.__new__'s stubs are for metaclasses.
    cls: Any = combined_error_class(face, engine) if engine is not None else face
    error: BaseException = cls.__new__(cls)
    if isinstance(error, OSError):
        OSError.__init__(error, *args)  # errno and strerror come from the args
    error.args = args
    error.__dict__.update(state)
    return error


class _FaceError:
    """What every error class of the httpx face shares: pickling without
    ``__init__`` (their constructors differ from the engine classes they also are)."""

    def __reduce__(self) -> Tuple[Callable[..., BaseException], Tuple[object, ...]]:
        cls = type(self)
        face = cls.__dict__.get("_face", cls)
        engine = cls.__dict__.get("_engine")
        return _rebuild, (face, engine, self.args, dict(self.__dict__))  # type: ignore[attr-defined]


@_in_face("geventhttpclient.httpx", "HTTPError")
class HttpxHTTPError(_FaceError, HTTPError):
    """Root of this face's errors; ``.request`` is the request when known, else None.

    Also our :class:`~geventhttpclient.exceptions.HTTPError`, so one ``except``
    catches what every face of the library raises.
    """

    def __init__(self, message: str = "", *, request: Any = None) -> None:
        # Not super().__init__: several engine classes below take other arguments
        # (a URL, a parser code); the message is all an httpx-style error carries.
        Exception.__init__(self, message)
        self.request = request


@_in_face("geventhttpclient.httpx", "RequestError")
class HttpxRequestError(HttpxHTTPError):
    """The request could not be completed."""


@_in_face("geventhttpclient.httpx", "TransportError")
class HttpxTransportError(HttpxRequestError):
    """The connection failed or the server broke the protocol."""


@_in_face("geventhttpclient.httpx", "TimeoutException")
class HttpxTimeoutException(HttpxTransportError, TimeoutError):
    """A time limit elapsed (also the builtin ``TimeoutError``)."""


# mypy cannot follow TimeoutError's computed bases, and reports an MRO conflict
@_in_face("geventhttpclient.httpx", "ConnectTimeout")
class HttpxConnectTimeout(HttpxTimeoutException, ConnectTimeout):  # type: ignore[misc]
    """Connecting (TCP and TLS) took longer than ``Timeout.connect``."""


@_in_face("geventhttpclient.httpx", "ReadTimeout")
class HttpxReadTimeout(HttpxTimeoutException, ReadTimeout):
    """The server sent nothing for ``Timeout.read`` seconds."""


@_in_face("geventhttpclient.httpx", "WriteTimeout")
class HttpxWriteTimeout(HttpxTimeoutException):
    """Sending took too long. Not raised by this engine (its read limit covers
    sends); here for code that catches it."""


@_in_face("geventhttpclient.httpx", "PoolTimeout")
class HttpxPoolTimeout(HttpxTimeoutException, PoolTimeout):
    """No pooled connection became free within ``Timeout.pool``."""


@_in_face("geventhttpclient.httpx", "NetworkError")
class HttpxNetworkError(HttpxTransportError, NetworkError):
    """The transport failed."""


@_in_face("geventhttpclient.httpx", "ConnectError")
class HttpxConnectError(HttpxNetworkError, ConnectError):
    """No connection could be made: refused, unreachable, DNS, TLS handshake."""


@_in_face("geventhttpclient.httpx", "ReadError")
class HttpxReadError(HttpxNetworkError):
    """Receiving failed. The engine reports a broken response as
    :class:`RemoteProtocolError` instead; here for code that catches it."""


@_in_face("geventhttpclient.httpx", "WriteError")
class HttpxWriteError(HttpxNetworkError):
    """Sending failed; here for code that catches it."""


@_in_face("geventhttpclient.httpx", "CloseError")
class HttpxCloseError(HttpxNetworkError):
    """Closing failed; here for code that catches it."""


@_in_face("geventhttpclient.httpx", "ProtocolError")
class HttpxProtocolError(HttpxTransportError, ProtocolError):
    """One side broke HTTP/1.1."""


@_in_face("geventhttpclient.httpx", "LocalProtocolError")
class HttpxLocalProtocolError(HttpxProtocolError, RequestError):
    """The request cannot be sent as given (e.g. CR or LF in a header); nothing was
    sent."""


@_in_face("geventhttpclient.httpx", "RemoteProtocolError")
class HttpxRemoteProtocolError(HttpxProtocolError):
    """The server broke HTTP/1.1: a malformed response, a body cut short, or the
    connection closed before any response."""


@_in_face("geventhttpclient.httpx", "ProxyError")
class HttpxProxyError(HttpxTransportError):
    """The proxy refused or failed the request; here for code that catches it."""


@_in_face("geventhttpclient.httpx", "UnsupportedProtocol")
class HttpxUnsupportedProtocol(HttpxTransportError, InvalidURL):
    """A URL (or a redirect) with a scheme other than http or https."""


@_in_face("geventhttpclient.httpx", "DecodingError")
class HttpxDecodingError(HttpxRequestError, DecodingError):
    """The body could not be decoded (Content-Encoding)."""

    def __init__(self, message: str = "", *, request: Any = None) -> None:
        DecodingError.__init__(self, message)
        self.request = request


@_in_face("geventhttpclient.httpx", "TooManyRedirects")
class HttpxTooManyRedirects(HttpxRequestError, TooManyRedirects):
    """More redirects than ``max_redirects`` (also the session's HttpxTooManyRedirects)."""

    def __init__(self, message: str = "", *, request: Any = None) -> None:
        TooManyRedirects.__init__(self, getattr(request, "url", None), message)
        self.request = request


@_in_face("geventhttpclient.httpx", "HTTPStatusError")
class HttpxHTTPStatusError(HttpxHTTPError, HTTPStatusError):
    """:meth:`Response.raise_for_status` found a 4xx or 5xx status.

    Also the requests face's ``HTTPStatusError`` (and 2.x's ``BadStatusCode``):
    ``.request``, ``.response``, ``.status_code``.
    """

    def __init__(self, message: str, *, request: Any, response: Any) -> None:
        HTTPStatusError.__init__(self, message, response)
        self.request = request


@_in_face("geventhttpclient.httpx", "InvalidURL")
class HttpxInvalidURL(HttpxHTTPError, InvalidURL):
    """The URL cannot be used. An :class:`HTTPError` here (as in 2.6.1), unlike
    httpx."""


@_in_face("geventhttpclient.httpx", "StreamError")
class HttpxStreamError(_FaceError, RuntimeError):
    """Misuse of a response's body stream (httpx: a ``RuntimeError``)."""

    def __init__(self, message: str = "") -> None:
        RuntimeError.__init__(self, message)


@_in_face("geventhttpclient.httpx", "StreamConsumed")
class HttpxStreamConsumed(HttpxStreamError, StreamConsumedError):
    """The body was already read or iterated: it cannot be read again raw, or
    streamed twice."""


_COMBINED: Dict[Tuple[type, type], type] = {}


def combined_error_class(face: type, engine: type) -> type:
    """A class that is both ``face`` and ``engine``, named as ``face``."""
    if issubclass(face, engine):
        return face
    key = (face, engine)
    cls = _COMBINED.get(key)
    if cls is None:
        namespace = {
            "__module__": face.__module__,
            "__qualname__": face.__qualname__,
            "__doc__": face.__doc__,
            "_face": face,
            "_engine": engine,
        }
        try:
            cls = type(face.__name__, (face, engine), namespace)
        except TypeError:  # no consistent MRO or layout: the httpx class alone
            cls = face
        _COMBINED[key] = cls
    return cls
