"""CPU per request of many agents in one process, as Locust runs its users.

    python benchmarks/agents_in_flight.py [--users 50,500] [--requests 60000]

Each user is a greenlet with its own ``UserAgent(cookiejar=CookieJar())`` and one
connection (Locust's ``FastHttpUser`` makes the same), requesting the private
nginx's /small in a loop with no wait. Prints the process's CPU time per request
and requests/s after a 10,000-request warm-up, for each user count with CPython's
cyclic GC on and off: what grows with the number of users in flight, and how much
of it is the collector's.
"""

from __future__ import annotations

import argparse
import gc
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
WARM = 10000


def _child(url: str, users: int, requests: int, use_gc: bool) -> None:
    from http.cookiejar import CookieJar

    import gevent

    from geventhttpclient.useragent import UserAgent

    if not use_gc:
        gc.disable()
    left = [requests + WARM]
    done = [0]
    start = {}

    def user() -> None:
        ua = UserAgent(concurrency=1, cookiejar=CookieJar())
        while left[0] > 0:
            left[0] -= 1
            ua.urlopen(url).content  # noqa: B018 - the body is read, as Locust does
            done[0] += 1
            if done[0] == WARM:
                start["cpu"], start["wall"] = time.process_time(), time.perf_counter()

    gevent.joinall([gevent.spawn(user) for _ in range(users)])
    cpu = time.process_time() - start["cpu"]
    wall = time.perf_counter() - start["wall"]
    print(f"{cpu / requests * 1e6:.1f} {requests / wall:.0f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--users", default="50,500")
    ap.add_argument("--requests", type=int, default=60000)
    ap.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        url, users, requests, use_gc = a.child
        _child(url, int(users), int(requests), use_gc == "gc")
        return
    sys.path.insert(0, HERE)
    from _nginx import Nginx

    ng = Nginx().start()
    try:
        print("users  gc   CPU µs/request  requests/s")
        for users in a.users.split(","):
            for use_gc in ("gc", "nogc"):
                out = subprocess.run(
                    [sys.executable, __file__, "--child", ng.url("/small"), users,
                     str(a.requests), use_gc],
                    check=True, capture_output=True, text=True,
                ).stdout.split()  # fmt: skip
                print(
                    f"{users:>5s}  {'on ' if use_gc == 'gc' else 'off'}  {out[0]:>14s}  {out[1]:>10s}"
                )
    finally:
        ng.stop()


if __name__ == "__main__":
    main()
