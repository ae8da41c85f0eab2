"""The shipped programs run: the README's examples and the bench CLI (each starts its
own local server, so they work offline)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))


def run(args, timeout=120):
    # The child imports the same geventhttpclient as this test process (the installed
    # one under tox, the source tree in a development run).
    import os

    import geventhttpclient

    env = dict(os.environ)
    env["PYTHONPATH"] = str(Path(geventhttpclient.__file__).resolve().parent.parent)
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd="/",
        env=env,
    )


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_program_runs(path):
    result = run([str(path)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_examples_exist():
    names = {p.name for p in EXAMPLES}
    assert {"simple.py", "facebook_style.py"} <= names


def test_bench_cli_against_embedded_server():
    result = run(["-m", "geventhttpclient", "bench", "-n", "300", "-c", "5"])
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout.lower()
    assert "req" in out and "p99" in out


def test_console_script_runs_the_installed_package():
    # The README's quick start runs the console script: from a clean clone,
    # `python -m geventhttpclient` would import the unbuilt source tree instead.
    import os
    import sysconfig

    import geventhttpclient

    if Path(geventhttpclient.__file__).resolve().parent == ROOT / "geventhttpclient":
        pytest.skip("development run from the source tree: no console script")
    script = Path(sysconfig.get_path("scripts")) / "geventhttpclient"
    assert script.exists(), "the installed package has no geventhttpclient console script"
    result = subprocess.run(
        [str(script), "bench", "-n", "200", "-c", "4"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=str(ROOT),  # the source tree: it must not shadow the installed package
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "errors:       0" in result.stdout
