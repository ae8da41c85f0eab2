"""UserAgent: a urllib-style client with retries, redirects, cookies and decoding.

This is the geventhttpclient 2.x ``useragent`` API (what Locust's FastHttpUser is
built on), on top of :class:`~geventhttpclient.client.HTTPClientPool`.

How one :meth:`UserAgent.urlopen` call runs: ``_make_request`` builds a
``request_type`` (a :class:`CompatRequest`), then every attempt and every redirect
hop goes through the overridable ``_urlopen(request)``, and every status through
``_verify_status(code, url)``. Those three hooks, and the class attributes
``response_type``, ``request_type``, ``valid_response_codes`` and
``redirect_response_codes``, are what subclasses such as Locust's override.

Retries (``max_retries`` of them after the first attempt):

* transient transport failures are retried: timeouts (connect, read, request, pool),
  a connection closed or reset before the response, and ``EmptyResponse`` with
  ``to_string``; a refused connection, a DNS failure, a TLS failure or a malformed
  response is raised at once, as in 2.x;
* a method that is not idempotent (POST, PATCH, ...) is retried only when nothing
  can have been sent (no connection was made): the server may have acted on it;
* a status in ``retry_response_codes`` (empty by default, as 2.x never retried a
  status; set it to ``{429, 503}`` to opt in) is retried for idempotent methods,
  after ``Retry-After`` if the server sent one; when those retries run out the
  last :class:`BadStatusCode` is raised, so ``except BadStatusCode`` still works;
* between attempts the agent sleeps ``retry_delay * 2 ** (n - 1)`` seconds with
  "equal jitter" (a random point in the upper half), capped at ``max_retry_delay``;
  ``retry_delay=0`` (the default) retries at once, like 2.x;
* a caller's own :class:`gevent.Timeout`, :class:`greenlet.GreenletExit` and other
  ``BaseException`` are never caught, retried or wrapped.

Redirects (``max_redirects`` of them; 0 makes any redirect an error): 301, 302 and
303 turn the request into a GET without a body (HEAD stays HEAD); 307 and 308 send
the same method and body again, rewinding a file body, and refuse a body that
cannot be replayed (:class:`UnrewoundBodyError`). ``Authorization``, ``Cookie``,
``Cookie2``, ``Proxy-Authorization`` and a caller's ``Host`` are dropped whenever
the scheme, host or port change; only http and https targets are followed
(:class:`UnsupportedRedirectSchemeError`). Redirect bodies are never decoded.

Bodies: ``payload`` may be a dict (or list of pairs: form-encoded), str (UTF-8,
``text/plain``), bytes (``application/octet-stream``), a file or an iterable of
blocks (streamed); ``json=`` sends JSON; ``files=`` sends ``multipart/form-data``,
streamed from the files rather than built in memory when it is larger than
:data:`MULTIPART_IN_MEMORY_MAX`.

Responses decode ``Content-Encoding`` (see :mod:`geventhttpclient._decoding`) in
``content``, ``text``, ``json()``, ``read()``, ``readline()`` and iteration; the
raw, still encoded body is ``response.stream``. The agent advertises only the
codings it can decode (``Accept-Encoding``, see :attr:`UserAgent.accept_encoding`).
"""

from __future__ import annotations

import copy
import errno
import json as jsonlib
import os
import socket
import ssl
import urllib.request
from dataclasses import replace
from http.cookiejar import CookieJar
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple, Union

import gevent

from ._bodies import (  # re-exported: 2.x and tests import some from here
    AGENT_LABELS,
    MULTIPART_IN_MEMORY_MAX,  # noqa: F401
    MultipartBody,
    declared_charset,
    encode_body,
    encode_multipart_formdata,
    guess_content_type,  # noqa: F401
    tell,
)
from ._bodies import FilesInput as FilesInput
from ._bodies import Payload as Payload
from ._decoding import (
    ACCEPT_ENCODING,
    DEFAULT_MAX_DECOMPRESSED_SIZE,
    DEFAULT_MAX_ENCODINGS,
    ContentDecoder,
    decoder_for,
)
from ._http11 import IDEMPOTENT_METHODS
from ._policy import (  # REDIRECT_DRAIN_MAX re-exported: 3.0 had it here
    BODY_HEADERS,
    COOKIE_HEADERS,
    CREDENTIAL_HEADERS,
    MAX_RETRY_DELAY,
    PERMANENT_REDIRECT_CODES,
    REDIRECT_CODES,
    REDIRECT_DRAIN_MAX,  # noqa: F401
    Retry,
    is_transient,
    may_resend,
    plan_redirect,
    retry_after,
    sent_nothing,
    worth_draining,
)
from .client import HTTPClient, HTTPClientPool
from .exceptions import (  # the agent's errors live there; re-exported here as in 2.x
    BadStatusCode,
    ConnectError,
    ConnectionError,  # noqa: A004 - the 2.x name
    DecodingError,
    DecompressionLimitExceeded,
    EmptyResponse,
    RequestTimeout,
    RetriesExceeded,
    TooManyRedirects,
    UnrewoundBodyError,
    UnsupportedRedirectSchemeError,
)
from .header import Headers
from .header import HeadersDataType as HeadersDataType
from .header import parse_content_type_charset as parse_content_type_charset
from .response import HTTPSocketResponse as HTTPSocketResponse
from .sse import (
    DEFAULT_MAX_EVENT_SIZE,
    DEFAULT_MAX_LINE_SIZE,
    ServerSentEvent,
    iter_events,
    iter_lines,
)
from .timings import clock
from .url import URL
from .url import ParamsDataType as ParamsDataType
from .url import to_key_val_list as to_key_val_list

__all__ = [
    "UserAgent",
    "send_once",
    "apply_limits",
    "annotate",
    "CompatRequest",
    "CompatResponse",
    "RestkitCompatResponse",
    "RestkitCompatUserAgent",
    "XmlrpcCompatUserAgent",
    "ConnectionError",
    "RetriesExceeded",
    "TooManyRedirects",
    "BadStatusCode",
    "EmptyResponse",
    "UnrewoundBodyError",
    "UnsupportedRedirectSchemeError",
    "DecodingError",
    "DecompressionLimitExceeded",
    "MultipartBody",
    "ACCEPT_ENCODING",
]

_READ_BLOCK = 16 * 1024


# -- cookie jars: skipping the calls that cannot change anything ---------------------

