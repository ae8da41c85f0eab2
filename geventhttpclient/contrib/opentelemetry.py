"""OpenTelemetry for geventhttpclient: a CLIENT span and a duration per HTTP exchange.

    pip install "geventhttpclient[otel]"

    from geventhttpclient.contrib import opentelemetry as ghc_otel

    ghc_otel.instrument()    # the global providers, or tracer_provider=, meter_provider=
    ...
    ghc_otel.uninstrument()

Theory of operation
-------------------
Every face of the package that sends a request (``HTTPClient`` and its verb methods,
``UserAgent``, ``Session``, the module-level ``get()``, and Locust's ``FastHttpUser``,
which runs on ``UserAgent``) sends each HTTP exchange through one method,
``HTTPClient.request``: one call per request sent, so one call per redirect hop and
per retry of the agents, which is what the HTTP client conventions ask of spans
(each resend is its own span). :func:`instrument` puts a wrapper in that method's
place on the class and :func:`uninstrument` puts the original back; nothing else in
the package changes, and a program that never calls :func:`instrument` pays nothing.
(``geventhttpclient.httplib``, the ``http.client`` drop-in, builds its requests below
``HTTPClient.request`` and is not traced.)

For each call the wrapper

1. starts a CLIENT span named after the method (``HTTP`` for a method the conventions
   do not know), with the attributes a sampler may look at when the span starts:
   ``http.request.method`` (``_OTHER``, and ``http.request.method_original``, for an
   unknown method), ``server.address``, ``server.port`` and ``url.full``;
2. lets the configured propagator (W3C ``traceparent`` by default) write its fields
   into a *copy* of the caller's headers, so the caller's object never changes and a
   field of the caller with the same name is replaced, not repeated;
3. calls the original ``request``;
4. ends the span when that call returns the response head, or raises, and records
   the same duration in the ``http.client.request.duration`` histogram.

Why the span ends at the response head: the body is read afterwards by the caller,
perhaps much later (a streamed download, a Locust task that looks at it after other
work) or never (a response dropped unread gives its connection back only when it is
collected). The conventions ask a client span to end after the head has been read and
not in such a clean-up, which would time the caller's code rather than the exchange.
So span and histogram cover queueing for a connection, DNS, connect, TLS, sending and
waiting for the head; an error while reading the body (a reset halfway through) comes
after the span has ended and does not show on it.

Attributes follow the stable HTTP client conventions of OpenTelemetry (schema
:data:`SCHEMA_URL`): on the span ``http.request.method``, ``url.full``,
``server.address``, ``server.port``, ``network.protocol.version`` (from the response's
version), ``http.response.status_code``, ``error.type``; on the histogram the same but
``url.full``. ``server.address`` and ``server.port`` are those of the request's
``Host`` field (the client's origin unless the request or the client's headers name
another ``Host``: a virtual host reached at an address). ``url.full`` is rebuilt from
them and the request target, so it never carries credentials (the agents have already
turned those into an ``Authorization`` field), and the values of the query keys in
:data:`SENSITIVE_QUERY_KEYS` are replaced by ``REDACTED``.

``error.type`` takes these values:

* the status code as a string (``"404"``, ``"503"``) for a response of 400 or more;
  the span status is then ERROR;
* the exception's fully qualified class name when ``request`` raises, such as
  ``geventhttpclient.exceptions.ConnectionRefused``, ``gevent.timeout.Timeout`` (the
  caller's own ``gevent.Timeout``) or a builtin's bare name (``TimeoutError``); the
  span status is ERROR with the exception's text as description.

A greenlet killed mid-request (``GreenletExit``) was cancelled on purpose: its span
ends without an error, as the conventions ask for cancellations.

``http.request.resend_count`` is not set: ``HTTPClient.request`` cannot tell a resend
from a new request. The known methods are the conventions' list unless
``OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS`` (comma-separated, read by
:func:`instrument`) replaces it. When an enclosing instrumentation suppresses
instrumentation (OpenTelemetry's suppression context keys), requests go out untraced.
"""

from __future__ import annotations

import functools
import os
from time import time_ns
from typing import Any, Callable, Dict, FrozenSet, Optional, Tuple

from gevent import GreenletExit
from opentelemetry import context as otel_context
from opentelemetry import metrics, propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from geventhttpclient import __version__
from geventhttpclient.client import HTTPClient
from geventhttpclient.header import Headers

__all__ = [
    "DURATION_BUCKETS",
    "KNOWN_METHODS",
    "SCHEMA_URL",
    "SENSITIVE_QUERY_KEYS",
    "instrument",
    "is_instrumented",
    "uninstrument",
]

SCHEMA_URL = "https://opentelemetry.io/schemas/1.44.0"
"""The semantic conventions version whose HTTP client span and metric this follows."""

