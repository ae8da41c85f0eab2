#!/usr/bin/env python3
"""Where does OUR client spend its time per request? (/small, c=10, CPython)

    python benchmarks/profile_ours.py [--seconds 8] [--tool py-spy|cprofile|both]

py-spy samples the ours-worker (clients/ours.py) from outside (native frames off),
cProfile runs it in-process and gives call counts per request. Writes
benchmarks/results/profile-ours.md (and the raw py-spy stacks under benchmarks/profiles/).
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import _envs  # noqa: E402
from _nginx import Nginx  # noqa: E402

CLIENTS = os.path.join(HERE, "clients")
FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^:()]*?)(?::(?P<line>\d+))?\)$")


def short(frame: str) -> str:
    m = FRAME.match(frame.strip())
    if not m:
        return frame.strip()
    f = m.group("file")
    for key in ("site-packages/", "lib/python3.11/", "clients/"):
        if key in f:
            f = f.split(key, 1)[1]
    return f"{m.group('func')} ({f})"


def pyspy(py, url, seconds, n, outdir):
    spy = os.path.join(os.path.dirname(py), "py-spy")
    raw = os.path.join(outdir, "ours-c10.pyspy.txt")
    cmd = [
        spy,
        "record",
        "--format",
        "raw",
        "--rate",
        "1000",
        "-o",
        raw,
        "--",
        py,
        os.path.join(CLIENTS, "ours.py"),
        "--url",
        url,
        "--mode",
        "rps",
        "-c",
        "10",
        "--n",
        str(n),
        "--max-seconds",
        str(seconds),
    ]
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=CLIENTS)
    res = next((ln for ln in reversed(p.stdout.splitlines()) if ln.startswith("{")), "{}")
    if p.returncode != 0 or not os.path.exists(raw):
        return None, p.stderr[-800:]
    selfc, incl = collections.Counter(), collections.Counter()
    total = 0
    for line in open(raw):
        line = line.rstrip("\n")
        if not line:
            continue
        stack, _, cnt = line.rpartition(" ")
        cnt = int(cnt)
        frames = [short(f) for f in stack.split(";")]
        total += cnt
        selfc[frames[-1]] += cnt
        for f in set(frames):
            incl[f] += cnt
    return (total, selfc, incl, res), None


def cprof(py, url, n):
    code = f"""
import cProfile, pstats, sys, io
sys.argv = ['ours.py', '--url', {url!r}, '--mode', 'rps', '-c', '10', '--n', '{n}', '--warmup', '2000']
sys.path.insert(0, {CLIENTS!r})
import _ghc
pr = cProfile.Profile()
pr.enable()
_ghc.main('ours')
pr.disable()
s = io.StringIO()
st = pstats.Stats(pr, stream=s)
st.sort_stats('tottime').print_stats(30)
print('@@@@')
print(s.getvalue())
"""
    p = subprocess.run([py, "-c", code], capture_output=True, text=True, cwd=CLIENTS)
    return p.stdout.split("@@@@", 1)[-1] if "@@@@" in p.stdout else p.stderr[-1500:]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--tool", default="both")
    a = ap.parse_args()
    py = _envs.venv_python("cpython", "ours")
    if not os.path.exists(py):
        _envs.ensure("cpython", "ours")
    outdir = os.path.join(HERE, "profiles")
    os.makedirs(outdir, exist_ok=True)
    L = ["# Profile of OUR client: /small, c=10, CPython\n"]
    with Nginx() as ng:
        url = ng.url("/small")
        if a.tool in ("both", "py-spy"):
            r, err = pyspy(py, url, a.seconds, 10_000_000, outdir)
            if r is None:
                L.append(f"py-spy failed: {err}\n")
            else:
                total, selfc, incl, res = r
                L.append(
                    f"py-spy, {total} samples (all threads; `acquire_with_timeout` is gevent's idle "
                    f"resolver thread, `Hub.run` self time is the event-loop wait); worker result: `{res}`\n"
                )
                L.append("### self time (leaf frame), top 30\n")
                L.append("| % samples | function |")
                L.append("|---:|---|")
                for f, c in selfc.most_common(30):
                    L.append(f"| {100 * c / total:.1f} | `{f}` |")
                L.append("\n### inclusive time, top 40\n")
                L.append("| % samples | function |")
                L.append("|---:|---|")
                for f, c in incl.most_common(40):
                    L.append(f"| {100 * c / total:.1f} | `{f}` |")
                L.append("")
        if a.tool in ("both", "cprofile"):
            n = 20000
            L.append(f"### cProfile, {n} timed requests (+2000 warm-up), sorted by tottime\n")
            L.append("```")
            L.append(cprof(py, url, n).strip())
            L.append("```")
    out = os.path.join(HERE, "results", "profile-ours.md")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    open(out, "w").write("\n".join(L) + "\n")
    print("\n".join(L))


if __name__ == "__main__":
    main()
