"""The agents' rules as tables, without sockets (geventhttpclient._policy)."""

from __future__ import annotations

import email.utils
import time

import pytest

from geventhttpclient._policy import (
    REDIRECT_DRAIN_MAX,
    Retry,
    is_transient,
    may_resend,
    plan_redirect,
    retry_after,
    sent_nothing,
    worth_draining,
)
from geventhttpclient.exceptions import (
    ConnectError,
    ConnectionClosed,
    ConnectionRefused,
    ConnectTimeout,
    EmptyResponse,
    HTTPParseError,
    IncompleteResponse,
    PoolTimeout,
    ReadTimeout,
    RequestTimeout,
    TLSError,
    UnsupportedRedirectSchemeError,
)
from geventhttpclient.header import Headers
from geventhttpclient.url import URL

BASE = URL("https://example.com/a/b?q=1")


@pytest.mark.parametrize(
    "code, method, location, url, new_method, keep_body, same_origin",
    [
        (301, "POST", "/c", "https://example.com/c", "GET", False, True),
        (302, "PUT", "c", "https://example.com/a/c", "GET", False, True),
        (303, "POST", "https://example.com/d", "https://example.com/d", "GET", False, True),
        (303, "HEAD", "/d", "https://example.com/d", "HEAD", False, True),
        (302, "HEAD", "/d", "https://example.com/d", "HEAD", False, True),
        (307, "POST", "/e", "https://example.com/e", "POST", True, True),
        (308, "PATCH", "/e", "https://example.com/e", "PATCH", True, True),
        # another host, another scheme, another port: another origin
        (302, "GET", "https://other.example/", "https://other.example/", "GET", False, False),
        (302, "GET", "http://example.com/", "http://example.com/", "GET", False, False),
        (307, "GET", "https://example.com:8443/", "https://example.com:8443/", "GET", True, False),
    ],
)
def test_redirect_plan(code, method, location, url, new_method, keep_body, same_origin):
    plan = plan_redirect(code, method, BASE, location)
    assert (str(plan.url), plan.method, plan.keep_body, plan.same_origin) == (
        url,
        new_method,
        keep_body,
        same_origin,
    )


@pytest.mark.parametrize("location", ["ftp://example.com/x", "file:///etc/passwd", "javascript:x"])
def test_redirect_to_another_scheme_is_refused(location):
    with pytest.raises(UnsupportedRedirectSchemeError):
        plan_redirect(302, "GET", BASE, location)


CLOSED = ConnectionClosed(104, "closed")
TRANSIENT = [ReadTimeout(110, "t"), RequestTimeout(110, "t"), ConnectTimeout(110, "t")]
TRANSIENT += [PoolTimeout("p"), CLOSED, EmptyResponse("u", "empty")]
PERMANENT = [ConnectError(111, "no"), ConnectionRefused(111, "no"), TLSError("bad cert")]
PERMANENT += [HTTPParseError("bad", "HP_E_X"), IncompleteResponse("cut", "HP_E_INCOMPLETE")]
PERMANENT += [ValueError("x"), OSError(104, "raw")]


@pytest.mark.parametrize("error", TRANSIENT)
def test_transient_errors(error):
    assert is_transient(error)


@pytest.mark.parametrize("error", PERMANENT)
def test_permanent_errors(error):
    assert not is_transient(error)


@pytest.mark.parametrize(
    "method, error, allowed",
    [
        ("GET", CLOSED, True),
        ("put", CLOSED, True),
        ("DELETE", ReadTimeout(110, "t"), True),
        ("POST", CLOSED, False),
        ("PATCH", ReadTimeout(110, "t"), False),
        # nothing reached the server: any method may go again
        ("POST", ConnectTimeout(110, "t"), True),
        ("POST", ConnectError(111, "no"), True),
        ("POST", PoolTimeout("p"), True),
    ],
)
def test_may_resend(method, error, allowed):
    assert may_resend(method, error) is allowed
    assert sent_nothing(error) is isinstance(error, (ConnectError, PoolTimeout))


def test_retry_is_a_value_counted_by_new_values():
    first = Retry(total=2)
    second = first.increment()
    assert (first.attempt, second.attempt) == (0, 1)
    assert not second.exhausted and not second.increment().exhausted
    assert second.increment().increment().exhausted
    with pytest.raises(AttributeError):
        first.attempt = 5  # type: ignore[misc]


def test_retry_delay_backs_off_with_jitter_and_a_ceiling():
    upper = lambda low, high: high  # noqa: E731 - the top of the jitter range
    retry = Retry(total=10, backoff=0.5, max_backoff=3.0)
    delays = [retry.increment().delay(uniform=upper)]
    for _ in range(4):
        retry = retry.increment()
        delays.append(retry.increment().delay(uniform=upper))
    assert delays == [0.5, 1.0, 2.0, 3.0, 3.0]
    lower = lambda low, high: low  # noqa: E731
    assert Retry(total=1, backoff=0.5).increment().delay(uniform=lower) == 0.25
    assert Retry(total=1).increment().delay() == 0.0  # no backoff configured
    assert Retry(total=1, backoff=9).increment().delay(server_asked=1.5) == 1.5


@pytest.mark.parametrize(
    "method, status, wait, attempt, expected",
    [
        ("GET", 503, None, 0, True),
        ("GET", 503, 2.0, 0, True),
        ("GET", 503, 60.0, 0, False),  # Retry-After longer than we wait
        ("GET", 500, None, 0, False),  # not listed
        ("POST", 503, None, 0, False),  # not idempotent
        ("GET", 503, None, 2, False),  # no retry left
    ],
)
def test_status_retry(method, status, wait, attempt, expected):
    retry = Retry(total=2, max_backoff=30, status_codes=frozenset({503, 429}), attempt=attempt)
    assert retry.retries_status(method, status, wait) is expected


def test_retry_after_reads_seconds_and_dates():
    assert retry_after(Headers({"Retry-After": "7"})) == 7.0
    assert retry_after(Headers({})) is None
    assert retry_after(None) is None
    assert retry_after(Headers({"Retry-After": "soon"})) is None
    later = email.utils.formatdate(time.time() + 100, usegmt=True)
    assert 95 <= retry_after(Headers({"Retry-After": later})) <= 100
    past = email.utils.formatdate(time.time() - 100, usegmt=True)
    assert retry_after(Headers({"Retry-After": past})) == 0.0


@pytest.mark.parametrize(
    "complete, length, drain",
    [
        (True, None, True),  # all arrived (chunked or not): reading it costs nothing
        (True, 10**9, True),
        (False, 0, True),
        (False, REDIRECT_DRAIN_MAX, True),
        (False, REDIRECT_DRAIN_MAX + 1, False),  # not worth the wait: close instead
        (False, None, False),  # unknown length (chunked, or until close)
    ],
)
def test_drain_rule(complete, length, drain):
    assert worth_draining(complete, length) is drain
