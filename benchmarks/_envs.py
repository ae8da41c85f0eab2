"""Virtualenvs for the benchmark peers (benchmarks/.venvs/<interp>-<name>)."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
# GHC_BENCH_VENVS: keep the peers' virtualenvs elsewhere (e.g. one per CI run).
VENVS = os.path.abspath(os.environ.get("GHC_BENCH_VENVS") or os.path.join(HERE, ".venvs"))


def cpython_exe() -> str:
    if sys.implementation.name == "cpython":
        return sys.executable
    cands = sorted(glob.glob("/root/.pyenv/versions/3.11*/bin/python3.11"))
    cands += [shutil.which("python3.11") or "", shutil.which("python3") or ""]
    for c in cands:
        if c and os.path.exists(c):
            return c
    raise SystemExit("no CPython found")


def pypy_exe() -> str:
    for c in (shutil.which("pypy3"), "/usr/bin/pypy3"):
        if c and os.path.exists(c):
            return c
    raise SystemExit("no PyPy found")


def exe_for(interp: str) -> str:
    return cpython_exe() if interp == "cpython" else pypy_exe()


LOCUST = "locust==2.47.0"

# name -> interp -> list of pip requirements (None = not on this interpreter)
SPECS = {
    "ours": {"cpython": [REPO, "py-spy"], "pypy": [REPO]},
    "upstream": {"cpython": ["geventhttpclient==2.6.1"], "pypy": ["geventhttpclient==2.4.0"]},
    "sync": {
        "cpython": ["gevent", "urllib3", "requests", "httpx"],
        "pypy": ["gevent", "urllib3", "requests", "httpx"],
    },
    "aio": {"cpython": ["aiohttp", "uvloop"], "pypy": None},
    "curl": {"cpython": ["pycurl"], "pypy": None},
    # The locust section: the same Locust in both. `locust` pulls in geventhttpclient
    # 2.x; in locust-ours this repo replaces it (_locust.py reinstalls it on every run
    # with --force-reinstall --no-deps, as tox.ini's [testenv:locust] does). Locust
    # 2.47 needs Python >= 3.11: no PyPy 3.9.
    "locust-ours": {"cpython": [LOCUST, "brotlicffi", REPO], "pypy": None},
    "locust-upstream": {"cpython": [LOCUST, "brotlicffi", "geventhttpclient==2.6.1"], "pypy": None},
}
OPTIONAL = {"curl", "aio"}


def venv_dir(interp: str, name: str) -> str:
    return os.path.join(VENVS, f"{interp}-{name}")


def venv_python(interp: str, name: str) -> str:
    d = venv_dir(interp, name)
    for p in ("bin/python", "bin/pypy3"):
        if os.path.exists(os.path.join(d, p)):
            return os.path.join(d, p)
    return os.path.join(d, "bin/python")


_SNAPSHOT = None


def repo_snapshot() -> str:
    """A copy of the work tree (not .git, benchmarks, build output) to pip-install from,
    so that the build never writes into the repository other people are editing."""
    global _SNAPSHOT
    if _SNAPSHOT is None:
        import tempfile

        dst = os.path.join(tempfile.mkdtemp(prefix="ghc-bench-src-"), "src")
        ignore = shutil.ignore_patterns(
            ".git",
            "benchmarks",
            "build",
            "dist",
            "*.egg-info",
            "*.so",
            "*.o",
            ".tox",
            ".venv*",
            "venv*",
            ".*cache",
            ".hypothesis",
            "__pycache__",
            "_cparser.c",
            "out",
        )
        shutil.copytree(REPO, dst, ignore=ignore)
        _SNAPSHOT = dst
    return _SNAPSHOT


def _pipreq(r: str) -> str:
    return repo_snapshot() if r == REPO else r


def _run(cmd, log):
    log.write("$ " + " ".join(cmd) + "\n")
    log.flush()
    return subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT).returncode


def ensure(interp: str, name: str, reinstall_ours: bool = True, log=None) -> bool:
    """Create/refresh one venv; returns False if it could not be made (optional peers)."""
    reqs = SPECS[name][interp]
    if reqs is None:
        return False
    os.makedirs(VENVS, exist_ok=True)
    d = venv_dir(interp, name)
    stamp = os.path.join(d, ".bench-ok")
    logpath = os.path.join(VENVS, f"{interp}-{name}.log")
    with open(logpath, "a") as log:
        if not os.path.exists(stamp):
            if os.path.exists(d):
                shutil.rmtree(d)
            if _run([exe_for(interp), "-m", "venv", d], log) != 0:
                print(f"  [setup] {interp}-{name}: venv creation failed (see {logpath})")
                return False
            py = venv_python(interp, name)
            _run([py, "-m", "pip", "install", "-q", "-U", "pip", "setuptools", "wheel"], log)
            failed = []
            for r in reqs:
                if _run([py, "-m", "pip", "install", "-q", _pipreq(r)], log) != 0:
                    failed.append(r)
            if failed and (name not in OPTIONAL or len(failed) == len(reqs)):
                # py-spy is a nice-to-have in "ours"
                if not (name == "ours" and failed == ["py-spy"]):
                    print(f"  [setup] {interp}-{name}: failed to install {failed} (see {logpath})")
                    return False
            open(stamp, "w").write(" ".join(reqs) + "\n")
        elif name == "ours" and reinstall_ours:
            # The package under test changes: rebuild it from the work tree every run.
            py = venv_python(interp, name)
            rc = _run(
                [
                    py,
                    "-m",
                    "pip",
                    "install",
                    "-q",
                    "--force-reinstall",
                    "--no-deps",
                    repo_snapshot(),
                ],
                log,
            )
            if rc != 0:
                print(f"  [setup] {interp}-ours: reinstall failed (see {logpath})")
                return False
    return True


def has_module(interp: str, name: str, module: str) -> bool:
    py = venv_python(interp, name)
    return (
        os.path.exists(py)
        and subprocess.run([py, "-c", f"import {module}"], capture_output=True).returncode == 0
    )


if __name__ == "__main__":
    interps = sys.argv[1:] or ["cpython"]
    for i in interps:
        for n in SPECS:
            print(i, n, ensure(i, n))
