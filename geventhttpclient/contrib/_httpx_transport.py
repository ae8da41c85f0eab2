"""The transport behind :mod:`geventhttpclient.contrib.httpx` and
:mod:`geventhttpclient.contrib.httpx2`, written once for both modules.

httpx2 is a fork of httpx with the same API under another name (the OpenAI SDK
3.x takes an ``httpx2.Client``); its classes are not httpx's, and each client
checks for its own (the response stream must be *its* ``SyncByteStream``, SDKs
catch *its* exceptions). So the code here never names either package: a
transport class says which module it serves (:attr:`Transport.module`) and every
class made or raised comes from there. The public modules declare the classes
with the module's bases and the signature in its types; the behaviour, and how
httpx's settings map to ours, is documented in :mod:`geventhttpclient.contrib.httpx`.

The module's objects (requests, URLs, responses, exceptions) are typed ``Any``
here: to a type checker httpx's and httpx2's classes are unrelated.
"""

from __future__ import annotations

import base64
import binascii
import ssl
import weakref
from typing import Any, Callable, ClassVar, Dict, Iterable, Iterator, List, Optional, Tuple
from urllib.parse import quote

import gevent
import gevent.lock

from geventhttpclient import exceptions as errors
from geventhttpclient.client import PROXY_SCHEMES as CLIENT_PROXY_SCHEMES
from geventhttpclient.client import HTTPClient
from geventhttpclient.response import HTTPSocketPoolResponse

__all__ = ["ONE_WRITE", "PROXY_SCHEMES", "ResponseStream", "Transport"]

ONE_WRITE = 65536
"""Request bodies of at most this many bytes go out with the head in one write
(our client's own threshold) and without a ``write`` timer: they fit the socket's
send buffer. Larger ones are streamed in blocks of this size, each send timed."""

UNLIMITED = 1 << 30
"""The ``concurrency`` of a client when ``max_connections`` is None."""

RETRY_BACKOFF = 0.5
"""Seconds before the second retry of a failed connection; each later one doubles
it (the first is at once), as httpcore's transport waits."""

SET_FROM_HTTPX = frozenset(
    (
        "host",
        "port",
        "ssl",
        "ssl_options",
        "ssl_context_factory",
        "insecure",
        "proxy",
        "proxy_host",
        "proxy_port",
        "proxy_user",
        "proxy_password",
        "proxy_ssl_options",
        "proxy_ssl_context",
        "uds",
        "concurrency",
        "connection_timeout",
        "network_timeout",
        "pool_timeout",
        "timeout",
        "keepalive_expiry",
        "source_address",
        "version",
    )
)
"""HTTPClient keywords the transport sets from httpx's own settings."""

PROXY_SCHEMES = tuple(CLIENT_PROXY_SCHEMES)
"""The proxy URL schemes the transport takes (our client's): httpx's four
(``httpx.Proxy`` knows those), and SOCKS4 and 4a, which ``httpx.Proxy`` refuses:
give those as a URL."""

TimeoutKey = Tuple[Optional[float], Optional[float], Optional[float]]


class WriteTimedOut(Exception):
    """The ``write`` timer of one block of the request body fired. Not an
    ``OSError``, so the client passes it through untranslated (and closes the
    connection)."""


class Upload:
    """The request body as our client wants it: an iterable of blocks, each block's
    send bounded by the ``write`` timeout. ``sending`` tells the error mapping that
    a failure happened while the body was going out."""

    __slots__ = ("source", "write", "sending", "timer")

    def __init__(self, source: Iterable[bytes], write: Optional[float]) -> None:
        self.source = source
        self.write = write
        self.sending = False
        self.timer: Optional[gevent.Timeout] = None

    def __iter__(self) -> Iterator[bytes]:
        self.sending = True
        write = self.write
        for data in self.source:
            for start in range(0, len(data), ONE_WRITE):
                block = data[start : start + ONE_WRITE] if len(data) > ONE_WRITE else data
                if write is None:
                    yield block
                    continue
                # Armed while the client sends this block: between this yield and
                # the next pull, or until close() after a failure.
                self.timer = gevent.Timeout.start_new(write, WriteTimedOut(write))
                yield block
                self.timer.close()
                self.timer = None
        self.sending = False

    def close(self) -> None:
        """Disarm a timer left running when the client stopped mid-body."""
        if self.timer is not None:
            self.timer.close()
            self.timer = None


