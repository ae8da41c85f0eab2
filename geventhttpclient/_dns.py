"""A DNS cache for connecting: answers kept for a fixed time, failures for a shorter
one, concurrent lookups of one name made once, a bounded number of names.

Why: a load test opening a new connection per user asks the resolver for the same
name thousands of times a second (gevent's default resolver hands each lookup to a
thread pool), and a name that does not resolve is asked again on every retry.

Theory of operation. An answer is keyed by the arguments of ``getaddrinfo``
(host, port, family, type, proto, flags). A key is in one of three states:

* cached: an entry (the address list, or the ``socket.gaierror`` of a failed lookup)
  with its expiry time; a hit returns a copy of the list, or raises a new
  ``gaierror`` equal to the cached one (raising one instance again and again would
  grow its traceback and tie every caller's frames to it);
* in flight: one greenlet, the owner, is asking the resolver; the others asking for
  the key wait on the owner's ``AsyncResult`` and get its answer (or an equal error);
* unknown: the next caller becomes the owner.

If the owner dies without an answer (killed, or its caller's ``gevent.Timeout``
fired), it sets the waiters' result to "abandoned" on the way out, and each waiter
asks again: one becomes the new owner, the rest wait on it. No waiter is left
waiting for a lookup that nobody makes, and nobody receives another greenlet's
``Timeout``.

The system resolver (``getaddrinfo``) does not report record TTLs, so an answer is
kept for a fixed ``ttl`` (60 s by default, the order of common record TTLs), a
failure for ``negative_ttl`` (5 s). ``max_size`` bounds the number of keys; the least
recently used one is dropped first.

Threads. gevent's ``AsyncResult`` belongs to the hub of the thread that waits on it,
so one ``DNSCache`` serves the greenlets of one OS thread. ``default_cache()`` gives
each OS thread its own (a process that runs gevent in one thread, the usual case,
has exactly one), and a forked child starts with a fresh, empty one.
"""

from __future__ import annotations

import copy
import os
import socket as _stdsocket
import time
from collections import OrderedDict
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Tuple, Union

import gevent.event
import gevent.monkey
import gevent.socket

__all__ = ["DNSCache", "DNSCacheInfo", "default_cache", "dns_cache_info"]

AddrInfo = Tuple[Any, ...]
"""One ``getaddrinfo`` result: (family, type, proto, canonname, sockaddr)."""

_Key = Tuple[str, Any, int, int, int, int]


class DNSCacheInfo(NamedTuple):
    """A snapshot of a cache's counters (the shape of ``functools.lru_cache``'s)."""

    hits: int
    """Answers given without a lookup: from a cached entry (an answer or a failure)
    or by waiting for another greenlet's lookup of the same key."""
    misses: int
    """Lookups made (each one call of the resolver)."""
    size: int
    """Keys held now, expired ones not yet dropped included."""


class _Abandoned:
    """The waiters' result when the owner of a lookup died without an answer."""


_ABANDONED = _Abandoned()

# What an AsyncResult carries: the answer, or the error every waiter raises an equal of.
_Outcome = Union[List[AddrInfo], BaseException, _Abandoned]


