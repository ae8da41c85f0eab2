"""SOCKS 4, 4a, 5 and 5h handshakes, spoken on a connected gevent socket.

Why our own: under gevent, PySocks either blocks the hub (its socket class wraps the
stdlib's, whose calls block the whole process unless everything is monkey-patched)
or bypasses it (requests issue 3861, gevent issues 937 and 2150). The handshakes are
a few dozen bytes each way, so they are written here from the protocol texts (RFC
1928 for SOCKS5, RFC 1929 for its username/password method, the SOCKS4 and SOCKS4A
notes), on the socket :mod:`geventhttpclient._net` opened. Every wait is a gevent
wait under the socket's timeout (``connection_timeout``), so a stalled proxy raises
``socket.timeout`` and the caller turns it into ``ConnectTimeout``.

Theory of operation: :func:`handshake` checks and encodes everything it will send
first (credentials, the target's address), so a request it cannot express is
refused as :class:`~geventhttpclient.exceptions.RequestError` before a byte goes
out. It then writes each message and reads each reply with :func:`_recv_exactly`,
which never asks the socket for more than the reply's remaining bytes: a proxy may
send the origin's first bytes in the same segment as its reply, and those belong to
the HTTP (or TLS) conversation that follows on the same socket. Each message is
sent after the previous reply (no optimistic pipelining: a proxy that picks another
method than the one we guessed would read our next message as garbage).

Errors, all :class:`~geventhttpclient.exceptions.ProxyError` or a subclass, with
``reply`` set to the proxy's code where it gave one:

* ``ProxyError``: the proxy refused the connection or could not make it (every
  SOCKS5 reply code of RFC 1928 section 6, SOCKS4's 91), or closed the connection
  in the middle of the handshake;
* ``ProxyAuthenticationError``: our username/password was refused (RFC 1929), the
  proxy accepted none of the methods we offered (0xFF: typically it wants
  credentials we were not given), SOCKS4's 92 and 93 (identd checks of the user id);
* ``ProxyProtocolError``: a reply its protocol does not allow (wrong version byte,
  unknown address type, a method we did not offer, an empty bound name).

What we send: for ``socks5`` and ``socks4`` the client resolves the target's name
(through ``lookup``, the client's own resolver with its ``resolve=`` overrides and
DNS cache) and sends an address; ``socks5h`` sends the name (ATYP 3) and ``socks4a``
the name after the 0.0.0.1 marker, so the proxy resolves it. IP literals are always
sent as addresses. SOCKS4 carries IPv4 only. SOCKS4 has no password: ``proxy.user``
is its user id and ``proxy.password`` is ignored.
"""

from __future__ import annotations

import errno
import ipaddress
import struct
from typing import TYPE_CHECKING, Callable, Dict, Tuple

from .exceptions import ProxyAuthenticationError, ProxyError, ProxyProtocolError, RequestError

if TYPE_CHECKING:
    from typing import Protocol

    from ._proxies import ProxyConfig

    class _Stream(Protocol):
        """What a handshake needs of the socket (a connected gevent socket)."""

        def recv(self, bufsize: int) -> bytes: ...
        def sendall(self, data: bytes) -> None: ...


__all__ = ["handshake", "SOCKS5_REPLIES", "SOCKS4_REPLIES"]

Lookup = Callable[[str, int, bool], str]
"""``lookup(host, port, ipv4_only) -> "address"``: the client's resolver."""

SOCKS5_REPLIES: Dict[int, str] = {
    0x01: "general SOCKS server failure",
    0x02: "connection not allowed by ruleset",
    0x03: "network unreachable",
    0x04: "host unreachable",
    0x05: "connection refused",
    0x06: "TTL expired",
    0x07: "command not supported",
    0x08: "address type not supported",
}
"""RFC 1928 section 6: the meaning of each failure code of a SOCKS5 reply (0x00 is
success; 0x09-0xFF are unassigned)."""

