"""Opening sockets: resolve, connect, TLS, error translation. Once open, a socket is
read and written by ``_connection`` only.

Low-level errors are translated here, once, into the tree of ``exceptions.py``
(``raise ... from exc`` keeps the original). A caller's own ``gevent.Timeout`` and
``GreenletExit`` are BaseExceptions we never catch.

Connecting follows Happy Eyeballs (RFC 8305) in its simple form: addresses are
interleaved by family (IPv6 first), the next attempt starts when the previous one
has not succeeded within ``ATTEMPT_DELAY``, the first success wins and the others are
closed.
"""

from __future__ import annotations

import errno
import os
import socket as _stdsocket
import ssl as _stdssl
from typing import Any, Callable, Dict, List, Mapping, NamedTuple, Optional, Tuple

import gevent
import gevent.queue
import gevent.socket
import gevent.ssl

from .exceptions import (
    CertificateVerifyError,
    ConnectError,
    ConnectionClosed,
    ConnectionRefused,
    ConnectTimeout,
    DNSError,
    NetworkError,
    ReadTimeout,
    TLSError,
)
from .timings import ConnectPhases, clock

__all__ = [
    "connect",
    "start_tls",
    "lookup",
    "make_ssl_context",
    "ssl_context_cache_info",
    "SSLContextCacheInfo",
    "translate",
    "check_resolve",
    "override",
    "ATTEMPT_DELAY",
]

ATTEMPT_DELAY = 0.25
"""RFC 8305 section 5 recommends 250 ms between connection attempts."""

_default_contexts: Dict[Tuple[Any, ...], _stdssl.SSLContext] = {}
"""The shared contexts, by settings (see :func:`_context_key`), least recently used
first."""
_context_lookups = [0, 0]
"""Hits and misses of :data:`_default_contexts` (:func:`ssl_context_cache_info`)."""


class SSLContextCacheInfo(NamedTuple):
    """What :func:`ssl_context_cache_info` returns."""

    hits: int
    """Clients given a context made earlier for the same settings."""
    misses: int
    """Contexts made for the cache (each one read its CA bundle)."""
    size: int
    """Contexts in the cache now."""


def ssl_context_cache_info() -> SSLContextCacheInfo:
    """How the process-wide cache of SSL contexts is doing: ``(hits, misses, size)``.

    Clients with the same TLS settings (CA file, client certificate and key, ciphers,
    options, ``insecure``) share one context: making one reads the CA bundle, tens of
    milliseconds that block the hub, and a load test making 2,000 users of one origin
    needs one context, not 2,000. A file's identity (size, modification time) is part
    of its setting, so a rotated certificate gets a new context. A client with its own
    ``ssl_context_factory`` gets a context of its own (the factory may do anything), not
    counted here.
    """
    hits, misses = _context_lookups
    return SSLContextCacheInfo(hits, misses, len(_default_contexts))


def _forget_contexts() -> None:
    _default_contexts.clear()
    _context_lookups[:] = [0, 0]


if hasattr(os, "register_at_fork"):
    # A child makes its own contexts: nothing of the parent's TLS state (session
    # tickets a context may hold) is shared between processes.
    os.register_at_fork(after_in_child=_forget_contexts)


def _ca_file() -> str:
    import certifi

    return certifi.where()


