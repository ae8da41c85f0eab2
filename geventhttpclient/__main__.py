"""Command line: ``geventhttpclient bench|get`` (or ``python -m geventhttpclient``).

``bench [URL] [-n N] [-c C] [--no-keepalive]``
    Send N GET requests (default 10000) at concurrency C (default 10): C greenlets
    share one ``HTTPClient(concurrency=C)``, each reads every body in full. Prints
    requests per second, errors and latency percentiles. Without a URL an embedded
    gevent server on 127.0.0.1 (ephemeral port) answers with a small fixed response,
    so the benchmark runs on a machine with no network.

``get URL``
    One GET; prints the status line, the headers and the body.
"""

from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence

from . import __version__
from ._cli.bench import add_parser as add_bench_parser
from ._cli.bench import bench, percentile
from ._cli.get import add_parser as add_get_parser
from ._cli.localserver import LocalServer

__all__ = ["main", "LocalServer", "bench", "percentile"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="geventhttpclient",
        description="geventhttpclient command line: a load benchmark and a simple GET.",
    )
    parser.add_argument("--version", action="version", version=f"geventhttpclient {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    add_bench_parser(sub)
    add_get_parser(sub)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point; returns the process exit status."""
    args = _parser().parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
