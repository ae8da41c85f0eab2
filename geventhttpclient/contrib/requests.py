"""requests on geventhttpclient: a transport adapter, no monkey-patching.

    pip install "geventhttpclient[requests]"

    import requests
    from geventhttpclient.contrib.requests import GeventAdapter

    session = requests.Session()
    adapter = GeventAdapter(pool_maxsize=100)    # connections per origin
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    r = session.get("https://api.example/items", timeout=(3, 10))

Theory of operation
-------------------
A requests ``Session`` keeps everything that is requests' own: preparing the
request (params, bodies, auth, the ``PreparedRequest``), cookies, redirects (it asks
the adapter for one hop at a time), hooks, ``REQUESTS_CA_BUNDLE`` and the proxy
environment variables. An adapter gets one prepared request with the transport
settings (``stream``, ``timeout``, ``verify``, ``cert``, ``proxies``) and returns a
``requests.Response``. :class:`GeventAdapter` sends that request through
:class:`~geventhttpclient.client.HTTPClient`, the engine's client for one origin,
and builds the response as requests' own ``HTTPAdapter`` does (status, headers in a
``CaseInsensitiveDict``, ``encoding``, ``reason``, ``url``, cookies into
``response.cookies``, ``request``, ``connection``).

An ``HTTPClient`` takes its TLS settings, proxy and timeouts when it is made, so the
adapter keeps one client per *(origin, proxy, verify, cert, connect timeout, read
timeout)* (:class:`ClientKey`): a connection opened with ``verify=False``, a client
certificate or another proxy never carries a request that asked for something else.
``pool_maxsize`` is each client's number of connections and ``pool_connections`` the
number of clients kept, as requests' names mean for urllib3's pools; a client beyond
it is retired, least recently used first (its requests in flight finish, then its
connections close). Unlike urllib3's default (``pool_block=False``, which opens
extra connections and throws them away), a greenlet that finds every connection of
its origin busy waits for one (``pool_block`` is taken for ``HTTPAdapter``'s
signature and changes nothing): give ``pool_maxsize`` the concurrency you run at.

``response.raw`` is a :class:`GeventRawResponse`, the file-like object requests reads
the body from. requests calls ``raw.stream(n, decode_content=True)`` and counts on it
to undo the content coding (gzip, deflate, and br and zstd where their packages are
installed, as the engine supports), so it does. With ``stream=False`` the adapter
reads the whole body before ``send`` returns, and the connection is back in its pool
by then; ``raw`` then holds the decoded body, which requests reads as ``content``
right away. With ``stream=True`` nothing of the body is read until asked for:
``raw.stream()`` (``iter_content``, ``iter_lines``) yields pieces as they arrive,
never waiting to fill a larger one (an event stream is not held back); the connection
goes back to its pool when the body has been read to its end, and
``response.close()`` before that closes it. As with urllib3, ``raw.read()`` gives
the body as sent (encoded) unless ``decode_content=True`` is passed or set on
``raw``.

Errors are requests' classes, each raised ``from`` the engine's error (its
``__cause__``), for errors until the response head:

* ``ConnectTimeout`` for our ``ConnectTimeout`` and ``PoolTimeout`` (no connection
  in time: requests' class is also a ``ConnectionError``, safe to retry);
* ``ReadTimeout`` for our ``ReadTimeout`` (no response head in time);
* ``SSLError`` for ``TLSError``;
* ``ProxyError`` for ``ProxyError`` and its subclasses (the CONNECT refused, a
  SOCKS proxy refusing the connection or the credentials, a malformed SOCKS
  reply), and for any other failure to connect when the request goes through a
  proxy, as urllib3 reports it (requests' ``ProxyError`` is a ``ConnectionError``,
  which its own SOCKS support raises);
* ``ConnectionError`` for the rest of ``ConnectError`` (refused, DNS, unreachable),
  ``NetworkError``, ``ProtocolError`` (a malformed response) and ``PoolClosed``;
* ``InvalidURL`` for ``InvalidURL``, ``InvalidHeader`` for ``HeaderInjectionError``,
  ``RequestException`` for any other ``RequestError`` (a body that cannot be framed);

and while the body is read: ``DecodingError`` is ``ContentDecodingError``, a body cut
short or malformed is ``ChunkedEncodingError``, a ``TLSError`` is ``SSLError`` and a
read timeout is :class:`BodyReadTimeout`, which is both requests' ``ConnectionError``
(what requests raises there) and its ``ReadTimeout`` (what a caller who set one
expects). A URL scheme other than http and https, or a proxy scheme other than
those below, is ``InvalidSchema``. A certificate an https proxy presents and
``verify`` refuses is ``SSLError``, as one of the origin's. A caller's own
``gevent.Timeout`` and ``GreenletExit`` pass through untouched.

``max_retries`` (an int, 0 by default as in requests) sends a request again when
its connection could not be made (refused, unreachable, DNS, connect timeout):
nothing was sent, so every method may be retried, which is what requests' own
``max_retries`` does; never once the request went out. Besides, the engine sends an
idempotent request once more on a fresh connection when a kept-alive connection turns
out closed before any byte of the response (see :mod:`geventhttpclient.client`).
urllib3 ``Retry`` objects (status retries, backoff) are not supported.

``verify=True`` checks certificates against certifi's bundle (requests' default),
``verify="path"`` against a CA bundle file or a directory of hashed certificates,
``verify=False`` not at all; ``cert`` is a file with certificate and key, or a
``(cert, key)`` pair.

Proxies are picked with ``requests.utils.select_proxy`` as ``HTTPAdapter`` does, from
``proxies=`` and the session's, and from the environment (``HTTP_PROXY``,
``HTTPS_PROXY``, ``ALL_PROXY``, ``NO_PROXY``), which requests reads before it calls
the adapter. Every scheme of :data:`PROXY_SCHEMES`, credentials in the URL
(percent-encoded): ``http://`` (absolute-form requests for http URLs, a ``CONNECT``
tunnel for https ones), ``https://`` (the same over TLS to the proxy, verified as
``verify`` says, for http URLs too; the client certificate of ``cert`` is for the
origin only), ``socks5://`` and ``socks4://`` (we resolve the name),
``socks5h://`` and ``socks4a://`` (the proxy does), all without PySocks.

Unix domain sockets, two ways, proxies unused for both: ``http+unix://`` and
``https+unix://`` URLs name the socket's path, percent-encoded, as their host
(``http+unix://%2Fvar%2Frun%2Fdocker.sock/v1.43/info``, as requests-unixsocket and
our :meth:`~geventhttpclient.HTTPClient.from_url` spell it; ``Host: localhost``):
mount the adapter for them with ``session.mount("http+unix://", adapter)``. Or
``GeventAdapter(uds=path)``: every request of that adapter goes to the socket, the
URL's host naming the server in ``Host`` (mount it for the URLs that mean it).
"""

