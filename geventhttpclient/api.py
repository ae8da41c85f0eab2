"""``geventhttpclient.get(...)`` and friends: one request each, requests-style.

Each call runs in a short-lived :class:`~geventhttpclient.requests.Session` that is
closed before the call returns, as ``requests.get`` does (retired, for a
``stream=True`` response: the body is still to be read). That keeps module
calls free of shared state: no connection, cookie or proxy setting of one call can
leak into another, and nothing stays open after the call (a ``stream=True``
response keeps only its own connection, until its body is read or it is closed).
The price is a new connection per call; for many requests to the same host use a
:class:`~geventhttpclient.requests.Session`, which keeps connections alive.

The keyword arguments are those of :meth:`Session.request
<geventhttpclient.requests.Session.request>`; any other one is a ``TypeError``.
"""

from __future__ import annotations

from typing import Any, Union

from ._bodies import Payload as Payload
from .requests import RequestsResponse as RequestsResponse
from .requests import Response, Session
from .url import URL
from .url import ParamsDataType as ParamsDataType

__all__ = ["request", "get", "options", "head", "post", "put", "patch", "delete"]

UrlType = Union[str, URL]


def request(method: str, url: UrlType, **kw: Any) -> Response:
    """Send one ``method`` request to ``url`` and return its :class:`Response`."""
    session = Session()
    try:
        response = session.request(method, url, **kw)
    except BaseException:
        session.close()
        raise
    if kw.get("stream"):
        # The body is still to be read: its connection closes when it ends.
        session.retire()
    else:
        session.close()
    return response


def get(url: UrlType, params: Any = None, **kw: Any) -> Response:
    """GET ``url`` (with ``params`` as its query), following redirects."""
    kw.setdefault("allow_redirects", True)
    return request("GET", url, params=params, **kw)


def options(url: UrlType, **kw: Any) -> Response:
    kw.setdefault("allow_redirects", True)
    return request("OPTIONS", url, **kw)


def head(url: UrlType, **kw: Any) -> Response:
    """HEAD ``url``; redirects are not followed unless ``allow_redirects=True``."""
    kw.setdefault("allow_redirects", False)
    return request("HEAD", url, **kw)


def post(url: UrlType, data: Any = None, json: Any = None, **kw: Any) -> Response:
    return request("POST", url, data=data, json=json, **kw)


def put(url: UrlType, data: Any = None, **kw: Any) -> Response:
    return request("PUT", url, data=data, **kw)


def patch(url: UrlType, data: Any = None, **kw: Any) -> Response:
    return request("PATCH", url, data=data, **kw)


def delete(url: UrlType, **kw: Any) -> Response:
    return request("DELETE", url, **kw)
