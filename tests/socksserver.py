"""A scripted SOCKS 4/4a/5 server on gevent, for tests and the Locust job.

``socks5h`` is SOCKS5 with a domain-name address (ATYP 3): the server speaks all four
client flavours. On success it connects to the target and relays bytes both ways, so
a client reaches a real origin (HTTP or TLS) through it. It records what each client
asked for (``server.requests``: version, address type, host, port, user) and counts
connections and relays.

Names are resolved only if they are loopback names (``localhost``) or listed in
``hosts`` (``{"origin.test": "127.0.0.1"}``): a test can use a name that does not
exist and prove that the proxy, not the client, resolved it. Any other name is
"host unreachable".

As a context manager::

    with SocksServer(user="u", password="p") as proxy:
        HTTPClient.from_url(origin, proxy=proxy.url("socks5h", "u", "p"))

Scripted misbehaviours (``script=``), each for the test of one error path:

``"refuse"``               answer the request with ``reply`` (a SOCKS5 code, or a
                           SOCKS4 code 91-93)
``"greeting_version"``     answer the SOCKS5 greeting with version 4 (SOCKS4: reply
                           version 4 instead of 0)
``"reply_version"``        answer the SOCKS5 request with version 4
``"unknown_atyp"``         a success reply with address type 9
``"empty_name"``           a success reply with a bound name of length 0
``"bound_name"``           a success reply whose bound address is a name (valid)
``"bound_ipv6"``           a success reply whose bound address is IPv6 (valid)
``"no_acceptable_method"`` answer the greeting with 0xFF
``"unoffered_method"``     choose username/password although it was not offered
``"auth_reply_version"``   answer RFC 1929 with version 5 and status 0 (lenient clients
                           accept it, as curl does)
``"close_after_greeting"`` read the greeting, then close
``"close_mid_reply"``      send the first half of the success reply, then close
``"stall"``                read the greeting, never answer (until the client closes)
``"stall_after_auth"``     complete authentication, never answer the request
``"banner"``               send ``banner`` (bytes of the origin) in the same segment
                           as the success reply, before relaying: a client that reads
                           more than the reply loses them
``"dribble"``              send every reply one byte per segment

Run as a script for the Locust job (serves until killed)::

    python tests/socksserver.py --port-file F [--user U --password P] [--stats-file S]

writes its port to ``F`` once listening (and prints ``{"port": N}`` on stdout, for a
parent that reads the line rather than polls the file), and, with ``--stats-file``, a
JSON summary (connections, relays, requests by version and address type, users, the
local ports of its connections to the targets) after every handshake and at exit.
SIGTERM or SIGINT stops it.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import signal
import socket
import struct
import sys
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

import gevent
import gevent.event
import gevent.pool
import gevent.server
import gevent.socket

__all__ = ["SocksServer", "SocksRequest", "SCRIPTS"]

SCRIPTS = frozenset(
    {
        "refuse",
        "greeting_version",
        "reply_version",
        "unknown_atyp",
        "empty_name",
        "bound_name",
        "bound_ipv6",
        "no_acceptable_method",
        "unoffered_method",
        "auth_reply_version",
        "close_after_greeting",
        "close_mid_reply",
        "stall",
        "stall_after_auth",
        "banner",
        "dribble",
    }
)

LOOPBACK_NAMES = {"localhost": "127.0.0.1"}
"""The names the server resolves itself (without a lookup: a test may watch lookups)."""
CONNECT_TIMEOUT = 5.0


@dataclass
class SocksRequest:
    """What one client asked for."""

    version: int  # 4 or 5
    atyp: str  # "ipv4", "ipv6", "domain" (SOCKS4a's name is "domain" too)
    host: str
    port: int
    user: Optional[str] = None
    password: Optional[str] = None
    methods: bytes = b""  # SOCKS5: the methods the greeting offered


class _Closed(Exception):
    """The client went away mid-handshake."""


class _Reader:
    """Buffered reads of the client's side; what is left over goes to the target."""

    def __init__(self, sock: Any) -> None:
        self.sock = sock
        self.buf = b""

    def read(self, n: int) -> bytes:
        while len(self.buf) < n:
            data = self.sock.recv(65536)
            if not data:
                raise _Closed()
            self.buf += data
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_until_nul(self) -> bytes:
        while b"\x00" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise _Closed()
            self.buf += data
        out, _, self.buf = self.buf.partition(b"\x00")
        return out

    def drain(self) -> None:
        """Read until the client closes (a proxy that never answers)."""
        while self.sock.recv(65536):
            pass