class DNSCache:
    """Caches ``getaddrinfo`` answers for the greenlets of one OS thread.

    ``ttl``: seconds an answer is kept (the system resolver does not report record
    TTLs; 0 keeps none, and concurrent lookups are still made once).
    ``negative_ttl``: seconds a ``socket.gaierror`` is kept and raised again without
    a lookup (0: failures are not kept).
    ``max_size``: keys kept at most; the least recently used goes first.
    ``getaddrinfo``: the lookup, called as ``getaddrinfo(host, port, family, type,
    proto, flags)``; by default ``gevent.socket.getaddrinfo``, looked up at each call
    so that gevent's configured resolver is the one used.
    ``clock``: seconds as a float, ``time.monotonic`` by default (tests pass a fake).
    """

    def __init__(
        self,
        ttl: float = 60.0,
        negative_ttl: float = 5.0,
        max_size: int = 1024,
        getaddrinfo: Optional[Callable[..., List[AddrInfo]]] = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl < 0 or negative_ttl < 0:
            raise ValueError("ttl and negative_ttl must be >= 0")
        if max_size < 0:
            raise ValueError("max_size must be >= 0")
        self.ttl = ttl
        self.negative_ttl = negative_ttl
        self.max_size = max_size
        self._lookup = getaddrinfo
        self._clock = clock
        # key -> (expires, answer or gaierror); in LRU order, the most recent last
        self._entries: OrderedDict[_Key, Tuple[float, Union[List[AddrInfo], BaseException]]] = (
            OrderedDict()
        )
        self._in_flight: Dict[_Key, gevent.event.AsyncResult] = {}
        self._hits = 0
        self._misses = 0
        self._generation = 0  # bumped by clear(): a lookup begun before it stores nothing

    def __repr__(self) -> str:
        return (
            f"<DNSCache size={len(self._entries)}/{self.max_size} in_flight="
            f"{len(self._in_flight)} hits={self._hits} misses={self._misses} "
            f"ttl={self.ttl} negative_ttl={self.negative_ttl}>"
        )

    def getaddrinfo(
        self,
        host: str,
        port: Any,
        family: int = 0,
        type: int = 0,  # noqa: A002 - socket.getaddrinfo's name
        proto: int = 0,
        flags: int = 0,
    ) -> List[AddrInfo]:
        """The list ``gevent.socket.getaddrinfo`` returns for these arguments, from the
        cache when it holds a live entry.

        Raises ``socket.gaierror`` (a fresh one equal to the cached or shared one) when
        the name does not resolve, and whatever else the lookup raises.
        """
        key: _Key = (host, port, family, type, proto, flags)
        while True:
            entry = self._entries.get(key)
            if entry is not None:
                expires, value = entry
                if self._clock() < expires:
                    self._entries.move_to_end(key)
                    self._hits += 1
                    return _deliver(value)
                del self._entries[key]
            pending = self._in_flight.get(key)
            if pending is None:
                return self._look_up(key)
            outcome = pending.get()
            if outcome is _ABANDONED:
                continue  # the owner died: ask again (one of the waiters becomes the owner)
            self._hits += 1
            return _deliver(outcome)

    def _look_up(self, key: _Key) -> List[AddrInfo]:
        """Make the lookup as the owner of ``key``; waiters get its outcome."""
        result = gevent.event.AsyncResult()
        self._in_flight[key] = result
        self._misses += 1
        generation = self._generation
        outcome: _Outcome = _ABANDONED
        try:
            lookup = self._lookup or gevent.socket.getaddrinfo
            answer = list(lookup(*key))
            outcome = answer
            self._store(key, answer, self.ttl, generation)
            return list(answer)
        except Exception as exc:
            outcome = exc
            if isinstance(exc, _stdsocket.gaierror):
                self._store(key, _equal_error(exc), self.negative_ttl, generation)
            raise
        finally:
            # Before anything can switch: a waiter must never find the key in flight
            # with nobody making the lookup.
            if self._in_flight.get(key) is result:
                del self._in_flight[key]
            result.set(outcome)

    def _store(
        self,
        key: _Key,
        value: Union[List[AddrInfo], BaseException],
        ttl: float,
        generation: int,
    ) -> None:
        if ttl <= 0 or self.max_size == 0 or generation != self._generation:
            return
        self._entries[key] = (self._clock() + ttl, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_size:
            self._entries.popitem(last=False)

    def info(self) -> DNSCacheInfo:
        """Hits, misses and size now (an immutable snapshot)."""
        return DNSCacheInfo(self._hits, self._misses, len(self._entries))

    def clear(self) -> None:
        """Drop every entry and zero the counters. Lookups in flight still answer
        their waiters but store nothing."""
        self._entries.clear()
        self._hits = 0
        self._misses = 0
        self._generation += 1


def _deliver(value: _Outcome) -> List[AddrInfo]:
    """A copy of a shared answer, or raise an equal copy of a shared error."""
    if isinstance(value, list):
        return list(value)
    if isinstance(value, BaseException):
        raise _equal_error(value)
    raise AssertionError("an abandoned lookup is retried, not delivered")


def _equal_error(exc: BaseException) -> BaseException:
    """A new exception equal to ``exc`` (type, args, errno and strerror for an
    OSError) without its traceback: each caller raises its own."""
    try:
        fresh = copy.copy(exc)
    except Exception:  # an exception class copy cannot rebuild: share the instance
        return exc
    fresh.__traceback__ = None
    fresh.__cause__ = fresh.__context__ = None
    return fresh


# One cache per OS thread (see the module docstring). The original threading.local,
# not gevent's: after monkey-patching, threading.local is greenlet-local, which
# would give every greenlet an empty cache of its own.
_thread_local_class: Any = gevent.monkey.get_original("threading", "local")
_default = _thread_local_class()


def default_cache() -> DNSCache:
    """The calling OS thread's shared cache, made on first use with the defaults;
    ``HTTPClientPool``, ``UserAgent`` and ``Session`` use it unless told otherwise."""
    cache: Optional[DNSCache] = getattr(_default, "cache", None)
    if cache is None:
        cache = _default.cache = DNSCache()
    return cache


def dns_cache_info() -> DNSCacheInfo:
    """``(hits, misses, size)`` of the calling thread's default DNS cache."""
    return default_cache().info()


def _reset_after_fork() -> None:
    """A child starts with an empty default cache: the parent's in-flight lookups
    (and their waiters' hub) did not come along."""
    global _default
    _default = _thread_local_class()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)
