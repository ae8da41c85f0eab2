"""httpx on geventhttpclient's engine: ``httpx.Client(transport=GeventTransport())``.

httpx keeps its API (redirects, decoding, auth, cookies, streaming); the requests
travel through geventhttpclient's keep-alive pools, with no monkey-patching, so many
greenlets share one client. SDKs that take an ``http_client`` (OpenAI's, for one)
run on it the same way. The OpenAI SDK 3.x takes an ``httpx2.Client`` instead (httpx2:
a fork of httpx under another name): the same transport for it is
``geventhttpclient.contrib.httpx2.GeventTransport``, and this program runs unchanged
with ``import httpx2 as httpx`` and that import.

A local gevent WSGI server on an ephemeral port stands in for a real API, so the
example runs offline. Needs httpx (``pip install "geventhttpclient[httpx]"``); without
it the example says so and exits 0. Exits non-zero if anything is not as expected.

    python examples/httpx_transport.py
"""

from __future__ import annotations

import gzip
import json
import sys
import time
from typing import Any, Callable, Iterable, Iterator

import gevent
from gevent.pywsgi import WSGIServer

try:
    import httpx
except ImportError:  # an optional extra
    httpx = None  # type: ignore[assignment]


def app(environ: dict, start_response: Callable[..., Any]) -> Iterable[bytes]:
    path = environ["PATH_INFO"]
    if path == "/json":
        body = gzip.compress(json.dumps({"hello": "world"}).encode())
        start_response(
            "200 OK", [("Content-Type", "application/json"), ("Content-Encoding", "gzip")]
        )
        return [body]
    if path == "/old":
        start_response("302 Found", [("Location", "/json")])
        return [b""]
    if path == "/upload":
        size = len(environ["wsgi.input"].read())
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [f"received {size} bytes".encode()]
    if path == "/ticks":  # a body sent in pieces, 50 ms apart
        start_response("200 OK", [("Content-Type", "text/plain")])

        def ticks() -> Iterator[bytes]:
            for i in range(3):
                gevent.sleep(0.05)
                yield f"tick {i}\n".encode()

        return ticks()
    if path == "/slow":
        gevent.sleep(0.2)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def main() -> int:
    if httpx is None:
        print("httpx is not installed: pip install 'geventhttpclient[httpx]'")
        return 0
    from geventhttpclient.contrib.httpx import GeventTransport

    server = WSGIServer(("127.0.0.1", 0), app, log=None)
    server.start()
    base = f"http://127.0.0.1:{server.server_port}"
    transport = GeventTransport(limits=httpx.Limits(max_connections=10))
    try:
        with httpx.Client(transport=transport, base_url=base, timeout=5.0) as client:
            # httpx's API, our wire: the gzip body is decoded by httpx, the redirect
            # followed by httpx
            r = client.get("/old", follow_redirects=True)
            print(r.status_code, r.json(), "after", [h.status_code for h in r.history])
            assert r.json() == {"hello": "world"} and r.history[0].status_code == 302

            # a streamed upload (chunked) and a streamed download, piece by piece
            def parts() -> Iterator[bytes]:
                for _ in range(4):
                    yield b"x" * 16384

            print(client.post("/upload", content=parts()).text)
            with client.stream("GET", "/ticks") as r:
                for line in r.iter_lines():
                    print("  streamed:", line)

            # many greenlets, one client: at most 10 connections
            t0 = time.monotonic()
            jobs = [gevent.spawn(client.get, "/slow") for _ in range(20)]
            gevent.joinall(jobs, raise_error=True)
            took = time.monotonic() - t0
            print(f"20 requests of 0.2 s each, 10 at a time: {took:.2f} s")
            assert all(j.value.status_code == 200 for j in jobs) and took < 1.5

            # httpx's timeouts and exceptions
            try:
                client.get("/slow", timeout=httpx.Timeout(5.0, read=0.05))
            except httpx.ReadTimeout as exc:
                print("ReadTimeout:", exc)
            else:
                raise AssertionError("expected a ReadTimeout")

            stats = [c.statistics() for c in transport.clients()]
            print("connections made:", sum(s.created for s in stats))
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
