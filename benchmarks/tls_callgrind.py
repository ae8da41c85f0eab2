"""Client instructions per /small request, plain and over TLS: ours against the loops.

    python benchmarks/tls_callgrind.py        # needs valgrind; CPython only

The ``tls`` section's /small requests/s move by several percent between rounds on
this machine; callgrind's counts move less (within about 6k between runs: how many
responses the hub finds ready per wake-up at c=10 varies). Each worker (``floor.py`` or
``floor_tls.py``, the raw gevent loops, and ``ours.py``) runs /small at c=10 with
keep-alive under callgrind for 1,000 and for 3,000 requests after a 200-request
warm-up; the difference divided by 2,000 is its client's instructions per request,
start-up and warm-up cancelled out. Over TLS that includes OpenSSL's record work.
Counts are user-space only: the kernel's share (the loopback, the syscalls) is the
same for both clients and is not in them, so a ratio here is wider than the same
ratio of requests/s. Uses the suite's ``ours`` virtualenv, refreshed from the work
tree as ``run.py`` does.
"""

from __future__ import annotations

import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENTS = os.path.join(HERE, "clients")
sys.path.insert(0, HERE)

import _envs  # noqa: E402
from _nginx import Nginx  # noqa: E402
from _stats import callgrind_per_request  # noqa: E402

SHORT, LONG, WARM = 1000, 3000, 200
RUNS = [  # scheme, peer, script
    ("http", "floor", "floor.py"),
    ("http", "ours", "ours.py"),
    ("https", "floor-tls", "floor_tls.py"),
    ("https", "ours", "ours.py"),
]


def count(py: str, script: str, url: str, extra: list, tmp: str) -> float:
    def command(n: int) -> list:
        args = [py, os.path.join(CLIENTS, script), "--url", url, "--concurrency", "10"]
        return args + ["--n", str(n), "--warmup", str(WARM), *extra]

    return callgrind_per_request(command, SHORT, LONG, tmp, script, cwd=CLIENTS)


def main() -> None:
    if not _envs.ensure("cpython", "ours", reinstall_ours=True):
        raise SystemExit("no cpython virtualenv for our package")
    py = _envs.venv_python("cpython", "ours")
    got = {}
    ng = Nginx().start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for scheme, peer, script in RUNS:
                if scheme == "https":
                    url, extra = ng.https_url("/small"), ["--cafile", ng.cafile]
                else:
                    url, extra = ng.url("/small"), []
                got[scheme, peer] = count(py, script, url, extra, tmp)
                print(
                    f"{scheme:5s} {peer:10s} {got[scheme, peer] / 1000:7.1f}k instructions/request"
                )
    finally:
        ng.stop()
    for scheme, floor in (("http", "floor"), ("https", "floor-tls")):
        ours, base = got[scheme, "ours"], got[scheme, floor]
        print(
            f"{scheme:5s} {floor}/ours {base / ours:.2f}  (ours - {floor}: {(ours - base) / 1000:+.1f}k)"
        )
    for peer, plain, tls in (("floor", "floor", "floor-tls"), ("ours", "ours", "ours")):
        extra = got["https", tls] - got["http", plain]
        print(f"TLS's cost to {peer}: {extra / 1000:+.1f}k")


if __name__ == "__main__":
    main()
