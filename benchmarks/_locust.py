"""The benchmark suite's `locust` section (run by run.py --sections locust)."""

from __future__ import annotations


def run(suite) -> None:
    """Measure; results go to suite.res["locust"], failures to suite.res["errors"]."""
    print("[locust] not implemented yet", flush=True)


def render(suite) -> list:
    """Markdown lines: this section's tables and its ratios against its targets."""
    return []
