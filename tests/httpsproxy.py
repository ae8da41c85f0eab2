"""An HTTPS proxy for tests: TLS to the proxy (a trustme certificate), then either a
CONNECT tunnel piped to the target (TLS in TLS for https origins) or an absolute-form
request forwarded to an http origin.

Every origin in the tests is on loopback, so the proxy connects to 127.0.0.1 at the
port the request names, whatever the host name (``upstream`` changes that): names
like ``origin.test`` only ever reach the proxy. What it saw is kept for the test to
assert on:

* ``proxy.requests``: every request head it received (``method``, ``target``,
  ``headers`` as a lowercased dict of lists, ``raw_head``), including refused ones;
* ``proxy.sni``: the server names the clients sent in their handshakes with the proxy;
* ``proxy.tunnels``: the ``host:port`` of each CONNECT it opened;
* ``proxy.forwarded``: the heads it sent to http origins (``Proxy-Authorization``
  and the other hop-by-hop fields removed, as a proxy that consumes them does).

What the origins received is recorded by the origins themselves (``ScriptedServer``
from conftest), so a test can assert that ``Proxy-Authorization`` never got there.

Usage::

    proxy = HTTPSProxy(tls_cert, credentials=("user", "pass"))
    try:
        client = HTTPClient(..., proxy=proxy.url, ssl_options={"ca_certs": ca_file})
    finally:
        proxy.stop()
"""

from __future__ import annotations

import ssl
from typing import Any, Callable, Dict, List, Optional, Tuple
from urllib.parse import urlsplit

import gevent
import gevent.socket
import gevent.ssl
from conftest import ScriptedServer, ServerConn, basic, pipe

TIMEOUT = 5.0
"""How long the proxy waits to connect to an origin and for its answer."""

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authorization",
    "proxy-authenticate",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
}
"""Fields a proxy consumes rather than forwards (RFC 9110 7.6.1, plus the
Proxy-* ones); the body is re-framed with Content-Length, hence transfer-encoding."""


def loopback(host: str, port: int) -> Tuple[str, int]:
    """The default ``upstream``: every origin is on this machine."""
    return ("127.0.0.1", port)


