"""The Locust job's scenario, traced: ``locustfile.py`` unchanged, plus ``instrument()``.

What a Locust user would write to trace a load test: an SDK provider, then
``geventhttpclient.contrib.opentelemetry.instrument()``, before the users start. The
user classes are ``locustfile.py``'s (imported, so Locust finds them here); their
``FastHttpUser`` code is not touched.

Spans go to the SDK's in-memory exporter and durations to an in-memory metric reader,
and each response's ``timings`` is noted from Locust's request event; when Locust
quits, all three are written as JSON to ``GHC_LOCUST_OTEL`` for ``run_check.py
--otel`` to check against what the server received.
"""

from __future__ import annotations

import json
import os
from typing import Any, Dict, List

from locust import events
from locustfile import PlainUser, PoolUser, TlsUser  # noqa: F401 - Locust runs these
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from geventhttpclient.contrib.opentelemetry import instrument

OTEL_FILE = os.environ.get("GHC_LOCUST_OTEL", "")

exporter = InMemorySpanExporter()
tracer_provider = TracerProvider()
tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
reader = InMemoryMetricReader()
meter_provider = MeterProvider(metric_readers=[reader])

instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)


def span_facts() -> List[Dict[str, Any]]:
    facts = []
    for span in exporter.get_finished_spans():
        ctx = span.get_span_context()
        facts.append(
            {
                "name": span.name,
                "kind": span.kind.name,
                "status": span.status.status_code.name,
                "attributes": dict(span.attributes or {}),
                "traceparent": f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-"
                f"{int(ctx.trace_flags):02x}",
                "seconds": ((span.end_time or 0) - (span.start_time or 0)) / 1e9,
            }
        )
    return facts


def duration_points() -> List[Dict[str, Any]]:
    points = []
    data = reader.get_metrics_data()
    for rm in data.resource_metrics if data else []:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                if metric.name == "http.client.request.duration":
                    for p in metric.data.data_points:
                        points.append(
                            {
                                "unit": metric.unit,
                                "attributes": dict(p.attributes or {}),
                                "count": p.count,
                                "sum": p.sum,
                                "bounds": list(p.explicit_bounds),
                            }
                        )
    return points


timings: List[Dict[str, Any]] = []


@events.request.add_listener
def note_timings(response: Any = None, name: str = "", **_kw: Any) -> None:
    """Each response's ``timings``, read from Locust's request event: the user
    classes stay as they are, as they would in a user's load test."""
    t = getattr(response, "timings", None)
    if t is not None:
        timings.append({"name": name, "reused": t.reused, "har": t.as_dict(), "total": t.total})


@events.quitting.add_listener
def write_telemetry(environment: Any, **_kw: Any) -> None:
    if OTEL_FILE:
        with open(OTEL_FILE, "w") as f:
            json.dump(
                {"spans": span_facts(), "durations": duration_points(), "timings": timings}, f
            )
