"""``geventhttpclient bench``: a load tool with hey's and oha's flags.

Its parser is added to the command's subparsers by :func:`add_parser`; the work is
:func:`bench`, which returns the ``--json`` document (docs/bench-schema.json) as a
dict, so that tests and other tools read the figures without parsing text. The
load loop is :mod:`.loadrun`, the worker processes of ``-p`` are :mod:`.workers`,
the figures and the summary :mod:`.report`.

Exit statuses: 0 the run ended (errors or not); 1 ``--fail-on-error`` and at
least one request failed (no response: connection, timeout, protocol errors; an
HTTP status is an answer, counted in ``status_codes``), or the run could not start
(the message is on stderr); 2 a usage error; 130 interrupted by Ctrl-C (SIGINT),
after the summary of what was done; 141 the reader of the output went away (``|
head``), quietly.
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import sys
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import gevent
import gevent.event

from .histogram import Histogram
from .loadrun import Plan, parse_connect_to, run
from .localserver import LocalServer
from .report import Tally, progress_line, result, summary
from .workers import auto_processes, run_processes, worker_main

__all__ = ["add_parser", "bench", "percentile", "parse_duration"]

DEFAULT_REQUESTS = 10000
DEFAULT_CONCURRENCY = 10
DEFAULT_TIMEOUT = 20.0
"""``-t``: hey's default. 0 turns the timeout off."""

