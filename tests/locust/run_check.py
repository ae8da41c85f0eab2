"""The Locust job: run Locust's FastHttpUser on this geventhttpclient and check its stats.

    python tests/locust/run_check.py [--iterations N] [--keep DIR] [--otel]

1. Checks that the installed ``geventhttpclient`` is this one (3.x, with the
   ``_cparser`` extension), not the 2.x that ``pip install locust`` pulls in.
2. Starts ``target_server.py`` (HTTP and HTTPS on ephemeral loopback ports).
3. Runs ``locust -f locustfile.py --headless`` with a fixed number of users per
   user class, each running the scenario ``--iterations`` times (``--run-time`` is
   only a safety bound), writing ``--csv`` stats and a log file.
   Also starts ``tests/socksserver.py`` (a SOCKS5 proxy requiring a username and
   password) for the locustfile's ``SocksUser``.
4. Checks the statistics: every request name has exactly users x iterations
   requests; failures are exactly on the names the locustfile's ``EXPECTED``
   says, with the expected error text, and nowhere else; the server saw the
   requests that were counted (redirect hops, no retries); no exception escaped a
   task (Locust's ``user_error`` event, its exceptions CSV, no ``Traceback`` or
   ERROR line in its output); the custom ``ssl_context_factory`` was used and the
   shared ``HTTPClientPool`` was shared; every request of ``SocksUser`` reached the
   server through the SOCKS proxy (the client ports the server saw for them are the
   proxy's ends of its tunnels), which authenticated every connection.
5. With ``--otel``, the same run and checks with ``locustfile_otel.py`` (the same
   users, with ``geventhttpclient.contrib.opentelemetry.instrument()``), and then
   the telemetry: one CLIENT span per HTTP exchange for every request kind, with the
   conventions' attributes and error status; each response's span is the one whose
   ``traceparent`` the server received; the duration histogram counts every span.

Prints one line per check and ends with ``N passed, N failed``; exits 1 if any
check failed. Used by ``tests/test_locust.py`` (``tox -e locust``).
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from typing import Any, Dict, List, Optional, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
LOCUSTFILE = os.path.join(HERE, "locustfile.py")
LOCUSTFILE_OTEL = os.path.join(HERE, "locustfile_otel.py")
SERVER = os.path.join(HERE, "target_server.py")
SOCKS_SERVER = os.path.join(os.path.dirname(HERE), "socksserver.py")

# Users per class, as the locustfile's fixed_count says.
USERS = {"http": 2, "https": 1, "pool": 2}
SOCKS_USERS = 1
"""SocksUser's fixed_count. Not in the traced run: locustfile_otel.py imports the
other three classes only, so its telemetry checks stay about those."""
SOCKS_USER = "locust"
LOCUST_TIMEOUT = 120.0
"""Seconds before the Locust process is killed (--run-time is a bit less)."""


def load_expected() -> Tuple[Dict[str, Any], Dict[str, Any], Dict[str, Any]]:
    """EXPECTED, EXPECTED_TLS_ONLY and EXPECTED_SOCKS from the locustfile, without importing Locust
    (which would monkey-patch this process): the file is parsed, not run."""
    import ast

    tree = ast.parse(open(LOCUSTFILE, encoding="utf-8").read())
    consts: Dict[str, Any] = {}
    for node in tree.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            target = node.targets[0] if isinstance(node, ast.Assign) else node.target
            if isinstance(target, ast.Name) and target.id in (
                "DECODING",
                "CUT_SHORT",
                "EXPECTED",
                "EXPECTED_TLS_ONLY",
                "EXPECTED_SOCKS",
            ):
                value = node.value
                assert value is not None
                consts[target.id] = eval(  # noqa: S307 - literals from our own file
                    compile(ast.Expression(value), LOCUSTFILE, "eval"), {}, dict(consts)
                )
    return consts["EXPECTED"], consts["EXPECTED_TLS_ONLY"], consts["EXPECTED_SOCKS"]


class Checks:
    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0
        self.failures: List[str] = []

    def check(self, ok: bool, what: str, detail: str = "") -> bool:
        if ok:
            self.passed += 1
            print(f"  ok    {what}")
        else:
            self.failed += 1
            self.failures.append(what)
            print(f"  FAIL  {what}" + (f"\n        {detail}" if detail else ""))
        sys.stdout.flush()
        return ok


PRECHECK = """
import importlib, json, geventhttpclient as g
info = {"file": g.__file__, "version": g.__version__}
for name in ("_cparser", "_parser"):
    try:
        info[name] = importlib.import_module("geventhttpclient." + name).__file__
    except ImportError as e:
        info[name] = "not importable: %r" % (e,)
