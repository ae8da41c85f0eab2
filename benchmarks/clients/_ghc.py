"""geventhttpclient HTTPClient worker, shared by ours.py and upstream.py (same API)."""

from __future__ import annotations

import gc
import time

import _common as C
import gevent.monkey  # noqa: F401  (no patching needed: the client uses gevent sockets)

from geventhttpclient import HTTPClient


def make_client(args, host, port, conc=None):
    # https: verified against the benchmark CA (ssl_options as in 2.x, which upstream
    # 2.6.1 and 2.4.0 take too)
    tls = {"ssl": True, "ssl_options": {"ca_certs": args.cafile}} if C.is_https(args.url) else {}
    return HTTPClient(
        host,
        port=port,
        concurrency=conc or args.concurrency,
        connection_timeout=30,
        network_timeout=30,
        **tls,
    )


def main(peer):
    args = C.parse_args()
    host, port, path = C.split_url(args.url)

    if args.mode == "rps":
        client = make_client(args, host, port)
        headers = {"Accept-Encoding": "gzip"} if "gzip" in path else None

        def one():
            r = client.get(path, headers=headers) if headers else client.get(path)
            body = r.read()
            if r.status_code != 200:
                raise RuntimeError(f"status {r.status_code}")
            return len(body)

        C.gevent_rps(args, peer, one)
        return

    if args.mode in ("read", "readinto", "rss1g"):
        client = make_client(args, host, port, 1)
        if args.mode == "readinto":
            probe = client.get(path)
            if not hasattr(probe, "readinto"):
                probe.read()
                C.emit(args, peer, skipped="no readinto")
                return
            probe.read()
        buf = bytearray(C.BLOCK)

        def once_read():
            r = client.get(path)
            n = 0
            read = r.read
            while True:
                b = read(C.BLOCK)
                if not b:
                    break
                n += len(b)
            r.release()
            return n

        def once_readinto():
            r = client.get(path)
            n = 0
            ri = r.readinto
            while True:
                k = ri(buf)
                if not k:
                    break
                n += k
            r.release()
            return n

        once = once_readinto if args.mode == "readinto" else once_read
        if args.mode == "rss1g":
            once()  # warm: pool, buffers
            gc.collect()
            base = C.rss_kib()
            t0 = time.perf_counter()
            total = 0
            for _ in range(args.reps):
                total += once()
            el = time.perf_counter() - t0
            peak = C.hwm_kib()
            C.mb_result(
                args,
                peer,
                total,
                el,
                None,
                rss_base_kib=base,
                rss_peak_kib=peak,
                rss_growth_kib=max(0, peak - base),
                rss_end_kib=C.rss_kib(),
            )
            return
        C.timed_stream(args, peer, once)
        return

    if args.mode == "idle":

        def burst(client, n, url_path):
            def one():
                r = client.get(url_path)
                r.read()

            gevent.joinall([gevent.spawn(one) for _ in range(n)], raise_error=True)

        C.idle_memory(args, peer, lambda size: make_client(args, host, port, size), burst)
        return

    raise SystemExit(f"unknown mode {args.mode}")
