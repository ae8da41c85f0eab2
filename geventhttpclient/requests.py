"""A requests-style API on the geventhttpclient engine: :class:`Session` and :class:`Response`.

Code written for ``requests`` mostly runs unchanged::

    with geventhttpclient.Session() as s:
        s.headers["X-Token"] = "..."
        r = s.get("https://api.example/items", params={"page": 2}, timeout=(3, 10))
        r.raise_for_status()
        items = r.json()

How it maps onto the engine: a :class:`Session` follows redirects and retries by
the rules of ``_policy``, builds bodies and reads charsets by ``_bodies`` (the
same rules as :class:`~geventhttpclient.useragent.UserAgent`), and keeps one
:class:`~geventhttpclient.client.HTTPClient` (a pool of keep-alive connections)
per *(origin, proxy, TLS settings, timeouts)*. Everything
that changes how a connection is made is part of that key, so a connection opened
with ``verify=False``, a client certificate, another proxy or other credentials
can never carry a request that asked for something else. The number of clients is
bounded (:attr:`Session.max_clients`; the least recently used one is retired:
its requests in flight finish, then its connections close).

Differences from requests, on purpose:

* bodies are read before a request returns unless ``stream=True`` (as in
  requests), and a streamed response gives its connection back when its body has
  been read to the end or it is closed; use it as a context manager;
* ``timeout=None`` means no limit (as in requests); :attr:`Session.timeout` sets a
  default for every request of a session;
* ``.text`` is always ``str``; without a charset, ``text/*`` is ISO-8859-1
  (RFC 2616, like requests), JSON is UTF-8 and anything else is UTF-8 if it is valid
  UTF-8, else ISO-8859-1 (no statistical charset detection);
* ``iter_content``/``iter_lines`` yield content-decoded bytes (gzip, deflate, br,
  zstd, bounded by ``max_decompressed_size``), with ``decode_unicode=True`` text in
  :attr:`Response.encoding` or UTF-8;
* ``iter_lines`` splits on ``\\r\\n``, ``\\n`` and ``\\r`` and never reports an empty
  line for a ``\\r\\n`` that straddles two chunks;
* 301, 302 and 303 redirects turn any method but HEAD into a bodiless GET (what
  browsers do); 307 and 308 repeat the method and body;
* there are no retries unless ``max_retries`` is set (requests' default adapter
  does none either); a caller's own ``gevent.Timeout`` and ``GreenletExit`` are
  never retried or wrapped;
* errors are geventhttpclient's own: :class:`~geventhttpclient.exceptions.HTTPError`
  is the root of all of them (requests' ``RequestException``), and
  :meth:`Response.raise_for_status` raises :class:`HTTPStatusError`, an ``HTTPError``
  with ``.response``;
* ``~/.netrc`` is not read.
"""

from __future__ import annotations

import codecs
import json as jsonlib
import os
import re
import time
from datetime import timedelta
from http.cookiejar import Cookie, CookieJar
from typing import (
    Any,
    Callable,
    Dict,
    Iterable,
    Iterator,
    List,
    Mapping,
    NamedTuple,
    Optional,
    Sequence,
    Tuple,
    Union,
)
from urllib.parse import quote, unquote

import gevent

from ._bodies import (
    REQUESTS_LABELS,
    bom_encoding,
    declared_charset,
    default_charset,
    encode_body,
)
from ._policy import (
    MAX_RETRY_DELAY,
    PERMANENT_REDIRECT_CODES,
    REDIRECT_CODES,
    Retry,
    is_transient,
    may_resend,
)
from ._proxies import (
    ProxyConfig,
    bypass_proxy,
    environ_proxies,
    getenv,
    parse_proxy_url,
    select_proxy,
)
from .auth import BasicAuth
from .auth import resolve_auth as resolve_auth
from .client import HTTPClient, close_all
from .exceptions import (  # re-exported here: requests' names, and 2.x's
    ConnectTimeout,
    HTTPError,
    HTTPStatusError,
    InvalidURL,
    ReadTimeout,
    StreamConsumedError,
    StreamLimitExceeded,
)
from .exceptions import TimeoutError as GHTimeoutError
from .header import Headers
from .header import HeadersDataType as HeadersDataType
from .header import parse_content_type_charset as parse_content_type_charset
from .response import HTTPSocketResponse as HTTPSocketResponse
from .url import UNIX_SCHEMES, URL
from .url import ParamsDataType as ParamsDataType
from .useragent import (
    ACCEPT_ENCODING,
    CompatRequest,
    CompatResponse,
    TooManyRedirects,
    UserAgent,
    annotate,
    apply_limits,
    jar_adds_nothing,
    send_once,
    sets_no_cookie,
)

__all__ = [
    "Session",
    "Response",
    "RequestsResponse",
    "PreparedRequest",
    "RequestsRequest",
    "HTTPBasicAuth",
    "BasicAuth",
    "RequestsCookieJar",
    "HTTPStatusError",
    "StreamConsumedError",
    "TooManyRedirects",
    "RequestException",
    "Timeout",
    "ConnectTimeout",
    "ReadTimeout",
    "REDIRECT_STATUSES",
    "DEFAULT_MAX_REDIRECTS",
    "DEFAULT_CONCURRENCY",
]

REDIRECT_STATUSES = REDIRECT_CODES
PERMANENT_REDIRECT_STATUSES = PERMANENT_REDIRECT_CODES
DEFAULT_MAX_REDIRECTS = 30
"""requests' limit."""
DEFAULT_CONCURRENCY = 10
"""Connections per client (origin and settings), requests' ``pool_maxsize``."""
MAX_CLIENTS = 64
"""Clients a session keeps; the least recently used one beyond this is closed."""
ITER_LINES_CHUNK_SIZE = 512
"""requests' default read size for ``iter_lines``."""

_READ_BLOCK = 64 * 1024
_LINE_RE_BYTES = re.compile(rb"\r\n|\r|\n")
_LINE_RE_TEXT = re.compile(r"\r\n|\r|\n")
_UNSET: Any = object()
_NO_TIME = timedelta(0)

# requests' exception names, for code that catches them by these names.
RequestException = HTTPError
Timeout = GHTimeoutError


# -- auth ---------------------------------------------------------------------------------


HTTPBasicAuth = BasicAuth
"""requests' name for :class:`geventhttpclient.auth.BasicAuth`, which is also a
requests-style auth callable."""


def _check_auth(auth: Any) -> Any:
    """``auth`` unchanged if a request could use it; refused at once otherwise."""
    _resolve_auth(auth)
    return auth


def _resolve_auth(auth: Any) -> Optional[Callable[[Any], Any]]:
    """An auth callable for ``auth``: a (user, password) pair, a :class:`BasicAuth`
    or any requests-style callable, a ready ``Authorization`` value (str, as in
    2.x), or None.

    :raises UnsupportedAuth: for anything else (a ``NotImplementedError``, as in 2.x,
        and a ``TypeError``, as in requests).
    """
    if auth is None or callable(auth):  # a BasicAuth is callable too
        return auth
    value = resolve_auth(tuple(auth) if isinstance(auth, list) else auth)
    return lambda request: _set_authorization(request, value)


def _set_authorization(request: Any, value: Optional[str]) -> Any:
    request.headers["Authorization"] = value
    return request


# -- cookies ------------------------------------------------------------------------------


