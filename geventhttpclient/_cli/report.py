"""What ``geventhttpclient bench`` counts and how it tells it: :class:`Tally`, the
``--json`` result (schema: docs/bench-schema.json) and the terminal summary.

A run keeps no per-request list: every latency goes into a :class:`Histogram`
(constant memory over a long ``-z`` run), every other figure into a counter. A
:class:`Tally` crosses a process boundary as JSON (:meth:`Tally.to_dict`) and tallies
merge exactly, so the summary of ``-p 4`` is the summary of all the requests of the
four processes, not an average of four summaries.
"""

from __future__ import annotations

import sys
from typing import Any, Dict, List, Optional

import gevent

from .. import __version__
from .histogram import Histogram

__all__ = [
    "PHASES",
    "PERCENTILES",
    "SCHEMA_VERSION",
    "BEHIND_SCHEDULE",
    "LAG_INTERVAL",
    "SATURATION_LAG",
    "SATURATION_MESSAGE",
    "CPU_BOUND",
    "Tally",
    "result",
    "summary",
    "progress_line",
    "implementation",
]

SCHEMA_VERSION = 1
"""``schema_version`` of the ``--json`` document; raised when a key changes meaning or
goes away (new keys may be added within a version)."""

PHASES = ("queued", "dns", "connect", "tls", "send", "wait", "receive")
"""The phases of ``response.timings`` the summary breaks latency into (see
:mod:`geventhttpclient.timings`); ``schedule`` (open loop only) comes first."""

PERCENTILES = (
    ("p50", 50.0),
    ("p75", 75.0),
    ("p90", 90.0),
    ("p95", 95.0),
    ("p99", 99.0),
    ("p999", 99.9),
)

BEHIND_SCHEDULE = 0.010
"""Open loop: a send that starts this many seconds or more after its scheduled time
is counted as behind schedule. 10 ms is well above the event loop's timer slack
(libev wakes a sleeping greenlet up to about 1 ms late), so only real backlog (all
``-c`` connections busy, or a saturated client) is counted."""

LAG_INTERVAL = 0.010
"""How often the event-loop lag probe wakes up (seconds): 100 wakeups a second."""

SATURATION_LAG = 0.010
"""Event-loop lag p99 (seconds) above which the summary warns that the client is
saturated. A greenlet whose response has arrived waits this long for its turn
before its clock reads the end of the request, so the latencies carry that much of
the client's own queueing; and in a closed loop the request rate is then the rate
this process can drive. The idle lag is below 1 ms (timer slack); a client busy
but keeping up stays below a few ms."""

SATURATION_MESSAGE = "client saturated: the numbers measure this machine, not the server"

CPU_BOUND = 0.9
"""Closed loop: at this share of a core or more per process, the request rate is what
this process can drive (a closed loop sends as fast as it can), and the summary
says so and suggests ``-p``; the latencies are still honest while the loop's lag
stays below ``SATURATION_LAG``."""


def implementation() -> str:
    """``cpython 3.12.1``: the interpreter, in the summary and the JSON."""
    v = sys.version_info
    return f"{sys.implementation.name} {v.major}.{v.minor}.{v.micro}"