KNOWN_METHODS: FrozenSet[str] = frozenset(
    {"CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "QUERY", "TRACE"}
)
"""The methods the conventions know (RFC 9110, PATCH, QUERY); any other is ``_OTHER``,
its span named ``HTTP``, so that a client sending made-up methods cannot blow up the
number of span names and metric series."""

KNOWN_METHODS_ENV = "OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS"

DURATION_BUCKETS: Tuple[float, ...] = (
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
)  # fmt: skip
"""The conventions' explicit bucket boundaries (seconds) for the duration histogram."""

SENSITIVE_QUERY_KEYS: FrozenSet[str] = frozenset(
    {
        "AWSAccessKeyId",
        "Signature",
        "sig",
        "X-Amz-Credential",
        "X-Amz-Security-Token",
        "X-Amz-Signature",
        "X-Goog-Signature",
    }
)
"""Query keys whose values ``url.full`` shows as ``REDACTED`` (signed URLs carry their
credentials there); matched case-sensitively, as the conventions say."""

# OpenTelemetry's own keys for "do not instrument what runs inside" (set by exporters
# and by instrumentations wrapping a higher layer). They are underscored names of
# opentelemetry.context that the contrib instrumentations read too; looked up with
# getattr so that an API release without them only loses the feature.
_SUPPRESS_KEYS = tuple(
    key
    for key in (
        getattr(otel_context, "_SUPPRESS_INSTRUMENTATION_KEY", None),
        getattr(otel_context, "_SUPPRESS_HTTP_INSTRUMENTATION_KEY", None),
    )
    if key is not None
)


class _Installed:
    """The wrapper in place and the method it replaced."""

    __slots__ = ("original", "wrapper", "active")

    def __init__(self, original: Callable[..., Any], wrapper: Callable[..., Any]) -> None:
        self.original = original
        self.wrapper = wrapper
        self.active = True


_installed: Optional[_Installed] = None


def instrument(tracer_provider: Any = None, meter_provider: Any = None) -> None:
    """Trace every request of every ``HTTPClient`` from now on (the module docstring
    says what is recorded, and when).

    ``tracer_provider`` / ``meter_provider``: where spans and measurements go; the
    global providers (``opentelemetry.trace.set_tracer_provider``) when None. The
    propagator is always the global one (``opentelemetry.propagate``).

    Calling it again while instrumented does nothing (the first call's providers stay):
    call :func:`uninstrument` first to change them. Raises nothing of its own.
    """
    global _installed
    if _installed is not None:
        return
    tracer = trace.get_tracer(__name__, __version__, tracer_provider, schema_url=SCHEMA_URL)
    meter = metrics.get_meter(__name__, __version__, meter_provider, schema_url=SCHEMA_URL)
    duration = meter.create_histogram(
        "http.client.request.duration",
        unit="s",
        description="Duration of HTTP client requests.",
        explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
    )
    known = os.environ.get(KNOWN_METHODS_ENV)
    methods = (
        frozenset(m.strip() for m in known.split(",") if m.strip())
        if known is not None
        else KNOWN_METHODS
    )
    original = HTTPClient.request
    state = _Installed(original, original)
    state.wrapper = _traced(state, tracer, duration, methods)
    HTTPClient.request = state.wrapper  # type: ignore[method-assign]
    _installed = state


def uninstrument() -> None:
    """Stop tracing: ``HTTPClient.request`` is the original method again.

    If something else has wrapped ``HTTPClient.request`` since :func:`instrument`,
    its wrapper stays in place and ours, below it, passes every call straight
    through. Does nothing when not instrumented.
    """
    global _installed
    state = _installed
    if state is None:
        return
    state.active = False
    if HTTPClient.__dict__.get("request") is state.wrapper:
        HTTPClient.request = state.original  # type: ignore[method-assign]
    _installed = None


def is_instrumented() -> bool:
    """Whether :func:`instrument` is in effect."""
    return _installed is not None


def _traced(
    state: _Installed, tracer: trace.Tracer, duration: Any, known_methods: FrozenSet[str]
) -> Callable[..., Any]:
    """The wrapper that takes ``HTTPClient.request``'s place."""
    original = state.original

    @functools.wraps(original)
    def request(
        self: HTTPClient,
        method: str,
        request_uri: str,
        body: Any = b"",
        headers: Any = None,
        **kw: Any,
    ) -> Any:
        if not state.active or (_SUPPRESS_KEYS and _suppressed()):
            return original(self, method, request_uri, body, headers, **kw)

        # A copy of the caller's fields, for the propagator's to join (Headers folds
        # case, so a caller's own traceparent is replaced, never sent twice).
        try:
            fields = Headers(headers) if headers else Headers()
        except Exception:
            # Not fields at all: untraced, so the caller gets the client's own error,
            # as without instrumentation.
            return original(self, method, request_uri, body, headers, **kw)
        host, port = _server(self, fields)
        sent = method.upper() if isinstance(method, str) else str(method)  # as sent
        attributes: Dict[str, Any] = {
            "server.address": host,
            "server.port": port,
        }
        if sent in known_methods:
            attributes["http.request.method"] = name = sent
        else:
            attributes["http.request.method"] = "_OTHER"
            attributes["http.request.method_original"] = sent
            name = "HTTP"
        metric_attributes = dict(attributes)
        metric_attributes.pop("http.request.method_original", None)
        attributes["url.full"] = _url(self, host, port, request_uri)

        start = time_ns()
        span = tracer.start_span(
            name, kind=SpanKind.CLIENT, attributes=attributes, start_time=start
        )
        carrier: Dict[str, str] = {}
        propagate.inject(carrier, context=trace.set_span_in_context(span))
        for key, value in carrier.items():
            fields[key] = value
        try:
            with trace.use_span(
                span, end_on_exit=False, record_exception=False, set_status_on_exception=False
            ):
                response = original(self, method, request_uri, body, fields.items(), **kw)
        except BaseException as exc:
            end = time_ns()
            error = _error_type(exc)
            if error is not None:
                span.set_attribute("error.type", error)
                metric_attributes["error.type"] = error
                span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
            span.end(end_time=end)
            duration.record((end - start) / 1e9, metric_attributes)
            raise
        end = time_ns()
        status = getattr(response, "status_code", None)
        if isinstance(status, int) and status:
            span.set_attribute("http.response.status_code", status)
            metric_attributes["http.response.status_code"] = status
            if status >= 400:
                span.set_attribute("error.type", str(status))
                metric_attributes["error.type"] = str(status)
                span.set_status(Status(StatusCode.ERROR))
        version = getattr(response, "version", None)
        if isinstance(version, str) and version.startswith("HTTP/"):
            span.set_attribute("network.protocol.version", version[5:])
            metric_attributes["network.protocol.version"] = version[5:]
        span.end(end_time=end)
        duration.record((end - start) / 1e9, metric_attributes)
        return response

    return request


def _suppressed() -> bool:
    """An enclosing instrumentation asked for no spans below it."""
    return any(otel_context.get_value(key) for key in _SUPPRESS_KEYS)


def _server(client: HTTPClient, fields: Headers) -> Tuple[str, int]:
    """``server.address`` and ``server.port``: the Host the request carries (the
    request's own field, else one among the client's headers), else the origin."""
    default_port = 443 if client.ssl else 80
    value = fields.get("host")
    if value is None:
        defaults = client.default_headers
        if isinstance(defaults, Headers):
            value = defaults.get("host")
    if isinstance(value, str) and value.strip():
        value = value.strip()
        if value.startswith("["):  # [IPv6]:port
            host, _, rest = value[1:].partition("]")
            port = rest[1:] if rest.startswith(":") else ""
        else:
            host, _, port = value.partition(":")
        if host:
            return host, int(port) if port.isdigit() else default_port
    return client.host, client.port


def _url(client: HTTPClient, host: str, port: int, request_uri: str) -> str:
    """``url.full``: scheme, the server's host and port (the port only if not the
    scheme's default) and the request target, with sensitive query values redacted."""
    scheme = "https" if client.ssl else "http"
    netloc = f"[{host}]" if ":" in host else host
    if port != (443 if client.ssl else 80):
        netloc = f"{netloc}:{port}"
    target = request_uri
    if target.startswith(("http://", "https://")):
        # Absolute form, on this client's origin: keep its path and query only.
        rest = target.split("://", 1)[1]
        cut = min((i for i in (rest.find("/"), rest.find("?")) if i >= 0), default=len(rest))
        target = rest[cut:]
    elif target == "*":  # OPTIONS *: the server as a whole
        target = ""
    elif not target.startswith("/"):
        target = "/" + target
    if "?" in target:
        target = _redact_query(target)
    return f"{scheme}://{netloc}{target}"


def _redact_query(target: str) -> str:
    """``target`` with the values of :data:`SENSITIVE_QUERY_KEYS` replaced by
    ``REDACTED`` (keys kept)."""
    path, _, query = target.partition("?")
    query, hash_mark, fragment = query.partition("#")
    parts = query.split("&")
    changed = False
    for i, part in enumerate(parts):
        key, equals, _ = part.partition("=")
        if equals and key in SENSITIVE_QUERY_KEYS:
            parts[i] = key + "=REDACTED"
            changed = True
    if not changed:
        return target
    return f"{path}?{'&'.join(parts)}{hash_mark}{fragment}"


def _error_type(exc: BaseException) -> Optional[str]:
    """``error.type`` of an exception out of ``request``: its fully qualified class
    name (a builtin's bare name); None for a cancellation (a killed greenlet)."""
    if isinstance(exc, GreenletExit):
        return None
    cls = type(exc)
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"
