"""The benchmark suite's `loadtools` section (run by run.py --sections loadtools).

Issue 16 asks `geventhttpclient bench` not to be the bottleneck: on this machine,
against the same nginx (one worker, keep-alive, the 614-byte /small), in one
sitting, `bench -p 1` within 10 % of the library's own best loop, and `bench -p 2`
ahead of hey and within 0.8x of wrk, at c=10 and c=100. Peers, alternated within
rounds (A B C, B C A, ...), each run for the same duration:

- ``hey -z Ds -c C URL`` (Debian's `hey`; Go, all cores);
- ``wrk -t1 -cC -dDs URL`` and ``wrk -t2 ...`` (Debian's `wrk`; C, 1 or 2 threads;
  the ratio quotes the faster of the two, which is named);
- ``python -m geventhttpclient bench URL -c C -z Ds -p 1 --json F`` and ``-p 2``,
  run by the interpreter under test from the suite's ``ours`` virtualenv;
- ``best-loop``: clients/ours.py, the library's own best loop (HTTPClient.get + read
  from C greenlets), warmed up (PyPy: JIT) and then timed for D seconds.

hey, wrk and bench are timed whole, start to exit as they report it (bench's
PyPy figures include the JIT's warm-up; the best loop's do not). For each run the
client's CPU (the tool and its worker processes, from RUSAGE_CHILDREN) per request
and nginx's worker CPU are kept: with one nginx worker on a 2-core machine, nginx
can be the limit, and then requests/s converge while CPU per request still tells
the clients apart.

Until bench grows ``-z``, ``-p`` and ``--json`` (read from its --help), it runs
``-n`` requests (the duration times the best loop's last rate) and its text is
parsed; ``-p 2`` is skipped.

Standalone, ``python benchmarks/_loadtools.py rss [--seconds 600] [-c 100]
[--interp cpython|pypy]`` runs ``geventhttpclient bench URL -z 600s -c 100`` against
the suite's nginx and samples the RSS of bench and its worker processes every 10 s
(/proc/PID/status VmRSS): first, last, max, and the trend after warm-up.

Duration: 10 s a run on CPython, 20 s on PyPy (2 s with --quick);
GHC_BENCH_LOADTOOLS_SECONDS overrides.
--peers filters this section's peers only if it names one of them (`--peers ours`
limits the suite's own setup to the one virtualenv this section uses).
"""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import _envs
from _stats import fmt, med

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENTS = os.path.join(HERE, "clients")

CONCS = (10, 100)
PEERS = ("hey", "wrk-t1", "wrk-t2", "bench-p1", "bench-p2", "best-loop")
# PyPy: every bench process (and each -p worker) warms its own JIT; 10 s runs
# measured mostly that (bench -p 2 at c=100: 1,800 req/s over 8 s, 5,500 over 30 s).
DURATION_FULL = {"cpython": 10.0, "pypy": 20.0}
DURATION_QUICK = 2.0
# (label, numerator, denominator, target, strictly greater): "wrk" is the faster of
# wrk -t1 and -t2 (by median), named in the table.
TARGETS = [
    ("bench -p 1 / best loop", "bench-p1", "best-loop", 0.9, False),
    ("bench -p 2 / hey", "bench-p2", "hey", 1.0, True),
    ("bench -p 2 / wrk", "bench-p2", "wrk", 0.8, False),
]


def log(msg: str) -> None:
    print(msg, flush=True)


def _duration(quick: bool, interp: str) -> float:
    env = os.environ.get("GHC_BENCH_LOADTOOLS_SECONDS")
    if env:
        return float(env)
    return DURATION_QUICK if quick else DURATION_FULL[interp]


# -- CPU accounting ------------------------------------------------------------------


def _children(pid: int) -> list:
    """Direct children of ``pid`` (all its threads' children)."""
    out = []
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out += [int(x) for x in f.read().split()]
        except OSError:
            pass
    return out


def _cpu_ticks(pid: int):
    """utime + stime of ``pid`` in seconds, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            parts = f.read().rsplit(")", 1)[1].split()
        return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def _nginx_cpu(suite) -> float:
    """CPU seconds used so far by the suite's nginx workers."""
    return sum(_cpu_ticks(p) or 0.0 for p in _children(suite.ng.proc.pid))


