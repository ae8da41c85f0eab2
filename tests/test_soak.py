"""Soak: many requests over keep-alive at concurrency ~50 against a server that mixes
in faults (close, reset, garbage, truncation, slow trickles, chunked bodies).

Every request either succeeds with ITS OWN response (the id it sent, echoed) or
raises a documented error (an ``HTTPError`` subclass); resident memory and open
descriptors stay flat between 10% and 100% of the run.

Run on demand: ``SOAK_REQUESTS=100000 pytest -m soak tests/test_soak.py -s``
(default 1,000,000 requests).
"""

from __future__ import annotations

import gc
import os
import random
import time
from collections import Counter

import gevent
import gevent.pool
import pytest
from conftest import open_fds, rss, wait_until
from faultserver import (
    Close,
    Expect,
    FaultServer,
    Loop,
    Reset,
    Respond,
    Send,
    Trickle,
    response,
)

from geventhttpclient import HTTPClient
from geventhttpclient.exceptions import HTTPError

pytestmark = pytest.mark.soak

REQUESTS = int(os.environ.get("SOAK_REQUESTS", "1000000"))
CONCURRENCY = 50
WORKERS = 60  # a few more than connections: the pool's wait queue is exercised too
RSS_SLACK = 16 * 1024 * 1024
FD_SLACK = 4


def fault_steps(rng: random.Random):
    def own(c):
        return c.last.id.encode()

    def chunked(c):
        body = own(c)
        return b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n" % (
            len(body),
            body,
        )

    def steps(conn):
        x = rng.random()
        if x < 0.90:
            return [Expect(), Respond()]
        if x < 0.92:
            return [Expect(), Send(chunked)]
        if x < 0.93:
            return [Expect(), Close()]  # before any byte: a GET is retried once
        if x < 0.94:
            return [Expect(), Reset()]
        if x < 0.95:
            return [Expect(), Send(b"HTTP/1.1 200 OK\r\nX-Bad : x\r\n\r\n"), Close()]
        if x < 0.96:
            return [Expect(), Send(lambda c: b"\x00garbage " + own(c) + b"\r\n\r\n"), Close()]
        if x < 0.97:  # truncated Content-Length body
            return [Expect(), Send(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort"), Close()]
        if x < 0.98:  # truncated by a reset mid-head
            return [Expect(), Send(b"HTTP/1.1 200 OK\r\nContent-"), Reset()]
        if x < 0.985:  # bytes past the end of a response, in the same burst: must be
            # discarded with the connection. (Bytes sent later, once the next
            # request is on its way, cannot be told from its response by any client.)
            late = response(b"smuggled", headers=["X-Id: smuggled"])
            return [
                Expect(),
                Send(lambda c: response(own(c), headers=[f"X-Id: {c.last.id}"]) + late),
            ]
        if x < 0.99:  # slow: one byte at a time
            return [Expect(), Trickle(lambda c: response(own(c), headers=[f"X-Id: {c.last.id}"]))]
        return [Expect(), Respond(headers=["Connection: close"]), Close()]

    return steps


@pytest.mark.hub_block_limit(2.0)  # the deliberate gc.collect() at each checkpoint
def test_soak_every_request_gets_its_own_response_or_a_documented_error():
    rng = random.Random(20240601)
    server = FaultServer([Loop(fault_steps(rng))], record=False)
    http = HTTPClient(
        "127.0.0.1",
        server.port,
        concurrency=CONCURRENCY,
        network_timeout=10,
        connection_timeout=10,
        pool_timeout=30,
    )
    outcomes: Counter = Counter()
    wrong = []
    alien = []
    next_id = [0]

    def worker(limit):
        while next_id[0] < limit and not wrong and not alien:
            rid = next_id[0]
            next_id[0] += 1
            try:
                r = http.get(f"/{rid}", headers={"X-Id": str(rid)})
                body = r.read()
            except HTTPError as exc:
                outcomes[type(exc).__name__] += 1
                continue
            except BaseException as exc:  # noqa: BLE001 - anything else is a failure
                alien.append((rid, repr(exc)))
                return
            if body != str(rid).encode():
                wrong.append((rid, body[:80]))
                return
            outcomes["ok"] += 1

    def run_until(limit):
        group = gevent.pool.Group()
        for _ in range(WORKERS):
            group.spawn(worker, limit)
        group.join(raise_error=True)
        assert not wrong, f"responses given to the wrong request: {wrong[:5]}"
        assert not alien, f"undocumented errors: {alien[:5]}"
        s = http.statistics()
        assert s.active == 0 and s.waiting == 0 and s.connections <= CONCURRENCY, s
        # Quiesce: every connection the client dropped is closed on the server too.
        assert wait_until(lambda: server.open_connections == http.statistics().connections, 10)
        gc.collect()
        for _ in range(3):
            gevent.sleep(0)
        return rss(), open_fds(), http.statistics().connections

    start = time.monotonic()
    tenth = max(REQUESTS // 10, 1)
    rss_10, fds_10, conns_10 = run_until(tenth)
    rss_100, fds_100, conns_100 = run_until(REQUESTS)
    elapsed = time.monotonic() - start

    done = sum(outcomes.values())
    assert done == REQUESTS
    assert outcomes["ok"] > 0.85 * REQUESTS, outcomes
    # Every fault kind showed up as an error at least once in a long enough run.
    if REQUESTS >= 10000:
        for name in ("HTTPParseError", "IncompleteResponse"):
            assert outcomes[name] > 0, outcomes
    # Descriptors: the same once the pool's idle connections (2 fds each: ours and
    # the server's end) are accounted for.
    assert abs((fds_100 - 2 * conns_100) - (fds_10 - 2 * conns_10)) <= FD_SLACK, (
        fds_10,
        conns_10,
        fds_100,
        conns_100,
    )
    assert rss_100 - rss_10 <= RSS_SLACK, (rss_10, rss_100)
    print(
        f"\nsoak: {REQUESTS} requests in {elapsed:.1f}s ({REQUESTS / elapsed:.0f} req/s), "
        f"server connections {server.connections}; outcomes {dict(outcomes)}; "
        f"RSS {rss_10 / 2**20:.1f} MiB at 10% -> {rss_100 / 2**20:.1f} MiB at 100%; "
        f"fds {fds_10} ({conns_10} pooled) -> {fds_100} ({conns_100} pooled)"
    )
    http.close()
    server.stop()
