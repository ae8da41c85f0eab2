"""The embedded server of ``geventhttpclient bench`` (and of the CLI's tests): a local
HTTP/1.1 peer to measure the client against on a fresh machine, with routes that
misbehave on request.

It is a server, not part of the client: it lives apart from the package's floors
(README, Architecture), whose socket I/O belongs to ``_net`` and ``_connection``.

Routes (path and query)::

    /                      the fixed small response (the benchmark's; its own fast path)
    /delay?ms=N            the fixed response after N ms
    /status/NNN            status NNN (200..599), small body
    /fail                  closes the connection in the middle of the response head
    /fail?every=K          every K-th request to /fail fails so, the others are answered
    /trickle?bytes=N&ms=M  N body bytes (Content-Length known) in pieces over M ms
    /bytes/N               N body bytes
    /echo                  the request as a JSON body: method, path (the target as
                           sent), version, headers (list of [name, value]), body
                           (latin-1 str)
    /redirect?to=PATH      302 to PATH; with &n=K, K redirects to itself first
    /gzip                  a gzip-encoded body when the request accepts gzip,
                           the same text plain otherwise
    /sse?n=N&interval=MS&delay=MS
                           a text/event-stream (chunked): after ``delay`` ms, N
                           events (default 5) ``interval`` ms apart (default 100),
                           each ``id: K`` and ``data: {"n": K}`` (K from 1), on a
                           schedule fixed at the start so the gaps do not drift;
                           gzip-encoded (flushed per event) when the request
                           accepts gzip and asks ``&gzip=1``

Anything else is a 404. ``/fail`` sends the first line of a head before it closes:
a close before any byte would not show, as clients (ours too) send an idempotent
request once more on a new connection when the server closed without answering,
and the retry would be the next, answered, request to ``/fail?every=K``.

Request bodies (Content-Length or chunked, after a ``100 Continue`` when asked) are
read, so POSTs keep their connection alive; ``Connection: close`` and HTTP/1.0
without keep-alive close after the response.

``stall_at``/``stall_for`` hold every response, once: from ``stall_at`` seconds after
the server's first request, nothing is sent (new responses and those in flight,
such as a delay or a trickle) until ``stall_for`` seconds have passed. That is the
server hiccup that the open-loop test of ``bench -q`` must show.
"""

from __future__ import annotations

import gzip
import http
import json
import time
import zlib
from typing import Any, Callable, Dict, List, Optional, Tuple
from urllib.parse import parse_qsl, quote, unquote

import gevent
import gevent.server

__all__ = ["LocalServer", "RESPONSE_BODY"]

RESPONSE_BODY = b"Hello, World!\n" * 4
"""What the embedded server sends at ``/``: a small body, as in a typical API benchmark."""

GZIP_TEXT = b"geventhttpclient gzip route: the same line, again and again.\n" * 20
"""The text behind ``/gzip`` (compressed there when the request accepts gzip)."""

MAX_HEAD = 65536
"""A request head longer than this is answered with 431 and the connection closed."""

MAX_BODY_BYTES = 1 << 30
"""The largest body ``/bytes/N`` and ``/trickle`` send (1 GiB): a typo, not a test."""

_PIECE = 65536  # /bytes is written in pieces of this size: no 1 GiB string in memory


def _response(
    status: int,
    body: bytes,
    close: bool,
    headers: Tuple[Tuple[str, str], ...] = (("Content-Type", "text/plain"),),
    length: Optional[int] = None,
) -> bytes:
    """A whole response head (and ``body``); ``length`` when the body is sent apart."""
    try:
        reason = http.HTTPStatus(status).phrase
    except ValueError:
        reason = "Unknown"
    lines = [f"HTTP/1.1 {status} {reason}"]
    lines += [f"{name}: {value}" for name, value in headers]
    lines.append(f"Content-Length: {len(body) if length is None else length}")
    lines.append("Connection: close" if close else "Connection: keep-alive")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class _Request:
    """One parsed request, for the routes other than ``/`` (which needs none of it)."""

    __slots__ = ("method", "target", "path", "query", "version", "head", "body", "close")

    def __init__(
        self, method: str, target: str, version: str, head: bytes, body: bytes, close: bool
    ) -> None:
        self.method = method
        self.target = target
        path, _, query = target.partition("?")
        self.path = path
        self.query: Dict[str, str] = dict(parse_qsl(query, keep_blank_values=True))
        self.version = version
        self.head = head
        self.body = body
        self.close = close

    def number(self, name: str, default: int) -> int:
        """The query parameter ``name`` as an int (ValueError when it is not one)."""
        value = self.query.get(name)
        return default if value is None else int(value)