def _timed(cmd, timeout: float, suite, **kw):
    """Run ``cmd``; (CompletedProcess or None on timeout, client CPU s, nginx CPU s, wall s)."""
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    ng0 = _nginx_cpu(suite)
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    except subprocess.TimeoutExpired:
        p = None
    wall = time.perf_counter() - t0
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    return p, cpu, _nginx_cpu(suite) - ng0, wall


# -- output parsers ------------------------------------------------------------------


def parse_hey(text: str) -> dict:
    """hey's summary: Requests/sec, the status code and error distributions."""
    m = re.search(r"Requests/sec:\s*([\d.]+)", text)
    if not m:
        raise ValueError("no Requests/sec in hey's output")
    ok = sum(int(n) for n in re.findall(r"^\s*\[\d{3}\]\s+(\d+) responses", text, re.M))
    err_part = text.split("Error distribution:", 1)
    errors = 0
    if len(err_part) == 2:
        errors = sum(int(n) for n in re.findall(r"^\s*\[(\d+)\]\s", err_part[1], re.M))
    total = re.search(r"Total:\s*([\d.]+) secs", text)
    bad = sum(
        int(n)
        for s, n in re.findall(r"^\s*\[(\d{3})\]\s+(\d+) responses", text, re.M)
        if s != "200"
    )
    return {
        "rps": float(m.group(1)),
        "requests": ok + errors,
        "errors": errors + bad,
        "elapsed": float(total.group(1)) if total else None,
    }


def parse_wrk(text: str) -> dict:
    """wrk's summary: Requests/sec, "N requests in Ts", socket errors and non-2xx."""
    m = re.search(r"Requests/sec:\s*([\d.]+)", text)
    n = re.search(r"(\d+) requests in ([\d.]+)(m?s)", text)
    if not m or not n:
        raise ValueError("no Requests/sec in wrk's output")
    errors = 0
    s = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if s:
        errors += sum(int(x) for x in s.groups())
    x = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if x:
        errors += int(x.group(1))
    secs = float(n.group(2)) / (1000.0 if n.group(3) == "ms" else 1.0)
    return {
        "rps": float(m.group(1)),
        "requests": int(n.group(1)),
        "errors": errors,
        "elapsed": secs,
    }


def parse_bench_text(text: str) -> dict:
    """The text summary of bench before --json: requests/s, completed, errors."""
    m = re.search(r"requests/s:\s*([\d,.]+)", text)
    if not m:
        raise ValueError("no requests/s in bench's output")
    done = re.search(r"completed:\s*(\d+)", text)
    err = re.search(r"errors:\s*(\d+)", text)
    el = re.search(r"time:\s*([\d.]+) s", text)
    return {
        "rps": float(m.group(1).replace(",", "")),
        "requests": int(done.group(1)) if done else None,
        "errors": int(err.group(1)) if err else 0,
        "elapsed": float(el.group(1)) if el else None,
    }


def parse_bench_json(d: dict) -> dict:
    """bench --json (docs/bench-schema.json): rps, requests, errors, duration."""
    errors = d.get("errors", 0)
    if isinstance(errors, dict):
        errors = sum(errors.values())
    return {
        "rps": float(d["rps"]),
        "requests": d.get("requests"),
        "errors": int(errors or 0),
        "elapsed": d.get("duration"),
    }


# -- the peers -----------------------------------------------------------------------


