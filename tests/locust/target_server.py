"""The target of the Locust job: a scripted HTTP/1.1 server on loopback.

Started by ``run_check.py`` as a subprocess; serves plain HTTP and HTTPS (a trustme
certificate for ``localhost`` and ``127.0.0.1``) on ephemeral ports, prints one JSON
line ``{"http": PORT, "https": PORT, "ca": CA_PEM_PATH}`` on stdout when ready, and
stops when its stdin closes, on SIGTERM, or after ``--max-seconds`` (a bound, so it
never outlives the job).

It is a raw ``gevent.server.StreamServer`` rather than a WSGI app so that it can
misbehave on purpose: reset a connection halfway through a body, close one early,
send corrupt compressed bytes. ``GET /__hits`` returns how often each path was hit,
per scheme (that request is not counted), for the checker to compare with Locust's
numbers, and (keys ``socks`` and ``socks-peers``) the requests marked ``X-Via: socks``
and the client ports they came from; ``GET /__traced`` the ``traceparent`` fields
received, per scheme (the traced run).

Routes (any method unless said otherwise):

=====================  ===================================================================
``/api/item``          200 JSON (GET); 201 JSON echo of the JSON body (POST)
``/missing``           404
``/redirect/N``        302 to ``/redirect/N-1``; ``/redirect/0`` is 200 ``landed``
``/login``             200, ``Set-Cookie: session=s<serial>; Path=/``
``/whoami``            200 with the session cookie's value, 401 without one
``/gzip``, ``/br``     200 JSON, gzip / brotli encoded
``/bad-gzip``          ``Content-Encoding: gzip``, the body is not gzip
``/bad-br``            ``Content-Encoding: br``, the body is not brotli
``/unknown-coding``    ``Content-Encoding: x-unheard-of``
``/stream``            chunked, 20 lines sent in 5 chunks with short pauses
``/reset``             Content-Length 20000, 2000 bytes, then a TCP reset (RST)
``/truncated``         Content-Length 20000, 2000 bytes, then a clean close (FIN)
``/close-early``       the connection is closed without any response
``/slow``              200 after one second
``/echo-target/...``   200, the request target as the server received it
=====================  ===================================================================
"""

from __future__ import annotations

import argparse
import collections
import functools
import gzip
import json
import os
import signal
import socket
import struct
import sys
import tempfile
from typing import Any, Dict, List, Optional, Tuple

import gevent
import gevent.event
import gevent.os
import gevent.server
import gevent.ssl

try:
    import brotlicffi as brotli
except ImportError:  # pragma: no cover - the tox env installs brotlicffi
    import brotli  # type: ignore[no-redef]

ITEM = {"id": 1, "name": "thing", "tags": ["a", "b"]}

hits: Dict[str, Dict[str, int]] = {
    "http": collections.Counter(),
    "https": collections.Counter(),
    # Requests marked ``X-Via: socks`` (the locustfile's SocksUser), as "scheme METHOD
    # path", and the client port each came from: run_check.py compares those ports with
    # the SOCKS server's own ends of its tunnels, so it knows they came through it.
    "socks": collections.Counter(),
    "socks-peers": collections.Counter(),
}
# The W3C traceparent fields received, per scheme (the traced run, run_check.py --otel).
traced: Dict[str, List[str]] = {"http": [], "https": []}
cookie_serial = [0]


class Closed(Exception):
    """The client went away."""


class Conn:
    def __init__(self, sock: Any) -> None:
        self.sock = sock
        self.buf = b""

    def _more(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise Closed()
        self.buf += data

    def read_request(self) -> Optional[Tuple[str, str, Dict[str, str], bytes]]:
        try:
            while b"\r\n\r\n" not in self.buf:
                self._more()
        except (Closed, OSError):
            return None
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        method, target, _version = lines[0].split(" ", 2)
        headers: Dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            key = name.strip().lower()
            headers[key] = (headers[key] + ", " if key in headers else "") + value.strip()
        length = int(headers.get("content-length", "0") or 0)
        while len(self.buf) < length:
            self._more()
        body, self.buf = self.buf[:length], self.buf[length:]
        return method, target, headers, body

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)