def create_cookie(name: str, value: str, domain: str = "", path: str = "/", **kw: Any) -> Cookie:
    """A session cookie (no expiry). With ``domain=""`` it is sent to every host,
    as requests does for ``session.cookies.set(name, value)``."""
    fields: Dict[str, Any] = {
        "version": 0,
        "name": name,
        "value": value,
        "port": None,
        "port_specified": False,
        "domain": domain,
        "domain_specified": bool(domain),
        "domain_initial_dot": domain.startswith("."),
        "path": path,
        "path_specified": True,
        "secure": False,
        "expires": None,
        "discard": True,
        "comment": None,
        "comment_url": None,
        "rest": {"HttpOnly": None},
        "rfc2109": False,
    }
    fields.update(kw)
    return Cookie(**fields)


class RequestsCookieJar(CookieJar):
    """A :class:`http.cookiejar.CookieJar` that also reads like a dict of names, as
    requests' jar does: ``jar["name"]``, ``jar.get("name")``, ``jar.set(...)``,
    ``"name" in jar``, ``jar.get_dict()``, ``jar.update({...})``.

    Name lookups take the first cookie of that name; when several domains or paths
    hold one, pass ``domain=``/``path=`` to :meth:`get` to choose.
    """

    def get(
        self,
        name: str,
        default: Any = None,
        domain: Optional[str] = None,
        path: Optional[str] = None,
    ) -> Any:
        for cookie in self:
            if cookie.name == name and (domain is None or cookie.domain == domain):
                if path is None or cookie.path == path:
                    return cookie.value
        return default

    def set(self, name: str, value: Optional[str], **kw: Any) -> Optional[Cookie]:
        """Set (or with ``value=None`` remove) a cookie; keywords as in
        :func:`create_cookie` (``domain``, ``path``...)."""
        if value is None:
            self._remove(name, kw.get("domain"), kw.get("path"))
            return None
        cookie = create_cookie(name, str(value), **kw)
        self.set_cookie(cookie)
        return cookie

    def _remove(self, name: str, domain: Optional[str], path: Optional[str]) -> None:
        doomed = [
            c
            for c in self
            if c.name == name
            and (domain is None or c.domain == domain)
            and (path is None or c.path == path)
        ]
        for c in doomed:
            self.clear(c.domain, c.path, c.name)

    def __getitem__(self, name: str) -> str:
        value = self.get(name, _UNSET)
        if value is _UNSET:
            raise KeyError(name)
        return value

    def __setitem__(self, name: str, value: str) -> None:
        self.set(name, value)

    def __delitem__(self, name: str) -> None:
        self._remove(name, None, None)

    def __contains__(self, name: object) -> bool:
        if isinstance(name, Cookie):
            return any(c is name for c in self)
        return any(c.name == name for c in self)

    def keys(self) -> List[str]:
        return [c.name for c in self]

    def values(self) -> List[Optional[str]]:
        return [c.value for c in self]

    def items(self) -> List[Tuple[str, Optional[str]]]:
        return [(c.name, c.value) for c in self]

    def get_dict(
        self, domain: Optional[str] = None, path: Optional[str] = None
    ) -> Dict[str, Optional[str]]:
        return {
            c.name: c.value
            for c in self
            if (domain is None or c.domain == domain) and (path is None or c.path == path)
        }

    def update(self, other: Any) -> None:
        """Add cookies from another jar (kept as they are) or a mapping of names."""
        if isinstance(other, CookieJar):
            for cookie in other:
                self.set_cookie(cookie)
        else:
            for name, value in dict(other).items():
                self.set(name, value)

    def copy(self) -> RequestsCookieJar:
        new = RequestsCookieJar(getattr(self, "_policy", None))
        new.update(self)
        return new


_UNMADE_JAR = RequestsCookieJar()
"""Never filled: stands for the jar a module-level call makes on its first
``Set-Cookie``, to ask :func:`sets_no_cookie` whether one would store anything."""


def _as_jar(cookies: Any) -> Any:
    """The session's jar: a given ``CookieJar`` itself (so the caller sees what
    responses set, as with 2.x's ``cookiejar=``), else a new one filled from a
    mapping; ``True`` (2.x) means a new empty one."""
    if isinstance(cookies, CookieJar):
        return cookies
    jar = RequestsCookieJar()
    if cookies is not None and cookies is not True:
        jar.update(cookies)
    return jar


def _cookie_pairs(header: Optional[str]) -> List[Tuple[str, str]]:
    """``name=value`` parts of a ``Cookie`` header, as (name, part) to merge by name."""
    out: List[Tuple[str, str]] = []
    for part in (header or "").split(";"):
        part = part.strip()
        if part:
            out.append((part.partition("=")[0].strip(), part))
    return out


# -- the request ----------------------------------------------------------------------------


class _Settings(NamedTuple):
    """How one request connects: resolved once per call, used for every hop."""

    verify: Any
    cert: Any
    proxies: Mapping[str, Any]
    trust_env: bool
    timeouts: Tuple[Optional[float], Optional[float]]


class PreparedRequest(CompatRequest):
    """The request as sent (``method``, ``url``, ``headers``, ``body``); what auth
    callables receive and what :attr:`Response.request` is."""

    _settings: Optional[_Settings] = None

    @property
    def body(self) -> Any:
        return self.payload

    def copy(self) -> PreparedRequest:
        new = type(self).__new__(type(self))
        new.__dict__.update(self.__dict__)
        new.headers = Headers(self.headers)
        return new


def _timeouts(timeout: Any) -> Tuple[Optional[float], Optional[float]]:
    """``(connect, read)`` seconds from a number, a pair or None (no limit)."""
    if isinstance(timeout, (tuple, list)):
        if len(timeout) != 2:
            raise ValueError(f"timeout must be a number or a (connect, read) pair, not {timeout!r}")
        return _seconds(timeout[0], "connect"), _seconds(timeout[1], "read")
    value = _seconds(timeout, "")
    return value, value


def _seconds(value: Any, what: str) -> Optional[float]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{what} timeout must be a number or None, not {value!r}".lstrip())
    if value <= 0:
        raise ValueError(f"{what} timeout must be greater than 0, not {value!r}".lstrip())
    return float(value)


def _origin(url: URL) -> Tuple[str, str, Optional[int]]:
    return (url.scheme, url.host, url.port)


def _merge_headers(base: Headers, extra: Any) -> Headers:
    """``base`` updated with ``extra``; a None value removes the field (requests)."""
    headers = base.copy()
    if not extra:
        return headers
    items = extra.items() if isinstance(extra, Headers) or isinstance(extra, Mapping) else extra
    items = list(items)
    for name, _ in items:
        headers.discard(name)
    for name, value in items:
        if value is not None:
            headers.add(name, value)
    return headers


# -- the response ---------------------------------------------------------------------------


def _parse_links(value: str) -> Dict[str, Dict[str, str]]:
    """An RFC 8288 ``Link`` header as requests' ``links``: keyed by ``rel`` (else
    the URL), each a dict of ``url`` and the link's parameters."""
    links: Dict[str, Dict[str, str]] = {}
    for match in _LINK_RE.finditer(value):
        link = {"url": match.group(1).strip()}
        for param in _LINK_PARAM_RE.finditer(match.group(2)):
            link[param.group(1).lower()] = (param.group(2) or param.group(3) or "").strip()
        links[link.get("rel") or link["url"]] = link
    return links


_LINK_RE = re.compile(r"<([^>]*)>((?:\s*;\s*[^,;=\s]+\s*=\s*(?:\"[^\"]*\"|[^,;]*))*)")
_LINK_PARAM_RE = re.compile(r";\s*([^,;=\s]+)\s*=\s*(?:\"([^\"]*)\"|([^,;]*))")


