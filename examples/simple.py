"""The simplest use: one GET, its status and its body.

A local gevent WSGI server on an ephemeral port stands in for a real site, so the
example runs offline. Exits non-zero if anything is not as expected.

    python examples/simple.py
"""

from __future__ import annotations

import sys
from typing import Any, Callable, Iterable

from gevent.pywsgi import WSGIServer

from geventhttpclient import URL, HTTPClient

BODY = b"<html><body>Hello from the local server</body></html>\n"


def app(environ: dict, start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/html"), ("Content-Length", str(len(BODY)))])
    return [BODY]


def main() -> int:
    server = WSGIServer(("127.0.0.1", 0), app, log=None)
    server.start()
    try:
        url = URL(f"http://127.0.0.1:{server.server_port}/")

        http = HTTPClient(url.host, url.port)

        # issue a get request
        response = http.get(url.path)

        # read status_code
        print("status:", response.status_code)

        # read response body
        body = response.read()
        print("body:", body.decode().strip())

        # close connections
        http.close()
    finally:
        server.stop()
    if response.status_code != 200 or body != BODY:
        print("unexpected response", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
