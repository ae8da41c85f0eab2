"""Worker: the raw-gevent floor over TLS.

clients/floor.py's loop (a fixed request, ``recv_into`` a reusable buffer,
Content-Length framing only) on gevent's own ``SSLSocket``, verified against
``--cafile``: what any gevent-based client must at least spend per HTTPS request.
``--no-keepalive``: a new TCP connection and a full TLS handshake per request (no
session resumption: a plain ``SSLContext`` does not resume unless given a session).
``--variant bytes`` (/big): each 64 KiB block also made a bytes object, as floor.py's.
"""

from __future__ import annotations

import ssl as _stdssl

import _common as C
import gevent.socket as gsocket
import gevent.ssl
from floor import exchange, request_bytes
from gevent.queue import LifoQueue


def make_context(cafile):
    ctx = gevent.ssl.SSLContext(_stdssl.PROTOCOL_TLS_CLIENT)  # verifies cert and host name
    ctx.load_verify_locations(cafile=cafile)
    return ctx


def connect(ctx, host, port):
    # An IP literal (the benchmark's 127.0.0.1) is connected to without
    # create_connection's getaddrinfo, which gevent's default resolver hands to its
    # thread pool: a thread hop per new connection that no client must pay.
    family = gsocket.AF_INET6 if ":" in host else gsocket.AF_INET
    try:
        gsocket.inet_pton(family, host)
    except OSError:
        s = gsocket.create_connection((host, port))
    else:
        s = gsocket.socket(family, gsocket.SOCK_STREAM)
        s.connect((host, port))
    s.setsockopt(gsocket.IPPROTO_TCP, gsocket.TCP_NODELAY, 1)
    sock = ctx.wrap_socket(s, server_hostname=host)
    if not isinstance(sock, gevent.ssl.SSLSocket):  # never a stdlib socket that blocks the hub
        raise TypeError(f"not gevent's SSLSocket: {type(sock)}")
    return sock


def main():
    args = C.parse_args()
    if not C.is_https(args.url):
        raise SystemExit("floor_tls needs an https URL")
    host, port, path = C.split_url(args.url)
    req = request_bytes(host, port, path)
    ctx = make_context(args.cafile)
    keepalive = not args.no_keepalive

    if args.mode == "rps":
        pool = LifoQueue()
        bufs = LifoQueue()

        def one():
            sock = pool.get() if pool.qsize() else None
            if sock is None:
                sock = connect(ctx, host, port)
            buf = bufs.get() if bufs.qsize() else None
            if buf is None:
                b = bytearray(16384)
                buf = (b, memoryview(b))
            try:
                n = exchange(sock, req, buf[0], buf[1])
            except Exception:
                sock.close()
                bufs.put(buf)
                raise
            bufs.put(buf)
            if keepalive:
                pool.put(sock)
            else:
                sock.close()
            return n

        C.gevent_rps(args, "floor-tls", one)
        return

    if args.mode in ("read", "readinto"):
        sock = connect(ctx, host, port)
        b = bytearray(C.BLOCK)
        v = memoryview(b)
        as_bytes = args.variant == "bytes"  # a bytes object of each 64 KiB, as read() makes

        def once():
            return exchange(sock, req, b, v, as_bytes)

        C.timed_stream(args, "floor-tls-bytes" if as_bytes else "floor-tls", once)
        return
    C.emit(args, "floor-tls", skipped=f"mode {args.mode}")


if __name__ == "__main__":
    main()