class SocksServer:
    """A SOCKS server on an ephemeral loopback port; see the module docstring."""

    def __init__(
        self,
        *,
        user: Optional[str] = None,
        password: Optional[str] = None,
        script: Optional[str] = None,
        reply: int = 0x01,
        banner: bytes = b"",
        hosts: Optional[Dict[str, str]] = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        if script is not None and script not in SCRIPTS:
            raise ValueError(f"unknown script {script!r}")
        self.user = user
        self.password = password
        self.script = script
        self.reply = reply
        self.banner = banner
        self.hosts = dict(hosts or {})
        self.requests: List[SocksRequest] = []
        self.connections = 0
        self.relays = 0  # tunnels opened to a target
        self.upstream_ports: List[int] = []  # our local port of each tunnel to a target
        self.errors: List[BaseException] = []
        self._pipes = gevent.pool.Group()
        self._server = gevent.server.StreamServer((host, port), self._handle)
        self.host = host
        self.port = 0
        self.on_handshake: Optional[Any] = None  # called after each handshake (the script's stats)

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> SocksServer:
        self._server.start()
        self.port = self._server.server_port
        return self

    def stop(self) -> None:
        self._server.stop(timeout=0.5)
        self._pipes.kill(block=True, timeout=1)

    def __enter__(self) -> SocksServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def url(
        self, scheme: str = "socks5h", user: Optional[str] = None, password: Optional[str] = None
    ) -> str:
        """The proxy URL to give a client (credentials as given, not the server's)."""
        auth = ""
        if user is not None:
            auth = user + (f":{password}" if password is not None else "") + "@"
        netloc = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{auth}{netloc}:{self.port}"

    def stats(self) -> Dict[str, Any]:
        by_version: Dict[str, int] = {}
        for r in self.requests:
            key = f"socks{r.version}:{r.atyp}"
            by_version[key] = by_version.get(key, 0) + 1
        return {
            "connections": self.connections,
            "relays": self.relays,
            "requests": by_version,
            "users": sorted({r.user for r in self.requests if r.user}),
            "upstream_ports": list(self.upstream_ports),
            "errors": [repr(e) for e in self.errors],
        }

    # -- one client ----------------------------------------------------------------------

    def _handle(self, sock: Any, addr: Any) -> None:
        self.connections += 1
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        reader = _Reader(sock)
        upstream = None
        try:
            version = reader.read(1)[0]
            if version == 5:
                upstream = self._socks5(sock, reader)
            elif version == 4:
                upstream = self._socks4(sock, reader)
        except (_Closed, OSError):
            pass
        except Exception as exc:  # recorded for the test to see
            self.errors.append(exc)
        if upstream is not None:
            self.relays += 1
            self.upstream_ports.append(upstream.getsockname()[1])
        if self.on_handshake is not None:
            self.on_handshake(self)
        if upstream is None:
            return
        try:
            if reader.buf:
                upstream.sendall(reader.buf)
            back = self._pipes.spawn(pipe, upstream, sock)
            pipe(sock, upstream)
            back.join()
        finally:
            upstream.close()
            sock.close()

    def _send(self, sock: Any, data: bytes) -> None:
        if self.script == "dribble":
            for i in range(len(data)):
                sock.sendall(data[i : i + 1])
                gevent.sleep(0.001)  # pacing, so each byte is its own segment (not a sync)
        else:
            sock.sendall(data)

    def _socks5(self, sock: Any, reader: _Reader) -> Optional[Any]:
        nmethods = reader.read(1)[0]
        methods = reader.read(nmethods)
        script = self.script
        if script == "close_after_greeting":
            return None
        if script == "stall":
            reader.drain()
            return None
        if script == "greeting_version":
            self._send(sock, b"\x04\x00")
            return None
        if script == "no_acceptable_method":
            self._send(sock, b"\x05\xff")
            return None
        user = password = None
        if self.user is not None or script == "unoffered_method":
            if 0x02 not in methods and script != "unoffered_method":
                self._send(sock, b"\x05\xff")
                return None
            self._send(sock, b"\x05\x02")
            if script == "unoffered_method":
                return None
            auth_version = reader.read(1)[0]
            if auth_version != 1:
                return None
            user = reader.read(reader.read(1)[0]).decode("utf-8")
            password = reader.read(reader.read(1)[0]).decode("utf-8")
            if (user, password) != (self.user, self.password):
                self._send(sock, b"\x01\x01")
                return None
            self._send(sock, b"\x05\x00" if script == "auth_reply_version" else b"\x01\x00")
        elif 0x00 in methods:
            self._send(sock, b"\x05\x00")
        else:
            self._send(sock, b"\x05\xff")
            return None

        ver, cmd, _rsv, atyp = reader.read(4)
        if atyp == 1:
            host, kind = str(ipaddress.IPv4Address(reader.read(4))), "ipv4"
        elif atyp == 4:
            host, kind = str(ipaddress.IPv6Address(reader.read(16))), "ipv6"
        elif atyp == 3:
            host, kind = reader.read(reader.read(1)[0]).decode("ascii"), "domain"
        else:
            self._send(sock, b"\x05\x08\x00\x01" + bytes(6))
            return None
        (port,) = struct.unpack("!H", reader.read(2))
        self.requests.append(SocksRequest(5, kind, host, port, user, password, bytes(methods)))
        if script == "stall_after_auth":
            reader.drain()
            return None
        if script == "refuse":
            self._send(sock, bytes([5, self.reply, 0, 1]) + bytes(6))
            return None
        if script == "reply_version":
            self._send(sock, b"\x04\x00\x00\x01" + bytes(6))
            return None
        if cmd != 1:
            self._send(sock, b"\x05\x07\x00\x01" + bytes(6))
            return None
        upstream, code = self._connect(host, port)
        if upstream is None:
            self._send(sock, bytes([5, code, 0, 1]) + bytes(6))
            return None
        bound_ip, bound_port = upstream.getsockname()[:2]
        if script == "unknown_atyp":
            bound = b"\x09" + bytes(6)
        elif script == "empty_name":
            bound = b"\x03\x00" + struct.pack("!H", bound_port)
        elif script == "bound_name":
            bound = b"\x03\x09localhost" + struct.pack("!H", bound_port)
        elif script == "bound_ipv6":
            bound = b"\x04" + ipaddress.IPv6Address("::1").packed + struct.pack("!H", bound_port)
        else:
            ip = ipaddress.ip_address(bound_ip)
            bound = bytes([1 if ip.version == 4 else 4]) + ip.packed + struct.pack("!H", bound_port)
        reply = b"\x05\x00\x00" + bound
        if script == "close_mid_reply":
            sock.sendall(reply[: len(reply) // 2])
            upstream.close()
            return None
        if script in ("unknown_atyp", "empty_name"):
            self._send(sock, reply)
            upstream.close()
            return None
        self._send(sock, reply + (self.banner if script == "banner" else b""))
        return upstream

    def _socks4(self, sock: Any, reader: _Reader) -> Optional[Any]:
        cmd = reader.read(1)[0]
        (port,) = struct.unpack("!H", reader.read(2))
        ip = ipaddress.IPv4Address(reader.read(4))
        user = reader.read_until_nul().decode("utf-8")
        if ip.packed[:3] == b"\x00\x00\x00" and ip.packed[3] != 0:
            host, kind = reader.read_until_nul().decode("ascii"), "domain"
        else:
            host, kind = str(ip), "ipv4"
        self.requests.append(SocksRequest(4, kind, host, port, user or None))
        script = self.script
        if script in ("stall", "stall_after_auth"):
            reader.drain()
            return None
        if script in ("close_after_greeting",):
            return None

        def answer(code: int, tail: bytes = b"") -> None:
            vn = 4 if script == "greeting_version" else 0
            self._send(sock, bytes([vn, code]) + struct.pack("!H", port) + ip.packed + tail)

        if script == "refuse":
            answer(self.reply)
            return None
        if script == "close_mid_reply":
            sock.sendall(b"\x00\x5a\x00")
            return None
        if cmd != 1 or (self.user is not None and user != self.user):
            answer(91)
            return None
        upstream, _ = self._connect(host, port)
        if upstream is None:
            answer(91)
            return None
        if script == "greeting_version":
            answer(90)
            upstream.close()
            return None
        answer(90, self.banner if script == "banner" else b"")
        return upstream

    def _connect(self, host: str, port: int) -> Any:
        """``(socket, 0)`` to the target, or ``(None, SOCKS5 reply code)``."""
        address = self.hosts.get(host.lower()) or LOOPBACK_NAMES.get(host.lower(), host)
        try:
            ipaddress.ip_address(address)
        except ValueError:
            return None, 0x04  # host unreachable: we resolve no outside names
        try:
            upstream = gevent.socket.create_connection((address, port), timeout=CONNECT_TIMEOUT)
        except ConnectionRefusedError:
            return None, 0x05
        except socket.timeout:
            return None, 0x06
        except OSError:
            return None, 0x04
        upstream.settimeout(None)
        upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return upstream, 0


def pipe(src: Any, dst: Any) -> None:
    """Copy bytes from ``src`` to ``dst`` until EOF, then half-close ``dst`` (a
    tunnelling proxy's one direction; the tests' proxies use it too, through
    conftest)."""
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def _write_atomically(path: str, text: str) -> None:
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--port-file", required=True, help="write the listening port here")
    parser.add_argument("--stats-file", help="write a JSON summary here after each handshake")
    parser.add_argument("--user")
    parser.add_argument("--password")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--max-seconds", type=float, default=0, help="exit after this long (0: until killed)"
    )
    args = parser.parse_args(argv)
    server = SocksServer(user=args.user, password=args.password, host=args.host)
    if args.stats_file:
        stats_file = args.stats_file

        def write_stats(s: SocksServer) -> None:
            _write_atomically(stats_file, json.dumps(s.stats()))

        server.on_handshake = write_stats
        write_stats(server)
    server.start()
    _write_atomically(args.port_file, str(server.port))
    sys.stdout.write(json.dumps({"port": server.port}) + "\n")
    sys.stdout.flush()
    done = gevent.event.Event()
    gevent.signal_handler(signal.SIGTERM, done.set)
    gevent.signal_handler(signal.SIGINT, done.set)
    done.wait(args.max_seconds or None)
    server.stop()
    if args.stats_file:
        _write_atomically(args.stats_file, json.dumps(server.stats()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