print(json.dumps(info))
"""


def precheck() -> Dict[str, str]:
    """Which geventhttpclient is installed (in a fresh interpreter, from a neutral
    folder, so nothing in the source tree can shadow it)."""
    out = subprocess.run(
        [sys.executable, "-c", PRECHECK],
        capture_output=True,
        text=True,
        cwd=tempfile.gettempdir(),
    )
    if out.returncode != 0:
        raise SystemExit(f"run_check: cannot import geventhttpclient:\n{out.stderr}")
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def _spawn(argv: List[str], stdin: Any, stderr: Any, what: str) -> Tuple[subprocess.Popen, Any]:
    """Start a helper server and read the JSON line it prints once it listens."""
    proc = subprocess.Popen(
        [sys.executable, *argv], stdin=stdin, stdout=subprocess.PIPE, stderr=stderr, text=True
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        proc.kill()
        raise SystemExit(f"run_check: the {what} did not start")
    return proc, json.loads(line)


def start_server(stderr: Any) -> Tuple[subprocess.Popen, Dict[str, Any]]:
    argv = [SERVER, "--max-seconds", str(LOCUST_TIMEOUT + 60)]
    return _spawn(argv, subprocess.PIPE, stderr, "target server")


def start_socks_server(stderr: Any, stats_file: str, password: str) -> Tuple[subprocess.Popen, int]:
    """tests/socksserver.py, requiring ``SOCKS_USER`` and ``password``; its port."""
    argv = [
        SOCKS_SERVER,
        "--port-file", stats_file + ".port",
        "--stats-file", stats_file,
        "--user", SOCKS_USER,
        "--password", password,
        "--max-seconds", str(LOCUST_TIMEOUT + 60),
    ]  # fmt: skip
    proc, info = _spawn(argv, subprocess.DEVNULL, stderr, "SOCKS server")
    return proc, int(info["port"])


def stop_socks_server(proc: subprocess.Popen) -> None:
    proc.terminate()  # it writes its final stats and exits
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


def free_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop_server(proc: subprocess.Popen) -> None:
    try:
        if proc.stdin is not None:
            proc.stdin.close()
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def read_csv(path: str) -> Optional[List[Dict[str, str]]]:
    """The rows of a CSV file as dicts; None if there is no such file."""
    if not os.path.exists(path):
        return None
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def matches(error: str, expected: Any) -> bool:
    if isinstance(expected, tuple):
        return error.startswith(expected)
    return bool(error == expected)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Run and check the Locust job.")
    parser.add_argument(
        "--iterations", type=int, default=int(os.environ.get("GHC_LOCUST_ITERATIONS", "20"))
    )
    parser.add_argument("--keep", help="keep Locust's CSV, log and output in this folder")
    parser.add_argument(
        "--otel", action="store_true", help="run locustfile_otel.py and check its telemetry"
    )
    args = parser.parse_args(argv)

    if importlib.util.find_spec("locust") is None:
        raise SystemExit("run_check: locust is not installed (tox -e locust installs it)")

    checks = Checks()
    started = time.monotonic()
    info = precheck()
    print(f"geventhttpclient {info['version']} from {info['file']}")
    print(f"  _cparser: {info['_cparser']}")
    checks.check(
        info["version"].split(".")[0] == "3" and "site-packages" in info["file"],
        "the installed geventhttpclient is this 3.x package, not the 2.x Locust pulls in",
        repr(info),
    )
    checks.check(
        info["_cparser"].endswith((".so", ".pyd")),
        "its _cparser extension module is there",
        info["_cparser"],
    )
    checks.check(
        info["_parser"].endswith(".py"),
        "no 2.x _parser extension module is left over to shadow ours",
        info["_parser"],
    )

    workdir = args.keep or tempfile.mkdtemp(prefix="ghc-locust-run-")
    os.makedirs(workdir, exist_ok=True)
    prefix = os.path.join(workdir, "locust")
    logfile = os.path.join(workdir, "locust.log")
    factsfile = os.path.join(workdir, "facts.json")
    otelfile = os.path.join(workdir, "otel.json")
    socksfile = os.path.join(workdir, "socks.json")
    for path in (logfile, factsfile, otelfile, socksfile):
        if os.path.exists(path):
            os.remove(path)

    server_err = open(os.path.join(workdir, "server.err"), "w+")
    server, ports = start_server(server_err)
    socks_err = open(os.path.join(workdir, "socks.err"), "w+")
    socks_password = secrets.token_hex(8)
    try:
        socks, socks_port = start_socks_server(socks_err, socksfile, socks_password)
    except BaseException:
        stop_server(server)
        raise
    socks_users = 0 if args.otel else SOCKS_USERS
    refused_port = free_port()
    traced: Dict[str, Any] = {}
    try:
        env = dict(os.environ)
        env.update(
            GHC_LOCUST_HTTP=f"http://127.0.0.1:{ports['http']}",
            GHC_LOCUST_HTTPS=f"https://localhost:{ports['https']}",
            GHC_LOCUST_CA=ports["ca"],
            GHC_LOCUST_ITERATIONS=str(args.iterations),
            GHC_LOCUST_FACTS=factsfile,
            GHC_LOCUST_REFUSED=f"http://127.0.0.1:{refused_port}",
            GHC_LOCUST_OTEL=otelfile,
            GHC_LOCUST_SOCKS=f"socks5h://{SOCKS_USER}:{socks_password}@127.0.0.1:{socks_port}",
        )
        env.pop("PYTHONSAFEPATH", None)  # Locust imports the locustfile from its folder
        users = sum(USERS.values()) + socks_users
        cmd = [
            sys.executable, "-m", "locust",
            "-f", LOCUSTFILE_OTEL if args.otel else LOCUSTFILE,
            "--headless",
            "-u", str(users), "-r", str(users),
            "--run-time", f"{int(LOCUST_TIMEOUT) - 30}s",
            "--stop-timeout", "10",
            "--csv", prefix,
            "--json-file", prefix,
            "--logfile", logfile,
            "--only-summary",
            "--exit-code-on-error", "0",
        ]  # fmt: skip
        print("$ " + " ".join(cmd))
        t0 = time.monotonic()
        try:
            run = subprocess.run(
                cmd, env=env, cwd=workdir, capture_output=True, text=True, timeout=LOCUST_TIMEOUT
            )
        except subprocess.TimeoutExpired:
            checks.check(False, f"Locust finished within {LOCUST_TIMEOUT:.0f}s")
            print(f"\n{checks.passed} passed, {checks.failed} failed")
            return 1
        locust_seconds = time.monotonic() - t0
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{ports['http']}/__hits") as r:
                hits = json.load(r)
        except OSError as e:
            hits = {"<error>": repr(e)}
        if args.otel:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{ports['http']}/__traced") as r:
                    traced = json.load(r)
            except OSError as e:
                traced = {"<error>": repr(e)}
    finally:
        stop_server(server)
        server_err.seek(0)
        server_errors = server_err.read()
        server_err.close()
        stop_socks_server(socks)
        socks_err.seek(0)
        socks_errors = socks_err.read()
        socks_err.close()
    socks_stats = json.load(open(socksfile)) if os.path.exists(socksfile) else {}

    output = run.stdout + run.stderr
    with open(os.path.join(workdir, "locust.out"), "w") as f:
        f.write(output)
    log = open(logfile).read() if os.path.exists(logfile) else ""
    print(f"Locust ran {locust_seconds:.1f}s, exit status {run.returncode}; files in {workdir}")

    check_run(
        checks, args.iterations, run.returncode, output, log, prefix, factsfile, hits, socks_users
    )
    check_socks(checks, socks_users * args.iterations, hits, socks_stats)
    if args.otel:
        check_telemetry(checks, args.iterations, otelfile, traced, refused_port)
    checks.check(not server_errors, "the target server logged no error", server_errors[-3000:])
    checks.check(not socks_errors, "the SOCKS server logged no error", socks_errors[-3000:])

    if checks.failed:
        print("\n---- Locust output ----\n" + output[-6000:])
        print("---- Locust log ----\n" + log[-6000:])
    elif not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"\nLocust job took {time.monotonic() - started:.1f}s")
    print(f"{checks.passed} passed, {checks.failed} failed")
    return 1 if checks.failed else 0


def check_run(
    checks: Checks,
    iterations: int,
    returncode: int,
    output: str,
    log: str,
    prefix: str,
    factsfile: str,
    hits: Dict[str, Any],
    socks_users: int,
) -> None:
    check = checks.check
    check(returncode == 0, "Locust exited with status 0", f"status {returncode}")

    # -- nothing escaped a task --------------------------------------------------------
    facts: Dict[str, Any] = {}
    if check(os.path.exists(factsfile), "the locustfile wrote its facts at quit"):
        facts = json.load(open(factsfile))
    errors = facts.get("user_errors", [])
    check(
        not errors,
        "no exception escaped a task (Locust's user_error event never fired)",
        "\n".join(e["traceback"] for e in errors[:3]),
    )
    exceptions = read_csv(prefix + "_exceptions.csv")
    check(exceptions == [], "Locust's exceptions CSV is empty", repr(exceptions)[:2000])
    bad_lines = [
        line
        for line in (log + "\n" + output).splitlines()
        if "Traceback" in line
        or "/ERROR/" in line
        or "/CRITICAL/" in line
        or "Uncaught exception" in line
        or "Unexpected error" in line
    ]
    check(
        not bad_lines,
        "no traceback or ERROR line in Locust's log and output",
        "\n".join(bad_lines[:10]),
    )

    # -- every user ran every iteration --------------------------------------------------
    want_iterations = {tag: n * iterations for tag, n in USERS.items()}
    if socks_users:
        want_iterations["socks"] = socks_users * iterations
    check(
        facts.get("iterations") == want_iterations,
        f"every user ran the scenario {iterations} times (ended by itself, not by --run-time)",
        f"got {facts.get('iterations')}, want {want_iterations}",
    )
    check(facts.get("ssl_factory_calls", 0) >= 1, "TlsUser's custom ssl_context_factory was used",
          f"{facts.get('ssl_factory_calls')} calls")  # fmt: skip
    check(facts.get("pool_shared") is True, "PoolUser's users all use the shared client_pool",
          f"pool_shared={facts.get('pool_shared')}")  # fmt: skip

    # -- request counts and failures -----------------------------------------------------
    expected, tls_only, socks_only = load_expected()
    want: Dict[Tuple[str, str], Tuple[int, Any]] = {}
    for tag, n in [*USERS.items(), ("socks", socks_users)]:
        if tag == "socks":
            names = socks_only if n else {}
        else:
            names = dict(expected, **(tls_only if tag == "https" else {}))
        for key, failure in names.items():
            method, name = key.split(" ", 1)
            want[(method, f"{tag} {name}")] = (n * iterations, failure)

    stats = read_csv(prefix + "_stats.csv") or []
    failures = read_csv(prefix + "_failures.csv") or []
    check(bool(stats), "Locust wrote its stats CSV")
    got = {(r["Type"], r["Name"]): r for r in stats if r["Name"] != "Aggregated"}
    # The CSV is Locust's last periodic snapshot; the JSON is written at shutdown.
    final = json.load(open(prefix + ".json")) if os.path.exists(prefix + ".json") else []
    csv_counts = {k: (int(r["Request Count"]), int(r["Failure Count"])) for k, r in got.items()}
    json_counts = {(e["method"], e["name"]): (e["num_requests"], e["num_failures"]) for e in final}
    check(
        bool(final) and csv_counts == json_counts,
        "Locust's final JSON stats agree with its CSV stats",
        f"csv {sorted(csv_counts.items())[:5]}... json {sorted(json_counts.items())[:5]}...",
    )
    unexpected = sorted(set(got) - set(want))
    check(not unexpected, "no request name beyond the expected ones", repr(unexpected))

    errors_by_name: Dict[Tuple[str, str], List[Tuple[str, int]]] = {}
    for r in failures:
        errors_by_name.setdefault((r["Method"], r["Name"]), []).append(
            (r["Error"], int(r["Occurrences"]))
        )

    for (method, name), (count, failure) in sorted(want.items()):
        row = got.get((method, name))
        label = f"{method} {name}"
        if not check(row is not None, f"{label}: in the stats"):
            continue
        assert row is not None
        n_req, n_fail = int(row["Request Count"]), int(row["Failure Count"])
        errs = errors_by_name.get((method, name), [])
        if failure is None:
            check(
                n_req == count and n_fail == 0 and not errs,
                f"{label}: {count} requests, no failure",
                f"{n_req} requests, {n_fail} failures: {errs[:3]}",
            )
        else:
            bad = [e for e, _ in errs if not matches(e, failure)]
            check(
                n_req == count and n_fail == count and not bad and sum(o for _, o in errs) == count,
                f"{label}: {count} requests, all failed with {failure!r}",
                f"{n_req} requests, {n_fail} failures, errors {errs[:5]}",
            )
    stray = sorted(k for k in errors_by_name if k not in want)
    check(not stray, "no failures under other names", repr(stray))

    # -- what the server saw -------------------------------------------------------------
    through_socks = socks_hits(socks_users * iterations)
    for scheme, users in (("http", USERS["http"] + USERS["pool"]), ("https", USERS["https"])):
        want_hits = server_hits(users * iterations, tls=scheme == "https")
        for key, count in through_socks.items():
            socks_scheme, _, request = key.partition(" ")
            if socks_scheme == scheme:
                want_hits[request] = want_hits.get(request, 0) + count
        seen = hits.get(scheme, {})
        diff = {k: (seen.get(k), v) for k, v in want_hits.items() if seen.get(k) != v}
        diff.update({k: (v, 0) for k, v in seen.items() if k not in want_hits})
        check(
            not diff,
            f"the {scheme} server saw exactly the requests Locust counted (redirect hops too)",
            f"(seen, expected): {diff}",
        )


def server_hits(n: int, tls: bool) -> Dict[str, int]:
    """What the server sees when ``n`` scenario iterations ran against it."""
    return {
        # rest GET, the manual failure (and, over TLS, the insecure session's GET;
        # the default-CA session never gets past the handshake)
        "GET /api/item": 2 * n + (n if tls else 0),
        "POST /api/item": n,
        "GET /missing": 2 * n,
        "GET /redirect/3": 2 * n,  # followed and not followed
        "GET /redirect/2": n,
        "GET /redirect/1": n,
        "GET /redirect/0": n,
        "GET /whoami": 2 * n,
        "GET /login": n,
        "GET /gzip": n,
        "GET /br": n,
        "GET /bad-gzip": n,
        "GET /bad-br": n,
        "GET /unknown-coding": n,
        "GET /stream": 2 * n,  # iter_content and iter_lines
        "GET /reset": n,  # max_retries = 0: never sent twice
        "GET /truncated": n,
        "GET /echo-target/a%20b/%C3%BC": n,
        # HTTPClient itself sends an idempotent request once more when the connection
        # closes before any byte of a response (a stale keep-alive connection); 2.x
        # did too, up to pool size + 1 times. max_retries = 0 does not change that.
        "GET /close-early": 2 * n,
        "GET /slow": n,
        **({"TLS handshake failed": n} if tls else {}),  # the default-CA session
    }


def socks_hits(n: int) -> Dict[str, int]:
    """What the server sees from SocksUser's ``n`` iterations, as "scheme METHOD path"."""
    if not n:
        return {}
    return {
        "http GET /api/item": n,
        "http POST /api/item": n,
        "http GET /missing": n,
        "http GET /redirect/3": n,
        "http GET /redirect/2": n,
        "http GET /redirect/1": n,
        "http GET /redirect/0": n,
        "http GET /gzip": n,
        "https GET /api/item": n,
    }