def make_ssl_context(
    ssl_options: Optional[Dict[str, Any]] = None,
    ssl_context_factory: Optional[Callable[..., _stdssl.SSLContext]] = None,
    insecure: bool = False,
) -> _stdssl.SSLContext:
    """An SSL context verifying against certifi's Mozilla bundle unless told otherwise.

    ``ssl_options`` keys, as in 2.x: ``ca_certs``, ``certfile``, ``keyfile``,
    ``ciphers``, ``options``, ``verify_flags``; ``insecure=True`` turns off both
    certificate and host name verification. Without a ``ssl_context_factory`` the
    context is shared by every client with the same settings (see _context_key and
    :func:`ssl_context_cache_info`): never change a context this returns. With one,
    the context is new and the caller's own.
    """
    opts = dict(ssl_options or {})
    opts.pop("server_hostname", None)
    cafile = opts.pop("ca_certs", None) or _ca_file()
    key = _context_key(cafile, opts, insecure) if ssl_context_factory is None else None
    if key is not None:
        shared = _default_contexts.pop(key, None)
        if shared is not None:
            _default_contexts[key] = shared  # now the most recently used
            _context_lookups[0] += 1
            return shared
        _context_lookups[1] += 1
    factory = ssl_context_factory or gevent.ssl.create_default_context
    try:
        ctx = factory(cafile=cafile)
    except TypeError:
        ctx = factory()
        ctx.load_verify_locations(cafile=cafile)
    if insecure:
        ctx.check_hostname = False
        ctx.verify_mode = _stdssl.CERT_NONE
    else:
        ctx.verify_mode = _stdssl.CERT_REQUIRED
        ctx.check_hostname = True
    certfile = opts.pop("certfile", None)
    keyfile = opts.pop("keyfile", None)
    if certfile:
        ctx.load_cert_chain(certfile=certfile, keyfile=keyfile)
    if "ciphers" in opts:
        ctx.set_ciphers(opts.pop("ciphers"))
    for name in ("options", "verify_flags"):
        if name in opts:
            setattr(ctx, name, opts.pop(name))
    try:
        ctx.set_alpn_protocols(["http/1.1"])
    except NotImplementedError:  # pragma: no cover - OpenSSL without ALPN
        pass
    if key is not None:
        while len(_default_contexts) >= _CONTEXT_CACHE_SIZE:
            del _default_contexts[next(iter(_default_contexts))]  # the least recently used
        _default_contexts[key] = ctx
    return ctx


_CONTEXT_CACHE_SIZE = 32
"""Contexts kept per process. Making one reads the CA bundle (tens of milliseconds,
blocking the hub), so clients with the same TLS settings share one; beyond this many
settings the least recently used context is dropped from the cache (its clients
keep it)."""


def _context_key(cafile: str, opts: Dict[str, Any], insecure: bool) -> Optional[Tuple[Any, ...]]:
    """Cache key for our own contexts: the settings plus each file's identity, so a
    rotated certificate file gets a new context. None when an option is not hashable."""
    files = []
    for path in (cafile, opts.get("certfile"), opts.get("keyfile")):
        try:
            st = os.stat(path) if path else None
        except OSError:
            return None
        files.append((path, st.st_mtime_ns, st.st_size) if st else None)
    try:
        rest = tuple(sorted(opts.items()))
        hash(rest)
    except TypeError:
        return None
    return (tuple(files), rest, insecure)


def translate(exc: BaseException, what: str, connecting: bool = False) -> BaseException:
    """The library exception for a low-level error (not raised, so ``from`` can chain)."""
    if isinstance(exc, NetworkError):
        return exc
    if isinstance(exc, _stdsocket.gaierror):
        return DNSError(exc.errno, f"{what}: cannot resolve: {exc.strerror}")
    if isinstance(exc, _stdssl.SSLError):
        err: TLSError
        if isinstance(exc, _stdssl.SSLCertVerificationError):
            err = CertificateVerifyError(exc.errno or 0, f"{what}: TLS: {exc}")
            err.verify_code = exc.verify_code
            err.verify_message = exc.verify_message
        else:
            err = TLSError(exc.errno or 0, f"{what}: TLS: {exc}")
        # ssl.SSLError declares them str; OpenSSL leaves them None when it has none
        err.reason = getattr(exc, "reason", None)  # type: ignore[assignment]
        err.library = getattr(exc, "library", None)  # type: ignore[assignment]
        return err
    if isinstance(exc, _stdsocket.timeout):
        if connecting:
            return ConnectTimeout(errno.ETIMEDOUT, f"{what}: connect timed out")
        return ReadTimeout(errno.ETIMEDOUT, f"{what}: timed out")
    if isinstance(exc, OSError):
        if connecting and isinstance(exc, ConnectionRefusedError):
            return ConnectionRefused(exc.errno, f"{what}: {exc.strerror or exc}")
        if connecting:
            return ConnectError(exc.errno, f"{what}: {exc.strerror or exc}")
        if exc.errno in (errno.ECONNRESET, errno.EPIPE, errno.ECONNABORTED, errno.ENOTCONN):
            return ConnectionClosed(exc.errno, f"{what}: {exc.strerror or exc}")
        return NetworkError(exc.errno, f"{what}: {exc.strerror or exc}")
    return exc


