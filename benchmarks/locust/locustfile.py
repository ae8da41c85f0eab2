"""The locust section's scenario: one FastHttpUser class, no wait, GET /small.

    locust -f benchmarks/locust/locustfile.py --headless -u N -r N --run-time T \\
        --host http://127.0.0.1:PORT

Run unchanged by the `locust` command, as a Locust user would. Besides Locust's own
statistics (--json), it measures a steady-state window: GHC_LOCUST_SETTLE seconds
after Locust reports that all users are spawned, it notes time.monotonic() and the
request and failure counts of Locust's statistics, and again when --run-time is up
(test_stopping, before the users are stopped). The requests counted in between, over
the time in between, are the requests/s the suite reports: the spawn and the first
connections are outside the window. It also notes the CPU time of this process and
of the pids in GHC_LOCUST_CPU_PIDS (nginx's worker) over the window. With
GHC_LOCUST_OUT set, the figures are written there as JSON when Locust quits.
"""

from __future__ import annotations

import json
import os
import resource
import time

import gevent
from locust import FastHttpUser, constant, events, task

SETTLE = float(os.environ.get("GHC_LOCUST_SETTLE", "2"))
OUT = os.environ.get("GHC_LOCUST_OUT")
CPU_PIDS = [int(p) for p in os.environ.get("GHC_LOCUST_CPU_PIDS", "").split(",") if p]
TICK = os.sysconf("SC_CLK_TCK")


class SmallPage(FastHttpUser):
    wait_time = constant(0)

    @task
    def small(self) -> None:
        self.client.get("/small")


_marks: dict = {}


def _cpu_of(pid: int) -> float | None:
    """CPU seconds (user + system) of one process, from /proc."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / TICK


def _mark(environment, name: str) -> None:
    total = environment.stats.total
    ru = resource.getrusage(resource.RUSAGE_SELF)
    _marks[name] = {
        "t": time.monotonic(),
        "requests": total.num_requests,
        "failures": total.num_failures,
        "users": environment.runner.user_count if environment.runner else None,
        "cpu_self": ru.ru_utime + ru.ru_stime,
        "cpu_pids": [_cpu_of(p) for p in CPU_PIDS],
    }


_env: list = []


@events.init.add_listener
def _on_init(environment, **_kw) -> None:
    _env.append(environment)


@events.spawning_complete.add_listener
def _on_spawned(user_count: int, **_kw) -> None:
    if "spawned" not in _marks:
        _marks["spawned"] = {"t": time.monotonic(), "users": user_count}
        gevent.spawn_later(SETTLE, _mark, _env[0], "start")


@events.test_stopping.add_listener
def _on_stopping(environment, **_kw) -> None:
    # Fired when --run-time is up, before the users are stopped.
    if "start" in _marks and "stop" not in _marks:
        _mark(environment, "stop")


@events.quitting.add_listener
def _on_quit(environment, **_kw) -> None:
    if not OUT:
        return
    import locust

    import geventhttpclient

    total = environment.stats.total
    exceptions = list(environment.runner.exceptions.values()) if environment.runner else []
    res: dict = {
        "geventhttpclient": geventhttpclient.__version__,
        "locust": locust.__version__,
        "exceptions": sum(e["count"] for e in exceptions),
        "first_exception": exceptions[0]["msg"] if exceptions else None,
        "total_requests": total.num_requests,
        "total_failures": total.num_failures,
        "errors": [
            {"error": str(e.error), "occurrences": e.occurrences}
            for e in environment.stats.errors.values()
        ][:10],
        "marks": _marks,
    }
    a, b = _marks.get("start"), _marks.get("stop")
    if a and b and b["t"] > a["t"]:
        dt = b["t"] - a["t"]
        res["window_s"] = dt
        res["rps"] = (b["requests"] - a["requests"]) / dt
        res["window_failures"] = b["failures"] - a["failures"]
        res["cpu_self_pct"] = 100 * (b["cpu_self"] - a["cpu_self"]) / dt
        res["cpu_pids_pct"] = [
            100 * (y - x) / dt if x is not None and y is not None else None
            for x, y in zip(a["cpu_pids"], b["cpu_pids"])
        ]
    with open(OUT, "w") as f:
        json.dump(res, f)