from __future__ import annotations

import os
from typing import (
    Any,
    Dict,
    Iterator,
    List,
    Mapping,
    NamedTuple,
    Optional,
    Tuple,
    Union,
    cast,
)
from urllib.parse import unquote, urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.cookies import extract_cookies_to_jar
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers, prepend_scheme_if_needed, select_proxy

from .. import exceptions as ghc
from ..client import PROXY_SCHEMES, HTTPClient, close_all, retire_least_recent
from ..requests import Response as _DecodedBody
from ..requests import capath_context_factory
from ..url import UNIX_SCHEMES
from ..useragent import apply_limits

__all__ = [
    "GeventAdapter",
    "GeventRawResponse",
    "BodyReadTimeout",
    "ClientKey",
    "PROXY_SCHEMES",
    "timeouts",
]

DEFAULT_POOLSIZE = 10
"""requests' default for ``pool_connections`` and ``pool_maxsize``."""

DEFAULT_MAX_DECOMPRESSED_SIZE: Optional[int] = _DecodedBody.max_decompressed_size
"""The most bytes one response body may decode to (the engine's default, 64 MiB): a
few kilobytes of gzip must not be able to take a load generator down. requests sets
no bound; pass ``max_decompressed_size=None`` for none."""

_BLOCK = 65536
"""Bytes asked of the connection at a time when the body is read as it arrives."""

