"""Client instructions per request of the agent's steps, counted by callgrind.

    python benchmarks/agent_cost.py [STEP ...]      # needs valgrind and nginx

Each step runs in one greenlet against the private nginx's /small, under callgrind,
for 200 and for 1,200 requests after a 300-request warm-up; the difference divided by
1,000 is its cost per request, with start-up and warm-up cancelled out. Instruction
counts are steady on a noisy machine where throughput is not, so this is how the
agent's own cost is compared with the raw path's:

- ``raw``: ``HTTPClient.request(...)``, ``read()``, ``release()``: the floor.
- ``headers``: the same, with the response's ``headers`` built (what Locust's
  ``FastResponse`` does for every response).
- ``minimal``: the least an agent request can do, written out: parse the full URL,
  find the client, copy the default headers, make a ``CompatRequest`` and a
  ``CompatResponse``, check the status, read ``content``.
- ``urlopen``: ``UserAgent.urlopen(url).content``; ``urlopen-jar``: with a
  ``CookieJar``; ``session``: ``Session.get(url).content``.

Run it with the interpreter whose installed geventhttpclient is to be measured.
"""

from __future__ import annotations

import os
import sys
import tempfile
from http.cookiejar import CookieJar
from typing import Callable, Dict

WARM, SHORT, LONG = 300, 200, 1200


def _steps(url: str) -> Dict[str, Callable[[], object]]:
    from _agent import minimal_agent_request

    import geventhttpclient
    from geventhttpclient.url import URL
    from geventhttpclient.useragent import UserAgent

    ua = UserAgent(concurrency=10)
    jar_ua = UserAgent(concurrency=10, cookiejar=CookieJar())
    session = geventhttpclient.Session()
    split = URL(url)
    client = ua.clientpool.get_client(split)
    defaults = ua.default_headers
    path = split.quoted_uri

    def raw() -> object:
        r = client.request("GET", path, headers=defaults)
        r.read()
        r.release()
        return r

    def headers() -> object:
        r = client.request("GET", path, headers=defaults)
        _ = r.headers
        r.read()
        r.release()
        return r

    minimal = minimal_agent_request(ua, url, defaults)

    return {
        "raw": raw,
        "headers": headers,
        "minimal": minimal,
        "urlopen": lambda: ua.urlopen(url).content,
        "urlopen-jar": lambda: jar_ua.urlopen(url).content,
        "session": lambda: session.get(url).content,
    }


def _run(step: str, url: str, n: int) -> None:
    """The child: warm up, then ``n`` requests of ``step``."""
    fn = _steps(url)[step]
    for _ in range(WARM + n):
        fn()


def _count(step: str, url: str, tmp: str) -> float:
    from _stats import callgrind_per_request

    def command(n: int) -> list:
        return [sys.executable, __file__, "--child", step, url, str(n)]

    return callgrind_per_request(command, SHORT, LONG, tmp, step)


def main(argv: list) -> None:
    if argv[:1] == ["--child"]:
        _run(argv[1], argv[2], int(argv[3]))
        return
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from _nginx import Nginx

    steps = argv or ["raw", "headers", "minimal", "urlopen", "urlopen-jar", "session"]
    ng = Nginx().start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            floor = None
            for step in steps:
                cost = _count(step, ng.url("/small"), tmp)
                floor = cost if step == "raw" else floor
                ratio = f"  raw/this {floor / cost:.2f}" if floor else ""
                print(f"{step:12s} {cost / 1000:8.1f}k instructions/request{ratio}", flush=True)
    finally:
        ng.stop()


if __name__ == "__main__":
    main(sys.argv[1:])