def check_socks(checks: Checks, n: int, hits: Dict[str, Any], stats: Dict[str, Any]) -> None:
    """SocksUser's ``n`` iterations went through the SOCKS proxy, and only they."""
    check = checks.check
    want = socks_hits(n)
    seen = hits.get("socks", {})
    check(
        seen == want,
        f"the server saw exactly SocksUser's requests marked X-Via: socks ({sum(want.values())})",
        f"seen {seen}, expected {want}",
    )
    peers = hits.get("socks-peers", {})
    tunnels = {str(p) for p in stats.get("upstream_ports", [])}
    check(
        set(peers) <= tunnels,
        "each of them came from one of the SOCKS server's tunnels (the client port the "
        "server saw is the proxy's end of a tunnel)",
        f"ports {sorted(set(peers) - tunnels)[:5]} are not the proxy's {sorted(tunnels)[:5]}",
    )
    if not n:
        check(
            stats.get("connections") == 0,
            "nothing went to the SOCKS server (no SocksUser in this run)",
            repr(stats),
        )
        return
    check(
        stats.get("connections", 0) >= 2 and stats.get("relays") == stats.get("connections"),
        "the SOCKS server tunnelled every connection it accepted (one per origin at least)",
        repr({k: v for k, v in stats.items() if k != "upstream_ports"}),
    )
    kinds = stats.get("requests", {})
    check(
        set(kinds) == {"socks5:ipv4", "socks5:domain"} and stats.get("users") == [SOCKS_USER],
        "SOCKS5 with username and password: 127.0.0.1 sent as an address, localhost as "
        "a name for the proxy to resolve (socks5h)",
        f"requests {kinds}, users {stats.get('users')}",
    )
    check(not stats.get("errors"), "the SOCKS server recorded no error", repr(stats.get("errors")))