def _slices(data: bytes, size: Optional[int]) -> Iterator[bytes]:
    if not size or len(data) <= size:
        if data:
            yield data
        return
    for i in range(0, len(data), size):
        yield data[i : i + size]


def _split_lines(
    chunks: Iterable[Any], delimiter: Any, text: bool, limit: Optional[int] = None
) -> Iterator[Any]:
    """Lines from ``chunks``, reassembled across chunk boundaries.

    Without a delimiter a line ends at ``\\r\\n``, ``\\n`` or ``\\r``; a ``\\r`` that
    ends a chunk ends its line at once, and a ``\\n`` starting the next chunk is then
    taken as the rest of that ``\\r\\n``. An unfinished line is kept as a list of
    pieces, so one very long line costs one join, not one copy per chunk.
    ``limit``: the longest line (bytes, or characters for ``str``; None: any), so
    that a line that never ends cannot grow the pieces without end.
    """
    empty: Any = "" if text else b""
    if delimiter is not None:
        if text and isinstance(delimiter, bytes):
            delimiter = delimiter.decode("utf-8")
        elif not text and isinstance(delimiter, str):
            delimiter = delimiter.encode("utf-8")
        if not delimiter:
            raise ValueError("delimiter must not be empty")
        yield from _split_on(chunks, delimiter, empty, limit)
        return
    regex = _LINE_RE_TEXT if text else _LINE_RE_BYTES
    cr: Any = "\r" if text else b"\r"
    lf: Any = "\n" if text else b"\n"
    parts: List[Any] = []
    size = 0  # of parts
    skip_lf = False
    for chunk in chunks:
        if skip_lf:
            skip_lf = False
            if chunk[:1] == lf:
                chunk = chunk[1:]
        if not chunk:
            continue
        if chunk.find(lf) < 0 and chunk.find(cr) < 0:  # (find: see sse.LineSplitter)
            size += len(chunk)
            if limit is not None and size > limit:
                raise _line_too_long(size, limit)
            parts.append(chunk)
            continue
        if chunk[-1:] == cr:
            skip_lf = True
            chunk = chunk[:-1]
        lines = regex.split(chunk)
        if parts:
            parts.append(lines[0])
            lines[0] = empty.join(parts)
            parts = []
        size = 0
        if not skip_lf:
            rest = lines.pop()
            if rest:
                parts.append(rest)
                size = len(rest)
        if limit is not None:
            for line in lines:
                if len(line) > limit:
                    raise _line_too_long(len(line), limit)
            if size > limit:
                raise _line_too_long(size, limit)
        yield from lines
    if parts:
        yield empty.join(parts)


def _split_on(
    chunks: Iterable[Any], delimiter: Any, empty: Any, limit: Optional[int] = None
) -> Iterator[Any]:
    parts: List[Any] = []
    size = 0
    overlap = len(delimiter) - 1
    for chunk in chunks:
        if not chunk:
            continue
        straddles = (
            overlap and parts and (parts[-1][-overlap:] + chunk[:overlap]).find(delimiter) >= 0
        )
        if chunk.find(delimiter) < 0 and not straddles:
            size += len(chunk)
            if limit is not None and size > limit:
                raise _line_too_long(size, limit)
            parts.append(chunk)
            continue
        parts.append(chunk)
        lines = empty.join(parts).split(delimiter)
        rest = lines.pop()
        parts = [rest] if rest else []
        size = len(rest)
        if limit is not None:
            for line in (*lines, rest):
                if len(line) > limit:
                    raise _line_too_long(len(line), limit)
        yield from lines
    if parts:
        yield empty.join(parts)


def _line_too_long(size: int, limit: int) -> StreamLimitExceeded:
    return StreamLimitExceeded(
        f"a line of the body is longer than max_line_size ({size} > {limit})",
        "GH_E_LINE_TOO_LONG",
    )