# The stdlib methods, to tell a jar that overrides them (which must always be asked)
# from one that does not.
_JAR_ADD = CookieJar.add_cookie_header
_JAR_FOR_REQUEST = CookieJar._cookies_for_request  # type: ignore[attr-defined]
_JAR_EXTRACT = CookieJar.extract_cookies
_JAR_MAKE = CookieJar.make_cookies


def jar_adds_nothing(jar: Any) -> bool:
    """True when ``jar.add_cookie_header(request)`` cannot add a field: a jar with
    the stdlib's methods that holds no cookie.

    Locust gives every user a jar that stays empty against most APIs; asking it
    anyway takes its lock, reads the clock and clears expired cookies on every
    request, which is a good share of a request's CPU time at this client's speed.
    """
    cls = type(jar)
    return (
        cls.add_cookie_header is _JAR_ADD
        and cls._cookies_for_request is _JAR_FOR_REQUEST
        and not getattr(jar, "_cookies", True)
    )


def sets_no_cookie(jar: Any, response: Any) -> bool:
    """True when ``jar.extract_cookies(response, request)`` cannot store one: a jar
    with the stdlib's methods and a response without ``Set-Cookie``/``Set-Cookie2``
    (the only fields the stdlib reads, through ``response.info()``)."""
    cls = type(jar)
    if cls.extract_cookies is not _JAR_EXTRACT or cls.make_cookies is not _JAR_MAKE:
        return False
    if isinstance(response, CompatResponse) and type(response).info is CompatResponse.info:
        return not response._has_field("set-cookie", "set-cookie2")
    info = getattr(response, "info", None)
    headers = info() if info is not None else None
    if not isinstance(headers, Headers):
        return False
    return "set-cookie" not in headers and "set-cookie2" not in headers


# -- the request ---------------------------------------------------------------------


class _Unset:
    """Marks an attribute that is not computed yet (None is a valid value)."""


_UNSET: Any = _Unset()


def _as_headers(headers: Any) -> Headers:
    if isinstance(headers, Headers):
        return headers
    return Headers(headers) if headers else Headers()


class CompatRequest(urllib.request.Request):
    """A request as :mod:`http.cookiejar` and urllib expect it, carrying what the
    agent sends: ``url`` (as given) and ``url_split`` (a :class:`URL`), ``method``,
    ``headers`` (a :class:`Headers`: the cookie jar adds its ``Cookie`` there, where
    the client reads it) and ``payload``.

    A :class:`urllib.request.Request` so code checking for one accepts it, but the
    urllib parts are kept in step with our own URL parsing: ``full_url``, ``type``,
    ``host`` (the netloc, with a non-default port), ``selector``, ``data`` (the
    payload), ``origin_req_host`` and ``unverifiable`` are plain attributes or
    properties over ours. They are instance attributes, so assigning class
    attributes (Locust sets ``CompatRequest.type`` and ``.unverifiable``) breaks
    nothing.
    """

    unverifiable = False
    """True once a redirect produced the request. A class attribute until then, as
    in 2.x: Locust assigns ``CompatRequest.unverifiable`` and expects it to hold."""

    def __init__(
        self,
        url: Union[str, URL],
        method: str = "GET",
        headers: Any = None,
        payload: Any = None,
        params: Any = None,
    ) -> None:
        # urllib's __init__ is not called: it would parse the URL by its own rules
        # and keep the headers in a dict the client never reads.
        self.unredirected_hdrs: Dict[str, str] = {}
        self._tunnel_host = None
        self.set_url(url, params=params)
        self.original_host = self.url_split.host
        self.origin_req_host = self.original_host
        self.method = str(method).upper()
        self.headers = headers if isinstance(headers, Headers) else _as_headers(headers)
        self.payload = payload
        self._payload_start: Optional[int] = None if payload is None else tell(payload)
        self._jar_cookie = False

    # -- url --------------------------------------------------------------------------

    def set_url(self, url: Union[str, URL], params: Any = None) -> None:
        """Point the request at ``url`` (``params`` are appended to its query)."""
        if isinstance(url, URL):
            split = URL(url, params=params) if params else url
            self.url = str(split)
        else:
            split = URL(url, params=params)
            self.url = str(split) if params else url
        self.url_split = split
        self.type = split.scheme
        # host and selector are derived when read (most requests never read them):
        # assigned values (urllib's set_proxy assigns host) hold until the next URL.
        self._host: Optional[str] = None
        self._selector: Optional[str] = None

    @property
    def host(self) -> str:
        """urllib's ``host``: the netloc, with a non-default port."""
        host = self._host
        return self.url_split.netloc if host is None else host

    @host.setter
    def host(self, value: str) -> None:
        self._host = value

    @property
    def selector(self) -> str:
        """urllib's ``selector``: the request target as written."""
        selector = self._selector
        return self.url_split.request_uri if selector is None else selector

    @selector.setter
    def selector(self, value: str) -> None:
        self._selector = value

    @property
    def full_url(self) -> str:
        return self.url

    @full_url.setter
    def full_url(self, url: str) -> None:
        self.set_url(url)

    @property
    def data(self) -> Any:
        """urllib's name for the body."""
        return self.payload

    @data.setter
    def data(self, value: Any) -> None:
        self.payload = value
        self._payload_start = tell(value)

    def get_full_url(self) -> str:
        return self.url

    def get_host(self) -> str:
        """The host name without the port (2.x; urllib's ``host`` has the port)."""
        return self.url_split.host

    def get_type(self) -> str:
        return self.url_split.scheme

    def get_origin_req_host(self) -> str:
        return self.original_host

    def get_method(self) -> str:
        return self.method or "GET"

    def is_unverifiable(self) -> bool:
        """RFC 2965 3.3.6: True for requests the user did not ask for; we send
        only what the caller (or a redirect it accepted) asked for."""
        return bool(self.unverifiable)

    # -- headers -----------------------------------------------------------------------

    def get_header(self, header_name: str, default: Any = None) -> Any:
        return self.headers.get(header_name, default)

    def has_header(self, header_name: str) -> bool:
        return header_name in self.headers

    def header_items(self) -> List[Tuple[str, str]]:
        return list(self.headers.items())

    def add_header(self, key: str, val: Any) -> None:
        self.headers[key] = str(val)

    def add_unredirected_header(self, key: str, val: Any) -> None:
        """The cookie jar's way to add ``Cookie``: into the headers we send."""
        self.headers[key] = str(val)

    def remove_header(self, header_name: str) -> None:
        self.headers.discard(header_name)  # type: ignore[attr-defined]

    # -- redirects ------------------------------------------------------------------------

    def _drop_headers(self, names: Tuple[str, ...]) -> None:
        for name in names:
            self.headers.discard(name)  # type: ignore[attr-defined]

    def rewind(self) -> bool:
        """Make the payload ready to be sent again; False if it cannot be."""
        payload = self.payload
        if payload is None or isinstance(payload, (bytes, bytearray, memoryview, str)):
            return True
        if isinstance(payload, (list, tuple)):
            return True
        rewind = getattr(payload, "rewind", None)
        if rewind is not None:
            return bool(rewind())
        if hasattr(payload, "read"):
            if self._payload_start is None:
                return False
            try:
                payload.seek(self._payload_start)
            except (AttributeError, OSError, ValueError):
                return False
            return True
        return False

    def redirect(self, code: int, location: Union[str, URL]) -> None:
        """Point the request in place at ``location``, as a ``code`` redirect asks
        (the rule is :func:`geventhttpclient._policy.plan_redirect`).

        The request becomes unverifiable (RFC 2965 3.3.6: the user did not ask for
        this URL; a strict cookie policy refuses third-party cookies set here).

        Raises :class:`UnsupportedRedirectSchemeError` for a non-http(s) target and
        :class:`UnrewoundBodyError` for a 307/308 whose body cannot be sent again;
        the request is left unchanged then.
        """
        plan = plan_redirect(code, self.get_method(), self.url_split, location)
        if plan.keep_body:
            if self.payload is not None and not self.rewind():
                raise UnrewoundBodyError(
                    str(plan.url), f"{code} redirect needs the body again and it is consumed"
                )
        else:
            self.method = plan.method
            self.payload = None
            self._payload_start = None
            self._drop_headers(BODY_HEADERS)
        self._drop_headers(COOKIE_HEADERS)  # the jar adds the right ones for the new URL
        self._jar_cookie = False
        if not plan.same_origin:
            self._drop_headers(CREDENTIAL_HEADERS)
        self.unverifiable = True
        self.set_url(plan.url)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.method} {self.url}>"


