"""How fast can requests go on any adapter? Its own floor against the patched stack.

    python benchmarks/requests_floor.py [--rounds 3] [--no-callgrind]

Issue 17 asks requests with our ``GeventAdapter`` to be 3x requests gevent-patched
(urllib3) on /small. requests' ``Session`` does a lot before and after it calls an
adapter's ``send`` (merging settings, preparing the request, cookies, hooks and, with
``trust_env``, looking for proxies, netrc and CA bundles in the environment), and no
adapter can make that cheaper. This measures three sessions, one process each, 10
greenlets, against the private nginx's /small:

- ``null``: an adapter that does no I/O and returns a canned 614-byte response:
  requests' own cost, the floor of every adapter;
- ``ours``: ``GeventAdapter``;
- ``patched``: requests' ``HTTPAdapter`` under ``gevent.monkey.patch_all()``;
- ``thin``: the least an adapter on our engine can do: one ``HTTPClient.request``,
  the body read, and a ``Response`` built as ``null`` builds its canned one;
- ``engine``: no requests at all, our ``HTTPClient.get`` and ``read()`` alone;

each with ``trust_env`` on (requests' default) and off, by two counts: client
instructions per request (callgrind, runs of 300 and 1,300 requests differenced:
steady on a noisy machine) and CPU time per request (``time.process_time``, user and
system, alternated within rounds, medians). ``patched / null`` is the most any adapter
could gain over the patched stack, were its own work free, and
``patched / thin`` the most one on our engine can. (``thin`` costs far more than
``null + engine``: the exchange makes each greenlet wait, so ten of them take
turns through requests' code, and CPU time per instruction grows.)

Run it with an interpreter that has requests, gevent and this package installed.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any, Dict, List, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
MODES = ("null", "thin", "ours", "patched", "engine")
WITH_ENV = 4  # the first four use requests, with trust_env on and off
WARM = 2000
CONCURRENCY = 10


def _child(mode: str, url: str, n: int, trust_env: bool, warm: int) -> None:
    """One session of ``mode``: ``warm`` requests, then ``n`` timed; prints CPU µs/req."""
    if mode == "patched":
        from gevent import monkey

        monkey.patch_all()
    import gevent
    import requests
    from requests.adapters import BaseAdapter, HTTPAdapter
    from requests.models import Response
    from requests.structures import CaseInsensitiveDict

    body = b"x" * 614

    class NullAdapter(BaseAdapter):
        """A canned 200 with a 614-byte body: what requests does around any adapter."""

        def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):  # type: ignore[no-untyped-def]
            r = Response()
            r.status_code = 200
            r.reason = "OK"
            r.raw = io.BytesIO(body)
            r.headers = CaseInsensitiveDict({"Content-Length": "614", "Content-Type": "text/html"})
            r.url = request.url
            r.request = request
            r.connection = self
            return r

        def close(self) -> None:
            pass

    class ThinAdapter(NullAdapter):
        """One exchange on our engine, the body read, a minimal ``Response``."""

        def __init__(self, client: Any) -> None:
            super().__init__()
            self.client = client

        def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):  # type: ignore[no-untyped-def]
            g = self.client.request(
                request.method, request.path_url, body=request.body, headers=request.headers
            )
            content = g.read()
            g.release()
            r = Response()
            r.status_code = g.status_code
            r.reason = g.status_message
            r.raw = io.BytesIO(content)
            r.headers = CaseInsensitiveDict(g.headers)
            r.url = request.url
            r.request = request
            r.connection = self
            return r

    session = requests.Session()
    session.trust_env = trust_env
    get = session.get
    if mode == "engine":
        from geventhttpclient import HTTPClient

        client = HTTPClient.from_url(url, concurrency=CONCURRENCY)

        def get(url: str, timeout: float) -> Any:  # noqa: F811 - the engine alone
            r = client.get(url)
            r.status_code, r.content = r.status_code, r.read()
            return r

    if mode in ("null", "engine"):
        adapter: BaseAdapter = NullAdapter()
    elif mode == "thin":
        from geventhttpclient import HTTPClient

        adapter = ThinAdapter(HTTPClient.from_url(url, concurrency=CONCURRENCY))
    elif mode == "patched":
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=CONCURRENCY, pool_block=True)
    else:
        from geventhttpclient.contrib.requests import GeventAdapter

        adapter = GeventAdapter(pool_maxsize=CONCURRENCY, pool_block=True)
    session.mount("http://", adapter)
    left = [n + warm]
    done = [0]
    start: Dict[str, float] = {"cpu": time.process_time()}

    def worker() -> None:
        while left[0] > 0:
            left[0] -= 1
            r = get(url, timeout=30)
            if r.status_code != 200 or len(r.content) != 614:
                raise RuntimeError(f"{mode}: {r.status_code}, {len(r.content)} bytes")
            done[0] += 1
            if done[0] == warm:
                start["cpu"] = time.process_time()

    gevent.joinall([gevent.spawn(worker) for _ in range(CONCURRENCY)], raise_error=True)
    print(f"{(time.process_time() - start['cpu']) / n * 1e6:.1f}")


def _child_command(mode: str, url: str, n: int, trust_env: bool, warm: int = WARM) -> List[str]:
    """The command of a :func:`_child` making ``n`` requests after ``warm``."""
    args = [sys.executable, os.path.abspath(__file__), "--child", mode, url, str(n)]
    return args + ["env" if trust_env else "noenv", str(warm)]


def _run(mode: str, url: str, n: int, trust_env: bool) -> str:
    env = dict(os.environ, PYTHONHASHSEED="0")
    args = _child_command(mode, url, n, trust_env)
    out = subprocess.run(args, check=True, env=env, capture_output=True, text=True)
    return out.stdout.strip()


def _callgrind(mode: str, url: str, trust_env: bool, tmp: str) -> float:
    from _stats import callgrind_per_request

    def command(n: int) -> List[str]:
        return _child_command(mode, url, n, trust_env, warm=300)

    return callgrind_per_request(command, 300, 1300, tmp, f"{mode}.{trust_env}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--requests", type=int, default=6000)
    ap.add_argument("--no-callgrind", action="store_true")
    ap.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        mode, url, n, trust, warm = a.child
        _child(mode, url, int(n), trust == "env", int(warm))
        return
    sys.path.insert(0, HERE)
    from _nginx import Nginx

    ng = Nginx().start()
    try:
        url = ng.url("/small")
        cpu: Dict[Tuple[str, bool], List[float]] = {}
        for r in range(a.rounds):
            for trust_env in (True, False):
                modes = MODES if trust_env else MODES[:WITH_ENV]  # the engine has no environment
                for i in range(len(modes)):
                    mode = modes[(i + r) % len(modes)]  # alternate the order per round
                    us = float(_run(mode, url, a.requests, trust_env))
                    cpu.setdefault((mode, trust_env), []).append(us)
                    print(
                        f"  round {r} trust_env={trust_env!s:5} {mode:8} {us:7.1f} µs CPU/req",
                        flush=True,
                    )
        instr: Dict[Tuple[str, bool], float] = {}
        if not a.no_callgrind:
            with tempfile.TemporaryDirectory() as tmp:
                for trust_env in (True, False):
                    for mode in MODES if trust_env else MODES[:WITH_ENV]:
                        instr[(mode, trust_env)] = _callgrind(mode, url, trust_env, tmp)
    finally:
        ng.stop()
    print()
    print(
        f"{sys.implementation.name} {sys.version.split()[0]}, /small, c={CONCURRENCY}, medians of {a.rounds} rounds"
    )
    print()
    print("| session | trust_env | CPU µs/req | instructions/req |")
    print("|---|---|---:|---:|")
    for trust_env in (True, False):
        for mode in MODES if trust_env else MODES[:WITH_ENV]:
            med = statistics.median(cpu[(mode, trust_env)])
            ins = instr.get((mode, trust_env))
            print(f"| {mode} | {trust_env} | {med:.0f} | {f'{ins / 1e6:.2f} M' if ins else '-'} |")
    print()
    print("| trust_env | count | patched / ours | patched / thin | patched / null |")
    print("|---|---|---:|---:|---:|")
    for trust_env in (True, False):
        for what, got in (
            ("CPU", {k: statistics.median(v) for k, v in cpu.items()}),
            ("instructions", instr),
        ):
            if not got:
                continue
            p, o, t, z = (got[(m, trust_env)] for m in ("patched", "ours", "thin", "null"))
            print(f"| {trust_env} | {what} | {p / o:.2f} | {p / t:.2f} | {p / z:.2f} |")


if __name__ == "__main__":
    main()
