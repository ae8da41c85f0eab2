"""The bench histogram: exact merge, percentiles within 0.1 % of the exact nearest-rank
ones, a JSON round trip, and the edges (empty, values outside 1 microsecond..1 hour)."""

from __future__ import annotations

import json
import math
import random
from typing import List

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geventhttpclient._cli.histogram import HIGH_EXPONENT, LOW_EXPONENT, Histogram

SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow])
IN_RANGE = st.floats(min_value=1e-6, max_value=3600.0, allow_nan=False)
ANY_LATENCY = st.floats(min_value=-1.0, max_value=1e5, allow_nan=False)
PERCENTILES = (0, 0.1, 1, 25, 50, 75, 90, 95, 99, 99.9, 99.99, 100)


def nearest_rank(values: List[float], p: float) -> float:
    ordered = sorted(values)
    rank = max(1, math.ceil(p * len(ordered) / 100))
    return ordered[rank - 1]


def histogram_of(values: List[float]) -> Histogram:
    h = Histogram()
    for v in values:
        h.record(v)
    return h


def without_sum(d: dict) -> dict:
    # The float sum depends on the order of additions; everything else is exact.
    return {k: v for k, v in d.items() if k != "sum"}


@settings(**SETTINGS)
@given(st.lists(ANY_LATENCY, max_size=200), st.lists(ANY_LATENCY, max_size=200))
def test_merge_equals_recording_both(a: List[float], b: List[float]) -> None:
    merged = histogram_of(a)
    merged.merge(histogram_of(b))
    both = histogram_of(a + b)
    assert without_sum(merged.to_dict()) == without_sum(both.to_dict())
    assert merged.sum == pytest.approx(both.sum, rel=1e-9, abs=1e-9)
    assert merged.percentiles(PERCENTILES) == both.percentiles(PERCENTILES)


def test_merge_leaves_the_other_histogram_unchanged() -> None:
    a, b = histogram_of([0.001, 0.002]), histogram_of([0.5])
    before = b.to_dict()
    a.merge(b)
    assert b.to_dict() == before
    assert a.count == 3 and a.max == 0.5


@settings(**SETTINGS)
@given(st.lists(IN_RANGE, min_size=1, max_size=300), st.sampled_from(PERCENTILES))
def test_percentile_within_a_thousandth_of_nearest_rank(values: List[float], p: float) -> None:
    exact = nearest_rank(values, p)
    assert histogram_of(values).percentile(p) == pytest.approx(exact, rel=1e-3)


def test_percentiles_of_a_large_random_sample() -> None:
    rng = random.Random(16)
    values = [rng.lognormvariate(-7, 2) for _ in range(50_000)]  # spans microseconds to s
    values = [min(max(v, 1e-6), 3600.0) for v in values]
    h = histogram_of(values)
    ours = h.percentiles(PERCENTILES)
    for p, got in zip(PERCENTILES, ours):
        assert got == pytest.approx(nearest_rank(values, p), rel=1e-3), p
    assert h.count == len(values)
    assert h.mean() == pytest.approx(sum(values) / len(values), rel=1e-12)


def test_min_max_and_extreme_percentiles_are_exact() -> None:
    values = [0.0123456789, 0.5, 0.000987654321]
    h = histogram_of(values)
    assert (h.min, h.max) == (min(values), max(values))
    assert h.percentile(0) == min(values)
    assert h.percentile(100) == max(values)


@settings(**SETTINGS)
@given(st.lists(ANY_LATENCY, min_size=1, max_size=100), st.floats(min_value=0, max_value=100))
def test_percentile_stays_between_min_and_max(values: List[float], p: float) -> None:
    h = histogram_of(values)
    assert min(values) <= h.percentile(p) <= max(values)


