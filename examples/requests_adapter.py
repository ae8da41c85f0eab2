"""requests on geventhttpclient's engine: mount ``GeventAdapter`` on a requests Session.

Code written for requests keeps its Session, its redirects and cookies, its
exceptions; the requests go out through geventhttpclient's pools, so greenlets run
them concurrently without monkey-patching. Needs the real ``requests`` package
(``pip install "geventhttpclient[requests]"``).

The embedded local server (the one ``geventhttpclient bench`` uses) stands in for a
real site, so the example runs offline. Exits non-zero if anything is not as
expected (and zero, saying so, where requests is not installed).

    python examples/requests_adapter.py
"""

from __future__ import annotations

import sys

import gevent.pool

from geventhttpclient._cli.localserver import LocalServer

try:
    import requests

    from geventhttpclient.contrib.requests import GeventAdapter
except ImportError:  # pragma: no cover - requests is an optional extra
    requests = None  # type: ignore[assignment]


def main() -> int:
    if requests is None:
        print("requests is not installed: pip install 'geventhttpclient[requests]'")
        return 0
    failures = []
    with LocalServer() as server, requests.Session() as session:
        # One adapter for both schemes: up to 20 connections per origin.
        adapter = GeventAdapter(pool_maxsize=20)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        base = server.url.rstrip("/")

        # A gzip-encoded body comes out decoded, as with requests' own adapter.
        r = session.get(base + "/gzip")
        print("gzip:", r.status_code, r.headers.get("Content-Encoding"), len(r.text), "chars")
        if r.headers.get("Content-Encoding") != "gzip" or "gzip route" not in r.text:
            failures.append("gzip")

        # Redirects are followed by requests, one hop per call to the adapter.
        r = session.post(base + "/redirect?to=/echo", json={"n": 1})
        print("redirect:", [h.status_code for h in r.history], "->", r.url)
        if [h.status_code for h in r.history] != [302] or r.json()["method"] != "GET":
            failures.append("redirect")  # 302 turns the POST into a GET (requests' rule)

        # stream=True: the body is read as it is iterated over.
        r = session.get(base + "/bytes/200000", stream=True)
        received = sum(len(piece) for piece in r.iter_content(65536))
        print("streamed:", received, "bytes")
        if received != 200000:
            failures.append("stream")

        # (connect, read) timeouts raise requests' exception classes.
        try:
            session.get(base + "/delay?ms=500", timeout=(2, 0.1))
            failures.append("timeout")
        except requests.exceptions.ReadTimeout as exc:
            print("timeout:", type(exc).__name__, "from", type(exc.__cause__).__name__)

        # Many greenlets share one session: the adapter's pool holds their connections.
        pool = gevent.pool.Pool(50)
        codes = pool.map(lambda _: session.get(base + "/").status_code, range(200))
        print("concurrent:", len(codes), "requests, statuses", sorted(set(codes)))
        if set(codes) != {200}:
            failures.append("concurrent")

        for key, stats in adapter.statistics().items():
            print(
                f"pool {key.origin} timeout={key.timeout}: {stats.connections} connections "
                f"open, {stats.created} made, {stats.reused} reuses"
            )
    if failures:
        print("unexpected:", ", ".join(failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
