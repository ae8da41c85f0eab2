"""Command line: ``geventhttpclient bench|get`` (or ``python -m geventhttpclient``).

``bench [URL] [-n N] [-c C] [--no-keepalive]``
    Send N GET requests (default 10000) at concurrency C (default 10): C greenlets
    share one ``HTTPClient(concurrency=C)``, each reads every body in full. Prints
    requests per second, errors and latency percentiles. Without a URL an embedded
    gevent server on 127.0.0.1 (ephemeral port) answers with a small fixed response,
    so the benchmark runs on a machine with no network.

``get URL [-X METHOD] [-H 'NAME: VALUE']... [-d DATA | --json DATA] [-i] [-o FILE] [-v]
[-L [--max-redirs N]] [--compressed] [-k]``
    One request, with curl's flags and curl's output: the body alone on stdout
    (``-i`` adds the response head, ``-v`` shows both heads on stderr). ``-d`` and
    ``--json`` take text, ``@FILE`` or ``@-`` (stdin) and make the request a POST;
    ``-L`` follows redirects (at most 20 by default); ``--compressed`` asks for a
    compressed body and writes it decoded. Exit status 1 for a final status of 400
    or more.

Both commands stop quietly, with no traceback and no error line, when the reader
of their output goes away (``geventhttpclient get URL | head -c 10``).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Optional, Sequence

from . import __version__
from ._cli.bench import add_parser as add_bench_parser
from ._cli.bench import bench, percentile
from ._cli.get import CommandError
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


EXIT_BROKEN_PIPE = 141
"""The exit status when the output's reader went away: 128 + SIGPIPE, what a
program killed by SIGPIPE (as ``cat`` would be) reports to the shell."""


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point; returns the process exit status."""
    args = _parser().parse_args(argv)
    try:
        status = int(args.func(args))
        sys.stdout.flush()  # here, where a closed pipe is caught, not at exit
        return status
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        _drop_stdout()
        return EXIT_BROKEN_PIPE
    except CommandError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


def _drop_stdout() -> None:
    """Point stdout at /dev/null: what is still buffered for the closed pipe would
    otherwise fail again when the interpreter flushes it at exit, and print
    "Exception ignored ... BrokenPipeError" (the recipe of the ``signal`` docs)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # stdout without a file descriptor (tests, IDEs)
        pass


if __name__ == "__main__":
    sys.exit(main())
