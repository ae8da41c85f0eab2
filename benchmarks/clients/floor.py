"""Worker: the raw-gevent floor.

A fixed request is sent on one of N pooled gevent sockets and the response is
recv_into'd a reusable buffer; framing is Content-Length only (no header parsing
beyond finding the blank line and the Content-Length value). This is what any
gevent-based client must at least spend per request.
"""

from __future__ import annotations

import mmap

import _common as C
import gevent
import gevent.socket as gsocket
from gevent.queue import LifoQueue

CL = b"\r\ncontent-length:"


def connect(host, port):
    s = gsocket.create_connection((host, port))
    s.setsockopt(gsocket.IPPROTO_TCP, gsocket.TCP_NODELAY, 1)
    return s


def request_bytes(host, port, path):
    return (f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: floor\r\n\r\n").encode(
        "ascii"
    )


def exchange(sock, req, buf, view, as_bytes=False):
    """Send req, read one Content-Length response into buf; returns body length.

    ``as_bytes``: each body block of up to 64 KiB is also copied into a new bytes
    object, as any API that returns bytes (``read(65536)``) must do. The last block
    is kept until the next one is made, as a caller's read loop does: on PyPy that
    decides which blocks the nursery collection promotes.
    """
    sock.sendall(req)
    got = 0
    body_len = -1
    head_end = -1
    total = -1
    recv_into = sock.recv_into
    while True:
        if head_end < 0:
            n = recv_into(view[got:])
            if not n:
                raise ConnectionError("closed")
            got += n
            head_end = buf.find(b"\r\n\r\n", 0, got)
            if head_end < 0:
                continue
            head = bytes(buf[:head_end]).lower()
            i = head.find(CL)
            if i < 0:
                raise ValueError("no content-length")
            j = head.find(b"\r\n", i + 2)
            body_len = int(head[i + len(CL) : j if j > 0 else len(head)])
            total = head_end + 4 + body_len
            if got >= total:
                return body_len
            # large body: keep receiving into the reusable buffer from its start
            remaining = total - got
            if as_bytes:
                block = b""
                size = len(buf)
                while remaining > 0:
                    want = min(remaining, size)
                    filled = 0
                    while filled < want:
                        n = recv_into(view[filled:want])
                        if not n:
                            raise ConnectionError("closed mid-body")
                        filled += n
                    block = view[:filled].tobytes()
                    remaining -= filled
                del block
                return body_len
            while remaining > 0:
                n = recv_into(view, min(remaining, len(buf)))
                if not n:
                    raise ConnectionError("closed mid-body")
                remaining -= n
            return body_len


def main():
    args = C.parse_args()
    host, port, path = C.split_url(args.url)
    req = request_bytes(host, port, path)

    if args.mode == "rps":
        pool = LifoQueue()
        made = [0]
        bufs = LifoQueue()

        def one():
            sock = pool.get() if pool.qsize() else None
            if sock is None:
                sock = connect(host, port)
                made[0] += 1
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
            pool.put(sock)
            return n

        C.gevent_rps(args, "floor", one)
        return

    if args.mode in ("read", "readinto"):
        sock = connect(host, port)
        b = bytearray(C.BLOCK)
        v = memoryview(b)

        as_bytes = args.variant == "bytes"

        def once():
            return exchange(sock, req, b, v, as_bytes)

        C.timed_stream(args, "floor-bytes" if as_bytes else "floor", once)
        return
    if args.mode == "idle":
        from gevent.lock import BoundedSemaphore

        class Pool:
            """N sockets at most, the idle ones reused: a pool with nothing else."""

            def __init__(self, size):
                self.slots = BoundedSemaphore(size)
                self.idle = []

            def close(self):
                for sock in self.idle:
                    sock.close()

        # Receive buffers of requests in flight, reused; after a burst all but a
        # few are unmapped (as our pool does), so the idle figure is the sockets'.
        spare = []

        def burst(pool, n, url_path):
            req = request_bytes(host, port, url_path)

            def one():
                with pool.slots:
                    sock = pool.idle.pop() if pool.idle else connect(host, port)
                    if spare:
                        b, v = spare.pop()
                    else:
                        b = mmap.mmap(-1, 4096)
                        v = memoryview(b)
                    exchange(sock, req, b, v)
                    spare.append((b, v))
                    pool.idle.append(sock)

            gevent.joinall([gevent.spawn(one) for _ in range(n)], raise_error=True)
            for b, v in spare[16:]:
                v.release()
                b.close()
            del spare[16:]

        C.idle_memory(args, "floor", Pool, burst)
        return
    C.emit(args, "floor", skipped=f"mode {args.mode}")


if __name__ == "__main__":
    main()
