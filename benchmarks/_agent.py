"""The benchmark suite's `agent` section (run by run.py --sections agent)."""

from __future__ import annotations


def run(suite) -> None:
    """Measure; results go to suite.res["agent"], failures to suite.res["errors"]."""
    print("[agent] not implemented yet", flush=True)


def render(suite) -> list:
    """Markdown lines: this section's tables and its ratios against its targets."""
    return []