def response(
    status: int,
    reason: str,
    body: bytes = b"",
    headers: Optional[List[Tuple[str, str]]] = None,
    length: Optional[int] = None,
) -> bytes:
    lines = [f"HTTP/1.1 {status} {reason}"]
    for name, value in headers or []:
        lines.append(f"{name}: {value}")
    lines.append(f"Content-Length: {len(body) if length is None else length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def json_body(obj: Any) -> bytes:
    return json.dumps(obj).encode("utf-8")


JSON = ("Content-Type", "application/json")


def route(
    conn: Conn, scheme: str, method: str, target: str, headers: Dict[str, str], body: bytes
) -> bool:
    """Answer one request; False to close the connection afterwards."""
    path = target.split("?", 1)[0]
    if path == "/__hits":
        conn.send(response(200, "OK", json_body(hits), [JSON]))
        return True
    if path == "/__traced":
        conn.send(response(200, "OK", json_body(traced), [JSON]))
        return True
    hits[scheme][f"{method} {path}"] += 1
    if "traceparent" in headers:
        traced[scheme].append(headers["traceparent"])

    if path == "/api/item":
        if method == "POST":
            try:
                doc = json.loads(body or b"null")
            except ValueError:
                conn.send(response(400, "Bad Request", b"not json"))
                return True
            conn.send(response(201, "Created", json_body({"created": doc}), [JSON]))
        else:
            conn.send(response(200, "OK", json_body(ITEM), [JSON]))
        return True
    if path == "/missing":
        conn.send(response(404, "Not Found", b"no such thing", [("Content-Type", "text/plain")]))
        return True
    if path.startswith("/redirect/"):
        n = int(path.rsplit("/", 1)[1])
        if n <= 0:
            conn.send(response(200, "OK", b"landed", [("Content-Type", "text/plain")]))
        else:
            conn.send(response(302, "Found", b"moved", [("Location", f"/redirect/{n - 1}")]))
        return True
    if path == "/login":
        cookie_serial[0] += 1
        cookie = f"session=s{cookie_serial[0]}; Path=/"
        conn.send(response(200, "OK", b"welcome", [("Set-Cookie", cookie)]))
        return True
    if path == "/whoami":
        cookies = dict(
            part.strip().split("=", 1)
            for part in headers.get("cookie", "").split(";")
            if "=" in part
        )
        if "session" in cookies:
            conn.send(response(200, "OK", cookies["session"].encode()))
        else:
            conn.send(response(401, "Unauthorized", b"who are you?"))
        return True
    if path == "/gzip":
        data = gzip.compress(json_body(ITEM))
        conn.send(response(200, "OK", data, [JSON, ("Content-Encoding", "gzip")]))
        return True
    if path == "/br":
        data = brotli.compress(json_body(ITEM))
        conn.send(response(200, "OK", data, [JSON, ("Content-Encoding", "br")]))
        return True
    if path == "/bad-gzip":
        data = b"\x1f\x8b\x08\x00" + b"this is not deflate data at all" * 4
        conn.send(response(200, "OK", data, [JSON, ("Content-Encoding", "gzip")]))
        return True
    if path == "/bad-br":
        data = b"\xff\xff\xff\xff this is not brotli" * 4
        conn.send(response(200, "OK", data, [JSON, ("Content-Encoding", "br")]))
        return True
    if path == "/unknown-coding":
        conn.send(response(200, "OK", b"opaque", [JSON, ("Content-Encoding", "x-unheard-of")]))
        return True
    if path == "/stream":
        conn.send(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        for part in range(5):
            lines = "".join(f"line {part * 4 + i}\n" for i in range(4)).encode()
            conn.send(b"%x\r\n%s\r\n" % (len(lines), lines))
            gevent.sleep(0.005)
        conn.send(b"0\r\n\r\n")
        return True
    if path in ("/reset", "/truncated"):
        conn.send(response(200, "OK", b"x" * 2000, [("Content-Type", "text/plain")], 20000))
        gevent.sleep(0.01)
        if path == "/reset":
            # SO_LINGER with a zero timeout: close() sends RST, not FIN.
            conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        return False
    if path == "/close-early":
        return False  # no response at all: the connection just closes
    if path == "/slow":
        gevent.sleep(1.0)
        conn.send(response(200, "OK", b"finally"))
        return True
    if path.startswith("/echo-target/"):
        conn.send(response(200, "OK", target.encode("latin-1"), [("Content-Type", "text/plain")]))
        return True
    conn.send(response(500, "Server Error", f"no route for {path}".encode()))
    return True


def handle(scheme: str, ctx: Optional[Any], sock: Any, addr: Any) -> None:
    if ctx is not None:
        # The handshake is ours, not StreamServer's: a client that rejects our
        # certificate (on purpose) is counted, not logged as a server error.
        try:
            sock = ctx.wrap_socket(sock, server_side=True)
        except (gevent.ssl.SSLError, OSError):
            hits[scheme]["TLS handshake failed"] += 1
            sock.close()
            return
    conn = Conn(sock)
    try:
        while True:
            req = conn.read_request()
            if req is None:
                return
            method, target, headers, body = req
            if headers.get("x-via") == "socks":
                hits["socks"][f"{scheme} {method} {target.split('?', 1)[0]}"] += 1
                hits["socks-peers"][str(addr[1])] += 1
            keep = route(conn, scheme, method, target, headers, body)
            if not keep or headers.get("connection", "").lower() == "close":
                return
    except (Closed, OSError):
        return
    finally:
        try:
            sock.close()
        except OSError:
            pass


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--max-seconds", type=float, default=300.0)
    args = parser.parse_args(argv)

    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("localhost", "127.0.0.1")
    tmpdir = tempfile.mkdtemp(prefix="ghc-locust-")
    ca_path = os.path.join(tmpdir, "ca.pem")
    ca.cert_pem.write_to_path(ca_path)
    ctx = gevent.ssl.SSLContext(gevent.ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(ctx)

    plain = gevent.server.StreamServer(("127.0.0.1", 0), functools.partial(handle, "http", None))
    tls = gevent.server.StreamServer(("127.0.0.1", 0), functools.partial(handle, "https", ctx))
    plain.start()
    tls.start()
    info = {"http": plain.server_port, "https": tls.server_port, "ca": ca_path}
    sys.stdout.write(json.dumps(info) + "\n")
    sys.stdout.flush()

    done = gevent.event.Event()

    def watch_stdin() -> None:
        # Ends when the parent closes our stdin (or dies).
        while True:
            try:
                data = gevent.os.tp_read(sys.stdin.fileno(), 1024)
            except OSError:
                break
            if not data:
                break
        done.set()

    gevent.spawn(watch_stdin)
    gevent.signal_handler(signal.SIGTERM, done.set)
    done.wait(args.max_seconds)
    plain.stop(timeout=1)
    tls.stop(timeout=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
