"""A scripted fault server: a hostile HTTP/1.1 peer, one small script per connection.

A script is a list of steps run in order on one accepted connection::

    FaultServer([Expect(), Send(b"HTTP/1.1 200 OK\\r\\nContent-Length: 5\\r\\n\\r\\nhel"), Close()])

    FaultServer.per_connection(
        [Expect(), Reset()],          # the first connection: read a request, then RST
        then=[Serve()],               # every later one: serve keep-alive requests
    )

Steps
-----
``Expect()``          read one request head and its body (Content-Length or chunked);
                      ``Expect(body=False)`` reads the head only (uploads).
``ReadBytes(n)``      read ``n`` more raw bytes (part of an upload body).
``Send(data)``        send exact bytes (``data`` may be ``callable(conn) -> bytes``).
``Respond(...)``      a well-formed response echoing the last request's id.
``Trickle(data)``     send one byte per ``send`` (yielding between bytes).
``Endless(line)``     send ``line`` again and again until the client goes away.
``Stall(event)``      wait for ``event`` (or ``timeout``); ``Stall()`` waits for the
                      client to close.
``Signal(event)``     set ``event``: tells the test this point was reached.
``Close()``           FIN (``drain=True``: then read and discard until the client
                      closes, the lingering close of RFC 9112 section 9.6).
``Reset()``           RST (``SO_LINGER`` 0).
``Loop(fn)``          ``fn(conn)`` returns the steps for the next request, again and
                      again until the client closes.
``Serve()``           ``Loop`` of ``Expect(), Respond()``: a keep-alive echo server.

When a script ends the server closes the connection (FIN). A client that closes (or
resets) ends the script quietly. The server records, per connection, every byte the
client sent (``conn.received``), the requests (``conn.requests``) and how many bytes
it managed to send (``conn.sent``); ``server.connections`` counts accepted
connections and ``server.count(method)`` requests (``record=False`` keeps only the
counters, for long runs). Requests carry their id in an ``X-Id`` header; ``Respond``
echoes it in the body and the ``X-Id`` response header, so a client can prove it got
its own response.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Union

import gevent
import gevent.event
import gevent.server

__all__ = [
    "FaultServer",
    "FaultConn",
    "Request",
    "Step",
    "Expect",
    "ReadBytes",
    "Send",
    "Respond",
    "Trickle",
    "Endless",
    "Stall",
    "Signal",
    "Close",
    "Reset",
    "Loop",
    "Serve",
    "ClientGone",
]

Data = Union[bytes, Callable[["FaultConn"], bytes]]


class ClientGone(Exception):
    """The client closed or reset the connection: the script ends here."""


class ScriptEnd(Exception):
    """A step ended the connection (Reset): the script ends here."""


@dataclass
class Request:
    method: str
    target: str
    headers: Dict[str, List[str]]
    body: bytes
    raw_head: bytes

    @property
    def id(self) -> str:
        return self.headers.get("x-id", [""])[0]


class FaultConn:
    """The server side of one connection, with everything it saw and did."""

    def __init__(self, sock: Any, index: int, server: FaultServer) -> None:
        self.sock = sock
        self.index = index
        self.server = server
        self.received = bytearray()  # every byte the client sent, in order
        self.buf = bytearray()  # received, not yet consumed by a step
        self.requests: List[Request] = []
        self.sent = 0  # bytes the server managed to hand to the kernel
        self.client_closed = False
        self.error: Optional[BaseException] = None
        self.done = gevent.event.Event()  # the script ended and the socket is closed

    # -- receiving -------------------------------------------------------------------

    def recv_more(self) -> None:
        try:
            data = self.sock.recv(65536)
        except OSError as exc:
            self.client_closed = True
            raise ClientGone(str(exc)) from exc
        if not data:
            self.client_closed = True
            raise ClientGone("client closed")
        if self.server.record:
            self.received += data
        self.buf += data

    def take(self, n: int) -> bytes:
        while len(self.buf) < n:
            self.recv_more()
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def take_line(self) -> bytes:
        while b"\r\n" not in self.buf:
            self.recv_more()
        i = self.buf.index(b"\r\n")
        line = bytes(self.buf[:i])
        del self.buf[: i + 2]
        return line

    def read_head(self) -> Request:
        while b"\r\n\r\n" not in self.buf:
            self.recv_more()
        i = self.buf.index(b"\r\n\r\n")
        head = bytes(self.buf[: i + 4])
        del self.buf[: i + 4]
        lines = head[:-4].decode("latin-1").split("\r\n")
        method, target, _version = lines[0].split(" ", 2)
        headers: Dict[str, List[str]] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers.setdefault(name.strip().lower(), []).append(value.strip())
        req = Request(method, target, headers, b"", head)
        server = self.server
        server.methods[method] = server.methods.get(method, 0) + 1
        if server.record:
            self.requests.append(req)
            server.requests.append(req)
        else:
            self.requests[:] = [req]  # ``last`` still works
        return req

    def read_body(self, req: Request) -> None:
        te = ",".join(req.headers.get("transfer-encoding", [])).lower()
        if "chunked" in te:
            body = bytearray()
            while True:
                size = int(self.take_line().split(b";")[0], 16)
                body += self.take(size)
                self.take(2)
                if size == 0:
                    break
            req.body = bytes(body)
        else:
            req.body = self.take(int(req.headers.get("content-length", ["0"])[0]))

    @property
    def last(self) -> Optional[Request]:
        return self.requests[-1] if self.requests else None

    # -- sending ---------------------------------------------------------------------

    def send(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                n = self.sock.send(view)
            except OSError as exc:
                self.client_closed = True
                raise ClientGone(str(exc)) from exc
            self.sent += n
            view = view[n:]


class Step:
    def run(self, conn: FaultConn) -> None:
        raise NotImplementedError


@dataclass
class Expect(Step):
    body: bool = True

    def run(self, conn: FaultConn) -> None:
        req = conn.read_head()
        if self.body:
            conn.read_body(req)


@dataclass
class ReadBytes(Step):
    n: int

    def run(self, conn: FaultConn) -> None:
        conn.take(self.n)


def _data(data: Data, conn: FaultConn) -> bytes:
    return data(conn) if callable(data) else data


@dataclass
class Send(Step):
    data: Data

    def run(self, conn: FaultConn) -> None:
        conn.send(_data(self.data, conn))


def response(
    body: bytes, status: int = 200, headers: Sequence[str] = (), reason: str = "OK"
) -> bytes:
    """A well-formed response with a Content-Length."""
    head = f"HTTP/1.1 {status} {reason}\r\nContent-Length: {len(body)}\r\n"
    head += "".join(h + "\r\n" for h in headers)
    return head.encode("latin-1") + b"\r\n" + body


@dataclass
class Respond(Step):
    """A complete response whose body (and ``X-Id``) is the last request's id."""

    status: int = 200
    headers: Sequence[str] = ()

    def run(self, conn: FaultConn) -> None:
        rid = conn.last.id if conn.last else ""
        hs = [f"X-Id: {rid}", *self.headers]
        conn.send(response(rid.encode(), self.status, hs))


