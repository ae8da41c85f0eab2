"""The two helpers every section's table uses: a median that skips missing runs, and
a number formatted for a table cell ("–" where there is none); and the instruction
counting the callgrind scripts share: the total a callgrind output file reports, and
the instructions per request from two runs of different lengths."""

from __future__ import annotations

import os
import statistics
import subprocess
from typing import Callable, List, Optional


def med(vals):
    """The median of the values that are not None; None if there are none."""
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def fmt(v, nd=0):
    """``v`` with thousands separators and ``nd`` decimals; "–" for None."""
    return "–" if v is None else f"{v:,.{nd}f}"


def callgrind_total(path: str) -> int:
    """The instructions counted in callgrind output file ``path`` (its totals line)."""
    with open(path) as f:
        for line in f:
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    raise RuntimeError(f"no totals in {path}")


def callgrind_per_request(
    command: Callable[[int], List[str]],
    short: int,
    long: int,
    tmp: str,
    name: str,
    cwd: Optional[str] = None,
) -> float:
    """Instructions per request of ``command(n)``, a process that makes ``n``
    requests after a warm-up of its own: run under callgrind for ``short`` and for
    ``long`` requests, the difference of the totals divided by ``long - short``, so
    start-up and warm-up cancel out. ``PYTHONHASHSEED=0`` keeps dict layouts, and
    so the counts, the same between the two runs. Output files go to ``tmp``."""
    totals = []
    for n in (short, long):
        out = os.path.join(tmp, f"cg.{name}.{n}")
        cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", "--dump-instr=no"]
        env = dict(os.environ, PYTHONHASHSEED="0")
        p = subprocess.run([*cmd, *command(n)], capture_output=True, text=True, cwd=cwd, env=env)
        if p.returncode:
            raise RuntimeError(f"{name}, {n} requests: {p.stderr[-600:]}")
        totals.append(callgrind_total(out))
    return (totals[1] - totals[0]) / (long - short)
