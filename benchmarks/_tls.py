"""The benchmark suite's `tls` section (run by run.py --sections tls): HTTPS.

The private nginx's HTTPS server (TLS 1.2 and 1.3 allowed; every client here
negotiates 1.3; an ECDSA P-256 certificate made at start, verified against its CA)
serves the same pages as the plain one. Measured, peers alternated within rounds:

- /small, keep-alive, c=10 and c=100: requests/s.
- /big: MB/s through read(65536) and readinto(64 KiB buffer).
- new connections per second, c=10: /small-close, where nginx turns keep-alive off,
  so every request is a new TCP connection and a full TLS 1.3 handshake. None of
  the measured clients resumes a session by default (Python's ssl resumes only when
  handed a session, and neither geventhttpclient does), so no resumption.

``floor-tls`` (clients/floor_tls.py) is clients/floor.py's loop on gevent's
``SSLSocket``: the least a gevent-based client spends per HTTPS request.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess

import _envs
from _nginx import BIG_SIZE
from _stats import fmt, med

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENTS = os.path.join(HERE, "clients")

# name, the run.py peer whose virtualenv (and --peers name) it shares, virtualenv,
# script, extra args, interpreters, modes
TLS_PEERS = [
    ("floor-tls", "floor", "ours", "floor_tls.py", [], ("cpython", "pypy"), {"rps", "big", "hs"}),
    # floor-tls's /big loop making a bytes object of each 64 KiB block, as read() must
    ("floor-tls-bytes", "floor", "ours", "floor_tls.py", ["--variant", "bytes"], ("cpython", "pypy"), {"bigread"}),
    ("ours", "ours", "ours", "ours.py", [], ("cpython", "pypy"), {"rps", "big", "hs"}),
    ("upstream", "upstream", "upstream", "upstream.py", [], ("cpython", "pypy"), {"rps", "big", "hs"}),
    ("aiohttp", "aiohttp", "aio", "aiohttp_client.py", [], ("cpython",), {"rps"}),
    ("requests", "requests", "sync", "requests_client.py", [], ("cpython", "pypy"), {"rps"}),
    ("httpx", "httpx", "sync", "httpx_client.py", [], ("cpython", "pypy"), {"rps"}),
]  # fmt: skip
HANDSHAKE_CONC = 10

TARGETS = [  # (label, key of ours, key of the floor): ours/floor-tls >= 1.0
    ("/small c=10", ("small", 10), "rps"),
    ("/small c=100", ("small", 100), "rps"),
    ("/big read(65536)", ("big", "read"), "mbps"),
    ("/big readinto", ("big", "readinto"), "mbps"),
]


def log(msg: str) -> None:
    print(msg, flush=True)


def run_worker(interp, peer, url, mode, conc, n, extra=(), timeout=600):
    """One worker process (as run.py's run_worker); its JSON result or an error."""
    name, venv, script, pargs = peer[0], peer[2], peer[3], peer[4]
    cmd = [
        _envs.venv_python(interp, venv),
        os.path.join(CLIENTS, script),
        "--url",
        url,
        "--mode",
        mode,
        "--concurrency",
        str(conc),
        "--n",
        str(n),
        *pargs,
        *extra,
    ]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=CLIENTS)
    except subprocess.TimeoutExpired:
        return {"peer": name, "error": f"timeout after {timeout}s"}
    for line in reversed(p.stdout.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                res = json.loads(line)
            except ValueError:
                break
            res["peer"] = name  # (ours.py reports "ours" for itself either way)
            return res
    return {
        "peer": name,
        "error": f"rc={p.returncode}: " + (p.stderr.strip()[-600:] or p.stdout[-300:]),
    }


_MADE: dict = {}  # (interp, virtualenv) -> made here (peers run.py did not set up)


def _peers(suite, need):
    """The TLS peers measured on this interpreter that do ``need``: their run.py
    peer is set up, or (named in --peers as themselves) their virtualenv is made here."""
    wanted = set(suite.a.peers.split(",")) if suite.a.peers else None
    have = {p[1] for p in suite.peers}  # virtualenvs run.py set up
    out = []
    for p in TLS_PEERS:
        name, base, venv = p[0], p[1], p[2]
        if suite.interp not in p[5] or need not in p[6]:
            continue
        if wanted is not None and name not in wanted and base not in wanted:
            continue
        if venv not in have:
            if wanted is None or name not in wanted:
                continue
            key = (suite.interp, venv)
            if key not in _MADE:
                _MADE[key] = _envs.ensure(
                    suite.interp, venv, reinstall_ours=not suite.a.no_reinstall
                )
            if not _MADE[key]:
                continue
        out.append(p)
    return out


def run(suite) -> None:
    """Measure; results go to suite.res["tls"], failures to suite.res["errors"]."""
    res = suite.res.setdefault("tls", {})
    a, ng, interp = suite.a, suite.ng, suite.interp
    q = a.quick
    pypy = interp != "cpython"
    tls = ["--cafile", ng.cafile]

    def keep(kind, key, out):
        for name, lst in out.items():
            res[(kind, key, name)] = lst
            bad = sum(x.get("errors", 0) for x in lst)
            if name == "ours" and bad:  # our failed requests fail the suite (CI)
                suite.res["errors"].append(
                    {"peer": "ours", "error": f"tls {kind} {key}: {bad} failed requests"}
                )
        suite.save()

    # /small, keep-alive
    for c in (10, 100):
        peers = _peers(suite, "rps")
        n = a.n or (300 if q else 150000)
        extra = tls + ["--max-seconds", str(a.max_seconds)]
        if q:
            warm = max(2 * c, 50) if not pypy else max(4 * c, 300)
            extra += ["--warmup", str(warm), "--warmup-seconds", "0.5" if pypy else "0"]
        log(f"[tls] https /small c={c} n={n} peers={[p[0] for p in peers]}")

        def small(p, r, c=c, n=n, extra=extra):
            out = run_worker(interp, p, ng.https_url("/small"), "rps", c, n, extra)
            if not out.get("error") and not out.get("skipped"):
                log(
                    f"    r{r} {p[0]:12s} {out['rps']:9.0f} req/s  p50 {fmt(out['p50_ms'], 3)} ms"
                    f"  err {out['errors']}  n {out['requests']}"
                    + (f"  first error: {out['first_error']}" if out.get("first_error") else "")
                )
            return out

        keep("small", c, suite.rounds_of(peers, small))

    # /big
    reps = 1 if q else a.big_reps
    for mode in ("read", "readinto"):
        peers = _peers(suite, "big")
        if mode == "read":
            peers[1:1] = _peers(suite, "bigread")  # next to floor-tls
        log(f"[tls] https /big {mode} x{reps} peers={[p[0] for p in peers]}")

        def big(p, r, mode=mode):
            out = run_worker(
                interp, p, ng.https_url("/big"), mode, 1, 1, tls + ["--reps", str(reps)]
            )
            if not out.get("error") and not out.get("skipped"):
                wrong = out.get("bytes") != BIG_SIZE * reps
                if wrong:
                    out["errors"] = 1
                log(
                    f"    r{r} {p[0]:12s} {out['mbps']:9.0f} MB/s{' BYTES MISMATCH' if wrong else ''}"
                )
            return out

        keep("big", mode, suite.rounds_of(peers, big))

    # handshakes: a new connection per request
    peers = _peers(suite, "hs")
    c = HANDSHAKE_CONC
    n = a.n or (100 if q else 30000)
    extra = tls + ["--no-keepalive", "--max-seconds", str(a.max_seconds)]
    extra += ["--warmup", str(50 if q else (1000 if pypy else 200))]
    extra += ["--warmup-seconds", "1" if pypy and not q else "0"]
    log(f"[tls] https new connections (keep-alive off) c={c} n={n} peers={[p[0] for p in peers]}")

    def handshake(p, r):
        out = run_worker(interp, p, ng.https_url("/small-close"), "rps", c, n, extra)
        if not out.get("error") and not out.get("skipped"):
            log(
                f"    r{r} {p[0]:12s} {out['rps']:9.0f} connections/s  err {out['errors']}"
                + (f"  first error: {out['first_error']}" if out.get("first_error") else "")
            )
        return out

    keep("handshake", c, suite.rounds_of(peers, handshake))


# -- output ----------------------------------------------------------------------


def _paired(res, key_a, key_b, field):
    """Median over rounds of A/B measured in the same round (else ratio of medians)."""
    la, lb = res.get(key_a, []), res.get(key_b, [])
    pairs = [x[field] / y[field] for x, y in zip(la, lb) if x.get(field) and y.get(field)]
    if pairs and len(la) == len(lb):
        return statistics.median(pairs)
    ma, mb = med([x.get(field) for x in la]), med([x.get(field) for x in lb])
    return ma / mb if ma and mb else None


def render(suite) -> list:
    """Markdown lines: this section's tables and its ratios against its targets."""
    res = suite.res.get("tls")
    if not res:
        return []
    names = [p[0] for p in TLS_PEERS if any(k[2] == p[0] for k in res)]
    L = ["## HTTPS (TLS 1.3, nginx, ECDSA P-256 certificate verified)\n"]
    L.append("/small (614 B), keep-alive: requests/s (median)\n")
    L.append("| peer | c=10 | c=100 | errors |")
    L.append("|---|---:|---:|---:|")
    for n in names:
        lists = [res.get(("small", c, n)) for c in (10, 100)]
        if not any(lists):
            continue
        cells = [fmt(med([x["rps"] for x in lst or []])) for lst in lists]
        errs = sum(x.get("errors", 0) for lst in lists for x in lst or [])
        L.append(f"| {n} | " + " | ".join(cells) + f" | {errs} |")
    L.append("")
    rows = [n for n in names if res.get(("big", "read", n)) or res.get(("big", "readinto", n))]
    if rows:
        L.append("/big (100 MiB) over HTTPS: MB/s (median)\n")
        L.append("| peer | read(65536) | readinto(64 KiB buffer) |")
        L.append("|---|---:|---:|")
        for n in rows:
            a, b = res.get(("big", "read", n)) or [], res.get(("big", "readinto", n)) or []
            L.append(
                f"| {n} | {fmt(med([x['mbps'] for x in a]))} | {fmt(med([x['mbps'] for x in b]))} |"
            )
        L.append(
            "\n(floor-tls: recv_into a reusable 64 KiB buffer in both columns; floor-tls-bytes: "
            "the same plus a bytes object of each 64 KiB block, the least a read() returning "
            "bytes does)\n"
        )
    rows = [n for n in names if res.get(("handshake", HANDSHAKE_CONC, n))]
    if rows:
        L.append(
            f"New connections per second over HTTPS, keep-alive off, c={HANDSHAKE_CONC} "
            "(TCP connect + full TLS 1.3 handshake + one /small; no session resumption: "
            "none of these clients resumes by default)\n"
        )
        L.append("| peer | connections/s | errors |")
        L.append("|---|---:|---:|")
        for n in rows:
            lst = res[("handshake", HANDSHAKE_CONC, n)]
            errs = sum(x.get("errors", 0) for x in lst)
            L.append(f"| {n} | {fmt(med([x['rps'] for x in lst]))} | {errs} |")
        L.append("")

    L.append("## HTTPS ratios and targets (reported, not asserted)\n")
    L.append("| metric | value | target | status |")
    L.append("|---|---:|---:|---|")
    for label, (kind, key), field in TARGETS:
        v = _paired(res, (kind, key, "ours"), (kind, key, "floor-tls"), field)
        status = "–" if v is None else ("MET" if v >= 1.0 else "missed")
        L.append(f"| {label} ours/floor-tls | {fmt(v, 2)} | >= 1.0 | {status} |")
    v = _paired(res, ("big", "read", "ours"), ("big", "read", "floor-tls-bytes"), "mbps")
    L.append(f"| /big read(65536) ours/floor-tls-bytes | {fmt(v, 2)} | info | |")
    for label, (kind, key), field in TARGETS:
        v = _paired(res, (kind, key, "ours"), (kind, key, "upstream"), field)
        L.append(f"| {label} ours/upstream | {fmt(v, 2)} | info | |")
    hs = ("handshake", HANDSHAKE_CONC)
    for other in ("floor-tls", "upstream"):
        v = _paired(res, (*hs, "ours"), (*hs, other), "rps")
        L.append(f"| new connections/s ours/{other} | {fmt(v, 2)} | info | |")
    L.append("")
    return L
