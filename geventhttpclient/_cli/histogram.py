"""Latency histogram of ``geventhttpclient bench``: constant memory, exact merge.

Theory of operation
-------------------
A latency run records one value per request, millions of them in a long ``-z`` run,
so values are not kept: each one increments the counter of the bucket it falls in.
The buckets are logarithmic, HdrHistogram's idea of relative precision written here
from scratch: bucket ``k`` holds the values from ``2**(k / SUB_BUCKETS)`` to
``2**((k + 1) / SUB_BUCKETS)`` (shifted so that index 0 starts at ``2**LOW_EXPONENT``)::

    index = int(log2(seconds) * SUB_BUCKETS + OFFSET)

A bucket is ``2**(1/1024) - 1`` = 0.068 % of its lower edge wide, and a percentile
answers with the bucket's geometric midpoint, which is within 0.034 % of every value
in it: inside the 0.1 % promised from 1 microsecond to 1 hour. Values outside that
range (zero, or negative from a clock that stepped) land in the first or last bucket;
``min``, ``max`` and the mean stay exact because they are kept beside the buckets.

Why ``log2`` and not HdrHistogram's log-linear index (a power of two cut into equal
slices, from ``math.frexp`` or ``int.bit_length``): in CPython each is several
interpreter operations on boxed numbers where ``log2`` is one C call and one float
multiply-add. Counted with callgrind on CPython 3.12, a whole ``record`` costs about
4,100 instructions with ``log2``, 4,700 with ``bit_length`` and 5,700 with ``frexp``
(a request through the client is about 80,000); PyPy compiles all three to a few
machine instructions.

Two histograms with the same layout merge by adding counters, so the merge of the
histograms of ``-p`` worker processes equals the histogram of all their values: no
averaging of percentiles. ``to_dict``/``from_dict`` carry a histogram across a
process boundary as JSON (only the non-empty buckets).
"""

from __future__ import annotations

import math
from bisect import bisect_left
from itertools import accumulate
from typing import Any, Dict, List, Sequence

__all__ = ["Histogram", "SUB_BUCKETS", "LOW_EXPONENT", "HIGH_EXPONENT"]

SUB_BUCKETS = 1024
"""Buckets per power of two: 1024 keeps a bucket's midpoint within 0.034 % of any
value in it (the promise is 0.1 %), for 32 Ki counters per histogram."""

LOW_EXPONENT = -20
"""The lowest bucket starts at 2**-20 s (0.95 microsecond), just below 1 microsecond."""

HIGH_EXPONENT = 12
"""The highest bucket ends at 2**12 s (68 minutes), just above 1 hour."""

_N = (HIGH_EXPONENT - LOW_EXPONENT) * SUB_BUCKETS
# Added before int() so that its argument is never negative: int() truncates toward
# zero, which is floor() only for values >= 0.
_OFFSET = float(-LOW_EXPONENT * SUB_BUCKETS)
_SCALE = float(SUB_BUCKETS)
_LOWEST = math.ldexp(1.0, LOW_EXPONENT)
# A hair below 2**HIGH_EXPONENT: log2 of the doubles just below it rounds to
# HIGH_EXPONENT itself, one past the last index; those go to the last bucket directly.
_HIGHEST = math.ldexp(1.0 - 2.0**-30, HIGH_EXPONENT)
_LAYOUT = {"sub_buckets": SUB_BUCKETS, "low_exponent": LOW_EXPONENT, "high_exponent": HIGH_EXPONENT}


def _bucket_midpoint(index: int) -> float:
    """The geometric midpoint of bucket ``index``: the same relative error both ways."""
    return 2.0 ** ((index + 0.5) / SUB_BUCKETS + LOW_EXPONENT)


