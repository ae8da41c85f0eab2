"""HTTPClient: requests to one origin over a pool of keep-alive connections.

How a request travels: :meth:`HTTPClient.request` validates and encodes the head
(``_http11``), takes a connection from the pool (``connectionpool``; a new one is
made by ``_net.connect``), sends head and body, and hands the connection to a
:class:`~geventhttpclient.response.HTTPSocketPoolResponse`, which reads the head
before ``request`` returns and gives the connection back when the body is complete.

Retries: an idempotent request (RFC 9110 9.2.2) is sent once more, on a fresh
connection, if the server closed the connection before any byte of the response
(the usual fate of a keep-alive connection the server timed out). Any other request
is never re-sent: the server may have acted on it.
"""

from __future__ import annotations

import base64
import errno
import time
from typing import AbstractSet, Any, Callable, Dict, List, Mapping, Optional, Tuple, Union

import gevent
import gevent.socket

from . import _net
from ._connection import Connection, connect_head, connect_tunnel
from ._http11 import (
    BODY_METHODS,
    FRAMING_NAMES,
    IDEMPOTENT_METHODS,
    NO_BODY,
    BodyLike,
    HeadersLike,
    HeadTemplate,
    RequestBody,
    check_field,
    check_fields,
    check_method,
    check_target,
    host_header,
    iter_fields,
    prepare_body,
    refuse_repeated,
)
from ._parser import DEFAULT_LIMITS, ParserLimits
from ._proxies import PROXY_SCHEMES as PROXY_SCHEMES  # the schemes proxy= takes, for contrib
from ._proxies import ProxyConfig, parse_proxy_url
from ._version import __version__
from .connectionpool import ConnectionPool
from .connectionpool import SSLConnectionPool as SSLConnectionPool  # 2.x's client had these
from .exceptions import (
    ConnectionClosed,
    HeaderInjectionError,
    InvalidURL,
    ProxyAuthenticationError,
    ProxyError,
    RequestTimeout,
)
from .exceptions import HTTPConnectionClosed as HTTPConnectionClosed
from .exceptions import HTTPParseError as HTTPParseError
from .header import Headers
from .header import HeadersDataType as HeadersDataType
from .response import HTTPResponse as HTTPResponse
from .response import HTTPSocketPoolResponse, TracedResponse
from .timings import ConnectPhases, TraceHook
from .timings import clock as _clock
from .url import UNIX_SCHEMES, URL

__all__ = ["HTTPClient", "HTTPClientPool"]

# 2.x's module constants: programs and 2.6.1's tests import them from here.
CRLF = "\r\n"
WHITESPACE = " "
FIELD_VALUE_SEP = ": "
HOST_PORT_SEP = ":"
SLASH = "/"
PROTO_HTTP = "http"
PROTO_HTTPS = "https"
HEADER_HOST = "Host"
HEADER_CONTENT_LENGTH = "Content-Length"
HEADER_TRANSFER_ENCODING = "Transfer-Encoding"
TRANSFER_ENCODING_CHUNKED = "chunked"
HEADER_PROXY_AUTHORIZATION = "Proxy-Authorization"
HEADER_EXPECT = "Expect"
EXPECT_100_CONTINUE = "100-continue"
METHOD_GET = "GET"
METHOD_HEAD = "HEAD"
METHOD_POST = "POST"
METHOD_PUT = "PUT"
METHOD_DELETE = "DELETE"
METHOD_PATCH = "PATCH"
METHOD_OPTIONS = "OPTIONS"
METHOD_TRACE = "TRACE"


def _may_retry_after_send_error(method: str) -> bool:
    """2.x's name for the rule in this module's docstring: only an idempotent
    method may be sent again once the server may have seen it (RFC 9110 9.2.2)."""
    return method.upper() in IDEMPOTENT_METHODS


