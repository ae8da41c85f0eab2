"""Connections to one origin: how many, who waits, which idle one is reused.

Theory of operation
-------------------
A pool owns up to ``size`` connections. :meth:`ConnectionPool.acquire` hands out an
idle connection (most recently used first: its TCP window is warm and the server is
least likely to have timed it out), or makes a new one while fewer than ``size``
exist, or queues the caller. Waiting greenlets are served strictly in FIFO order:
a released connection is handed directly to the first waiter, so a greenlet that
releases and immediately re-acquires cannot jump the queue.

A connection comes back through :meth:`release` only when its response is complete
and the server allowed keep-alive; any other end goes through :meth:`discard`, which
closes it and frees its slot. A greenlet killed while waiting gives back anything it
was handed.

Before an idle connection is reused, a zero-timeout ``poll()`` tells whether the
server closed it or sent bytes nobody asked for (which must never be read as the next
response); unlike ``select()`` this works for any descriptor number. It costs one
syscall per reuse, which correctness requires: a stale connection is replaced, and
bytes arriving after the check are the one race no HTTP/1.1 client can close. (A
``MSG_PEEK`` receive does the same, but on a live connection it fails with EAGAIN,
and CPython builds an exception with a decoded error message for that: 1.3 against
0.7 us per check.)

Receive buffers belong to the pool, not to connections: idle connections hold none,
so a thousand idle connections cost little memory.

Lifecycle limits
----------------
Optional, all off by default (``ConnectionPool(..., keepalive_expiry=,
max_connection_age=, max_requests_per_connection=)``); with none set and no
:meth:`~ConnectionPool.reset` pending, the per-request path pays one attribute test
in :meth:`~ConnectionPool.acquire` (when it reuses a connection) and none more in
:meth:`~ConnectionPool.release` (the test of a closed pool became this one). A
connection is only ever closed for a limit while idle or as it comes back, never
in the middle of a response:

- ``keepalive_expiry``: an idle connection unused for this many seconds is closed,
  not reused (set it below the server's or load balancer's idle timeout, so a
  request never races the server closing its connection). Checked when
  :meth:`~ConnectionPool.acquire` takes an idle connection (the idle list is a stack
  whose oldest connections are at the bottom: they are closed first), and by a sweep
  so idle sockets do not linger in a quiet process: one unreferenced timer per pool
  on its hub's loop, armed only while idle connections with a deadline exist, for
  the earliest deadline. It holds the pool only through a weak reference.
- ``max_connection_age``: a connection made this many seconds ago is closed when it
  comes back, or found idle (acquire, sweep).
- ``max_requests_per_connection``: closed as it comes back from its last request.
- :meth:`~ConnectionPool.reset`: idle connections are closed now; the lent ones (and
  those being made) are remembered and closed as they come back.

Each is counted in :meth:`~ConnectionPool.statistics` (``expired``, ``aged_out``,
``retired``, ``reset``) and told to the trace hook as ``connection.closed`` with
that ``reason`` (``"max_requests"`` for ``retired``).
"""

from __future__ import annotations

import errno
import os
import ssl as _stdssl
import sys
import time
import weakref
from collections import deque
from dataclasses import dataclass
from typing import Any, Callable, Deque, Dict, List, Optional, Set

import gevent
from gevent.event import Event
from gevent.hub import Waiter, get_hub

from ._connection import (
    ACTIVE,
    BUFFER_SIZE,
    IDLE,
    Connection,
    RecvBuffer,
    make_poller,
    socket_is_alive,
)
from .exceptions import ClientClosed, PoolClosed, PoolTimeout, WrongThread

__all__ = [
    "Connection",
    "ConnectionPool",
    "SSLConnectionPool",
    "PoolStatistics",
    "BUFFER_SIZE",
    "DEFAULT_CONNECTION_TIMEOUT",
    "DEFAULT_NETWORK_TIMEOUT",
    "init_ssl_context",
]

DEFAULT_CONNECTION_TIMEOUT = 5.0
"""2.x's default seconds to connect (``HTTPClient.CONNECTION_TIMEOUT`` too)."""
DEFAULT_NETWORK_TIMEOUT = 5.0
"""2.x's default seconds to wait for the server (``HTTPClient.NETWORK_TIMEOUT`` too)."""

