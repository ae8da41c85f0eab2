"""What the agents decide between hops and attempts, with no I/O and no gevent.

``UserAgent``, ``Session`` and the httpx-style ``Client`` all follow redirects and
retry failed attempts. The rules for both live here, once, as plain functions and
an immutable value, so each rule is tested as a table without sockets and every
face behaves the same:

* :func:`plan_redirect`: where a redirect goes, with which method, whether the body
  and the credentials travel with it (RFC 9110 15.4; what browsers and requests do);
* :func:`may_resend`: whether a request may be sent again after an error
  (RFC 9110 9.2.2: only idempotent methods, unless nothing was sent);
* :func:`is_transient`: whether an error is worth another attempt at all; it looks
  at our own exception classes only, since the engine translates every socket and
  TLS error into them at the I/O edge;
* :class:`Retry`: how many attempts are left and how long to wait before the next,
  as a frozen value whose :meth:`Retry.increment` returns a new one (the same value
  can be shared by greenlets and by calls: nothing counts in place);
* :func:`retry_after`: the server's ``Retry-After`` in seconds.

The faces keep their own hooks and error types (2.x's ``_handle_error``, requests'
``max_retries``); they call these functions to decide.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, replace
from email.utils import parsedate_to_datetime
from typing import Callable, FrozenSet, Optional, Union

from ._http11 import IDEMPOTENT_METHODS
from .exceptions import (
    ConnectError,
    ConnectionClosed,
    ConnectTimeout,
    EmptyResponse,
    PoolTimeout,
    UnsupportedRedirectSchemeError,
)
from .exceptions import TimeoutError as GHTimeoutError
from .header import HeadersReader
from .url import URL

__all__ = [
    "REDIRECT_CODES",
    "PERMANENT_REDIRECT_CODES",
    "BODY_HEADERS",
    "CREDENTIAL_HEADERS",
    "COOKIE_HEADERS",
    "RedirectPlan",
    "plan_redirect",
    "sent_nothing",
    "worth_draining",
    "REDIRECT_DRAIN_MAX",
    "may_resend",
    "is_transient",
    "Retry",
    "retry_after",
    "MAX_RETRY_DELAY",
]

REDIRECT_CODES: FrozenSet[int] = frozenset({301, 302, 303, 307, 308})
"""The statuses whose ``Location`` the agents follow."""
PERMANENT_REDIRECT_CODES: FrozenSet[int] = frozenset({301, 308})

BODY_HEADERS = ("content-length", "content-type", "content-encoding", "transfer-encoding")
"""Headers that describe the body: dropped with it when a redirect turns into GET."""
COOKIE_HEADERS = ("cookie", "cookie2")
"""Dropped at every hop: the jar adds the cookies that belong to the new URL."""
CREDENTIAL_HEADERS = ("authorization", "proxy-authorization", "host")
"""Dropped when a redirect leaves the origin: credentials given for one origin must
not reach another (RFC 9110 15.4), and ``Host`` names the old one."""

REDIRECT_DRAIN_MAX = 64 * 1024
"""A redirect body up to this size is read and dropped so its connection can be
reused; a larger one is not worth the wait: the connection is closed instead."""

MAX_RETRY_DELAY = 30.0
"""Longest wait between attempts, and the longest ``Retry-After`` honoured: a server
asking for more is answered with its error rather than with a stalled greenlet."""


@dataclass(frozen=True)
class RedirectPlan:
    """Where a redirect leads and what goes with the request there."""

    url: URL
    method: str
    keep_body: bool
    """307 and 308 repeat the method and the body; the others become a bodiless GET."""
    same_origin: bool
    """Scheme, host and port unchanged: credentials may stay."""


def plan_redirect(code: int, method: str, url: URL, location: Union[str, URL]) -> RedirectPlan:
    """The next hop after a ``code`` redirect of ``method url`` to ``location``.

    301 and 302 are treated as 303 (what 2.x did; browsers do it for POST): any method but
    HEAD becomes GET without a body. 307 and 308 keep both.

    :raises UnsupportedRedirectSchemeError: ``location`` is not an http(s) URL.
    """
    new = url.redirect(location)
    if new.scheme not in ("http", "https"):
        raise UnsupportedRedirectSchemeError(
            str(new), f"redirect from {url} to a {new.scheme or 'relative'!r} URL"
        )
    keep_body = code in (307, 308)
    new_method = method if keep_body or method == "HEAD" else "GET"
    same_origin = (url.scheme, url.host, url.port) == (new.scheme, new.host, new.port)
    return RedirectPlan(new, new_method, keep_body, same_origin)


def worth_draining(message_complete: bool, content_length: Optional[int]) -> bool:
    """Whether to read an unwanted body (a redirect's) to keep its connection: when
    it has all arrived, or is announced as at most :data:`REDIRECT_DRAIN_MAX`."""
    return message_complete or (content_length is not None and content_length <= REDIRECT_DRAIN_MAX)


def sent_nothing(error: BaseException) -> bool:
    """True for failures that happen before any byte of the request is sent."""
    return isinstance(error, (ConnectTimeout, ConnectError, PoolTimeout))


def may_resend(method: str, error: BaseException) -> bool:
    """Whether a request may be sent again after ``error`` (RFC 9110 9.2.2): an
    idempotent one always, any other only if the server cannot have seen it."""
    return method.upper() in IDEMPOTENT_METHODS or sent_nothing(error)


def is_transient(error: BaseException) -> bool:
    """Whether another attempt may succeed where this one failed: a time limit, a
    pool that was full, a connection closed before the answer, an empty body.

    A refused or unresolvable connection is not transient (it fails the same way
    at once); nor is a malformed response or anything the caller got wrong.
    """
    if isinstance(error, (GHTimeoutError, PoolTimeout)):
        return True
    if isinstance(error, ConnectError):
        return False
    return isinstance(error, (ConnectionClosed, EmptyResponse))


@dataclass(frozen=True)
class Retry:
    """Attempts left and the wait before the next one.

    ``total`` retries after the first attempt; ``attempt`` counts the retries made.
    The wait grows exponentially from ``backoff`` seconds (none when 0), capped at
    ``max_backoff``, with jitter (half to all of it) so that many greenlets that
    failed together do not come back together. ``status_codes`` are statuses worth
    retrying for idempotent requests (503, 429...).
    """

    total: int = 0
    attempt: int = 0
    backoff: float = 0.0
    max_backoff: float = MAX_RETRY_DELAY
    status_codes: FrozenSet[int] = frozenset()

    def increment(self) -> Retry:
        """The value after one more retry."""
        return replace(self, attempt=self.attempt + 1)

    @property
    def exhausted(self) -> bool:
        """More retries were counted than ``total`` allows."""
        return self.attempt > self.total

    def delay(
        self,
        server_asked: Optional[float] = None,
        uniform: Callable[[float, float], float] = random.uniform,
    ) -> float:
        """Seconds to wait before retry number ``attempt``: what the server asked
        for (``Retry-After``) if anything, else the backoff."""
        if server_asked is not None:
            return server_asked
        if self.backoff <= 0 or self.attempt < 1:
            return 0.0
        ceiling = min(self.max_backoff, self.backoff * 2 ** (self.attempt - 1))
        return uniform(ceiling / 2, ceiling)

    def retries_status(self, method: str, status: int, wait: Optional[float]) -> bool:
        """Whether a ``status`` answer to ``method`` is worth another attempt: a
        listed status, an idempotent method, a retry left, and no ``Retry-After``
        longer than ``max_backoff``."""
        return (
            status in self.status_codes
            and method.upper() in IDEMPOTENT_METHODS
            and self.attempt < self.total
            and (wait is None or wait <= self.max_backoff)
        )


def retry_after(headers: Optional[HeadersReader]) -> Optional[float]:
    """``Retry-After`` in seconds (delta-seconds or an HTTP date), None if absent or
    unreadable (RFC 9110 10.2.3)."""
    if headers is None:
        return None
    value = headers.get("retry-after")
    if isinstance(value, list):
        value = value[0] if value else None
    if not value:
        return None
    value = str(value).strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - time.time())