class Tally:
    """Everything one run counts, for one process or merged over several.

    Latencies and phases are in seconds. ``latency`` is the latency the summary
    quotes: from the call to the last body byte in a closed loop, from the
    *scheduled* start in an open loop (``-q``), where ``service`` keeps the
    uncorrected one (from the actual send) and ``schedule`` how late sends started.
    Requests that failed have no latency; they are counted in ``errors``.
    """

    def __init__(self, open_loop: bool = False) -> None:
        self.open_loop = open_loop
        self.latency = Histogram()
        self.service: Optional[Histogram] = Histogram() if open_loop else None
        self.schedule: Optional[Histogram] = Histogram() if open_loop else None
        self.phases: Dict[str, Histogram] = {name: Histogram() for name in PHASES}
        self.lag = Histogram()
        self.status: Dict[int, int] = {}
        self.errors: Dict[str, int] = {}
        self.error_examples: Dict[str, str] = {}
        self.body_bytes = 0
        self.phase_sample = 1
        """Phases are recorded for one response in this many (see loadrun.PHASE_SAMPLE)."""
        self.behind = 0
        """Open loop: sends that started ``BEHIND_SCHEDULE`` or more late."""
        self.unsent = 0
        """Scheduled or counted requests never sent (the run was interrupted)."""
        self.cancelled = 0
        """Requests in flight when the run was interrupted (not counted elsewhere)."""
        self.opened = 0
        self.reused = 0
        """Requests served on a connection that had served one before."""
        self.discarded = 0
        self.duration = 0.0
        self.cpu = 0.0
        self.processes = 1
        self.interrupted = False

    @property
    def responses(self) -> int:
        return sum(self.status.values())

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @property
    def requests(self) -> int:
        """Requests finished: with a response or with an error."""
        return self.responses + self.error_count

    def add_error(self, exc: BaseException) -> None:
        name = type(exc).__name__
        self.errors[name] = self.errors.get(name, 0) + 1
        if name not in self.error_examples:
            self.error_examples[name] = str(exc)[:200]

    def merge(self, other: Tally) -> None:
        """Add ``other`` (another process's tally of the same run) to this one."""
        self.open_loop = self.open_loop or other.open_loop
        self.latency.merge(other.latency)
        if other.service is not None:
            if self.service is None:
                self.service = Histogram()
            self.service.merge(other.service)
        if other.schedule is not None:
            if self.schedule is None:
                self.schedule = Histogram()
            self.schedule.merge(other.schedule)
        for name in PHASES:
            self.phases[name].merge(other.phases[name])
        self.lag.merge(other.lag)
        for code, n in other.status.items():
            self.status[code] = self.status.get(code, 0) + n
        for name, n in other.errors.items():
            self.errors[name] = self.errors.get(name, 0) + n
        for name, text in other.error_examples.items():
            self.error_examples.setdefault(name, text)
        for attr in (
            "body_bytes",
            "behind",
            "unsent",
            "cancelled",
            "opened",
            "reused",
            "discarded",
            "cpu",
        ):
            setattr(self, attr, getattr(self, attr) + getattr(other, attr))
        self.phase_sample = max(self.phase_sample, other.phase_sample)
        self.duration = max(self.duration, other.duration)
        self.interrupted = self.interrupted or other.interrupted

    def to_dict(self) -> Dict[str, Any]:
        """A JSON-able form for :meth:`from_dict` (a worker process's answer)."""

        def h(x: Optional[Histogram]) -> Optional[Dict[str, Any]]:
            return None if x is None else x.to_dict()

        return {
            "open_loop": self.open_loop,
            "latency": h(self.latency),
            "service": h(self.service),
            "schedule": h(self.schedule),
            "phases": {name: h(self.phases[name]) for name in PHASES},
            "lag": h(self.lag),
            "status": {str(k): v for k, v in self.status.items()},
            "errors": dict(self.errors),
            "error_examples": dict(self.error_examples),
            "counters": {
                attr: getattr(self, attr)
                for attr in (
                    "body_bytes",
                    "phase_sample",
                    "behind",
                    "unsent",
                    "cancelled",
                    "opened",
                    "reused",
                    "discarded",
                    "duration",
                    "cpu",
                    "interrupted",
                )
            },
        }

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> Tally:
        """The tally :meth:`to_dict` described. Raises ValueError or KeyError on a
        malformed document."""

        def h(x: Optional[Dict[str, Any]]) -> Optional[Histogram]:
            return None if x is None else Histogram.from_dict(x)

        t = cls(bool(d["open_loop"]))
        t.latency = Histogram.from_dict(d["latency"])
        t.service = h(d["service"])
        t.schedule = h(d["schedule"])
        t.phases = {name: Histogram.from_dict(d["phases"][name]) for name in PHASES}
        t.lag = Histogram.from_dict(d["lag"])
        t.status = {int(k): int(v) for k, v in d["status"].items()}
        t.errors = {str(k): int(v) for k, v in d["errors"].items()}
        t.error_examples = dict(d["error_examples"])
        for attr, value in d["counters"].items():
            setattr(t, attr, value)
        return t


def _latency(h: Histogram, corrected: bool) -> Dict[str, Any]:
    gevent.idle()  # (see _phase)
    values = h.percentiles([p for _, p in PERCENTILES])
    out: Dict[str, Any] = {"count": h.count, "min": h.min, "mean": h.mean()}
    out.update({name: v for (name, _), v in zip(PERCENTILES, values)})
    out["max"] = h.max
    out["corrected"] = corrected
    out["histogram"] = h.to_dict()
    return out