# -- the response ----------------------------------------------------------------------


class CompatResponse:
    """A response read through :class:`UserAgent`, urllib- and requests-flavoured.

    ``status_code``, ``headers``, ``content`` (the whole decoded body, read once and
    cached in ``_cached_content``, computed by the overridable ``_content()``),
    ``text``, ``json()``; streaming ``read(n)``, ``readline()``, iteration,
    ``iter_lines()`` and ``iter_events()`` (server-sent events, see
    :mod:`geventhttpclient.sse`) also give decoded bytes, and ``stream`` is the underlying
    :class:`~geventhttpclient.response.HTTPSocketPoolResponse` with the raw body.

    ``max_decompressed_size`` and ``max_encodings`` (class attributes, settable per
    instance; the agent sets them from its own) bound the decoding.

    No ``__slots__``: Locust copies a response's ``__dict__`` into its own response
    class and expects the whole state to come along.
    """

    max_decompressed_size: Optional[int] = DEFAULT_MAX_DECOMPRESSED_SIZE
    max_encodings: int = DEFAULT_MAX_ENCODINGS

    def __init__(self, ghc_response: Any, request: Any = None, sent_request: Any = None) -> None:
        self._response = ghc_response
        self._request = request
        self._sent_request = sent_request
        if type(self).headers is not _HEADERS:
            # A subclass made ``headers`` a plain attribute (Locust's FastResponse
            # does, and copies instances by their __dict__): fill it now.
            self.headers = ghc_response.headers
        self._decoder: Any = _UNSET
        self._decoded: Optional[Iterator[bytes]] = None
        self._pending = b""
        self._failure: Optional[BaseException] = None
        self.history: List[Any] = []
        """The redirect responses that led here, first hop first (set by the agent)."""

    # -- status and head ---------------------------------------------------------------

    _own_headers: Any = _UNSET

    @property
    def headers(self) -> Any:
        """The response's fields (a :class:`~geventhttpclient.header.Headers`),
        built on first use: many callers only read the body. Assignable, as in 2.x."""
        own = self._own_headers
        return self._response.headers if own is _UNSET else own

    @headers.setter
    def headers(self, value: Any) -> None:
        self._own_headers = value

    @property
    def status_code(self) -> int:
        """The status as an int."""
        return int(self._response.get_code())

    @property
    def timings(self) -> Any:
        """Where this hop's time went (a :class:`~geventhttpclient.timings.Timings`;
        each response in ``history`` has its own); None if the underlying response
        has none."""
        return getattr(self._response, "timings", None)

    @property
    def status(self) -> str:
        """The status as a str (urllib3)."""
        return str(self.status_code)

    @property
    def reason(self) -> str:
        return str(self._response.status_message)

    status_message = reason

    @property
    def version(self) -> str:
        return str(self._response.version)

    @property
    def url(self) -> Optional[str]:
        """The URL this response answers (after redirects)."""
        request = self._request
        return request.url if request is not None else None

    @property
    def stream(self) -> Any:
        """The underlying response: its ``read()`` gives the raw, encoded body."""
        return self._response

    def info(self) -> Any:
        """The headers (what :mod:`http.cookiejar` reads ``Set-Cookie`` from)."""
        return self.headers

    def isclosed(self) -> bool:
        return bool(self._response.message_complete)

    def __len__(self) -> int:
        """The declared Content-Length, else the length of the decoded body."""
        length = getattr(self._response, "content_length", None)
        if length is not None:
            return int(length)
        return len(self.content)

    def __bool__(self) -> bool:
        """A response is true even with an empty body (2.x)."""
        return True

    # -- the body -----------------------------------------------------------------------

    def _get_decoder(self) -> Optional[ContentDecoder]:
        decoder = self._decoder
        if decoder is _UNSET:
            if self._has_field("content-encoding"):
                decoder = decoder_for(self.headers, self.max_decompressed_size, self.max_encodings)
            else:
                decoder = None
            self._decoder = decoder
        return decoder

    def _has_field(self, name: str, *names: str) -> bool:
        """Whether the response has a field ``name`` (or any of ``names``), without
        building :attr:`headers` when the underlying response can tell from its head."""
        if self._own_headers is _UNSET and type(self).headers is _HEADERS:
            has_field = getattr(self._response, "has_field", None)
            if has_field is not None:
                return bool(has_field(name, *names))
        headers = self.headers
        if headers is None:
            return False
        for n in (name, *names):
            if n in headers:
                return True
        return False

    def _blocks(self, decoder: ContentDecoder) -> Iterator[bytes]:
        """Decoded pieces of the rest of the body, read as it arrives (``read1``:
        a stream's pieces are decoded when they come, not once a block is full)."""
        raw_response = self._response
        read = getattr(raw_response, "read1", None) or raw_response.read
        while True:
            raw = read(_READ_BLOCK)
            if not raw:
                yield from decoder.iter_finish()
                return
            yield from decoder.iter_decompress(raw)

    def _next_piece(self) -> bytes:
        """The next decoded piece, b"" at the end. A failure is raised again on
        every later read, so a broken body never reads as a short, clean one."""
        if self._failure is not None:
            raise self._failure
        if self._decoded is None:
            decoder = self._get_decoder()
            assert decoder is not None
            self._decoded = self._blocks(decoder)
        try:
            return next(self._decoded, b"")
        except Exception as exc:
            self._failure = exc
            self._response.release()
            raise

    def read(self, n: Optional[int] = None) -> bytes:
        """Up to ``n`` decoded body bytes (all of the rest if None); b"" at the end."""
        try:
            decoder = self._get_decoder()
        except DecodingError:
            self._response.release()
            raise
        if decoder is None and not self._pending:
            return self._response.read(n)
        if n is None or n < 0:
            parts = [self._pending]
            self._pending = b""
            while True:
                piece = self._next_piece()
                if not piece:
                    return b"".join(parts)
                parts.append(piece)
        while len(self._pending) < n:
            piece = self._next_piece()
            if not piece:
                break
            self._pending += piece
        out, self._pending = self._pending[:n], self._pending[n:]
        return out

    def readline(self, size: int = -1) -> bytes:
        """One decoded line, ``\\n`` included (b"" at the end)."""
        if self._get_decoder() is None and not self._pending:
            return self._response.readline(size)
        while True:
            i = self._pending.find(b"\n")
            if i >= 0 and (size < 0 or i < size):
                return self.read(i + 1)
            if 0 <= size <= len(self._pending):
                return self.read(size)
            piece = self._next_piece()
            if not piece:
                return self.read()
            self._pending += piece

    def __iter__(self) -> Iterator[bytes]:
        """Decoded blocks of the body."""
        block = int(getattr(self._response, "block_size", 0) or 65536)
        while True:
            data = self.read(block)
            if not data:
                return
            yield data

    # -- streams: lines and server-sent events -----------------------------------------

    def _decoded_stream(self) -> Iterator[bytes]:
        """The decoded body as it arrives, for :meth:`iter_lines` and
        :meth:`iter_events` (the content, if it was read already). Stopping early,
        or an error, closes the connection. The requests and httpx faces use their
        own streams (with their rules for a body iterated twice)."""
        cached = self.__dict__.get("_cached_content", _UNSET)
        if cached is not _UNSET:
            yield cached
            return
        raw = self._response
        try:
            decoder = self._get_decoder()
            if self._pending:
                pending, self._pending = self._pending, b""
                yield pending
            if decoder is not None:
                while True:
                    piece = self._next_piece()
                    if not piece:
                        return
                    yield piece
            read = getattr(raw, "read1", None) or raw.read
            while True:
                data = read(_READ_BLOCK)
                if not data:
                    return
                yield data
        except BaseException:
            raw.release()
            raise

    def _arrival(self) -> Tuple[Optional[float], Callable[[], float]]:
        """The request's start and how to tell when bytes arrived, for events'
        ``elapsed``: the clock while the body streams; once it was read whole
        (``content``), its end, when every event had arrived."""
        start = getattr(self._response, "started_at", None)
        if start is not None and "_cached_content" in self.__dict__:
            total = getattr(self.timings, "total", None)
            if total is not None:
                end: float = start + total
                return start, lambda: end
        return start, clock

    def iter_lines(self, *, max_line_size: Optional[int] = DEFAULT_MAX_LINE_SIZE) -> Iterator[Any]:
        """The decoded body line by line as it arrives, as bytes without the line
        ends (CRLF, LF or CR; see :mod:`geventhttpclient.sse`).

        :raises StreamLimitExceeded: a line longer than ``max_line_size`` bytes
            (None: no limit); the connection is closed.
        :raises DecodingError: a Content-Encoding that does not decode.
        """
        return iter_lines(self._decoded_stream(), max_line_size=max_line_size)

    def iter_events(
        self,
        *,
        max_line_size: Optional[int] = DEFAULT_MAX_LINE_SIZE,
        max_event_size: Optional[int] = DEFAULT_MAX_EVENT_SIZE,
    ) -> Iterator[ServerSentEvent]:
        """The decoded body parsed as a ``text/event-stream``: each
        :class:`~geventhttpclient.sse.ServerSentEvent` as soon as its blank line
        arrives, ``elapsed`` counted from the start of this response's request
        (after redirects, the last hop's, as :attr:`timings`). The Content-Type
        is not checked.

        :raises StreamLimitExceeded: a line or an event over its limit (None: no
            limit); the connection is closed.
        :raises DecodingError: a Content-Encoding that does not decode.
        """
        start, arrival = self._arrival()
        return iter_events(
            self._decoded_stream(),
            start,
            max_line_size=max_line_size,
            max_event_size=max_event_size,
            arrival=arrival,
        )

    def release(self) -> None:
        """Give the connection back (closed if the body was not read to the end)."""
        self._response.release()

    def drain(self, keep: bool = False) -> None:
        """Be done with a body nobody asked for (a redirect's): read it when it is
        short, so the connection is kept alive, else close the connection.

        ``keep``: the body read becomes :attr:`content` (decoded), as requests keeps
        it on the responses in ``history``; a long one leaves ``content`` empty.
        """
        raw = self._response
        try:
            if worth_draining(raw.message_complete, getattr(raw, "content_length", None)):
                if keep:
                    _ = self.content
                else:
                    raw.read()
            elif keep:
                self._cached_content = b""
        except Exception:  # noqa: BLE001 - the body is not wanted anyway
            if keep:
                self._cached_content = b""
        finally:
            self.release()

    close = release

    def __enter__(self) -> CompatResponse:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()

    @property
    def content(self) -> bytes:
        """The whole decoded body (the rest of it, if some was read). Kept after the
        first access; careful with large bodies."""
        # A dict look-up, not try/except AttributeError: raising costs more than
        # the rest of this property on CPython, and it is missed once per response.
        content = self.__dict__.get("_cached_content", _UNSET)
        if content is _UNSET:
            content = self._cached_content = self._content()
        return content

    def _content(self) -> bytes:
        """Read and decode the rest of the body, then release the connection."""
        try:
            return self.read()
        finally:
            self.release()

    @property
    def data(self) -> bytes:
        """The content (urllib3's name)."""
        return self.content

    @property
    def text(self) -> str:
        """The content as text: the Content-Type's charset (UTF-8 without one, or
        with one Python does not know); undecodable bytes become U+FFFD."""
        content = self.content
        if not content:
            return ""
        codec = declared_charset(self.headers) or "utf-8"
        try:
            return content.decode(codec, errors="replace")
        except LookupError:
            return content.decode("utf-8", errors="replace")

    def json(self, **kw: Any) -> Any:
        """The content parsed as JSON (UTF-8, -16 or -32 detected by ``json``)."""
        return jsonlib.loads(self.content, **kw)

    def unzipped(self, gzip: bool = True, br: bool = False) -> bytes:
        """The rest of the raw body decoded as gzip, br or deflate (2.x helper)."""
        coding = "gzip" if gzip else "br" if br else "deflate"
        decoder = ContentDecoder([coding], self.max_decompressed_size, self.max_encodings)
        try:
            return decoder.decompress(self._response.read()) + decoder.finish()
        finally:
            self.release()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.status_code} {self.url or ''}>"