class Response(CompatResponse):
    """A response as requests gives it.

    ``status_code``, ``reason``, ``ok``, ``url`` (after redirects), ``headers`` (a
    case-insensitive :class:`~geventhttpclient.header.Headers`; a repeated field
    reads as a list), ``content`` (decoded bytes), ``text`` (always ``str``),
    ``encoding`` (settable), ``apparent_encoding``, ``json()``,
    ``raise_for_status()``, ``iter_content()``, ``iter_lines()``, ``iter_events()``
    (server-sent events: see :mod:`geventhttpclient.sse`), ``history`` (the
    redirect responses, oldest first), ``elapsed`` (until the response head
    arrived), ``cookies`` (those this response set), ``request``, ``raw`` (the
    undecoded stream), ``close()`` and use as a context manager. True when ``ok``.
    """

    # Defaults until set: a response is made per request, so the fewer attributes
    # __init__ stores the better.
    _encoding: Any = _UNSET
    _streamed = False
    _cookies: Optional[RequestsCookieJar] = None
    _elapsed: Any = _NO_TIME  # a timedelta or seconds once set; until then, from timings

    def __init__(self, ghc_response: Any, request: Any = None, sent_request: Any = None) -> None:
        super().__init__(ghc_response, request=request, sent_request=sent_request)
        self._url: Optional[str] = request.url if request is not None else None

    # -- head ------------------------------------------------------------------------------

    @property
    def elapsed(self) -> timedelta:
        """The time from sending the request until the response head arrived: its
        :attr:`timings`' ``elapsed`` (waiting for a connection and making one
        included, as requests counts it)."""
        value = self._elapsed
        if value is _NO_TIME:  # made on first use: most never ask
            timings = self.timings
            seconds = timings.elapsed if timings is not None else None
            value = self._elapsed = timedelta(seconds=seconds or 0.0)
        elif not isinstance(value, timedelta):
            value = self._elapsed = timedelta(seconds=value)
        return value

    @elapsed.setter
    def elapsed(self, value: timedelta) -> None:
        self._elapsed = value

    @property
    def url(self) -> Optional[str]:
        """The URL this response answers (the last one, after redirects)."""
        return self._url

    @url.setter
    def url(self, value: Optional[str]) -> None:
        self._url = value

    @property
    def request(self) -> Any:
        """The :class:`PreparedRequest` that got this response."""
        return self._request

    @request.setter
    def request(self, value: Any) -> None:
        self._request = value

    @property
    def raw(self) -> Any:
        """The underlying response: ``raw.read()`` gives the body as sent (encoded)."""
        return self._response

    @property
    def ok(self) -> bool:
        """False for 4xx and 5xx: what :meth:`raise_for_status` raises for."""
        return not 400 <= self.status_code < 600

    def __bool__(self) -> bool:
        return self.ok

    @property
    def is_redirect(self) -> bool:
        """A redirect the session would follow (a redirect status and a Location)."""
        return self.status_code in REDIRECT_STATUSES and "location" in self.headers

    @property
    def is_permanent_redirect(self) -> bool:
        return self.status_code in PERMANENT_REDIRECT_STATUSES and "location" in self.headers

    @property
    def cookies(self) -> RequestsCookieJar:
        """The cookies this response set (its ``Set-Cookie`` fields)."""
        jar = self._cookies
        if jar is None:
            jar = self._cookies = RequestsCookieJar()
            if self._request is not None:
                jar.extract_cookies(self, self._request)  # type: ignore[arg-type]
        return jar

    def raise_for_status(self) -> None:
        """Raise :class:`HTTPStatusError` for a 4xx or 5xx status."""
        code = self.status_code
        if 400 <= code < 500:
            kind = "Client Error"
        elif 500 <= code < 600:
            kind = "Server Error"
        else:
            return
        raise HTTPStatusError(f"{code} {kind}: {self.reason} for url: {self.url}", self)

    # -- text -------------------------------------------------------------------------------

    @property
    def encoding(self) -> Optional[str]:
        """The charset ``text`` uses: set it to override. From Content-Type, see
        :func:`geventhttpclient._bodies.declared_charset`. When None, :attr:`text`
        reads ``text/*`` as ISO-8859-1 and JSON as UTF-8, anything else by
        :attr:`apparent_encoding`."""
        enc = self._encoding
        if enc is _UNSET:
            enc = self._encoding = declared_charset(self.headers)
        return enc

    @encoding.setter
    def encoding(self, value: Optional[str]) -> None:
        self._encoding = value

    @property
    def links(self) -> Dict[str, Dict[str, str]]:
        """The ``Link`` header parsed (RFC 8288), keyed by ``rel``, as requests."""
        value = self.headers.get("link") if self.headers is not None else None
        if isinstance(value, list):
            value = ", ".join(value)
        return _parse_links(str(value)) if value else {}

    @property
    def apparent_encoding(self) -> str:
        """A guess from the bytes: a BOM's encoding, else UTF-8 if the content is
        valid UTF-8, else ISO-8859-1 (which decodes any bytes)."""
        content = self.content
        bom = bom_encoding(content)
        if bom is not None:
            return bom
        try:
            content.decode("utf-8")
        except UnicodeDecodeError:
            return "ISO-8859-1"
        return "utf-8"

    @property
    def text(self) -> str:
        """The content as ``str`` in :attr:`encoding` (else the apparent encoding);
        bytes that do not decode become U+FFFD, so this never raises for the body."""
        content = self.content
        if not content:
            return ""
        enc = self.encoding or default_charset(self.headers)
        if enc is not None:
            try:
                return str(content, enc, errors="replace")
            except LookupError:  # a charset Python does not know
                pass
        bom = bom_encoding(content)
        if bom is not None:
            return str(content, bom, errors="replace")
        try:
            return content.decode("utf-8")
        except UnicodeDecodeError:
            return content.decode("ISO-8859-1")

    def json(self, **kw: Any) -> Any:
        """The content parsed as JSON. UTF-8, -16 and -32 are recognised from the
        bytes; a different charset declared in Content-Type (or set as
        :attr:`encoding`) is used to decode first."""
        enc = self.encoding or default_charset(self.headers)
        if enc is not None:
            try:
                utf = codecs.lookup(enc).name.startswith("utf")
            except LookupError:
                utf = True
            if not utf:
                return jsonlib.loads(self.text, **kw)
        return jsonlib.loads(self.content, **kw)

    # -- streaming --------------------------------------------------------------------------

    def _content(self) -> bytes:
        if self._streamed:
            raise StreamConsumedError(
                "the body of this response was already iterated over (stream=True)"
            )
        return super()._content()

    def iter_content(
        self, chunk_size: Optional[int] = 1, decode_unicode: bool = False
    ) -> Iterator[Any]:
        """The body in pieces of at most ``chunk_size`` bytes (None: as they come).

        Pieces are content-decoded; a streamed body is yielded as it arrives, so a
        piece can be shorter than ``chunk_size``. With ``decode_unicode`` they are
        ``str`` in :attr:`encoding` (UTF-8 if None), multi-byte characters kept
        whole across pieces. A streamed body can be iterated once: the second
        time raises :class:`StreamConsumedError`. Stopping early closes the
        connection (the rest of the body is not read).
        """
        if chunk_size is not None:
            if isinstance(chunk_size, bool) or not isinstance(chunk_size, int):
                raise TypeError(f"chunk_size must be an int or None, not {chunk_size!r}")
            chunk_size = max(1, chunk_size)  # 2.x: 0 or less means single bytes
        if "_cached_content" in self.__dict__:
            chunks = _slices(self._cached_content, chunk_size)
        elif self._streamed:
            raise StreamConsumedError("the body of this response was already iterated over")
        else:
            self._streamed = True
            chunks = self._stream(chunk_size)
        if decode_unicode:
            return self._decode_text(chunks)
        return chunks

    def _stream(self, chunk_size: Optional[int]) -> Iterator[bytes]:
        raw = self._response
        view = memoryview(bytearray(chunk_size or _READ_BLOCK))
        try:
            decoder = self._get_decoder()
            if self._pending:  # what read()/readline() had decoded but not returned
                pending, self._pending = self._pending, b""
                yield from _slices(pending, chunk_size)
            while True:
                n = raw.readinto(view)
                if not n:
                    break
                if decoder is None:
                    yield bytes(view[:n])
                else:
                    for piece in decoder.iter_decompress(bytes(view[:n])):
                        yield from _slices(piece, chunk_size)
            if decoder is not None:
                for piece in decoder.iter_finish():
                    yield from _slices(piece, chunk_size)
        except BaseException:
            # An error, the consumer stopping early (GeneratorExit) or a caller's own
            # timeout: the body will not be read to its end, so the connection closes.
            raw.release()
            raise

    def _decode_text(self, chunks: Iterable[bytes]) -> Iterator[str]:
        try:
            factory = codecs.getincrementaldecoder(self.encoding or "utf-8")
        except LookupError:
            factory = codecs.getincrementaldecoder("utf-8")
        decoder = factory(errors="replace")
        for chunk in chunks:
            text = decoder.decode(chunk)
            if text:
                yield text
        text = decoder.decode(b"", final=True)
        if text:
            yield text

    def iter_lines(
        self,
        chunk_size: Optional[int] = ITER_LINES_CHUNK_SIZE,
        decode_unicode: bool = False,
        delimiter: Union[str, bytes, None] = None,
        *,
        max_line_size: Optional[int] = None,
    ) -> Iterator[Any]:
        """The body line by line, without the line ends (see :func:`_split_lines`),
        or split on ``delimiter``. Lines are bytes, or ``str`` with ``decode_unicode``.

        ``max_line_size`` (ours; None, requests' behaviour: no limit) bounds a line
        (bytes, or characters for ``str``).

        :raises StreamLimitExceeded: a line longer than ``max_line_size``.
        """
        chunks = self.iter_content(chunk_size, decode_unicode=decode_unicode)
        return _split_lines(chunks, delimiter, text=decode_unicode, limit=max_line_size)

    def _decoded_stream(self) -> Iterator[bytes]:
        """The decoded body as it arrives (:meth:`iter_content` ``(None)``): a
        streamed body iterated a second time raises :class:`StreamConsumedError`."""
        return self.iter_content(None)

    def __iter__(self) -> Iterator[bytes]:
        return self.iter_content(_READ_BLOCK)

    def __repr__(self) -> str:
        return f"<Response [{self.status_code}]>"


# -- the session ----------------------------------------------------------------------------


