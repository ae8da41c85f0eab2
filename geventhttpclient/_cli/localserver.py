"""The embedded server of ``geventhttpclient bench``: a local HTTP/1.1 peer to
measure the client against on a fresh machine.

It is a server, not part of the client: it lives apart from the package's floors
(README, Architecture), whose socket I/O belongs to ``_net`` and ``_connection``.
"""

from __future__ import annotations

from typing import Any

import gevent.server

__all__ = ["LocalServer", "RESPONSE_BODY"]

RESPONSE_BODY = b"Hello, World!\n" * 4
"""What the embedded server sends: a small body, as in a typical API benchmark."""


def _response(keep_alive: bool) -> bytes:
    connection = b"keep-alive" if keep_alive else b"close"
    return (
        b"HTTP/1.1 200 OK\r\n"
        b"Content-Type: text/plain\r\n"
        b"Content-Length: " + str(len(RESPONSE_BODY)).encode() + b"\r\n"
        b"Connection: " + connection + b"\r\n"
        b"\r\n" + RESPONSE_BODY
    )


class LocalServer:
    """A minimal keep-alive HTTP/1.1 server on 127.0.0.1 for the benchmark.

    It answers every request (a head ending in a blank line; request bodies are not
    expected) with one fixed response written in a single ``sendall``, so Nagle's
    algorithm and delayed ACKs do not distort the numbers. The client's
    ``Connection: close`` is honoured.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._keep = _response(True)
        self._close = _response(False)
        self._server = gevent.server.StreamServer((host, port), self._handle)
        self.requests = 0

    def start(self) -> LocalServer:
        self._server.start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/"

    def _handle(self, sock: Any, _addr: Any) -> None:
        buf = b""
        try:
            while True:
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    data = sock.recv(65536)
                    if not data:
                        return
                    buf += data
                    continue
                head, buf = buf[:end], buf[end + 4 :]
                self.requests += 1
                if b"\nconnection: close" in head.lower():
                    sock.sendall(self._close)
                    return
                sock.sendall(self._keep)
        except OSError:
            pass
        finally:
            sock.close()

    def stop(self) -> None:
        self._server.stop(timeout=1)

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
