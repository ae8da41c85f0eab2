"""``geventhttpclient.get(...)`` and friends: one request each, requests-style, over
shared keep-alive connections.

Each call stands alone, as ``requests.get`` does: it starts with no cookies, no
credentials and the default headers, and uses the proxies of its own arguments and
of the environment at that moment. Nothing a call sets or receives reaches another
call: cookies a response sets are kept only for that call's own redirects, and its
headers and credentials go only with its own requests.

What calls share is connections, as with urllib3's module-level ``urllib3.request()``:
the calls made in one OS thread (one gevent hub) draw on one set of keep-alive
pools, a pool per *(origin, proxy and its credentials, TLS settings, timeouts)*, so
a connection made with ``verify=False``, a client certificate or another proxy
never carries a call that asked for something else. The bounds:
:data:`SHARED_CONCURRENCY` connections per pool (a call beyond that does not wait:
it gets a connection of its own, closed when its response ends, as urllib3 does
with ``block=False``) and :data:`~geventhttpclient.requests.MAX_CLIENTS` pools (the
least recently used one beyond that closes once its requests end). Pools never
cross threads; a forked child starts with none of the parent's connections, and
they are closed at interpreter exit. A ``stream=True`` response holds its
connection until its body is read to the end or it is closed, then the connection
goes back to the pool.

For control over connections (closing them, their number) and for state that
carries over between requests (cookies, headers, auth), use a
:class:`~geventhttpclient.requests.Session`.

The keyword arguments are those of :meth:`Session.request
<geventhttpclient.requests.Session.request>`; any other one is a ``TypeError``.
"""

from __future__ import annotations

import atexit
import os
import weakref
from typing import Any, Optional, Tuple, Union

from gevent.hub import get_hub
from gevent.monkey import get_original

from ._bodies import Payload as Payload
from .exceptions import PoolTimeout, WrongThread
from .requests import RequestsResponse as RequestsResponse
from .requests import Response, Session
from .url import URL
from .url import ParamsDataType as ParamsDataType
from .useragent import send_once

__all__ = ["request", "get", "options", "head", "post", "put", "patch", "delete"]

UrlType = Union[str, URL]

SHARED_CONCURRENCY = 100
"""Keep-alive connections per pool of the module functions. More calls at once to
the same pool each get a connection of their own, closed when their response ends."""


class _SharedSession(Session):
    """The module functions' session of one gevent hub: connections, and nothing
    else. Never handed out, so its settings stay the defaults; it has no cookie
    jar (``_jar_per_call``: each call makes its own on the first ``Set-Cookie``).

    Its clients wait for no connection (``pool_timeout=0``): when all of a pool's
    are lent, a request gets a client of its own instead, retired at once, so that
    its connection closes when its response ends (urllib3's pools with
    ``block=False`` do the same). Waiting could last forever for a caller that
    holds streamed responses.
    """

    _jar_per_call = True

    def __init__(self) -> None:
        super().__init__(concurrency=SHARED_CONCURRENCY, pool_timeout=0)
        self.cookiejar = None

    def _urlopen(self, request: Any) -> Any:
        try:
            return super()._urlopen(request)
        except PoolTimeout:
            pass  # nothing was sent: every connection of the pool is lent
        settings = self._settings_of(request)
        url = request.url_split
        _, proxy, tls = self._client_key(url, settings)
        own = self._new_client(url, proxy, tls, settings.timeouts)
        try:
            return send_once(own, request, self.response_type)
        finally:
            own.retire()


# -- one shared session per gevent hub ----------------------------------------------
#
# A hub is per OS thread, also under gevent.monkey (where threading.local is per
# greenlet). The registry is weak, but a session's pools refer to their hub, which
# outlives its thread: so each entry also holds a weak reference to a mark kept in
# the OS thread's own (unpatched) thread-local storage, which dies with the thread
# (thread ids are reused at once, so they cannot tell). The sessions of ended
# threads are closed and dropped when a new hub registers, and all of them at exit.
# The lock is a real one: under gevent.monkey threading's would be a greenlet lock.


class _ThreadMark:
    """Lives as long as the OS thread whose local storage holds it."""


_registry: weakref.WeakKeyDictionary[Any, Tuple[Any, _SharedSession]]
_registry = weakref.WeakKeyDictionary()  # hub -> (weakref to its thread's mark, session)
_last: Tuple[Any, Optional[_SharedSession]] = (None, None)  # (weakref to a hub, its session)
_allocate_lock = get_original("_thread", "allocate_lock")
_lock = _allocate_lock()
_thread_local = get_original("_thread", "_local")()


def _shared() -> _SharedSession:
    """The calling hub's session (made on first use)."""
    hub = get_hub()
    ref, session = _last
    if session is not None and ref() is hub:
        return session
    return _shared_for(hub)


def _shared_for(hub: Any) -> _SharedSession:
    global _last
    ended = []
    with _lock:
        entry = _registry.get(hub)
        if entry is None:
            for other, (mark, other_session) in list(_registry.items()):
                if mark() is None:
                    del _registry[other]
                    ended.append(other_session)
            mark = getattr(_thread_local, "mark", None)
            if mark is None:
                mark = _thread_local.mark = _ThreadMark()
            entry = _registry[hub] = (weakref.ref(mark), _SharedSession())
        session = entry[1]
        _last = (weakref.ref(hub), session)
    _close(ended)
    return session


def _close(sessions: Any) -> None:
    for session in sessions:
        try:
            session.close()
        except WrongThread:
            pass  # its thread still runs (at exit): its sockets close with the process


def _close_shared() -> None:
    """Close the connections of every thread's module calls (at exit; tests)."""
    global _last
    with _lock:
        sessions = [session for _, session in _registry.values()]
        _registry.clear()
        _last = (None, None)
    _close(sessions)


def _forget_shared() -> None:
    """In a forked child: start without the parent's sessions (the pools have
    already dropped the parent's connections) and with a lock nobody holds."""
    global _last, _lock
    _lock = _allocate_lock()
    _registry.clear()
    _last = (None, None)


atexit.register(_close_shared)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_shared)


# -- the functions ------------------------------------------------------------------


def request(method: str, url: UrlType, **kw: Any) -> Response:
    """Send one ``method`` request to ``url`` and return its :class:`Response`."""
    return _shared().request(method, url, **kw)


def get(url: UrlType, params: Any = None, **kw: Any) -> Response:
    """GET ``url`` (with ``params`` as its query), following redirects."""
    return _shared().request("GET", url, params=params, **kw)


def options(url: UrlType, **kw: Any) -> Response:
    kw.setdefault("allow_redirects", True)
    return _shared().request("OPTIONS", url, **kw)


def head(url: UrlType, **kw: Any) -> Response:
    """HEAD ``url``; redirects are not followed unless ``allow_redirects=True``."""
    kw.setdefault("allow_redirects", False)
    return _shared().request("HEAD", url, **kw)


def post(url: UrlType, data: Any = None, json: Any = None, **kw: Any) -> Response:
    return _shared().request("POST", url, data=data, json=json, **kw)


def put(url: UrlType, data: Any = None, **kw: Any) -> Response:
    return _shared().request("PUT", url, data=data, **kw)


def patch(url: UrlType, data: Any = None, **kw: Any) -> Response:
    return _shared().request("PATCH", url, data=data, **kw)


def delete(url: UrlType, **kw: Any) -> Response:
    return _shared().request("DELETE", url, **kw)
