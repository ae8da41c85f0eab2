"""``geventhttpclient bench``: the load benchmark of the command line.

Its parser is added to the command's subparsers by :func:`add_parser`; the work is
:func:`bench`, which returns a plain dict so that tests and other tools read the
figures without parsing text.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

import gevent
import gevent.pool

from .. import __version__
from ..client import HTTPClient
from ..url import URL
from .localserver import LocalServer

__all__ = ["add_parser", "bench", "percentile"]


def percentile(sorted_values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (0..100) of already sorted values, nearest-rank method."""
    if not sorted_values:
        return 0.0
    rank = max(1, int(-(-p * len(sorted_values) // 100)))  # ceil(p/100 * n)
    return sorted_values[min(rank, len(sorted_values)) - 1]


def bench(
    url: str, requests: int = 10000, concurrency: int = 10, keepalive: bool = True
) -> Dict[str, Any]:
    """Run the benchmark and return its results (see :func:`_report`)."""
    parsed = URL(url)
    target = parsed.quoted_uri
    headers = None if keepalive else {"Connection": "close"}
    latencies: List[float] = []
    errors: Dict[str, int] = {}
    status: Dict[int, int] = {}
    body_bytes = [0]
    remaining = [requests]

    client = HTTPClient.from_url(parsed, concurrency=concurrency)

    def worker() -> None:
        while remaining[0] > 0:
            remaining[0] -= 1
            t0 = time.perf_counter()
            try:
                response = client.get(target, headers=headers)
                body = response.read()
            except Exception as exc:  # counted, the run goes on
                name = type(exc).__name__
                errors[name] = errors.get(name, 0) + 1
                continue
            latencies.append(time.perf_counter() - t0)
            status[response.status_code] = status.get(response.status_code, 0) + 1
            body_bytes[0] += len(body)

    pool = gevent.pool.Pool(concurrency)
    start = time.perf_counter()
    try:
        for _ in range(concurrency):
            pool.spawn(worker)
        pool.join(raise_error=True)
    finally:
        elapsed = time.perf_counter() - start
        stats = client.statistics()
        client.close()
    latencies.sort()
    return {
        "url": url,
        "requests": requests,
        "concurrency": concurrency,
        "keepalive": keepalive,
        "elapsed": elapsed,
        "completed": len(latencies),
        "errors": errors,
        "status": status,
        "body_bytes": body_bytes[0],
        "latencies": latencies,
        "connections_created": stats.created,
    }


def _report(result: Dict[str, Any]) -> str:
    lat: List[float] = result["latencies"]
    elapsed = result["elapsed"] or 1e-9
    n_errors = sum(result["errors"].values())
    lines = [
        f"geventhttpclient {__version__} on {_implementation()}",
        f"URL:          {result['url']}",
        f"requests:     {result['requests']} at concurrency {result['concurrency']}"
        f" (keep-alive {'on' if result['keepalive'] else 'off'})",
        f"time:         {elapsed:.3f} s",
        f"requests/s:   {result['completed'] / elapsed:,.0f}",
        f"completed:    {result['completed']}"
        f"  status: {', '.join(f'{k}: {v}' for k, v in sorted(result['status'].items())) or '-'}",
        f"errors:       {n_errors}"
        + (
            "  (" + ", ".join(f"{k}: {v}" for k, v in sorted(result["errors"].items())) + ")"
            if n_errors
            else ""
        ),
        f"connections:  {result['connections_created']} opened",
        f"body bytes:   {result['body_bytes']}",
    ]
    if lat:
        ms = [f"{name} {percentile(lat, p) * 1000:.3f}" for name, p in _PERCENTILES]
        lines.append(f"latency (ms): {'  '.join(ms)}  max {lat[-1] * 1000:.3f}")
    return "\n".join(lines)


_PERCENTILES: Tuple[Tuple[str, float], ...] = (("p50", 50), ("p90", 90), ("p99", 99))


def _implementation() -> str:
    impl = sys.implementation.name
    v = sys.version_info
    return f"{impl} {v.major}.{v.minor}.{v.micro}"


def _cmd_bench(args: argparse.Namespace) -> int:
    if args.requests < 1 or args.concurrency < 1:
        print("-n and -c must be at least 1", file=sys.stderr)
        return 2
    server: Optional[LocalServer] = None
    url = args.url
    if url is None:
        server = LocalServer().start()
        url = server.url
    try:
        result = bench(url, args.requests, args.concurrency, args.keepalive)
    finally:
        if server is not None:
            server.stop()
    print(_report(result))
    return 1 if result["errors"] or not result["completed"] else 0


def add_parser(sub: Any) -> None:
    """Add ``bench`` to the command line's subparsers (``sub``)."""
    b = sub.add_parser(
        "bench",
        help="requests/s and latency; an embedded local server when no URL is given",
        description="Fire N GET requests at concurrency C and report requests/s, errors "
        "and latency percentiles. Without URL, an embedded server on 127.0.0.1 is used.",
    )
    b.add_argument("url", nargs="?", help="http:// or https:// URL (default: embedded server)")
    b.add_argument("-n", "--requests", type=int, default=10000, help="requests (default 10000)")
    b.add_argument("-c", "--concurrency", type=int, default=10, help="greenlets and connections")
    b.add_argument(
        "--keepalive",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="reuse connections (default); --no-keepalive sends Connection: close",
    )
    b.set_defaults(func=_cmd_bench)
