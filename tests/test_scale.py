"""Scale: 10,000 connections open at once on one client, and 100,000 requests over
1,000 origins through ``HTTPClientPool`` with bounded descriptors.

Run on demand (the ``soak`` marker is deselected by default)::

    pytest -m soak tests/test_scale.py -s

Smaller, for a quick check: ``SCALE_CONNECTIONS=1000 SCALE_REQUESTS=10000
SCALE_ORIGINS=100 pytest -m soak tests/test_scale.py -s``. Also ``SCALE_PER_ORIGIN``
(each origin's ``concurrency``, default 2) and ``SCALE_WORKERS`` (greenlets sending
the 100,000 requests, default 1,000).

The server runs in a child process (this file, ``python test_scale.py serve``), on
purpose: the RSS and descriptors measured here are then the client's alone (an
in-process server would add a greenlet and a socket per connection to both), 10,000
connections need ~10,100 descriptors instead of ~20,100, and the server gets the
second core. The child talks over its standard input and output: it prints its
ports, prints ``held N`` when N requests are held, answers them on ``release`` and
prints its counters on ``quit``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import resource
import sys
import time
from typing import Any, Dict, List, Optional

import gevent
import gevent.event
import gevent.fileobject
import gevent.pool
import gevent.server
import gevent.subprocess
import pytest
from conftest import open_fds, rss  # the child server process finds it beside this file

CONNECTIONS = int(os.environ.get("SCALE_CONNECTIONS", "10000"))
REQUESTS = int(os.environ.get("SCALE_REQUESTS", "100000"))
ORIGINS = int(os.environ.get("SCALE_ORIGINS", "1000"))
PER_ORIGIN = int(os.environ.get("SCALE_PER_ORIGIN", "2"))
WORKERS = int(os.environ.get("SCALE_WORKERS", "1000"))

FD_MARGIN = 200
"""Descriptors beyond the connections: the interpreter, pytest, gevent's loop, pipes."""
BACKLOG = 65535
"""Asked of every listening socket; the kernel caps it at net.core.somaxconn (4096
here). Connects past a full accept queue have their SYN dropped and retried by the
kernel a second later: slower, never an error, so the connect timeout is large."""
CONNECT_TIMEOUT = 120.0
NETWORK_TIMEOUT = 300.0  # a held request waits until all the others have arrived
RSS_PER_CONNECTION_LIMIT = 64 * 1024
"""Bytes of RSS per open connection with its request in flight, the greenlet that
sent it included. Measured 13 KiB on CPython 3.12 and 25 KiB on PyPy 3.9: a
receive buffer (64 KiB) made resident per connection, or kept per connection
besides the pool's, goes past it."""


def listen_drops() -> int:
    """Connections the kernel dropped at a full accept queue (their SYN is sent
    again a second later), in this network namespace so far."""
    with open("/proc/net/netstat") as f:
        lines = [line.split() for line in f if line.startswith("TcpExt:")]
    return int(dict(zip(lines[0], lines[1])).get("ListenDrops", 0))


