#!/usr/bin/env python3
"""Benchmark suite: our geventhttpclient vs upstream 2.x, other Python clients, a C
reference (pycurl) and a raw-gevent floor, against a private nginx.

    python benchmarks/run.py [--quick] [--interp cpython|pypy|both] [--rounds N]

Each peer runs in its own process from its own virtualenv (benchmarks/.venvs/, made
on first use); peers are alternated A B A B within every round and medians of the
rounds are reported. Results: benchmarks/results/latest-<interp>.md (+ .json).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import _adapters  # noqa: E402
import _agent  # noqa: E402
import _envs  # noqa: E402
import _loadtools  # noqa: E402
import _locust  # noqa: E402
import _tls  # noqa: E402
from _nginx import BIG_SIZE, Nginx  # noqa: E402
from _stats import fmt, med  # noqa: E402

# Sections kept in their own modules: each has run(suite) (results under
# suite.res[<its key>], failures appended to suite.res["errors"]) and render(suite),
# which returns its markdown lines (tables, then its ratios against its targets).
SECTION_MODULES = {
    "agent": _agent,
    "locust": _locust,
    "tls": _tls,
    "loadtools": _loadtools,
    "adapters": _adapters,
}

CLIENTS = os.path.join(HERE, "clients")
RESULTS = os.path.join(HERE, "results")

# name, venv, script, extra args, interps, supported modes
PEERS = [
    ("floor", "ours", "floor.py", [], ("cpython", "pypy"), {"rps", "read", "readinto", "idle"}),
    # the floor's /big loop, but making each 64 KiB block a bytes object as read() must
    ("floor-bytes", "ours", "floor.py", ["--variant", "bytes"], ("cpython", "pypy"), {"read"}),
    (
        "ours",
        "ours",
        "ours.py",
        [],
        ("cpython", "pypy"),
        {"rps", "read", "readinto", "rss1g", "idle"},
    ),
    (
        "upstream",
        "upstream",
        "upstream.py",
        [],
        ("cpython", "pypy"),
        {"rps", "read", "readinto", "idle"},
    ),
    ("upstream-ua", "upstream", "upstream_ua.py", [], ("cpython", "pypy"), {"rps"}),
    ("urllib3", "sync", "urllib3_client.py", [], ("cpython", "pypy"), {"rps", "read", "readinto"}),
    ("requests", "sync", "requests_client.py", [], ("cpython", "pypy"), {"rps", "read"}),
    ("httpx", "sync", "httpx_client.py", [], ("cpython", "pypy"), {"rps", "read"}),
    ("aiohttp", "aio", "aiohttp_client.py", [], ("cpython",), {"rps", "read"}),
    (
        "aiohttp-uvloop",
        "aio",
        "aiohttp_client.py",
        ["--variant", "uvloop"],
        ("cpython",),
        {"rps", "read"},
    ),
    ("pycurl", "curl", "pycurl_client.py", [], ("cpython",), {"rps", "read"}),
]
CORE = ("floor", "ours", "upstream")
IDLE_POOLS = (1000, 100)  # pool sizes differenced by the idle-memory measurement
UPSTREAM_VERSION = {"cpython": "2.6.1", "pypy": "2.4.0"}

TARGETS = {
    "cpython": {"vs_upstream": 1.6, "vs_floor": 0.75},
    "pypy": {"vs_upstream": 2.5, "vs_floor": 0.8},
}


def log(msg: str) -> None:
    print(msg, flush=True)


# -- running workers -------------------------------------------------------------

_BARRIER: list = []


def barrier_server():
    """The idle-memory measurement's server (started once, on first use)."""
    if not _BARRIER:
        from _barrier import BarrierServer

        _BARRIER.append(BarrierServer().start())
    return _BARRIER[0]