def test_empty_histogram() -> None:
    h = Histogram()
    assert (h.count, h.min, h.max, h.mean(), h.sum) == (0, 0.0, 0.0, 0.0, 0.0)
    assert h.percentile(50) == 0.0
    assert h.percentiles((50, 99)) == [0.0, 0.0]
    assert h.render() == []
    assert Histogram.from_dict(json.loads(json.dumps(h.to_dict()))).to_dict() == h.to_dict()
    other = histogram_of([0.25])
    other.merge(h)
    assert other.to_dict() == histogram_of([0.25]).to_dict()
    h.merge(other)
    assert (h.count, h.min, h.max) == (1, 0.25, 0.25)


def test_values_outside_the_range_clamp_to_the_end_buckets() -> None:
    lowest, highest = 2.0**LOW_EXPONENT, 2.0**HIGH_EXPONENT
    small = [-1.0, 0.0, 1e-9, lowest / 2]
    large = [highest, 1e5, math.inf, math.nextafter(highest, 0.0)]
    h = histogram_of(small + large)
    buckets = h.to_dict()["buckets"]
    assert [n for _, n in buckets] == [4, 4]  # first and last bucket only
    first, last = buckets[0][0], buckets[1][0]
    assert first == 0 and last == (HIGH_EXPONENT - LOW_EXPONENT) * 1024 - 1
    assert (h.min, h.max) == (-1.0, math.inf)  # exact, not the bucket edges
    # The clamped values answer with the end buckets' values, never past min or max.
    assert h.percentile(25) == pytest.approx(lowest, rel=1e-3)
    assert h.percentile(75) == pytest.approx(highest, rel=1e-3)


def test_edges_of_the_promised_range_keep_their_precision() -> None:
    for v in (1e-6, 3600.0, 2.0**LOW_EXPONENT, math.nextafter(2.0**HIGH_EXPONENT, 0.0)):
        h = histogram_of([v, v, v])
        assert h.percentile(50) == pytest.approx(v, rel=1e-3)


def test_to_dict_from_dict_round_trip_through_json() -> None:
    rng = random.Random(3)
    h = histogram_of([rng.expovariate(200) for _ in range(5000)] + [0.0, 7200.0])
    d = json.loads(json.dumps(h.to_dict()))
    back = Histogram.from_dict(d)
    assert back.to_dict() == h.to_dict()
    assert back.percentiles(PERCENTILES) == h.percentiles(PERCENTILES)
    assert (back.count, back.min, back.max, back.mean()) == (h.count, h.min, h.max, h.mean())


def test_from_dict_rejects_another_layout_and_torn_counts() -> None:
    d = histogram_of([0.001, 0.002]).to_dict()
    with pytest.raises(ValueError, match="layout"):
        Histogram.from_dict({**d, "sub_buckets": 512})
    with pytest.raises(ValueError, match="add up"):
        Histogram.from_dict({**d, "count": 3})
    with pytest.raises(ValueError, match="bucket"):
        Histogram.from_dict({**d, "buckets": [[10**6, 2]]})


def test_percentile_outside_0_to_100_is_an_error() -> None:
    h = histogram_of([0.1])
    for p in (-1, 100.5):
        with pytest.raises(ValueError):
            h.percentile(p)


def test_render_spreads_the_values_over_rows_like_hey() -> None:
    h = histogram_of([0.001] * 10 + [0.0015] * 30 + [0.011] * 5)
    lines = h.render(width=40, rows=11)
    assert len(lines) == 11
    counts = [int(line.split("[")[1].split("]")[0]) for line in lines]
    assert sum(counts) == 45
    assert counts[0] == 10 and counts[1] == 30 and counts[-1] == 5
    bars = [line.split("|")[1] for line in lines]
    assert len(bars[1]) == 40  # the fullest row has the full width
    assert bars[0] == "\u25a0" * round(10 * 40 / 30)
    assert lines[0].strip().startswith("1.000 ms") and lines[-1].strip().startswith("11.000 ms")


def test_render_of_a_single_value() -> None:
    lines = histogram_of([0.004]).render(rows=3)
    assert len(lines) == 3
    assert sum(int(line.split("[")[1].split("]")[0]) for line in lines) == 1
