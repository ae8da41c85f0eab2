"""An httpx transport on geventhttpclient's pools: ``httpx.Client`` without monkey-patching.

    pip install "geventhttpclient[httpx]"

    import httpx
    from geventhttpclient.contrib.httpx import GeventTransport

    client = httpx.Client(transport=GeventTransport(limits=httpx.Limits(max_connections=50)))

Everything above the wire stays httpx's: redirects (``follow_redirects``), auth,
cookies, Content-Encoding decoding, event hooks. Everything on it is ours: the
connection per origin, keep-alive, TLS, proxies, timeouts. SDKs that take an
``http_client`` (OpenAI's, for one) run on our engine this way.

Theory of operation
-------------------
:meth:`GeventTransport.handle_request` picks an :class:`~geventhttpclient.HTTPClient`
for the request's origin and timeouts, sends the request through it (headers as
httpx made them; the body streamed from ``request.stream``) and wraps our response
in an ``httpx.Response`` whose stream reads from it. Our responses are raw: the body
is dechunked but never content-decoded, which is what httpx wants (it decodes
``Content-Encoding`` itself). The connection goes back to the pool when the body has
been read to its end; ``response.close()`` before that closes the connection (the
rest of the body is never read), as httpcore does.

How httpx's settings map to ours:

* ``Timeout(connect, read, write, pool)``, per request: our clients take their
  timeouts when made (a connection keeps its client's read timeout), so there is
  one client per origin *and* ``(connect, read, pool)`` triple, made on first use:
  ``connect`` is ``connection_timeout``, ``read`` is ``network_timeout`` (the bound
  on each wait for the server, which the socket applies to sends too), ``pool`` is
  ``pool_timeout``. Programs use one or two timeout settings, so this is one or two
  clients per origin. ``write`` bounds each block of the request body handed to
  the socket (a timer around each send); a body of at most :data:`ONE_WRITE` bytes
  goes out with the head in one write, which fits the socket's buffer, and has no
  timer.
* ``Limits(max_connections, max_keepalive_connections, keepalive_expiry)``:
  ``max_connections`` bounds the requests in flight through this transport, all
  origins together (a request holds its slot from sending until its body is read
  or closed; waiting for a slot is bounded by ``Timeout.pool``), and is each
  client's ``concurrency``. Idle connections do not hold a slot: with several
  origins, idle connections may add up past ``max_connections`` (httpcore would
  close one of another origin to make room). ``keepalive_expiry`` is ours.
  ``max_keepalive_connections=0`` makes every connection serve one request
  (``max_requests_per_connection=1``); any other value is not enforced: up to
  ``max_connections`` idle connections per client are kept, each until
  ``keepalive_expiry``.
* ``verify``, ``cert``, ``trust_env``: the SSL context is made by
  ``httpx.create_ssl_context``, as ``httpx.HTTPTransport`` makes it (certifi, or
  ``SSL_CERT_FILE``/``SSL_CERT_DIR`` with ``trust_env``), and used for every
  connection. A context given as ``verify=`` is used as it is, except that one
  verifying certificates is set to check host names too.
* ``proxy``: an ``http://`` proxy (with credentials in the URL or ``Proxy.auth``):
  plain HTTP goes to it in absolute form, HTTPS through a CONNECT tunnel. HTTPS and
  SOCKS proxies are refused when the transport is made. Proxies from the environment
  (``HTTP_PROXY``...) are ``httpx.Client``'s business, and it applies them only to
  transports it makes itself: with this one, pass ``proxy=``.
* A request without a ``timeout`` extension (a transport called directly, not
  through ``httpx.Client``) has no time limits, as with httpcore.
* ``retries``: connection failures (refused, unreachable, connect timeout) are tried
  again up to this many times, after 0, 0.5, 1, 2... seconds, as httpcore does;
  nothing is re-sent once a request may have reached the server.
* ``http2=True`` (or ``http1=False``) is refused: this engine speaks HTTP/1.1.

Errors are translated once, here, into httpx's classes, with ours as ``__cause__``:
``ConnectTimeout``, ``ReadTimeout``, ``WriteTimeout`` (the body's send timer, or the
socket's timeout while the body was being sent), ``PoolTimeout``, ``ConnectError``
(refused, DNS, TLS), ``ProxyError``, ``ReadError``/``WriteError`` (the transport
failed while receiving/sending the body), ``RemoteProtocolError`` (a malformed
response, a body cut short, the connection closed before any response),
``LocalProtocolError`` (a request that cannot be sent as given) and
``UnsupportedProtocol`` (a scheme other than http and https). A caller's own
``gevent.Timeout`` passes through untouched.
"""

from __future__ import annotations

import ssl
import weakref
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Tuple, Type, Union

import gevent
import gevent.lock
import httpx

from geventhttpclient import exceptions as errors
from geventhttpclient.client import HTTPClient
from geventhttpclient.response import HTTPSocketPoolResponse

__all__ = ["GeventTransport", "ONE_WRITE"]

