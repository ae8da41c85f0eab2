"""The two helpers every section's table uses: a median that skips missing runs, and
a number formatted for a table cell ("–" where there is none)."""

from __future__ import annotations

import statistics


def med(vals):
    """The median of the values that are not None; None if there are none."""
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def fmt(v, nd=0):
    """``v`` with thousands separators and ``nd`` decimals; "–" for None."""
    return "–" if v is None else f"{v:,.{nd}f}"
