"""The benchmark suite's `tls` section (run by run.py --sections tls)."""

from __future__ import annotations


def run(suite) -> None:
    """Measure; results go to suite.res["tls"], failures to suite.res["errors"]."""
    print("[tls] not implemented yet", flush=True)


def render(suite) -> list:
    """Markdown lines: this section's tables and its ratios against its targets."""
    return []
