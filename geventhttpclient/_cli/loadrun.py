"""The load loop of ``geventhttpclient bench`` in one process: :func:`run`.

Theory of operation
-------------------
``-c`` greenlets share one ``HTTPClient(concurrency=c)``, so each has a connection
of its own and none waits in the pool. Each greenlet loops: send, read the whole
body, count. What it counts goes straight into the histograms and counters of a
:class:`~geventhttpclient._cli.report.Tally`; nothing per request is kept (``--csv``
streams its rows to the file).

*Closed loop* (no ``-q``): a greenlet sends its next request when its last one has
ended, so a slow server slows the sending down and the latency of the requests
that were never sent is never seen: coordinated omission. That is what ``hey`` and
``wrk`` measure, and it is right for "how fast can this server go".

*Open loop* (``-q``): requests have start times fixed in advance, ``1/rate`` apart.
A free greenlet takes the next start time, sleeps until it and sends; when every
greenlet is busy, the start times pile up and the greenlets that come free take
them late. Latency counts from the scheduled start, so a stall shows in every
request that should have been sent during it (wrk2's and ``oha
--latency-correction``'s answer to coordinated omission); the uncorrected latency
(from the actual send) and how late the sends were are kept beside it.

A probe greenlet sleeps ``LAG_INTERVAL`` and records how late it wakes: the
event loop's lag, the client's own queueing, which the summary compares with
``SATURATION_LAG``.

Stopping: ``-n`` (a count), ``-z`` (a deadline; requests in flight then finish,
bounded by ``-t``) or the ``stop`` event (Ctrl-C in the command): no new sends, the
requests in flight are cancelled at once and counted as cancelled.
"""

from __future__ import annotations

import csv
import math
import re
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

import gevent
import gevent.event
import gevent.pool

from ..client import HTTPClient
from ..header import Headers
from ..url import URL
from .histogram import Histogram
from .report import BEHIND_SCHEDULE, LAG_INTERVAL, Tally

__all__ = ["Plan", "run", "parse_connect_to", "CSV_COLUMNS", "PROGRESS_INTERVAL", "PHASE_SAMPLE"]

PHASE_SAMPLE = 10
"""Every greenlet reads ``response.timings`` of one response in this many (its first
one, then every 10th) for the phase breakdown; latency, status and bytes count
every response. Building the :class:`~geventhttpclient.timings.Timings` and
recording six phases costs about as much as a third of a whole request's CPU time
on CPython; one in ten keeps the tool within a few % of the library's best loop,
and thousands of samples still give the phases' mean and p99. ``--csv`` reads
every response's timings (it writes them), so there every response is a sample."""

PROGRESS_INTERVAL = 1.0
"""Seconds between two progress reports."""

CSV_COLUMNS = (
    # hey's columns (hey -o csv), in seconds, in its order:
    "response-time",
    "DNS+dialup",
    "DNS",
    "Request-write",
    "Response-delay",
    "Response-read",
    "status-code",
    "offset",
    # then ours: the phases of response.timings, the open loop's delay, the error
    "queued",
    "connect",
    "tls",
    "schedule",
    "error",
)
"""The ``--csv`` header. hey's ``DNS+dialup`` is dns + connect + tls here, its
``offset`` the start of the request since the start of the run."""

_CONNECT_TO = re.compile(r"^(\[[^\]]*\]|[^:\[\]]*):(\d*):(\[[^\]]*\]|[^:\[\]]*):(\d*)$")


def parse_connect_to(spec: str) -> Tuple[str, Optional[int], str, Optional[int]]:
    """curl's ``--connect-to HOST1:PORT1:HOST2:PORT2``: requests for HOST1:PORT1 go
    to HOST2:PORT2 (an empty part matches any host or port, or keeps it).

    Raises ValueError for another shape."""
    m = _CONNECT_TO.match(spec)
    if not m:
        raise ValueError(f"--connect-to {spec!r}: expected HOST1:PORT1:HOST2:PORT2")
    h1, p1, h2, p2 = m.groups()
    return (h1.strip("[]"), int(p1) if p1 else None, h2.strip("[]"), int(p2) if p2 else None)