# The errno each refusal carries (ProxyError is an OSError), so code that looks at
# errno sees the same thing as for a direct connection that failed that way.
_SOCKS5_ERRNO: Dict[int, int] = {
    0x03: errno.ENETUNREACH,
    0x04: errno.EHOSTUNREACH,
    0x05: errno.ECONNREFUSED,
    0x06: errno.ETIMEDOUT,
}

SOCKS4_REPLIES: Dict[int, str] = {
    91: "request rejected or failed",
    92: "request rejected: the proxy cannot reach identd on the client",
    93: "request rejected: identd reports a different user id",
}
"""The SOCKS4 protocol note's failure codes (90 is "request granted")."""

_SOCKS5_VERSION = 5
_SOCKS5_CONNECT = 1
_NO_AUTH = 0x00
_USER_PASSWORD = 0x02
_NO_ACCEPTABLE_METHOD = 0xFF
_ATYP_IPV4 = 1
_ATYP_DOMAIN = 3
_ATYP_IPV6 = 4
_ATYP_NAMES = {_ATYP_IPV4: "IPv4", _ATYP_DOMAIN: "domain name", _ATYP_IPV6: "IPv6"}

_SOCKS4_VERSION = 4
_SOCKS4_REPLY_VERSION = 0  # the SOCKS4 note: "VN is the version of the reply code and should be 0"
_SOCKS4_GRANTED = 90
_SOCKS4A_MARKER = b"\x00\x00\x00\x01"  # 0.0.0.x with x != 0: "the name follows"

MAX_FIELD = 255
"""RFC 1929's bound on the username and the password, RFC 1928's on a domain name:
each travels behind a one-byte length."""


def handshake(sock: _Stream, proxy: ProxyConfig, host: str, port: int, lookup: Lookup) -> None:
    """Ask the SOCKS proxy at the other end of ``sock`` to connect to ``host:port``.

    ``sock``: connected to the proxy, with its timeout already set (a stalled proxy
    raises ``socket.timeout``, left to the caller to translate). ``host``: a name,
    an IPv4 or an IPv6 literal (brackets allowed). ``lookup``: the client's resolver,
    called only for ``socks5``/``socks4`` and a host that is not an IP literal; its
    ``DNSError`` propagates. On return the socket carries the conversation with the
    origin, and no byte of it has been read.

    Raises :class:`RequestError` (before sending anything) when the request cannot be
    expressed: a username, password or name over 255 bytes, a NUL in a SOCKS4 field,
    an IPv6 target through SOCKS4; :class:`ProxyError`,
    :class:`ProxyAuthenticationError` and :class:`ProxyProtocolError` as described in
    the module docstring; ``socket.timeout`` and other ``OSError`` from the socket.
    """
    scheme = proxy.scheme
    if scheme in ("socks5", "socks5h"):
        _socks5(sock, proxy, host, port, lookup)
    elif scheme in ("socks4", "socks4a"):
        _socks4(sock, proxy, host, port, lookup)
    else:
        raise ValueError(f"not a SOCKS proxy scheme: {scheme!r}")


def _recv_exactly(sock: _Stream, n: int, proxy: ProxyConfig) -> bytes:
    """Exactly ``n`` bytes: never asks for more, so what follows stays in the socket."""
    data = sock.recv(n)
    if len(data) == n:  # the usual case: the whole reply in one segment
        return data
    parts = [data]
    got = len(data)
    while data and got < n:
        data = sock.recv(n - got)
        parts.append(data)
        got += len(data)
    if got < n:
        version = "SOCKS5" if proxy.scheme.startswith("socks5") else "SOCKS4"
        raise ProxyError(
            errno.ECONNRESET,
            f"proxy closed the connection during the {version} handshake ({_proxy_name(proxy)})",
        )
    return b"".join(parts)


