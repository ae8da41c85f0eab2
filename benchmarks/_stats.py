"""The two helpers every section's table uses: a median that skips missing runs, and
a number formatted for a table cell ("–" where there is none); and the total a
callgrind output file reports, which the instruction-counting scripts difference."""

from __future__ import annotations

import statistics


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
