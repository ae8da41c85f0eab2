"""Shared bits of the worker scripts: arguments, timing, JSON result.

Every worker is run as ``python clients/<peer>.py --url URL --concurrency C --n N
--mode MODE [--warmup W] [--max-seconds S] [--reps R] [--cafile F] [--no-keepalive]``
in the peer's own virtualenv and prints one JSON object on its last stdout line.
An https URL is verified against ``--cafile`` (the private nginx's CA).
``--no-keepalive``: every request on a new connection (the server closes it too).

Modes:
  rps       N GETs of URL (keep-alive) from C concurrent workers sharing one client.
  read      GET URL ``reps`` times, consuming the body with read(65536).
  readinto  same with readinto(bytearray(65536)).
  rss1g     (ours) read(65536) over /big ``reps`` times, report peak RSS growth.
  idle      N concurrent requests on a pool of C connections, twice, then idle:
            RSS growth (see idle_memory). URL: the barrier server's base URL.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import sys
import time

PYPY = platform.python_implementation() == "PyPy"
BLOCK = 65536


def parse_args(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--concurrency", "-c", type=int, default=10)
    p.add_argument("--n", type=int, default=10000)
    p.add_argument("--mode", default="rps")
    p.add_argument("--warmup", type=int, default=-1, help="warm-up requests (-1: auto)")
    p.add_argument("--warmup-seconds", type=float, default=-1.0)
    p.add_argument("--max-seconds", type=float, default=0.0, help="stop early (0: never)")
    p.add_argument(
        "--warmup-cap",
        type=float,
        default=-1.0,
        help="stop the warm-up requests after this many seconds (-1: 3 s, PyPy 10 s)",
    )
    p.add_argument("--reps", type=int, default=1)
    p.add_argument("--variant", default="")
    p.add_argument("--cafile", default=None, help="CA file to verify an https URL with")
    p.add_argument("--no-keepalive", action="store_true", help="a new connection for every request")
    a = p.parse_args(argv)
    if a.warmup < 0:
        a.warmup = (
            max(a.concurrency * 2, min(2000, a.n // 5))
            if not PYPY
            else max(a.concurrency * 4, 5000)
        )
    if a.warmup_cap < 0:
        a.warmup_cap = 10.0 if PYPY else 3.0
        if "vgpreload" in os.environ.get("LD_PRELOAD", ""):
            a.warmup_cap = 0.0  # under valgrind: fixed warm-up counts (runs are differenced)
    if a.warmup_seconds < 0:
        a.warmup_seconds = 3.0 if PYPY else 0.0
    raise_nofile()
    return a


def raise_nofile():
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = min(hard, 65536) if hard != resource.RLIM_INFINITY else 65536
        if soft < want:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    except Exception:
        pass


def split_url(url):
    from urllib.parse import urlsplit

    u = urlsplit(url)
    path = u.path or "/"
    if u.query:
        path += "?" + u.query
    return u.hostname, u.port or (443 if u.scheme == "https" else 80), path


def is_https(url):
    return url.startswith("https:")


def rss_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def hwm_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def idle_memory(args, peer, make_client, burst):
    """RSS growth from ``--n`` concurrent requests on a pool of ``--concurrency``.

    The requests go to the barrier server (benchmarks/_barrier.py) as
    ``/barrier/C``: it answers once C requests are in, so the pool really opens C
    connections. ``burst(client, n, path)`` runs n requests concurrently and reads
    them. run.py differences two pool sizes with the same n: the greenlets and the
    heap they leave behind cancel, and what is left is the cost of the extra idle
    connections. A warm-up client (50 connections) first pays one-time costs
    (PyPy's JIT code for the request path, heap growth) before the baseline.
    """
    import gevent

    prefix = split_url(args.url)[2].rstrip("/")
    warm = make_client(50)
    for _ in range(3):
        burst(warm, 50, f"{prefix}/50")
    warm.close()
    del warm
    gevent.sleep(0.2)
    gc.collect()
    base = rss_kib()
    client = make_client(args.concurrency)
    for _ in range(2):  # the second round reuses the pooled connections
        burst(client, args.n, f"{prefix}/{args.concurrency}")
    gevent.sleep(0.5)
    gc.collect()
    after = rss_kib()
    emit(
        args,
        peer,
        rss_base_kib=base,
        rss_after_kib=after,
        growth_kib=after - base,
        sockets=open_sockets(),
        errors=0,
    )
    client.close()


def open_sockets():
    """Sockets this process has open (from /proc/self/fd): proves a pool's size."""
    n = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}").startswith("socket:"):
                n += 1
        except OSError:
            pass
    return n


