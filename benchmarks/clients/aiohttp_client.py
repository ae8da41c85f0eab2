"""Worker: aiohttp ClientSession on plain asyncio, or uvloop with --variant uvloop."""

from __future__ import annotations

import asyncio
import gc
import ssl
import time

import _common as C
import aiohttp


async def run(args, peer):
    conc = max(1, args.concurrency)
    # https: verified against the benchmark CA; plain http: aiohttp's default (True)
    tls = ssl.create_default_context(cafile=args.cafile) if C.is_https(args.url) else True
    conn = aiohttp.TCPConnector(
        limit=conc, limit_per_host=conc, force_close=args.no_keepalive, ssl=tls
    )
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=conn, timeout=timeout, auto_decompress=False) as s:
        url = args.url
        if args.mode == "rps":
            state = {"left": 0, "done": 0, "errors": 0, "first": None}
            lat = []
            pc = time.perf_counter

            async def worker(record, deadline):
                while state["left"] > 0:
                    state["left"] -= 1
                    if deadline is not None and deadline.passed():
                        state["left"] = 0
                        return
                    t0 = pc()
                    try:
                        async with s.get(url) as r:
                            await r.read()
                            if r.status != 200:
                                raise RuntimeError(r.status)
                    except Exception as e:  # noqa: BLE001
                        state["errors"] += 1
                        state["first"] = state["first"] or repr(e)[:300]
                        continue
                    if record:
                        lat.append(pc() - t0)
                    state["done"] += 1

            async def phase(n, record, seconds=0.0):
                state["left"] = n
                state["done"] = 0
                d = C.Deadline(seconds) if seconds else None
                await asyncio.gather(*(worker(record, d) for _ in range(conc)))

            await phase(args.warmup, False)
            state["errors"] = 0
            gc.collect()
            t0 = pc()
            await phase(args.n, True, args.max_seconds)
            el = pc() - t0
            C.rps_result(args, peer, state["done"], state["errors"], el, lat, state["first"])
        elif args.mode == "read":

            async def once():
                n = 0
                async with s.get(url) as r:
                    while True:
                        b = await r.content.read(C.BLOCK)
                        if not b:
                            break
                        n += len(b)
                return n

            await once()
            gc.collect()
            t0 = time.perf_counter()
            total = 0
            for _ in range(args.reps):
                total += await once()
            C.mb_result(args, peer, total, time.perf_counter() - t0)
        else:
            C.emit(args, peer, skipped=args.mode)


if __name__ == "__main__":
    args = C.parse_args()
    peer = "aiohttp"
    if args.variant == "uvloop":
        import uvloop

        peer = "aiohttp-uvloop"
        uvloop.install()
    asyncio.run(run(args, peer))