@dataclass
class Trickle(Step):
    data: Data
    delay: float = 0.0

    def run(self, conn: FaultConn) -> None:
        data = _data(self.data, conn)
        for i in range(len(data)):
            conn.send(data[i : i + 1])
            gevent.sleep(self.delay)  # yield: the client reads each byte on its own


@dataclass
class Endless(Step):
    """Send ``line`` until the client goes away; ``cap`` bytes stop a runaway test."""

    line: bytes
    trickle: bool = False
    cap: int = 64 * 1024 * 1024

    def run(self, conn: FaultConn) -> None:
        line = self.line
        while conn.sent < self.cap:
            if self.trickle:
                for i in range(len(line)):
                    conn.send(line[i : i + 1])
                    gevent.sleep(0)
            else:
                conn.send(line)
                gevent.sleep(0)
        conn.server.runaway = True


@dataclass
class Stall(Step):
    event: Optional[gevent.event.Event] = None
    timeout: Optional[float] = None

    def run(self, conn: FaultConn) -> None:
        if self.event is not None:
            self.event.wait(self.timeout)
            return
        # No event: wait for the client to close (recording what it sends).
        with gevent.Timeout(self.timeout, False):
            while True:
                conn.recv_more()


@dataclass
class Signal(Step):
    event: gevent.event.Event

    def run(self, conn: FaultConn) -> None:
        self.event.set()