def percentile(sorted_vals, q):
    if not sorted_vals:
        return None
    k = min(len(sorted_vals) - 1, max(0, int(round(q * (len(sorted_vals) - 1)))))
    return sorted_vals[k]


class Deadline:
    def __init__(self, seconds):
        self.t = time.perf_counter() + seconds if seconds and seconds > 0 else None

    def passed(self):
        return self.t is not None and time.perf_counter() > self.t


def emit(args, peer, **res):
    res.setdefault("peer", peer)
    res["mode"] = args.mode
    res["concurrency"] = args.concurrency
    res["python"] = platform.python_implementation() + " " + platform.python_version()
    lat = res.pop("latencies", None)
    if lat is not None:
        lat.sort()
        res["p50_ms"] = percentile(lat, 0.50) * 1e3 if lat else None
        res["p99_ms"] = percentile(lat, 0.99) * 1e3 if lat else None
    sys.stdout.write("\n" + json.dumps(res) + "\n")
    sys.stdout.flush()


def rps_result(args, peer, done, errors, elapsed, latencies, first_error=None):
    emit(
        args,
        peer,
        requests=done,
        errors=errors,
        elapsed=elapsed,
        rps=(done / elapsed) if elapsed > 0 else 0.0,
        latencies=latencies,
        first_error=first_error,
    )


def mb_result(args, peer, nbytes, elapsed, expected=None, **extra):
    emit(
        args,
        peer,
        bytes=nbytes,
        elapsed=elapsed,
        mbps=(nbytes / elapsed / 1e6) if elapsed > 0 else 0.0,
        errors=0 if expected is None or nbytes == expected else 1,
        **extra,
    )


def gevent_rps(args, peer, one_request):
    """Drive ``one_request()`` (returns body length) from C greenlets: warm-up, then N timed."""
    from gevent.pool import Pool

    state = {"left": 0, "done": 0, "errors": 0, "first_error": None}
    latencies = []
    deadline = [None]
    pc = time.perf_counter

    def worker(record):
        while state["left"] > 0:
            state["left"] -= 1
            if deadline[0] is not None and deadline[0].passed():
                state["left"] = 0
                return
            t0 = pc()
            try:
                one_request()
            except Exception as e:  # noqa: BLE001
                state["errors"] += 1
                if state["first_error"] is None:
                    state["first_error"] = repr(e)[:300]
                continue
            if record:
                latencies.append(pc() - t0)
            state["done"] += 1

    def phase(n, record, seconds=0.0):
        state["left"] = n
        state["done"] = 0
        deadline[0] = Deadline(seconds) if seconds else None
        pool = Pool(args.concurrency)
        for _ in range(args.concurrency):
            pool.spawn(worker, record)
        pool.join()

    # warm-up: opens the pooled connections and (PyPy) lets the JIT compile
    t_end = pc() + args.warmup_seconds
    phase(args.warmup, False, args.warmup_cap)
    while pc() < t_end:
        phase(max(args.warmup // 4, args.concurrency), False)
    state["errors"] = 0
    state["first_error"] = None
    gc.collect()
    t0 = pc()
    phase(args.n, True, args.max_seconds)
    elapsed = pc() - t0
    rps_result(args, peer, state["done"], state["errors"], elapsed, latencies, state["first_error"])


def timed_stream(args, peer, stream_once, expected_each=None):
    """Call ``stream_once()`` (returns bytes read) ``reps`` times after one warm-up."""
    pc = time.perf_counter
    warm = 1 if not PYPY else 2
    for _ in range(warm):
        stream_once()
    gc.collect()
    total = 0
    t0 = pc()
    for _ in range(args.reps):
        total += stream_once()
    elapsed = pc() - t0
    exp = expected_each * args.reps if expected_each else None
    mb_result(args, peer, total, elapsed, exp)