class _Closed(Exception):
    """The peer closed the connection in the middle of a request."""


class LocalServer:
    """A keep-alive HTTP/1.1 server on loopback for the benchmark and the CLI's tests.

    ``/`` answers with one fixed response written in a single ``sendall`` (Nagle's
    algorithm and delayed ACKs do not distort the numbers); a head equal to the
    connection's previous ``/`` head gets it without being parsed again, so that
    ``/`` costs less than when it was the only route. ``tls`` (a server
    ``ssl.SSLContext``) serves https. ``requests`` counts the requests received.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        stall_at: Optional[float] = None,
        stall_for: float = 0.0,
        tls: Optional[Any] = None,
    ) -> None:
        self._keep = _response(200, RESPONSE_BODY, False)
        self._close = _response(200, RESPONSE_BODY, True)
        self._keep_head = self._keep[: -len(RESPONSE_BODY)]
        self._close_head = self._close[: -len(RESPONSE_BODY)]
        self._gzipped = gzip.compress(GZIP_TEXT, mtime=0)
        self._host = host
        self._tls = tls
        # The handshake is made in _handle, not by StreamServer(ssl_context=...): a
        # client that refuses the certificate would print a traceback from gevent.
        self._server = gevent.server.StreamServer((host, port), self._handle)
        self.requests = 0
        self._fail_count = 0
        self._stall_at = stall_at
        self._stall_for = stall_for
        self._stall_window: Optional[Tuple[float, float]] = None  # set at the first request
        self._routes: Dict[str, Callable[[Any, _Request], bool]] = {
            "/": self._root,
            "/delay": self._delay,
            "/fail": self._fail,
            "/trickle": self._trickle,
            "/echo": self._echo,
            "/redirect": self._redirect,
            "/gzip": self._gzip,
            "/sse": self._sse,
        }

    def start(self) -> LocalServer:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop(timeout=1)

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return int(self._server.server_port)

    @property
    def url(self) -> str:
        """The base URL, ending in ``/``."""
        scheme = "https" if self._tls is not None else "http"
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"{scheme}://{host}:{self.port}/"

    # -- connection loop ---------------------------------------------------------

    def _handle(self, sock: Any, _addr: Any) -> None:
        if self._tls is not None:
            try:
                sock = self._tls.wrap_socket(sock, server_side=True)
            except OSError:  # the client gave up on the handshake: its error, not ours
                sock.close()
                return
        buf = b""
        # The last head that "/" answered with the fixed keep-alive response and that
        # announced no body: a benchmark sends the same head again and again, and a
        # byte comparison is cheaper than parsing it (callgrind, CPython 3.12: about
        # 3,000 instructions per request less than the parse, 12,000 less than the
        # parse with the body checks).
        same_as: Optional[bytes] = None
        try:
            while True:
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    if len(buf) > MAX_HEAD:
                        sock.sendall(_response(431, b"request head too long\n", True))
                        return
                    data = sock.recv(65536)
                    if not data:
                        return
                    buf += data
                    continue
                head, buf = buf[:end], buf[end + 4 :]
                self.requests += 1
                if head == same_as:
                    if self._stall_at is not None:
                        self._hold()
                    sock.sendall(self._keep)
                    continue
                lower = head.lower()
                line_end = head.find(b"\r\n")
                request_line = head if line_end < 0 else head[:line_end]
                parts = request_line.split(b" ")
                if len(parts) != 3:
                    sock.sendall(_response(400, b"bad request line\n", True))
                    return
                method, target, version = parts
                close = b"\nconnection: close" in lower or (
                    version == b"HTTP/1.0" and b"\nconnection: keep-alive" not in lower
                )
                has_body = b"\ncontent-length:" in lower or b"\ntransfer-encoding:" in lower
                if has_body:
                    body, buf = self._read_body(sock, lower, buf)
                else:
                    body = b""
                if self._stall_at is not None:
                    self._hold()
                if target == b"/" and method != b"HEAD":
                    sock.sendall(self._close if close else self._keep)
                    if close:
                        return
                    if not has_body:
                        same_as = head
                    continue
                request = _Request(
                    method.decode("latin-1"),
                    target.decode("latin-1"),
                    version.decode("latin-1"),
                    head,
                    body,
                    close,
                )
                if not self._dispatch(sock, request) or close:
                    return
        except (OSError, _Closed):
            pass
        finally:
            sock.close()

    def _read_body(self, sock: Any, lower: bytes, buf: bytes) -> Tuple[bytes, bytes]:
        """The request body (Content-Length or chunked) and what follows it in ``buf``."""

        def fill(more_than: int) -> bytes:
            nonlocal buf
            while len(buf) <= more_than:
                data = sock.recv(65536)
                if not data:
                    raise _Closed()
                buf += data
            return buf

        if b"\nexpect: 100-continue" in lower:
            sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        if b"chunked" in _header(lower, b"transfer-encoding"):
            pieces: List[bytes] = []
            while True:
                while b"\r\n" not in buf:
                    fill(len(buf))
                line, buf = buf.split(b"\r\n", 1)
                size = int(line.split(b";", 1)[0], 16)
                if size == 0:
                    while True:  # trailers, up to the blank line
                        while b"\r\n" not in buf:
                            fill(len(buf))
                        line, buf = buf.split(b"\r\n", 1)
                        if not line:
                            return b"".join(pieces), buf
                fill(size + 1)  # the data and its CRLF
                pieces.append(buf[:size])
                buf = buf[size + 2 :]
        length = int(_header(lower, b"content-length") or b"0")
        if length:
            fill(length - 1)
        return buf[:length], buf[length:]

    def _hold(self) -> None:
        """Sleep through the stall window, if we are in it (see the module docstring)."""
        now = time.monotonic()
        window = self._stall_window
        if window is None:
            start = now + (self._stall_at or 0.0)
            window = self._stall_window = (start, start + self._stall_for)
        if window[0] <= now < window[1]:
            gevent.sleep(window[1] - now)

    def _send(self, sock: Any, data: bytes) -> None:
        """``sendall`` after the stall window, for responses that took time to make."""
        if self._stall_at is not None:
            self._hold()
        sock.sendall(data)

    # -- routes: each returns False when the connection is to be closed ------------

    def _dispatch(self, sock: Any, request: _Request) -> bool:
        route = self._routes.get(request.path)
        try:
            if route is not None:
                return route(sock, request)
            prefix, _, rest = request.path[1:].partition("/")
            if prefix == "status" and rest:
                return self._status(sock, request, int(rest))
            if prefix == "bytes" and rest:
                return self._bytes(sock, request, int(rest))
        except ValueError as exc:  # a number that is not one, a status out of range
            sock.sendall(_response(400, f"{exc}\n".encode(), request.close))
            return True
        sock.sendall(_response(404, b"no such route\n", request.close))
        return True

    def _fixed(self, request: _Request) -> bytes:
        if request.method == "HEAD":
            return self._close_head if request.close else self._keep_head
        return self._close if request.close else self._keep

    def _root(self, sock: Any, request: _Request) -> bool:
        sock.sendall(self._fixed(request))  # HEAD / or "/?query"
        return True

    def _delay(self, sock: Any, request: _Request) -> bool:
        gevent.sleep(request.number("ms", 0) / 1000.0)
        self._send(sock, self._fixed(request))
        return True

    def _status(self, sock: Any, request: _Request, status: int) -> bool:
        if not 200 <= status <= 599:
            raise ValueError(f"status {status} is not within 200..599")
        body = b"" if status in (204, 304) or request.method == "HEAD" else f"{status}\n".encode()
        sock.sendall(_response(status, body, request.close))
        return True

    def _fail(self, sock: Any, request: _Request) -> bool:
        every = request.number("every", 1)
        if every < 1:
            raise ValueError("every must be at least 1")
        self._fail_count += 1
        if self._fail_count % every == 0:
            self._send(sock, b"HTTP/1.1 200 OK\r\n")  # and no more: see the docstring
            return False
        sock.sendall(self._fixed(request))
        return True

    def _trickle(self, sock: Any, request: _Request) -> bool:
        size = request.number("bytes", 1000)
        ms = request.number("ms", 1000)
        if not 0 <= size <= MAX_BODY_BYTES:
            raise ValueError(f"bytes must be within 0..{MAX_BODY_BYTES}")
        self._send(sock, _response(200, b"", request.close, length=size))
        pieces = min(size, 10)
        for k in range(pieces):
            gevent.sleep(ms / 1000.0 / pieces)
            n = size // pieces + (1 if k < size % pieces else 0)
            self._send(sock, b"t" * n)
        return True

    def _bytes(self, sock: Any, request: _Request, size: int) -> bool:
        if not 0 <= size <= MAX_BODY_BYTES:
            raise ValueError(f"size must be within 0..{MAX_BODY_BYTES}")
        headers = (("Content-Type", "application/octet-stream"),)
        if size <= _PIECE or request.method == "HEAD":
            body = b"" if request.method == "HEAD" else b"b" * size
            sock.sendall(_response(200, body, request.close, headers, length=size))
            return True
        sock.sendall(_response(200, b"", request.close, headers, length=size))
        piece = b"b" * _PIECE
        for _ in range(size // _PIECE):
            sock.sendall(piece)
            gevent.sleep(0)  # a fast reader never makes sendall wait: let others run
        sock.sendall(piece[: size % _PIECE])
        return True

    def _echo(self, sock: Any, request: _Request) -> bool:
        lines = request.head.decode("latin-1").split("\r\n")[1:]
        headers = [[n.strip(), v.strip()] for n, _, v in (line.partition(":") for line in lines)]
        body = json.dumps(
            {
                "method": request.method,
                "path": request.target,
                "version": request.version,
                "headers": headers,
                "body": request.body.decode("latin-1"),
            }
        ).encode()
        if request.method == "HEAD":
            body = b""
        headers_out = (("Content-Type", "application/json"),)
        sock.sendall(_response(200, body, request.close, headers_out))
        return True

    def _redirect(self, sock: Any, request: _Request) -> bool:
        to = request.query.get("to", "/")
        n = request.number("n", 0)
        if n > 0:
            to = f"/redirect?n={n - 1}&to={quote(to, safe='')}"
        headers = (("Location", to), ("Content-Type", "text/plain"))
        sock.sendall(
            _response(302, f"redirect to {unquote(to)}\n".encode(), request.close, headers)
        )
        return True

    def _gzip(self, sock: Any, request: _Request) -> bool:
        accepts = b"gzip" in _header(request.head.lower(), b"accept-encoding")
        body = self._gzipped if accepts else GZIP_TEXT
        headers: Tuple[Tuple[str, str], ...] = (("Content-Type", "text/plain"),)
        if accepts:
            headers += (("Content-Encoding", "gzip"),)
        headers += (("Vary", "Accept-Encoding"),)
        sock.sendall(
            _response(
                200,
                b"" if request.method == "HEAD" else body,
                request.close,
                headers,
                length=len(body),
            )
        )
        return True

    def _sse(self, sock: Any, request: _Request) -> bool:
        n = request.number("n", 5)
        interval = request.number("interval", 100) / 1000.0
        delay = request.number("delay", 0) / 1000.0
        if not 0 <= n <= 1_000_000 or interval < 0 or delay < 0:
            raise ValueError("n must be within 0..1000000, interval and delay at least 0")
        compress = request.query.get("gzip") == "1" and b"gzip" in _header(
            request.head.lower(), b"accept-encoding"
        )
        lines = [
            "HTTP/1.1 200 OK",
            "Content-Type: text/event-stream",
            "Cache-Control: no-cache",
            "Transfer-Encoding: chunked",
            "Connection: close" if request.close else "Connection: keep-alive",
        ]
        if compress:
            lines.append("Content-Encoding: gzip")
        self._send(sock, ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        if request.method == "HEAD":
            return True
        # wbits 31: a gzip stream; a sync flush after each event lets the client
        # decode it on arrival (a plain compress would hold it back).
        encoder = zlib.compressobj(6, zlib.DEFLATED, 31) if compress else None
        start = time.monotonic() + delay
        for k in range(1, n + 1):
            wait = start + (k - 1) * interval - time.monotonic()
            if wait > 0:
                gevent.sleep(wait)
            event = f'id: {k}\ndata: {{"n": {k}}}\n\n'.encode()
            if encoder is not None:
                event = encoder.compress(event) + encoder.flush(zlib.Z_SYNC_FLUSH)
            self._send(sock, b"%x\r\n%s\r\n" % (len(event), event))
        tail = encoder.flush() if encoder is not None else b""
        if tail:
            tail = b"%x\r\n%s\r\n" % (len(tail), tail)
        self._send(sock, tail + b"0\r\n\r\n")
        return True


def _header(lower_head: bytes, name: bytes) -> bytes:
    """The value of header ``name`` in a lowercased head (the first one; b"" if absent)."""
    start = lower_head.find(b"\n" + name + b":")
    if start < 0:
        return b""
    start += len(name) + 2
    end = lower_head.find(b"\r\n", start)
    return lower_head[start : end if end >= 0 else len(lower_head)].strip()