class _Legacy2x(NamedTuple):
    """The ``HTTPClient``/``UserAgent`` keywords a 2.x ``Session`` accepted, in the
    session's own terms: 2.x's Session was a UserAgent and passed them on to every
    client; here each maps onto the requests-style setting that means the same."""

    cookiejar: Any
    insecure: bool
    timeouts: Optional[Tuple[Optional[float], Optional[float]]]
    proxy: Optional[str]
    ssl_kw: Dict[str, Any]

    @classmethod
    def take(cls, kw: Dict[str, Any]) -> _Legacy2x:
        """Remove the 2.x keywords from ``kw`` and return their meaning."""
        cookiejar = kw.pop("cookiejar", None)
        insecure = bool(kw.pop("insecure", False))
        timeouts = None
        if "connection_timeout" in kw or "network_timeout" in kw:
            timeouts = (
                kw.pop("connection_timeout", HTTPClient.CONNECTION_TIMEOUT),
                kw.pop("network_timeout", HTTPClient.NETWORK_TIMEOUT),
            )
        proxy = None
        host = kw.pop("proxy_host", None)
        port = kw.pop("proxy_port", None)
        user = kw.pop("proxy_user", None)
        password = kw.pop("proxy_password", None)
        if host is not None and "://" in host:
            # a proxy URL (any scheme), as HTTPClient takes it; the others win
            config = parse_proxy_url(host)
            proxy = _proxy_url(
                config.scheme,
                config.host,
                int(port or config.port),
                config.user if user is None and password is None else user,
                config.password if user is None and password is None else password,
            )
        elif host is not None:
            if not port:
                raise ValueError("proxy_host needs proxy_port")
            proxy = _proxy_url("http", host, int(port), user, password)
        ssl_kw: Dict[str, Any] = {
            k: kw.pop(k) for k in ("ssl_options", "ssl_context_factory") if k in kw
        }
        kw.pop("ssl", None)  # a session picks TLS per URL
        return cls(cookiejar, insecure, timeouts, proxy, ssl_kw)


_RESERVED_CLIENT_KW = frozenset(
    {
        "ssl",
        "ssl_options",
        "ssl_context_factory",
        "insecure",
        "proxy_host",
        "proxy_port",
        "proxy_user",
        "proxy_password",
        "proxy",
        "proxy_ssl_options",
        "proxy_ssl_context",
        "connection_timeout",
        "network_timeout",
        "concurrency",
        "pool_timeout",
        "host",
        "port",
    }
)


def _proxy_url(
    scheme: str, host: str, port: int, user: Optional[str], password: Optional[str]
) -> str:
    """A proxy URL from its parts, credentials percent-encoded."""
    userinfo = ""
    if user is not None or password is not None:
        userinfo = f"{quote(user or '', safe='')}:{quote(password or '', safe='')}@"
    netloc = f"[{host}]" if ":" in host else host
    return f"{scheme}://{userinfo}{netloc}:{port}"


def capath_context_factory(capath: str) -> Callable[..., Any]:
    """An ``ssl_context_factory`` trusting the hashed certificates in ``capath``
    (requests' ``verify=<directory>``); the default bundle is not loaded. Also the
    requests adapter's (:mod:`geventhttpclient.contrib.requests`)."""
    import gevent.ssl

    def factory(cafile: Any = None) -> Any:
        return gevent.ssl.create_default_context(capath=capath)

    return factory


RequestsResponse = Response
"""2.x's name for :class:`Response`."""
RequestsRequest = PreparedRequest
"""2.x's name for :class:`PreparedRequest`."""