def _ip_literal(host: str) -> Tuple[int, str]:
    """``(4 or 6, canonical text)`` for an IP literal, ``(0, host)`` for a name."""
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        ip = ipaddress.ip_address(bare.split("%", 1)[0])  # a zone id is local to us
    except ValueError:
        return 0, host
    return ip.version, str(ip)


def _encode_name(host: str, what: str) -> bytes:
    try:
        name = host.encode("ascii")
    except UnicodeEncodeError:
        try:
            name = host.encode("idna")
        except UnicodeError as exc:
            raise RequestError(f"cannot encode {what} {host!r} for the proxy: {exc}") from exc
    if not name:
        raise RequestError(f"empty {what} for the proxy")
    return name


def _check_port(port: int) -> None:
    if not 0 < port < 65536:
        raise RequestError(f"port {port} cannot be sent to a SOCKS proxy")


def _target(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host and not host.startswith("[") else f"{host}:{port}"


def _proxy_name(proxy: ProxyConfig) -> str:
    return f"{proxy.scheme} proxy {_target(proxy.host, proxy.port)}"


# -- SOCKS5 (RFC 1928, RFC 1929) ---------------------------------------------------------


def _socks5(sock: _Stream, proxy: ProxyConfig, host: str, port: int, lookup: Lookup) -> None:
    _check_port(port)
    credentials = b""
    methods = bytes([_NO_AUTH])
    if proxy.user is not None:
        user = proxy.user.encode("utf-8")
        password = (proxy.password or "").encode("utf-8")
        if len(user) > MAX_FIELD or len(password) > MAX_FIELD:
            raise RequestError(
                f"SOCKS5 username and password are at most {MAX_FIELD} bytes each (RFC 1929)"
            )
        credentials = bytes([1, len(user)]) + user + bytes([len(password)]) + password
        methods = bytes([_USER_PASSWORD, _NO_AUTH])
    request = bytes([_SOCKS5_VERSION, _SOCKS5_CONNECT, 0]) + _socks5_address(
        proxy, host, port, lookup
    )
    where = _proxy_name(proxy)
    target = _target(host, port)

    sock.sendall(bytes([_SOCKS5_VERSION, len(methods)]) + methods)
    version, method = _recv_exactly(sock, 2, proxy)
    if version != _SOCKS5_VERSION:
        raise _protocol(f"{where} answered the SOCKS5 greeting with version {version}")
    if method == _NO_ACCEPTABLE_METHOD:
        wanted = "username/password or none" if credentials else "no authentication"
        exc: ProxyError = ProxyAuthenticationError(
            errno.EACCES,
            f"{where} accepts none of the authentication methods offered ({wanted})"
            + ("" if credentials else ": it may need a username and password"),
        )
        exc.reply = method
        raise exc
    if method not in methods:
        raise _protocol(f"{where} chose authentication method {method:#04x}, not one offered")
    if method == _USER_PASSWORD:
        sock.sendall(credentials)
        # RFC 1929's reply is VER (1) and STATUS; like curl, only STATUS is read: some
        # servers put their SOCKS version in the first byte.
        _, status = _recv_exactly(sock, 2, proxy)
        if status != 0:
            exc = ProxyAuthenticationError(
                errno.EACCES, f"{where} refused the username and password (status {status})"
            )
            exc.reply = status
            raise exc

    sock.sendall(request)
    version, reply = _recv_exactly(sock, 2, proxy)
    if version != _SOCKS5_VERSION:
        raise _protocol(f"{where} answered the SOCKS5 request with version {version}")
    if reply != 0:
        # The bound address after a failure is meaningless, and some proxies close
        # without sending it: no read past the code.
        meaning = SOCKS5_REPLIES.get(reply, "unassigned reply code")
        exc = ProxyError(
            _SOCKS5_ERRNO.get(reply, errno.ECONNREFUSED),
            f"{where} could not connect to {target}: {meaning} (reply {reply:#04x})",
        )
        exc.reply = reply
        raise exc
    _, atyp = _recv_exactly(sock, 2, proxy)  # RSV (ignored, as RFC 1928 reserves it), ATYP
    if atyp == _ATYP_IPV4:
        rest = 4 + 2
    elif atyp == _ATYP_IPV6:
        rest = 16 + 2
    elif atyp == _ATYP_DOMAIN:
        rest = _recv_exactly(sock, 1, proxy)[0] + 2
        if rest == 2:
            raise _protocol(f"{where} replied with an empty bound host name")
    else:
        raise _protocol(f"{where} replied with unknown address type {atyp}")
    _recv_exactly(sock, rest, proxy)  # BND.ADDR, BND.PORT: the proxy's side, not needed


def _socks5_address(proxy: ProxyConfig, host: str, port: int, lookup: Lookup) -> bytes:
    """ATYP, DST.ADDR and DST.PORT of a SOCKS5 request."""
    version, address = _ip_literal(host)
    if version == 0 and proxy.scheme == "socks5":
        version, address = _ip_literal(lookup(host, port, False))
        if version == 0:
            raise RequestError(f"the resolver gave no IP address for {host!r}: {address!r}")
    if version == 4:
        packed = bytes([_ATYP_IPV4]) + ipaddress.IPv4Address(address).packed
    elif version == 6:
        packed = bytes([_ATYP_IPV6]) + ipaddress.IPv6Address(address).packed
    else:
        name = _encode_name(host, "host name")
        if len(name) > MAX_FIELD:
            raise RequestError(f"host name over {MAX_FIELD} bytes cannot be sent to a SOCKS5 proxy")
        packed = bytes([_ATYP_DOMAIN, len(name)]) + name
    return packed + struct.pack("!H", port)


# -- SOCKS4 and SOCKS4a ------------------------------------------------------------------


def _socks4(sock: _Stream, proxy: ProxyConfig, host: str, port: int, lookup: Lookup) -> None:
    _check_port(port)
    user_id = (proxy.user or "").encode("utf-8")
    if b"\x00" in user_id:
        raise RequestError("a SOCKS4 user id cannot contain NUL")
    version, address = _ip_literal(host)
    name = b""
    if version == 0 and proxy.scheme == "socks4":
        version, address = _ip_literal(lookup(host, port, True))
        if version == 0:
            raise RequestError(f"the resolver gave no IP address for {host!r}: {address!r}")
    if version == 6:
        raise RequestError(
            f"SOCKS4 carries IPv4 addresses only; {_target(host, port)} needs socks5:// or socks5h://"
        )
    if version == 4:
        packed = ipaddress.IPv4Address(address).packed
    else:  # socks4a: the proxy resolves the name
        name = _encode_name(host, "host name")
        if b"\x00" in name:
            raise RequestError("a SOCKS4a host name cannot contain NUL")
        packed = _SOCKS4A_MARKER
        name += b"\x00"
    where = _proxy_name(proxy)

    sock.sendall(struct.pack("!BBH", _SOCKS4_VERSION, 1, port) + packed + user_id + b"\x00" + name)
    reply = _recv_exactly(sock, 8, proxy)  # VN, CD, DSTPORT, DSTIP
    if reply[0] != _SOCKS4_REPLY_VERSION:
        raise _protocol(f"{where} replied with version {reply[0]} (a SOCKS4 reply has 0)")
    code = reply[1]
    if code == _SOCKS4_GRANTED:
        return
    meaning = SOCKS4_REPLIES.get(code)
    if meaning is None:
        raise _protocol(f"{where} replied with unknown code {code}")
    cls = ProxyError if code == 91 else ProxyAuthenticationError
    exc = cls(
        errno.ECONNREFUSED if code == 91 else errno.EACCES,
        f"{where} could not connect to {_target(host, port)}: {meaning} (reply {code})",
    )
    exc.reply = code
    raise exc


def _protocol(message: str) -> ProxyProtocolError:
    return ProxyProtocolError(errno.EPROTO, message)