ONE_WRITE = 65536
"""Request bodies of at most this many bytes go out with the head in one write
(our client's own threshold) and without a ``write`` timer: they fit the socket's
send buffer. Larger ones are streamed in blocks of this size, each send timed."""

UNLIMITED = 1 << 30
"""The ``concurrency`` of a client when ``max_connections`` is None."""

RETRY_BACKOFF = 0.5
"""Seconds before the second retry of a failed connection; each later one doubles
it (the first is at once), as httpcore's transport waits."""

_OURS = frozenset(
    (
        "host",
        "port",
        "ssl",
        "ssl_options",
        "ssl_context_factory",
        "insecure",
        "proxy_host",
        "proxy_port",
        "proxy_user",
        "proxy_password",
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
"""HTTPClient keywords this transport sets from httpx's own settings."""

_TimeoutKey = Tuple[Optional[float], Optional[float], Optional[float]]


class _WriteTimedOut(Exception):
    """The ``write`` timer of one block of the request body fired. Not an
    ``OSError``, so the client passes it through untranslated (and closes the
    connection)."""


class _Upload:
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
                self.timer = gevent.Timeout.start_new(write, _WriteTimedOut(write))
                yield block
                self.timer.close()
                self.timer = None
        self.sending = False

    def close(self) -> None:
        """Disarm a timer left running when the client stopped mid-body."""
        if self.timer is not None:
            self.timer.close()
            self.timer = None


def _map_error(exc: BaseException, request: httpx.Request, writing: bool) -> BaseException:
    """httpx's exception for one of ours (returned, not raised, for ``from``); the
    exception itself if httpx has no counterpart."""
    cls: Type[httpx.TransportError]
    if isinstance(exc, _WriteTimedOut):
        return httpx.WriteTimeout(f"sending the request body took over {exc}s", request=request)
    if isinstance(exc, errors.PoolTimeout):
        cls = httpx.PoolTimeout
    elif isinstance(exc, errors.ConnectTimeout):
        cls = httpx.ConnectTimeout
    elif isinstance(exc, errors.ProxyError):
        cls = httpx.ProxyError
    elif isinstance(exc, errors.TimeoutError):
        cls = httpx.WriteTimeout if writing else httpx.ReadTimeout
    elif isinstance(exc, (errors.ConnectError, errors.TLSError)):
        cls = httpx.ConnectError
    elif isinstance(exc, errors.ConnectionClosed):
        cls = httpx.WriteError if writing else httpx.RemoteProtocolError
    elif isinstance(exc, errors.IncompleteResponse) and isinstance(exc.__cause__, OSError):
        # reset in the middle of the response: a failed read, as httpcore says; a
        # clean close before the end stays a RemoteProtocolError (below)
        cls = httpx.WriteError if writing else httpx.ReadError
    elif isinstance(exc, errors.NetworkError):
        cls = httpx.WriteError if writing else httpx.ReadError
    elif isinstance(exc, errors.ProtocolError):
        cls = httpx.RemoteProtocolError
    elif isinstance(exc, (errors.RequestError, errors.InvalidURL)):
        cls = httpx.LocalProtocolError
    else:
        return exc
    # an OSError's text without its "[Errno N]" prefix, as httpcore words its errors
    text = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return cls(text or type(exc).__name__, request=request)


def _soon(done: Callable[[], None]) -> None:
    """Run ``done`` from the hub: a finaliser may run in the middle of another
    greenlet's use of the semaphore it releases."""
    gevent.get_hub().loop.run_callback(done)


def _raw_headers(response: HTTPSocketPoolResponse) -> List[Tuple[bytes, bytes]]:
    return [(n.encode("latin-1"), v.encode("latin-1")) for n, v in response.headers.items()]


class _ResponseStream(httpx.SyncByteStream):
    """The body of one of our responses, as httpx reads it: each block as soon as it
    arrives (an event stream is not held back to fill a buffer).

    The transport's slot (``max_connections``) is given back once, when the body
    ends, fails or is closed; if the stream is dropped unclosed, when it is
    collected (our response then gives its connection back the same way)."""

    def __init__(
        self,
        response: HTTPSocketPoolResponse,
        request: httpx.Request,
        done: Optional[Callable[[], None]],
    ) -> None:
        self._response = response
        self._request = request
        self._done = done
        self._guard = weakref.finalize(self, _soon, done) if done is not None else None

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
            error = _map_error(exc, self._request, writing=False)
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


class GeventTransport(httpx.BaseTransport):
    """An ``httpx.BaseTransport`` sending through geventhttpclient's connection pools.

    The arguments are ``httpx.HTTPTransport``'s (see the module docstring for how
    each maps to ours): ``verify``, ``cert``, ``trust_env``, ``http1``, ``http2``,
    ``limits``, ``proxy``, ``local_address``, ``retries``. Any other keyword goes to
    every :class:`~geventhttpclient.HTTPClient` made (``block_size``,
    ``resolve``, ``dns_cache``, ``max_connection_age``, ``trace``...), except those
    set from httpx's settings (``TypeError`` for them). ``dns_cache`` defaults to
    True, as in :class:`~geventhttpclient.HTTPClientPool`.

    Raises ``ValueError`` for ``http2=True``, ``http1=False``, ``uds`` or
    ``socket_options``, and for a proxy other than ``http://``.
    """

    def __init__(
        self,
        verify: Union[ssl.SSLContext, str, bool] = True,
        cert: Any = None,
        trust_env: bool = True,
        http1: bool = True,
        http2: bool = False,
        limits: httpx.Limits = httpx.Limits(max_connections=100, max_keepalive_connections=20),  # noqa: B008 - immutable, httpx's default
        proxy: Union[httpx.Proxy, httpx.URL, str, None] = None,
        uds: Optional[str] = None,
        local_address: Optional[str] = None,
        retries: int = 0,
        socket_options: Any = None,
        **client_args: Any,
    ) -> None:
        if http2 or not http1:
            raise ValueError("GeventTransport speaks HTTP/1.1 only: http2=True is not supported")
        if uds is not None or socket_options is not None:
            raise ValueError("GeventTransport does not support uds= or socket_options=")
        taken = sorted(set(client_args) & _OURS)
        if taken:
            raise TypeError(
                f"GeventTransport sets {', '.join(taken)} from httpx's settings "
                "(timeout=, limits=, verify=, proxy=, local_address=)"
            )
        context = httpx.create_ssl_context(verify=verify, cert=cert, trust_env=trust_env)
        self._ssl_context = context
        kw: Dict[str, Any] = dict(client_args)
        kw.setdefault("dns_cache", True)
        kw["ssl_context_factory"] = self._context_factory
        kw["insecure"] = context.verify_mode == ssl.CERT_NONE
        if local_address is not None:
            kw["source_address"] = local_address
        if proxy is not None:
            kw.update(_proxy_args(proxy))
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
        self._clients: Dict[Tuple[str, str, Optional[int], _TimeoutKey], HTTPClient] = {}
        self._closed = False

    def _context_factory(self, **_: Any) -> ssl.SSLContext:
        # Our client asks its factory once per client (with cafile=, which httpx's
        # context does not need: it has its trust store already).
        return self._ssl_context

    def clients(self) -> Tuple[HTTPClient, ...]:
        """The clients made so far (one per origin and timeout setting), for their
        :meth:`~geventhttpclient.HTTPClient.statistics`."""
        return tuple(self._clients.values())

    def _client(self, url: httpx.URL, timeouts: _TimeoutKey) -> HTTPClient:
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

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` and return the response once its head has arrived, the
        body still to be streamed. Raises httpx's exceptions (see the module docstring)."""
        url = request.url
        if url.scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(
                f"unsupported URL scheme {url.scheme!r}: GeventTransport speaks http and https",
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
        body, upload = _body(request.stream, write)
        slots = self._slots
        done: Optional[Callable[[], None]] = None
        if slots is not None:
            if not slots.acquire(timeout=timeout.get("pool")):
                raise httpx.PoolTimeout("no connection slot became free in time", request=request)
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
        return httpx.Response(
            response.status_code,
            headers=_raw_headers(response),
            stream=_ResponseStream(response, request, done),
            extensions={
                "http_version": response.version.encode("ascii"),
                "reason_phrase": response.status_message.encode("latin-1"),
            },
        )

    def _send(
        self,
        client: HTTPClient,
        request: httpx.Request,
        target: str,
        body: Any,
        upload: Optional[_Upload],
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
            error = _map_error(exc, request, writing=upload is not None and upload.sending)
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
        return f"<GeventTransport {len(self._clients)} clients, limits={self.limits!r}>"


def _body(stream: Any, write: Optional[float]) -> Tuple[Any, Optional[_Upload]]:
    """What our client sends for ``request.stream``: bytes for a small body of known
    content, else an :class:`_Upload` over its blocks. httpx has set the framing
    field already (Content-Length, or Transfer-Encoding: chunked for a stream of
    unknown length), and our client frames the body as that field says."""
    if isinstance(stream, httpx.ByteStream):
        data = b"".join(stream)
        if len(data) <= ONE_WRITE:
            return data, None
        stream = (data,)
    upload = _Upload(stream, write)
    return upload, upload


def _proxy_args(proxy: Union[httpx.Proxy, httpx.URL, str]) -> Dict[str, Any]:
    """Our client's proxy keywords for an httpx proxy setting."""
    if not isinstance(proxy, httpx.Proxy):
        proxy = httpx.Proxy(url=proxy)
    url = proxy.url
    if url.scheme != "http":
        raise ValueError(
            f"GeventTransport supports http:// proxies only, not {url.scheme}:// ({url})"
        )
    if proxy.headers and set(proxy.headers) != {"proxy-authorization"}:
        raise ValueError("GeventTransport does not send proxy headers other than credentials")
    kw: Dict[str, Any] = {"proxy_host": url.host, "proxy_port": url.port or 80}
    if proxy.auth is not None:
        kw["proxy_user"], kw["proxy_password"] = proxy.auth
    return kw