def cpu_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def raise_fd_limit(need: int) -> Optional[str]:
    """Make at least ``need`` descriptors available (root may raise the hard limit).

    Returns None, or why it cannot be done.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= need:
        return None
    if hard != resource.RLIM_INFINITY and hard < need:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (need, need))
            return None
        except (ValueError, OSError) as exc:
            return f"RLIMIT_NOFILE hard limit {hard} < {need} and not raisable: {exc}"
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))
    except (ValueError, OSError) as exc:
        return f"cannot raise RLIMIT_NOFILE to {need}: {exc}"
    return None


# -- the server (child process) -------------------------------------------------------


class Counters:
    def __init__(self) -> None:
        self.connections = 0
        self.open = 0
        self.max_open = 0
        self.requests = 0
        self.held = 0
        self.errors: List[str] = []


def serve(ports: int, hold: int, fds: int) -> None:
    """Listen on ``ports`` ephemeral ports; answer ``GET /x`` with body ``/x``.

    With ``hold``, the first ``hold`` requests are not answered before the parent
    says ``release``: answering them at all proves that many connections were open
    at once (HTTP/1.1 without pipelining: one request in flight per connection).
    """
    reason = raise_fd_limit(fds)
    if reason:
        print(json.dumps({"error": reason}), flush=True)
        return
    counters = Counters()
    released = gevent.event.Event()
    if not hold:
        released.set()

    def handle(sock: Any, addr: Any) -> None:
        counters.connections += 1
        counters.open += 1
        counters.max_open = max(counters.max_open, counters.open)
        buf = b""
        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    data = sock.recv(65536)
                    if not data:
                        return
                    buf += data
                head, _, buf = buf.partition(b"\r\n\r\n")
                target = head.split(b" ", 2)[1]
                counters.requests += 1
                if not released.is_set():
                    counters.held += 1
                    if counters.held == hold:
                        print(f"held {hold} open {counters.open}", flush=True)
                    released.wait()
                sock.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(target), target)
                )
        except OSError as exc:
            counters.errors.append(repr(exc))
        finally:
            counters.open -= 1
            sock.close()

    servers = []
    for _ in range(ports):
        server = gevent.server.StreamServer(("127.0.0.1", 0), handle, backlog=BACKLOG)
        server.start()
        servers.append(server)
    print(json.dumps([s.server_port for s in servers]), flush=True)

    stdin = gevent.fileobject.FileObject(sys.stdin.buffer, "rb")
    for line in stdin:
        command = line.strip()
        if command == b"release":
            released.set()
        elif command == b"quit":
            break
    for server in servers:
        server.close()
    report = dict(vars(counters), errors=counters.errors[:10], error_count=len(counters.errors))
    print(json.dumps(report), flush=True)


class ServerProcess:
    """The parent's handle on a :func:`serve` child."""

    def __init__(self, ports: int, hold: int = 0, fds: int = 1024) -> None:
        self.proc = gevent.subprocess.Popen(
            [
                sys.executable,
                os.path.abspath(__file__),
                "serve",
                f"--ports={ports}",
                f"--hold={hold}",
                f"--fds={fds}",
            ],
            stdin=gevent.subprocess.PIPE,
            stdout=gevent.subprocess.PIPE,
        )
        first = self.readline(60)
        if isinstance(first, dict):
            self.stop()
            pytest.skip(f"server: {first['error']}")
        self.ports: List[int] = first

    def readline(self, timeout: float) -> Any:
        with gevent.Timeout(timeout, AssertionError(f"server said nothing for {timeout}s")):
            line = self.proc.stdout.readline()
        assert line, "server exited"
        text = line.decode().strip()
        return text if text.startswith("held") else json.loads(text)

    def send(self, command: str) -> None:
        self.proc.stdin.write(command.encode() + b"\n")
        self.proc.stdin.flush()

    def quit(self) -> Dict[str, Any]:
        """Stop the server; its counters."""
        self.send("quit")
        report: Dict[str, Any] = self.readline(60)
        self.proc.wait()
        return report

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for f in (self.proc.stdin, self.proc.stdout):
            f.close()


# -- the tests (parent) ---------------------------------------------------------------


def settle() -> None:
    gc.collect()
    gc.collect()  # PyPy: finalizers the first collection ran free more
    for _ in range(3):
        gevent.sleep(0)


@pytest.fixture
def fd_limit():
    saved = resource.getrlimit(resource.RLIMIT_NOFILE)

    def need(n: int) -> None:
        reason = raise_fd_limit(n)
        if reason:
            pytest.skip(reason)

    yield need
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, saved)
    except (ValueError, OSError):  # descriptors above the old limit are closed by now
        pass


