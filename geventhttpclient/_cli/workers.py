"""``geventhttpclient bench -p N``: the run split over N worker processes.

One Python process drives one core: its event loop runs every greenlet, and past
that core the loop's lag, not the server, sets the figures. ``-p N`` starts N
processes of ``sys.executable -m geventhttpclient bench --worker``, each with its
own hub, client and share of ``-n``, ``-c`` and ``-q``, and merges their tallies
exactly (histogram buckets add up; no average of percentiles).

Why subprocesses and not ``multiprocessing``: the parent keeps an event loop
running while the workers work (the embedded server, when no URL is given, is in
the parent, and so is the live progress line). ``gevent.subprocess`` and pipe
reads are cooperative there, where ``multiprocessing``'s pipes and its result
thread would block the hub; and a fresh interpreter per worker (what the *spawn*
method would give too) shares no hub, no client and no import state with the
parent. The protocol is JSON lines:

* parent to worker (stdin): the :class:`~.loadrun.Plan` as one line, later ``go``;
* worker to parent (stdout): ``{"ready": true}`` once it has read its plan, then
  ``{"progress": ...}`` once a second when asked, then ``{"tally": ...}``.

Ctrl-C: the workers ignore SIGINT (a terminal sends it to the whole process
group); the parent sends them SIGTERM, on which they stop as the parent would and
still send their tally.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from typing import Any, Callable, Dict, List, Optional

import gevent
import gevent.event
import gevent.subprocess

from .loadrun import Plan, run
from .report import Tally

__all__ = ["run_processes", "worker_main", "split", "auto_processes"]


def auto_processes() -> int:
    """``-p auto``: the cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def split(total: int, parts: int) -> List[int]:
    """``total`` in ``parts`` shares differing by at most one, larger first."""
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def plans(plan: Plan, processes: int) -> List[Plan]:
    """Each process's share of ``plan`` (``-n``, ``-c`` and ``-q`` are totals).

    Open loop: process i's start times are ``i/rate + k*processes/rate``, so the
    processes' schedules interleave into the one schedule of the total rate.
    """
    counts = split(plan.requests, processes) if plan.requests is not None else None
    conc = split(plan.concurrency, processes)
    out = []
    for i in range(processes):
        d = plan.to_dict()
        d["concurrency"] = conc[i]
        d["requests"] = counts[i] if counts is not None else None
        if plan.rate:
            d["rate"] = plan.rate / processes
            d["offset"] = i / plan.rate
        if plan.csv:
            d["csv"] = f"{plan.csv}.part{i}"
            d["csv_header"] = False
        out.append(Plan.from_dict(d))
    return out


def run_processes(
    plan: Plan,
    processes: int,
    *,
    stop: Optional[gevent.event.Event] = None,
    progress: Optional[Callable[[Dict[str, Any]], None]] = None,
) -> Tally:
    """Run ``plan`` split over ``processes`` worker processes; their merged tally.

    Raises RuntimeError when a worker fails (its stderr is the parent's).
    """
    shares = plans(plan, processes)
    cmd = [sys.executable, "-m", "geventhttpclient", "bench", "--worker"]
    procs = [
        gevent.subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE) for _ in shares
    ]
    ready = [gevent.event.Event() for _ in procs]
    tallies: List[Optional[Tally]] = [None] * len(procs)
    snapshots: List[Optional[Dict[str, Any]]] = [None] * len(procs)

    def read(i: int) -> None:
        out = procs[i].stdout
        assert out is not None
        for line in out:
            msg = json.loads(line)
            if "ready" in msg:
                ready[i].set()
            elif "progress" in msg:
                snapshots[i] = msg["progress"]
            elif "tally" in msg:
                tallies[i] = Tally.from_dict(msg["tally"])
        ready[i].set()  # (a worker that died before ready: do not wait for it)

    readers = [gevent.spawn(read, i) for i in range(len(procs))]
    try:
        for proc, share in zip(procs, shares):
            assert proc.stdin is not None
            message = {"plan": share.to_dict(), "progress": progress is not None}
            proc.stdin.write(json.dumps(message).encode() + b"\n")
            proc.stdin.flush()
        for event in ready:
            event.wait()
        for proc in procs:
            assert proc.stdin is not None
            try:
                proc.stdin.write(b"go\n")
                proc.stdin.flush()
            except OSError:
                pass  # it died; its missing tally says so below

        ticker = gevent.spawn(_tick, snapshots, progress) if progress is not None else None
        done = gevent.spawn(gevent.joinall, readers)
        if stop is not None:
            gevent.wait([done, stop], count=1)
            if not done.dead:
                for proc in procs:
                    if proc.poll() is None:
                        proc.send_signal(signal.SIGTERM)
        done.join()
        if ticker is not None:
            ticker.kill()
    finally:
        for proc in procs:
            if proc.poll() is None and proc.stdin is not None:
                proc.stdin.close()
        for proc in procs:
            proc.wait()
        gevent.killall(readers)
    missing = [i for i, t in enumerate(tallies) if t is None]
    if missing:
        codes = [procs[i].returncode for i in missing]
        raise RuntimeError(f"worker process(es) {missing} failed (exit status {codes})")
    merged = Tally(bool(plan.rate))
    for t in tallies:
        assert t is not None
        merged.merge(t)
    merged.processes = processes
    if plan.csv:
        _join_csv(plan.csv, [s.csv for s in shares if s.csv])
    return merged


def _tick(
    snapshots: List[Optional[Dict[str, Any]]], progress: Callable[[Dict[str, Any]], None]
) -> None:
    """Once a second, the sum of the workers' latest progress reports."""
    from .histogram import Histogram

    while True:
        gevent.sleep(1.0)
        got = [s for s in snapshots if s is not None]
        if not got:
            continue
        window = Histogram()
        for s in got:
            window.merge(Histogram.from_dict(s["window"]))
        progress(
            {
                "elapsed": max(s["elapsed"] for s in got),
                "done": sum(s["done"] for s in got),
                "errors": sum(s["errors"] for s in got),
                "rps": sum(s["rps"] for s in got),
                "window": window.to_dict(),
                "connections": sum(s["connections"] for s in got),
            }
        )


def _join_csv(path: str, parts: List[str]) -> None:
    from .loadrun import CSV_COLUMNS

    with open(path, "w", newline="") as out:
        out.write(",".join(CSV_COLUMNS) + "\r\n")
        for part in parts:
            try:
                with open(part, newline="") as f:
                    for line in f:
                        out.write(line)
            finally:
                try:
                    os.unlink(part)
                except OSError:
                    pass


def worker_main() -> int:
    """``bench --worker``: one worker process (see the module docstring)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    line = sys.stdin.readline()
    if not line:
        return 2
    message = json.loads(line)
    plan = Plan.from_dict(message["plan"])
    stop = gevent.event.Event()
    gevent.signal_handler(signal.SIGTERM, stop.set)
    out = sys.stdout

    def send(msg: Dict[str, Any]) -> None:
        out.write(json.dumps(msg) + "\n")
        out.flush()

    send({"ready": True})
    if sys.stdin.readline().strip() != "go":
        return 2
    tally = run(
        plan,
        stop=stop,
        progress=(lambda snap: send({"progress": snap})) if message["progress"] else None,
    )
    send({"tally": tally.to_dict()})
    return 0
