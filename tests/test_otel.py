"""geventhttpclient.contrib.opentelemetry: one CLIENT span and one duration per HTTP
exchange, following OpenTelemetry's HTTP client conventions, on every face.

Each test instruments with its own SDK providers (in-memory span exporter, in-memory
metric reader) against a real loopback server that records what it received, and
uninstruments afterwards. Skipped where the OpenTelemetry SDK is not installed (the
tox test envs install it).
"""

from __future__ import annotations

import socket
from typing import Any, Dict, Iterator, List, Tuple

import gevent
import gevent.event
import pytest
from conftest import ServerConn, keep_alive

pytest.importorskip("opentelemetry.sdk")

from opentelemetry.sdk.metrics import MeterProvider  # noqa: E402
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader  # noqa: E402
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (  # noqa: E402
    InMemorySpanExporter,
)
from opentelemetry.trace import SpanKind, StatusCode  # noqa: E402

import geventhttpclient  # noqa: E402
from geventhttpclient import HTTPClient, Session, UserAgent  # noqa: E402
from geventhttpclient.contrib import opentelemetry as ghc_otel  # noqa: E402
from geventhttpclient.header import Headers  # noqa: E402


class Telemetry:
    """The SDK side of one test: finished spans and collected metrics."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])

    def spans(self) -> List[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def only_span(self) -> ReadableSpan:
        spans = self.spans()
        assert len(spans) == 1, [s.name for s in spans]
        return spans[0]

    def durations(self) -> List[Tuple[Any, Any]]:
        """(instrument, data point) of every ``http.client.request.duration`` point."""
        found = []
        data = self.reader.get_metrics_data()
        for rm in data.resource_metrics if data else []:
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    if metric.name == "http.client.request.duration":
                        found.extend((metric, p) for p in metric.data.data_points)
        return found


@pytest.fixture
def otel() -> Iterator[Telemetry]:
    t = Telemetry()
    ghc_otel.instrument(tracer_provider=t.tracer_provider, meter_provider=t.meter_provider)
    try:
        yield t
    finally:
        ghc_otel.uninstrument()


def answer(status: int = 200, body: bytes = b"ok", headers: Any = None) -> Any:
    """A keep-alive handler answering every request alike."""

    def respond(conn: ServerConn, req: Dict[str, Any]) -> None:
        conn.respond(status, body, headers, reason="R")

    return keep_alive(respond)


def traceparent_of(span: ReadableSpan) -> str:
    """The W3C field for ``span`` (its flags too: newer SDKs set the random-trace-id bit)."""
    ctx = span.get_span_context()
    assert ctx.trace_flags.sampled
    return f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{int(ctx.trace_flags):02x}"


def refused_port() -> Tuple[socket.socket, int]:
    """A loopback port with a socket bound to it that does not listen: connecting is
    refused, and nobody else can take the port while the socket is open."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    return s, s.getsockname()[1]


# -- spans -------------------------------------------------------------------------------


def test_a_request_is_one_client_span_with_the_conventions_attributes(otel, server_factory):
    server = server_factory(answer())
    client = HTTPClient("127.0.0.1", server.port)
    resp = client.get("/items/1?x=1")
    assert resp.read() == b"ok"

    span = otel.only_span()
    assert span.name == "GET"
    assert span.kind is SpanKind.CLIENT
    assert dict(span.attributes or {}) == {
        "http.request.method": "GET",
        "server.address": "127.0.0.1",
        "server.port": server.port,
        "url.full": f"http://127.0.0.1:{server.port}/items/1?x=1",
        "http.response.status_code": 200,
        "network.protocol.version": "1.1",
    }
    assert span.status.status_code is StatusCode.UNSET
    assert span.instrumentation_scope is not None
    assert span.instrumentation_scope.name == "geventhttpclient.contrib.opentelemetry"
    assert span.instrumentation_scope.schema_url == ghc_otel.SCHEMA_URL


def test_the_server_receives_the_spans_traceparent_under_the_current_span(otel, server_factory):
    server = server_factory(answer())
    client = HTTPClient("127.0.0.1", server.port)
    tracer = otel.tracer_provider.get_tracer("test")
    with tracer.start_as_current_span("parent") as parent:
        client.get("/").read()

    span = next(s for s in otel.spans() if s.kind is SpanKind.CLIENT)
    assert span.parent is not None and span.parent.span_id == parent.get_span_context().span_id
    assert span.get_span_context().trace_id == parent.get_span_context().trace_id
    assert server.requests[0]["headers"]["traceparent"] == [traceparent_of(span)]