# One loop iteration may find thousands of sockets ready at once (10,000 responses
# released together) and run every greenlet they wake before the watchdog's timer:
# no single one blocks the hub, so the watchdog is not what this test is about.
@pytest.mark.soak
@pytest.mark.hub_block_limit(30.0)
def test_ten_thousand_connections(fd_limit):
    from conftest import wait_until

    from geventhttpclient import HTTPClient

    n = CONNECTIONS
    fd_limit(n + FD_MARGIN)
    server = ServerProcess(ports=1, hold=n, fds=n + FD_MARGIN)
    try:
        settle()
        fds_before = open_fds()
        rss_before = rss()
        http = HTTPClient(
            "127.0.0.1",
            server.ports[0],
            concurrency=n,
            connection_timeout=CONNECT_TIMEOUT,
            network_timeout=NETWORK_TIMEOUT,
        )
        wrong: List[Any] = []
        errors: List[str] = []

        def one(i: int) -> None:
            try:
                body = http.get(f"/{i}").read()
            except Exception as exc:  # noqa: BLE001 - counted and shown, none allowed
                errors.append(f"{i}: {exc!r}")
                return
            if body != f"/{i}".encode():
                wrong.append((i, body[:80]))

        drops_before = listen_drops()
        start = time.monotonic()
        group = gevent.pool.Group()
        for i in range(n):
            group.spawn(one, i)
        held = server.readline(CONNECT_TIMEOUT + 60)
        assert held.startswith(f"held {n} "), held
        all_open = time.monotonic() - start
        drops = listen_drops() - drops_before
        # Every connection is open and carries its request; none has an answer yet.
        stats = http.statistics()
        assert stats.connections == n and stats.active == n and stats.idle == 0, stats
        assert not errors, errors[:5]
        settle()
        fds_open = open_fds()
        rss_open = rss()
        assert fds_open - fds_before == n, (fds_before, fds_open)

        server.send("release")
        group.join(raise_error=True)
        elapsed = time.monotonic() - start
        assert not errors, f"{len(errors)} errors: {errors[:5]}"
        assert not wrong, f"{len(wrong)} wrong bodies: {wrong[:5]}"
        stats = http.statistics()
        assert stats.created == n and stats.idle == n and stats.discarded == 0, stats
        settle()
        rss_idle = rss()

        # A second wave over the same warm connections: each of the n idle ones is
        # checked (poll) and reused once, none is made anew.
        again = time.monotonic()
        for i in range(n):
            group.spawn(one, i)
        group.join(raise_error=True)
        again = time.monotonic() - again
        assert not errors, f"{len(errors)} errors: {errors[:5]}"
        assert not wrong, f"{len(wrong)} wrong bodies: {wrong[:5]}"
        stats = http.statistics()
        assert stats.created == n and stats.reused == n and stats.discarded == 0, stats

        http.close()
        assert wait_until(lambda: open_fds() == fds_before, 10), (fds_before, open_fds())
        report = server.quit()
    finally:
        server.stop()
    assert report["requests"] == 2 * n and report["connections"] == n, report
    assert report["max_open"] == n and report["error_count"] == 0, report

    per_open = (rss_open - rss_before) / n
    per_idle = (rss_idle - rss_before) / n
    print(
        f"\nscale: {n} connections open at once after {all_open:.1f}s ({drops} SYNs "
        f"dropped at the full accept queue and resent), all answered after "
        f"{elapsed:.1f}s; RSS {rss_before / 2**20:.1f} MiB -> "
        f"{rss_open / 2**20:.1f} MiB in flight ({per_open / 1024:.1f} KiB per connection, "
        f"greenlet included) -> {rss_idle / 2**20:.1f} MiB idle in the pool "
        f"({per_idle / 1024:.1f} KiB per connection); {n} more requests over them in "
        f"{again:.1f}s ({n / again:.0f} req/s); fds {fds_before} -> {fds_open} -> "
        f"{fds_before} after close()"
    )
    assert per_open < RSS_PER_CONNECTION_LIMIT, per_open


