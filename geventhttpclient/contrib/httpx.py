"""An httpx transport on geventhttpclient's pools: ``httpx.Client`` without monkey-patching.

    pip install "geventhttpclient[httpx]"

    import httpx
    from geventhttpclient.contrib.httpx import GeventTransport

    client = httpx.Client(transport=GeventTransport(limits=httpx.Limits(max_connections=50)))

Everything above the wire stays httpx's: redirects (``follow_redirects``), auth,
cookies, Content-Encoding decoding, event hooks. Everything on it is ours: the
connection per origin, keep-alive, TLS, proxies, timeouts. SDKs that take an
``http_client`` (OpenAI's, for one) run on our engine this way. The OpenAI SDK 3.x
takes an ``httpx2.Client`` (httpx2: a fork of httpx under another name, with classes
of its own): :mod:`geventhttpclient.contrib.httpx2` is this transport made with
httpx2's classes.

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
* ``proxy``: an ``httpx.Proxy`` or a proxy URL, of any scheme our client speaks
  (:data:`PROXY_SCHEMES`): ``http://`` (plain HTTP goes to it in absolute form,
  HTTPS through a CONNECT tunnel), ``https://`` (the same over TLS to the proxy,
  verified with the transport's ``verify``/``cert`` context; TLS inside that TLS
  for https origins), ``socks5://`` and ``socks4://`` (we resolve the origin's name),
  ``socks5h://`` and ``socks4a://`` (the proxy does). ``httpx.Proxy`` knows no
  SOCKS4: give those as a URL string. Credentials come from the URL,
  ``Proxy(auth=...)`` or a Basic ``Proxy-Authorization`` in ``Proxy(headers=...)``;
  other proxy headers, and ``Proxy(ssl_context=...)``, are refused when the
  transport is made (``ValueError``). Proxies from the environment
  (``HTTP_PROXY``, ``ALL_PROXY``...) are ``httpx.Client``'s business, and it applies
  them only to transports it makes itself: with this one, pass ``proxy=``.
* ``uds``: every connection goes to this Unix domain socket instead of the URL's
  host and port, which still make the ``Host`` field (and, for ``https``, the name
  TLS checks), as with ``httpx.HTTPTransport(uds=...)``. Not with ``proxy``.
* A request without a ``timeout`` extension (a transport called directly, not
  through ``httpx.Client``) has no time limits, as with httpcore.
* ``retries``: connection failures (refused, unreachable, connect timeout) are tried
  again up to this many times, after 0, 0.5, 1, 2... seconds, as httpcore does;
  nothing is re-sent once a request may have reached the server.
* ``http2=True`` (or ``http1=False``) is refused: this engine speaks HTTP/1.1.

Errors are translated once, here, into httpx's classes, with ours as ``__cause__``:
``ConnectTimeout``, ``ReadTimeout``, ``WriteTimeout`` (the body's send timer, or the
socket's timeout while the body was being sent), ``PoolTimeout``, ``ConnectError``
(refused, DNS, TLS), ``ProxyError`` (our ``ProxyError`` and its subclasses: the
proxy refused the tunnel or the credentials, or broke its protocol),
``ReadError``/``WriteError`` (the transport failed while receiving/sending the
body), ``RemoteProtocolError`` (a malformed response, a body cut short, the
connection closed before any response),
``LocalProtocolError`` (a request that cannot be sent as given) and
``UnsupportedProtocol`` (a scheme other than http and https). A caller's own
``gevent.Timeout`` passes through untouched.
"""

from __future__ import annotations

import ssl
from typing import Any, ClassVar, Optional, Union

import httpx

from geventhttpclient.contrib._httpx_transport import (
    ONE_WRITE,
    PROXY_SCHEMES,
    ResponseStream,
    Transport,
)

__all__ = ["GeventTransport", "ONE_WRITE", "PROXY_SCHEMES"]


class _ResponseStream(ResponseStream, httpx.SyncByteStream):
    """Our response's body as httpx's ``SyncByteStream``: httpx reads only those."""


class GeventTransport(Transport, httpx.BaseTransport):
    """An ``httpx.BaseTransport`` sending through geventhttpclient's connection pools.

    The arguments are ``httpx.HTTPTransport``'s (see the module docstring for how
    each maps to ours): ``verify``, ``cert``, ``trust_env``, ``http1``, ``http2``,
    ``limits``, ``proxy``, ``uds``, ``local_address``, ``retries``. Any other keyword goes to
    every :class:`~geventhttpclient.HTTPClient` made (``block_size``,
    ``resolve``, ``dns_cache``, ``max_connection_age``, ``trace``...), except those
    set from httpx's settings (``TypeError`` for them). ``dns_cache`` defaults to
    True, as in :class:`~geventhttpclient.HTTPClientPool`.

    Raises ``ValueError`` for ``http2=True``, ``http1=False``,
    ``socket_options``, ``uds`` with ``proxy``, and for a proxy it cannot use
    (an unknown scheme, headers other than credentials, ``Proxy.ssl_context``).

    The implementation is shared with :mod:`geventhttpclient.contrib.httpx2`
    (``geventhttpclient.contrib._httpx_transport``); this class gives it httpx's
    classes.
    """

    module: ClassVar[Any] = httpx
    stream_class = _ResponseStream

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
        super().__init__(
            verify,
            cert,
            trust_env,
            http1,
            http2,
            limits,
            proxy,
            uds,
            local_address,
            retries,
            socket_options,
            client_args,
        )