class Tools:
    """How each peer is run on this interpreter (bench's flags read from its --help)."""

    def __init__(self, suite) -> None:
        self.suite = suite
        self.py = _envs.venv_python(suite.interp, "ours")
        self.hey = shutil.which("hey")
        self.wrk = shutil.which("wrk")
        h = subprocess.run(
            [self.py, "-m", "geventhttpclient", "bench", "--help"],
            capture_output=True,
            text=True,
            cwd=CLIENTS,
        ).stdout
        self.bench_ok = "usage:" in h
        self.has_z = bool(re.search(r"(^|\s)-z\b", h))
        self.has_p = bool(re.search(r"(^|\s)-p\b", h))
        self.has_json = "--json" in h
        self.last_ours = {}  # c -> the best loop's last rate (for bench -n before -z)

    def versions(self) -> dict:
        def out(cmd):
            try:
                # Not from the work tree: its geventhttpclient/ has no built parser
                # and would shadow the installed package.
                p = subprocess.run(cmd, capture_output=True, text=True, timeout=30, cwd=CLIENTS)
                return (p.stdout + p.stderr).strip()
            except (OSError, subprocess.TimeoutExpired):
                return ""

        def deb(pkg):
            return out(["dpkg-query", "-W", "-f", "${Version}", pkg]) or "?"

        code = (
            "import platform, sys, geventhttpclient, gevent; "
            "v = getattr(sys, 'pypy_version_info', None); "
            "print(platform.python_implementation(), platform.python_version(), "
            "('PyPy %d.%d.%d' % v[:3]) if v else '', "
            "'geventhttpclient', geventhttpclient.__version__, 'gevent', gevent.__version__)"
        )
        return {
            "python": " ".join(out([self.py, "-c", code]).split()),
            "hey": f"hey {deb('hey')} (Debian)" if self.hey else "not installed",
            "wrk": (out([self.wrk, "--version"]).splitlines() or ["?"])[0].split(" [")[0]
            if self.wrk
            else "not installed",
            "bench flags": ",".join(
                f
                for f, ok in (("-z", self.has_z), ("-p", self.has_p), ("--json", self.has_json))
                if ok
            )
            or "-n only",
        }

    def command(self, name: str, url: str, c: int, dur: float, json_path: str):
        """The command line of one peer, or (None, why) when it cannot run here."""
        d = f"{dur:g}s"
        if name == "hey":
            if not self.hey:
                return None, "hey not installed (apt-get install hey)"
            return [self.hey, "-z", d, "-c", str(c), url], None
        if name.startswith("wrk-"):
            if not self.wrk:
                return None, "wrk not installed (apt-get install wrk)"
            return [self.wrk, f"-t{name[-1]}", f"-c{c}", f"-d{d}", url], None
        if name.startswith("bench-"):
            if not self.bench_ok:
                return None, "geventhttpclient bench not available"
            procs = name[-1]
            if procs != "1" and not self.has_p:
                return None, "bench has no -p yet"
            cmd = [self.py, "-m", "geventhttpclient", "bench", url, "-c", str(c)]
            if self.has_z:
                cmd += ["-z", d]
            else:
                rate = self.last_ours.get(c) or 5000.0
                cmd += ["-n", str(max(c, int(rate * dur)))]
            if self.has_p:
                cmd += ["-p", procs]
            if self.has_json:
                cmd += ["--json", json_path]
            return cmd, None
        if name == "best-loop":
            script = os.path.join(CLIENTS, "ours.py")
            cmd = [self.py, script, "--url", url, "--mode", "rps", "--concurrency", str(c)]
            return cmd + ["--n", str(10**9), "--max-seconds", f"{dur:g}"], None
        raise ValueError(name)


def _shown(cmd, url: str, json_path: str) -> str:
    """A command line as a reader would type it."""
    out = []
    for a in cmd:
        if a == url:
            a = "URL"
        elif a == json_path:
            a = "out.json"
        elif a.endswith("/bin/python") or a.endswith("/bin/pypy3"):
            a = "python"
        elif a.endswith("/hey") or a.endswith("/wrk"):
            a = os.path.basename(a)
        elif a.startswith(CLIENTS):
            a = "benchmarks/clients/" + os.path.basename(a)
        out.append(a)
    return " ".join(out)