def test_the_callers_headers_are_not_changed_and_its_traceparent_is_replaced(otel, server_factory):
    server = server_factory(answer())
    client = HTTPClient("127.0.0.1", server.port)
    stale = "00-0123456789abcdef0123456789abcdef-0123456789abcdef-01"
    as_dict = {"X-Mine": "1", "Traceparent": stale}
    as_headers = Headers({"X-Mine": "2"})
    as_list = [("X-Mine", "3")]
    for headers in (as_dict, as_headers, as_list):
        client.get("/", headers=headers).read()

    assert as_dict == {"X-Mine": "1", "Traceparent": stale}
    assert as_headers.items() == [("X-Mine", "2")]
    assert as_list == [("X-Mine", "3")]
    spans = otel.spans()
    assert len(spans) == 3
    for req, span, mine in zip(server.requests, spans, ("1", "2", "3")):
        assert req["headers"]["x-mine"] == [mine]
        assert req["headers"]["traceparent"] == [traceparent_of(span)]  # once, ours


@pytest.mark.parametrize("status", [404, 500, 503])
def test_a_status_of_400_or_more_is_an_error_span(otel, server_factory, status):
    server = server_factory(answer(status))
    resp = HTTPClient("127.0.0.1", server.port).get("/")
    assert resp.status_code == status
    resp.read()

    span = otel.only_span()
    assert span.attributes["http.response.status_code"] == status
    assert span.attributes["error.type"] == str(status)
    assert span.status.status_code is StatusCode.ERROR


def test_a_redirect_is_not_an_error(otel, server_factory):
    server = server_factory(answer(302, b"", [("Location", "/elsewhere")]))
    HTTPClient("127.0.0.1", server.port).get("/").read()
    span = otel.only_span()
    assert span.attributes["http.response.status_code"] == 302
    assert "error.type" not in span.attributes
    assert span.status.status_code is StatusCode.UNSET


def test_connection_refused_is_an_error_span_without_a_status_code(otel):
    sock, port = refused_port()
    with sock:
        client = HTTPClient("127.0.0.1", port, connection_timeout=2)
        with pytest.raises(OSError) as info:
            client.get("/nowhere")

    span = otel.only_span()
    cls = info.type
    assert span.attributes["error.type"] == f"{cls.__module__}.{cls.__qualname__}"
    assert span.attributes["error.type"].startswith("geventhttpclient.exceptions.")
    assert span.attributes["url.full"] == f"http://127.0.0.1:{port}/nowhere"
    assert "http.response.status_code" not in span.attributes
    assert "network.protocol.version" not in span.attributes
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description and cls.__name__ in span.status.description
    [(_, point)] = otel.durations()
    assert point.attributes["error.type"] == span.attributes["error.type"]


def test_the_callers_gevent_timeout_is_an_error_span(otel, server_factory):
    release = gevent.event.Event()

    def silent(conn: ServerConn) -> None:
        conn.read_request()
        release.wait(5)

    server = server_factory(silent)
    client = HTTPClient("127.0.0.1", server.port)
    try:
        with pytest.raises(gevent.Timeout):
            with gevent.Timeout(0.1):
                client.get("/")
    finally:
        release.set()
    span = otel.only_span()
    assert span.attributes["error.type"] == "gevent.timeout.Timeout"
    assert span.status.status_code is StatusCode.ERROR


def test_a_killed_greenlet_is_a_cancellation_not_an_error(otel, server_factory):
    release = gevent.event.Event()
    received = gevent.event.Event()

    def silent(conn: ServerConn) -> None:
        conn.read_request()
        received.set()
        release.wait(5)

    server = server_factory(silent)
    client = HTTPClient("127.0.0.1", server.port)
    g = gevent.spawn(client.get, "/")
    try:
        assert received.wait(5)
        g.kill()
    finally:
        release.set()
    span = otel.only_span()
    assert "error.type" not in span.attributes
    assert span.status.status_code is StatusCode.UNSET


def test_an_unknown_method_is_other_and_the_span_is_named_http(otel, server_factory):
    server = server_factory(answer())
    HTTPClient("127.0.0.1", server.port).request("FROB", "/").read()
    span = otel.only_span()
    assert span.name == "HTTP"
    assert span.attributes["http.request.method"] == "_OTHER"
    assert span.attributes["http.request.method_original"] == "FROB"
    [(_, point)] = otel.durations()
    assert point.attributes["http.request.method"] == "_OTHER"
    assert "http.request.method_original" not in point.attributes