def run_worker(interp, peer, url, mode, conc, n, extra=(), timeout=600, wrap=None):
    name, venv, script, pargs = peer[0], peer[1], peer[2], peer[3]
    py = _envs.venv_python(interp, venv)
    cmd = [
        py,
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
    if wrap:
        cmd = wrap + cmd
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=CLIENTS)
    except subprocess.TimeoutExpired:
        return {"peer": name, "error": f"timeout after {timeout}s"}
    for line in reversed(p.stdout.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                break
    return {
        "peer": name,
        "error": f"rc={p.returncode}: " + (p.stderr.strip()[-600:] or p.stdout[-300:]),
    }


# -- sections --------------------------------------------------------------------


class Suite:
    def __init__(self, args, interp, nginx):
        self.a = args
        self.interp = interp
        self.ng = nginx
        self.res = {"rps": {}, "big": {}, "callgrind": {}, "mem": {}, "extra": {}, "errors": []}
        self.peers = []
        self.missing = []  # peers whose virtualenv could not be made
        self.run_worker = run_worker  # for the section modules (run.py is __main__)

    # peers available on this interpreter, optionally filtered
    def setup(self):
        wanted = set(self.a.peers.split(",")) if self.a.peers else None
        ok_venvs = {}
        for p in PEERS:
            if self.interp not in p[4] or (wanted and p[0] not in wanted):
                continue
            v = p[1]
            if v not in ok_venvs:
                log(f"[setup] {self.interp}-{v} ...")
                ok_venvs[v] = _envs.ensure(self.interp, v, reinstall_ours=not self.a.no_reinstall)
            if ok_venvs[v]:
                self.peers.append(p)
            else:
                log(f"[setup] skipping {p[0]} (venv {v} unavailable)")
                self.missing.append((p[0], v))
        log("[setup] peers: " + ", ".join(p[0] for p in self.peers))

    def peer(self, name):
        for p in self.peers:
            if p[0] == name:
                return p
        return None

    def rounds_of(self, peers, fn):
        """Run fn(peer, round) for every round, alternating peers (order rotated per round)."""
        out = {p[0]: [] for p in peers}
        for r in range(self.a.rounds):
            order = peers[r % len(peers) :] + peers[: r % len(peers)] if peers else []
            for p in order:
                res = fn(p, r)
                if res.get("error"):
                    self.res["errors"].append(res)  # listed under the tables, not in them
                    log(f"    {p[0]:15s} ERROR {res['error'][:300]}")
                    continue
                if res.get("skipped"):
                    log(f"    {p[0]:15s} skipped: {res['skipped']}")
                    continue
                out[p[0]].append(res)
        return out

    def small(self, concs, peer_names=None):
        q = self.a.quick
        for c in concs:
            peers = [
                p
                for p in self.peers
                if "rps" in p[5] and (peer_names is None or p[0] in peer_names)
            ]
            peers = [p for p in peers if (c, p[0]) not in self.res["rps"]]
            if not peers:
                continue
            if q:
                n = 300 if c < 1000 else 1000
            else:
                # Long enough to average over this machine's noise: with ~1 s runs the
                # same client pair measured 0.4x-1.3x of each other round to round.
                n = 20000 if c == 1 else 150000
            n = self.a.n or n
            extra = ["--max-seconds", str(self.a.max_seconds)]
            if q:
                extra += [
                    "--warmup",
                    str(max(2 * c, 50) if self.interp == "cpython" else max(4 * c, 300)),
                    "--warmup-seconds",
                    "0" if self.interp == "cpython" else "0.5",
                ]
            log(f"[small] /small c={c} n={n} peers={[p[0] for p in peers]}")

            def fn(p, r):
                res = run_worker(self.interp, p, self.ng.url("/small"), "rps", c, n, extra)
                if not res.get("error") and not res.get("skipped"):
                    log(
                        f"    r{r} {p[0]:15s} {res['rps']:9.0f} req/s  p50 {res['p50_ms']:.3f} ms"
                        f"  p99 {res['p99_ms']:.3f} ms  err {res['errors']}  n {res['requests']}"
                    )
                return res

            out = self.rounds_of(peers, fn)
            for name, lst in out.items():
                self.res["rps"][(c, name)] = lst
            self.save()

    def big(self):
        q = self.a.quick
        reps = 1 if q else self.a.big_reps
        for mode in ("read", "readinto"):
            peers = [p for p in self.peers if mode in p[5]]
            if self.a.big_core_only:
                peers = [p for p in peers if p[0] in CORE or p[0] == "floor-bytes"]
            log(f"[big] /big {mode} x{reps} peers={[p[0] for p in peers]}")

            def fn(p, r):
                res = run_worker(
                    self.interp, p, self.ng.url("/big"), mode, 1, 1, ["--reps", str(reps)]
                )
                if not res.get("error") and not res.get("skipped"):
                    bad = " BYTES MISMATCH" if res.get("bytes") != BIG_SIZE * reps else ""
                    log(f"    r{r} {p[0]:15s} {res['mbps']:9.0f} MB/s{bad}")
                    if bad:
                        res["errors"] = 1
                return res

            out = self.rounds_of(peers, fn)
            for name, lst in out.items():
                self.res["big"][(mode, name)] = lst
            self.save()

    def callgrind(self):
        if self.interp != "cpython":
            return
        if not shutil.which("valgrind"):
            log("[callgrind] valgrind not found: skipped")
            return
        n1, n2 = (200, 400) if self.a.quick else (2000, 4000)
        tmp = tempfile.mkdtemp(prefix="ghc-bench-cg-")
        log(f"[callgrind] /small c=10, runs of {n1} and {n2} requests")
        for name in CORE:
            p = self.peer(name)
            if p is None:
                continue
            tot = {}
            for n in (n1, n2):
                out = os.path.join(tmp, f"cg.{name}.{n}")
                wrap = [
                    "valgrind",
                    "--tool=callgrind",
                    f"--callgrind-out-file={out}",
                    "--dump-instr=no",
                    "--compress-strings=no",
                ]
                res = run_worker(
                    self.interp,
                    p,
                    self.ng.url("/small"),
                    "rps",
                    10,
                    n,
                    ["--warmup", "100", "--warmup-cap", "0"],
                    timeout=1800,
                    wrap=wrap,
                )
                if res.get("error") or res.get("errors"):
                    log(f"    {name} n={n}: {res.get('error') or res.get('first_error')}")
                    self.res["errors"].append(res)
                    break
                tot[n] = read_callgrind_total(out)
            if len(tot) == 2 and None not in tot.values():
                per = (tot[n2] - tot[n1]) / (n2 - n1)
                self.res["callgrind"][name] = {
                    "instr_per_req": per,
                    "total_n1": tot[n1],
                    "total_n2": tot[n2],
                }
                log(f"    {name:10s} {per:12.0f} instructions/request")
        shutil.rmtree(tmp, ignore_errors=True)
        self.save()

    def memory(self):
        p = self.peer("ours")
        if p is not None:
            self.streaming_rss(p)
        # Idle connections: 1000 concurrent requests on pools of 1000 and of 100
        # (the same greenlets and requests; 1000 or 100 of them in flight at once):
        # the difference / 900 is what an idle pooled connection costs, plus what
        # the extra requests in flight leave behind. "gross": the growth / 1000.
        big_pool, small_pool = IDLE_POOLS
        for name in ("floor", "ours", "upstream"):
            p = self.peer(name)
            if p is None:
                continue
            log(f"[mem] {name}: {big_pool} requests on pools of {big_pool} and {small_pool}, idle")
            vals = []
            for r in range(self.a.rounds):
                got = {}
                for size in (big_pool, small_pool):
                    res = run_worker(self.interp, p, barrier_server().url(), "idle", size, big_pool)
                    if res.get("error") or res.get("sockets") != size:
                        res.setdefault("error", f"{res.get('sockets')} sockets open, not {size}")
                        self.res["errors"].append(res)
                        log("    ERROR " + res["error"][:300])
                        break
                    got[size] = res
                if len(got) < 2:
                    break
                per = (got[big_pool]["growth_kib"] - got[small_pool]["growth_kib"]) * 1024
                v = {
                    "per_conn_bytes": per / (big_pool - small_pool),
                    "gross_per_conn_bytes": got[big_pool]["growth_kib"] * 1024 / big_pool,
                    "runs": got,
                }
                vals.append(v)
                log(
                    f"    r{r} {v['per_conn_bytes'] / 1024:.2f} KiB per idle connection"
                    f" (gross {v['gross_per_conn_bytes'] / 1024:.2f} KiB)"
                )
            if vals:
                self.res["mem"][f"idle-{name}"] = vals
        self.save()

    def streaming_rss(self, p):
        reps = 2 if self.a.quick else 10
        log(f"[mem] ours: stream /big x{reps} with read(65536), peak RSS growth")
        res = run_worker(self.interp, p, self.ng.url("/big"), "rss1g", 1, 1, ["--reps", str(reps)])
        if res.get("error"):
            self.res["errors"].append(res)
            log("    ERROR " + res["error"][:300])
        else:
            self.res["mem"]["rss1g"] = res
            log(
                f"    growth {res['rss_growth_kib'] / 1024:.1f} MiB over {res['bytes'] / 2**20:.0f} MiB"
                f" ({res['mbps']:.0f} MB/s)"
            )

    def extra(self):
        if self.a.quick:
            return
        peers = [p for p in self.peers if p[0] in ("floor", "ours", "upstream")]
        for path in ("/json", "/gzip"):
            ps = [p for p in peers if not (path == "/gzip" and p[0] == "floor")]
            log(f"[extra] {path} c=10 peers={[p[0] for p in ps]}")

            def fn(p, r):
                res = run_worker(
                    self.interp,
                    p,
                    self.ng.url(path),
                    "rps",
                    10,
                    20000,
                    ["--max-seconds", str(self.a.max_seconds)],
                )
                if not res.get("error"):
                    log(f"    r{r} {p[0]:15s} {res['rps']:9.0f} req/s err {res['errors']}")
                return res

            out = self.rounds_of(ps, fn)
            for name, lst in out.items():
                self.res["extra"][(path, name)] = lst
        self.save()

    # -- output ----------------------------------------------------------------------

    def save(self):
        out = self.a.out
        os.makedirs(out, exist_ok=True)
        md = render(self)
        with open(os.path.join(out, f"latest-{self.interp}.md"), "w") as f:
            f.write(md)
        raw = {
            k: {"|".join(map(str, kk)) if isinstance(kk, tuple) else kk: vv for kk, vv in v.items()}
            if isinstance(v, dict)
            else v
            for k, v in self.res.items()
        }
        with open(os.path.join(out, f"latest-{self.interp}.json"), "w") as f:
            json.dump(
                {"command": self.a.command, "interp": self.interp, "results": raw},
                f,
                indent=1,
                default=str,
            )


def read_callgrind_total(path):
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(("summary:", "totals:")):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def ratio(a, b):
    return (a / b) if (a and b) else None


def paired_ratio(s, key_a, key_b, table="rps", field="rps"):
    """Median over rounds of A/B measured in the same round (falls back to ratio of medians)."""
    la, lb = s.res[table].get(key_a, []), s.res[table].get(key_b, [])
    pairs = [x[field] / y[field] for x, y in zip(la, lb) if x.get(field) and y.get(field)]
    if pairs and len(la) == len(lb):
        return statistics.median(pairs)
    return ratio(med([x.get(field) for x in la]), med([x.get(field) for x in lb]))


def mark(ok):
    return "–" if ok is None else ("MET" if ok else "missed")


def render(s):
    interp, res = s.interp, s.res
    L = []
    L.append(f"# geventhttpclient benchmarks — {interp}\n")
    L.append(f"- date: {time.strftime('%Y-%m-%d %H:%M:%S %Z')}")
    L.append(f"- command: `{s.a.command}`")
    L.append(
        f"- machine: {cpu_model()}, {os.cpu_count()} cores (shared/noisy: compare ratios within a run)"
    )
    pyv = {}
    for lst in list(res["rps"].values()) + list(res["big"].values()):
        for r in lst:
            if r.get("python"):
                pyv[r["peer"]] = r["python"] + (" " + r["versions"] if r.get("versions") else "")
    L.append(
        f"- interpreter: {_envs.exe_for(interp)}; peers: "
        + "; ".join(f"{k}: {v}" for k, v in sorted(pyv.items()))
    )
    L.append(
        f"- upstream = geventhttpclient {UPSTREAM_VERSION[interp]}; rounds = {s.a.rounds}; "
        f"server = nginx 1 worker on 127.0.0.1; medians over rounds, peers alternated within a round"
    )
    L.append("")
    concs = sorted({c for c, _ in res["rps"]})
    names = [p[0] for p in PEERS if any((c, p[0]) in res["rps"] for c in concs)]
    if concs:
        L.append("## /small (614 B), keep-alive: requests/s (median)\n")
        L.append("| peer | " + " | ".join(f"c={c}" for c in concs) + " | errors |")
        L.append("|---|" + "---:|" * len(concs) + "---:|")
        for n in names:
            cells, errs = [], 0
            for c in concs:
                lst = res["rps"].get((c, n), [])
                cells.append(fmt(med([x["rps"] for x in lst])))
                errs += sum(x.get("errors", 0) for x in lst)
            L.append(f"| {n} | " + " | ".join(cells) + f" | {errs} |")
        L.append("")
        L.append("## /small latency p50 / p99 in ms (median over rounds)\n")
        L.append("| peer | " + " | ".join(f"c={c}" for c in concs) + " |")
        L.append("|---|" + "---:|" * len(concs))
        for n in names:
            cells = []
            for c in concs:
                lst = res["rps"].get((c, n), [])
                p50, p99 = med([x.get("p50_ms") for x in lst]), med([x.get("p99_ms") for x in lst])
                cells.append(f"{fmt(p50, 3)} / {fmt(p99, 3)}" if p50 is not None else "–")
            L.append(f"| {n} | " + " | ".join(cells) + " |")
        L.append("")
    if res["big"]:
        L.append("## /big (100 MiB): MB/s (median)\n")
        L.append("| peer | read(65536) | readinto(64 KiB buffer) |")
        L.append("|---|---:|---:|")
        for p in PEERS:
            a, b = res["big"].get(("read", p[0])), res["big"].get(("readinto", p[0]))
            if a or b:
                L.append(
                    f"| {p[0]} | {fmt(med([x['mbps'] for x in a or []]))} | {fmt(med([x['mbps'] for x in b or []]))} |"
                )
        L.append(
            "\n(floor: recv_into a reusable 64 KiB buffer in both columns; floor-bytes: the same, "
            "plus a bytes object made of each 64 KiB block, the least a read() returning bytes "
            "does; requests: iter_content; "
            "httpx: iter_raw; aiohttp: content.read; pycurl: write callback)\n"
        )
    if res["extra"]:
        L.append("## other pages, c=10: requests/s (median)\n")
        L.append("| peer | /json | /gzip (chunked, gzip, not decoded) |")
        L.append("|---|---:|---:|")
        for n in ("floor", "ours", "upstream"):
            a, b = res["extra"].get(("/json", n)), res["extra"].get(("/gzip", n))
            if a or b:
                L.append(
                    f"| {n} | {fmt(med([x['rps'] for x in a or []]))} | {fmt(med([x['rps'] for x in b or []]))} |"
                )
        L.append("")
    if res["callgrind"]:
        L.append(
            "## client CPU instructions per request (callgrind, /small c=10, difference of two run lengths)\n"
        )
        L.append("| peer | instructions/request | vs upstream |")
        L.append("|---|---:|---:|")
        up = res["callgrind"].get("upstream", {}).get("instr_per_req")
        for n in CORE:
            v = res["callgrind"].get(n, {}).get("instr_per_req")
            if v is not None:
                L.append(f"| {n} | {fmt(v)} | {fmt(ratio(v, up), 2)} |")
        L.append("")
    if res["mem"]:
        L.append("## memory\n")
        m = res["mem"].get("rss1g")
        if m:
            L.append(
                f"- ours, streaming {m['bytes'] / 2**20:.0f} MiB with read(65536): peak RSS growth "
                f"**{m['rss_growth_kib'] / 1024:.1f} MiB** (base {m['rss_base_kib'] / 1024:.1f} MiB, "
                f"peak {m['rss_peak_kib'] / 1024:.1f} MiB, {m['mbps']:.0f} MB/s)"
            )
        for n in ("floor", "ours", "upstream"):
            v = res["mem"].get(f"idle-{n}")
            if v:
                L.append(
                    f"- {n}, idle pooled connections: **{med([x['per_conn_bytes'] for x in v]) / 1024:.2f} KiB** "
                    f"RSS each (median of {len(v)}: growth after 1000 concurrent requests on a pool "
                    f"of 1000, minus on a pool of 100, / 900; gross growth / 1000: "
                    f"{med([x['gross_per_conn_bytes'] for x in v]) / 1024:.2f} KiB)"
                )
        L.append("")

    # ratios and targets
    T = TARGETS[interp]
    L.append("## ratios and targets (targets are reported, not asserted)\n")
    L.append("| metric | value | target | status |")
    L.append("|---|---:|---:|---|")

    def row(label, v, target, higher=True, nd=2):
        ok = None if v is None else (v >= target if higher else v <= target)
        t = (">= " if higher else "<= ") + str(target)
        L.append(f"| {label} | {fmt(v, nd)} | {t} | {mark(ok)} |")

    for c in (10, 100):
        row(
            f"/small c={c} ours/upstream",
            paired_ratio(s, (c, "ours"), (c, "upstream")),
            T["vs_upstream"],
        )
        row(f"/small c={c} ours/floor", paired_ratio(s, (c, "ours"), (c, "floor")), T["vs_floor"])
    for c in (1, 1000):
        if (c, "ours") in res["rps"]:
            L.append(
                f"| /small c={c} ours/upstream | {fmt(paired_ratio(s, (c, 'ours'), (c, 'upstream')), 2)} | "
                f"{'>= 1.5' if c == 1000 else 'info'} | "
                f"{mark(None if c != 1000 or paired_ratio(s, (c, 'ours'), (c, 'upstream')) is None else paired_ratio(s, (c, 'ours'), (c, 'upstream')) >= 1.5)} |"
            )
            L.append(
                f"| /small c={c} ours/floor | {fmt(paired_ratio(s, (c, 'ours'), (c, 'floor')), 2)} | info | |"
            )
    if (1000, "ours") in res["rps"]:
        errs = sum(x.get("errors", 0) for x in res["rps"][(1000, "ours")])
        L.append(f"| /small c=1000 ours errors | {errs} | 0 | {mark(errs == 0)} |")
    cg = res["callgrind"]
    if cg.get("ours") and cg.get("upstream"):
        row(
            "instructions/request ours/upstream",
            cg["ours"]["instr_per_req"] / cg["upstream"]["instr_per_req"],
            0.5,
            higher=False,
        )
    if cg.get("ours") and cg.get("floor"):
        L.append(
            f"| instructions/request ours/floor | {fmt(cg['ours']['instr_per_req'] / cg['floor']['instr_per_req'], 2)} | info | |"
        )
    if res["big"]:
        row(
            "/big read(65536) ours/floor MB/s",
            paired_ratio(s, ("read", "ours"), ("read", "floor"), "big", "mbps"),
            0.9,
        )
        row(
            "/big readinto ours/floor MB/s",
            paired_ratio(s, ("readinto", "ours"), ("readinto", "floor"), "big", "mbps"),
            0.95,
        )
        v = paired_ratio(s, ("read", "ours"), ("read", "floor-bytes"), "big", "mbps")
        L.append(f"| /big read(65536) ours/floor-bytes MB/s | {fmt(v, 2)} | info | |")
        v = paired_ratio(s, ("read", "floor-bytes"), ("read", "floor"), "big", "mbps")
        L.append(
            f"| /big floor-bytes/floor MB/s (cost of a bytes per block) | {fmt(v, 2)} | info | |"
        )
        v = paired_ratio(s, ("read", "ours"), ("read", "upstream"), "big", "mbps")
        L.append(f"| /big read(65536) ours/upstream MB/s | {fmt(v, 2)} | info | |")
    m = res["mem"].get("rss1g")
    if m:
        row("1 GiB streaming RSS growth (MiB)", m["rss_growth_kib"] / 1024, 32, higher=False, nd=1)
    v = res["mem"].get("idle-ours")
    if v:
        row(
            "idle pooled connection (KiB each)",
            med([x["per_conn_bytes"] for x in v]) / 1024,
            16,
            higher=False,
        )
    L.append("")
    for mod in SECTION_MODULES.values():
        L += mod.render(s)
    if res["errors"]:
        L.append("## failures\n")
        for e in res["errors"][:20]:
            L.append(f"- {e.get('peer')}: {str(e.get('error') or e.get('first_error'))[:300]}")
        L.append("")
    return "\n".join(L) + "\n"


def main():
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--quick", action="store_true", help="1 round, few hundred requests (CI smoke, < 2 min)"
    )
    ap.add_argument("--interp", choices=("cpython", "pypy", "both"), default="cpython")
    ap.add_argument(
        "--rounds", type=int, default=None, help="rounds per measurement (default 5; quick 1)"
    )
    ap.add_argument("--peers", default="", help="comma-separated subset of peers")
    ap.add_argument(
        "--sections",
        default="small,big,callgrind,more,mem,extra",
        help="subset of: small (c=10,100), big, callgrind, more (c=1,1000), mem, extra, "
        "agent (UserAgent/Session/get vs HTTPClient), locust (FastHttpUser), tls (HTTPS), "
        "loadtools (geventhttpclient bench vs hey and wrk), adapters (httpx and requests on "
        "our transport/adapter vs monkey-patched)",
    )
    ap.add_argument("--n", type=int, default=0, help="override requests per rps run")
    ap.add_argument(
        "--max-seconds", type=float, default=None, help="cap a timed rps phase (default 4; quick 0)"
    )
    ap.add_argument(
        "--no-reinstall", action="store_true", help="don't rebuild 'ours' from the work tree"
    )
    ap.add_argument(
        "--big-core-only",
        action="store_true",
        help="/big only for floor, floor-bytes, ours, upstream",
    )
    ap.add_argument(
        "--big-reps", type=int, default=3, help="100 MiB bodies per /big measurement (default 3)"
    )
    ap.add_argument(
        "--out",
        default=None,
        help="directory for latest-<interp>.md/.json (default results/; --quick: results/smoke/)",
    )
    a = ap.parse_args()
    if a.out is None:
        # A smoke run must not overwrite the tables the README quotes.
        a.out = os.path.join(RESULTS, "smoke") if a.quick else RESULTS
    a.command = "python benchmarks/run.py " + " ".join(sys.argv[1:])
    if a.rounds is None:
        a.rounds = 1 if a.quick else 5
    if a.max_seconds is None:
        a.max_seconds = 0 if a.quick else 4.0
    if a.quick and not a.peers:
        a.big_core_only = True
    sections = set(a.sections.split(","))
    interps = ["cpython", "pypy"] if a.interp == "both" else [a.interp]
    t0 = time.time()
    problems = []
    with Nginx() as ng:
        log(f"[nginx] {ng.exe} on 127.0.0.1:{ng.port} (config in {ng.tmp})")
        for interp in interps:
            log(f"===== {interp} =====")
            s = Suite(a, interp, ng)
            s.setup()
            if a.quick and not a.peers:
                # smoke: every peer once at c=10, the rest only for the core peers
                s.small([10])
                s.small([100, 1000], CORE)
            else:
                if "small" in sections:
                    s.small([10, 100], CORE)
                    s.small([10, 100])
            if "big" in sections:
                s.big()
            if "callgrind" in sections:
                s.callgrind()
            if "more" in sections and not a.quick:
                s.small([1, 1000])
            if "mem" in sections:
                s.memory()
            if "extra" in sections:
                s.extra()
            for name, mod in SECTION_MODULES.items():
                if name in sections:
                    mod.run(s)
                    s.save()
            s.save()
            print()
            print(render(s))
            out = os.path.relpath(a.out, HERE)
            log(f"[done] {interp}: {out}/latest-{interp}.md  ({time.time() - t0:.0f}s so far)")
            problems += [f"{interp} {e.get('peer')}: worker failed" for e in s.res["errors"]]
            problems += [
                f"{interp} ours c={c}: {sum(x.get('errors', 0) for x in lst)} failed requests"
                for (c, name), lst in s.res["rps"].items()
                if name == "ours" and any(x.get("errors") for x in lst)
            ]
            problems += [
                f"{interp} {name} /big {mode}: wrong byte count"
                for (mode, name), lst in s.res["big"].items()
                if any(x.get("errors") for x in lst)
            ]
            problems += [
                f"{interp} {name}: no virtualenv ({v})"
                for name, v in s.missing
                if v not in _envs.OPTIONAL
            ]
    if problems:
        # No speed thresholds here, but a peer that cannot run or a request that fails
        # means the suite has rotted: say so with the exit status (CI runs --quick).
        log("[fail] " + "; ".join(problems))
        sys.exit(1)


if __name__ == "__main__":
    main()