class Histogram:
    """Latency in seconds; logarithmic buckets (HdrHistogram's idea, written fresh):
    relative error <= 0.1 % from 1 microsecond to 1 hour; values outside clamp to the ends.
    Exact merge: merging two histograms equals recording both sets of values.

    ``count``, ``min`` and ``max`` are exact (``min`` and ``max`` are 0.0 while empty);
    :meth:`mean` is exact too (a running sum is kept).
    """

    __slots__ = ("_counts", "count", "_sum", "_min", "_max")

    def __init__(self) -> None:
        self._counts: List[int] = [0] * _N
        self.count = 0
        self._sum = 0.0
        self._min = math.inf
        self._max = -math.inf

    def record(self, seconds: float, _log2: Any = math.log2) -> None:
        """Count one value. The hot path of a load run: one call per request.

        (``_log2`` is a default argument so that its lookup is a local one, not a
        module global and an attribute; it is not part of the interface.)
        """
        self.count += 1
        self._sum += seconds
        if seconds < self._min:
            self._min = seconds
        if seconds > self._max:
            self._max = seconds
        if seconds < _LOWEST:  # zero and negative values too (log2 would raise)
            self._counts[0] += 1
        elif seconds < _HIGHEST:
            self._counts[int(_log2(seconds) * _SCALE + _OFFSET)] += 1
        else:
            self._counts[_N - 1] += 1

    def merge(self, other: Histogram) -> None:
        """Add ``other``'s values to this histogram (``other`` is not changed)."""
        if not other.count:
            return
        self._counts = [a + b for a, b in zip(self._counts, other._counts)]
        self.count += other.count
        self._sum += other._sum
        if other._min < self._min:
            self._min = other._min
        if other._max > self._max:
            self._max = other._max

    @property
    def min(self) -> float:
        """The smallest value recorded, exactly (0.0 while empty)."""
        return self._min if self.count else 0.0

    @property
    def max(self) -> float:
        """The largest value recorded, exactly (0.0 while empty)."""
        return self._max if self.count else 0.0

    @property
    def sum(self) -> float:
        """The sum of the values recorded (0.0 while empty)."""
        return self._sum

    def mean(self) -> float:
        """The arithmetic mean of the values recorded (0.0 while empty)."""
        return self._sum / self.count if self.count else 0.0

    def percentile(self, p: float) -> float:
        """The ``p``-th percentile (0..100), nearest-rank; never below min, never above max.

        Raises ValueError when ``p`` is outside 0..100.
        """
        return self.percentiles((p,))[0]

    def percentiles(self, ps: Sequence[float]) -> List[float]:
        """:meth:`percentile` for several ``p`` with one pass over the buckets."""
        for p in ps:
            if not 0 <= p <= 100:
                raise ValueError(f"percentile must be within 0..100, not {p!r}")
        n = self.count
        if not n:
            return [0.0 for _ in ps]
        cumulative = list(accumulate(self._counts))
        out = []
        for p in ps:
            # Nearest rank: the smallest value with at least ceil(p/100 * n) values
            # at or below it (rank 1 for p = 0).
            rank = max(1, math.ceil(p * n / 100))
            if rank == 1:
                out.append(self._min)
            elif rank >= n:
                out.append(self._max)
            else:
                mid = _bucket_midpoint(bisect_left(cumulative, rank))
                out.append(min(max(mid, self._min), self._max))
        return out

    def to_dict(self) -> Dict[str, Any]:
        """A JSON-able form (the layout and the non-empty buckets), for :meth:`from_dict`."""
        return {
            **_LAYOUT,
            "count": self.count,
            "sum": self._sum,
            "min": self.min,
            "max": self.max,
            "buckets": [[i, c] for i, c in enumerate(self._counts) if c],
        }

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> Histogram:
        """The histogram that :meth:`to_dict` described.

        Raises ValueError when ``d`` was written with another bucket layout or its
        counts do not add up (a histogram from a different version or a torn file).
        """
        layout = {k: d.get(k) for k in _LAYOUT}
        if layout != _LAYOUT:
            raise ValueError(f"histogram layout {layout} is not {_LAYOUT}")
        h = cls()
        total = 0
        for index, n in d["buckets"]:
            if not 0 <= index < _N or n < 0:
                raise ValueError(f"bad histogram bucket [{index}, {n}]")
            h._counts[index] += n
            total += n
        if total != d["count"]:
            raise ValueError(f"histogram buckets add up to {total}, not count {d['count']}")
        h.count = total
        h._sum = float(d["sum"])
        if total:
            h._min = float(d["min"])
            h._max = float(d["max"])
        return h

    def render(self, width: int = 40, rows: int = 11) -> List[str]:
        """hey-style text histogram: ``rows`` lines from min to max, bars up to ``width``.

        Row k is labelled with the upper edge of its slice of [min, max] (the first
        row is min itself) and counts the values above the previous row's label, as
        hey prints it. Values are placed at their bucket's midpoint, so a row edge
        can move a value by the histogram's 0.034 % precision. Labels are in
        milliseconds, because most latencies a client sees are below a second.
        """
        if not self.count or rows < 1:
            return []
        lo, hi = self._min, self._max
        step = (hi - lo) / (rows - 1) if rows > 1 else 0.0
        edges = [lo + step * k for k in range(rows)]
        edges[-1] = hi
        per_row = [0] * rows
        row = 0
        used = [(i, c) for i, c in enumerate(self._counts) if c]
        for k, (index, c) in enumerate(used):
            # The lowest and highest buckets hold min and max: placed there exactly,
            # they land in the first and last rows.
            if k == 0:
                value = lo
            elif k == len(used) - 1:
                value = hi
            else:
                value = min(max(_bucket_midpoint(index), lo), hi)
            while row < rows - 1 and value > edges[row]:
                row += 1
            per_row[row] += c
        top = max(per_row)
        labels = [f"{edge * 1000:.3f}" for edge in edges]
        label_width = max(len(s) for s in labels)
        count_width = max(len(str(c)) for c in per_row)
        lines = []
        for label, c in zip(labels, per_row):
            bar = "\u25a0" * (round(c * width / top) if top else 0)
            lines.append(f"  {label:>{label_width}} ms [{c:>{count_width}}] |{bar}")
        return lines

    def __repr__(self) -> str:
        if not self.count:
            return "<Histogram empty>"
        p50, p99 = self.percentiles((50, 99))
        return (
            f"<Histogram count={self.count} min={self.min:.6f} p50={p50:.6f}"
            f" p99={p99:.6f} max={self.max:.6f}>"
        )