SPARE_BUFFERS = 16
"""Receive buffers kept once the whole pool is idle. Under load every released
buffer is kept for the next request (allocating and zeroing 64 KiB per request cost
a third of the throughput at concurrency 100); when the last busy connection comes
back the spares are trimmed to this many, so a pool of 1000 connections that all
went idle keeps 16 x 64 KiB, not 64 MiB."""

_clock = time.perf_counter
"""The clock of :mod:`geventhttpclient.timings` (pool waits are its ``queued``)."""
_monotonic = time.monotonic
"""The clock of connection ages and idle times (``Connection.created_at``)."""

SWEEP_SLACK = 0.005
"""Seconds the idle sweep fires after the earliest deadline: the loop's clock may lag
``time.monotonic()`` a little, and a sweep a hair early would only re-arm."""
_UNSET = object()
_CLOSED = object()  # handed to waiters by close(): they were given nothing


_POOLS: weakref.WeakSet[ConnectionPool] = weakref.WeakSet()
"""Every pool of this process, for the fork hook."""


def _reset_pools_after_fork() -> None:
    for pool in list(_POOLS):
        try:
            pool._after_fork()
        except Exception:  # noqa: BLE001 - a fork hook must not fail the fork
            pass


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_pools_after_fork)


def _seconds(name: str, value: Optional[float]) -> Optional[float]:
    """A lifecycle time limit checked: None, or seconds (0 or more)."""
    if value is None:
        return None
    seconds = float(value)
    if not seconds >= 0:  # NaN too
        raise ValueError(f"{name} must be a number of seconds (0 or more), not {value!r}")
    return seconds


def _sweep_pool(ref: Any) -> None:
    """The idle sweep's timer callback (runs in the hub): the timer holds the pool
    weakly, so an abandoned pool can still be collected."""
    pool = ref()
    if pool is not None:
        pool._sweep()


class _IdleSockets:
    """A snapshot with 2.x's ``LifoQueue`` attribute ``queue``."""

    __slots__ = ("queue",)

    def __init__(self, sockets: List[Any]) -> None:
        self.queue = sockets


@dataclass(frozen=True)
class PoolStatistics:
    """An immutable snapshot of a pool."""

    size: int
    connections: int
    idle: int
    active: int
    waiting: int
    created: int
    reused: int
    discarded: int
    """Connections closed because they could not be reused (an error, ``Connection:
    close``, found closed by the server while idle); not those closed for a limit."""
    closed: bool
    expired: int = 0
    """Idle connections closed after ``keepalive_expiry`` seconds unused."""
    aged_out: int = 0
    """Connections closed at ``max_connection_age``."""
    retired: int = 0
    """Connections closed after ``max_requests_per_connection`` requests."""
    reset: int = 0
    """Connections closed by :meth:`ConnectionPool.reset` (idle ones at once, busy
    ones as they came back)."""