def run_one(suite, tools: Tools, name: str, c: int, dur: float) -> dict:
    url = suite.ng.url("/small")
    tmp = tempfile.mkdtemp(prefix="ghc-bench-loadtools-")
    json_path = os.path.join(tmp, "out.json")
    head = {"peer": name, "concurrency": c}
    try:
        cmd, why = tools.command(name, url, c, dur, json_path)
        if cmd is None:
            return {**head, "skipped": why}
        head["cmd"] = _shown(cmd, url, json_path)
        timeout = dur + (120 if suite.interp == "pypy" else 60)
        p, cpu, ng_cpu, wall = _timed(cmd, timeout, suite, cwd=tmp)
        if p is None:
            return {**head, "error": f"timeout after {timeout:g}s"}
        text = p.stdout
        try:
            if name == "hey":
                fig = parse_hey(text)
            elif name.startswith("wrk"):
                fig = parse_wrk(text)
            elif name == "best-loop":
                line = [x for x in text.splitlines() if x.startswith("{")][-1]
                d = json.loads(line)
                fig = {k: d[k] for k in ("rps", "requests", "errors", "elapsed")}
                fig["python"] = d.get("python")
                tools.last_ours[c] = d["rps"]
            elif tools.has_json:
                with open(json_path) as f:
                    fig = parse_bench_json(json.load(f))
            else:
                fig = parse_bench_text(text)
        except (ValueError, IndexError, KeyError, OSError) as e:
            tail = (p.stderr.strip() or p.stdout.strip())[-500:]
            return {**head, "error": f"rc={p.returncode}, {e}: {tail}"}
        res = {**head, **fig, "rc": p.returncode, "wall": wall, "load1": os.getloadavg()[0]}
        if name != "best-loop" and fig.get("requests"):
            # the whole process: setup, warm-up (PyPy's JIT) and the timed part
            res["cpu_us_per_req"] = 1e6 * cpu / fig["requests"]
            res["nginx_cpu_pct"] = 100.0 * ng_cpu / wall
        if fig.get("errors") and name.startswith(("bench", "best")):
            suite.res["errors"].append(
                {"peer": f"loadtools {name} c={c}", "error": f"{fig['errors']} failed requests"}
            )
        return res
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _wanted(suite) -> tuple:
    named = set(suite.a.peers.split(",")) & set(PEERS) if suite.a.peers else set()
    return tuple(p for p in PEERS if not named or p in named)


def run(suite) -> None:
    """Every peer at c=10 and c=100, alternated within rounds; results in suite.res["loadtools"]."""
    res = suite.res.setdefault("loadtools", {})
    reinstall = not suite.a.no_reinstall and not any(p[1] == "ours" for p in suite.peers)
    if not _envs.ensure(suite.interp, "ours", reinstall_ours=reinstall):
        suite.res["errors"].append({"peer": "loadtools", "error": "no venv ours"})
        return
    tools = Tools(suite)
    dur = _duration(suite.a.quick, suite.interp)
    info = suite.res.setdefault("loadtools-info", {})
    info.update(tools.versions())
    info["duration_s"] = dur
    info["rounds"] = suite.a.rounds
    log(f"[loadtools] {info}")
    peers = [(n,) for n in _wanted(suite)]
    for c in CONCS[:1] if suite.a.quick else CONCS:
        log(f"[loadtools] /small c={c}, {dur:g} s a run, peers={[p[0] for p in peers]}")

        def fn(p, r, c=c):
            x = run_one(suite, tools, p[0], c, dur)
            x["round"] = r
            if "rps" in x:
                cpu = x.get("cpu_us_per_req")
                log(
                    f"    r{r} {p[0]:9s} {x['rps']:9.0f} req/s  n {x['requests']}  err {x['errors']}"
                    + (f"  client {cpu:.0f} µs/req  nginx {x['nginx_cpu_pct']:.0f}%" if cpu else "")
                )
            return x

        for name, lst in suite.rounds_of(peers, fn).items():
            res[(c, name)] = lst
        suite.save()


# -- the table -----------------------------------------------------------------------


def best_wrk(res, c: int) -> str:
    """The faster wrk (by median requests/s) at concurrency c: "wrk-t1" or "wrk-t2"."""
    m = {n: med([x["rps"] for x in res.get((c, n), [])]) for n in ("wrk-t1", "wrk-t2")}
    m = {n: v for n, v in m.items() if v}
    return max(m, key=m.get) if m else "wrk-t2"


def paired(res, c: int, a: str, b: str):
    """Median over rounds of a/b measured in the same round."""
    if b == "wrk":
        b = best_wrk(res, c)
    rb = {x["round"]: x["rps"] for x in res.get((c, b), [])}
    pairs = [x["rps"] / rb[x["round"]] for x in res.get((c, a), []) if rb.get(x["round"])]
    return statistics.median(pairs) if pairs else None