def test_known_methods_can_be_replaced_by_the_environment(server_factory, monkeypatch):
    monkeypatch.setenv("OTEL_INSTRUMENTATION_HTTP_KNOWN_METHODS", "FROB,GET")
    t = Telemetry()
    ghc_otel.instrument(tracer_provider=t.tracer_provider, meter_provider=t.meter_provider)
    try:
        server = server_factory(answer())
        client = HTTPClient("127.0.0.1", server.port)
        client.request("FROB", "/").read()
        client.request("POST", "/", b"x").read()
    finally:
        ghc_otel.uninstrument()
    assert [(s.name, s.attributes["http.request.method"]) for s in t.spans()] == [
        ("FROB", "FROB"),
        ("HTTP", "_OTHER"),
    ]


def test_headers_that_are_not_fields_get_the_clients_own_error_untraced(otel):
    client = HTTPClient("127.0.0.1", 9)  # never connected: the fields fail first
    with pytest.raises(TypeError):
        client.request("GET", "/", b"", [1, 2])
    assert otel.spans() == []


def test_a_lowercase_method_is_reported_as_sent(otel, server_factory):
    server = server_factory(answer())
    HTTPClient("127.0.0.1", server.port).request("get", "/").read()
    assert server.requests[0]["method"] == "GET"
    span = otel.only_span()
    assert span.name == "GET"
    assert "http.request.method_original" not in span.attributes


def test_url_full_has_no_credentials_and_redacts_signed_query_values(otel, server_factory):
    server = server_factory(answer())
    ua = UserAgent(max_retries=0)
    ua.urlopen(
        f"http://alice:s3cret@127.0.0.1:{server.port}/file?sig=abc&X-Amz-Signature=def&x=1"
    ).read()
    assert server.requests[0]["target"] == "/file?sig=abc&X-Amz-Signature=def&x=1"
    span = otel.only_span()
    assert span.attributes["url.full"] == (
        f"http://127.0.0.1:{server.port}/file?sig=REDACTED&X-Amz-Signature=REDACTED&x=1"
    )
    assert not any("s3cret" in str(v) or "alice" in str(v) for v in span.attributes.values())


def test_a_host_field_names_the_server(otel, server_factory):
    server = server_factory(answer())
    client = HTTPClient("127.0.0.1", server.port)
    client.get("/a", headers={"Host": "api.example.test:8443"}).read()
    client.get("/b", headers={"Host": "[::1]"}).read()
    first, second = otel.spans()
    assert first.attributes["server.address"] == "api.example.test"
    assert first.attributes["server.port"] == 8443
    assert first.attributes["url.full"] == "http://api.example.test:8443/a"
    assert second.attributes["server.address"] == "::1"
    assert second.attributes["server.port"] == 80
    assert second.attributes["url.full"] == "http://[::1]/b"


def test_the_span_ends_when_the_head_arrives_not_when_the_body_is_read(otel, server_factory):
    send_body = gevent.event.Event()

    def slow_body(conn: ServerConn) -> None:
        conn.read_request()
        conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n")
        send_body.wait(5)
        conn.send(b"body")

    server = server_factory(slow_body)
    resp = HTTPClient("127.0.0.1", server.port).get("/")
    span = otel.only_span()  # already finished, the body not yet sent
    assert span.attributes["http.response.status_code"] == 200
    send_body.set()
    assert resp.read() == b"body"
    assert len(otel.spans()) == 1


# -- every face, one span per exchange ----------------------------------------------------


def redirecting(conn: ServerConn, req: Dict[str, Any]) -> None:
    if req["target"] == "/start":
        conn.respond(302, b"", [("Location", "/landed")], reason="Found")
    else:
        conn.respond(200, b"landed")


FACES = {
    "HTTPClient": lambda url: HTTPClient.from_url(url).get("/landed").read(),
    "UserAgent": lambda url: UserAgent(max_retries=0).urlopen(url + "/start").read(),
    "Session": lambda url: Session().get(url + "/start").content,
    "module get()": lambda url: geventhttpclient.get(url + "/start").content,
}


