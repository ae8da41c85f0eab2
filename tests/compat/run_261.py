"""Run geventhttpclient 2.6.1's own offline test suite against the installed package.

The drop-in promise ("a program written for 2.6.1 runs unchanged") is only as true as
the oracle that backs it, and the best oracle is 2.6.1's own tests. They are not
copied into this repository: this script downloads the 2.6.1 sdist from the package
index at test time, unpacks it into a scratch directory and runs its ``tests/``
there with ``-m "not network"``. The scratch directory holds no ``geventhttpclient``
package (the sdist keeps its sources under ``src/``, which we leave out), so the
tests import the installed package: ours.

The few tests we deliberately do not pass are listed, one per line with a reason, in
``known_differences.txt`` beside this script; they are deselected, and a listed test
that no longer exists is an error (so the list cannot rot).

    python tests/compat/run_261.py                 # download, run, clean up
    python tests/compat/run_261.py -k test_url     # extra arguments go to pytest

``GHC_COMPAT_SDIST`` may name an already downloaded sdist (for repeated local runs).

2.6.1's tests listen on a fixed port (54323). Where we can (root, with ``unshare`` and
``ip``), the suite runs in a network namespace of its own, with only a loopback
interface: two runs at once cannot collide, nothing else on the machine can hold the
port, and a test that tried to reach the internet would fail rather than depend on it.
``GHC_COMPAT_NETNS=0`` turns that off.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

VERSION = "2.6.1"
HERE = Path(__file__).resolve().parent
KNOWN = HERE / "known_differences.txt"

# 2.6.1's pytest configuration, restated: only its marker matters here.
PYTEST_INI = """[pytest]
markers =
    network: tests which require internet access
"""


MAX_DIFFERENCES = 8
"""Issue 11: at most this many of 2.6.1's tests may be listed as deliberate differences."""


def known_differences() -> list[str]:
    """Test ids from known_differences.txt: ``<id>  # <reason>`` per line."""
    ids = []
    for line in KNOWN.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        test_id, sep, reason = line.partition("#")
        if not sep or not reason.strip():
            raise SystemExit(f"{KNOWN.name}: every entry needs a '# reason': {line!r}")
        ids.append(test_id.strip())
    return ids


def fetch_sdist(into: Path) -> Path:
    given = os.environ.get("GHC_COMPAT_SDIST")
    if given:
        return Path(given)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--no-binary",
            ":all:",
            f"geventhttpclient=={VERSION}",
            "-d",
            str(into),
        ],
        check=True,
    )
    (sdist,) = into.glob(f"geventhttpclient-{VERSION}.tar.gz")
    return sdist


def unpack_tests(sdist: Path, into: Path) -> Path:
    """Extract only ``tests/`` of the sdist into ``into``; return ``into``."""
    prefix = f"geventhttpclient-{VERSION}/tests/"
    with tarfile.open(sdist) as tar:
        members = [
            m for m in tar.getmembers() if m.name.startswith(prefix) and (m.isfile() or m.isdir())
        ]
        for m in members:
            m.name = m.name[len(f"geventhttpclient-{VERSION}/") :]
        tar.extractall(into, members=members)  # noqa: S202 - names checked above
    (into / "pytest.ini").write_text(PYTEST_INI)
    return into


def _exists(run: Path, test_id: str) -> bool:
    """Whether ``file::test`` names a test function of the unpacked suite (pytest
    silently ignores a --deselect that matches nothing, so the list could rot)."""
    path, _, name = test_id.partition("::")
    source = run / path
    name = name.split("[")[0].split("::")[-1]
    return source.is_file() and f"def {name}(" in source.read_text()


def isolated(cmd: list[str]) -> list[str]:
    """``cmd`` wrapped to run in a private network namespace, when that is possible."""
    if os.environ.get("GHC_COMPAT_NETNS", "1") == "0":
        return cmd
    if not (hasattr(os, "geteuid") and os.geteuid() == 0):
        return cmd
    unshare, ip = shutil.which("unshare"), shutil.which("ip")
    if not (unshare and ip):
        return cmd
    probe = subprocess.run([unshare, "-n", ip, "link", "set", "lo", "up"], capture_output=True)
    if probe.returncode != 0:  # e.g. inside a container without CAP_SYS_ADMIN
        return cmd
    return [unshare, "-n", "sh", "-c", f'"{ip}" link set lo up && exec "$@"', "sh", *cmd]


def main(argv: list[str]) -> int:
    deselect = known_differences()
    if len(deselect) > MAX_DIFFERENCES:
        print(f"{KNOWN.name}: {len(deselect)} tests, at most {MAX_DIFFERENCES}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="ghc-compat-") as tmp:
        scratch = Path(tmp)
        sdist = fetch_sdist(scratch)
        unpack_tests(sdist, scratch / "run")
        run = scratch / "run"
        missing = [t for t in deselect if not _exists(run, t)]
        if missing:
            print(f"{KNOWN.name} names tests 2.6.1 does not have: {missing}", file=sys.stderr)
            return 2
        cmd = [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-m",
            "not network",
            "-rfEs",
        ]
        if not any(a.startswith("tests") for a in argv):
            cmd.append("tests")  # the whole suite unless paths were given
        for test_id in deselect:
            cmd += ["--deselect", test_id]
        cmd += argv
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
        env.pop("PYTHONSAFEPATH", None)  # the suite imports its own 'tests' package from cwd
        print("compat:", " ".join(cmd), flush=True)
        return subprocess.call(isolated(cmd), cwd=run, env=env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