def _numeric(host: str, port: int, disable_ipv6: bool) -> Optional[List[Tuple[Any, ...]]]:
    """The address of an IP literal, without the resolver: gevent's default resolver
    hands every lookup to its thread pool, even of "127.0.0.1"."""
    for family in (_stdsocket.AF_INET, _stdsocket.AF_INET6):
        try:
            _stdsocket.inet_pton(family, host)
        except (OSError, ValueError):
            continue
        if family == _stdsocket.AF_INET6:
            if disable_ipv6:
                return []
            return [
                (family, _stdsocket.SOCK_STREAM, _stdsocket.IPPROTO_TCP, "", (host, port, 0, 0))
            ]
        return [(family, _stdsocket.SOCK_STREAM, _stdsocket.IPPROTO_TCP, "", (host, port))]
    return None


def override(resolve: Optional[Mapping[str, str]], host: str, port: int) -> Optional[str]:
    """The address ``resolve`` (curl's ``--resolve``: ``"host:port"`` or ``"host"``
    keys, IP addresses as values) gives ``host`` on ``port``, or None."""
    if not resolve:
        return None
    name = f"[{host}]" if ":" in host else host
    return resolve.get(f"{name}:{port}") or resolve.get(host)


def check_resolve(resolve: Optional[Mapping[str, str]]) -> Dict[str, str]:
    """``resolve`` checked once, when a client is made: every value an IP address
    (a name there would need the lookup that ``resolve`` is for avoiding)."""
    checked: Dict[str, str] = {}
    for key, address in (resolve or {}).items():
        address = str(address).strip()
        if address.startswith("[") and address.endswith("]"):
            address = address[1:-1]
        if _numeric(address, 0, False) is None:
            raise ValueError(f"resolve={{{key!r}: {address!r}}}: not an IP address")
        checked[str(key).lower()] = address
    return checked


def _resolve(
    host: str,
    port: int,
    disable_ipv6: bool,
    resolve: Optional[Mapping[str, str]] = None,
    dns_cache: Any = None,
) -> Tuple[List[Tuple[Any, ...]], bool]:
    """The addresses to try for ``host``, in order, and whether a lookup was made
    (none for an IP address or a ``resolve`` override)."""
    address = override(resolve, host.lower(), port) if resolve else None
    numeric = _numeric(address or host, port, disable_ipv6)
    if numeric is not None:
        return numeric, False
    family = _stdsocket.AF_INET if disable_ipv6 else _stdsocket.AF_UNSPEC
    if dns_cache is not None:
        infos = dns_cache.getaddrinfo(host, port, family, _stdsocket.SOCK_STREAM)
    else:
        infos = gevent.socket.getaddrinfo(host, port, family, _stdsocket.SOCK_STREAM)
    # RFC 8305 section 4: interleave families, starting with the first one returned.
    v6 = [i for i in infos if i[0] == _stdsocket.AF_INET6]
    v4 = [i for i in infos if i[0] != _stdsocket.AF_INET6]
    first, second = (v6, v4) if infos and infos[0][0] == _stdsocket.AF_INET6 else (v4, v6)
    ordered: List[Tuple[Any, ...]] = []
    for i in range(max(len(first), len(second))):
        ordered.extend(lst[i] for lst in (first, second) if i < len(lst))
    return ordered, True


def _attempt(
    info: Tuple[Any, ...], timeout: Optional[float], source: Optional[Tuple[str, int]] = None
) -> gevent.socket.socket:
    family, socktype, proto, _, addr = info
    sock = gevent.socket.socket(family, socktype, proto)
    try:
        sock.settimeout(timeout)
        if source is not None:
            sock.bind(source)
        sock.connect(addr)
    except BaseException:
        sock.close()
        raise
    return sock


