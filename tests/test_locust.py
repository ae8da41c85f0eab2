"""Locust's FastHttpUser runs on this package: the Locust job (``tox -e locust``).

Runs ``tests/locust/run_check.py`` in a subprocess: a headless Locust run of
``tests/locust/locustfile.py`` against ``tests/locust/target_server.py``, then the
checks of its statistics (see run_check.py); then again with ``--otel``: the same
users traced by ``geventhttpclient.contrib.opentelemetry`` (``locustfile_otel.py``),
the same checks, and checks of the spans and durations. Skipped where Locust is not installed
(every env but ``locust``). Locust is never imported here: importing it
monkey-patches the whole process.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest

RUN_CHECK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "locust", "run_check.py")


def locust_installed() -> bool:
    """Locust is importable as a real package. pytest puts tests/ on sys.path, where
    the folder tests/locust/ would pass for a namespace package called locust."""
    spec = importlib.util.find_spec("locust")
    return spec is not None and spec.origin not in (None, "namespace")


def otel_sdk_installed() -> bool:
    try:
        return importlib.util.find_spec("opentelemetry.sdk") is not None
    except ImportError:  # no opentelemetry package at all
        return False


def run_check(*args: str) -> None:
    proc = subprocess.run(
        [sys.executable, RUN_CHECK, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=300,
    )
    print(proc.stdout)
    failed = [line.strip() for line in proc.stdout.splitlines() if line.startswith("  FAIL")]
    assert proc.returncode == 0, "Locust job failed:\n" + "\n".join(failed or [proc.stdout[-3000:]])


@pytest.mark.skipif(not locust_installed(), reason="locust is not installed (tox -e locust)")
@pytest.mark.hub_block_limit(600)  # waits on the subprocess without yielding to the hub
def test_locust_fasthttpuser_scenario():
    run_check()


@pytest.mark.skipif(not locust_installed(), reason="locust is not installed (tox -e locust)")
@pytest.mark.skipif(
    not otel_sdk_installed(), reason="opentelemetry-sdk is not installed (tox -e locust)"
)
@pytest.mark.hub_block_limit(600)
def test_locust_fasthttpuser_scenario_traced_by_instrument():
    """The same run with instrument() in the locustfile: the same stats, and a span per
    HTTP exchange of every request kind (run_check.py --otel)."""
    run_check("--otel")
