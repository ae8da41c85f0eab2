"""Worker: pycurl CurlMulti with C easy handles (libcurl keeps the connections alive).

The C reference: the whole HTTP exchange runs in libcurl; Python only drives the
multi loop and swaps URLs/handles.
"""

from __future__ import annotations

import gc
import time

import _common as C
import pycurl


def make_handle(url, sink):
    h = pycurl.Curl()
    h.setopt(pycurl.URL, url)
    h.setopt(pycurl.WRITEFUNCTION, sink)
    h.setopt(pycurl.TCP_NODELAY, 1)
    h.setopt(pycurl.FORBID_REUSE, 0)
    h.setopt(pycurl.NOSIGNAL, 1)
    h.setopt(pycurl.TIMEOUT, 60)
    return h


def run_multi(args, url, n, conc, record, deadline=None):
    m = pycurl.CurlMulti()
    m.setopt(pycurl.M_MAX_HOST_CONNECTIONS, conc)
    lens = {}
    handles = []
    for i in range(conc):

        def sink(data, i=i):
            lens[i] += len(data)

        h = make_handle(url, sink)
        h.idx = i
        lens[i] = 0
        handles.append(h)
    left = n
    done = errors = 0
    lat = []
    start = {}
    first = None
    pc = time.perf_counter
    for h in handles:
        if left <= 0:
            break
        left -= 1
        start[h.idx] = pc()
        m.add_handle(h)
    active = n - left
    while active:
        ret = m.select(1.0)
        while True:
            ret, _ = m.perform()
            if ret != pycurl.E_CALL_MULTI_PERFORM:
                break
        while True:
            queued, ok, bad = m.info_read()
            for h in ok + [b[0] for b in bad]:
                m.remove_handle(h)
                active -= 1
                if h in ok and h.getinfo(pycurl.RESPONSE_CODE) == 200:
                    done += 1
                    if record:
                        lat.append(pc() - start[h.idx])
                else:
                    errors += 1
                    first = first or repr(bad[:1])[:200]
                lens[h.idx] = 0
                if left > 0 and not (deadline and deadline.passed()):
                    left -= 1
                    start[h.idx] = pc()
                    m.add_handle(h)
                    active += 1
            if not queued:
                break
    return done, errors, lat, first, m, handles


if __name__ == "__main__":
    args = C.parse_args()
    conc = max(1, args.concurrency)
    if args.mode == "rps":
        # one multi handle keeps the connection cache: warm up on it, then time
        m_done = run_multi(args, args.url, args.warmup, conc, False)
        gc.collect()
        t0 = time.perf_counter()
        done, errors, lat, first, _, _ = run_multi(
            args, args.url, args.n, conc, True, C.Deadline(args.max_seconds)
        )
        # note: a new CurlMulti shares no connection cache with the warm-up one; the
        # few connects are amortised over n requests
        el = time.perf_counter() - t0
        C.rps_result(args, "pycurl", done, errors, el, lat, first)
    elif args.mode == "read":
        total = [0]

        def sink(d):
            total[0] += len(d)

        h = make_handle(args.url, sink)
        h.setopt(pycurl.BUFFERSIZE, C.BLOCK)
        h.perform()
        gc.collect()
        total[0] = 0
        t0 = time.perf_counter()
        for _ in range(args.reps):
            h.perform()
        C.mb_result(args, "pycurl", total[0], time.perf_counter() - t0)
    else:
        C.emit(args, "pycurl", skipped=args.mode)
