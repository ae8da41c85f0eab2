"""geventhttpclient: a fast, concurrent HTTP/1.1 client for gevent.

Its response parser is our own C code (``csrc/``) built with cffi, so the same
package runs at full speed on CPython and PyPy. See README.md for the tour.
"""

from ._decoding import DecodingError, DecompressionLimitExceeded
from ._dns import DNSCache, dns_cache_info
from ._net import ssl_context_cache_info
from ._version import __version__
from .client import HTTPClient, HTTPClientPool
from .exceptions import (
    ClientClosed,
    ConnectError,
    ConnectionClosed,
    ConnectTimeout,
    HTTPError,
    HTTPParseError,
    IncompleteResponse,
    LimitExceeded,
    NetworkError,
    PoolClosed,
    PoolTimeout,
    ProtocolError,
    ProxyAuthenticationError,
    ProxyError,
    ProxyProtocolError,
    ReadTimeout,
    RequestError,
    RequestTimeout,
    StreamLimitExceeded,
    TLSError,
)
from .header import Headers
from .url import URL

# The requests-style API (geventhttpclient.requests, .api) is loaded on first use: it
# pulls in useragent, http.cookiejar and mimetypes, which plain HTTPClient users never
# need (about 58 ms of imports).
_LAZY = {
    "request": "api",
    "get": "api",
    "options": "api",
    "head": "api",
    "post": "api",
    "put": "api",
    "patch": "api",
    "delete": "api",
    "Session": "requests",
    "Response": "requests",
    "HTTPBasicAuth": "requests",
    "HTTPStatusError": "requests",
    "UserAgent": "useragent",
    "BasicAuth": "auth",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


__all__ = [
    "__version__",
    "HTTPClient",
    "HTTPClientPool",
    "Headers",
    "URL",
    "DNSCache",
    "dns_cache_info",
    "HTTPError",
    "HTTPParseError",
    "DecodingError",
    "DecompressionLimitExceeded",
    "IncompleteResponse",
    "LimitExceeded",
    "StreamLimitExceeded",
    "NetworkError",
    "ConnectError",
    "ConnectTimeout",
    "ConnectionClosed",
    "PoolTimeout",
    "PoolClosed",
    "ClientClosed",
    "ProtocolError",
    "ProxyError",
    "ProxyAuthenticationError",
    "ProxyProtocolError",
    "ReadTimeout",
    "RequestError",
    "RequestTimeout",
    "TLSError",
    "request",
    "get",
    "options",
    "head",
    "post",
    "put",
    "patch",
    "delete",
    "Session",
    "Response",
    "HTTPBasicAuth",
    "HTTPStatusError",
    "UserAgent",
    "BasicAuth",
    "ssl_context_cache_info",
]