def _race(
    infos: List[Tuple[Any, ...]], timeout: Optional[float], source: Optional[Tuple[str, int]]
) -> gevent.socket.socket:
    """Staggered parallel attempts; the first connected socket wins, a failure starts
    the next attempt at once (RFC 8305 section 5)."""
    results: gevent.queue.Queue = gevent.queue.Queue()
    attempts: List[gevent.Greenlet] = []
    errors: List[BaseException] = []

    def run(info: Tuple[Any, ...]) -> None:
        try:
            results.put(_attempt(info, timeout, source))
        except Exception as exc:
            results.put(exc)

    pending = 0
    winner: Optional[gevent.socket.socket] = None
    try:
        for info in infos:
            attempts.append(gevent.spawn(run, info))
            pending += 1
            try:
                got = results.get(timeout=ATTEMPT_DELAY)
            except gevent.queue.Empty:
                continue
            pending -= 1
            if isinstance(got, BaseException):
                errors.append(got)
                continue
            winner = got
            break
        while winner is None and pending:
            got = results.get()
            pending -= 1
            if isinstance(got, BaseException):
                errors.append(got)
            else:
                winner = got
    finally:
        for g in attempts:
            g.kill(block=False)
        while not results.empty():  # a late success: close it
            late = results.get_nowait()
            if not isinstance(late, BaseException) and late is not winner:
                late.close()
    if winner is not None:
        return winner
    raise errors[0]


def connect(
    host: str,
    port: int,
    *,
    connection_timeout: Optional[float],
    network_timeout: Optional[float],
    disable_ipv6: bool = False,
    ssl_context: Optional[_stdssl.SSLContext] = None,
    server_hostname: Optional[str] = None,
    tunnel: Optional[Callable[[gevent.socket.socket], None]] = None,
    source_address: Optional[Tuple[str, int]] = None,
    resolve: Optional[Mapping[str, str]] = None,
    dns_cache: Any = None,
    phases: Optional[ConnectPhases] = None,
    tls_session: Any = None,
    uds: Optional[str] = None,
) -> Any:
    """A connected (and, with ``ssl_context``, TLS-wrapped) gevent socket.

    ``tunnel`` runs on the plain socket before TLS: an HTTP proxy's CONNECT, a SOCKS
    handshake. It may return a socket to use instead: TLS to an https:// proxy,
    over which the origin's TLS then runs as a second session (TLS in TLS).
    ``uds``: connect to this Unix domain socket path instead (``host`` and ``port``
    only name the origin, for TLS and messages).
    ``source_address``: the local ``(host, port)`` to bind to first.
    ``resolve``: addresses to use instead of looking names up (see
    :func:`check_resolve`); ``dns_cache``: an object whose ``getaddrinfo`` looks
    names up (a :class:`~geventhttpclient.DNSCache`), None for gevent's resolver.
    ``phases``: filled in with how long each step took, its ``trace`` hook told.
    ``tls_session``: a TLS session of an earlier connection to resume.
    Raises :class:`DNSError`, :class:`ConnectError`, :class:`ConnectTimeout`,
    :class:`TLSError`.
    """
    what = f"{host}:{port}" if uds is None else f"unix:{uds}"
    trace = phases.trace if phases is not None else None
    try:
        if uds is not None:
            infos: List[Tuple[Any, ...]] = [
                (_stdsocket.AF_UNIX, _stdsocket.SOCK_STREAM, 0, "", uds)
            ]
        elif phases is None:
            infos, _ = _resolve(host, port, disable_ipv6, resolve, dns_cache)
        else:
            began = clock()
            if trace is not None and not (
                _numeric(host, port, disable_ipv6) or override(resolve, host.lower(), port)
            ):
                trace("dns.resolve.started", {"host": host, "port": port})
            infos, looked_up = _resolve(host, port, disable_ipv6, resolve, dns_cache)
            if looked_up:
                phases.dns = clock() - began
                if trace is not None:
                    trace("dns.resolve.complete", {"addresses": [i[4][0] for i in infos]})
        if not infos:
            raise DNSError(errno.ENOENT, f"{what}: no address")
        if phases is not None:
            if trace is not None:
                trace("connect_tcp.started", {"host": host, "port": port})
            began = clock()
        sock = (
            _attempt(infos[0], connection_timeout, source_address)
            if len(infos) == 1
            else _race(infos, connection_timeout, source_address)
        )
    except Exception as exc:
        raise translate(exc, what, connecting=True) from exc
    try:
        if phases is not None:
            phases.connect = clock() - began
            if trace is not None:
                trace(
                    "connect_tcp.complete",
                    {"local_address": sock.getsockname(), "remote_address": sock.getpeername()},
                )
        if uds is None:
            sock.setsockopt(_stdsocket.IPPROTO_TCP, _stdsocket.TCP_NODELAY, 1)
        if tunnel is not None:
            replaced = tunnel(sock)
            if replaced is not None:
                sock = replaced
            if phases is not None:
                # The proxy's handshake (CONNECT, SOCKS, TLS to the proxy) is part
                # of connecting: without it the request's start, and so its total,
                # would leave that time out.
                phases.connect = clock() - began
        if ssl_context is not None:
            # The handshake is part of connecting: it runs under connection_timeout.
            # Always gevent's SSLSocket: a stdlib context (gevent's create_default_context
            # returns one in an unpatched process, and so may a user's factory) would
            # wrap into a stdlib socket whose handshake and reads block the whole hub.
            name = server_hostname or host
            if phases is not None:
                if trace is not None:
                    trace("start_tls.started", {"server_hostname": name})
                began = clock()
            if isinstance(sock, gevent.ssl.SSLSocket):  # TLS to the proxy: TLS in TLS
                from ._tls_in_tls import TLSInTLS

                sock = TLSInTLS(sock, ssl_context, name, tls_session)
            else:
                sock = gevent.ssl.SSLSocket(
                    sock=sock, server_hostname=name, _context=ssl_context, _session=tls_session
                )
            if phases is not None:
                phases.tls = clock() - began
                phases.tls_resumed = bool(sock.session_reused)
                if trace is not None:
                    cipher = sock.cipher()
                    trace(
                        "start_tls.complete",
                        {
                            "version": sock.version(),
                            "cipher": cipher[0] if cipher else None,
                            "resumed": phases.tls_resumed,
                        },
                    )
        if network_timeout != connection_timeout:
            sock.settimeout(network_timeout)
    except BaseException as exc:
        sock.close()
        if isinstance(exc, _stdssl.SSLError):
            _clear_openssl_errors()
        if isinstance(exc, Exception):
            raise translate(exc, what, connecting=True) from exc
        raise
    return sock


