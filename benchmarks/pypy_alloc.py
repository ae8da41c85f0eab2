"""What each agent step allocates per request on PyPy, counted by its GC.

    pypy3 benchmarks/pypy_alloc.py [STEP ...] [--requests 60000]

With many requests in flight the agents on PyPy are bound by minor collections
(see ``pypy_nursery.py``), and how often those run is how much is allocated. This
runs each step serially in one greenlet against the private nginx's /small, warms
the JIT with 20,000 requests, then counts the minor collections of ``--requests``
more through ``gc.hooks``: collections times the nursery size, divided by the
requests, is what one request allocates. The count repeats within a collection or
two between runs, where timings on this machine do not. Steps, each adding one
piece to the one before where it can:

- ``raw``: ``HTTPClient.get(path)``, ``read()``, ``release()``;
- ``raw-headers``: the same with the agent's default ``Headers`` passed;
- ``raw-copy``: with a copy of them made per request;
- ``response``: wrapped in a ``CompatResponse``, ``content`` read;
- ``minimal``: the least an agent request does, written out (as ``agent_cost.py``);
- ``urlopen``: ``UserAgent.urlopen(url).content``;
- ``session``, ``get``: ``Session.get(url).content``, ``geventhttpclient.get(url).content``.

``PYPY_GC_NURSERY`` gives the nursery size when set (else 1 MB is assumed, what
this machine's PyPy picks; the ratios between steps do not depend on it). Runs on
CPython too, where it prints nothing useful: it needs PyPy's ``gc.hooks``.
"""

from __future__ import annotations

import argparse
import gc
import os
import subprocess
import sys
from typing import Any, Callable, Dict

HERE = os.path.dirname(os.path.abspath(__file__))
WARM = 20000
STEPS = ("raw", "raw-headers", "raw-copy", "response", "minimal", "urlopen", "session", "get")


def _nursery_bytes() -> int:
    text = os.environ.get("PYPY_GC_NURSERY", "1MB").strip().upper()
    for suffix, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10), ("B", 1)):
        if text.endswith(suffix):
            return int(float(text[: -len(suffix)]) * scale)
    return int(text)


def _steps(url: str) -> Dict[str, Callable[[], Any]]:
    from _agent import minimal_agent_request

    import geventhttpclient
    from geventhttpclient import HTTPClient
    from geventhttpclient.url import URL
    from geventhttpclient.useragent import CompatRequest, CompatResponse, UserAgent

    ua = UserAgent(concurrency=1)
    session = geventhttpclient.Session()
    client = HTTPClient.from_url(url, concurrency=1)
    defaults = ua.default_headers
    path = URL(url).quoted_uri
    request = CompatRequest(url, headers=defaults.copy())

    def raw() -> None:
        r = client.get(path)
        r.read()
        r.release()

    def raw_headers() -> None:
        r = client.get(path, headers=defaults)
        r.read()
        r.release()

    def raw_copy() -> None:
        r = client.get(path, headers=defaults.copy())
        r.read()
        r.release()

    def response() -> None:
        r = client.get(path, headers=defaults.copy())
        CompatResponse(r, request=request, sent_request=r.sent_request).content  # noqa: B018

    minimal = minimal_agent_request(ua, url, defaults)

    return {
        "raw": raw,
        "raw-headers": raw_headers,
        "raw-copy": raw_copy,
        "response": response,
        "minimal": minimal,
        "urlopen": lambda: ua.urlopen(url).content,
        "session": lambda: session.get(url).content,
        "get": lambda: geventhttpclient.get(url).content,
    }


def _child(step: str, url: str, n: int) -> None:
    fn = _steps(url)[step]
    for _ in range(WARM):
        fn()
    minors = [0]

    def on_minor(stats: Any) -> None:
        minors[0] += stats.count

    gc.hooks.on_gc_minor = on_minor  # type: ignore[attr-defined]
    for _ in range(n):
        fn()
    gc.hooks.on_gc_minor = None  # type: ignore[attr-defined]
    print(minors[0])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("steps", nargs="*", default=list(STEPS))
    ap.add_argument("--requests", type=int, default=60000)
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        step, url, n = a.child
        _child(step, url, int(n))
        return
    if not hasattr(gc, "hooks"):
        raise SystemExit("needs PyPy (gc.hooks)")
    sys.path.insert(0, HERE)
    from _nginx import Nginx

    nursery = _nursery_bytes()
    ng = Nginx().start()
    try:
        print(f"minor collections per {a.requests} requests, nursery {nursery >> 10} KiB")
        for step in a.steps:
            out = subprocess.run(
                [sys.executable, __file__, "--child", step, ng.url("/small"), str(a.requests)],
                check=True,
                capture_output=True,
                text=True,
            )
            minors = int(out.stdout.split()[-1])
            per = minors * nursery / a.requests / 1024
            print(f"{step:12s} {minors:6d} collections  {per:5.1f} KiB/request", flush=True)
    finally:
        ng.stop()


if __name__ == "__main__":
    main()