# What the traced run's spans show, per request kind: (scheme, "METHOD /path"), or
# ("http", "refused") for the refused address, -> how many of its spans are errors:
# "all", "none", a number of scheme-iterations ("per_iteration": n), or "any" (a reset
# may overtake the head or come after it, so its span may or may not have a status).
SPAN_ERRORS: Dict[str, Any] = {
    "GET /missing": "all",  # 404
    "GET /whoami": "per_iteration",  # 401 once per iteration (before /login)
    "GET /close-early": "all",  # no response at all
    "GET /slow": "all",  # the impatient session's timeout
    "GET /reset": "any",
    "refused": "all",
}
CONVENTIONS_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]


def expected_spans(n: int, tls: bool) -> Dict[str, int]:
    """Spans per "METHOD /path" when ``n`` scenario iterations ran against a scheme:
    one per call of HTTPClient.request, so what the server saw but for a request sent
    twice inside one call (/close-early, resent once on a closed connection) and with
    the requests that never got through the TLS handshake (the default-CA session)."""
    spans = dict(server_hits(n, tls))
    spans["GET /close-early"] = n
    if tls:
        del spans["TLS handshake failed"]
        spans["GET /api/item"] += n
    return spans


def check_telemetry(
    checks: Checks, iterations: int, otelfile: str, traced: Dict[str, Any], refused_port: int
) -> None:
    """The spans and durations the traced run (locustfile_otel.py) recorded."""
    from urllib.parse import urlsplit

    check = checks.check
    if not check(os.path.exists(otelfile), "the traced locustfile wrote its telemetry at quit"):
        return
    telemetry = json.load(open(otelfile))
    spans: List[Dict[str, Any]] = telemetry["spans"]
    points: List[Dict[str, Any]] = telemetry["durations"]

    required = ("http.request.method", "server.address", "server.port", "url.full")
    bad = [
        s
        for s in spans
        if s["kind"] != "CLIENT"
        or s["name"] != s["attributes"].get("http.request.method")
        or any(k not in s["attributes"] for k in required)
    ]
    check(
        bool(spans) and not bad,
        f"{len(spans)} spans, each a CLIENT span named after its method, with "
        "http.request.method, server.address, server.port and url.full",
        repr(bad[:3]),
    )

    def consistent(s: Dict[str, Any]) -> bool:
        a = s["attributes"]
        code = a.get("http.response.status_code")
        if code is not None and code >= 400:
            return a.get("error.type") == str(code) and s["status"] == "ERROR"
        if code is not None:
            return "error.type" not in a and s["status"] == "UNSET"
        return str(a.get("error.type", "")).startswith("geventhttpclient.exceptions.") and (
            s["status"] == "ERROR"
        )

    bad = [s for s in spans if not consistent(s)]
    check(
        not bad,
        "error.type and span status follow the conventions: the status code for 4xx/5xx, "
        "our exception's class name when no response came, none otherwise",
        repr(bad[:3]),
    )

    # -- one span per exchange, for every request kind ------------------------------------
    got: Dict[Tuple[str, str], List[Dict[str, Any]]] = {}
    for s in spans:
        url = urlsplit(s["attributes"].get("url.full", ""))
        if s["attributes"].get("server.port") == refused_port:
            key = ("http", "refused")
        else:
            key = (url.scheme, f"{s['name']} {url.path}")
        got.setdefault(key, []).append(s)
    want: Dict[Tuple[str, str], Tuple[int, int]] = {}  # -> (spans, scheme iterations)
    for scheme, users in (("http", USERS["http"] + USERS["pool"]), ("https", USERS["https"])):
        n = users * iterations
        for key, count in expected_spans(n, tls=scheme == "https").items():
            want[(scheme, key)] = (count, n)
    want[("http", "refused")] = (sum(USERS.values()) * iterations, iterations)
    for (scheme, key), (count, n) in sorted(want.items()):
        these = got.get((scheme, key), [])
        errors = sum(1 for s in these if "error.type" in s["attributes"])
        rule = SPAN_ERRORS.get(key, "none")
        if scheme == "https" and key == "GET /api/item":
            rule = "per_iteration"  # the default-CA session: refused certificate
        want_errors = {"all": count, "none": 0, "per_iteration": n, "any": errors}[rule]
        check(
            len(these) == count and errors == want_errors,
            f"{scheme} {key}: {count} spans, {want_errors} of them errors",
            f"{len(these)} spans, {errors} errors: "
            f"{[s['attributes'].get('error.type') for s in these][:5]}",
        )
    stray = sorted(set(got) - set(want))
    check(not stray, "no span for any other request", repr(stray))
    refused = [s["attributes"].get("error.type") for s in got.get(("http", "refused"), [])]
    check(
        set(refused) == {"geventhttpclient.exceptions.ConnectionRefused"},
        "the refused connections' error.type is ConnectionRefused",
        repr(sorted(set(refused))),
    )

    # -- traceparent: the server received each response's span ---------------------------
    sent = {s["traceparent"] for s in spans}
    received = [tp for scheme in ("http", "https") for tp in traced.get(scheme, [])]
    answered = [s for s in spans if "http.response.status_code" in s["attributes"]]
    missing = [s for s in answered if s["traceparent"] not in received]
    check(
        bool(received) and not missing and set(received) <= sent,
        f"the server received {len(received)} traceparent fields, each a span's, among "
        f"them the span of each of the {len(answered)} responses",
        f"missing {[(s['name'], s['attributes']['url.full']) for s in missing[:3]]}, "
        f"unknown {sorted(set(received) - sent)[:3]}",
    )

    # -- the duration histogram ----------------------------------------------------------
    total = sum(p["count"] for p in points)
    check(
        total == len(spans)
        and all(p["unit"] == "s" and p["bounds"] == CONVENTIONS_BUCKETS for p in points),
        "http.client.request.duration counted every span, in seconds, with the "
        "conventions' buckets",
        f"{total} measurements for {len(spans)} spans; "
        f"{[(p['unit'], p['bounds']) for p in points[:1]]}",
    )
    span_seconds = sum(s["seconds"] for s in spans)
    histogram_seconds = sum(p["sum"] for p in points)
    check(
        abs(span_seconds - histogram_seconds) < 1e-3,
        "the histogram's durations are the spans' durations",
        f"spans {span_seconds:.6f}s, histogram {histogram_seconds:.6f}s",
    )

    # -- response.timings, seen from Locust's request event ------------------------------
    timings: List[Dict[str, Any]] = telemetry.get("timings", [])
    har_keys = ["blocked", "dns", "connect", "ssl", "send", "wait", "receive"]
    bad = [t for t in timings if list(t["har"]) != har_keys or t["har"]["wait"] < 0]
    check(
        bool(timings) and not bad,
        f"{len(timings)} FastHttpUser responses carried timings (HAR keys, a wait measured)",
        repr(bad[:3]),
    )
    new = [t for t in timings if not t["reused"]]
    check(
        bool(new) and all(t["har"]["connect"] >= 0 for t in new),
        f"{len(new)} of them on new connections, each with its connect time",
        repr([t for t in new if t["har"]["connect"] < 0][:3]),
    )


if __name__ == "__main__":
    sys.exit(main())