def map_error(module: Any, exc: BaseException, request: Any, writing: bool) -> BaseException:
    """``module``'s (httpx's or httpx2's) exception for one of ours (returned, not
    raised, for ``from``); the exception itself if httpx has no counterpart."""
    cls: Any
    if isinstance(exc, WriteTimedOut):
        return module.WriteTimeout(f"sending the request body took over {exc}s", request=request)
    if isinstance(exc, errors.PoolTimeout):
        cls = module.PoolTimeout
    elif isinstance(exc, errors.ConnectTimeout):
        cls = module.ConnectTimeout
    elif isinstance(exc, errors.ProxyError):
        cls = module.ProxyError
    elif isinstance(exc, errors.TimeoutError):
        cls = module.WriteTimeout if writing else module.ReadTimeout
    elif isinstance(exc, (errors.ConnectError, errors.TLSError)):
        cls = module.ConnectError
    elif isinstance(exc, errors.ConnectionClosed):
        cls = module.WriteError if writing else module.RemoteProtocolError
    elif isinstance(exc, errors.IncompleteResponse) and isinstance(exc.__cause__, OSError):
        # reset in the middle of the response: a failed read, as httpcore says; a
        # clean close before the end stays a RemoteProtocolError (below)
        cls = module.WriteError if writing else module.ReadError
    elif isinstance(exc, errors.NetworkError):
        cls = module.WriteError if writing else module.ReadError
    elif isinstance(exc, errors.ProtocolError):
        cls = module.RemoteProtocolError
    elif isinstance(exc, (errors.RequestError, errors.InvalidURL)):
        cls = module.LocalProtocolError
    else:
        return exc
    # an OSError's text without its "[Errno N]" prefix, as httpcore words its errors
    text = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    error: BaseException = cls(text or type(exc).__name__, request=request)
    return error


def soon(done: Callable[[], None]) -> None:
    """Run ``done`` from the hub: a finaliser may run in the middle of another
    greenlet's use of the semaphore it releases."""
    gevent.get_hub().loop.run_callback(done)


def raw_headers(response: HTTPSocketPoolResponse) -> List[Tuple[bytes, bytes]]:
    return [(n.encode("latin-1"), v.encode("latin-1")) for n, v in response.headers.items()]


class ResponseStream:
    """The body of one of our responses, as httpx reads it: each block as soon as it
    arrives (an event stream is not held back to fill a buffer). A mixin: the public
    modules add their module's ``SyncByteStream`` as the second base, since httpx
    checks a response stream's class.

    The transport's slot (``max_connections``) is given back once, when the body
    ends, fails or is closed; if the stream is dropped unclosed, when it is
    collected (our response then gives its connection back the same way)."""

    def __init__(
        self,
        module: Any,
        response: HTTPSocketPoolResponse,
        request: Any,
        done: Optional[Callable[[], None]],
    ) -> None:
        self._module = module
        self._response = response
        self._request = request
        self._done = done
        self._guard = weakref.finalize(self, soon, done) if done is not None else None

    def __iter__(self) -> Iterator[bytes]:
        response = self._response
        try:
            if response.message_complete:  # the whole body came with the head
                data = response.read()
                if data:
                    yield data
            else:
                block = bytearray(response.block_size)
                view = memoryview(block)
                n = response.readinto(view)
                while n:
                    yield bytes(view[:n])
                    n = response.readinto(view)
        except Exception as exc:
            self._finish()  # our response closed its connection
            error = map_error(self._module, exc, self._request, writing=False)
            if error is exc:
                raise
            raise error from exc
        self._finish()  # the body is in: the connection is back in the pool

    def close(self) -> None:
        """Give the connection back if the body was read to its end, else close it."""
        self._response.release()
        self._finish()

    def _finish(self) -> None:
        done, self._done = self._done, None
        if done is not None:
            if self._guard is not None:
                self._guard.detach()
            done()


