"""``geventhttpclient bench``: every flag and every line of the summary, against the
embedded server's routes (geventhttpclient/_cli/localserver.py) and, where the
test must see the bytes the client sent, a scripted server (conftest).

Most runs call :func:`bench` in this process (the server shares the hub); the
command's own behaviour (exit statuses, the progress line on a terminal, Ctrl-C,
``-p`` worker processes) runs ``python -m geventhttpclient bench`` in a subprocess.
Every JSON document a run produces is checked against docs/bench-schema.json.
"""

from __future__ import annotations

import csv
import json
import os
import platform
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Tuple

import gevent
import gevent.subprocess
import pytest
from conftest import keep_alive

import geventhttpclient
from geventhttpclient._cli.bench import bench, parse_duration
from geventhttpclient._cli.histogram import Histogram
from geventhttpclient._cli.loadrun import CSV_COLUMNS, PHASE_SAMPLE
from geventhttpclient._cli.localserver import LocalServer
from geventhttpclient._cli.report import (
    BEHIND_SCHEDULE,
    SATURATION_LAG,
    SATURATION_MESSAGE,
    Tally,
    summary,
)

PYPY = platform.python_implementation() == "PyPy"

# PyPy: compiling the load loop and the server's loop stops the process for 0.2-0.5 s
# at a time (seen: 0.45 s in the -q 1000 run), and its major collections of the
# histograms' 32,768-slot lists add to that; conftest's limit is for short requests.
pytestmark = [pytest.mark.hub_block_limit(1.2)] if PYPY else []

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "docs" / "bench-schema.json").read_text())


# -- the schema checker ----------------------------------------------------------------

_KEYWORDS = {
    "$schema", "$id", "$ref", "$defs", "title", "description", "type", "enum", "const",
    "minimum", "maximum", "required", "properties", "additionalProperties", "items", "anyOf",
}  # fmt: skip
_TYPES = {
    "object": dict,
    "array": list,
    "string": str,
    "boolean": bool,
    "null": type(None),
}


def _type_ok(value: Any, name: str) -> bool:
    if name == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if name == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, _TYPES[name])