_HEADERS = CompatResponse.__dict__["headers"]


class RestkitCompatResponse(CompatResponse):
    """The few extra names restkit users expect (2.x)."""

    def body_string(self) -> bytes:
        return self.content

    def body_stream(self) -> Any:
        return self._response

    @property
    def status_int(self) -> int:
        return self.status_code


_REDIRECT_NAMES = ("redirect_response_codes", "redirect_resonse_codes")
_REDIRECT_STORE = "_redirect_response_codes"


class _RedirectCodes:
    """``redirect_response_codes`` and its 2.x misspelling ``redirect_resonse_codes``
    on instances: both read and write one value (an instance's own, else its
    class's)."""

    def __get__(self, obj: Any, owner: Any = None) -> Any:
        if obj is None:
            return getattr(owner, _REDIRECT_STORE)
        return getattr(obj, _REDIRECT_STORE)

    def __set__(self, obj: Any, value: Any) -> None:
        obj.__dict__[_REDIRECT_STORE] = value

    def __delete__(self, obj: Any) -> None:
        obj.__dict__.pop(_REDIRECT_STORE, None)


class _UserAgentType(type):
    """Makes both spellings one value on the class too: assigning either on a class
    (``LocustUserAgent.redirect_resonse_codes = ...``) or defining either in a
    subclass body sets the shared value."""

    def __new__(mcls, name: str, bases: Tuple[type, ...], ns: Dict[str, Any]) -> Any:
        for alias in _REDIRECT_NAMES[::-1]:  # the correct spelling wins if both are given
            value = ns.get(alias)
            if value is not None and not isinstance(value, _RedirectCodes):
                ns[_REDIRECT_STORE] = ns.pop(alias)
        for alias in _REDIRECT_NAMES:
            ns.setdefault(alias, _RedirectCodes())
        return super().__new__(mcls, name, bases, ns)

    def __setattr__(cls, name: str, value: Any) -> None:
        if name in _REDIRECT_NAMES:
            name = _REDIRECT_STORE
        super().__setattr__(name, value)

    def __delattr__(cls, name: str) -> None:
        if name in _REDIRECT_NAMES:
            name = _REDIRECT_STORE
        super().__delattr__(name)