_RESERVED = frozenset(
    {
        "ssl",
        "ssl_options",
        "insecure",
        "proxy",
        "proxy_host",
        "proxy_port",
        "proxy_user",
        "proxy_password",
        "proxy_ssl_options",
        "proxy_ssl_context",
        "concurrency",
        "connection_timeout",
        "network_timeout",
    }
)
"""``HTTPClient`` keywords the adapter sets per request from requests' arguments."""


class BodyReadTimeout(requests.exceptions.ConnectionError, requests.exceptions.ReadTimeout):
    """The server sent nothing for the read timeout while the body was read.

    requests (through urllib3) raises ``ConnectionError`` there, a caller who set a
    read timeout catches ``ReadTimeout`` (or ``Timeout``): this is both."""


class ClientKey(NamedTuple):
    """What one of the adapter's clients is for: the requests that may share its
    connections. ``proxy`` is the proxy URL without its password; ``uds`` the Unix
    socket the connections go to instead of the origin's address."""

    origin: str
    proxy: Optional[str]
    verify: Union[bool, str]
    cert: Optional[Tuple[str, Optional[str]]]
    timeout: Tuple[Optional[float], Optional[float]]
    uds: Optional[str] = None


class _ProxySpec(NamedTuple):
    url: str  # without the password: for ClientKey
    full: str  # with it (percent-encoded as given): our client's proxy=
    scheme: str
    password: Optional[str]


def _seconds(value: Any, what: str) -> Optional[float]:
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"Timeout value {what} was {value!r}, but it must be a number or None")
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise ValueError(
            f"Timeout value {what} was {value!r}, but it must be an int, float or None."
        ) from None
    if seconds < 0 or seconds != seconds:
        raise ValueError(f"Timeout value {what} was {value!r}, but it must be >= 0")
    return seconds


def timeouts(timeout: Any) -> Tuple[Optional[float], Optional[float]]:
    """``(connect, read)`` seconds from requests' ``timeout``: None, a number for
    both, a ``(connect, read)`` pair, or urllib3's ``Timeout`` (requests'
    ``TimeoutSauce``; a part it leaves at urllib3's default is None, no limit, as the
    socket default is). Raises ``ValueError`` as ``HTTPAdapter``."""
    if isinstance(timeout, tuple):
        try:
            connect, read = timeout
        except ValueError:
            raise ValueError(
                f"Invalid timeout {timeout}. Pass a (connect, read) timeout tuple, "
                f"or a single float to set both timeouts to the same value."
            ) from None
        return _seconds(connect, "connect"), _seconds(read, "read")
    if hasattr(timeout, "connect_timeout") and hasattr(timeout, "read_timeout"):
        connect, read = timeout.connect_timeout, timeout.read_timeout
        return (
            _seconds(connect, "connect") if isinstance(connect, (int, float)) else None,
            _seconds(read, "read") if isinstance(read, (int, float)) else None,
        )
    seconds = _seconds(timeout, "total")
    return seconds, seconds


def _proxy_spec(proxy: str) -> _ProxySpec:
    proxy = prepend_scheme_if_needed(proxy, "http")
    parts = urlsplit(proxy)
    scheme = parts.scheme.lower()
    if scheme not in PROXY_SCHEMES:
        raise requests.exceptions.InvalidSchema(
            f"proxy {parts.scheme}://{parts.hostname or ''}: GeventAdapter takes "
            + ", ".join(f"{s}://" for s in PROXY_SCHEMES)
            + " proxies"
        )
    try:
        port = parts.port or PROXY_SCHEMES[scheme]
    except ValueError as exc:
        raise requests.exceptions.InvalidProxyURL(f"invalid proxy URL {proxy!r}: {exc}") from exc
    host = parts.hostname
    if not host:
        raise requests.exceptions.InvalidProxyURL(
            "Please check proxy URL. It is malformed and could be missing the host."
        )
    netloc = f"[{host}]" if ":" in host else host
    user = f"{parts.username}@" if parts.username else ""
    shown = f"{scheme}://{user}{netloc}:{port}"
    if parts.password is not None:
        user = f"{parts.username or ''}:{parts.password}@"
    full = f"{scheme}://{user}{netloc}:{port}"
    return _ProxySpec(shown, full, scheme, parts.password)