def check_schema(value: Any, schema: Dict[str, Any] = SCHEMA, path: str = "$") -> List[str]:
    """The ways ``value`` breaks ``schema`` (the JSON Schema keywords the bench
    schema uses; :func:`test_schema_uses_only_keywords_the_checker_knows` keeps it so)."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return check_schema(value, SCHEMA["$defs"][name], path)
    if "anyOf" in schema:
        if any(not check_schema(value, s, path) for s in schema["anyOf"]):
            return []
        return [f"{path}: matches none of anyOf"]
    errors: List[str] = []
    if "const" in schema and value != schema["const"]:
        errors.append(f"{path}: {value!r} is not {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{path}: {value!r} not in {schema['enum']}")
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_type_ok(value, t) for t in types):
            return errors + [f"{path}: {type(value).__name__} is not {types}"]
    if _type_ok(value, "number"):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append(f"{path}: {value} < {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            errors.append(f"{path}: {value} > {schema['maximum']}")
    if isinstance(value, dict):
        for key in schema.get("required", []):
            if key not in value:
                errors.append(f"{path}: {key!r} missing")
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        for key, item in value.items():
            if key in props:
                errors += check_schema(item, props[key], f"{path}.{key}")
            elif extra is False:
                errors.append(f"{path}: {key!r} not in the schema")
            elif isinstance(extra, dict):
                errors += check_schema(item, extra, f"{path}.{key}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            if i % 256 == 255:
                gevent.idle()  # thousands of histogram buckets: let the hub run
            errors += check_schema(item, schema["items"], f"{path}[{i}]")
    return errors


def checked(res: Dict[str, Any]) -> Dict[str, Any]:
    """``res`` after checking it against the schema (and that it is JSON)."""
    res = json.loads(json.dumps(res))
    problems = check_schema(res)
    assert not problems, problems
    return res


def test_schema_uses_only_keywords_the_checker_knows():
    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "type" in node or "properties" in node or "$ref" in node or "anyOf" in node:
                assert set(node) <= _KEYWORDS, set(node) - _KEYWORDS
            for key, child in node.items():
                if key in ("properties", "$defs"):
                    for sub in child.values():
                        walk(sub)
                elif key not in ("description", "enum", "const", "required"):
                    walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(SCHEMA)


def test_schema_checker_finds_what_is_wrong():
    res = checked(bench(SERVER.url, 20, 2))
    broken = dict(res, rps="fast", extra=1)
    del broken["latency"]
    problems = " ".join(check_schema(broken))
    assert "rps" in problems and "extra" in problems and "latency" in problems


# -- servers and the command -------------------------------------------------------------

SERVER = LocalServer().start()  # the plain routes: one server for the whole module


def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """``python -m geventhttpclient bench ARGS`` with this test's geventhttpclient,
    waited for cooperatively (the hub keeps this module's servers serving)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(Path(geventhttpclient.__file__).resolve().parent.parent)
    return gevent.subprocess.run(
        [sys.executable, "-m", "geventhttpclient", "bench", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd="/",
        env=env,
    )


# -- durations and flags -------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, seconds",
    [("500ms", 0.5), ("5s", 5.0), ("1m", 60.0), ("2.5", 2.5), ("1h", 3600.0), (" 3 ", 3.0)],
)
def test_durations_take_a_unit_or_seconds(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["5x", "", "ms", "-1s", "1.2.3"])
def test_a_bad_duration_is_refused(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_a_bad_flag_value_is_a_usage_error_with_status_2():
    for args in (["-z", "soon"], ["-p", "many"], ["-H", "no-colon"], ["--connect-to", "a:b"]):
        result = cli(*args)
        assert result.returncode == 2, (args, result.stderr)
        assert "error" in result.stderr


# -- closed loop: -n, -c, -z ---------------------------------------------------------------


def test_n_requests_at_concurrency_c():
    res = checked(bench(SERVER.url, 300, 5))
    assert res["mode"] == "closed"
    assert res["requests"] == res["responses"] == 300
    assert res["status_codes"] == {"200": 300}
    assert res["errors"] == 0 and res["success_rate"] == 1.0
    assert res["connections"] == {"opened": 5, "reused": 295, "discarded": 0}
    assert res["config"]["requests"] == 300 and res["config"]["concurrency"] == 5
    assert res["latency"]["count"] == 300
    assert res["body_bytes"] == 300 * 56
    assert res["rps"] == pytest.approx(300 / res["duration"])


def test_duration_runs_for_that_long():
    res = checked(bench(SERVER.url, None, 4, duration=1.0))
    assert res["config"]["requests"] is None and res["config"]["duration"] == 1.0
    assert 1.0 <= res["duration"] < 1.5
    assert res["requests"] > 100 and res["errors"] == 0


def test_duration_with_n_stops_at_whichever_comes_first():
    res = checked(bench(SERVER.url, 50, 2, duration=30.0))
    assert res["requests"] == 50 and res["duration"] < 5


# -- open loop (-q) -------------------------------------------------------------------------


def test_rate_for_a_duration_sends_rate_times_duration_requests():
    # The figure: -z 5s -q 1000 against a healthy server sends 5,000 within 1 %.
    res = checked(bench(SERVER.url, None, 10, duration=5.0, rate=1000))
    assert res["mode"] == "open"
    assert abs(res["requests"] - 5000) <= 50, res["requests"]
    assert res["errors"] == 0
    assert 4.99 <= res["duration"]  # the last start is due at 4.999 s
    # ... and it ends soon after, unless the client fell behind (and says so)
    assert res["duration"] < 5.5 or res["client"]["saturated"], (res["duration"], res["client"])
    assert res["latency"]["corrected"] is True
    assert res["latency_uncorrected"]["count"] == res["requests"]
    # On schedule, or the tool says why not: a client that cannot keep the rate is
    # saturated. (PyPy on this 2-core machine, server and client in this one
    # process: its JIT compiles for 0.1-0.2 s at a time in the first seconds, the
    # loop lags, 2,000-3,800 of the 5,000 sends start >= 10 ms late, lag p99 24-85 ms:
    # so it is told "client saturated". CPython: 18-79 late, lag p99 7-10 ms.)
    if res["schedule"]["behind"] > 0.2 * res["requests"]:
        assert res["client"]["saturated"], (res["schedule"], res["client"])
    assert res["phases"]["schedule"]["count"] == res["requests"]


def stall_csv_slow(path: Path, over: float) -> int:
    slow = 0
    with open(path, newline="") as f:
        for i, row in enumerate(csv.DictReader(f)):
            slow += float(row["response-time"]) > over
            if i % 1000 == 999:
                gevent.idle()  # some 20,000 rows: let the hub run
    return slow


def test_open_loop_latency_shows_a_stall_that_the_closed_loop_hides(tmp_path):
    # The test: the server stalls 1 s once, 2 s into the run, under -q 1000 -z 5s.
    with LocalServer(stall_at=2.0, stall_for=1.0) as server:
        opened = checked(bench(server.url, None, 10, duration=5.0, rate=1000))
    assert opened["latency"]["p99"] >= 0.5, opened["latency"]
    # the requests that should have started during the stall waited for it to end
    assert opened["schedule"]["behind"] >= 500, opened["schedule"]
    assert opened["latency_uncorrected"]["p99"] < opened["latency"]["p99"]
    assert abs(opened["requests"] - 5000) <= 50

    rows = tmp_path / "closed.csv"
    with LocalServer(stall_at=2.0, stall_for=1.0) as server:
        closed = checked(bench(server.url, None, 10, duration=5.0, csv=str(rows)))
    # closed loop: the stall is a few slow samples (one per connection), not the p99
    slow = stall_csv_slow(rows, 0.5)
    assert 1 <= slow <= 2 * 10, slow
    assert closed["latency"]["max"] >= 0.9
    assert closed["latency"]["p99"] < 0.5


def test_rate_with_n_sends_n_at_that_rate():
    res = checked(bench(SERVER.url, 200, 4, rate=400))
    assert res["requests"] == 200
    assert 0.45 <= res["duration"] < 0.8  # the last start is due at 199/400 s


# -- request flags: -m -H -d -D -T --http1.0 --no-keepalive --connect-to ---------------


@pytest.fixture
def recorder(server_factory):
    def respond(conn, req):
        conn.respond(200, b"ok")

    return server_factory(keep_alive(respond))


def test_method_headers_body_and_content_type_are_sent(recorder):
    res = checked(
        bench(
            recorder.base + "/path?q=1",
            3,
            1,
            method="PUT",
            headers=[
                ("X-Token", "abc"),
                ("Accept", "text/plain"),
                ("User-Agent", "mine/1"),
                ("Cookie", "a=1"),
                ("Cookie", "b=2"),
            ],
            body=b"hello",
        )
    )
    assert res["status_codes"] == {"200": 3}
    for req in recorder.requests:
        assert req["method"] == "PUT" and req["target"] == "/path?q=1"
        assert req["headers"]["x-token"] == ["abc"]
        assert req["headers"]["accept"] == ["text/plain"]
        assert req["headers"]["user-agent"] == ["mine/1"]  # -H replaces a default
        assert req["headers"]["cookie"] == ["a=1", "b=2"]  # and may repeat a name
        assert req["body"] == b"hello"


def test_the_command_sends_d_at_file_with_t_as_post(recorder, tmp_path):
    body = tmp_path / "body.json"
    body.write_bytes(b'{"a": 1}')
    result = cli(
        recorder.base + "/", "-n", "2", "-c", "1", "-d", f"@{body}", "-T", "application/json",
        "-H", "Authorization: Bearer x",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert len(recorder.requests) == 2
    for req in recorder.requests:
        assert req["method"] == "POST"  # -d without -m: POST, as curl
        assert req["body"] == b'{"a": 1}'
        assert req["headers"]["content-type"] == ["application/json"]
        assert req["headers"]["authorization"] == ["Bearer x"]


def test_the_command_sends_D_file_with_the_method_of_m(recorder, tmp_path):
    body = tmp_path / "body.bin"
    body.write_bytes(b"\x00\x01binary")
    result = cli(recorder.base + "/", "-n", "1", "-c", "1", "-D", str(body), "-m", "patch")
    assert result.returncode == 0, result.stderr
    (req,) = recorder.requests
    assert req["method"] == "PATCH" and req["body"] == b"\x00\x01binary"


def test_echo_route_answers_what_the_flags_sent():
    res = checked(bench(SERVER.url + "echo", 4, 2, method="POST", body=b"x" * 100))
    assert res["status_codes"] == {"200": 4}
    assert res["body_bytes"] > 4 * 100  # the echo carries the body back, and the head


def test_http10_sends_http_1_0(recorder):
    checked(bench(recorder.base + "/", 2, 1, http10=True))
    assert {req["version"] for req in recorder.requests} == {"HTTP/1.0"}


def test_no_keepalive_opens_a_connection_per_request():
    res = checked(bench(SERVER.url, 40, 4, keepalive=False))
    assert res["responses"] == 40
    assert res["connections"]["opened"] == 40 and res["connections"]["reused"] == 0
    assert res["config"]["keepalive"] is False
    # every request was on a new connection: every sample has a connect phase
    assert res["phases"]["connect"]["count"] == res["phases"]["wait"]["count"] > 0


def test_keepalive_reuses_connections():
    res = checked(bench(SERVER.url, 40, 4, keepalive=True))
    assert res["connections"]["opened"] == 4 and res["connections"]["reused"] == 36


def test_connect_to_sends_to_another_address_with_the_urls_host(recorder):
    res = checked(
        bench(
            "http://api.example.invalid:8080/x",
            2,
            1,
            connect_to=[f"api.example.invalid:8080:127.0.0.1:{recorder.port}"],
        )
    )
    assert res["status_codes"] == {"200": 2}
    assert {req["headers"]["host"][0] for req in recorder.requests} == {"api.example.invalid:8080"}


def test_connect_to_for_another_host_changes_nothing(recorder):
    res = checked(bench(recorder.base + "/", 1, 1, connect_to=["other.invalid:80:127.0.0.1:9"]))
    assert res["status_codes"] == {"200": 1}


# -- -t, -k, errors, statuses -----------------------------------------------------------------


def test_timeout_fails_a_slow_request():
    res = checked(bench(SERVER.url + "delay?ms=600", 2, 2, timeout=0.1))
    assert res["errors"] == 2 and res["responses"] == 0
    ((name, count),) = res["errors_by_type"].items()
    assert "Timeout" in name and count == 2
    assert res["success_rate"] == 0.0


def test_delay_shows_in_the_wait_phase():
    res = checked(bench(SERVER.url + "delay?ms=50", 20, 2, timeout=5))
    assert res["phases"]["wait"]["mean"] >= 0.045
    assert res["latency"]["p50"] >= 0.045


def test_trickle_shows_in_the_receive_phase():
    res = checked(bench(SERVER.url + "trickle?bytes=2000&ms=200", 4, 2))
    assert res["body_bytes"] == 4 * 2000
    assert res["phases"]["receive"]["mean"] >= 0.15
    assert res["phases"]["wait"]["mean"] < 0.1


@pytest.mark.hub_block_limit(0.5)  # the process's first TLS client context loads the CAs
def test_insecure_skips_the_certificate_check(server_ssl_context):
    with LocalServer(tls=server_ssl_context) as server:
        url = server.url
        assert url.startswith("https://")
        refused = checked(bench(url, 2, 1))
        assert refused["errors"] == 2 and refused["responses"] == 0
        res = checked(bench(url, 4, 2, insecure=True))
    assert res["status_codes"] == {"200": 4}
    assert res["phases"]["tls"]["count"] >= 1


def test_status_codes_are_counted_not_errors():
    res = checked(bench(SERVER.url + "status/503", 30, 3))
    assert res["status_codes"] == {"503": 30}
    assert res["errors"] == 0


def test_errors_are_counted_by_type():
    res = checked(bench(SERVER.url + "fail?every=3", 30, 1))
    assert res["errors"] == 10 and res["responses"] == 20
    assert sum(res["errors_by_type"].values()) == 10
    assert set(res["error_examples"]) == set(res["errors_by_type"])


def test_fail_on_error_sets_the_exit_status():
    failing = cli(SERVER.url + "fail", "-n", "5", "-c", "1", "--fail-on-error")
    assert failing.returncode == 1, failing.stderr
    assert re.search(r"^errors:       5  \(", failing.stdout, re.M), failing.stdout
    tolerated = cli(SERVER.url + "fail", "-n", "5", "-c", "1")
    assert tolerated.returncode == 0, tolerated.stderr
    fine = cli(SERVER.url, "-n", "5", "-c", "1", "--fail-on-error")
    assert fine.returncode == 0, fine.stderr


# -- outputs: the summary, --json, --csv ---------------------------------------------------


def test_summary_has_every_line():
    result = cli("-n", "400", "-c", "4")  # the embedded server, as with no arguments
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for line in (
        r"^URL:          GET http://127\.0\.0\.1:\d+/$",
        r"^load:         closed loop, 400 requests at concurrency 4 \(keep-alive on",
        r"^time:         \d+\.\d{3} s$",
        r"^requests:     400  \(400 responses, success 100\.00 %\)$",
        r"^requests/s:   [\d,]+$",
        r"^transfer:     \d+\.\d\d MB/s of body  \(22,400 bytes\)$",
        r"^status:       200: 400$",
        r"^errors:       0$",
        r"^latency \(ms\): p50 [\d.]+  p75 [\d.]+  p90 [\d.]+  p95 [\d.]+  p99 [\d.]+"
        r"  p99\.9 [\d.]+  max [\d.]+$",
        r"^              min [\d.]+  mean [\d.]+$",
        r"^histogram:$",
        r"^phases \(ms\): +mean +p99 +samples  \(1 response in 10\)$",
        r"^  queued +[\d.]+ +[\d.]+ +(39|40|41)$",
        r"^  connect +[\d.]+ +[\d.]+ +4$",
        r"^  dns +- +- +0$",
        r"^  wait +[\d.]+ +[\d.]+ +(39|40|41)$",
        r"^connections:  4 opened, 396 requests on reused connections, 0 discarded$",
        r"^client:       event-loop lag p99 [\d.]+ ms \(saturated above 10\.000 ms\),"
        r" CPU \d+ % of a core per process$",
    ):
        assert re.search(line, out, re.M), (line, out)
    bars = [x for x in out.splitlines() if re.match(r"^ +[\d.]+ ms \[ *\d+\] \|", x)]
    assert len(bars) == 11
    assert sum(int(re.search(r"\[ *(\d+)\]", b).group(1)) for b in bars) == 400
    assert result.stderr == ""  # no progress line when stderr is not a terminal


def test_open_loop_summary_says_corrected_and_schedule():
    text = summary(checked(bench(SERVER.url, 100, 2, rate=500)))
    assert "load:         open loop at 500 req/s, 100 requests at concurrency 2" in text
    assert "from the scheduled start (coordinated omission corrected)" in text
    assert re.search(r"^uncorrected:  p50 [\d.]+  p99 [\d.]+  max [\d.]+", text, re.M)
    assert re.search(r"^schedule:     \d+ sends behind schedule \(>= 10\.000 ms late\)", text, re.M)
    assert re.search(r"^  schedule +[\d.]+ +[\d.]+ +100$", text, re.M)


def test_summary_lists_statuses_and_error_types():
    res = checked(bench(SERVER.url + "fail?every=2", 20, 1))
    text = summary(res)
    ((name, _),) = res["errors_by_type"].items()
    assert f"errors:       10  ({name}: 10)" in text
    assert "status:       200: 10" in text
    assert "success 50.00 %" in text


def test_json_file_and_stdout(tmp_path):
    out = tmp_path / "out.json"
    result = cli("-n", "50", "-c", "2", "--json", str(out))
    assert result.returncode == 0, result.stderr
    res = checked(json.loads(out.read_text()))
    assert res["requests"] == 50 and "errors:       0" in result.stdout
    result = cli("-n", "30", "-c", "2", "--json", "-")
    assert result.returncode == 0
    res = checked(json.loads(result.stdout))  # stdout is the JSON alone
    assert res["requests"] == 30
    assert "errors:       0" in result.stderr  # the summary went to stderr


def test_json_histogram_gives_back_the_percentiles():
    res = checked(bench(SERVER.url, 200, 2))
    h = Histogram.from_dict(res["latency"]["histogram"])
    assert h.count == 200
    assert h.percentile(99) == res["latency"]["p99"]


def test_csv_streams_one_row_per_request(tmp_path):
    path = tmp_path / "rows.csv"
    res = checked(bench(SERVER.url + "fail?every=5", 50, 2, csv=str(path)))
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    assert tuple(rows[0]) == CSV_COLUMNS
    body = rows[1:]
    assert len(body) == 50 == res["requests"]
    ok = [r for r in body if r[6] == "200"]
    failed = [r for r in body if r[-1]]
    assert len(ok) == 40 and len(failed) == 10
    assert all(float(r[0]) >= float(r[4]) for r in ok)  # response time >= its wait
    assert res["phase_sample"] == 1  # with --csv, every response gives its phases


# -- worker processes (-p) ----------------------------------------------------------------------


# The -p runs use the command's embedded server (in the command's parent process):
# two worker processes can keep a server in this process busy enough to hold its hub.


def test_processes_split_n_and_merge_exactly(tmp_path):
    out = tmp_path / "p.json"
    rows = tmp_path / "p.csv"
    result = cli("-n", "501", "-c", "4", "-p", "2", "--json", str(out), "--csv", str(rows))
    assert result.returncode == 0, result.stderr
    res = checked(json.loads(out.read_text()))
    assert res["config"]["processes"] == res["client"]["processes"] == 2
    assert res["requests"] == 501 and res["latency"]["count"] == 501
    assert res["status_codes"] == {"200": 501}
    assert res["connections"]["opened"] == 4
    assert "2 processes" in result.stdout
    with open(rows, newline="") as f:
        assert sum(1 for _ in f) == 502  # one header, then every request of both
    assert not list(tmp_path.glob("p.csv.part*"))


def test_processes_split_the_rate():
    result = cli("-q", "400", "-z", "1s", "-p", "2", "-c", "4", "--json", "-")
    assert result.returncode == 0, result.stderr
    res = checked(json.loads(result.stdout))
    assert abs(res["requests"] - 400) <= 4 and res["mode"] == "open"


def test_p_auto_is_the_number_of_cores():
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    result = cli("-n", "40", "-c", str(2 * cores), "-p", "auto", "--json", "-")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["config"]["processes"] == cores


def test_tallies_merge_exactly():
    a, b, both = Tally(), Tally(), Tally()
    for i, v in enumerate([0.001 * k for k in range(1, 400)]):
        (a if i % 3 else b).latency.record(v)
        both.latency.record(v)
        (a if i % 3 else b).status[200] = (a if i % 3 else b).status.get(200, 0) + 1
    merged = Tally.from_dict(json.loads(json.dumps(a.to_dict())))
    merged.merge(Tally.from_dict(json.loads(json.dumps(b.to_dict()))))
    got, want = merged.latency.to_dict(), both.latency.to_dict()
    assert got.pop("sum") == pytest.approx(want.pop("sum"))  # (float addition order)
    assert got == want  # the same buckets, count, min and max: the same percentiles
    assert merged.responses == 399


# -- the client's own health ------------------------------------------------------------------


@pytest.mark.hub_block_limit(1.0)
def test_a_saturated_client_is_told():
    # The hog blocks longer than a PyPy JIT compile stalls the loop (0.1-0.2 s, once or
    # twice a run), so that the calm run below, noise and all, is still the calmer one.
    def hog() -> None:  # a client that cannot keep up: its hub is blocked 250 ms at a time
        while True:
            time.sleep(0.25)
            gevent.sleep(0.001)

    # Compile the open-loop path first, so that its JIT stalls fall outside the calm run.
    checked(bench(SERVER.url, None, 2, duration=0.5, rate=100))
    g = gevent.spawn(hog)
    try:
        res = checked(bench(SERVER.url, None, 2, duration=1.0))
    finally:
        g.kill()
    assert res["client"]["loop_lag"]["p99"] > SATURATION_LAG
    assert res["client"]["saturated"] is True
    assert SATURATION_MESSAGE in summary(res)
    # Without the hog: less lag, and the flag and the warning follow the figure. (Not
    # "never saturated": on this 2-core machine, busy with other work, even 100
    # req/s has seen a lag p99 above 10 ms, and PyPy's JIT compiles for 0.1-0.2 s.)
    calm = checked(bench(SERVER.url, None, 2, duration=1.0, rate=100))
    lag = calm["client"]["loop_lag"]["p99"]
    assert lag < res["client"]["loop_lag"]["p99"]
    assert calm["client"]["saturated"] is (lag > SATURATION_LAG)
    assert (SATURATION_MESSAGE in summary(calm)) is (lag > SATURATION_LAG)


def test_a_cpu_bound_closed_loop_is_told():
    res = checked(bench(SERVER.url, 50, 2))
    res["client"]["cpu"] = 0.95
    assert "used 95 % of a core: requests/s is this process's limit (more with -p)" in summary(res)
    res["client"]["cpu"] = 0.5
    assert "this process's limit" not in summary(res)


def test_constants_are_what_the_docs_say():
    assert BEHIND_SCHEDULE == 0.010 and SATURATION_LAG == 0.010 and PHASE_SAMPLE == 10


# -- the terminal: progress line and Ctrl-C ---------------------------------------------------


def _spawn_on_pty(*args: str) -> Tuple[subprocess.Popen, int]:
    """The command with stderr on a pseudo-terminal (so it shows the progress line)."""
    import pty

    master, slave = pty.openpty()
    env = dict(os.environ)
    env["PYTHONPATH"] = str(Path(geventhttpclient.__file__).resolve().parent.parent)
    proc = subprocess.Popen(
        [sys.executable, "-m", "geventhttpclient", "bench", *args],
        stdout=subprocess.PIPE,
        stderr=slave,
        text=True,
        cwd="/",
        env=env,
    )
    os.close(slave)
    return proc, master


def _read_until(fd: int, pattern: str, timeout: float = 30.0) -> str:
    """Terminal output up to ``pattern`` (the event the test waits for)."""
    import select

    seen = b""
    deadline = time.monotonic() + timeout
    while not re.search(pattern.encode(), seen):
        left = deadline - time.monotonic()
        assert left > 0, seen
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    return seen.decode(errors="replace")


@pytest.mark.parametrize("processes", ["1", "2"])
def test_ctrl_c_stops_and_still_prints_the_summary(processes):
    proc, master = _spawn_on_pty("-z", "60s", "-c", "4", "-p", processes)
    try:
        # the progress line, once a second on a terminal: the run is under way
        line = _read_until(master, r"req/s  errors 0  p50 [\d.]+ ms  p99 [\d.]+ ms  connections")
        assert re.search(r"\[ +\d+\.\d s\] [\d,]+ done, \d+ s left", line), line
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, out
    assert re.search(r"^interrupted:  yes \(\d+ in flight cancelled, 0 not sent\)$", out, re.M)
    assert re.search(r"^errors:       0$", out, re.M), out
    seconds = float(re.search(r"^time:         ([\d.]+) s$", out, re.M).group(1))
    assert 0.9 < seconds < 30
    assert "p99" in out


def test_progress_counts_down_requests_on_a_terminal():
    proc, master = _spawn_on_pty("-n", "2000000", "-c", "2")
    try:
        line = _read_until(master, r"/2,000,000  [\d,]+ req/s")
        assert re.search(r"\[ +\d+\.\d s\] [\d,]+/2,000,000", line), line
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130
    assert re.search(r"^interrupted:  yes \(\d+ in flight cancelled, \d+ not sent\)$", out, re.M)


def test_the_command_exits_quietly_when_its_reader_goes_away():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(Path(geventhttpclient.__file__).resolve().parent.parent)
    proc = subprocess.Popen(
        [sys.executable, "-m", "geventhttpclient", "bench", "-n", "100", "-c", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd="/",
        env=env,
    )
    assert proc.stdout is not None
    proc.stdout.close()  # as `| head -0` would
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 141  # 128 + SIGPIPE, as for `get` (__main__.EXIT_BROKEN_PIPE)
    assert err == b""


# -- -x/--proxy and --unix-socket ------------------------------------------------------------


def test_bench_through_a_socks_proxy():
    from socksserver import SocksServer

    with SocksServer() as socks:
        res = checked(bench(SERVER.url, 200, 4, proxy=socks.url("socks5")))
        assert res["requests"] == res["responses"] == 200 and res["errors"] == 0
        assert res["connections"]["opened"] == 4
        assert len(socks.requests) == 4  # one tunnel per connection, kept alive


def test_bench_over_a_unix_socket(tmp_path):
    from conftest import ScriptedServer

    path = str(tmp_path / "b.sock")
    if len(path) > 100:
        pytest.skip("temporary directory path too long for a Unix socket")

    def ok(conn, req):
        conn.respond(200, b"ok")

    unix = ScriptedServer(keep_alive(ok), uds=path)
    try:
        res = checked(bench("http://localhost/", 100, 2, unix_socket=path))
    finally:
        unix.stop()
    assert res["status_codes"] == {"200": 100} and unix.connections == 2