_METHODS = {m: m.encode() for m in ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS")}
"""Pre-validated methods: the token check is a regex match we can skip."""
_NO_NAMES: AbstractSet[bytes] = frozenset()

# The mode bits of a prepared request (see HTTPClient._prepare).
EXPECT = 1
"""Wait for ``100 Continue`` before sending the body."""
CLOSE = 2
"""The request asks to close its connection after the response (``Connection:
close``, or HTTP/1.0 without keep-alive): the connection is never reused."""
_TARGET_CACHE_SIZE = 512
"""Validated request targets (and whole heads of requests without headers or body)
kept per client: API clients repeat a few paths."""
_HEADED_CACHE_SIZE = 64
"""Whole heads of bodiless requests with headers of their own, per client, keyed by
method, target and the fields: what an agent sends for each call (its defaults plus
the caller's) is usually the same few sets. Smaller than the target cache: its keys
hold every field, and a caller with a per-request token only ever misses."""


EXPECT_CONTINUE_TIMEOUT = 1.0
"""How long to wait for ``100 Continue`` before sending the body anyway (RFC 9110 10.1.1)."""


def _host_from_headers(headers: HeadersLike) -> Optional[str]:
    """The host name of a ``Host`` field among ``headers`` (any case), without port
    or IPv6 brackets; None if there is none."""
    for name, value in iter_fields(headers):
        if str(name).lower() == "host":
            host = str(value).strip()
            if host.startswith("["):
                return host[1 : host.find("]")] or None
            return host.rsplit(":", 1)[0] if host.count(":") == 1 else (host or None)
    return None


def _proxy_config(
    proxy: Union[str, ProxyConfig, None],
    host: Optional[str],
    port: Optional[int],
    user: Optional[str],
    password: Optional[str],
) -> Optional[ProxyConfig]:
    """The proxy of ``proxy=`` or of 2.x's ``proxy_host``/``proxy_port``/... arguments.

    ``proxy_host`` may be a proxy URL itself (``"socks5h://127.0.0.1:1080"``), so
    programs that only pass those arguments (Locust's ``FastHttpUser.proxy_host``)
    reach every kind of proxy; an explicit ``proxy_port``, ``proxy_user`` or
    ``proxy_password`` then wins over the URL's.
    """
    if proxy is not None:
        if host is not None:
            raise ValueError("give proxy= or proxy_host=, not both")
        return proxy if isinstance(proxy, ProxyConfig) else parse_proxy_url(proxy)
    if host is None:
        return None
    if "://" in host:
        config = parse_proxy_url(host)
        if user is None and password is None:
            user, password = config.user, config.password
        return ProxyConfig(config.host, int(port or config.port), user, password, config.scheme)
    if not port:
        raise ValueError("proxy_host needs proxy_port")
    return ProxyConfig(host, int(port), user, password)


class _Dial:
    """How a client opens its connections: where to (the origin, or the proxy),
    resolving and binding, and the TLS session to resume.

    One object rather than attributes of the client: CPython 3.11+ keeps an
    instance's attributes in a compact shared layout only up to 30 names, and past
    that every attribute read on the request path turns into a dict lookup (a
    client of 35 attributes cost 6% more instructions per /small request).
    """

    __slots__ = (
        "host",
        "port",
        "proxy",
        "proxy_auth",
        "proxy_context",
        "forward",
        "uds",
        "resolve",
        "source_address",
        "dns_cache",
        "tls_session_reuse",
        "tls_session",
        "want_session",
        "last",
    )

    def __init__(
        self,
        resolve: Dict[str, str],
        source_address: Optional[Tuple[str, int]],
        dns_cache: Any,
        tls_session_reuse: bool,
    ) -> None:
        self.host = ""
        self.port = 0
        self.proxy: Optional[ProxyConfig] = None
        self.proxy_auth: Optional[str] = None
        self.proxy_context: Any = None  # TLS to an https:// proxy
        self.forward = False  # requests go to an HTTP proxy in absolute-form
        self.uds: Optional[str] = None
        self.resolve = resolve
        self.source_address = source_address
        self.dns_cache = dns_cache
        self.tls_session_reuse = tls_session_reuse
        self.tls_session: Any = None
        self.want_session = False
        self.last: Any = None


class HTTPClient:
    """A client for one origin (scheme, host, port) with up to ``concurrency``
    keep-alive connections shared by any number of greenlets.

    The signature is that of geventhttpclient 2.x; ``timeout`` (total seconds for a
    request up to its response head), ``pool_timeout`` (seconds to wait for a free
    connection) and ``limits`` (:class:`ParserLimits`) are new keyword arguments.

    ``proxy``: a proxy URL (``http://``, ``https://``, ``socks5://``, ``socks5h://``,
    ``socks4://``, ``socks4a://``, credentials in it) or a ``ProxyConfig``; 2.x's
    ``proxy_host`` (which may itself be such a URL), ``proxy_port``, ``proxy_user``
    and ``proxy_password`` mean an ``http://`` proxy. ``proxy_ssl_options``: TLS
    settings for an ``https://`` proxy (by default ``ssl_options``; the factory and
    ``insecure`` apply to both); ``proxy_ssl_context``: an ``ssl.SSLContext`` for
    it, used as given. ``uds``: connect to this Unix domain socket path
    instead of TCP (``host`` still names the origin: ``Host``, TLS).
    """

    HTTP_11 = "HTTP/1.1"
    HTTP_10 = "HTTP/1.0"

    BLOCK_SIZE = 64 * 1024
    CONNECTION_TIMEOUT = 5.0
    NETWORK_TIMEOUT = 5.0

    DEFAULT_HEADERS = Headers({"User-Agent": "python/gevent-http-client-" + __version__})

    @classmethod
    def from_url(cls, url: Union[str, URL], **kw: Any) -> HTTPClient:
        """A client for the origin of ``url`` (TLS for ``https``).

        ``http+unix://%2Fvar%2Frun%2Fdocker.sock/...`` (and ``https+unix``): a client
        of the Unix domain socket whose percent-encoded path is the authority (see
        ``uds=``), sending ``Host: localhost`` unless ``headers`` name another.
        """
        if not isinstance(url, URL):
            url = URL(url)
        if url.scheme in UNIX_SCHEMES:
            from urllib.parse import unquote

            ssl = url.scheme == "https+unix"
            if not ssl:
                kw.pop("ssl_options", None)
            kw["uds"] = unquote(url.host)
            return cls("localhost", ssl=ssl, **kw)
        if url.scheme not in ("http", "https"):
            raise InvalidURL(f"unsupported scheme {url.scheme!r} in {url}")
        ssl = url.scheme == "https"
        if not ssl:
            kw.pop("ssl_options", None)
        return cls(url.host, port=url.port, ssl=ssl, **kw)

    def __init__(
        self,
        host: str,
        port: Optional[int] = None,
        headers: HeadersLike = None,
        block_size: int = BLOCK_SIZE,
        connection_timeout: Optional[float] = CONNECTION_TIMEOUT,
        network_timeout: Optional[float] = NETWORK_TIMEOUT,
        disable_ipv6: bool = False,
        concurrency: int = 1,
        ssl: bool = False,
        ssl_options: Optional[Dict[str, Any]] = None,
        ssl_context_factory: Optional[Callable[..., Any]] = None,
        insecure: bool = False,
        proxy_host: Optional[str] = None,
        proxy_port: Optional[int] = None,
        proxy_user: Optional[str] = None,
        proxy_password: Optional[str] = None,
        version: str = HTTP_11,
        headers_type: type = Headers,
        *,
        timeout: Optional[float] = None,
        pool_timeout: Optional[float] = None,
        limits: ParserLimits = DEFAULT_LIMITS,
        trace: Optional[TraceHook] = None,
        keepalive_expiry: Optional[float] = None,
        max_connection_age: Optional[float] = None,
        max_requests_per_connection: Optional[int] = None,
        tls_session_reuse: bool = False,
        resolve: Optional[Mapping[str, str]] = None,
        source_address: Union[str, Tuple[str, int], None] = None,
        dns_cache: Any = None,
        proxy: Union[str, ProxyConfig, None] = None,
        proxy_ssl_options: Optional[Dict[str, Any]] = None,
        proxy_ssl_context: Any = None,
        uds: Optional[str] = None,
    ) -> None:
        if not host or any(c in host for c in "\r\n\0 /"):
            raise HeaderInjectionError(f"invalid host {host!r}")
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        if ssl_options is not None:
            ssl = True
        self.host = host
        self.ssl = ssl
        self.port = int(port) if port else (443 if ssl else 80)
        self.block_size = block_size
        self.connection_timeout = connection_timeout
        self.network_timeout = network_timeout
        self.disable_ipv6 = disable_ipv6
        self.concurrency = concurrency
        self.version = version
        self.headers_type = headers_type
        self.insecure = insecure
        self.timeout = timeout
        self.pool_timeout = pool_timeout
        self.limits = limits
        self._trace_hook = trace
        self._response_class = HTTPSocketPoolResponse if trace is None else TracedResponse
        if isinstance(source_address, str):
            source_address = (source_address, 0)
        if dns_cache is True:
            from ._dns import default_cache  # the module is light; few clients ask

            dns_cache = default_cache()
        self._dial = _Dial(
            _net.check_resolve(resolve), source_address, dns_cache or None, tls_session_reuse
        )
        # Take the session of a connection for the next ones: a TLS 1.3 server sends
        # its ticket after the handshake, so a session is resumable only once a
        # response has been read.
        self._dial.want_session = bool(tls_session_reuse and ssl)

        config = _proxy_config(proxy, proxy_host, proxy_port, proxy_user, proxy_password)
        self.use_proxy = config is not None
        dial = self._dial
        dial.proxy = config
        if config is not None:
            if uds is not None:
                raise ValueError("uds= and a proxy cannot be combined")
            if config.user is not None or config.password is not None:
                token = f"{config.user or ''}:{config.password or ''}".encode()
                dial.proxy_auth = "Basic " + base64.b64encode(token).decode("ascii")
            # An HTTP(S) proxy gets plain-http requests itself, in absolute-form;
            # everything else (https targets, any SOCKS proxy) goes through a tunnel.
            dial.forward = not ssl and not config.is_socks
            dial.host, dial.port = config.host, config.port
        else:
            dial.host, dial.port = host, self.port
        dial.uds = uds

        self.ssl_options = dict(ssl_options or {})
        if config is not None and config.scheme == "https":
            if proxy_ssl_context is not None:
                dial.proxy_context = proxy_ssl_context  # as given (httpx's Proxy(ssl_context=))
            else:
                # The proxy is verified like the origin (ssl_options, the factory,
                # insecure) unless proxy_ssl_options says otherwise; its name is its own.
                options = self.ssl_options if proxy_ssl_options is None else dict(proxy_ssl_options)
                options.pop("server_hostname", None)
                dial.proxy_context = _net.make_ssl_context(options, ssl_context_factory, insecure)
        # With a custom ssl_context_factory, a Host field among the client's headers
        # names the TLS server too (SNI and the name verified), as in 2.x: load tests
        # (Locust always passes a factory) reach a virtual host at an address by
        # setting Host. An explicit ssl_options["server_hostname"] wins.
        server_hostname = self.ssl_options.get("server_hostname")
        if not server_hostname and ssl_context_factory is not None:
            server_hostname = _host_from_headers(headers)
        self._server_hostname = server_hostname or host
        self._ssl_context = (
            _net.make_ssl_context(self.ssl_options, ssl_context_factory, insecure) if ssl else None
        )

        self.default_headers = headers_type()
        self.default_headers.update(self.DEFAULT_HEADERS)
        if headers:
            self.default_headers.update(headers)
        # The fixed part of every head, in 2.x's order: the default headers, then
        # Host and a plain proxy's credentials unless the defaults name them. (RFC
        # 9110 7.2 would have Host first, a SHOULD; 2.x programs and tests compare
        # whole heads, so the order stays theirs.)
        defaults = list(iter_fields(self.default_headers))
        names = {str(n).lower() for n, _ in defaults}
        if len(names) < len(defaults):
            refuse_repeated([check_field(n, v) for n, v in defaults])
        if version == self.HTTP_11 and "host" not in names:
            defaults.append(("Host", host_header(host, self.port, 443 if ssl else 80)))
        if dial.forward and dial.proxy_auth and "proxy-authorization" not in names:
            defaults.append(("Proxy-Authorization", dial.proxy_auth))
        elif self.use_proxy and not dial.forward and "proxy-authorization" in names:
            # Through a tunnel every byte goes to the origin: credentials meant
            # for the proxy must never travel there.
            defaults = [(n, v) for n, v in defaults if str(n).lower() != "proxy-authorization"]
        self._template = HeadTemplate(version, defaults)
        self._targets: Dict[str, bytes] = {}
        self._heads: Dict[Tuple[str, str], Tuple[str, bytes, RequestBody, int]] = {}
        self._headed: Dict[Tuple[Any, ...], Tuple[str, bytes, RequestBody, int]] = {}

        scheme = "https" if ssl else "http"
        netloc = host_header(host, self.port, 443 if ssl else 80)
        self._base_url = f"{scheme}://{netloc}"
        lifecycle: Dict[str, Any] = {
            k: v
            for k, v in (
                ("keepalive_expiry", keepalive_expiry),
                ("max_connection_age", max_connection_age),
                ("max_requests_per_connection", max_requests_per_connection),
            )
            if v is not None
        }
        self._connection_pool = ConnectionPool(
            self._new_connection,
            concurrency,
            name=f"{scheme}://{netloc}",
            ssl_context=self._ssl_context,
            **lifecycle,
        )
        self._connection_pool.trace = trace

    @property
    def source_address(self) -> Optional[Tuple[str, int]]:
        """The local ``(host, port)`` new connections bind to, or None."""
        return self._dial.source_address

    @property
    def dns_cache(self) -> Any:
        """Where names are looked up: a :class:`DNSCache`, or None for gevent's
        resolver (each new connection asks it)."""
        return self._dial.dns_cache

    @property
    def tls_session_reuse(self) -> bool:
        """Whether new connections resume the TLS session of an earlier one (off by
        default: a load test wants each simulated user to pay a full handshake)."""
        return self._dial.tls_session_reuse

    @property
    def trace_hook(self) -> Optional[TraceHook]:
        """The ``trace=`` hook (see :mod:`geventhttpclient.timings`), or None; may be
        set. (Not ``trace``: that is the method sending TRACE requests.)"""
        return self._trace_hook

    @trace_hook.setter
    def trace_hook(self, hook: Optional[TraceHook]) -> None:
        self._trace_hook = self._connection_pool.trace = hook
        self._response_class = HTTPSocketPoolResponse if hook is None else TracedResponse

    # -- connections ---------------------------------------------------------------

    def _new_connection(self) -> Connection:
        phases = ConnectPhases(self._trace_hook)
        dial = self._dial
        if dial.want_session and dial.last is not None:
            self._take_session(dial.last)
        sock = _net.connect(
            dial.host,
            dial.port,
            connection_timeout=self.connection_timeout,
            network_timeout=self.network_timeout,
            disable_ipv6=self.disable_ipv6,
            ssl_context=self._ssl_context,
            server_hostname=self._server_hostname,
            tunnel=self._tunnel
            if (self.use_proxy and not dial.forward) or dial.proxy_context
            else None,
            source_address=dial.source_address,
            resolve=dial.resolve,
            dns_cache=dial.dns_cache,
            phases=phases,
            tls_session=dial.tls_session,
            uds=dial.uds,
        )
        if dial.tls_session_reuse and self._ssl_context is not None and not phases.tls_resumed:
            dial.want_session = True  # none yet, or the server forgot it: take a new one
        conn = Connection(sock, self.limits, timeout=self.network_timeout)
        conn.phases = phases
        if dial.want_session:
            # whose session the next new connection resumes: by then it has read
            # a response (or closed, keeping its session)
            conn.keep_session = True
            dial.last = conn
        return conn

    def _tunnel(self, sock: Any) -> Any:
        """Make ``sock`` (connected to the proxy) a way to the origin: the SOCKS
        handshake; TLS to an https:// proxy; a CONNECT tunnel for https targets.
        Returns the socket to use when it is a new one (TLS to the proxy)."""
        dial = self._dial
        config = dial.proxy
        assert config is not None
        if config.is_socks:
            from . import _socks

            def lookup(host: str, port: int, ipv4_only: bool) -> str:
                return _net.lookup(
                    host,
                    port,
                    ipv4_only,
                    disable_ipv6=self.disable_ipv6,
                    resolve=dial.resolve,
                    dns_cache=dial.dns_cache,
                )

            _socks.handshake(sock, config, self.host, self.port, lookup)
            return None
        if dial.proxy_context is None:
            self._connect_through(sock)
            return None
        try:
            tls = _net.start_tls(sock, dial.proxy_context, config.host)
        except OSError as exc:  # ssl.SSLError among them: name the proxy, not the origin
            raise _net.translate(
                exc, f"https proxy {config.host}:{config.port}", connecting=True
            ) from exc
        if dial.forward:
            return tls
        try:
            self._connect_through(tls)
        except BaseException:
            tls.close()
            raise
        return tls

    def _connect_through(self, sock: Any) -> None:
        """Ask the HTTP proxy for a CONNECT tunnel to our origin (RFC 9110 9.3.6)."""
        auth = self._dial.proxy_auth
        fields = {"Proxy-Authorization": auth} if auth else {}
        head = connect_head(self.host, self.port, fields)
        try:
            parser = connect_tunnel(sock, head, self.limits)
        except ConnectionClosed as exc:
            raise ProxyError(exc.errno, str(exc)) from exc
        if not 200 <= parser.status_code < 300:
            status = parser.status_code
            kind = ProxyAuthenticationError if status == 407 else ProxyError
            error = kind(
                errno.EACCES if status == 407 else errno.ECONNREFUSED,
                f"proxy refused CONNECT to {host_header(self.host, self.port, -1)}: "
                f"{status} {parser.reason}",
            )
            error.reply = status
            raise error

    # -- requests --------------------------------------------------------------------

    def _target(self, request_uri: str) -> bytes:
        uri = request_uri
        if uri.startswith(("http://", "https://")):
            base = self._base_url
            if not (uri == base or uri.startswith(base + "/") or uri.startswith(base + "?")):
                raise InvalidURL(f"{uri!r} is not on this client's origin {base}")
            uri = uri[len(base) :] or "/"
        elif uri == "*":
            return b"*"
        elif not uri.startswith("/"):
            uri = "/" + uri
        elif uri.startswith("//"):
            raise InvalidURL(f"invalid request target {request_uri!r}: not origin-form")
        if self._dial.forward:
            uri = self._base_url + uri  # absolute-form for an HTTP proxy (RFC 9112 3.2.2)
        return check_target(uri)

    def request(
        self,
        method: str,
        request_uri: str,
        body: BodyLike = b"",
        headers: HeadersLike = None,
        *,
        timeout: Optional[float] = None,
    ) -> HTTPSocketPoolResponse:
        """Send a request and return the response once its head has arrived.

        ``body``: bytes, str (UTF-8), bytearray, memoryview, a file (sent with its
        size; by the kernel, from the file, on plain sockets) or an iterable of
        blocks (chunked).
        ``timeout`` (or the client's) bounds the whole exchange up to the response
        head; ``network_timeout`` bounds each wait for the server.

        Raises :class:`RequestError` (nothing sent) for invalid input,
        :class:`ConnectError`/:class:`TLSError`/:class:`NetworkError` subclasses,
        :class:`HTTPParseError` subclasses for a malformed response, and
        :class:`RequestTimeout`.
        """
        if not headers and not body and body is not None:
            # The common request: no headers of its own, no body. Its whole head
            # is made once per method and target.
            cached = self._heads.get((method, request_uri))
            if cached is None:
                cached = self._bodiless_head(method, request_uri)
            method, head, rbody, mode = cached
            return self._send(method, head, rbody, mode, timeout)
        if (body is None or (not body and type(body) is bytes)) and type(headers) is Headers:
            # A bodiless request with its fields in a Headers (an agent's request):
            # the same fields give the same head. Only Headers: its names and
            # values are always str, so equal keys mean equal text (in a dict,
            # 1 == True would alias two different fields).
            key = (method, request_uri, *headers.items())
            cached = self._headed.get(key)
            if cached is None:
                cached = self._prepare(method, request_uri, body, headers)
                headed = self._headed
                if len(headed) >= _HEADED_CACHE_SIZE:
                    headed.clear()
                headed[key] = cached
            method, head, rbody, mode = cached
            return self._send(method, head, rbody, mode, timeout)
        method, head, rbody, mode = self._prepare(method, request_uri, body, headers)
        return self._send(method, head, rbody, mode, timeout)

    def _prepare(
        self, method: str, request_uri: str, body: BodyLike, headers: HeadersLike
    ) -> Tuple[str, bytes, RequestBody, int]:
        """Validate and encode one request: (method, head, body, mode), where mode
        has ``EXPECT`` (wait for 100-continue) and ``CLOSE`` (the request asks to
        close the connection) bits.

        Every head this client sends is made here (or cached from here), and so is
        the one :meth:`_build_request` shows. Raises :class:`RequestError`.
        """
        method = method.upper()
        method_b = _METHODS.get(method) or check_method(method)
        targets = self._targets
        target = targets.get(request_uri)
        if target is None:
            target = self._target(request_uri)
            if len(targets) >= _TARGET_CACHE_SIZE:
                targets.clear()
            targets[request_uri] = target
        template = self._template
        mode = 0
        own_names: AbstractSet[bytes]
        if headers:
            own = check_fields(headers, template.checked)
            own_names = {n.lower() for n, _ in own}
            if len(own_names) < len(own):  # a name repeats: Host and framing may not
                refuse_repeated(own)
            if b"proxy-authorization" in own_names and self.use_proxy and not self._dial.forward:
                # Through a tunnel (CONNECT, SOCKS) every byte goes to the origin:
                # credentials meant for the proxy must never travel there.
                own = [f for f in own if f[0].lower() != b"proxy-authorization"]
                own_names = own_names - {b"proxy-authorization"}
            if b"expect" in own_names and any(
                n.lower() == b"expect" and v.lower() == b"100-continue" for n, v in own
            ):
                mode = EXPECT
            if template.closes(own, own_names):
                mode |= CLOSE
        else:
            own = []
            own_names = _NO_NAMES
            if template.closing:
                mode = CLOSE
        if template.framing:
            own = [f for f in template.framing if f[0].lower() not in own_names] + own
            own_names = {n.lower() for n, _ in own}
        if not body and body is not None and own_names.isdisjoint(FRAMING_NAMES):
            # The common bodiless request: no framing decisions to make.
            rbody = NO_BODY
            framing = b"Content-Length: 0\r\n" if method in BODY_METHODS else b""
        else:
            rbody, framing, kept = prepare_body(method, body, own, own_names, template.http10)
            if kept is not own:  # a framing field was dropped
                own = kept
                own_names = {n.lower() for n, _ in own}
        head = template.build(method_b, target, own, framing, own_names)
        return method, head, rbody, mode

    def _bodiless_head(self, method: str, request_uri: str) -> Tuple[str, bytes, RequestBody, int]:
        """Make and cache the request of ``method`` and ``request_uri`` without
        headers or body of its own: nothing in it changes between requests (its
        body is NO_BODY, or the empty chunked body of a default Transfer-Encoding)."""
        key = (method, request_uri)
        cached = self._prepare(method, request_uri, b"", None)
        heads = self._heads
        if len(heads) >= _TARGET_CACHE_SIZE:
            heads.clear()
        heads[key] = cached
        return cached

    def _build_request(
        self, method: str, request_uri: str, body: BodyLike = "", headers: HeadersLike = None
    ) -> str:
        """The request head (request line, fields, blank line) that :meth:`request`
        would send for these arguments, as a str; the body itself is not included.

        2.x's method, kept for programs and tests that inspect heads. It shows what
        is sent, but overriding it does not change what is sent. Raises what
        :meth:`request` raises before connecting: :class:`HeaderInjectionError`,
        :class:`InvalidURL`, :class:`RequestError` (all ``ValueError``).
        """
        return self._prepare(method, request_uri, body, headers)[1].decode("latin-1")

    def _send(
        self,
        method: str,
        head: bytes,
        rbody: RequestBody,
        mode: int,
        timeout: Optional[float],
    ) -> HTTPSocketPoolResponse:
        total = timeout if timeout is not None else self.timeout
        if total is None:
            return self._exchange(method, head, rbody, mode)
        timer = gevent.Timeout.start_new(
            total, RequestTimeout(errno.ETIMEDOUT, f"request timed out after {total}s")
        )
        try:
            return self._exchange(method, head, rbody, mode)
        finally:
            timer.close()

    def _exchange(
        self, method: str, head: bytes, body: RequestBody, mode: int
    ) -> HTTPSocketPoolResponse:
        pool = self._connection_pool
        idempotent = method in IDEMPOTENT_METHODS
        attempts = 2 if idempotent else 1
        for attempt in range(attempts):
            if attempt and not body.rewind():
                break
            if self._trace_hook is not None:  # the other events: TracedResponse
                self._trace_hook("pool.acquire.started", {"pool": pool.name})
            conn = pool.acquire(self.pool_timeout)
            response = self._response_class(
                conn,
                pool,
                method,
                self.headers_type,
                self.block_size,
                read_head=False,
                sent_request=head,
                reusable=not mode & CLOSE,
            )
            try:
                sent_at = 0.0  # sent at once: see HTTPSocketPoolResponse.__init__
                sent = 0  # the head alone (the response counts it)
                if body is NO_BODY:
                    if not conn.write(head):
                        sent_at = _clock()
                elif mode & EXPECT:
                    conn.write(head)
                    if conn.await_continue(EXPECT_CONTINUE_TIMEOUT):
                        response.begin(False, len(head), _clock())
                        return response  # the body was never sent
                    sent = len(head) + conn.send(b"", body, self.block_size)
                    sent_at = _clock()
                else:
                    sent = conn.send(head, body, self.block_size)
                    sent_at = _clock()
            except (BrokenPipeError, ConnectionResetError) as exc:
                # The server may have answered early (413, 401) and closed while we
                # were still sending: that answer is the result.
                try:
                    response.begin(sent_in_full=False)
                    return response
                except (OSError, ValueError):
                    pass
                if attempt + 1 < attempts:
                    continue
                raise _net.translate(exc, f"sending to {self._base_url}") from exc
            except OSError as exc:
                response.abandon()
                raise _net.translate(exc, f"sending to {self._base_url}") from exc
            except BaseException:
                response.abandon()
                raise
            try:
                response.begin(True, sent, sent_at)
            except ConnectionClosed:
                if attempt + 1 < attempts:
                    continue
                raise
            return response
        raise ConnectionClosed(0, "connection closed before the response; body not replayable")

    def _take_session(self, conn: Connection) -> None:
        """Keep the TLS session of ``conn`` (the last connection made) for new
        connections to resume (``tls_session_reuse``), if it can be resumed: a TLS
        1.3 server sends its ticket after the handshake, with the first answer."""
        session = conn.tls_session or getattr(conn.sock, "session", None)
        if session is None:
            return
        # By ticket (RFC 8446, RFC 5077): the only way in TLS 1.3, and what TLS 1.2
        # servers offer by default. (A TLS 1.2 server keeping sessions by id only
        # is not resumed: its session object cannot tell its protocol version.)
        if session.has_ticket:
            self._dial.tls_session = session
            self._dial.want_session = conn.keep_session = False
            self._dial.last = None

    def reset(self) -> None:
        """Close the idle connections now and each busy one when its response ends;
        the next requests connect anew (with the same TLS context: nothing is
        reloaded). For a load test that wants fresh connections, as a new user."""
        self._connection_pool.reset()

    # -- shortcuts ---------------------------------------------------------------------

    def get(
        self, request_uri: str, headers: HeadersLike = None, **kw: Any
    ) -> HTTPSocketPoolResponse:
        if kw:
            return self.request("GET", request_uri, headers=headers, **kw)
        return self.request("GET", request_uri, b"", headers)

    def head(
        self, request_uri: str, headers: HeadersLike = None, **kw: Any
    ) -> HTTPSocketPoolResponse:
        if kw:
            return self.request("HEAD", request_uri, headers=headers, **kw)
        return self.request("HEAD", request_uri, b"", headers)

    def options(
        self, request_uri: str, headers: HeadersLike = None, **kw: Any
    ) -> HTTPSocketPoolResponse:
        if kw:
            return self.request("OPTIONS", request_uri, headers=headers, **kw)
        return self.request("OPTIONS", request_uri, b"", headers)

    def post(
        self, request_uri: str, body: BodyLike = b"", headers: HeadersLike = None, **kw: Any
    ) -> HTTPSocketPoolResponse:
        return self.request("POST", request_uri, body=body, headers=headers, **kw)

    def put(
        self, request_uri: str, body: BodyLike = b"", headers: HeadersLike = None, **kw: Any
    ) -> HTTPSocketPoolResponse:
        return self.request("PUT", request_uri, body=body, headers=headers, **kw)

    def delete(
        self, request_uri: str, body: BodyLike = b"", headers: HeadersLike = None, **kw: Any
    ) -> HTTPSocketPoolResponse:
        return self.request("DELETE", request_uri, body=body, headers=headers, **kw)

    def patch(
        self, request_uri: str, body: BodyLike = b"", headers: HeadersLike = None, **kw: Any
    ) -> HTTPSocketPoolResponse:
        return self.request("PATCH", request_uri, body=body, headers=headers, **kw)

    def trace(
        self, request_uri: str, body: BodyLike = b"", headers: HeadersLike = None, **kw: Any
    ) -> HTTPSocketPoolResponse:
        return self.request("TRACE", request_uri, body=body, headers=headers, **kw)

    # -- lifecycle ---------------------------------------------------------------------

    def statistics(self) -> Any:
        """A snapshot of the connection pool (:class:`PoolStatistics`)."""
        return self._connection_pool.statistics()

    def close(self, wait: Optional[float] = 0.0) -> None:
        """Stop now: requests in flight end with :class:`ClientClosed`, their sockets
        closed; waiting and later requests get :class:`PoolClosed`.

        ``wait``: seconds to let requests in flight (and responses being streamed)
        finish first; this call blocks meanwhile. ``None`` waits as long as they
        take. See :meth:`ConnectionPool.close`.
        """
        self._connection_pool.close(wait)

    def retire(self) -> None:
        """Take no more requests, let those in flight finish, return at once: idle
        connections close now, busy ones when their responses end."""
        self._connection_pool.retire()

    def __enter__(self) -> HTTPClient:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<HTTPClient {self._base_url} {self._connection_pool!r}>"


def close_all(clients: Any, wait: Optional[float] = 0.0) -> None:
    """Close ``clients`` (each has ``retire`` and ``close(wait)``), letting requests
    in flight finish for at most ``wait`` seconds in all.

    Every client is retired first, so none takes a new request while another is
    being waited for; then each gets what is left of the budget.
    """
    clients = list(clients)
    if wait == 0:
        for client in clients:
            client.close()
        return
    for client in clients:
        client.retire()
    deadline = None if wait is None else time.monotonic() + wait
    for client in clients:
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        client.close(left)


def retire_least_recent(clients: Dict[Any, HTTPClient], limit: int) -> int:
    """Retire (:meth:`HTTPClient.retire`) and remove clients from ``clients``, least
    recently used first (the dict's order), until one more fits under ``limit``;
    returns how many went. A client that greenlets wait for is passed over:
    retiring it would fail them with :class:`PoolClosed`. Shared by
    :class:`HTTPClientPool` and the requests adapter, which keep clients alike."""
    excess = len(clients) - limit + 1
    victims: List[Any] = []
    for key, client in clients.items():
        if len(victims) >= excess:
            break
        if not client.statistics().waiting:
            victims.append(key)
    for key in victims:
        clients.pop(key).retire()
    return len(victims)


class HTTPClientPool:
    """One :class:`HTTPClient` per origin, made on first use with ``client_args``
    (every keyword but ``max_clients``: see :meth:`HTTPClient.__init__`).

    ``max_clients``: keep at most this many clients, in least-recent-use order (a
    hit moves its client to the most recent end). A new origin beyond it retires the
    least recently used client (:meth:`HTTPClient.retire`: its idle connections
    close now, its requests in flight finish), so a crawl of 10,000 hosts holds at
    most ``max_clients x concurrency`` connections, not one per host. A client that
    has greenlets waiting for one of its connections is passed over (retiring it
    would fail them with :class:`PoolClosed`); if every client has, the cap is
    exceeded until one has none. None (the default): no limit, as in 2.x.
    """

    def __init__(self, *, max_clients: Optional[int] = None, **kw: Any) -> None:
        if max_clients is not None:
            max_clients = int(max_clients)
            if max_clients < 1:
                raise ValueError("max_clients must be at least 1")
        self.max_clients = max_clients
        # Names are looked up through the per-thread DNS cache unless told otherwise
        # (dns_cache=None or False): a pool serves many clients, often of few hosts.
        kw.setdefault("dns_cache", True)
        self.client_args = kw
        self.clients: Dict[Any, HTTPClient] = {}
        """The clients by ``(scheme, host, port)``; with ``max_clients``, least
        recently used first."""
        self.evicted = 0
        """Clients retired to stay within ``max_clients``."""

    def get_client(self, url: Union[str, URL]) -> HTTPClient:
        """The client for the origin of ``url``, made on first use. Raises
        :class:`InvalidURL` for a scheme other than http and https."""
        if not isinstance(url, URL):
            url = URL(url)
        key = (url.scheme, url.host, url.port)
        clients = self.clients
        client = clients.get(key)
        if client is None:
            client = HTTPClient.from_url(url, **self.client_args)
            if self.max_clients is not None and len(clients) >= self.max_clients:
                self._evict()
            clients[key] = client
        elif self.max_clients is not None:
            clients[key] = clients.pop(key)  # now the most recently used
        return client

    def _evict(self) -> None:
        """Retire the least recently used clients that nobody waits for, until there
        is room for one more."""
        self.evicted += retire_least_recent(self.clients, self.max_clients)  # type: ignore[arg-type]

    def __getitem__(self, url: Union[str, URL]) -> HTTPClient:
        return self.get_client(url)

    def reset(self) -> None:
        """:meth:`HTTPClient.reset` on every client: idle connections close now,
        busy ones as their responses end; the clients (and their SSL contexts) stay."""
        for client in list(self.clients.values()):
            client.reset()

    def close(self, wait: Optional[float] = 0.0) -> None:
        """Close every client (see :meth:`HTTPClient.close`); ``wait`` is a budget
        shared by all of them, not given to each."""
        clients, self.clients = self.clients, {}
        close_all(clients.values(), wait)

    def __enter__(self) -> HTTPClientPool:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