def _phase(h: Histogram) -> Dict[str, Any]:
    # A percentile walks the histogram's 32,768 buckets: a few ms on CPython. The
    # hub may be serving (the embedded server, other greenlets of a program that
    # calls bench()), so let it run between two histograms. (idle(), not sleep(0):
    # sleep(0) resumes within the same loop iteration, before timers and I/O.)
    gevent.idle()
    return {"count": h.count, "mean": h.mean(), "p99": h.percentile(99.0), "max": h.max}


def result(tally: Tally, config: Dict[str, Any]) -> Dict[str, Any]:
    """The ``--json`` document (docs/bench-schema.json) of a finished run.

    ``config`` is the run's settings as :func:`geventhttpclient._cli.bench.bench`
    describes them (url, method, requests, concurrency, duration, rate, ...).
    """
    duration = tally.duration
    requests = tally.requests
    lag_p50, lag_p99 = tally.lag.percentiles((50.0, 99.0))
    phases: Dict[str, Any] = {
        "schedule": None if tally.schedule is None else _phase(tally.schedule)
    }
    phases.update({name: _phase(tally.phases[name]) for name in PHASES})
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": f"geventhttpclient {__version__}",
        "python": implementation(),
        "url": config["url"],
        "method": config["method"],
        "config": {
            k: config[k]
            for k in (
                "requests",
                "concurrency",
                "duration",
                "rate",
                "processes",
                "keepalive",
                "http_version",
                "timeout",
            )
        },
        "mode": "open" if tally.open_loop else "closed",
        "requests": requests,
        "responses": tally.responses,
        "errors": tally.error_count,
        "success_rate": tally.responses / requests if requests else 0.0,
        "duration": duration,
        "rps": requests / duration if duration > 0 else 0.0,
        "body_bytes": tally.body_bytes,
        "mb_per_s": tally.body_bytes / 1e6 / duration if duration > 0 else 0.0,
        "latency": _latency(tally.latency, tally.open_loop),
        "latency_uncorrected": None if tally.service is None else _latency(tally.service, False),
        "status_codes": {str(k): v for k, v in sorted(tally.status.items())},
        "errors_by_type": dict(sorted(tally.errors.items())),
        "error_examples": dict(sorted(tally.error_examples.items())),
        "phases": phases,
        "phase_sample": tally.phase_sample,
        "schedule": (
            {"behind": tally.behind, "unsent": tally.unsent, "threshold": BEHIND_SCHEDULE}
            if tally.open_loop
            else None
        ),
        "connections": {
            "opened": tally.opened,
            "reused": tally.reused,
            "discarded": tally.discarded,
        },
        "client": {
            "processes": tally.processes,
            "cpu": tally.cpu / duration / tally.processes if duration > 0 else 0.0,
            "loop_lag": {"p50": lag_p50, "p99": lag_p99, "max": tally.lag.max},
            "saturated": lag_p99 > SATURATION_LAG,
            "saturation_threshold": SATURATION_LAG,
        },
        "interrupted": tally.interrupted,
        "cancelled": tally.cancelled,
        "unsent": tally.unsent,
    }


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.3f}"


def _count_map(d: Dict[str, int]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in d.items())