class HTTPSProxy:
    """A TLS-speaking proxy on an ephemeral loopback port.

    ``cert``: a trustme ``LeafCert`` (conftest's ``tls_cert`` is for localhost,
    127.0.0.1 and ::1). ``credentials``: ``(user, password)`` it requires as
    ``Proxy-Authorization: Basic``, answering 407 otherwise. ``connect_status``: the
    status to answer every CONNECT with instead of opening it (403, 502...).
    ``upstream``: ``(host, port) -> address`` to connect to.
    """

    def __init__(
        self,
        cert: Any,
        *,
        credentials: Optional[Tuple[str, str]] = None,
        connect_status: Optional[int] = None,
        upstream: Callable[[str, int], Tuple[str, int]] = loopback,
    ) -> None:
        ctx = gevent.ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        cert.configure_cert(ctx)
        self.sni: List[Optional[str]] = []
        ctx.sni_callback = lambda sslobj, name, c: self.sni.append(name)
        self.credentials = credentials
        self.connect_status = connect_status
        self.upstream = upstream
        self.tunnels: List[str] = []
        self.forwarded: List[bytes] = []
        self.server = ScriptedServer(self._handle, ssl_context=ctx)
        self.port = self.server.port
        self.url = f"https://127.0.0.1:{self.port}"
        """The proxy's URL with no credentials (``url_with`` adds them)."""

    def url_with(self, user: str, password: str, host: str = "127.0.0.1") -> str:
        return f"https://{user}:{password}@{host}:{self.port}"

    @property
    def requests(self) -> List[Dict[str, Any]]:
        """Every request head the proxy received, in order."""
        return self.server.requests

    @property
    def connections(self) -> int:
        """TLS connections the proxy accepted."""
        return self.server.connections

    @property
    def errors(self) -> List[BaseException]:
        """Unexpected exceptions in the proxy's handlers (a test may assert none)."""
        return self.server.errors

    def stop(self) -> None:
        self.server.stop()

    # -- one client connection ------------------------------------------------------------

    def _handle(self, conn: ServerConn) -> None:
        origins: Dict[Tuple[str, int], Any] = {}
        try:
            while True:
                req = conn.read_request()
                if req is None:
                    return
                if not self._authorized(req):
                    conn.respond(
                        407,
                        b"proxy credentials needed",
                        [("Proxy-Authenticate", 'Basic realm="test proxy"')],
                        reason="Proxy Authentication Required",
                    )
                    continue
                if req["method"] == "CONNECT":
                    self._tunnel(conn, req)
                    return  # the connection was the tunnel's
                if not self._forward(conn, req, origins):
                    return
        finally:
            for sock in origins.values():
                sock.close()

    def _authorized(self, req: Dict[str, Any]) -> bool:
        if self.credentials is None:
            return True
        return req["headers"].get("proxy-authorization") == [basic(*self.credentials)]

    def _tunnel(self, conn: ServerConn, req: Dict[str, Any]) -> None:
        if self.connect_status is not None:
            conn.respond(self.connect_status, reason="Refused")
            return
        host, _, port = req["target"].rpartition(":")
        try:
            upstream = gevent.socket.create_connection(
                self.upstream(host.strip("[]"), int(port)), timeout=TIMEOUT
            )
        except OSError:
            conn.respond(502, b"cannot reach " + req["target"].encode(), reason="Bad Gateway")
            return
        upstream.settimeout(None)
        self.tunnels.append(req["target"])
        try:
            conn.send(b"HTTP/1.1 200 Connection established\r\n\r\n")
            if conn.buf:  # the client's first bytes came with its CONNECT
                upstream.sendall(conn.buf)
                conn.buf = b""
            to_origin = gevent.spawn(pipe, conn.sock, upstream)
            try:
                # The origin's direction decides the end: once it closed, so does the
                # tunnel (the client's TLS socket cannot be half-closed: gevent's
                # SSLSocket.shutdown drops its TLS state).
                _copy(upstream, conn.sock)
            finally:
                to_origin.kill()
        finally:
            upstream.close()

    def _forward(
        self, conn: ServerConn, req: Dict[str, Any], origins: Dict[Tuple[str, int], Any]
    ) -> bool:
        """Forward one absolute-form request to its http origin and relay the answer.
        Returns whether the client connection stays usable."""
        target = req["target"]
        if not target.startswith("http://"):
            conn.respond(400, b"absolute-form http:// targets only", reason="Bad Request")
            return False
        parts = urlsplit(target)
        authority = parts.netloc
        key = (parts.hostname or "", parts.port or 80)
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        origin = origins.get(key)
        if origin is None:
            try:
                origin = gevent.socket.create_connection(self.upstream(*key), timeout=TIMEOUT)
            except OSError:
                conn.respond(502, b"cannot reach " + authority.encode(), reason="Bad Gateway")
                return True
            origins[key] = origin
        body = req["body"] or b""
        lines = [f"{req['method']} {path} HTTP/1.1"]
        for name, values in req["headers"].items():
            if name in HOP_BY_HOP or name == "content-length":
                continue
            lines.extend(f"{name}: {v}" for v in values)
        if body or req["method"] in ("POST", "PUT", "PATCH"):
            lines.append(f"content-length: {len(body)}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.forwarded.append(head)
        origin.sendall(head + body)
        keep = _relay_response(origin, conn.sock, req["method"] == "HEAD")
        if not keep:
            origin.close()
            del origins[key]
        return keep


def _copy(src: Any, dst: Any) -> None:
    """Bytes from ``src`` to ``dst`` until ``src`` ends (or either breaks)."""
    try:
        while True:
            data = src.recv(65536)
            if not data:
                return
            dst.sendall(data)
    except OSError:
        pass


class _Reader:
    """Buffered reads of an origin's response, relayed as they come."""

    def __init__(self, sock: Any, out: Any) -> None:
        self.sock = sock
        self.out = out
        self.buf = b""

    def more(self) -> bool:
        data = self.sock.recv(65536)
        self.buf += data
        return bool(data)

    def line(self) -> bytes:
        while b"\r\n" not in self.buf:
            if not self.more():
                raise EOFError("origin closed mid line")
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def relay(self, n: int) -> None:
        """Send the next ``n`` bytes on, without holding them all."""
        while n:
            if not self.buf and not self.more():
                raise EOFError("origin closed mid body")
            part, self.buf = self.buf[:n], self.buf[n:]
            self.out.sendall(part)
            n -= len(part)


def _relay_response(origin: Any, client: Any, head_only: bool) -> bool:
    """Relay one response (interim ones too) from ``origin`` to ``client``, framed by
    Content-Length, chunked or the origin's close. Returns whether both may go on."""
    reader = _Reader(origin, client)
    while True:
        head_lines = []
        while True:
            line = reader.line()
            if not line:
                break
            head_lines.append(line)
        client.sendall(b"\r\n".join(head_lines) + b"\r\n\r\n")
        status = int(head_lines[0].split()[1])
        if status >= 200 or status == 101:
            break
    fields: Dict[str, str] = {}
    for line in head_lines[1:]:
        name, _, value = line.decode("latin-1").partition(":")
        fields[name.strip().lower()] = value.strip()
    keep = "close" not in fields.get("connection", "").lower()
    if head_only or status in (204, 304):
        return keep
    if "chunked" in fields.get("transfer-encoding", "").lower():
        while True:
            size_line = reader.line()
            client.sendall(size_line + b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            if size == 0:
                while True:  # trailers, up to the empty line
                    trailer = reader.line()
                    client.sendall(trailer + b"\r\n")
                    if not trailer:
                        return keep
            reader.relay(size + 2)
    if "content-length" in fields:
        reader.relay(int(fields["content-length"]))
        return keep
    client.sendall(reader.buf)  # delimited by the origin's close
    reader.buf = b""
    _copy(origin, client)
    return False