class ConnectionPool:
    """Up to ``size`` connections made by ``factory()``, shared by many greenlets."""

    def __init__(
        self,
        factory: Any,
        *args: Any,
        name: str = "",
        ssl_context: Any = None,
        keepalive_expiry: Optional[float] = None,
        max_connection_age: Optional[float] = None,
        max_requests_per_connection: Optional[int] = None,
        **kw: Any,
    ) -> None:
        """``ConnectionPool(factory, size=1, name="", ssl_context=None)``, or 2.x's
        ``ConnectionPool(connection_host, connection_port, request_host,
        request_port, size=5, disable_ipv6=False, connection_timeout=5.0,
        network_timeout=5.0)`` (its sockets: :meth:`get_socket`).

        Lifecycle limits (None: none; see the module docstring): ``keepalive_expiry``
        (seconds an idle connection may wait to be reused), ``max_connection_age``
        (seconds since it was made), ``max_requests_per_connection``. Raises
        ``ValueError`` for a negative time or fewer than one request.
        """
        self.ssl_context = ssl_context
        """The TLS context of this pool's connections (None for plain TCP), as 2.x."""
        if isinstance(factory, str):
            factory, size, name = self._legacy_factory(factory, *args, **kw)
        else:
            if len(args) > 1 or set(kw) - {"size"} or (args and "size" in kw):
                raise TypeError(f"unexpected arguments {args!r} {sorted(kw)!r}")
            size = args[0] if args else kw.get("size", 1)
        if size < 1:
            raise ValueError("concurrency (pool size) must be at least 1")
        self.keepalive_expiry = _seconds("keepalive_expiry", keepalive_expiry)
        self.max_connection_age = _seconds("max_connection_age", max_connection_age)
        if max_requests_per_connection is not None:
            max_requests_per_connection = int(max_requests_per_connection)
            if max_requests_per_connection < 1:
                raise ValueError("max_requests_per_connection must be at least 1")
        self.max_requests_per_connection = max_requests_per_connection
        # The limits that close idle connections by time: they need the sweep.
        self._timed = keepalive_expiry is not None or max_connection_age is not None
        self._limited = self._timed or max_requests_per_connection is not None
        # True while acquire and release must look closer: a limit is set, a reset
        # is pending, or the pool is closed. The per-request test (one attribute in
        # each; release tests it where it tested _closed before).
        self._checks = self._limited
        self._resets = 0  # reset() calls: a connection made across one is doomed
        self._reset_pending: Set[Connection] = set()  # lent at reset(): close on return
        self._ends = dict.fromkeys(("expired", "aged_out", "max_requests", "reset"), 0)
        self._sweeper: Any = None  # the idle sweep's timer, while armed
        self._sweep_at = 0.0  # the deadline it is armed for
        self._factory = factory
        self.size = size
        self.name = name
        self._idle: List[Connection] = []
        # Every open connection, idle or lent (kept per connection, not per request):
        # close() aborts the lent ones.
        self._live: Set[Connection] = set()
        self._connecting: Set[Any] = set()  # greenlets inside the factory
        self._drained: Optional[Event] = None  # close(wait=...) waits on it
        self._waiters: Deque[List[Any]] = deque()
        self._buffers: List[RecvBuffer] = []
        self._count = 0
        self._closed = False
        self._created = 0
        self._reused = 0
        self._discarded = 0
        self._poller = make_poller()
        self.trace: Optional[Callable[[str, Dict[str, Any]], Any]] = None
        """The client's trace hook (see :mod:`geventhttpclient.timings`): the pool
        tells it ``connection.closed``."""
        # The hub (one per OS thread) of the first acquire. A hub, not a thread id:
        # under gevent.monkey (Locust) the thread id is each greenlet's own.
        self._owner: Any = None
        _POOLS.add(self)

    def _legacy_factory(
        self,
        connection_host: str,
        connection_port: int,
        request_host: str,
        request_port: int,
        size: int = 5,
        disable_ipv6: bool = False,
        connection_timeout: Optional[float] = 5.0,
        network_timeout: Optional[float] = 5.0,
        use_proxy: bool = False,
        proxy_user: Optional[str] = None,
        proxy_password: Optional[str] = None,
        **tls: Any,
    ) -> Any:
        """A connection factory for 2.x's host/port signature (plain TCP here;
        :class:`SSLConnectionPool` adds TLS)."""
        from . import _net

        if use_proxy:
            # Refused rather than ignored: a TLS pool would handshake with the proxy.
            raise TypeError(
                "use_proxy is not supported by this 2.x constructor: use "
                "HTTPClient(host, proxy_host=..., proxy_port=...)"
            )
        ssl_context = self._legacy_ssl_context(**tls)
        server_hostname = getattr(self, "ssl_options", {}).get("server_hostname") or request_host
        self.connection_timeout = connection_timeout
        self.network_timeout = network_timeout

        def factory() -> Connection:
            sock = _net.connect(
                connection_host,
                connection_port,
                connection_timeout=connection_timeout,
                network_timeout=network_timeout,
                disable_ipv6=disable_ipv6,
                ssl_context=ssl_context,
                server_hostname=server_hostname,
            )
            return Connection(sock, timeout=network_timeout)

        return factory, size, f"{connection_host}:{connection_port}"

    def _legacy_ssl_context(self, **tls: Any) -> Any:
        if tls:
            raise TypeError(f"unexpected arguments {sorted(tls)!r}")
        return None

    # 2.x's liveness check of an idle socket (2.x code calls it on the pool).
    _is_socket_alive = staticmethod(socket_is_alive)

    # -- 2.x's socket API ---------------------------------------------------------------

    def get_socket(self) -> Any:
        """2.x: a connected socket of the pool, waiting for one if all are lent.
        Give it back with :meth:`return_socket`, or :meth:`release_socket` if it
        is broken or was left mid-message."""
        conn = self.acquire()
        self.__dict__.setdefault("_lent", {})[conn.sock] = conn
        return conn.sock

    def return_socket(self, sock: Any) -> None:
        """2.x: ``sock`` (from :meth:`get_socket`) may serve another request."""
        self.release(self.__dict__.get("_lent", {}).pop(sock))

    def release_socket(self, sock: Any) -> None:
        """2.x: close ``sock`` (from :meth:`get_socket`) and free its place."""
        conn = self.__dict__.get("_lent", {}).pop(sock, None)
        if conn is not None:
            self.discard(conn)

    @property
    def _socket_queue(self) -> Any:
        """2.x's idle socket queue, read-only: ``.queue`` lists the idle sockets
        (2.x code and tests inspected it; the pool keeps Connection objects)."""
        return _IdleSockets([conn.sock for conn in self._idle])

    # -- decisions (no I/O) --------------------------------------------------------

    def _handoff(self, item: Optional[Connection]) -> bool:
        """Give ``item`` (a connection, or None: a free slot) to the first waiter."""
        if not self._waiters:
            return False
        entry = self._waiters.popleft()
        entry[1] = item
        get_hub().loop.run_callback(entry[0].switch, item)
        return True

    def _take_buffer(self, conn: Connection) -> None:
        conn.buf = self._buffers.pop() if self._buffers else RecvBuffer()

    def _drop_buffer(self, conn: Connection) -> None:
        buf = conn.buf
        conn.buf = None
        conn.start = conn.end = 0
        if buf is not None and buf.size == BUFFER_SIZE:
            self._buffers.append(buf)

    # -- the API ------------------------------------------------------------------

    def acquire(self, timeout: Optional[float] = None) -> Connection:
        """A connection for one request; waits FIFO while all are busy.

        Raises :class:`PoolTimeout` after ``timeout`` seconds of waiting,
        :class:`PoolClosed` if the pool is closed, and whatever connecting raises.
        """
        if self._closed or get_hub() is not self._owner:
            self._check_usable()
        item: Any
        queued = 0.0
        if self._idle:
            item = self._idle.pop()
            if self._checks:
                item = self._checked_idle(item)
        elif self._count < self.size:
            self._count += 1
            item = None
        else:
            began = _clock()
            item = self._wait(timeout)
            queued = _clock() - began
        if item is None:
            new = self._connect()
            new.queued = queued
            return new
        conn: Connection = item
        # Always: bytes that arrived while the connection sat idle (a body longer
        # than its Content-Length, a late second response) would otherwise be read
        # as the answer to the next request; and a closed connection is replaced.
        if not conn.is_alive(self._poller):
            self._discarded += 1
            self._live.discard(conn)
            conn.close()
            if self.trace is not None:
                self._traced_close(conn, "stale")
            conn = self._connect()  # in the same slot
            conn.queued = queued
            return conn
        conn.queued = queued
        self._reused += 1
        buffers = self._buffers
        conn.buf = buffers.pop() if buffers else RecvBuffer()
        conn.state = ACTIVE
        return conn

    def _check_usable(self) -> None:
        """Raise unless this pool may serve a request in this OS thread (binding it
        to the thread on first use)."""
        if self._closed:
            raise PoolClosed(f"connection pool {self.name} is closed")
        if self._owner is None:
            self._owner = get_hub()
        else:
            self._check_thread()

    def _check_thread(self, closing: bool = False) -> None:
        """Raise :class:`WrongThread` in any OS thread but the pool's. Closing is
        also allowed once that thread has ended: its loop runs no more, and the
        sockets must still be closed by someone."""
        owner = self._owner
        if owner is None or owner is get_hub():
            return
        if closing and owner.thread_ident not in sys._current_frames():
            return  # its thread has ended
        raise WrongThread(
            f"the client for {self.name} belongs to another OS thread (each thread "
            "has its own gevent hub): make one client per thread, and close it there"
        )

    def _wait(self, timeout: Optional[float]) -> Any:
        entry: List[Any] = [Waiter(), _UNSET]
        self._waiters.append(entry)
        timer = None
        if timeout is not None:
            timer = gevent.Timeout.start_new(
                timeout, PoolTimeout(f"no connection to {self.name} free after {timeout}s")
            )
        try:
            return entry[0].get()
        except BaseException:
            item = entry[1]
            if item is _UNSET:
                self._waiters.remove(entry)
            elif item is _CLOSED:
                pass
            elif item is None:
                self._slot_freed()
            else:
                self._give_back(item)
            raise
        finally:
            if timer is not None:
                timer.close()

    def _connect(self) -> Connection:
        """Make a connection in a slot already counted."""
        me = gevent.getcurrent()
        connecting = self._connecting
        connecting.add(me)  # close() interrupts what is in here
        resets = self._resets
        try:
            conn: Connection = self._factory()
        except BaseException:
            self._slot_freed()
            raise
        finally:
            connecting.discard(me)
        if self._closed:  # closed while the factory finished
            conn.close()
            self._slot_freed()
            raise ClientClosed(errno.ECANCELED, self._closed_message())
        self._live.add(conn)
        self._created += 1
        if self._resets != resets:  # reset() while it was being made: close on return
            self._reset_pending.add(conn)
            self._checks = True
        self._take_buffer(conn)
        conn.state = ACTIVE
        return conn

    def _slot_freed(self) -> None:
        if self._closed:
            self._count -= 1
            self._note_drained()
        elif not self._handoff(None):
            self._count -= 1

    def _give_back(self, conn: Connection) -> None:
        if self._closed:
            self._live.discard(conn)
            conn.close()
            self._count -= 1
            self._note_drained()
        elif not self._handoff(conn):
            self._idle.append(conn)

    def _note_drained(self) -> None:
        drained = self._drained
        if drained is not None and self._count <= 0:
            drained.set()

    def _closed_message(self) -> str:
        return f"client for {self.name} was closed with this request in flight"

    def _traced_close(self, conn: Connection, reason: str) -> None:
        """Tell the trace hook that ``conn`` was closed (it is already)."""
        trace = self.trace
        if trace is not None:
            trace(
                "connection.closed",
                {"pool": self.name, "reason": reason, "requests": conn.requests},
            )

    def release(self, conn: Connection) -> None:
        """Return a connection whose response is complete and may be kept alive.
        (The trace hook hears ``connection.released`` from the response:
        :class:`~geventhttpclient.response.TracedResponse`.)"""
        # The per-request path: _drop_buffer and _give_back, inlined.
        conn.state = IDLE
        conn.requests += 1
        buf = conn.buf
        conn.buf = None
        conn.start = conn.end = 0
        buffers = self._buffers
        if buf is not None and buf.size == BUFFER_SIZE:
            buffers.append(buf)
        if self._waiters or self._checks:
            self._release_checked(conn)
        else:
            idle = self._idle
            idle.append(conn)
            if len(buffers) > SPARE_BUFFERS and len(idle) == self._count:
                del buffers[SPARE_BUFFERS:]  # the pool went idle: keep a few

    def discard(self, conn: Connection, reason: str = "not reusable") -> None:
        """Close a connection that must not be reused and free its slot."""
        self._discarded += 1
        self._drop_buffer(conn)
        self._live.discard(conn)
        if self._reset_pending:
            self._forget_pending(conn)
        conn.close()
        self._slot_freed()
        if len(self._idle) == self._count and len(self._buffers) > SPARE_BUFFERS:
            del self._buffers[SPARE_BUFFERS:]  # the pool went idle: keep a few
        if self.trace is not None:
            self._traced_close(conn, reason)

    def discard_soon(self, conn: Connection) -> None:
        """:meth:`discard` from the hub's next loop iteration (safe from finalisers)."""
        get_hub().loop.run_callback(self.discard, conn)

    def reset(self) -> None:
        """Start afresh: idle connections are closed now, the busy ones (and those
        being made) as their responses end; later requests connect anew. The pool
        stays open, with its size, its waiting greenlets and its SSL context (no CA
        bundle is read again). Counted in :meth:`statistics` as ``reset``.

        Raises :class:`WrongThread` outside the pool's OS thread. Nothing happens to
        a closed pool.
        """
        self._check_thread()  # its sockets are watched by its thread's loop
        if self._closed:
            return
        self._resets += 1
        idle = self._idle
        ended = [(conn, "reset") for conn in idle]
        del idle[:]
        for conn, reason in ended:
            self._end(conn, reason)
            self._slot_freed()
        self._reset_pending.update(self._live)  # what is left is lent
        if self._reset_pending:
            self._checks = True
        self._trace_ends(ended)

    # -- lifecycle limits (see the module docstring) -------------------------------------

    def _idle_reason(self, conn: Connection, now: float) -> Optional[str]:
        """Why the idle ``conn`` must not be reused, or None."""
        expiry = self.keepalive_expiry
        if expiry is not None and now - conn.idle_since >= expiry:
            return "expired"
        age = self.max_connection_age
        if age is not None and now - conn.created_at >= age:
            return "aged_out"
        return None

    def _deadline(self, conn: Connection) -> float:
        """When the idle ``conn`` reaches a time limit (``time.monotonic()``)."""
        deadline = float("inf")
        if self.keepalive_expiry is not None:
            deadline = conn.idle_since + self.keepalive_expiry
        if self.max_connection_age is not None:
            deadline = min(deadline, conn.created_at + self.max_connection_age)
        return deadline

    def _checked_idle(self, conn: Connection) -> Optional[Connection]:
        """:meth:`acquire` took ``conn`` from the idle stack while limits or a reset
        are in force: close the idle connections past a limit (``conn`` among them
        perhaps) and return the one to reuse, or None when none is left (a slot is
        then taken for a new connection)."""
        idle = self._idle
        idle.append(conn)
        self._prune_idle()  # (a trace hook raising there leaves every slot free)
        if idle:
            return idle.pop()
        self._count += 1  # free: pruning closed at least ``conn``
        return None

    def _release_checked(self, conn: Connection) -> None:
        """:meth:`release` when there are waiters, or limits, a pending reset or a
        closed pool to heed."""
        if self._closed:
            self._give_back(conn)  # closes it
            return
        if (self._limited or self._reset_pending) and self._ends_on_return(conn):
            return
        self._give_back(conn)
        if len(self._buffers) > SPARE_BUFFERS and len(self._idle) == self._count:
            del self._buffers[SPARE_BUFFERS:]  # the pool went idle: keep a few

    def _ends_on_return(self, conn: Connection) -> bool:
        """:meth:`release`, with a limit or a reset in force: close ``conn`` (and
        return True) if it has served its time; else note when it went idle."""
        reason = None
        if self._reset_pending and conn in self._reset_pending:
            self._forget_pending(conn)
            reason = "reset"
        else:
            limit = self.max_requests_per_connection
            if limit is not None and conn.requests >= limit:
                reason = "max_requests"
            else:
                age = self.max_connection_age
                if age is not None and _monotonic() - conn.created_at >= age:
                    reason = "aged_out"
        if reason is None:
            conn.idle_since = now = _monotonic()
            if self._timed:
                deadline = self._deadline(conn)
                if self._sweeper is None or deadline < self._sweep_at:
                    self._arm_sweep(deadline, now)
            return False
        self._end(conn, reason)
        self._slot_freed()
        if len(self._idle) == self._count and len(self._buffers) > SPARE_BUFFERS:
            del self._buffers[SPARE_BUFFERS:]  # the pool went idle: keep a few
        self._trace_ends([(conn, reason)])
        return True

    def _prune_idle(self) -> None:
        """:meth:`acquire`, with a limit or a reset in force: close the idle
        connections past a time limit, in place. The stack's oldest connections are
        at the bottom: expired ones are taken from there until a fresh one; then the
        top one (the next to be reused) is checked until one may serve."""
        idle = self._idle
        now = _monotonic()
        ended = []
        if self.keepalive_expiry is not None:
            stale = 0
            while stale < len(idle) and self._idle_reason(idle[stale], now) == "expired":
                stale += 1
            ended = [(conn, "expired") for conn in idle[:stale]]
            del idle[:stale]
        while idle:
            reason = self._idle_reason(idle[-1], now)
            if reason is None:
                break
            ended.append((idle.pop(), reason))
        for conn, reason in ended:
            self._end(conn, reason)
            self._slot_freed()
        self._trace_ends(ended)

    def _arm_sweep(self, deadline: float, now: float) -> None:
        """Sweep the idle connections at ``deadline`` (``time.monotonic()``), on the
        loop of this thread's hub (the pool's: connections come back in its thread)."""
        self._stop_sweep()
        timer = self._sweeper = get_hub().loop.timer(
            max(0.0, deadline - now) + SWEEP_SLACK, ref=False
        )
        self._sweep_at = deadline
        timer.start(_sweep_pool, weakref.ref(self))

    def _stop_sweep(self) -> None:
        timer, self._sweeper = self._sweeper, None
        if timer is not None and self._owner in (None, get_hub()):
            timer.close()  # (another thread's timer is left to its dead loop)

    def _sweep(self) -> None:
        """Timer callback (runs in the hub): close the idle connections past a time
        limit, wherever they are in the stack, and re-arm for the next deadline."""
        self._stop_sweep()
        if self._closed:
            return
        now = _monotonic()
        idle = self._idle
        ended = []
        kept = []
        for conn in idle:
            reason = self._idle_reason(conn, now)
            if reason is None:
                kept.append(conn)
            else:
                ended.append((conn, reason))
        if ended:
            idle[:] = kept
            for conn, reason in ended:
                self._end(conn, reason)
                self._slot_freed()
        if kept:
            self._arm_sweep(min(self._deadline(conn) for conn in kept), now)
        if ended and self.trace is not None:
            # The hook runs in a greenlet of its own: in the hub it could not wait
            # for anything, and its errors are reported there as any greenlet's.
            gevent.spawn(self._trace_ends, ended)

    def _end(self, conn: Connection, reason: str) -> None:
        """Close ``conn`` for a lifecycle ``reason`` and count it (its slot is the
        caller's to free)."""
        self._live.discard(conn)
        conn.close()
        self._ends[reason] += 1

    def _trace_ends(self, ended: List[Any]) -> None:
        """Tell the trace hook of connections closed for a lifecycle reason (after
        the pool is consistent again: a hook that raises leaves nothing behind)."""
        if self.trace is not None:
            for conn, reason in ended:
                self._traced_close(conn, reason)

    def _forget_pending(self, conn: Connection) -> None:
        pending = self._reset_pending
        pending.discard(conn)
        if not pending:
            self._checks = self._limited or self._closed

    def close(self, wait: Optional[float] = 0.0) -> None:
        """Stop now: every request in flight ends with :class:`ClientClosed`.

        Idle connections are closed, greenlets waiting for a connection get
        :class:`PoolClosed` (so does every later :meth:`acquire`), and the lent
        connections are aborted (:meth:`Connection.abort`): a greenlet connecting,
        sending, waiting for an answer or reading a body gets ``ClientClosed`` at
        once, not at its own timeout, and its socket is closed.

        ``wait``: seconds to let the requests in flight (and streaming responses
        being read) finish first, blocking the caller; ``None`` waits as long as
        they take. What is still in flight then is aborted.
        """
        self.retire()
        if wait != 0 and self._count > 0:
            drained = self._drained = Event()
            drained.wait(wait)
        message = self._closed_message()
        for conn in list(self._live):
            conn.abort(message)
        self._live.clear()
        hub = get_hub()
        for glet in list(self._connecting):
            hub.loop.run_callback(self._interrupt_connect, glet, message)

    def retire(self) -> None:
        """Take no more requests; let those in flight finish. Returns at once.

        Idle connections are closed now and each lent one when its response ends;
        waiting greenlets and later requests get :class:`PoolClosed`. What a
        caller uses that hands out a response it will not read itself (the
        module-level ``get(url, stream=True)``, a session dropping a client).
        """
        self._check_thread(closing=True)  # its sockets are watched by its thread's loop
        self._closed = self._checks = True
        self._stop_sweep()
        self._reset_pending.clear()
        idle, self._idle = self._idle, []
        for conn in idle:
            self._live.discard(conn)
            conn.close()
            self._count -= 1
        while self._waiters:
            entry = self._waiters.popleft()
            entry[1] = _CLOSED
            get_hub().loop.run_callback(
                entry[0].throw, PoolClosed(f"connection pool {self.name} is closed")
            )
        self._buffers.clear()
        if self.trace is not None:  # last: a hook that raises leaves the pool closed
            for conn in idle:
                self._traced_close(conn, "closed")

    def _after_fork(self) -> None:
        """In a child process: forget the parent's connections (closing the
        child's copies of their descriptors) so that the next request connects
        anew; the pool stays open and is free to bind to the child's thread.

        Requests in flight in the parent at the fork exist in the child as
        copies of their greenlets: they end with :class:`ClientClosed` if they
        run, rather than read from a socket the parent is using.
        """
        message = "the process forked: the parent's connections are not used here"
        self._stop_sweep()
        self._reset_pending.clear()
        self._checks = self._limited or self._closed
        idle, self._idle = self._idle, []
        self._count -= len(idle)
        live, self._live = self._live, set()
        owner, self._owner = self._owner, None
        if owner is not None and owner is not get_hub():
            # Its thread did not survive the fork, nor did its greenlets: none of
            # its requests in flight will ever give a slot back. Its sockets'
            # watchers belong to that thread's loop: leave them alone (they close
            # when collected) and never hand them out again.
            self._count = 0
            self._connecting = set()
            self._waiters.clear()
            return
        for conn in live:
            conn.abort(message)
        hub = get_hub()
        for glet in list(self._connecting):
            hub.loop.run_callback(self._interrupt_connect, glet, message)

    def _interrupt_connect(self, glet: Any, message: str) -> None:
        """Hub callback: stop a greenlet still inside the connection factory.

        Checked here rather than when scheduled: a greenlet that has finished
        connecting since is past this point and is aborted through its connection.
        """
        if glet in self._connecting:
            glet.throw(ClientClosed(errno.ECANCELED, message))

    @property
    def closed(self) -> bool:
        return self._closed

    def statistics(self) -> PoolStatistics:
        idle = len(self._idle)
        return PoolStatistics(
            size=self.size,
            connections=self._count,
            idle=idle,
            active=self._count - idle,
            waiting=len(self._waiters),
            created=self._created,
            reused=self._reused,
            discarded=self._discarded,
            closed=self._closed,
            expired=self._ends["expired"],
            aged_out=self._ends["aged_out"],
            retired=self._ends["max_requests"],
            reset=self._ends["reset"],
        )

    def __repr__(self) -> str:
        s = self.statistics()
        state = "closed" if s.closed else "open"
        return (
            f"<ConnectionPool {self.name} {state} size={s.size} connections={s.connections} "
            f"idle={s.idle} active={s.active} waiting={s.waiting}>"
        )


