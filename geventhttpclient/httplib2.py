"""``httplib2`` for many greenlets, on our ``http.client`` drop-in.

    import gevent.monkey
    gevent.monkey.patch_all()

    from geventhttpclient import httplib2

    http = httplib2.Http(concurrency=5, timeout=10)
    response, content = http.request("https://example.com/")   # from any greenlet

Theory of operation. An ``httplib2.Http`` serves one request at a time: it keeps
one connection per origin and has no lock. :class:`Http` keeps up to
``concurrency`` of them in a :class:`ClientPool` and lends one to each request, so
that many greenlets can share one :class:`Http`; the rest of a request (caching,
redirects, authentication, decompression) is httplib2's own.

Importing this module imports the real ``httplib2`` (an optional dependency:
``pip install httplib2``) with ``http.client`` patched for the duration of the
import (:func:`geventhttpclient.httplib.patched`). httplib2 derives its connection
classes from ``http.client``'s when its module is executed, so they derive from
ours: requests are framed, and responses read, by our parser. ``http.client``
itself is left as it was.

httplib2 opens its sockets itself, with the ``socket`` and ``ssl`` modules: they
cooperate with other greenlets only under gevent's monkey patching, hence the
``patch_all()`` above (:class:`Http` warns without it). If ``httplib2`` was
imported before this module, its classes already derive from ``http.client``'s
and are left so (a module in use is not rebuilt): a ``RuntimeWarning`` says so.
Import this module first, or call ``geventhttpclient.httplib.patch()`` before
``import httplib2``.

Responses reach httplib2 as ours, which are not ``http.client.HTTPResponse``
instances unless :func:`~geventhttpclient.httplib.patch` is in force: httplib2
then copies the status and the fields from
:meth:`geventhttpclient.httplib.HTTPResponse.items`, and its ``Response.reason``
keeps its default ("Ok").
"""

from __future__ import annotations

import contextlib
import warnings
from types import ModuleType
from typing import Any, Callable, Generic, Iterator, List, Tuple, TypeVar

import gevent.lock
import gevent.monkey

from . import httplib as _httplib

__all__ = ["Http", "ClientPool", "DEFAULT_CONCURRENCY", "httplib2"]

DEFAULT_CONCURRENCY = 2
"""httplib2 clients an :class:`Http` lends at most at once, unless told otherwise
(the number geventhttpclient 2.x used when given none)."""


def _import_httplib2() -> ModuleType:
    """``httplib2``, imported with ``http.client`` patched if this is its first import.

    Raises ModuleNotFoundError (naming the package) when httplib2 is not installed.
    """
    try:
        with _httplib.patched():
            import httplib2  # no stubs; optional (mypy: ignore_missing_imports)
    except ModuleNotFoundError as exc:
        if exc.name != "httplib2":
            raise  # something httplib2 itself needs is missing: that error says what
        raise ModuleNotFoundError(
            "geventhttpclient.httplib2 wraps the httplib2 package, which is not "
            "installed: pip install httplib2",
            name="httplib2",
        ) from exc
    if not issubclass(httplib2.HTTPConnectionWithTimeout, _httplib.HTTPConnection):
        warnings.warn(
            "httplib2 was imported before geventhttpclient.httplib2: its requests "
            "run on http.client's own connections, not geventhttpclient's. Import "
            "geventhttpclient.httplib2 first, or call geventhttpclient.httplib.patch() "
            "before importing httplib2.",
            RuntimeWarning,
            stacklevel=2,
        )
    return httplib2


httplib2 = _import_httplib2()

C = TypeVar("C")


