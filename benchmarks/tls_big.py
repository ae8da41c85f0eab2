"""/big over HTTPS, read(65536) only, many rounds: ours against the raw TLS loops.

    python benchmarks/tls_big.py [--interp pypy|cpython] [--rounds 12] [--reps 2]

The ``tls`` section's /big read runs each peer once per round; on this machine a
peer's MB/s moves by a third between rounds, so its 2-3 rounds cannot tell a 10 %
gap from noise. This runs only that measurement, ``floor-tls`` (gevent's
``SSLSocket``, ``recv_into`` a reusable 64 KiB buffer), ``floor-tls-bytes`` (the same
plus a bytes object per 64 KiB block, as any ``read()`` must make) and ours
(``response.read(65536)``), alternated within each round, and prints every round,
the medians and the medians of same-round ratios. Uses the suite's ``ours``
virtualenv for the interpreter (refreshed from the work tree, as ``run.py`` does).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from typing import Dict, List

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENTS = os.path.join(HERE, "clients")
sys.path.insert(0, HERE)

import _envs  # noqa: E402
from _nginx import BIG_SIZE, Nginx  # noqa: E402

PEERS = {
    "floor-tls": ["floor_tls.py"],
    "floor-tls-bytes": ["floor_tls.py", "--variant", "bytes"],
    "ours": ["ours.py"],
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--interp", choices=("cpython", "pypy"), default="pypy")
    ap.add_argument("--rounds", type=int, default=12)
    ap.add_argument("--reps", type=int, default=2, help="100 MiB bodies per measurement")
    a = ap.parse_args()
    if not _envs.ensure(a.interp, "ours", reinstall_ours=True):
        raise SystemExit(f"no {a.interp} virtualenv for our package")
    py = _envs.venv_python(a.interp, "ours")
    names = list(PEERS)
    got: Dict[str, List[float]] = {n: [] for n in names}
    ng = Nginx().start()
    try:
        for r in range(a.rounds):
            for name in names[r % len(names) :] + names[: r % len(names)]:
                script, *extra = PEERS[name]
                cmd = [py, os.path.join(CLIENTS, script), *extra, "--url", ng.https_url("/big")]
                cmd += ["--mode", "read", "--concurrency", "1", "--n", "1"]
                cmd += ["--cafile", ng.cafile, "--reps", str(a.reps)]
                p = subprocess.run(cmd, capture_output=True, text=True, cwd=CLIENTS)
                lines = [x for x in p.stdout.splitlines() if x.startswith("{")]
                out = json.loads(lines[-1]) if lines else {}
                if out.get("bytes") != BIG_SIZE * a.reps:
                    raise SystemExit(f"{name}: {out or p.stderr[-600:]}")
                got[name].append(out["mbps"])
                print(f"r{r} {name:16s} {out['mbps']:7.0f} MB/s", flush=True)
    finally:
        ng.stop()
    print()
    for name, v in got.items():
        print(
            f"{name:16s} median {statistics.median(v):6.0f}  min {min(v):6.0f}  max {max(v):6.0f}"
        )
    for x, y in (
        ("ours", "floor-tls"),
        ("ours", "floor-tls-bytes"),
        ("floor-tls-bytes", "floor-tls"),
    ):
        ratios = [p / q for p, q in zip(got[x], got[y])]
        print(
            f"{x}/{y}: median of same-round ratios {statistics.median(ratios):.3f}"
            f" (rounds {min(ratios):.2f}-{max(ratios):.2f})"
        )


if __name__ == "__main__":
    main()