class Transport:
    """The transport, for whichever module a subclass names. A subclass adds that
    module's ``BaseTransport`` as its second base and sets:"""

    module: ClassVar[Any]
    """httpx or httpx2: the module whose requests this transport takes, and whose
    responses, streams and exceptions it makes."""

    stream_class: ClassVar[Callable[..., Any]]
    """:class:`ResponseStream` with the module's ``SyncByteStream`` as a base."""

    def __init__(
        self,
        verify: Any,
        cert: Any,
        trust_env: bool,
        http1: bool,
        http2: bool,
        limits: Any,
        proxy: Any,
        uds: Optional[str],
        local_address: Optional[str],
        retries: int,
        socket_options: Any,
        client_args: Dict[str, Any],
    ) -> None:
        name = type(self).__name__
        if http2 or not http1:
            raise ValueError(f"{name} speaks HTTP/1.1 only: http2=True is not supported")
        if socket_options is not None:
            raise ValueError(f"{name} does not support socket_options=")
        if uds is not None and proxy is not None:
            raise ValueError(f"{name} takes uds= or proxy=, not both")
        taken = sorted(set(client_args) & SET_FROM_HTTPX)
        if taken:
            raise TypeError(
                f"{name} sets {', '.join(taken)} from httpx's settings "
                "(timeout=, limits=, verify=, proxy=, uds=, local_address=)"
            )
        module = self.module
        # The SSL context is made when the first https origin needs it: loading the
        # trust store takes about 40 ms of the hub, which a transport that only
        # speaks http (or is made per test, per worker) need not pay.
        self._tls_settings = (verify, cert, trust_env)
        self._ssl_context: Optional[ssl.SSLContext] = None
        if isinstance(verify, ssl.SSLContext):
            insecure = verify.verify_mode == ssl.CERT_NONE
        else:
            insecure = verify is False
        kw: Dict[str, Any] = dict(client_args)
        kw.setdefault("dns_cache", True)
        kw["ssl_context_factory"] = self._context_factory
        kw["insecure"] = insecure
        if local_address is not None:
            kw["source_address"] = local_address
        if proxy is not None:
            kw["proxy"] = proxy_url(module, proxy, name)
            if isinstance(proxy, module.Proxy) and proxy.ssl_context is not None:
                kw["proxy_ssl_context"] = proxy.ssl_context  # TLS to an https proxy
        if uds is not None:
            kw["uds"] = uds
        max_connections = limits.max_connections
        kw["concurrency"] = UNLIMITED if max_connections is None else max_connections
        if limits.keepalive_expiry is not None:
            kw["keepalive_expiry"] = limits.keepalive_expiry
        if limits.max_keepalive_connections == 0:
            kw.setdefault("max_requests_per_connection", 1)
        self._client_args = kw
        self._slots = (
            None if max_connections is None else gevent.lock.BoundedSemaphore(max_connections)
        )
        self.limits = limits
        self.retries = retries
        self._clients: Dict[Tuple[str, str, Optional[int], TimeoutKey], HTTPClient] = {}
        self._closed = False

    def _context_factory(self, **_: Any) -> ssl.SSLContext:
        # Our client asks its factory once per https client (with cafile=, which
        # httpx's context does not need: it has its trust store already). The
        # context is made as httpx's own transport makes it, once per transport.
        context = self._ssl_context
        if context is None:
            verify, cert, trust_env = self._tls_settings
            context = self.module.create_ssl_context(verify=verify, cert=cert, trust_env=trust_env)
            self._ssl_context = context
        return context

    def clients(self) -> Tuple[HTTPClient, ...]:
        """The clients made so far (one per origin and timeout setting), for their
        :meth:`~geventhttpclient.HTTPClient.statistics`."""
        return tuple(self._clients.values())

    def _client(self, url: Any, timeouts: TimeoutKey) -> HTTPClient:
        key = (url.scheme, url.host, url.port, timeouts)
        client = self._clients.get(key)
        if client is None:
            if self._closed:
                raise RuntimeError("the transport is closed")
            connect, read, pool = timeouts
            client = HTTPClient(
                url.host,
                url.port,
                ssl=url.scheme == "https",
                connection_timeout=connect,
                network_timeout=read,
                pool_timeout=pool,
                **self._client_args,
            )
            self._clients[key] = client
        return client

    def handle_request(self, request: Any) -> Any:
        """Send ``request`` and return the response once its head has arrived, the
        body still to be streamed. Raises httpx's exceptions (see the module docstring
        of :mod:`geventhttpclient.contrib.httpx`)."""
        module = self.module
        url = request.url
        if url.scheme not in ("http", "https"):
            raise module.UnsupportedProtocol(
                f"unsupported URL scheme {url.scheme!r}: "
                f"{type(self).__name__} speaks http and https",
                request=request,
            )
        timeout = request.extensions.get("timeout") or {}
        write = timeout.get("write")
        client = self._client(
            url, (timeout.get("connect"), timeout.get("read"), timeout.get("pool"))
        )
        target = url.raw_path.decode("ascii")
        if target.startswith("//"):  # not origin-form: send it in absolute form
            target = str(url.copy_with(fragment=None))
        body, upload = request_body(module, request.stream, write)
        slots = self._slots
        done: Optional[Callable[[], None]] = None
        if slots is not None:
            if not slots.acquire(timeout=timeout.get("pool")):
                raise module.PoolTimeout("no connection slot became free in time", request=request)
            done = slots.release
        try:
            response = self._send(client, request, target, body, upload)
        except BaseException:
            if done is not None:
                done()
            raise
        if done is not None and response.message_complete:
            done()  # its connection is back in the pool already
            done = None
        return module.Response(
            response.status_code,
            headers=raw_headers(response),
            stream=self.stream_class(module, response, request, done),
            extensions={
                "http_version": response.version.encode("ascii"),
                "reason_phrase": response.status_message.encode("latin-1"),
            },
        )

    def _send(
        self,
        client: HTTPClient,
        request: Any,
        target: str,
        body: Any,
        upload: Optional[Upload],
    ) -> HTTPSocketPoolResponse:
        """``client.request``, with connection failures retried and errors translated."""
        headers = request.headers.raw
        method = request.method
        retries = self.retries
        attempt = 0
        try:
            while True:
                try:
                    return client.request(method, target, body, headers)
                except (errors.ConnectError, errors.ConnectTimeout) as exc:
                    if (
                        attempt >= retries
                        or isinstance(exc, errors.ProxyError)
                        or (upload is not None and upload.sending)
                    ):
                        raise
                    if attempt:
                        gevent.sleep(RETRY_BACKOFF * 2 ** (attempt - 1))
                    attempt += 1
        except Exception as exc:
            writing = upload is not None and upload.sending
            error = map_error(self.module, exc, request, writing=writing)
            if error is exc:
                raise
            raise error from exc
        finally:
            if upload is not None:
                upload.close()

    def close(self) -> None:
        """Close every client: idle connections now, those of responses still being
        read as well (their reads then fail). Later requests raise ``RuntimeError``."""
        self._closed = True
        clients, self._clients = self._clients, {}
        for client in clients.values():
            client.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {len(self._clients)} clients, limits={self.limits!r}>"


