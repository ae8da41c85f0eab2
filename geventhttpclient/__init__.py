"""geventhttpclient: a fast, concurrent HTTP/1.1 client for gevent.

Its response parser is our own C code (``csrc/``) built with cffi, so the same
package runs at full speed on CPython and PyPy. See README.md for the tour.
"""

from ._decoding import DecodingError, DecompressionLimitExceeded
from ._version import __version__
from .client import HTTPClient, HTTPClientPool
from .exceptions import (
    ConnectError,
    ConnectionClosed,
    ConnectTimeout,
    HTTPError,
    HTTPParseError,
    IncompleteResponse,
    LimitExceeded,
    NetworkError,
    PoolTimeout,
    ProtocolError,
    ReadTimeout,
    RequestError,
    RequestTimeout,
    TLSError,
)
from .header import Headers
from .url import URL

__all__ = [
    "__version__",
    "HTTPClient",
    "HTTPClientPool",
    "Headers",
    "URL",
    "HTTPError",
    "HTTPParseError",
    "DecodingError",
    "DecompressionLimitExceeded",
    "IncompleteResponse",
    "LimitExceeded",
    "NetworkError",
    "ConnectError",
    "ConnectTimeout",
    "ConnectionClosed",
    "PoolTimeout",
    "ProtocolError",
    "ReadTimeout",
    "RequestError",
    "RequestTimeout",
    "TLSError",
]