def render(suite) -> list:
    """Markdown lines: the side-by-side table, each round's figures, ratios vs targets."""
    res = suite.res.get("loadtools")
    if not res:
        return []
    info = suite.res.get("loadtools-info", {})
    concs = sorted({k[0] for k in res if isinstance(k, tuple)})
    names = [n for n in PEERS if any((c, n) in res for c in concs)]
    L = [f"## load tools side by side, /small keep-alive ({suite.interp})\n"]
    L.append(
        f"{info.get('python')}; {info.get('hey')}; {info.get('wrk')}; bench flags: "
        f"{info.get('bench flags')}. {info.get('duration_s', 0):g} s a run, "
        f"{info.get('rounds')} rounds, peers alternated within each round; medians. "
        "Client CPU: the tool and its worker processes, whole run, per request; nginx: "
        "its one worker's CPU over the run (100 % = the server is the limit).\n"
    )
    L.append(
        "| tool | "
        + " | ".join(f"c={c} req/s | c={c} client µs/req | c={c} nginx %" for c in concs)
        + " | errors |"
    )
    L.append("|---|" + "---:|---:|---:|" * len(concs) + "---:|")
    for n in names:
        cells = []
        for c in concs:
            lst = res.get((c, n), [])
            cells += [
                fmt(med([x["rps"] for x in lst])),
                fmt(med([x.get("cpu_us_per_req") for x in lst])),
                fmt(med([x.get("nginx_cpu_pct") for x in lst])),
            ]
        errs = sum(x.get("errors") or 0 for c in concs for x in res.get((c, n), []))
        L.append(f"| {n} | " + " | ".join(cells) + f" | {errs} |")
    L.append("")
    L.append("Requests/s per round (each round runs the peers in a rotated order):\n")
    for c in concs:
        rounds = sorted({x["round"] for n in names for x in res.get((c, n), [])})
        L.append(f"| c={c} | " + " | ".join(f"r{r}" for r in rounds) + " |")
        L.append("|---|" + "---:|" * len(rounds))
        for n in names:
            by = {x["round"]: x["rps"] for x in res.get((c, n), [])}
            L.append(f"| {n} | " + " | ".join(fmt(by.get(r)) for r in rounds) + " |")
        L.append("")
    L.append("Command lines (URL = the suite's nginx /small):\n")
    for n in names:
        cmd = next((x["cmd"] for c in concs for x in res.get((c, n), []) if x.get("cmd")), None)
        if cmd:
            L.append(f"- {n}: `{cmd}`")
    L.append("")
    L.append(f"### load tools: ratios and targets ({suite.interp})\n")
    L.append("| ratio | " + " | ".join(f"c={c}" for c in concs) + " | target | status |")
    L.append("|---|" + "---:|" * len(concs) + "---:|---|")
    for label, a, b, target, strict in TARGETS:
        vals = [paired(res, c, a, b) for c in concs]
        oks = [None if v is None else (v > target if strict else v >= target) for v in vals]
        status = "–" if all(o is None for o in oks) else "MET" if all(oks) else "missed"
        shown = label
        if b == "wrk":
            shown += " (" + ", ".join(f"c={c}: {best_wrk(res, c)}" for c in concs) + ")"
        cells = " | ".join(fmt(v, 2) for v in vals)
        L.append(f"| {shown} | {cells} | {'>' if strict else '>='} {target} | {status} |")
    for label, a, b in (
        ("bench -p 2 / wrk -t2", "bench-p2", "wrk-t2"),
        ("bench -p 1 / hey", "bench-p1", "hey"),
        ("bench -p 2 / bench -p 1", "bench-p2", "bench-p1"),
    ):
        vals = [paired(res, c, a, b) for c in concs]
        if any(v is not None for v in vals):
            L.append(f"| {label} | " + " | ".join(fmt(v, 2) for v in vals) + " | info | |")
    L.append("")
    return L


# -- standalone: RSS over a long bench run ------------------------------------------------


def _rss_kib(pid: int):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _tree(pid: int) -> list:
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += _children(p)
    return out