def _tls_settings(
    verify: Any, cert: Any
) -> Tuple[Union[bool, str], Optional[Tuple[str, Optional[str]]]]:
    """``verify`` and ``cert`` checked as ``HTTPAdapter.cert_verify`` does: a path
    that does not exist is an ``OSError`` with requests' words."""
    if verify is not True and verify is not False:
        if not isinstance(verify, (str, os.PathLike)):
            verify = bool(verify)
        else:
            verify = os.fspath(verify)
            if not os.path.exists(verify):
                raise OSError(
                    f"Could not find a suitable TLS CA certificate bundle, invalid path: {verify}"
                )
    pair: Optional[Tuple[str, Optional[str]]] = None
    if cert:
        if isinstance(cert, (tuple, list)):
            certfile, keyfile = os.fspath(cert[0]), os.fspath(cert[1])
        else:
            certfile, keyfile = os.fspath(cert), None
        if not os.path.exists(certfile):
            raise OSError(f"Could not find the TLS certificate file, invalid path: {certfile}")
        if keyfile is not None and not os.path.exists(keyfile):
            raise OSError(f"Could not find the TLS key file, invalid path: {keyfile}")
        pair = (certfile, keyfile)
    return verify, pair


def _send_error(exc: Exception, request: Any, proxied: bool) -> Exception:
    """requests' exception for an engine error raised before the response head."""
    rexc = requests.exceptions
    kind: Any
    if isinstance(exc, (ghc.ConnectTimeout, ghc.PoolTimeout)):
        kind = rexc.ConnectTimeout
    elif isinstance(exc, ghc.TimeoutError):
        kind = rexc.ReadTimeout
    elif isinstance(exc, ghc.TLSError):
        kind = rexc.SSLError
    elif isinstance(exc, ghc.ProxyError) or (proxied and isinstance(exc, ghc.ConnectError)):
        kind = rexc.ProxyError
    elif isinstance(exc, ghc.InvalidURL):
        kind = rexc.InvalidURL
    elif isinstance(exc, ghc.HeaderInjectionError):
        kind = rexc.InvalidHeader
    elif isinstance(exc, ghc.RequestError):
        kind = rexc.RequestException
    elif isinstance(exc, (ghc.NetworkError, ghc.ProtocolError, ghc.PoolClosed, OSError)):
        kind = rexc.ConnectionError
    else:
        return exc
    return kind(exc, request=request)  # type: ignore[no-any-return,unused-ignore]


def _body_error(exc: Exception, request: Any) -> Exception:
    """requests' exception for an engine error while the body is read (what
    ``Response.iter_content`` raises for urllib3's)."""
    rexc = requests.exceptions
    kind: Any
    if isinstance(exc, ghc.DecodingError):
        kind = rexc.ContentDecodingError
    elif isinstance(exc, ghc.TimeoutError):
        kind = BodyReadTimeout
    elif isinstance(exc, ghc.TLSError):
        kind = rexc.SSLError
    elif isinstance(exc, (ghc.NetworkError, ghc.ProtocolError, OSError)):
        kind = rexc.ChunkedEncodingError
    else:
        return exc
    return kind(exc, request=request)  # type: ignore[no-any-return,unused-ignore]


class _Cookies:
    """``raw._original_response`` for :func:`requests.cookies.extract_cookies_to_jar`,
    which reads the ``Set-Cookie`` fields from its ``msg`` (our ``Headers`` has the
    ``get_all`` that :mod:`http.cookiejar` calls)."""

    __slots__ = ("msg",)

    def __init__(self, headers: Any) -> None:
        self.msg = headers


