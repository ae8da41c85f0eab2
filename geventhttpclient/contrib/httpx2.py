"""The httpx transport for httpx2: ``httpx2.Client`` without monkey-patching.

    pip install "geventhttpclient[httpx2]"

    import httpx2
    import openai
    from geventhttpclient.contrib.httpx2 import GeventTransport

    client = openai.OpenAI(http_client=httpx2.Client(transport=GeventTransport()))

httpx2 is a fork of httpx with the same API under another module name, and the
OpenAI Python SDK takes an ``httpx2.Client`` from its 3.0 on (``openai`` < 3 takes
an ``httpx.Client``: use :mod:`geventhttpclient.contrib.httpx` there). The two
packages' classes are distinct: an ``httpx2.Client`` reads only httpx2's response
streams, and SDKs built on it catch httpx2's exceptions. So this module is
:mod:`geventhttpclient.contrib.httpx`'s transport made with httpx2's classes; the
code is the same (``geventhttpclient.contrib._httpx_transport``), and so are the
arguments, the behaviour and the mapping of settings and errors, documented
there. Read ``httpx2`` for ``httpx`` in it.
"""

from __future__ import annotations

import ssl
from typing import Any, ClassVar, Optional, Union

import httpx2  # type: ignore[import-not-found, unused-ignore]  # a 3.11+ package

from geventhttpclient.contrib._httpx_transport import (
    ONE_WRITE,
    PROXY_SCHEMES,
    ResponseStream,
    Transport,
)

__all__ = ["GeventTransport", "ONE_WRITE", "PROXY_SCHEMES"]


class _ResponseStream(ResponseStream, httpx2.SyncByteStream):
    """Our response's body as httpx2's ``SyncByteStream``: httpx2 reads only those."""


class GeventTransport(Transport, httpx2.BaseTransport):
    """An ``httpx2.BaseTransport`` sending through geventhttpclient's connection pools.

    The arguments are ``httpx2.HTTPTransport``'s (see
    :mod:`geventhttpclient.contrib.httpx` for how each maps to ours): ``verify``,
    ``cert``, ``trust_env``, ``http1``, ``http2``, ``limits``, ``proxy``, ``uds``,
    ``local_address``, ``retries``. Any other keyword goes to
    every :class:`~geventhttpclient.HTTPClient` made (``block_size``,
    ``resolve``, ``dns_cache``, ``max_connection_age``, ``trace``...), except those
    set from httpx2's settings (``TypeError`` for them). ``dns_cache`` defaults to
    True, as in :class:`~geventhttpclient.HTTPClientPool`.

    Raises ``ValueError`` for ``http2=True``, ``http1=False``,
    ``socket_options``, ``uds`` with ``proxy``, and for a proxy it cannot use
    (an unknown scheme, headers other than credentials, ``Proxy.ssl_context``).

    The implementation is shared with :mod:`geventhttpclient.contrib.httpx`
    (``geventhttpclient.contrib._httpx_transport``); this class gives it httpx2's
    classes.
    """

    module: ClassVar[Any] = httpx2
    stream_class = _ResponseStream

    def __init__(
        self,
        verify: Union[ssl.SSLContext, str, bool] = True,
        cert: Any = None,
        trust_env: bool = True,
        http1: bool = True,
        http2: bool = False,
        limits: httpx2.Limits = httpx2.Limits(max_connections=100, max_keepalive_connections=20),  # noqa: B008 - immutable, httpx2's default
        proxy: Union[httpx2.Proxy, httpx2.URL, str, None] = None,
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