def summary(res: Dict[str, Any], histogram: Optional[Histogram] = None) -> str:
    """The terminal summary of the ``--json`` document ``res``.

    ``histogram``: the latency histogram to draw (rebuilt from ``res`` when None).
    Every label is 14 characters wide so that the figures line up.
    """
    cfg = res["config"]
    lines: List[str] = []
    add = lines.append
    client = res["client"]
    procs = cfg["processes"]
    add(f"{res['tool']} on {res['python']}, {procs} process{'es' if procs > 1 else ''}")
    if client["saturated"]:
        add(f"WARNING:      {SATURATION_MESSAGE}")
        add(
            f"              (event-loop lag p99 {_ms(client['loop_lag']['p99'])} ms"
            f" > {_ms(client['saturation_threshold'])} ms)"
        )
    add(f"URL:          {res['method']} {res['url']}")
    keep = "on" if cfg["keepalive"] else "off"
    if res["mode"] == "open":
        limit = f"for {cfg['duration']:g} s" if cfg["duration"] else f"{cfg['requests']} requests"
        add(
            f"load:         open loop at {cfg['rate']:g} req/s, {limit} at concurrency"
            f" {cfg['concurrency']} (keep-alive {keep}, HTTP/{cfg['http_version']})"
        )
    else:
        limit = f"for {cfg['duration']:g} s" if cfg["duration"] else f"{cfg['requests']} requests"
        add(
            f"load:         closed loop, {limit} at concurrency {cfg['concurrency']}"
            f" (keep-alive {keep}, HTTP/{cfg['http_version']})"
        )
    if res["interrupted"]:
        add(f"interrupted:  yes ({res['cancelled']} in flight cancelled, {res['unsent']} not sent)")
    add(f"time:         {res['duration']:.3f} s")
    add(
        f"requests:     {res['requests']}  ({res['responses']} responses,"
        f" success {res['success_rate'] * 100:.2f} %)"
    )
    add(f"requests/s:   {res['rps']:,.0f}")
    add(f"transfer:     {res['mb_per_s']:.2f} MB/s of body  ({res['body_bytes']:,} bytes)")
    add(f"status:       {_count_map(res['status_codes']) or '-'}")
    n_err = res["errors"]
    add(f"errors:       {n_err}" + (f"  ({_count_map(res['errors_by_type'])})" if n_err else ""))
    for name, text in res["error_examples"].items():
        add(f"              {name}: {text}")
    lat = res["latency"]
    if lat["count"]:
        label = "latency (ms):"
        figures = "  ".join(
            f"{name.replace('p999', 'p99.9')} {_ms(lat[name])}" for name, _ in PERCENTILES
        )
        add(f"{label} {figures}  max {_ms(lat['max'])}")
        add(f"              min {_ms(lat['min'])}  mean {_ms(lat['mean'])}")
        if res["mode"] == "open":
            add("              from the scheduled start (coordinated omission corrected)")
            raw = res["latency_uncorrected"]
            add(
                f"uncorrected:  p50 {_ms(raw['p50'])}  p99 {_ms(raw['p99'])}"
                f"  max {_ms(raw['max'])}  (from the actual send)"
            )
    if res["schedule"] is not None:
        s = res["schedule"]
        add(
            f"schedule:     {s['behind']} sends behind schedule"
            f" (>= {_ms(s['threshold'])} ms late), {s['unsent']} not sent"
        )
    if lat["count"]:
        h = histogram if histogram is not None else Histogram.from_dict(lat["histogram"])
        add("histogram:")
        lines.extend(h.render())
        sample = res["phase_sample"]
        every = "every response" if sample == 1 else f"1 response in {sample}"
        add(f"phases (ms):         mean        p99    samples  ({every})")
        for name, ph in res["phases"].items():
            if ph is None:
                continue
            if not ph["count"]:
                add(f"  {name:<10} {'-':>12} {'-':>10} {0:>10}")
                continue
            add(f"  {name:<10} {_ms(ph['mean']):>12} {_ms(ph['p99']):>10} {ph['count']:>10}")
    conns = res["connections"]
    add(
        f"connections:  {conns['opened']} opened, {conns['reused']} requests on reused"
        f" connections, {conns['discarded']} discarded"
    )
    add(
        f"client:       event-loop lag p99 {_ms(client['loop_lag']['p99'])} ms"
        f" (saturated above {_ms(client['saturation_threshold'])} ms),"
        f" CPU {client['cpu'] * 100:.0f} % of a core per process"
    )
    if res["mode"] == "closed" and client["cpu"] >= CPU_BOUND:
        add(
            f"              the client used {client['cpu'] * 100:.0f} % of a core: requests/s"
            " is this process's limit (more with -p)"
        )
    if client["saturated"]:
        add(f"WARNING:      {SATURATION_MESSAGE}")
    return "\n".join(lines)


def progress_line(
    elapsed: float,
    done: int,
    total: Optional[int],
    remaining: Optional[float],
    rps: float,
    errors: int,
    p50: float,
    p99: float,
    connections: int,
) -> str:
    """The live line (stderr, once a second, on a terminal only)."""
    if total is not None:
        where = f"{done:,}/{total:,}"
    elif remaining is not None:
        where = f"{done:,} done, {max(remaining, 0.0):.0f} s left"
    else:
        where = f"{done:,} done"
    return (
        f"[{elapsed:6.1f} s] {where}  {rps:,.0f} req/s  errors {errors}"
        f"  p50 {_ms(p50)} ms  p99 {_ms(p99)} ms  connections {connections}"
    )