class ClientPool(Generic[C]):
    """Lends clients that are not safe to share between greenlets, one greenlet each.

    Up to ``concurrency`` clients made by ``factory()``: the first at once (so
    that a factory that fails, fails here), the others when they are first
    needed. A greenlet that asks while all are lent waits until one comes back.
    The client returned last is lent first, so its kept-alive connections are
    the ones reused.

    A client whose use ended in an exception (a network error, a timeout, a
    killed greenlet) is closed and dropped instead of being lent again: it may
    have been stopped half way through a response. A new one takes its place
    when needed.

    Usage::

        pool = ClientPool(MyHttpClient, concurrency=5)
        with pool.get() as client:
            response = client.request("http://127.0.0.1/")

    ``factory`` must make objects with a ``close()`` method.
    """

    def __init__(self, factory: Callable[[], C], concurrency: int = 5) -> None:
        """Raises ValueError if ``concurrency`` is below 1, and whatever
        ``factory()`` raises."""
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, not {concurrency!r}")
        self.factory = factory
        self.concurrency = concurrency
        self._slots = gevent.lock.BoundedSemaphore(concurrency)
        self._idle: List[C] = [factory()]
        self._lent = 0
        # Bumped by close(): a client lent before is closed when it comes back.
        self._generation = 0

    @contextlib.contextmanager
    def get(self) -> Iterator[C]:
        """A client for the ``with`` block; waits while all are lent."""
        self._slots.acquire()
        try:
            client = self._idle.pop() if self._idle else self.factory()
        except BaseException:
            self._slots.release()
            raise
        generation = self._generation
        self._lent += 1
        try:
            yield client
        except BaseException:
            self._close(client)
            raise
        else:
            if generation == self._generation:
                self._idle.append(client)
            else:
                self._close(client)
        finally:
            self._lent -= 1
            self._slots.release()

    def close(self) -> None:
        """Close the idle clients now and each lent one when it comes back.

        The pool stays usable, as an ``httplib2.Http`` does after its ``close()``:
        later requests get new clients.
        """
        self._generation += 1
        idle, self._idle = self._idle, []
        for client in idle:
            self._close(client)

    @staticmethod
    def _close(client: Any) -> None:
        client.close()

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} {len(self._idle)} idle, {self._lent} lent, "
            f"concurrency {self.concurrency}>"
        )


def _warn_unless_monkey_patched() -> None:
    if not (gevent.monkey.is_module_patched("socket") and gevent.monkey.is_module_patched("ssl")):
        warnings.warn(
            "geventhttpclient.httplib2.Http without gevent's monkey patching: httplib2 "
            "opens blocking sockets of its own, so requests block the whole process "
            "and run one after the other. Call gevent.monkey.patch_all() first.",
            RuntimeWarning,
            stacklevel=3,
        )


class Http:
    """``httplib2.Http`` that many greenlets may share.

    ``Http(*args, concurrency=2, **kwargs)``: ``args`` and ``kwargs`` go to every
    ``httplib2.Http`` the pool makes (``cache``, ``timeout``, ``ca_certs``,
    ``disable_ssl_certificate_validation``...), at most ``concurrency`` of them.
    Configuration goes there: attributes set later (``follow_redirects``,
    ``add_credentials()``...) would reach only one of the pooled clients, so this
    class has none of them.
    """

    def __init__(self, *args: Any, concurrency: int = DEFAULT_CONCURRENCY, **kw: Any) -> None:
        """Raises ValueError if ``concurrency`` is below 1, and TypeError for
        arguments ``httplib2.Http`` does not take."""
        _warn_unless_monkey_patched()
        self.concurrency = concurrency
        self.args = args
        self.kw = kw
        self.pool: ClientPool[Any] = ClientPool(self._http_factory, concurrency)

    def _http_factory(self) -> Any:
        return httplib2.Http(*self.args, **self.kw)

    def request(self, *args: Any, **kw: Any) -> Tuple[Any, bytes]:
        """``httplib2.Http.request`` on a free client: ``(response, content)``.

        Waits while ``concurrency`` requests are under way; raises what httplib2
        raises.
        """
        with self.pool.get() as client:
            return client.request(*args, **kw)

    def close(self) -> None:
        """Close the pooled clients' connections (those in use when they are done)."""
        self.pool.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.pool!r}>"