@pytest.mark.parametrize("face", list(FACES))
def test_every_face_gives_one_span_per_exchange_redirect_hops_included(otel, server_factory, face):
    server = server_factory(keep_alive(redirecting))
    assert FACES[face](server.base) == b"landed"

    spans = sorted(otel.spans(), key=lambda s: s.start_time or 0)
    hops = 1 if face == "HTTPClient" else 2
    assert len(spans) == hops == len(server.requests)
    want = [(302, "/start"), (200, "/landed")][-hops:]
    assert [
        (s.attributes["http.response.status_code"], s.attributes["url.full"]) for s in spans
    ] == [(code, server.base + path) for code, path in want]
    # each hop carried its own span's traceparent
    assert [r["headers"]["traceparent"] for r in server.requests] == [
        [traceparent_of(s)] for s in spans
    ]


def test_a_retry_of_the_agent_is_its_own_span(otel, server_factory):
    def unavailable_once(conn: ServerConn, req: Dict[str, Any]) -> None:
        if len(conn.server.requests) == 1:
            conn.respond(503, b"busy", reason="Service Unavailable")
        else:
            conn.respond(200, b"ok")

    server = server_factory(keep_alive(unavailable_once))
    ua = UserAgent(max_retries=1, retry_delay=0)
    ua.retry_response_codes = {503}
    assert ua.urlopen(server.base + "/again").read() == b"ok"
    spans = sorted(otel.spans(), key=lambda s: s.start_time or 0)
    assert [s.attributes["http.response.status_code"] for s in spans] == [503, 200]
    assert spans[0].attributes["error.type"] == "503"
    assert "error.type" not in spans[1].attributes
    assert [r["headers"]["traceparent"] for r in server.requests] == [
        [traceparent_of(s)] for s in spans
    ]


# -- the duration histogram ----------------------------------------------------------------


def test_the_duration_histogram_has_the_conventions_name_unit_buckets_and_attributes(
    otel, server_factory
):
    server = server_factory(answer())
    client = HTTPClient("127.0.0.1", server.port)
    for _ in range(3):
        client.get("/").read()

    [(metric, point)] = otel.durations()
    assert metric.unit == "s"
    assert isinstance(point, HistogramDataPoint)
    assert point.count == 3
    assert tuple(point.explicit_bounds) == ghc_otel.DURATION_BUCKETS
    assert dict(point.attributes) == {
        "http.request.method": "GET",
        "server.address": "127.0.0.1",
        "server.port": server.port,
        "http.response.status_code": 200,
        "network.protocol.version": "1.1",
    }
    # the same duration as the spans'
    spans_seconds = sum((s.end_time - s.start_time) for s in otel.spans()) / 1e9
    assert point.sum == pytest.approx(spans_seconds, abs=1e-6)


# -- instrument() and uninstrument() -------------------------------------------------------


def test_uninstrument_restores_the_method_and_stops_spans(server_factory):
    original = HTTPClient.__dict__["request"]
    t = Telemetry()
    ghc_otel.instrument(tracer_provider=t.tracer_provider, meter_provider=t.meter_provider)
    assert ghc_otel.is_instrumented()
    assert HTTPClient.__dict__["request"] is not original
    ghc_otel.instrument(tracer_provider=t.tracer_provider)  # again: nothing changes
    server = server_factory(answer())
    client = HTTPClient("127.0.0.1", server.port)
    client.get("/").read()
    assert len(t.spans()) == 1  # one wrapper, not two

    ghc_otel.uninstrument()
    ghc_otel.uninstrument()  # again: nothing to do
    assert not ghc_otel.is_instrumented()
    assert HTTPClient.__dict__["request"] is original
    client.get("/").read()
    assert len(t.spans()) == 1
    assert "traceparent" not in server.requests[1]["headers"]


def test_uninstrument_under_another_wrapper_leaves_it_and_passes_through(server_factory):
    t = Telemetry()
    ghc_otel.instrument(tracer_provider=t.tracer_provider, meter_provider=t.meter_provider)
    ours = HTTPClient.__dict__["request"]
    calls: List[str] = []

    def theirs(self: HTTPClient, *args: Any, **kw: Any) -> Any:
        calls.append(args[1])
        return ours(self, *args, **kw)

    HTTPClient.request = theirs  # type: ignore[method-assign]
    try:
        ghc_otel.uninstrument()
        assert HTTPClient.__dict__["request"] is theirs
        server = server_factory(answer())
        HTTPClient("127.0.0.1", server.port).get("/x").read()
        assert calls == ["/x"]
        assert t.spans() == []
        assert "traceparent" not in server.requests[0]["headers"]
    finally:
        HTTPClient.request = ours.__wrapped__  # type: ignore[attr-defined,method-assign]
