"""CPU per request of many agents in one process, as Locust runs its users.

    python benchmarks/agents_in_flight.py [--users 50,500] [--requests 60000]
                                          [--face agent|raw] [--callgrind]

Each user is a greenlet with its own ``UserAgent(cookiejar=CookieJar())`` and one
connection (Locust's ``FastHttpUser`` makes the same), requesting the private
nginx's /small in a loop with no wait. Prints the process's CPU time per request
and requests/s after a 10,000-request warm-up, for each user count with CPython's
cyclic GC on and off: what grows with the number of users in flight, and how much
of it is the collector's. ``--face raw`` gives each user its own ``HTTPClient``
(``get``, ``read``, ``release``) instead: the same growth without the agent.
``--callgrind`` also counts client instructions per request for each user count
(GC on; runs of 3,000 and 9,000 requests after 3,000, differenced): if the count
stays while the CPU time grows, the growth is the memory the users touch in turn,
not more work.
"""

from __future__ import annotations

import argparse
import gc
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
WARM = 10000


def _child(url: str, users: int, requests: int, use_gc: bool, face: str, warm: int) -> None:
    from http.cookiejar import CookieJar

    import gevent

    from geventhttpclient import HTTPClient
    from geventhttpclient.useragent import UserAgent

    if not use_gc:
        gc.disable()
    left = [requests + warm]
    done = [0]
    start = {}

    def tick() -> None:
        done[0] += 1
        if done[0] == warm:
            start["cpu"], start["wall"] = time.process_time(), time.perf_counter()

    def agent_user() -> None:
        ua = UserAgent(concurrency=1, cookiejar=CookieJar())
        while left[0] > 0:
            left[0] -= 1
            ua.urlopen(url).content  # noqa: B018 - the body is read, as Locust does
            tick()

    def raw_user() -> None:
        client = HTTPClient.from_url(url, concurrency=1)
        while left[0] > 0:
            left[0] -= 1
            r = client.get(url)
            r.read()
            r.release()
            tick()

    user = raw_user if face == "raw" else agent_user

    gevent.joinall([gevent.spawn(user) for _ in range(users)])
    cpu = time.process_time() - start["cpu"]
    wall = time.perf_counter() - start["wall"]
    print(f"{cpu / requests * 1e6:.1f} {requests / wall:.0f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--users", default="50,500")
    ap.add_argument("--requests", type=int, default=60000)
    ap.add_argument("--face", choices=("agent", "raw"), default="agent")
    ap.add_argument("--callgrind", action="store_true")
    ap.add_argument("--child", nargs=6, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        url, users, requests, use_gc, face, warm = a.child
        _child(url, int(users), int(requests), use_gc == "gc", face, int(warm))
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
                     str(a.requests), use_gc, a.face, str(WARM)],
                    check=True, capture_output=True, text=True,
                ).stdout.split()  # fmt: skip
                print(
                    f"{users:>5s}  {'on ' if use_gc == 'gc' else 'off'}  {out[0]:>14s}  {out[1]:>10s}"
                )
        if a.callgrind:
            from _stats import callgrind_per_request

            with tempfile.TemporaryDirectory() as tmp:
                for users in a.users.split(","):

                    def command(n: int, users: str = users) -> list:
                        return [sys.executable, __file__, "--child", ng.url("/small"), users,
                                str(n), "gc", a.face, "3000"]  # fmt: skip

                    per = callgrind_per_request(command, 3000, 9000, tmp, users)
                    print(f"{users:>5s} users: {per / 1000:.1f}k instructions/request (callgrind)")
    finally:
        ng.stop()


if __name__ == "__main__":
    main()