_retry_after = retry_after  # the name tests and subclasses used


class UserAgent(metaclass=_UserAgentType):
    """Requests with retries, redirects, cookies and content decoding.

    ``UserAgent(max_redirects=3, max_retries=3, retry_delay=0, cookiejar=None,
    headers=None, **client_kw)``: ``cookiejar`` is a :class:`http.cookiejar.CookieJar`
    (used as it is) or True for a new one; ``headers`` are sent with every request,
    after ``User-Agent`` and ``Accept-Encoding``; the keyword-only
    ``max_decompressed_size`` and ``max_encodings`` bound content decoding (see
    :mod:`geventhttpclient._decoding`); every other keyword argument goes to each
    :class:`~geventhttpclient.client.HTTPClient` of :attr:`clientpool`.
    """

    response_type: Any = CompatResponse
    request_type: Any = CompatRequest
    valid_response_codes: Any = frozenset(range(200, 300)) | {301, 302, 303, 304, 307, 308}
    """Statuses that are not an error: every 2xx, 304, and the redirects (a redirect
    that is not followed is returned as it is)."""
    _redirect_response_codes: Any = frozenset({301, 302, 303, 307, 308})
    redirect_response_codes: Any
    redirect_resonse_codes: Any
    retry_response_codes: Any = frozenset()
    """Statuses retried for idempotent methods (e.g. ``{429, 503}``); none by default."""
    max_retry_delay: float = MAX_RETRY_DELAY
    """Cap on one backoff sleep; a ``Retry-After`` longer than this ends the retries."""
    accept_encoding: Optional[str] = ACCEPT_ENCODING
    """The default ``Accept-Encoding``; None sends none."""
    max_decompressed_size: Optional[int] = DEFAULT_MAX_DECOMPRESSED_SIZE
    max_encodings: int = DEFAULT_MAX_ENCODINGS

    def __init__(
        self,
        max_redirects: int = 3,
        max_retries: int = 3,
        retry_delay: float = 0,
        cookiejar: Any = None,
        headers: Any = None,
        *,
        max_decompressed_size: Any = _UNSET,
        max_encodings: Any = _UNSET,
        **client_kw: Any,
    ) -> None:
        self.max_redirects = int(max_redirects)
        self.max_retries = int(max_retries)
        self.retry_delay = retry_delay
        if max_decompressed_size is not _UNSET:
            self.max_decompressed_size = max_decompressed_size
        if max_encodings is not _UNSET:
            self.max_encodings = int(max_encodings)
        self.default_headers = Headers(HTTPClient.DEFAULT_HEADERS)
        if self.accept_encoding:
            self.default_headers["Accept-Encoding"] = self.accept_encoding
        if headers:
            self.default_headers.update(headers)
        # Never test a jar for truth: an empty CookieJar has len() 0.
        if cookiejar is True:
            cookiejar = CookieJar()
        elif cookiejar is False:
            cookiejar = None
        self.cookiejar = cookiejar
        self.clientpool = HTTPClientPool(**client_kw)

    def close(self, wait: Optional[float] = 0.0) -> None:
        """Close every pooled connection; requests in flight end with
        :class:`~geventhttpclient.exceptions.ClientClosed` (see
        :meth:`HTTPClient.close <geventhttpclient.client.HTTPClient.close>` for
        ``wait``)."""
        self.clientpool.close(wait)

    def __enter__(self) -> UserAgent:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- hooks -----------------------------------------------------------------------------

    def _make_request(
        self,
        url: Union[str, URL],
        method: str = "GET",
        headers: Any = None,
        payload: Any = None,
        params: Any = None,
        files: Any = None,
        json: Any = None,
    ) -> Any:
        """A ``request_type`` for ``url`` with the body encoded and described.

        ``headers`` are used as given (copied; the agent's defaults are merged by
        ``urlopen``). Reads nothing from files or streams: Locust calls this on its
        error path just to describe a request that failed.
        """
        if isinstance(headers, Headers):
            headers = headers.copy()
        else:
            headers = Headers(headers) if headers else Headers()
        return self._new_request(url, method, headers, payload, params, files, json)

    def _new_request(
        self,
        url: Union[str, URL],
        method: str,
        headers: Headers,
        payload: Any,
        params: Any,
        files: Any,
        json: Any,
    ) -> Any:
        """:meth:`_make_request` with ``headers`` already the request's own (not
        copied again): what ``urlopen`` uses unless a subclass overrides the hook."""
        if json is not None and payload:
            raise ValueError("pass either payload or json, not both")
        body, ctype = encode_body(payload, files, json, AGENT_LABELS)
        if ctype is not None and (files or "content-type" not in headers):
            headers["Content-Type"] = ctype
        if body and "transfer-encoding" not in headers:
            if isinstance(body, (bytes, bytearray)):
                headers["Content-Length"] = str(len(body))
            elif isinstance(body, str):
                headers["Content-Length"] = str(len(body.encode("utf-8")))
        return self.request_type(url, method=method, headers=headers, payload=body, params=params)

    def _urlopen(self, request: Any) -> Any:
        """Send ``request`` once (one attempt, one hop) and return a ``response_type``."""
        return self._send_on(self.clientpool.get_client(request.url_split), request)

    def _send_on(self, client: Any, request: Any) -> Any:
        """One attempt of ``request`` on ``client``, wrapped as a ``response_type``."""
        return send_once(client, request, self.response_type)

    def _verify_status(self, status_code: int, url: Any = None) -> None:
        """Raise :class:`BadStatusCode` unless ``status_code`` is a valid one."""
        if status_code not in self.valid_response_codes:
            raise BadStatusCode(url, code=status_code)

    def _handle_error(self, e: BaseException, url: Any = None) -> BaseException:
        """Return ``e`` if it is worth another attempt, raise it if not (2.x hook).

        The caller still refuses to retry a non-idempotent request that may have
        been sent, whatever this returns.
        """
        if isinstance(e, gevent.Timeout) or not isinstance(e, Exception):
            raise e  # the caller's own timeout, or an interruption: never ours to retry
        if is_transient(e):
            return e
        if isinstance(e, (ConnectError, ConnectionRefusedError)):
            raise e
        # Raw socket errors reach here only from user code (a hook, a body iterator):
        # the engine translates its own at the I/O edge. 2.x's rule for them:
        if isinstance(e, socket.timeout):
            return e
        if isinstance(e, ssl.SSLError):
            if "timed out" in str(e):
                return e
            raise e
        if isinstance(e, OSError) and e.errno in {
            errno.ETIMEDOUT,
            errno.EPIPE,
            errno.ECONNRESET,
            errno.ECONNABORTED,
        }:
            return e
        raise e

    def _handle_retries_exceeded(self, url: Any, last_error: Optional[BaseException] = None) -> Any:
        """Raise :class:`RetriesExceeded` (2.x hook)."""
        raise RetriesExceeded(url, self.max_retries, original=last_error) from last_error

    # -- urlopen ---------------------------------------------------------------------------

    def _add_cookies(self, req: Any) -> None:
        """Let the jar set ``Cookie`` for this hop, replacing what it set before but
        never a ``Cookie`` the caller set."""
        if getattr(req, "_jar_cookie", False):
            req.headers.discard("cookie")
        had = "cookie" in req.headers
        self.cookiejar.add_cookie_header(req)
        try:
            req._jar_cookie = not had and "cookie" in req.headers
        except AttributeError:  # a request type with __slots__
            pass

    def _apply_limits(self, resp: Any) -> None:
        apply_limits(resp, self.max_decompressed_size, self.max_encodings)

    def _retry(self, retries: Optional[int] = None) -> Retry:
        """The agent's retry settings as a :class:`~geventhttpclient._policy.Retry`."""
        return Retry(
            total=self.max_retries if retries is None else int(retries),
            backoff=float(self.retry_delay or 0),
            max_backoff=float(self.max_retry_delay),
            status_codes=frozenset(self.retry_response_codes),
        )

    def _backoff(self, attempt: int) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based)."""
        return replace(self._retry(), attempt=attempt).delay()

    def _sleep(self, seconds: float) -> None:
        """Wait between attempts (a hook, so tests and subclasses can see the delays)."""
        gevent.sleep(seconds)

    _sent_nothing = staticmethod(sent_nothing)

    def urlopen(
        self,
        url: Union[str, URL],
        method: str = "GET",
        response_codes: Any = None,
        headers: Any = None,
        payload: Any = None,
        to_string: bool = False,
        debug_stream: Any = None,
        params: Any = None,
        max_retries: Optional[int] = None,
        max_redirects: Optional[int] = None,
        files: Any = None,
        json: Any = None,
        *,
        timeout: Optional[float] = None,
        allow_redirects: Optional[bool] = None,
        follow_redirects: Optional[bool] = None,
        **kw: Any,
    ) -> Any:
        """Request ``url`` with retries and redirects; return the response, or its
        decoded body if ``to_string``.

        As in 2.x, extra keyword arguments are form fields for a POST and query
        parameters otherwise. ``response_codes`` replaces ``valid_response_codes``
        (and the ``_verify_status`` hook) for this call. ``max_retries`` and
        ``max_redirects`` override the agent's for this call.

        Per call, without touching the agent (so safe with many greenlets on one
        agent): ``timeout`` (seconds for the whole call, retries and redirects
        included, up to the returned response; :class:`RequestTimeout` when it
        elapses), ``allow_redirects=False`` (or httpx's ``follow_redirects=False``)
        returns a redirect response instead of following it. The response's ``url``
        is the final URL and ``history`` the redirect responses before it.
        """
        if timeout is None:
            return self._urlopen_loop(
                url, method, response_codes, headers, payload, to_string, debug_stream,
                params, max_retries, max_redirects, files, json, allow_redirects,
                follow_redirects, kw,
            )  # fmt: skip
        # A gevent.Timeout is a BaseException: no retry or error hook can take it for
        # a failed attempt. Only this call's own deadline becomes RequestTimeout.
        deadline = gevent.Timeout(timeout)
        deadline.start()
        try:
            return self._urlopen_loop(
                url, method, response_codes, headers, payload, to_string, debug_stream,
                params, max_retries, max_redirects, files, json, allow_redirects,
                follow_redirects, kw,
            )  # fmt: skip
        except gevent.Timeout as exc:
            if exc is not deadline:
                raise
            raise RequestTimeout(f"{url}: no response within {timeout}s") from None
        finally:
            deadline.close()

    def _urlopen_loop(
        self,
        url: Union[str, URL],
        method: str,
        response_codes: Any,
        headers: Any,
        payload: Any,
        to_string: bool,
        debug_stream: Any,
        params: Any,
        max_retries: Optional[int],
        max_redirects: Optional[int],
        files: Any,
        json: Any,
        allow_redirects: Optional[bool],
        follow_redirects: Optional[bool],
        kw: Dict[str, Any],
    ) -> Any:
        """:meth:`urlopen`'s attempts and hops (its docstring has the contract)."""
        method = str(method).upper()
        if kw:
            if method == "POST":
                if payload is None:
                    payload = kw
                elif isinstance(payload, dict):
                    payload = {**payload, **kw}
            elif params is None:
                params = kw
            elif isinstance(params, dict):
                params = {**params, **kw}
        req_headers = self.default_headers.copy()
        if headers:
            req_headers.update(headers)
        if type(self)._make_request is UserAgent._make_request:
            req = self._new_request(url, method, req_headers, payload, params, files, json)
        else:  # a subclass's hook sees what it always saw
            req = self._make_request(
                url, method=method, headers=req_headers, payload=payload, params=params,
                files=files, json=json,
            )  # fmt: skip
        # A Retry is made only when an attempt fails: most calls never need one.
        retry: Optional[Retry] = None
        redirects = self.max_redirects if max_redirects is None else int(max_redirects)
        follow = follow_redirects if allow_redirects is None else allow_redirects
        history: List[Any] = []
        jar = self.cookiejar
        while True:
            if jar is not None and (
                getattr(req, "_jar_cookie", False) or not jar_adds_nothing(jar)
            ):
                self._add_cookies(req)
            try:
                resp = self._urlopen(req)
            except Exception as e:
                if isinstance(e, gevent.Timeout):
                    raise
                annotate(e, request=req)
                error = self._handle_error(e, url=req.url)
                # the method of this hop: a 303 may have turned a POST into a GET
                if not may_resend(req.method, error):
                    # Worth retrying, but the server may have acted on it (RFC 9110
                    # 9.2.2): 2.x reported that as RetriesExceeded, original attached.
                    self._handle_retries_exceeded(url, last_error=error)
                    raise error from e  # the hook returned
                retry = self._next_attempt(retry or self._retry(max_retries), url, error, req, None)
                continue

            self._apply_limits(resp)
            if debug_stream is not None:
                debug_stream.write(self._conversation_str(req.url, resp, payload=req.payload))
                debug_stream.write("\n\n")
            if jar is not None and not sets_no_cookie(jar, resp):
                jar.extract_cookies(resp, req)

            status = resp.status_code
            try:
                if response_codes is not None:
                    if status not in response_codes:
                        raise BadStatusCode(req.url, code=status)
                else:
                    self._verify_status(status, url=req.url)
            except Exception as e:
                self._attach_response(e, req, resp)
                if isinstance(e, BadStatusCode):
                    wait = retry_after(getattr(resp, "headers", None))
                    retry = retry or self._retry(max_retries)
                    if retry.retries_status(req.method, getattr(e, "code", 0), wait):
                        retry = self._next_attempt(retry, url, e, req, wait)
                        continue
                raise

            # (_redirect_response_codes: both spellings' value, without their descriptor)
            if status in self._redirect_response_codes and follow is not False:
                location = resp.headers.get("location") if resp.headers is not None else None
                if isinstance(location, list):
                    location = location[0]
            else:
                location = None
            if location:
                self._discard(resp)
                if len(history) >= redirects:
                    error = TooManyRedirects(req.url, f"Redirection limit reached ({redirects})")
                    annotate(error, response=resp, request=req)
                    raise error
                history.append(resp)
                resp._request = copy.copy(req)  # the live request moves on to the next hop
                resp._request.headers = req.headers.copy()
                trace = self.clientpool.client_args.get("trace")
                if trace is not None:
                    trace("redirect", {"status_code": status, "location": location, "url": req.url})
                req.redirect(status, location)
                continue
            resp.history = history

            if not to_string:
                return resp
            try:
                content = resp.content
            except Exception as e:
                self._handle_error(e, url=req.url)
                if req.method not in IDEMPOTENT_METHODS:
                    raise
                retry = self._next_attempt(retry or self._retry(max_retries), url, e, req, None)
                continue
            if content:
                return content
            error = EmptyResponse(req.url, "Empty response body received")
            annotate(error, response=resp, request=req)
            self._handle_error(error, url=req.url)
            if req.method not in IDEMPOTENT_METHODS:
                self._handle_retries_exceeded(url, last_error=error)  # as 2.x: never resent
                raise error
            retry = self._next_attempt(retry or self._retry(max_retries), url, error, req, None)

    def _next_attempt(
        self, retry: Retry, url: Any, error: BaseException, req: Any, wait: Optional[float]
    ) -> Retry:
        """Count one more attempt, sleep before it; raise when none are left or the
        body cannot be sent again."""
        retry = retry.increment()
        if retry.exhausted:
            if isinstance(error, BadStatusCode):
                raise error
            self._handle_retries_exceeded(url, last_error=error)
            raise RetriesExceeded(url, retry.total, original=error) from error  # hook returned
        if req.payload is not None and not req.rewind():
            raise error
        delay = retry.delay(wait)
        trace = self.clientpool.client_args.get("trace")
        if trace is not None:
            info = {"attempt": retry.attempt, "delay": delay, "url": req.url}
            if isinstance(error, BadStatusCode):
                info["status_code"] = getattr(error, "code", None)
            else:
                info["error"] = error
            trace("retry", info)
        if delay > 0:
            self._sleep(delay)
        return retry

    def _attach_response(self, e: BaseException, req: Any, resp: Any) -> None:
        """Give a status error its response, request and log (2.x), reading the body
        first: a released response could not be read any more."""
        try:
            _ = resp.content
        except Exception:  # noqa: BLE001 - the status error is what gets reported
            pass
        annotate(e, response=resp, request=req)
        try:
            log = self._conversation_str(req.url, resp, payload=req.payload)
        except Exception:  # noqa: BLE001
            log = ""
        annotate(e, http_log=log)
        resp.release()

    @staticmethod
    def _discard(resp: Any) -> None:
        """Drop a redirect's body undecoded; keep the connection when it is short."""
        resp.drain()

    @classmethod
    def _conversation_str(
        cls, url: Any, resp: Any, payload: Any = None, encoding: str = "utf-8"
    ) -> str:
        """The exchange as text, for ``debug_stream`` and ``BadStatusCode.http_log``."""
        sent = getattr(resp, "_sent_request", None) or b""
        if isinstance(sent, (bytes, bytearray)):
            sent = bytes(sent).decode("latin-1")
        out = [f"REQUEST: {url}\n{sent}"]
        if isinstance(payload, (bytes, bytearray)):
            out.append(bytes(payload).decode(encoding, "replace") + "\n\n")
        elif isinstance(payload, str):
            out.append(payload + "\n\n")
        headers = resp.headers if resp.headers is not None else ()
        header_str = "\n".join(f"{k}: {v}" for k, v in headers.items()) if headers else ""
        version = getattr(getattr(resp, "_response", None), "version", "HTTP/1.1")
        try:
            body = resp.content
        except Exception as exc:  # noqa: BLE001 - a log must not fail
            body = f"<body unreadable: {exc!r}>".encode()
        body = body or b""
        out.append(
            f"RESPONSE: {version} {resp.status_code}\n{header_str}\n\n"
            + body.decode(encoding, "replace")
        )
        return "".join(out)

    # -- download --------------------------------------------------------------------------

    def download(
        self,
        url: Union[str, URL],
        fpath: Union[str, os.PathLike],
        chunk_size: int = 16 * 1024,
        resume: bool = False,
        **kw: Any,
    ) -> Any:
        """Save the body of ``url`` to ``fpath``; return the response.

        With ``resume``, an existing file is continued with a ``Range`` request when
        the server answers 206 for the right offset, and started over otherwise. A
        body cut short by a retryable error is continued (``Accept-Ranges: bytes``)
        or fetched again, up to ``max_retries`` times. ``Accept-Encoding: identity``
        is asked for unless the caller sets it, since byte ranges count encoded bytes.
        """
        kw.pop("to_string", None)
        headers = Headers(kw.pop("headers", None) or {})
        if "accept-encoding" not in headers:
            headers["Accept-Encoding"] = "identity"
        offset = os.path.getsize(fpath) if resume and os.path.isfile(fpath) else 0
        attempt = 0
        while True:
            req_headers = headers.copy()
            if offset:
                req_headers["Range"] = f"bytes={offset}-"
            resp = self.urlopen(url, headers=req_headers, **kw)
            if offset and not _resumes_at(resp, offset):
                if resp.status_code != 200:
                    resp.release()
                    offset = 0
                    continue
                offset = 0  # the server sent the whole body: start the file over
            with open(fpath, "ab" if offset else "wb") as f:
                try:
                    with resp:
                        while True:
                            data = resp.read(chunk_size)
                            if not data:
                                break
                            f.write(data)
                except Exception as e:
                    error = self._handle_error(e, url=url)
                    attempt += 1
                    if attempt > self.max_retries:
                        self._handle_retries_exceeded(url, last_error=error)
                    ranges = resp.headers.get("accept-ranges") if resp.headers else None
                    offset = f.tell() if ranges == "bytes" else 0
                    delay = self._backoff(attempt)
                    if delay > 0:
                        self._sleep(delay)
                    continue
            return resp


def _resumes_at(resp: Any, offset: int) -> bool:
    if resp.status_code != 206:
        return False
    cr = resp.headers.get("content-range") or ""
    unit, _, rest = str(cr).partition(" ")
    return unit.strip().lower() == "bytes" and rest.strip().startswith(f"{offset}-")


_encode_multipart_formdata = encode_multipart_formdata  # the name 2.x code uses

# 2.x's names for these, kept importable from here.
REDIRECT_RESPONSE_CODES = REDIRECT_CODES
PERMANENT_REDIRECT_RESPONSE_CODES = PERMANENT_REDIRECT_CODES
CookieJarLike = Optional[CookieJar]


def send_once(client: Any, request: Any, response_type: Any) -> Any:
    """One attempt of ``request`` on ``client``, wrapped as a ``response_type``: the
    step every agent (UserAgent, Session) repeats for each attempt and hop."""
    resp = client.request(
        request.method,
        request.url_split.quoted_uri,  # percent-encoded, as 2.x sent it
        body=request.payload,
        headers=request.headers,
    )
    return response_type(resp, request=request, sent_request=resp.sent_request)


def apply_limits(resp: Any, max_size: Optional[int], max_encodings: int) -> None:
    """Give ``resp`` the agent's decoding bounds where they differ from the defaults
    (an instance attribute only then: Locust copies a response's ``__dict__``)."""
    if max_size != CompatResponse.max_decompressed_size:
        resp.max_decompressed_size = max_size
    if max_encodings != CompatResponse.max_encodings:
        resp.max_encodings = max_encodings


def annotate(e: BaseException, **attrs: Any) -> None:
    """Attach ``attrs`` to the exception ``e`` where it allows (2.x errors carry
    ``response``, ``request``, ``http_log``)."""
    for name, value in attrs.items():
        try:
            setattr(e, name, value)
        except (AttributeError, TypeError):
            pass


_annotate = annotate  # the name subclasses used


class RestkitCompatUserAgent(UserAgent):
    response_type = RestkitCompatResponse


class XmlrpcCompatUserAgent(UserAgent):
    """A transport for :mod:`xmlrpc.client` (2.x)."""

    def request(self, host: str, handler: str, request: bytes, verbose: bool = False) -> Any:
        import io

        debug_stream = io.StringIO() if verbose else None
        ret = self.urlopen(
            host + handler, "POST", payload=request, to_string=True, debug_stream=debug_stream
        )
        if debug_stream is not None:
            print(debug_stream.getvalue())
        return ret
