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
    │     │     └── DNSError(socket.gaierror)   name resolution failed
    │     ├── TLSError(ssl.SSLError)            handshake or certificate verification failed
    │     ├── ConnectionClosed(HTTPParseError)  peer closed/reset before any response byte
    │     │     (also HTTPConnectionClosed, the 2.x name, from response.py)
    │     └── TimeoutError(builtin TimeoutError, socket.timeout)
    │           ├── ConnectTimeout              connection_timeout elapsed
    │           ├── ReadTimeout                 network_timeout elapsed waiting for bytes
    │           └── RequestTimeout              the per-request total ``timeout`` elapsed
    ├── ProtocolError(ValueError)               the server broke HTTP/1.1
    │     ├── HTTPParseError(http.client.HTTPException)  the parser refused the bytes
    │     │     ├── LimitExceeded               a configured size/count limit was hit
    │     │     ├── IncompleteResponse          the connection ended mid-message: a body cut
    │     │     │                               short is never returned as complete
    │     │     └── DecodingError(zlib.error)   corrupt or unknown Content-Encoding
    │     │           └── DecompressionLimitExceeded(LimitExceeded)
    │     │                                     (both in _decoding.py, exported here)
    │     └── UnexpectedResponse                e.g. an unsolicited 101, too many 1xx
    ├── PoolTimeout(TimeoutError)               no connection became free in time
    └── PoolClosed(RuntimeError)                the client was closed

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
from typing import Optional

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
    "ConnectionClosed",
    "TimeoutError",
    "ConnectTimeout",
    "ReadTimeout",
    "RequestTimeout",
    "ProtocolError",
    "HTTPParseError",
    "LimitExceeded",
    "IncompleteResponse",
    "UnexpectedResponse",
    "PoolTimeout",
    "PoolClosed",
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


# socket.timeout is an alias of TimeoutError from 3.10 on; on 3.9 it is its own class,
# and 2.x users catch it, so inherit both where they differ.
_timeout_bases: tuple = (NetworkError, _BuiltinTimeoutError)
if socket.timeout is not _BuiltinTimeoutError:  # pragma: no cover - Python 3.9
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


class IncompleteResponse(HTTPParseError):
    """The connection ended before the message was complete (mid-head or mid-body)."""


class UnexpectedResponse(ProtocolError):
    """A well-formed response that makes no sense here (unsolicited 101, endless 1xx)."""


class PoolTimeout(HTTPError, _BuiltinTimeoutError):
    """No pooled connection became free within the pool's wait timeout."""


class PoolClosed(HTTPError, RuntimeError):
    """The client (its pool) was closed; 2.x raised a bare RuntimeError here."""


# 2.x names.
HTTPConnectionClosed = ConnectionClosed
HTTPProtocolViolationError = ProtocolError


def __getattr__(name: str) -> type:
    # The decoding errors live beside the decoders (which import this module);
    # resolve them lazily so both import orders work.
    if name in ("DecodingError", "DecompressionLimitExceeded"):
        from . import _decoding

        return getattr(_decoding, name)  # type: ignore[no-any-return]
    raise AttributeError(name)