_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(ms|s|m|h)?\s*$")
_UNITS = {None: 1.0, "ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    """``"500ms"``, ``"5s"``, ``"1m"``, ``"1h"`` or a bare number of seconds.

    Raises ValueError for anything else."""
    m = _DURATION.match(text)
    if not m:
        raise ValueError(f"not a duration: {text!r} (examples: 500ms, 5s, 1m, 2.5)")
    return float(m.group(1)) * _UNITS[m.group(2)]


def percentile(sorted_values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (0..100) of already sorted values, nearest-rank method."""
    if not sorted_values:
        return 0.0
    rank = max(1, int(-(-p * len(sorted_values) // 100)))  # ceil(p/100 * n)
    return sorted_values[min(rank, len(sorted_values)) - 1]


def bench(
    url: str,
    requests: Optional[int] = DEFAULT_REQUESTS,
    concurrency: int = DEFAULT_CONCURRENCY,
    keepalive: bool = True,
    *,
    duration: Optional[float] = None,
    rate: Optional[float] = None,
    method: str = "GET",
    headers: Sequence[Tuple[str, str]] = (),
    body: Optional[bytes] = None,
    timeout: Optional[float] = DEFAULT_TIMEOUT,
    insecure: bool = False,
    http10: bool = False,
    connect_to: Sequence[str] = (),
    proxy: Optional[str] = None,
    unix_socket: Optional[str] = None,
    processes: int = 1,
    csv: Optional[str] = None,
    stop: Optional[gevent.event.Event] = None,
    progress: Optional[Callable[[Dict[str, Any]], None]] = None,
    tally_out: Optional[List[Tally]] = None,
) -> Dict[str, Any]:
    """Run a load test against ``url`` and return the ``--json`` document.

    ``requests``: how many (None with ``duration``: as many as fit); ``duration``
    in seconds; ``rate``: requests per second in total (open loop) or None (closed
    loop); ``requests``, ``concurrency`` and ``rate`` are totals over the
    ``processes``. ``stop``: set it to end the run early. ``tally_out``: a list
    that receives the merged :class:`Tally` (histograms included).

    Raises ValueError for settings it cannot run, RuntimeError when a worker
    process fails.
    """
    if requests is None and duration is None:
        requests = DEFAULT_REQUESTS
    if requests is not None and requests < 1:
        raise ValueError("-n must be at least 1")
    if concurrency < 1 or processes < 1:
        raise ValueError("-c and -p must be at least 1")
    if concurrency < processes:
        raise ValueError(f"-c {concurrency} is less than -p {processes}: one connection each")
    if duration is not None and duration <= 0:
        raise ValueError("-z must be positive")
    if rate is not None and rate <= 0:
        raise ValueError("-q must be positive")
    for spec in connect_to:
        parse_connect_to(spec)
    plan = Plan(
        url=url,
        method=method,
        headers=list(headers),
        body=body,
        timeout=timeout,
        keepalive=keepalive,
        http10=http10,
        insecure=insecure,
        connect_to=list(connect_to),
        proxy=proxy,
        unix_socket=unix_socket,
        concurrency=concurrency,
        requests=requests,
        duration=duration,
        rate=rate,
        csv=csv,
    )
    if processes == 1:
        tally = run(plan, stop=stop, progress=progress)
    else:
        tally = run_processes(plan, processes, stop=stop, progress=progress)
    if tally_out is not None:
        tally_out.append(tally)
    config = {
        "url": url,
        "method": method,
        "requests": requests,
        "concurrency": concurrency,
        "duration": duration,
        "rate": rate,
        "processes": processes,
        "keepalive": keepalive,
        "http_version": "1.0" if http10 else "1.1",
        "timeout": timeout or None,
    }
    return result(tally, config)


# -- the command ---------------------------------------------------------------------


def _duration_arg(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _processes_arg(text: str) -> int:
    if text == "auto":
        return auto_processes()
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"-p takes a number or 'auto', not {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError("-p must be at least 1")
    return n


def _header_arg(text: str) -> Tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name.strip() or name != name.strip():
        raise argparse.ArgumentTypeError(f"-H takes 'Name: value', not {text!r}")
    return name, value.strip()


def _connect_to_arg(text: str) -> str:
    try:
        parse_connect_to(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _read_body(args: argparse.Namespace) -> Optional[bytes]:
    """``-d DATA`` (``@FILE`` reads a file, ``@-`` standard input) or ``-D FILE``."""
    if args.data_file is not None:
        source = "@" + args.data_file
    elif args.data is not None:
        source = args.data
    else:
        return None
    if source.startswith("@"):
        name = source[1:]
        if name == "-":
            return sys.stdin.buffer.read()
        with open(name, "rb") as f:
            return f.read()
    return source.encode("utf-8")


class _Progress:
    """The live line on stderr: rewritten in place once a second."""

    def __init__(self, total: Optional[int], duration: Optional[float]) -> None:
        self.total = total
        self.duration = duration
        self.shown = False

    def __call__(self, snap: Dict[str, Any]) -> None:
        window = Histogram.from_dict(snap["window"])
        p50, p99 = window.percentiles((50.0, 99.0))
        line = progress_line(
            snap["elapsed"],
            snap["done"],
            self.total,
            None if self.duration is None else self.duration - snap["elapsed"],
            snap["rps"],
            snap["errors"],
            p50,
            p99,
            snap["connections"],
        )
        sys.stderr.write("\r" + line + "\033[K")
        sys.stderr.flush()
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


def _cmd_bench(args: argparse.Namespace) -> int:
    if args.worker:
        return worker_main()
    try:
        body = _read_body(args)
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    headers: List[Tuple[str, str]] = list(args.header or [])
    if args.content_type and not any(n.lower() == "content-type" for n, _ in headers):
        headers.append(("Content-Type", args.content_type))
    method = (args.method or ("POST" if body is not None else "GET")).upper()
    requests = args.requests
    if requests is None and args.duration is None:
        requests = DEFAULT_REQUESTS
    server: Optional[LocalServer] = None
    url = args.url
    if url is None:
        server = LocalServer().start()
        url = server.url
    stop = gevent.event.Event()
    watcher = gevent.signal_handler(signal.SIGINT, _first_interrupt, stop)
    _first_interrupt.watcher = watcher  # type: ignore[attr-defined]
    show = _Progress(requests, args.duration) if sys.stderr.isatty() else None
    tallies: List[Tally] = []
    try:
        res = bench(
            url,
            requests,
            args.concurrency,
            args.keepalive,
            duration=args.duration,
            rate=args.rate,
            method=method,
            headers=headers,
            body=body,
            timeout=args.timeout,
            insecure=args.insecure,
            http10=args.http10,
            connect_to=args.connect_to or (),
            proxy=args.proxy,
            unix_socket=args.unix_socket,
            processes=args.processes,
            csv=args.csv,
            stop=stop,
            progress=show,
            tally_out=tallies,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        watcher.cancel()
        if show is not None:
            show.clear()
        if server is not None:
            server.stop()
    text = summary(res, tallies[0].latency if tallies else None)
    if args.json and args.json != "-":
        with open(args.json, "w") as f:
            json.dump(res, f, indent=2)
            f.write("\n")
    # A closed pipe (``| head``) raises BrokenPipeError here: the command line's
    # main() ends the command quietly with 141, as for ``get``.
    if args.json == "-":
        print(text, file=sys.stderr)
        json.dump(res, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(text)
    sys.stdout.flush()
    if res["interrupted"]:
        return 130
    if args.fail_on_error and res["errors"]:
        return 1
    return 0


def _first_interrupt(stop: gevent.event.Event) -> None:
    """Ctrl-C: end the run, still print the summary. A second Ctrl-C is Python's
    own (KeyboardInterrupt), for a run that does not end."""
    stop.set()
    watcher = getattr(_first_interrupt, "watcher", None)
    if watcher is not None:
        watcher.cancel()
    signal.signal(signal.SIGINT, signal.default_int_handler)


def add_parser(sub: Any) -> None:
    """Add ``bench`` to the command line's subparsers (``sub``)."""
    b = sub.add_parser(
        "bench",
        help="load test: requests/s, latency percentiles and phases, open or closed loop",
        description="Load-test URL (without URL, an embedded server on 127.0.0.1) and "
        "report requests/s, latency percentiles, a histogram, status codes, errors, "
        "where the time went (phases) and the client's own event-loop lag. Closed loop "
        "by default; -q gives an open loop whose latency counts from each request's "
        "scheduled start. Exit status: 0 done, 1 failed requests with --fail-on-error "
        "(or the run could not start), 2 usage, 130 interrupted (Ctrl-C; the summary "
        "is still printed), 141 the output's reader went away.",
    )
    b.add_argument("url", nargs="?", help="http:// or https:// URL (default: embedded server)")
    b.add_argument(
        "-n",
        "--requests",
        type=int,
        default=None,
        help=f"requests in total (default {DEFAULT_REQUESTS}; with -z, a cap if given)",
    )
    b.add_argument(
        "-c",
        "--concurrency",
        type=int,
        default=DEFAULT_CONCURRENCY,
        help=f"connections (and greenlets) in total (default {DEFAULT_CONCURRENCY})",
    )
    b.add_argument(
        "-z", "--duration", type=_duration_arg, help="run this long: 500ms, 5s, 1m or seconds"
    )
    b.add_argument(
        "-q",
        "--rate",
        type=float,
        help="open loop: this many requests per second in total (not per worker, as in hey)",
    )
    b.add_argument("-m", "--method", help="request method (default GET, POST with -d/-D)")
    b.add_argument(
        "-H",
        "--header",
        action="append",
        type=_header_arg,
        help="'Name: value', repeatable",
    )
    b.add_argument("-d", "--data", help="request body; @FILE reads a file, @- standard input")
    b.add_argument("-D", "--data-file", help="request body from FILE")
    b.add_argument("-T", "--content-type", help="Content-Type of the body")
    b.add_argument(
        "-t",
        "--timeout",
        type=_duration_arg,
        default=DEFAULT_TIMEOUT,
        help=f"timeout of every wait for the server: connect, each read and write"
        f" (default {DEFAULT_TIMEOUT:g} s; 0: none)",
    )
    b.add_argument(
        "-k", "--insecure", action="store_true", help="do not verify the TLS certificate"
    )
    b.add_argument(
        "--keepalive",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="reuse connections (default); --no-keepalive sends Connection: close",
    )
    b.add_argument("--http1.0", dest="http10", action="store_true", help="send HTTP/1.0")
    b.add_argument(
        "--connect-to",
        action="append",
        type=_connect_to_arg,
        metavar="HOST1:PORT1:HOST2:PORT2",
        help="connect to HOST2:PORT2 for HOST1:PORT1 (Host and TLS name stay the URL's)",
    )
    b.add_argument(
        "-x",
        "--proxy",
        metavar="URL",
        help="through this proxy: http://, https://, socks5://, socks5h://, socks4://, "
        "socks4a:// (credentials in the URL)",
    )
    b.add_argument(
        "--unix-socket",
        metavar="PATH",
        help="connect to this Unix domain socket instead (the URL still names the host)",
    )
    b.add_argument("--json", metavar="FILE", help="write the results as JSON ('-': stdout)")
    b.add_argument("--csv", metavar="FILE", help="one row per request (hey's columns + phases)")
    b.add_argument(
        "--fail-on-error",
        action="store_true",
        help="exit status 1 when any request failed (no response)",
    )
    b.add_argument(
        "-p",
        "--processes",
        type=_processes_arg,
        default=1,
        help="worker processes, each with its own event loop (default 1; auto: cores)",
    )
    b.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    b.set_defaults(func=_cmd_bench)