def request_body(module: Any, stream: Any, write: Optional[float]) -> Tuple[Any, Optional[Upload]]:
    """What our client sends for ``request.stream``: bytes for a small body of known
    content, else an :class:`Upload` over its blocks. httpx has set the framing
    field already (Content-Length, or Transfer-Encoding: chunked for a stream of
    unknown length), and our client frames the body as that field says."""
    if isinstance(stream, module.ByteStream):
        data = b"".join(stream)
        if len(data) <= ONE_WRITE:
            return data, None
        stream = (data,)
    upload = Upload(stream, write)
    return upload, upload


def proxy_url(module: Any, proxy: Any, name: str) -> str:
    """Our client's ``proxy=`` for an httpx proxy setting: the proxy's URL with its
    credentials in it (percent-encoded), whichever way httpx was given them
    (in the URL, ``Proxy(auth=...)``, or a Basic ``Proxy-Authorization`` header).

    Raises ``ValueError`` as ``httpx.Proxy`` does for a scheme not in
    :data:`PROXY_SCHEMES`, and for what our client cannot send: headers to the
    proxy other than Basic credentials (none at all to a SOCKS proxy, which httpx
    would drop). (``Proxy(ssl_context=...)`` goes to the client apart: the TLS
    context of an https proxy, which is otherwise verified as ``verify`` says.)"""
    if isinstance(proxy, module.Proxy):
        url, auth, headers = proxy.url, proxy.auth, proxy.headers
    else:
        url = module.URL(proxy)
        auth = (url.username, url.password) if url.username or url.password else None
        headers = None
    scheme = url.scheme
    if scheme not in PROXY_SCHEMES:
        raise ValueError(
            f"Unknown scheme for proxy URL {str(url.copy_with(username=None, password=None))!r}: "
            f"{name} takes {', '.join(s + '://' for s in PROXY_SCHEMES)}"
        )
    if not url.host:
        raise ValueError(f"proxy URL {str(url.copy_with(password=None))!r} has no host")
    if headers:
        auth = auth_from_headers(headers, auth, scheme, name)
    userinfo = ""
    if auth is not None:
        user, password = auth
        userinfo = f"{quote(user or '', safe='')}:{quote(password or '', safe='')}@"
    host = f"[{url.host}]" if ":" in url.host else url.host
    port = "" if url.port is None else f":{url.port}"
    return f"{scheme}://{userinfo}{host}{port}"


def auth_from_headers(headers: Any, auth: Any, scheme: str, name: str) -> Tuple[str, str]:
    """The credentials of a ``Proxy(headers={"Proxy-Authorization": "Basic ..."})``:
    our client builds that field itself from a user and password (the same bytes
    for the same credentials), and sends no other field to a proxy."""
    if scheme not in ("http", "https") or set(headers) != {"proxy-authorization"}:
        raise ValueError(
            f"{name} sends no proxy headers other than a Basic Proxy-Authorization "
            "to an http:// or https:// proxy: give credentials in the URL or Proxy(auth=...)"
        )
    if auth is not None:
        raise ValueError(f"{name}: give the proxy's credentials once, not as auth and a header")
    kind, _, token = headers["proxy-authorization"].partition(" ")
    try:
        user, colon, password = (
            base64.b64decode(token.strip(), validate=True).decode().partition(":")
        )
    except (binascii.Error, UnicodeDecodeError):
        colon = ""
    if kind.lower() != "basic" or not colon:
        raise ValueError(f"{name} sends Basic proxy credentials only")
    return user, password