class GeventRawResponse:
    """``response.raw``: the body as requests reads it, and urllib3's response names
    that code reaching for ``raw`` uses (``status``, ``reason``, ``headers``,
    ``version``, ``read``, ``stream``, ``close``, ``release_conn``, ``closed``).

    ``read(amt)`` blocks until ``amt`` bytes or the end, as a file; ``stream(amt)``
    yields pieces of at most ``amt`` bytes as they arrive. Both give the body as sent
    unless ``decode_content`` (the argument, else the attribute) is true; requests
    always asks for it decoded. Do not mix decoded and undecoded reads of one body.
    ``timings`` is the engine's :class:`~geventhttpclient.timings.Timings`.
    """

    decode_content = False
    """Whether ``read()``/``stream()`` decode by default (urllib3's attribute; requests'
    adapter leaves it False)."""

    def __init__(
        self,
        ghc_response: Any,
        request: Any = None,
        max_decompressed_size: Optional[int] = DEFAULT_MAX_DECOMPRESSED_SIZE,
    ) -> None:
        self._ghc = ghc_response
        self._request = request
        self._max_size = max_decompressed_size
        # Received and not yet returned: one piece and the offset into it, so that
        # small reads of a large piece copy only what they return.
        self._pending = b""
        self._off = 0
        self._drained = False  # every piece has been taken from the connection
        self._closed = False
        self._pieces: Optional[Iterator[bytes]] = None  # decoded pieces, as they come
        self._block: Optional[bytearray] = None
        self._encoded = bool(ghc_response.has_field("content-encoding"))
        self.status: int = ghc_response.status_code
        self.reason: str = ghc_response.status_message
        self.headers: Any = ghc_response.headers
        self._original_response = (
            _Cookies(self.headers) if ghc_response.has_field("set-cookie", "set-cookie2") else None
        )

    # -- head ------------------------------------------------------------------------

    @property
    def version(self) -> int:
        """11 or 10, as ``http.client`` and urllib3 give it."""
        return 10 if self._ghc.version == "HTTP/1.0" else 11

    @property
    def version_string(self) -> str:
        return str(self._ghc.version)

    @property
    def timings(self) -> Any:
        return self._ghc.timings

    def info(self) -> Any:
        return self.headers

    def getheader(self, name: str, default: Any = None) -> Any:
        values = self.headers.getlist(name)
        return ", ".join(values) if values else default

    # -- body ------------------------------------------------------------------------

    def read_all(self) -> None:
        """Read and decode the whole body now (the connection goes back to its pool);
        later reads take it from memory. Raises requests' body errors."""
        ghc_response = self._ghc
        try:
            if self._encoded:
                body = self._decoder().content
            else:
                body = ghc_response.read()
        except Exception as exc:
            ghc_response.release()
            raise _body_error(exc, self._request) from exc
        self._pending, self._off, self._drained = body, 0, True

    def _decoder(self) -> Any:
        body = _DecodedBody(self._ghc)
        apply_limits(body, self._max_size, body.max_encodings)
        return body

    def _fill(self, decode: bool) -> bool:
        """Take the next piece of the body as it arrives (decoded, or as sent) into
        ``_pending``, which is empty; False at the end."""
        if self._drained:
            return False
        if decode and self._encoded:
            if self._pieces is None:
                self._pieces = self._decoder().iter_content(None)
            piece = next(self._pieces, b"")
        else:
            block = self._block
            if block is None:
                block = self._block = bytearray(_BLOCK)
            n = self._ghc.readinto(block)
            piece = bytes(block[:n]) if n < _BLOCK else bytes(block)
        if not piece:
            self._drained = True
            return False
        self._pending, self._off = piece, 0
        return True

    def _take(self, amt: Optional[int]) -> bytes:
        """Up to ``amt`` bytes (all if None) of ``_pending``."""
        pending, off = self._pending, self._off
        if amt is None or off + amt >= len(pending):
            self._pending, self._off = b"", 0
            return pending[off:] if off else pending
        self._off = off + amt
        return pending[off : off + amt]

    def read(self, amt: Optional[int] = None, decode_content: Optional[bool] = None) -> bytes:
        """Up to ``amt`` bytes of the body (all of the rest if None); b"" at the end.
        Blocks until ``amt`` bytes are there or the body ends."""
        decode = self.decode_content if decode_content is None else decode_content
        if amt is not None and amt < 0:
            amt = None
        try:
            if not self._drained and self._off >= len(self._pending):
                if not (decode and self._encoded):
                    data: bytes = self._ghc.read(amt)
                    if amt is None or (amt and not data):
                        self._drained = True
                    return data
            parts: List[bytes] = []
            need = amt
            while need is None or need > 0:
                if self._off >= len(self._pending) and not self._fill(decode):
                    break
                piece = self._take(need)
                parts.append(piece)
                if need is not None:
                    need -= len(piece)
            return parts[0] if len(parts) == 1 else b"".join(parts)
        except Exception as exc:
            self._ghc.release()
            raise _body_error(exc, self._request) from exc

    def stream(
        self, amt: Optional[int] = 2**16, decode_content: Optional[bool] = None
    ) -> Iterator[bytes]:
        """The body in pieces of at most ``amt`` bytes (None: as they arrive), each
        yielded as soon as it is there. Stopping early leaves the rest unread:
        ``close()`` then closes the connection."""
        decode = self.decode_content if decode_content is None else decode_content
        if amt is not None and amt <= 0:
            amt = None
        try:
            while True:
                if self._off >= len(self._pending) and not self._fill(decode):
                    return
                yield self._take(amt)
        except Exception as exc:
            self._ghc.release()
            raise _body_error(exc, self._request) from exc

    def __iter__(self) -> Iterator[bytes]:
        return self.stream(decode_content=self.decode_content)

    def readinto(self, b: Any) -> int:
        view = memoryview(b).cast("B")
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)

    def readable(self) -> bool:
        return True

    # -- the connection ----------------------------------------------------------------

    @property
    def closed(self) -> bool:
        """True once the body has been read to its end or the response was closed."""
        return self._closed or (self._drained and self._off >= len(self._pending))

    def isclosed(self) -> bool:
        return self.closed

    def close(self) -> None:
        """Be done with the body: the connection goes back to its pool if the body
        was read to its end, else it is closed."""
        self._closed = True
        pieces, self._pieces = self._pieces, None
        if pieces is not None:
            pieces.close()  # type: ignore[attr-defined]
        self._ghc.release()

    release_conn = close

    def __enter__(self) -> GeventRawResponse:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<GeventRawResponse [{self.status}]>"


