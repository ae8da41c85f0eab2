"""PyPy's nursery size against the agent's speed with many requests in flight.

    python benchmarks/pypy_nursery.py [--rounds 3] [--sizes default,4MB,8MB]

With 100 requests in flight, PyPy spends much of an agent request's time in its
garbage collector: each minor collection copies out what the suspended requests
still hold (about half of the default 1 MB nursery; ``PYPYLOG=gc-minor`` shows it),
and the agents allocate about twice what the raw path does per request. This runs
the suite's raw path (``ours``), ``UserAgent.urlopen(url).content`` (``ours-ua``),
``Session().get(url).content`` (``ours-session``) and ``geventhttpclient.get(url)`` (``ours-get``)
at c=10 and c=100 against the private nginx with each ``PYPY_GC_NURSERY`` size,
sizes alternated within a round, and prints requests/s (median over rounds) and the
ratio to the raw path with the default nursery.

Uses the suite's PyPy venv for our package (``benchmarks/.venvs/pypy-ours``, made
or refreshed from the work tree as ``run.py`` does).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from typing import Dict, List, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import _envs  # noqa: E402
from _nginx import Nginx  # noqa: E402
from run import run_worker  # noqa: E402

PEERS = {
    "ours": ("ours", "ours", "ours.py", []),
    "ours-ua": ("ours-ua", "ours", "agent.py", ["--variant", "ua"]),
    "ours-session": ("ours-session", "ours", "agent.py", ["--variant", "session"]),
    "ours-get": ("ours-get", "ours", "agent.py", ["--variant", "get"]),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--sizes", default="default,4MB,8MB")
    ap.add_argument("--max-seconds", type=float, default=2.5)
    ap.add_argument("--no-reinstall", action="store_true", help="don't rebuild 'ours'")
    ap.add_argument("--out", default=os.path.join(HERE, "results", "pypy-nursery.md"))
    a = ap.parse_args()
    if not _envs.ensure("pypy", "ours", reinstall_ours=not a.no_reinstall):
        raise SystemExit("no PyPy venv for our package (see benchmarks/README.md)")
    sizes = a.sizes.split(",")
    ng = Nginx().start()
    got: Dict[Tuple[str, str, int], List[float]] = {}
    try:
        for r in range(a.rounds):
            for conc in (10, 100):
                for i in range(len(sizes)):
                    size = sizes[(i + r) % len(sizes)]  # alternate the order per round
                    for name, peer in PEERS.items():
                        if size == "default":
                            os.environ.pop("PYPY_GC_NURSERY", None)
                        else:
                            os.environ["PYPY_GC_NURSERY"] = size
                        extra = ["--max-seconds", str(a.max_seconds)]
                        res = run_worker("pypy", peer, ng.url("/small"), "rps", conc, 150000, extra)
                        if res.get("error") or res.get("errors"):
                            raise SystemExit(f"{name} {size} c={conc}: {res}")
                        got.setdefault((name, size, conc), []).append(res["rps"])
                        print(
                            f"r{r} c={conc:3d} {size:8s} {name:8s} {res['rps']:9.0f} req/s",
                            flush=True,
                        )
    finally:
        os.environ.pop("PYPY_GC_NURSERY", None)
        ng.stop()
    med = {k: statistics.median(v) for k, v in got.items()}
    lines = [
        "# PyPy nursery size and the agent at c=10 / c=100",
        "",
        f"- command: `python benchmarks/pypy_nursery.py --rounds {a.rounds} --sizes {a.sizes}`",
        "- /small keep-alive, nginx with one worker; requests/s, median of the rounds;",
        "  in brackets: the ratio to the raw path (`ours`) with the default nursery",
        "",
        "| PYPY_GC_NURSERY | c | " + " | ".join(PEERS) + " |",
        "|---|---:|" + "---:|" * len(PEERS),
    ]
    for size in sizes:
        for conc in (10, 100):
            base = med[("ours", "default", conc)] if "default" in sizes else None
            cells = []
            for name in PEERS:
                v = med[(name, size, conc)]
                cells.append(f"{v:,.0f}" + (f" ({v / base:.2f})" if base else ""))
            lines.append(f"| {size} | {conc} | " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    print(text)
    with open(a.out, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