@dataclass
class Plan:
    """One process's share of a run (the command's flags, split by :mod:`workers`)."""

    url: str
    method: str = "GET"
    headers: List[Tuple[str, str]] = field(default_factory=list)
    body: Optional[bytes] = None
    timeout: Optional[float] = 20.0
    keepalive: bool = True
    http10: bool = False
    insecure: bool = False
    connect_to: List[str] = field(default_factory=list)
    proxy: Optional[str] = None
    """A proxy URL of any scheme (``-x``)."""
    unix_socket: Optional[str] = None
    """A Unix domain socket to connect to instead (``--unix-socket``)."""
    concurrency: int = 10
    requests: Optional[int] = 10000
    duration: Optional[float] = None
    rate: Optional[float] = None
    """Open loop: this process's requests per second (None: closed loop)."""
    offset: float = 0.0
    """Open loop: when this process's first request is due, seconds after its start
    (worker processes interleave their schedules)."""
    csv: Optional[str] = None
    csv_header: bool = True

    def to_dict(self) -> Dict[str, Any]:
        d = asdict(self)
        d["body"] = None if self.body is None else self.body.decode("latin-1")
        return d

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> Plan:
        d = dict(d)
        if d.get("body") is not None:
            d["body"] = d["body"].encode("latin-1")
        d["headers"] = [tuple(pair) for pair in d.get("headers", [])]
        return cls(**d)


def make_client(plan: Plan) -> Tuple[HTTPClient, str]:
    """The client of a run and the request target; ``-H``, ``-T``, ``--no-keepalive``
    become the client's default headers, so the head of a bodiless request is built
    once, as in a program's best loop.

    Raises ValueError (or InvalidURL, a ValueError) for a URL or flag it cannot use.
    """
    url = URL(plan.url)
    if url.scheme not in ("http", "https"):
        raise ValueError(f"unsupported scheme {url.scheme!r} in {plan.url}")
    host, port = url.host, url.port
    headers: List[Tuple[str, str]] = list(plan.headers)
    names = {n.lower() for n, _ in headers}
    if not plan.keepalive and "connection" not in names:
        headers.append(("Connection", "close"))
    ssl_options: Dict[str, Any] = {}
    for spec in plan.connect_to:
        h1, p1, h2, p2 = parse_connect_to(spec)
        if (not h1 or h1.lower() == host.lower()) and (p1 is None or p1 == port):
            # Connect elsewhere, still name the URL's host in Host and in TLS (SNI
            # and the certificate check), as curl does.
            if "host" not in names:
                headers.append(("Host", url.netloc))
            if url.scheme == "https":
                ssl_options["server_hostname"] = host
            host, port = h2 or host, p2 or port
            break
    # -t bounds every wait for the server (connect, each read and write), not the
    # whole exchange: the client's timeout= arms a gevent.Timeout per request,
    # about a third of the best loop's CPU time per request on CPython (measured:
    # 20 us of 60), and a server that stalls is caught just the same.
    fields = Headers()  # (add, not a dict: -H may repeat a name, as curl sends it)
    for name, value in headers:
        fields.add(name, value)
    timeout = plan.timeout or None
    client = HTTPClient(
        host,
        port=port,
        ssl=url.scheme == "https",
        ssl_options=ssl_options or None,
        insecure=plan.insecure,
        headers=fields if headers else None,
        concurrency=plan.concurrency,
        connection_timeout=timeout,
        network_timeout=timeout,
        version=HTTPClient.HTTP_10 if plan.http10 else HTTPClient.HTTP_11,
        proxy=plan.proxy,
        uds=plan.unix_socket,
    )
    return client, url.quoted_uri


def _slots(plan: Plan) -> Optional[int]:
    """Open loop: how many start times this process has (None: until stopped)."""
    if not plan.rate:
        return None
    slots: Optional[int] = plan.requests
    if plan.duration is not None:
        # the start times offset + k / rate that fall before the deadline
        in_time = max(0, math.ceil((plan.duration - plan.offset) * plan.rate - 1e-9))
        slots = in_time if slots is None else min(slots, in_time)
    return slots