def rss_run(
    interp: str, seconds: float, conc: int, every: float = 10.0, reinstall: bool = True
) -> dict:
    """``bench URL -z S -c C`` against a private nginx, RSS sampled every ``every`` s."""
    from _nginx import Nginx

    if not _envs.ensure(interp, "ours", reinstall_ours=reinstall):
        raise SystemExit(f"no venv {interp}-ours")
    py = _envs.venv_python(interp, "ours")
    with Nginx() as ng:
        url = ng.url("/small")
        tmp = tempfile.mkdtemp(prefix="ghc-bench-rss-")
        out = os.path.join(tmp, "out.json")
        h = subprocess.run(
            [py, "-m", "geventhttpclient", "bench", "--help"], capture_output=True, text=True
        ).stdout
        cmd = [py, "-m", "geventhttpclient", "bench", url, "-z", f"{seconds:g}s", "-c", str(conc)]
        if "--json" in h:
            cmd += ["--json", out]
        log("[rss] " + " ".join(cmd))
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp
        )
        t0 = time.monotonic()
        samples = []
        while proc.poll() is None:
            time.sleep(max(0.0, t0 + every * (len(samples) + 1) - time.monotonic()))
            pids = _tree(proc.pid)
            per = {p: _rss_kib(p) for p in pids}
            per = {p: v for p, v in per.items() if v is not None}
            if proc.poll() is None and per:
                s = {
                    "t": round(time.monotonic() - t0, 1),
                    "kib": sum(per.values()),
                    "pids": len(per),
                }
                samples.append(s)
                log(f"    t={s['t']:6.1f}s RSS {s['kib'] / 1024:7.1f} MiB ({s['pids']} processes)")
        stdout, stderr = proc.communicate()
        fig = None
        try:
            with open(out) as f:
                fig = parse_bench_json(json.load(f))
        except (OSError, ValueError, KeyError):
            try:
                fig = parse_bench_text(stdout)
            except ValueError:
                pass
        shutil.rmtree(tmp, ignore_errors=True)
    kib = [s["kib"] for s in samples]
    after = [s for s in samples if s["t"] >= 60] or samples
    slope = None
    if len(after) >= 3:  # least squares, KiB per minute, after the first minute
        ts = [s["t"] for s in after]
        vs = [s["kib"] for s in after]
        mt, mv = statistics.mean(ts), statistics.mean(vs)
        den = sum((t - mt) ** 2 for t in ts)
        slope = 60 * sum((t - mt) * (v - mv) for t, v in zip(ts, vs)) / den if den else None
    return {
        "command": " ".join(_shown(cmd, url, out).split()),
        "interp": interp,
        "rc": proc.returncode,
        "stderr_tail": stderr[-500:],
        "bench": fig,
        "samples": samples,
        "first_kib": kib[0] if kib else None,
        "last_kib": kib[-1] if kib else None,
        "max_kib": max(kib) if kib else None,
        "at_60s_kib": after[0]["kib"] if after else None,
        "slope_kib_per_min_after_60s": slope,
    }


def main(argv=None) -> None:
    import argparse

    ap = argparse.ArgumentParser(description="RSS of a long `geventhttpclient bench -z` run")
    ap.add_argument("what", choices=("rss",))
    ap.add_argument("--interp", choices=("cpython", "pypy"), default="cpython")
    ap.add_argument("--seconds", type=float, default=600.0)
    ap.add_argument("-c", "--concurrency", type=int, default=100)
    ap.add_argument("--every", type=float, default=10.0)
    ap.add_argument("--out", default=None, help="write the samples and figures here (JSON)")
    ap.add_argument(
        "--no-reinstall", action="store_true", help="don't rebuild 'ours' from the work tree"
    )
    a = ap.parse_args(argv)
    r = rss_run(a.interp, a.seconds, a.concurrency, a.every, not a.no_reinstall)
    if a.out:
        with open(a.out, "w") as f:
            json.dump(r, f, indent=1)
    mib = lambda v: "–" if v is None else f"{v / 1024:.1f} MiB"  # noqa: E731
    log(
        f"[rss] first {mib(r['first_kib'])}, last {mib(r['last_kib'])}, max {mib(r['max_kib'])}; "
        f"after 60 s: {mib(r['at_60s_kib'])}, trend {fmt(r['slope_kib_per_min_after_60s'], 1)} KiB/min; "
        f"bench: {r['bench']}"
    )


if __name__ == "__main__":
    sys.exit(main())