@dataclass
class Close(Step):
    drain: bool = False
    drain_timeout: float = 10.0

    def run(self, conn: FaultConn) -> None:
        try:
            conn.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        if self.drain:
            conn.buf.clear()  # what is left of the request is discarded, not parsed
            with gevent.Timeout(self.drain_timeout, False):
                while True:
                    conn.recv_more()
                    conn.buf.clear()


@dataclass
class Reset(Step):
    def run(self, conn: FaultConn) -> None:
        conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.sock.close()
        raise ScriptEnd


@dataclass
class Loop(Step):
    next_steps: Callable[[FaultConn], List[Step]]

    def run(self, conn: FaultConn) -> None:
        while True:
            for step in self.next_steps(conn):
                step.run(conn)


def Serve() -> Loop:  # noqa: N802 - reads as a step
    return Loop(lambda conn: [Expect(), Respond()])


Script = Sequence[Step]
ScriptSource = Union[Script, Callable[[int], Script]]


class FaultServer:
    """A gevent ``StreamServer`` on a loopback ephemeral port running ``script`` on
    each connection (``script(index)`` if it is callable)."""

    def __init__(
        self, script: ScriptSource, sndbuf: Optional[int] = None, record: bool = True
    ) -> None:
        self.script = script
        self.sndbuf = sndbuf
        self.record = record  # False: keep counters only (long runs stay flat)
        self.conns: List[FaultConn] = []  # without record: only the open ones
        self.requests: List[Request] = []
        self.accepted = 0
        self.methods: Dict[str, int] = {}
        self.errors: List[BaseException] = []
        self.runaway = False
        self._server = gevent.server.StreamServer(("127.0.0.1", 0), self._handle)
        self._server.start()
        self.port = self._server.server_port
        self.base = f"http://127.0.0.1:{self.port}"

    @classmethod
    def per_connection(
        cls, *scripts: Script, then: Optional[Script] = None, **kw: Any
    ) -> FaultServer:
        """Connection ``i`` runs ``scripts[i]``; later ones run ``then`` (default:
        ``[Serve()]``)."""
        rest = list(then) if then is not None else [Serve()]
        return cls(lambda i: scripts[i] if i < len(scripts) else rest, **kw)

    @property
    def connections(self) -> int:
        return self.accepted

    @property
    def open_connections(self) -> int:
        return sum(1 for c in self.conns if not c.done.is_set())

    def count(self, method: str) -> int:
        return self.methods.get(method, 0)

    def _handle(self, sock: Any, _addr: Any) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.sndbuf is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, self.sndbuf)
        conn = FaultConn(sock, self.accepted, self)
        self.accepted += 1
        self.conns.append(conn)
        script = self.script(conn.index) if callable(self.script) else self.script
        try:
            for step in script:
                step.run(conn)
        except (ClientGone, ScriptEnd):
            pass
        except OSError as exc:  # e.g. the socket was reset under a step
            conn.error = exc
        except Exception as exc:  # a broken script: the test should see it
            conn.error = exc
            self.errors.append(exc)
        finally:
            try:
                sock.close()
            except OSError:
                pass
            conn.done.set()
            if not self.record:
                self.conns.remove(conn)

    def stop(self) -> None:
        self._server.stop(timeout=0.5)