class SSLConnectionPool(ConnectionPool):
    """2.x's TLS pool: ``SSLConnectionPool(connection_host, connection_port,
    request_host, request_port, insecure=False, ssl_context_factory=None,
    ssl_options=None, **kw)``. The context verifies against certifi's bundle unless
    ``insecure``; ``ssl_context`` is the one its connections use.

    Kept for programs written against 2.x; :class:`~geventhttpclient.HTTPClient`
    makes its pools itself.
    """

    default_options: Dict[str, Any] = {}
    """2.x listed ``ca_certs``/``cert_reqs``/``ssl_version`` here; we list nothing:
    certifi's bundle and OpenSSL's own choices (protocols, ciphers) are the defaults."""

    def _legacy_ssl_context(  # type: ignore[override]
        self,
        insecure: bool = False,
        ssl_context_factory: Optional[Callable[..., Any]] = None,
        ssl_options: Optional[Dict[str, Any]] = None,
    ) -> Any:
        from . import _net

        options = dict(self.default_options)
        options.update(ssl_options or {})
        self.insecure = insecure
        self.ssl_options = options
        self.ssl_context = _net.make_ssl_context(options, ssl_context_factory, insecure)
        return self.ssl_context


def init_ssl_context(
    ssl_context_factory: Callable[..., Any],
    ca_certs: Optional[str],
    check_hostname: bool = True,
    ssl_options: Optional[Dict[str, Any]] = None,
) -> Any:
    """2.x's helper: a context from ``ssl_context_factory`` verifying certificates
    against ``ca_certs`` (certifi's bundle when None), with ``ssl_options`` applied.
    ``check_hostname=False`` stops checking the host name only; the certificate
    is still verified, as in 2.x."""
    from . import _net

    options = dict(ssl_options or {})
    if ca_certs:
        options["ca_certs"] = ca_certs
    # Always through a factory: the context is then this caller's own, never the
    # shared default that make_ssl_context caches, so changing it is safe.
    factory = _stdssl.create_default_context if ssl_context_factory is None else ssl_context_factory
    context = _net.make_ssl_context(options, factory)
    if not check_hostname:
        context.check_hostname = False
    return context