@pytest.mark.soak
@pytest.mark.hub_block_limit(30.0)  # as above: a thousand pools' worth of ready sockets
def test_hundred_thousand_over_thousand_origins(fd_limit):
    from geventhttpclient import HTTPClientPool
    from geventhttpclient.url import URL

    # HTTPClientPool keeps one HTTPClient per origin for as long as it lives (no
    # eviction), each with up to `concurrency` connections: ORIGINS x PER_ORIGIN
    # descriptors at most, however many greenlets send.
    bound = ORIGINS * PER_ORIGIN
    fd_limit(bound + FD_MARGIN)
    server = ServerProcess(ports=ORIGINS, fds=ORIGINS + WORKERS + bound + FD_MARGIN)
    try:
        urls = [URL(f"http://127.0.0.1:{port}/") for port in server.ports]
        settle()
        fds_before = open_fds()
        rss_before = rss()
        pool = HTTPClientPool(
            concurrency=PER_ORIGIN,
            connection_timeout=CONNECT_TIMEOUT,
            network_timeout=NETWORK_TIMEOUT,
        )
        rng = random.Random(20261206)
        next_id = [0]
        errors: List[str] = []
        wrong: List[Any] = []
        peak = [fds_before, 0]  # descriptors, and the pools' connections at that moment
        done = gevent.event.Event()

        def worker() -> None:
            while next_id[0] < REQUESTS:
                i = next_id[0]
                next_id[0] += 1
                try:
                    body = pool.get_client(urls[rng.randrange(ORIGINS)]).get(f"/{i}").read()
                except Exception as exc:  # noqa: BLE001 - counted and shown, none allowed
                    errors.append(f"{i}: {exc!r}")
                    continue
                if body != f"/{i}".encode():
                    wrong.append((i, body[:80]))

        def sample() -> None:
            while not done.wait(0.01):
                fds = open_fds()
                if fds > peak[0]:
                    peak[0] = fds
                    peak[1] = sum(c.statistics().connections for c in pool.clients.values())

        sampler = gevent.spawn(sample)
        server_cpu = cpu_seconds(resource.RUSAGE_CHILDREN)
        client_cpu = cpu_seconds(resource.RUSAGE_SELF)
        start = time.monotonic()
        group = gevent.pool.Group()
        for _ in range(WORKERS):
            group.spawn(worker)
        group.join(raise_error=True)
        elapsed = time.monotonic() - start
        client_cpu = cpu_seconds(resource.RUSAGE_SELF) - client_cpu
        done.set()
        sampler.join()

        assert not errors, f"{len(errors)} errors: {errors[:5]}"
        assert not wrong, f"{len(wrong)} wrong bodies: {wrong[:5]}"
        assert len(pool.clients) == ORIGINS
        stats = [c.statistics() for c in pool.clients.values()]
        connections = sum(s.connections for s in stats)
        assert all(s.connections <= PER_ORIGIN for s in stats)
        fds_end = open_fds()
        assert fds_end - fds_before == connections, (fds_before, fds_end, connections)
        assert peak[0] - fds_before <= bound, (fds_before, peak, bound)
        settle()
        rss_end = rss()

        pool.close()
        fds_closed = open_fds()
        report = server.quit()
        server_cpu = cpu_seconds(resource.RUSAGE_CHILDREN) - server_cpu
    finally:
        server.stop()
    assert fds_closed == fds_before, (fds_before, fds_closed)
    assert report["requests"] == REQUESTS and report["error_count"] == 0, report
    assert report["connections"] == sum(s.created for s in stats), report

    print(
        f"\nscale: {REQUESTS} requests over {ORIGINS} origins (concurrency {PER_ORIGIN} "
        f"each, {WORKERS} greenlets) in {elapsed:.1f}s ({REQUESTS / elapsed:.0f} req/s); "
        f"peak fds {peak[0]} (baseline {fds_before}, bound +{bound}; {peak[1]} pooled "
        f"connections then), {connections} connections at the end, "
        f"{report['connections']} made in all; RSS {rss_before / 2**20:.1f} -> "
        f"{rss_end / 2**20:.1f} MiB ({(rss_end - rss_before) / ORIGINS / 1024:.1f} KiB "
        f"per origin); fds {fds_closed} after close(); CPU seconds: client "
        f"{client_cpu:.1f}, server {server_cpu:.1f} (its start included)"
    )


if __name__ == "__main__":
    args = argparse.ArgumentParser(description="the scale tests' server")
    args.add_argument("mode", choices=["serve"])
    args.add_argument("--ports", type=int, default=1)
    args.add_argument("--hold", type=int, default=0)
    args.add_argument("--fds", type=int, default=1024)
    opts = args.parse_args()
    serve(opts.ports, opts.hold, opts.fds)