def run(
    plan: Plan,
    *,
    stop: Optional[gevent.event.Event] = None,
    progress: Optional[Callable[[Dict[str, Any]], None]] = None,
) -> Tally:
    """Run ``plan`` in this process and return what it counted.

    ``stop``: set it to end the run early (Ctrl-C): no new sends, requests in
    flight cancelled. ``progress(snapshot)`` is called every ``PROGRESS_INTERVAL``
    seconds with the figures of the last interval: ``elapsed``, ``done`` and
    ``errors`` so far, ``rps`` of the interval, ``window`` (its latencies, a
    :meth:`Histogram.to_dict`) and open ``connections``.

    Raises ValueError for a plan it cannot run (see :func:`make_client`).
    """
    client, target = make_client(plan)
    open_loop = bool(plan.rate)
    tally = Tally(open_loop)
    clock = time.perf_counter
    method, body = plan.method, plan.body
    request = client.request

    record_latency = tally.latency.record
    record_service = tally.service.record if tally.service is not None else None
    record_schedule = tally.schedule.record if tally.schedule is not None else None
    ph = tally.phases
    rec_queued, rec_dns, rec_connect, rec_tls = (
        ph["queued"].record,
        ph["dns"].record,
        ph["connect"].record,
        ph["tls"].record,
    )
    rec_send, rec_wait, rec_receive = ph["send"].record, ph["wait"].record, ph["receive"].record
    status = tally.status
    window: Optional[List[float]] = [] if progress is not None else None
    counts = [0, 0, 0, 0]  # body bytes, behind schedule, in flight, started (open loop)
    running = [True]
    csv_file = None
    writer: Any = None
    if plan.csv:
        csv_file = open(plan.csv, "w", newline="", buffering=1 << 16)
        writer = csv.writer(csv_file)
        if plan.csv_header:
            writer.writerow(CSV_COLUMNS)
    t_start = [0.0]

    def row(latency: float, t0: float, late: Optional[float], r: Any, t: Any, exc: Any) -> None:
        dial = (t.dns or 0.0) + (t.connect or 0.0) + (t.tls or 0.0) if t is not None else 0.0
        writer.writerow(
            (
                f"{latency:.6f}",
                f"{dial:.6f}",
                f"{(t.dns or 0.0) if t is not None else 0.0:.6f}",
                f"{(t.send or 0.0) if t is not None else 0.0:.6f}",
                f"{(t.wait or 0.0) if t is not None else 0.0:.6f}",
                f"{(t.receive or 0.0) if t is not None else 0.0:.6f}",
                r.status_code if r is not None else "",
                f"{t0 - t_start[0]:.6f}",
                f"{t.queued:.6f}" if t is not None else "",
                "" if t is None or t.connect is None else f"{t.connect:.6f}",
                "" if t is None or t.tls is None else f"{t.tls:.6f}",
                "" if late is None else f"{late:.6f}",
                "" if exc is None else type(exc).__name__,
            )
        )

    def phases(t: Any) -> None:
        # One sampled response's phases (see PHASE_SAMPLE).
        rec_queued(t.queued)
        if not t.reused:
            if t.dns is not None:
                rec_dns(t.dns)
            if t.connect is not None:
                rec_connect(t.connect)
            if t.tls is not None:
                rec_tls(t.tls)
        if t.send is not None:
            rec_send(t.send)
            rec_wait(t.wait)
        if t.receive is not None:
            rec_receive(t.receive)

    left = [plan.requests if plan.requests is not None else -1]
    # --csv reads every response's timings anyway: then every one is a sample.
    sample = 1 if writer is not None else PHASE_SAMPLE

    def closed_loop() -> None:
        n = sample - 1  # each greenlet's first request (a new connection) is a sample
        while running[0] and left[0]:
            left[0] -= 1
            counts[2] += 1
            t0 = clock()
            try:
                r = request(method, target, body) if body else request(method, target)
                nbody = len(r.read())
            except Exception as exc:  # counted, the run goes on
                counts[2] -= 1
                tally.add_error(exc)
                if writer is not None:
                    row(clock() - t0, t0, None, None, None, exc)
                continue
            latency = clock() - t0
            counts[2] -= 1
            # The hot path of the tool: keep it as short as the best loop's.
            record_latency(latency)
            code = r.status_code
            status[code] = status.get(code, 0) + 1
            counts[0] += nbody
            n += 1
            if n == sample:
                n = 0
                t = r.timings
                phases(t)
                if writer is not None:
                    row(latency, t0, None, r, t, None)
            if window is not None:
                window.append(latency)

    slots = _slots(plan) if open_loop else None
    next_slot = [0]
    interval = 1.0 / plan.rate if plan.rate else 0.0
    sleep = gevent.sleep

    def open_loop_() -> None:
        first = t_start[0] + plan.offset
        n = sample - 1
        while running[0]:
            k = next_slot[0]
            if slots is not None and k >= slots:
                return
            next_slot[0] = k + 1
            scheduled = first + k * interval
            now = clock()
            while now < scheduled:  # (a loop: the event loop's timers can fire early)
                sleep(scheduled - now)
                now = clock()
            late = now - scheduled
            if late >= BEHIND_SCHEDULE:
                counts[1] += 1
            record_schedule(late)  # type: ignore[misc]
            counts[2] += 1
            counts[3] += 1
            try:
                r = request(method, target, body) if body else request(method, target)
                nbody = len(r.read())
            except Exception as exc:  # counted, the run goes on
                counts[2] -= 1
                tally.add_error(exc)
                if writer is not None:
                    row(clock() - scheduled, now, late, None, None, exc)
                continue
            end = clock()
            counts[2] -= 1
            record_latency(end - scheduled)
            record_service(end - now)  # type: ignore[misc]
            code = r.status_code
            status[code] = status.get(code, 0) + 1
            counts[0] += nbody
            n += 1
            if n == sample:
                n = 0
                t = r.timings
                phases(t)
                if writer is not None:
                    row(end - scheduled, now, late, r, t, None)
            if window is not None:
                window.append(end - scheduled)

    def lag_probe() -> None:
        record = tally.lag.record
        while True:
            t = clock()
            sleep(LAG_INTERVAL)
            late = clock() - t - LAG_INTERVAL
            record(late if late > 0.0 else 0.0)

    def reporter() -> None:
        assert progress is not None and window is not None
        last_done, last_errors, last_t = 0, 0, t_start[0]
        while True:
            sleep(PROGRESS_INTERVAL)
            now = clock()
            done, errors = tally.responses, tally.error_count
            batch = window[:]
            del window[:]
            h = Histogram()
            for v in batch:
                h.record(v)
            progress(
                {
                    "elapsed": now - t_start[0],
                    "done": done + errors,
                    "errors": errors,
                    "rps": (done + errors - last_done - last_errors) / (now - last_t),
                    "window": h.to_dict(),
                    "connections": client.statistics().connections,
                }
            )
            last_done, last_errors, last_t = done, errors, now

    pool = gevent.pool.Pool()
    helpers = [gevent.spawn(lag_probe)]
    cpu0 = time.process_time()
    t_start[0] = clock()
    loop = open_loop_ if open_loop else closed_loop
    for _ in range(plan.concurrency):
        pool.spawn(loop)
    if progress is not None:
        helpers.append(gevent.spawn(reporter))

    def end_of_time(deadline: float) -> None:
        # By the run's clock: a timer of the event loop counts from the loop's
        # cached time, which can be a few ms behind.
        while clock() < deadline:
            sleep(deadline - clock())
        running[0] = False

    if plan.duration is not None and not open_loop:
        helpers.append(gevent.spawn(end_of_time, t_start[0] + plan.duration))
    joiner = gevent.spawn(pool.join)
    try:
        if stop is not None:
            gevent.wait([joiner, stop], count=1)
        else:
            joiner.join()
        if not joiner.dead:  # stopped: cancel what is in flight
            running[0] = False
            tally.interrupted = True
            tally.cancelled = counts[2]
            pool.kill()
    finally:
        elapsed = clock() - t_start[0]
        tally.cpu = time.process_time() - cpu0
        gevent.killall(helpers)
        joiner.kill()
        stats = client.statistics()
        client.close()
        if csv_file is not None:
            csv_file.close()
    tally.duration = elapsed
    tally.body_bytes, tally.behind = counts[0], counts[1]
    tally.phase_sample = sample
    tally.opened = stats.created
    tally.reused = stats.reused
    tally.discarded = stats.discarded
    if open_loop:
        tally.unsent = max(0, (slots if slots is not None else counts[3]) - counts[3])
    elif plan.requests is not None and tally.interrupted:
        tally.unsent = max(0, left[0])
    return tally