class GeventAdapter(BaseAdapter):
    """A requests transport adapter sending through geventhttpclient's pools.

    ``pool_connections``: how many clients (one per origin and transport settings,
    see :class:`ClientKey`) are kept; ``pool_maxsize``: connections per client;
    ``max_retries``: an int, see the module docstring; ``pool_block`` is taken for
    ``HTTPAdapter``'s signature and changes nothing: a request always waits for one of
    the ``pool_maxsize`` connections (urllib3's ``pool_block=True``), never opens one
    more; ``pool_timeout``: seconds a request may wait for a free connection (None: as
    long as it takes);
    ``max_decompressed_size``: bound on a decoded body (None: no bound); ``uds``: a
    Unix domain socket path every request goes to, proxies unused. Any other
    keyword goes to every :class:`~geventhttpclient.client.HTTPClient` made
    (``block_size``, ``disable_ipv6``, ``limits``, ``trace``, ``resolve``,
    ``dns_cache``, ``keepalive_expiry``...); the adapter sets TLS, proxy, timeouts and
    ``concurrency`` itself.

    Greenlet-safe. ``close()`` (requests' ``Session.close()`` calls it) closes every
    connection.
    """

    def __init__(
        self,
        pool_connections: int = DEFAULT_POOLSIZE,
        pool_maxsize: int = DEFAULT_POOLSIZE,
        max_retries: int = 0,
        pool_block: bool = False,
        *,
        pool_timeout: Optional[float] = None,
        max_decompressed_size: Optional[int] = DEFAULT_MAX_DECOMPRESSED_SIZE,
        uds: Optional[str] = None,
        **client_kw: Any,
    ) -> None:
        super().__init__()
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise TypeError(
                f"max_retries must be an int >= 0, not {max_retries!r} (urllib3 Retry "
                "objects are not supported)"
            )
        if pool_connections < 1 or pool_maxsize < 1:
            raise ValueError("pool_connections and pool_maxsize must be at least 1")
        reserved = _RESERVED.intersection(client_kw)
        if reserved:
            raise TypeError(
                f"GeventAdapter sets {', '.join(sorted(reserved))} itself, from requests' "
                "verify, cert, proxies and timeout"
            )
        client_kw.setdefault("dns_cache", True)  # many clients, often of few hosts
        self.pool_connections = pool_connections
        self.pool_maxsize = pool_maxsize
        self.max_retries = max_retries
        self.pool_block = pool_block
        self.pool_timeout = pool_timeout
        self.max_decompressed_size = max_decompressed_size
        self.uds = uds
        """The Unix domain socket every request goes to, or None (TCP)."""
        self.client_kw = client_kw
        self._clients: Dict[Tuple[ClientKey, Optional[str]], HTTPClient] = {}
        self.evicted = 0
        """Clients retired to stay within ``pool_connections``."""

    def __getstate__(self) -> Dict[str, Any]:
        """The settings, not the clients: requests pickles a ``Session`` with its
        adapters (``HTTPAdapter`` leaves its pools out the same way)."""
        state = dict(self.__dict__)
        state["_clients"] = {}
        state["evicted"] = 0
        return state

    def __setstate__(self, state: Dict[str, Any]) -> None:
        self.__dict__.update(state)

    # -- clients -----------------------------------------------------------------------

    def _client(
        self,
        scheme: str,
        host: str,
        port: int,
        uds: Optional[str],
        proxy: Optional[_ProxySpec],
        verify: Union[bool, str],
        cert: Optional[Tuple[str, Optional[str]]],
        timeout: Tuple[Optional[float], Optional[float]],
    ) -> HTTPClient:
        tls = scheme == "https"
        netloc = f"[{host}]" if ":" in host else host
        key = ClientKey(
            f"{scheme}://{netloc}:{port}",
            proxy.url if proxy is not None else None,
            verify,
            cert,
            timeout,
            uds,
        )
        full = (key, proxy.password if proxy is not None else None)
        clients = self._clients
        client = clients.pop(full, None)
        if client is None:
            client = self._new_client(host, port, tls, uds, proxy, verify, cert, timeout)
            if len(clients) >= self.pool_connections:
                self._evict()
        clients[full] = client  # the most recently used last
        return client

    def _new_client(
        self,
        host: str,
        port: int,
        tls: bool,
        uds: Optional[str],
        proxy: Optional[_ProxySpec],
        verify: Union[bool, str],
        cert: Optional[Tuple[str, Optional[str]]],
        timeout: Tuple[Optional[float], Optional[float]],
    ) -> HTTPClient:
        kw: Dict[str, Any] = dict(self.client_kw)
        kw.update(
            concurrency=self.pool_maxsize,
            pool_timeout=self.pool_timeout,
            connection_timeout=timeout[0],
            network_timeout=timeout[1],
        )
        tls_proxy = proxy is not None and proxy.scheme == "https"
        if uds is not None:
            kw["uds"] = uds
        if proxy is not None:
            kw["proxy"] = proxy.full
        if tls or tls_proxy:
            # One verify setting for the origin and an https proxy (our client
            # applies the factory and insecure to both); the certificate is the
            # origin's.
            trust: Dict[str, Any] = {}
            if isinstance(verify, str):
                if os.path.isdir(verify):
                    kw["ssl_context_factory"] = capath_context_factory(verify)
                else:
                    trust["ca_certs"] = verify
            kw["insecure"] = verify is False
            if tls_proxy:
                kw["proxy_ssl_options"] = dict(trust)
            if tls:
                options = dict(trust)
                if cert is not None:
                    options["certfile"] = cert[0]
                    if cert[1] is not None:
                        options["keyfile"] = cert[1]
                kw["ssl_options"] = options
        return HTTPClient(host, port=port, ssl=tls, **kw)

    def _evict(self) -> None:
        """Retire least recently used clients that nobody waits for, until there is
        room for one more (as :class:`~geventhttpclient.client.HTTPClientPool`)."""
        self.evicted += retire_least_recent(self._clients, self.pool_connections)

    def statistics(self) -> Dict[ClientKey, Any]:
        """A snapshot of each client's pool
        (:class:`~geventhttpclient.connectionpool.PoolStatistics`) by what it is for,
        least recently used first."""
        return {key: client.statistics() for (key, _), client in self._clients.items()}

    # -- sending -------------------------------------------------------------------------

    def send(  # type: ignore[override,unused-ignore]
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Optional[Mapping[str, str]] = None,
    ) -> requests.Response:
        """Send ``request`` once (redirects are the session's) and return requests'
        ``Response``: with ``stream=False`` its body read, with ``stream=True`` its
        head only.

        Raises requests' exceptions (module docstring); ``OSError`` for a ``verify``
        or ``cert`` path that does not exist, ``ValueError`` for a malformed timeout.
        """
        url = request.url
        if isinstance(url, bytes):
            url = url.decode("utf-8")
        if not url:
            raise requests.exceptions.InvalidURL("no URL", request=request)
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as exc:
            raise requests.exceptions.InvalidURL(exc, request=request) from exc
        scheme = parts.scheme.lower()
        host = parts.hostname
        uds = self.uds
        if scheme in UNIX_SCHEMES:
            # the socket's path is the host, percent-encoded (hostname would lower it)
            uds = unquote(parts.netloc.rpartition("@")[2])
            scheme, host, port = scheme[: -len("+unix")], "localhost", None
        if scheme not in ("http", "https"):
            raise requests.exceptions.InvalidSchema(
                f"GeventAdapter sends http, https, http+unix and https+unix only, not {url!r}",
                request=request,
            )
        if not host or uds == "":
            raise requests.exceptions.InvalidURL(f"no host in {url!r}", request=request)
        if port is None:
            port = 443 if scheme == "https" else 80
        proxy_url = select_proxy(url, cast(Any, proxies)) if proxies and uds is None else None
        proxy = _proxy_spec(proxy_url) if proxy_url else None
        if scheme == "https":
            verify, cert_pair = _tls_settings(verify, cert)
        elif proxy is not None and proxy.scheme == "https":  # TLS to the proxy only
            verify, cert_pair = _tls_settings(verify, None)[0], None
        else:  # as HTTPAdapter.cert_verify: a plain request does not look at them
            verify, cert_pair = False, None
        client = self._client(scheme, host, port, uds, proxy, verify, cert_pair, timeouts(timeout))

        method = request.method or "GET"
        target = request.path_url
        body = request.body
        attempts = self.max_retries
        while True:
            try:
                ghc_response = client.request(method, target, body, request.headers)
                break
            except (ghc.ConnectError, ghc.ConnectTimeout) as exc:
                # Not connected: nothing was sent, any method may go again.
                if attempts <= 0 or isinstance(exc, ghc.ProxyError):
                    raise _send_error(exc, request, proxy is not None) from exc
                attempts -= 1
            except Exception as exc:
                raise _send_error(exc, request, proxy is not None) from exc
        return self.build_response(request, ghc_response, stream)

    def build_response(
        self, request: requests.PreparedRequest, ghc_response: Any, stream: bool = True
    ) -> requests.Response:
        """requests' ``Response`` for the engine's response, as ``HTTPAdapter`` builds
        it; with ``stream=False`` the body is read first."""
        raw = GeventRawResponse(ghc_response, request, self.max_decompressed_size)
        if not stream:
            raw.read_all()
        response = requests.Response()
        response.status_code = raw.status
        response.headers = CaseInsensitiveDict(raw.headers.itermerged())
        response.encoding = get_encoding_from_headers(response.headers)
        response.raw = raw
        response.reason = raw.reason
        url = request.url
        response.url = url.decode("utf-8") if isinstance(url, bytes) else (url or "")
        if raw._original_response is not None:
            extract_cookies_to_jar(response.cookies, request, raw)
        response.request = request
        response.connection = self  # type: ignore[assignment,unused-ignore]  # an HTTPAdapter there
        return response

    # -- lifecycle -----------------------------------------------------------------------

    def close(self, wait: Optional[float] = 0.0) -> None:
        """Close every client: connections in use are closed too (see
        :meth:`HTTPClient.close`); ``wait`` lets requests in flight finish first, for
        at most that many seconds in all."""
        clients, self._clients = self._clients, {}
        close_all(clients.values(), wait)

    def __repr__(self) -> str:
        return (
            f"<GeventAdapter clients={len(self._clients)}/{self.pool_connections} "
            f"maxsize={self.pool_maxsize}>"
        )