def start_tls(sock: Any, ssl_context: _stdssl.SSLContext, server_hostname: str) -> Any:
    """``sock`` wrapped in TLS with a finished handshake (to an https:// proxy).

    The returned socket owns the descriptor (gevent closes it when the handshake
    fails). Errors are the ``ssl`` module's, translated by :func:`connect` like
    the origin's. Always gevent's SSLSocket, whatever the context's class: see
    :func:`connect`.
    """
    return gevent.ssl.SSLSocket(sock=sock, server_hostname=server_hostname, _context=ssl_context)


def lookup(
    host: str,
    port: int,
    ipv4_only: bool,
    *,
    disable_ipv6: bool = False,
    resolve: Optional[Mapping[str, str]] = None,
    dns_cache: Any = None,
) -> str:
    """One address of ``host`` (the first :func:`connect` would try), for a proxy
    that wants an address rather than a name (``socks5://``, ``socks4://``).
    Raises :class:`DNSError`."""
    try:
        infos, _ = _resolve(host, port, disable_ipv6 or ipv4_only, resolve, dns_cache)
    except _stdsocket.gaierror as exc:
        raise translate(exc, f"{host}:{port}") from exc
    if ipv4_only:
        infos = [i for i in infos if i[0] == _stdsocket.AF_INET]
    if not infos:
        raise DNSError(errno.ENOENT, f"{host}:{port}: no {'IPv4 ' if ipv4_only else ''}address")
    return str(infos[0][4][0])


def _clear_openssl_errors() -> None:
    """PyPy's ssl (7.3.11) leaves a failed handshake's error in OpenSSL's per-thread
    queue, and the next TLS read on another, healthy connection reports it. CPython
    clears the queue itself."""
    try:
        from _pypy_openssl import lib  # type: ignore[import-not-found]
    except ImportError:
        return
    lib.ERR_clear_error()