class Session:
    """Persistent settings and pooled keep-alive connections for many requests.

    Like ``requests.Session()`` it needs no arguments; its attributes can be set
    after construction and apply to the requests made after that: ``headers``
    (sent with every request; a request's own replace them, ``None`` removes one),
    ``cookies`` (a :class:`RequestsCookieJar`, updated from every response),
    ``auth``, ``params``, ``proxies``, ``verify``, ``cert``, ``trust_env``,
    ``max_redirects``, ``stream``, ``hooks``. Extensions: ``timeout`` (the default
    for requests that give none), ``max_retries``/``retry_delay`` (transport
    retries, as :class:`~geventhttpclient.useragent.UserAgent`; none by default),
    ``concurrency`` (connections per origin), ``pool_timeout``, ``max_clients``,
    and any other :class:`~geventhttpclient.client.HTTPClient` keyword argument
    (``block_size``, ``disable_ipv6``, ``limits``...).

    Close it (or use ``with``) to close its connections. Thread-unsafe, greenlet-safe.

    A session is built from parts, not from :class:`UserAgent` (2.x's Session was
    one): its loop is requests', its decisions are ``_policy``'s, its bodies are
    ``_bodies``'. 2.x's ``urlopen`` and ``download`` still work: they run on an
    agent that borrows the session's clients, headers and cookies.
    """

    accept_encoding = ACCEPT_ENCODING
    max_decompressed_size: Optional[int] = CompatResponse.max_decompressed_size
    max_encodings: int = CompatResponse.max_encodings
    max_retry_delay: float = MAX_RETRY_DELAY

    response_type: Any = Response
    request_type: Any = PreparedRequest

    _jar_per_call = False
    """True for the module-level functions' sessions: ``cookiejar`` is None and
    each call collects the cookies of its own redirects in a jar of its own."""
    _own_settings: Optional[Tuple[Any, ...]] = None
    _kept_tls: Optional[Tuple[_Settings, Optional[str], Tuple[Any, ...]]] = None
    _last_client: Optional[Tuple[Tuple[Any, ...], Dict[Any, HTTPClient], HTTPClient]] = None

    def __init__(
        self,
        *legacy_args: Any,
        headers: Any = None,
        cookies: Any = None,
        auth: Any = None,
        params: Any = None,
        proxies: Optional[Mapping[str, Any]] = None,
        verify: Union[bool, str, os.PathLike] = True,
        cert: Union[str, Tuple[str, str], None] = None,
        trust_env: bool = True,
        max_redirects: int = DEFAULT_MAX_REDIRECTS,
        stream: bool = False,
        timeout: Any = None,
        max_retries: int = 0,
        retry_delay: float = 0,
        concurrency: int = DEFAULT_CONCURRENCY,
        pool_timeout: Optional[float] = None,
        max_clients: int = MAX_CLIENTS,
        hooks: Optional[Mapping[str, Any]] = None,
        **client_kw: Any,
    ) -> None:
        if legacy_args:
            # 2.x's Session was a UserAgent: (max_redirects, max_retries, retry_delay,
            # cookiejar, headers) could be passed by position.
            names = ("max_redirects", "max_retries", "retry_delay", "cookiejar", "headers")
            if len(legacy_args) > len(names):
                raise TypeError(f"Session() takes at most {len(names)} positional arguments")
            given = dict(zip(names, legacy_args))
            max_redirects = given.get("max_redirects", max_redirects)
            max_retries = given.get("max_retries", max_retries)
            retry_delay = given.get("retry_delay", retry_delay)
            if "cookiejar" in given:
                client_kw["cookiejar"] = given["cookiejar"]
            headers = given.get("headers", headers)
        limits = {
            k: client_kw.pop(k)
            for k in ("max_decompressed_size", "max_encodings")
            if k in client_kw
        }
        legacy = _Legacy2x.take(client_kw)
        reserved = _RESERVED_CLIENT_KW.intersection(client_kw)
        if reserved:
            raise TypeError(
                f"Session() sets {', '.join(sorted(reserved))} itself: use verify=, cert=, "
                "proxies=, timeout=, concurrency= or pool_timeout= instead"
            )
        if cookies is None:
            cookies = legacy.cookiejar
        if legacy.insecure:
            verify = False
        if timeout is None and legacy.timeouts is not None:
            timeout = legacy.timeouts
        if proxies is None and legacy.proxy is not None:
            proxies = {"http": legacy.proxy, "https": legacy.proxy}
        auth = _check_auth(auth)
        self.max_redirects = int(max_redirects)
        self.max_retries = int(max_retries)
        self.retry_delay = retry_delay
        if "max_decompressed_size" in limits:
            self.max_decompressed_size = limits["max_decompressed_size"]
        if "max_encodings" in limits:
            self.max_encodings = int(limits["max_encodings"])
        self.cookiejar = _as_jar(cookies)
        self.default_headers = Headers(HTTPClient.DEFAULT_HEADERS)
        if self.accept_encoding:
            self.default_headers["Accept-Encoding"] = self.accept_encoding
        self.default_headers["Accept"] = "*/*"
        if headers:
            self.default_headers = _merge_headers(self.default_headers, headers)
        self.auth = auth
        self.params: Any = dict(params) if isinstance(params, Mapping) else params or {}
        self.proxies: Dict[str, Any] = dict(proxies or {})
        self.verify = verify
        self.cert = cert
        self.trust_env = trust_env
        self.stream = stream
        self.timeout = timeout
        _timeouts(timeout)  # refuse a bad default now, not at the first request
        self.concurrency = int(concurrency)
        self.pool_timeout = pool_timeout
        self.max_clients = int(max_clients)
        self.hooks: Dict[str, List[Callable[..., Any]]] = {"response": []}
        for event, fns in (hooks or {}).items():
            self.hooks.setdefault(event, []).extend(
                fns if isinstance(fns, (list, tuple)) else [fns]
            )
        self.client_kw = client_kw
        self._ssl_kw = legacy.ssl_kw
        self._clients: Dict[Tuple[Any, ...], HTTPClient] = {}

    # -- requests' attribute names over UserAgent's -------------------------------------------

    @property
    def headers(self) -> Headers:
        return self.default_headers

    @headers.setter
    def headers(self, value: Any) -> None:
        self.default_headers = value if isinstance(value, Headers) else Headers(value or {})

    @property
    def cookies(self) -> RequestsCookieJar:
        return self.cookiejar

    @cookies.setter
    def cookies(self, value: Any) -> None:
        self.cookiejar = _as_jar(value)

    # -- clients ---------------------------------------------------------------------------------

    def close(self, wait: Optional[float] = 0.0) -> None:
        """Close every connection: requests in flight (and streamed responses still
        being read) end with :class:`~geventhttpclient.exceptions.ClientClosed`.
        ``wait`` gives them that many seconds in all to finish first (``None``: as
        long as they take), blocking meanwhile. The session stays usable: a later
        request opens new connections."""
        clients, self._clients = self._clients, {}
        close_all(clients.values(), wait)

    def retire(self) -> None:
        """Let requests in flight and streamed responses finish, each connection
        closing when its response ends; returns at once. The session stays usable."""
        clients, self._clients = self._clients, {}
        for client in clients.values():
            client.retire()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- 2.x: a Session was a UserAgent -----------------------------------------------------------

    def urlopen(self, url: Union[str, URL], **kw: Any) -> Any:
        """2.x's :meth:`UserAgent.urlopen <geventhttpclient.useragent.UserAgent.urlopen>`
        on this session's clients, headers and cookies."""
        return _SessionAgent(self).urlopen(url, **kw)

    def download(self, url: Union[str, URL], fpath: Any, **kw: Any) -> Any:
        """2.x's :meth:`UserAgent.download <geventhttpclient.useragent.UserAgent.download>`
        on this session's clients, headers and cookies."""
        return _SessionAgent(self).download(url, fpath, **kw)

    def _merge_settings(self, verify: Any, cert: Any, proxies: Any, timeout: Any) -> _Settings:
        """The settings of one request: its own arguments over the session's.

        A request that gives none of them gets the session's own, kept from the
        previous such request while ``verify``, ``cert``, ``trust_env`` and
        ``timeout`` are the same objects (lists, which can change in place, are
        never kept) and ``proxies`` compares equal.
        """
        own = verify is None and cert is None and timeout is None and not proxies
        if own:
            kept = self._own_settings
            if (
                kept is not None
                and kept[0] is self.verify
                and kept[1] is self.cert
                and kept[2] is self.trust_env
                and kept[3] is self.timeout
                and kept[4] == self.proxies
            ):
                return kept[5]
        merged = dict(self.proxies)
        if proxies:
            merged.update(proxies)
        settings = _Settings(
            verify=self.verify if verify is None else verify,
            cert=self.cert if cert is None else cert,
            proxies=merged,
            trust_env=bool(self.trust_env),
            timeouts=_timeouts(self.timeout if timeout is None else timeout),
        )
        if own and not isinstance(self.cert, list) and not isinstance(self.timeout, list):
            snapshot = (self.verify, self.cert, self.trust_env, self.timeout, dict(merged))
            self._own_settings = snapshot + (settings,)
        return settings

    def _proxy_for(self, url: URL, settings: _Settings) -> Optional[ProxyConfig]:
        found, value = False, None
        if settings.proxies:
            found, value = select_proxy(url.scheme, url.host, settings.proxies)
        if not found and settings.trust_env:
            env = environ_proxies()
            if env:
                no_proxy = settings.proxies.get("no_proxy") or env.get("no")
                if not bypass_proxy(url.host, url.port, no_proxy):
                    found, value = select_proxy(url.scheme, url.host, env)
        return parse_proxy_url(value) if value else None

    def _tls_for(self, settings: _Settings) -> Tuple[Any, ...]:
        """A hashable description of the TLS settings (part of the client key),
        kept while the settings object and the CA bundle variable stay the same."""
        verify = settings.verify
        ca = None
        if verify is True and settings.trust_env:
            ca = getenv("REQUESTS_CA_BUNDLE") or getenv("CURL_CA_BUNDLE") or None
        kept = self._kept_tls
        if kept is not None and kept[0] is settings and kept[1] == ca:
            return kept[2]
        tls = self._describe_tls(settings, ca)
        self._kept_tls = (settings, ca, tls)
        return tls

    @staticmethod
    def _describe_tls(settings: _Settings, ca: Optional[str]) -> Tuple[Any, ...]:
        verify = settings.verify
        if verify is True:
            mode: Tuple[Any, ...] = ("verify", ca)
        elif verify is False:
            mode = ("insecure", None)
        elif isinstance(verify, (str, os.PathLike)):
            mode = ("verify", os.fspath(verify))
        else:
            raise TypeError(f"verify must be True, False or a CA bundle path, not {verify!r}")
        cert = settings.cert
        if cert is None:
            pair: Tuple[Any, Any] = (None, None)
        elif isinstance(cert, (str, os.PathLike)):
            pair = (os.fspath(cert), None)
        elif isinstance(cert, (tuple, list)) and len(cert) == 2:
            pair = (os.fspath(cert[0]), os.fspath(cert[1]) if cert[1] else None)
        else:
            raise TypeError(f"cert must be a path or a (cert, key) pair, not {cert!r}")
        return mode + pair

    def _client(self, url: URL, settings: _Settings) -> HTTPClient:
        """The client for ``url`` with ``settings`` (made on first use); the clients
        are kept in least-recent-use order, the oldest retired beyond
        :attr:`max_clients`."""
        scheme = url.scheme
        if (
            scheme == "http"
            and not settings.proxies
            and (not settings.trust_env or not environ_proxies())
        ):
            # The common case, spelled out: no proxy, no TLS.
            proxy = tls = None
            key: Tuple[Any, ...] = (scheme, url.host, url.port, None, None, settings.timeouts)
        else:
            key, proxy, tls = self._client_key(url, settings)
        clients = self._clients
        last = self._last_client
        if last is not None and last[1] is clients and last[0] == key:
            return last[2]  # the most recently used already: nothing to reorder
        client = clients.pop(key, None)
        if client is None:
            client = self._new_client(url, proxy, tls, settings.timeouts)
            while len(clients) >= max(1, self.max_clients):
                # retired, not closed: its requests in flight may finish
                clients.pop(next(iter(clients))).retire()
        clients[key] = client  # (re)inserted last: the dict is in least-recent-use order
        self._last_client = (key, clients, client)
        return client

    def _client_key(
        self, url: URL, settings: _Settings
    ) -> Tuple[Tuple[Any, ...], Optional[ProxyConfig], Optional[Tuple[Any, ...]]]:
        """The key of the client for ``url`` with ``settings``: everything that
        changes how a connection is made. Also the proxy and TLS settings in it."""
        scheme = url.scheme
        if scheme in UNIX_SCHEMES:  # a Unix socket: no proxy ever applies
            tls = self._tls_for(settings) if scheme == "https+unix" else None
            return (scheme, url.host, None, None, tls, settings.timeouts), None, tls
        if scheme not in ("http", "https"):
            raise InvalidURL(f"unsupported scheme {scheme!r} in {url}")
        proxy = self._proxy_for(url, settings)
        # verify= and cert= apply to an https:// proxy too, whatever the target.
        tls = (
            self._tls_for(settings)
            if scheme == "https" or (proxy is not None and proxy.scheme == "https")
            else None
        )
        return (url.scheme, url.host, url.port, proxy, tls, settings.timeouts), proxy, tls

    def _new_client(
        self,
        url: URL,
        proxy: Optional[ProxyConfig],
        tls: Optional[Tuple[Any, ...]],
        timeouts: Tuple[Optional[float], Optional[float]],
    ) -> HTTPClient:
        kw: Dict[str, Any] = dict(self.client_kw)
        # The process's DNS cache unless the caller chose (dns_cache=None or False
        # turns it off): a session serves many clients, often of few hosts.
        kw.setdefault("dns_cache", True)
        kw.update(
            concurrency=self.concurrency,
            pool_timeout=self.pool_timeout,
            connection_timeout=timeouts[0],
            network_timeout=timeouts[1],
        )
        if proxy is not None:
            kw["proxy"] = proxy
        if tls is not None:
            mode, ca, certfile, keyfile = tls
            options: Dict[str, Any] = dict(self._ssl_kw.get("ssl_options") or {})
            if self._ssl_kw.get("ssl_context_factory") is not None:
                kw["ssl_context_factory"] = self._ssl_kw["ssl_context_factory"]
            if ca is not None:
                if os.path.isdir(ca):
                    kw["ssl_context_factory"] = capath_context_factory(ca)
                elif os.path.isfile(ca):
                    options["ca_certs"] = ca
                else:
                    raise OSError(f"no CA bundle at {ca!r} (verify=)")
            if certfile is not None:
                options["certfile"] = certfile
                if keyfile is not None:
                    options["keyfile"] = keyfile
            # (for an http target, only the https:// proxy is verified with them)
            origin_tls = url.scheme in ("https", "https+unix")
            kw["ssl_options" if origin_tls else "proxy_ssl_options"] = options
            kw["insecure"] = mode == "insecure"
        if url.scheme in UNIX_SCHEMES:
            # http+unix://%2Fpath%2Fto.sock/...: the socket's path is the host
            kw["uds"] = unquote(url.host)
            return HTTPClient("localhost", ssl=url.scheme == "https+unix", **kw)
        return HTTPClient(url.host, port=url.port, ssl=url.scheme == "https", **kw)

    def _urlopen(self, request: Any) -> Any:
        """Send ``request`` once on the client for its URL and settings."""
        settings = getattr(request, "_settings", None) or self._settings_of(request)
        client = self._client(request.url_split, settings)
        return send_once(client, request, self.response_type)

    def _settings_of(self, request: Any) -> _Settings:
        """The settings :meth:`request` resolved for ``request`` (the session's own
        for a request made elsewhere, such as :meth:`urlopen`'s)."""
        settings = getattr(request, "_settings", None)
        return settings or self._merge_settings(None, None, None, None)

    def _sleep(self, seconds: float) -> None:
        """Wait between attempts (a hook, so tests and subclasses can see the delays)."""
        gevent.sleep(seconds)

    def _send(self, req: PreparedRequest) -> Response:
        """One hop, retried while ``max_retries`` allows and the policy agrees."""
        retry: Optional[Retry] = None  # made when an attempt fails: most never do
        while True:
            try:
                return self._urlopen(req)
            except Exception as e:
                # A gevent.Timeout or GreenletExit is a BaseException: never caught here.
                if retry is None:
                    retry = Retry(
                        total=self.max_retries,
                        backoff=float(self.retry_delay or 0),
                        max_backoff=float(self.max_retry_delay),
                    )
                if retry.attempt >= retry.total:
                    raise
                if not (is_transient(e) and may_resend(req.get_method(), e)):
                    raise
                if req.payload is not None and not req.rewind():
                    raise
                retry = retry.increment()
                delay = retry.delay()
                trace = self.client_kw.get("trace")
                if trace is not None:
                    trace(
                        "retry",
                        {"attempt": retry.attempt, "error": e, "delay": delay, "url": req.url},
                    )
                if delay > 0:
                    self._sleep(delay)

    # -- requests ---------------------------------------------------------------------------------

    def prepare_request(
        self,
        method: str,
        url: Union[str, URL],
        params: Any = None,
        data: Any = None,
        headers: Any = None,
        files: Any = None,
        auth: Any = None,
        json: Any = None,
    ) -> PreparedRequest:
        """The request as it will be sent: session headers, params and auth merged
        in, the body encoded."""
        if not isinstance(method, str):
            raise TypeError(f"method must be a str, not {type(method).__name__}")
        session_params = self.params
        if params is None:
            params = session_params or None
        elif isinstance(session_params, Mapping) and isinstance(params, Mapping):
            params = {**session_params, **params}
        elif isinstance(params, (Mapping, list, tuple)) and not params:
            params = session_params or None
        merged = _merge_headers(self.default_headers, headers)
        body = None
        if data is not None or files is not None or json is not None:
            body, content_type = encode_body(data, files, json, REQUESTS_LABELS)
            if content_type is not None and "content-type" not in merged:
                merged["Content-Type"] = content_type
        req = self.request_type(
            url, method=method.upper(), headers=merged, payload=body, params=params
        )
        if auth is None:
            auth = self.auth
        handler = None if auth is None else _resolve_auth(auth)
        split = req.url_split
        if handler is None and (split.user or split.password):
            handler = HTTPBasicAuth(split.user, split.password)
        if handler is not None:
            prepared = handler(req)
            if prepared is not None:
                req = prepared
        return req

    def request(
        self,
        method: str,
        url: Union[str, URL],
        params: Any = None,
        data: Any = None,
        headers: Any = None,
        cookies: Any = None,
        files: Any = None,
        auth: Any = None,
        timeout: Any = None,
        allow_redirects: bool = True,
        proxies: Optional[Mapping[str, Any]] = None,
        hooks: Optional[Mapping[str, Any]] = None,
        stream: Optional[bool] = None,
        verify: Union[bool, str, None] = None,
        cert: Union[str, Tuple[str, str], None] = None,
        json: Any = None,
    ) -> Response:
        """Send a request and return its :class:`Response`, following redirects.

        The arguments are requests': ``params`` (query, merged with
        :attr:`params`), ``data`` (form dict or pairs, str, bytes, file or
        iterable), ``json``, ``headers``, ``cookies`` (dict or jar, for this request
        only), ``files`` (multipart), ``auth`` (a pair or an auth callable such as
        :class:`HTTPBasicAuth`), ``timeout`` (seconds, or ``(connect, read)``),
        ``allow_redirects``, ``proxies``, ``hooks``, ``stream`` (leave the body
        unread), ``verify`` (bool or CA bundle path), ``cert`` (path or
        ``(cert, key)``). Anything else is a ``TypeError``: nothing is silently sent
        as a query parameter.
        """
        req = self.prepare_request(method, url, params, data, headers, files, auth, json)
        req._settings = self._merge_settings(verify, cert, proxies, timeout)
        stream = self.stream if stream is None else stream
        all_hooks = self._hooks(hooks) if hooks or self.hooks.get("response") else ()
        extra_cookies = self._request_cookies(cookies, req) if cookies is not None else None
        jar = self.cookiejar
        jar_per_call = self._jar_per_call
        origin = _origin(req.url_split) if extra_cookies else None
        history: List[Response] = []
        resp: Optional[Response] = None
        try:
            while True:
                if extra_cookies:
                    same_origin = _origin(req.url_split) == origin
                    self._set_cookie_header(req, extra_cookies if same_origin else None, jar)
                elif jar is not None and not jar_adds_nothing(jar):
                    self._set_cookie_header(req, None, jar)
                started = time.monotonic()
                resp = self._send(req)
                if not isinstance(resp, Response):  # a response_type of the caller's own
                    resp.elapsed = timedelta(seconds=time.monotonic() - started)
                apply_limits(resp, self.max_decompressed_size, self.max_encodings)
                if jar is not None or jar_per_call:
                    jar = self._store_cookies(jar, resp, req)
                for hook in all_hooks:
                    replaced = hook(resp)
                    if replaced is not None:
                        resp = replaced
                if not (allow_redirects and resp.is_redirect):
                    break
                if len(history) >= self.max_redirects:
                    error = TooManyRedirects(req.url, f"Exceeded {self.max_redirects} redirects")
                    annotate(error, response=resp, request=req)
                    resp.history = list(history)
                    self._drain(resp)
                    resp = None
                    raise error
                self._drain(resp)
                resp.request = req.copy()  # the live request moves on to the next hop
                history.append(resp)
                location = resp.headers.get("location")
                if isinstance(location, list):
                    location = location[0]
                trace = self.client_kw.get("trace")
                if trace is not None:
                    trace(
                        "redirect",
                        {"status_code": resp.status_code, "location": location, "url": req.url},
                    )
                req.redirect(resp.status_code, location)
                resp = None
            if history:
                resp.history = history
            if not stream:
                _ = resp.content  # reads the body and gives the connection back
            return resp
        except BaseException:
            if resp is not None:
                resp.release()
            raise

    def _hooks(self, hooks: Optional[Mapping[str, Any]]) -> Sequence[Callable[..., Any]]:
        own = self.hooks.get("response")
        extra = hooks.get("response") if hooks else None
        if not own and not extra:
            return ()
        fns = list(own or ())
        if extra:
            fns.extend(extra if isinstance(extra, (list, tuple)) else [extra])
        return fns

    def _store_cookies(self, jar: Any, resp: Response, req: PreparedRequest) -> Any:
        """Let ``jar`` take the cookies ``resp`` sets; returns the jar the next hop
        uses (the same one: a module-level call makes its own on the first
        ``Set-Cookie``). Any response with ``info()`` will do for the jar."""
        if jar is None:
            if not self._jar_per_call or sets_no_cookie(_UNMADE_JAR, resp):
                return None
            jar = RequestsCookieJar()
        elif sets_no_cookie(jar, resp):
            return jar
        jar.extract_cookies(resp, req)
        return jar

    @staticmethod
    def _request_cookies(cookies: Any, req: PreparedRequest) -> List[Tuple[str, str]]:
        """``(name, "name=value")`` for a request's own ``cookies=``."""
        if isinstance(cookies, CookieJar):
            probe = PreparedRequest(req.url)
            cookies.add_cookie_header(probe)
            return _cookie_pairs(probe.headers.get("cookie"))
        out = []
        for name, value in dict(cookies).items():
            if value is not None:
                out.append((str(name), f"{name}={value}"))
        return out

    def _set_cookie_header(
        self, req: PreparedRequest, extra: Optional[List[Tuple[str, str]]], jar: Any
    ) -> None:
        """``Cookie`` for this hop: ``jar``'s, then the request's own (winning by
        name). A ``Cookie`` the caller set is left alone; redirects drop it, as
        requests does."""
        if "cookie" in req.headers:
            return
        if jar is not None and not jar_adds_nothing(jar):
            jar.add_cookie_header(req)
        if extra:
            merged = dict(_cookie_pairs(req.headers.get("cookie")))
            merged.update(extra)
            req.headers["Cookie"] = "; ".join(merged.values())

    @staticmethod
    def _drain(resp: Response) -> None:
        """Read a redirect's body (kept as its ``content``) when it is short, so the
        connection can be reused; release a long one (its ``content`` is then b"")."""
        resp.drain(keep=True)

    # -- verbs ----------------------------------------------------------------------------------

    def get(self, url: Union[str, URL], params: Any = None, **kw: Any) -> Response:
        return self.request("GET", url, params=params, **kw)  # redirects followed

    def options(self, url: Union[str, URL], **kw: Any) -> Response:
        kw.setdefault("allow_redirects", True)
        return self.request("OPTIONS", url, **kw)

    def head(self, url: Union[str, URL], **kw: Any) -> Response:
        """HEAD does not follow redirects unless ``allow_redirects=True`` (requests)."""
        kw.setdefault("allow_redirects", False)
        return self.request("HEAD", url, **kw)

    def post(self, url: Union[str, URL], data: Any = None, json: Any = None, **kw: Any) -> Response:
        return self.request("POST", url, data=data, json=json, **kw)

    def put(self, url: Union[str, URL], data: Any = None, **kw: Any) -> Response:
        return self.request("PUT", url, data=data, **kw)

    def patch(self, url: Union[str, URL], data: Any = None, **kw: Any) -> Response:
        return self.request("PATCH", url, data=data, **kw)

    def delete(self, url: Union[str, URL], **kw: Any) -> Response:
        return self.request("DELETE", url, **kw)

    def __repr__(self) -> str:
        return f"<Session clients={len(self._clients)}>"


class _SessionAgent(UserAgent):
    """The :class:`UserAgent` behind :meth:`Session.urlopen` and
    :meth:`Session.download`: the session's settings, clients and cookie jar, its
    response type, and no status check (2.x's Session accepted every status)."""

    def __init__(self, session: Session) -> None:
        self.response_type = session.response_type
        super().__init__(
            max_redirects=session.max_redirects,
            max_retries=session.max_retries,
            retry_delay=session.retry_delay,
            cookiejar=session.cookiejar,
            headers=session.headers,
            max_decompressed_size=session.max_decompressed_size,
            max_encodings=session.max_encodings,
        )
        self._session = session

    def _verify_status(self, status_code: int, url: Any = None) -> None:
        pass

    def _urlopen(self, request: Any) -> Any:
        session = self._session
        settings = session._merge_settings(None, None, None, None)
        return self._send_on(session._client(request.url_split, settings), request)
