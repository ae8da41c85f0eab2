"""The suite's ``adapters`` section: httpx and requests on our engine against the same
libraries monkey-patched by gevent (issue 17).

Four contenders, each in its own process, on /small at c=10 and c=100, C greenlets
sharing one client or session, alternated within every round:

  httpx-ours        ``httpx.Client(transport=GeventTransport(limits=Limits(max_connections=C)))``
  httpx-patched     ``httpx.Client(limits=Limits(max_connections=C))`` after
                    ``gevent.monkey.patch_all()``
  requests-ours     ``requests.Session()`` with ``GeventAdapter(pool_maxsize=C)`` mounted
  requests-patched  ``requests.Session()`` with ``HTTPAdapter(pool_maxsize=C)`` mounted,
                    after ``patch_all()``

plus, in full runs, ``httpclient``: our own ``HTTPClient.get(path)`` + ``read()``, the
ceiling the two adapters sit on. Each request is ``get(url)``, a status check and
``.content``; timeouts of 30 s, no pool timeout. Both sides of each pair are set up as
a user who wants C requests in flight would: pool sizes of C.

All five run from one ``adapters`` virtualenv (this repository, re-installed from the
work tree every run, with gevent, httpx and requests), so that the pairs differ in the
transport only. This file is also their worker: ``python _adapters.py --variant NAME``
with the arguments of ``clients/_common.py``. Besides requests/s it reports the
worker's CPU time per request over the timed phase (user + system, from
``getrusage``): on this shared two-core machine, requests/s follow whatever else runs,
while CPU per request moves much less. Ours reports ``skipped`` when the adapter does
not import (a tree without it).

Target (issue 17): ours/patched requests/s at least 3x for each library, at c=10 and
c=100, on CPython and PyPy.

    python benchmarks/run.py --sections adapters --peers adapters --interp both

(``--peers adapters`` names none of the suite's own peers, so that the suite sets up no
virtualenv of its own; ``--peers httpx-ours,httpx-patched`` runs a subset.)
"""

from __future__ import annotations

import os
import sys

from _stats import fmt, med

HERE = os.path.dirname(os.path.abspath(__file__))
CONCS = (10, 100)
TARGET = 3.0
LIBS = ("httpx", "requests")
VENV = "adapters"
NAMES = ("httpx-ours", "httpx-patched", "requests-ours", "requests-patched", "httpclient")
QUICK_SKIP = {"httpclient"}  # the smoke run measures the four contenders only
# PyPy's JIT takes long over httpx and requests: httpx-ours went 1,650 -> 910 -> 380 ->
# 200 -> 155 us of CPU per request over successive 3,000-request windows, flat only
# after about 30 s. The suite's usual warm-up (5,000 requests, at most 10 s) measured
# both sides of each pair JIT-cold, so full runs on PyPy warm every contender for this
# long first.
PYPY_WARMUP_SECONDS = 40


def log(msg: str) -> None:
    print(msg, flush=True)


# -- the virtualenv ----------------------------------------------------------------


def _versions(py: str, dists: tuple) -> dict:
    """``{distribution: version}`` of what a virtualenv has installed."""
    import json
    import subprocess

    code = (
        "import importlib.metadata as m, json, sys\n"
        "out = {}\n"
        "for d in sys.argv[1:]:\n"
        "    try: out[d] = m.version(d)\n"
        "    except m.PackageNotFoundError: pass\n"
        "print(json.dumps(out))\n"
    )
    p = subprocess.run([py, "-c", code, *dists], capture_output=True, text=True)
    try:
        return json.loads(p.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {}


def _ensure_venv(suite) -> bool:
    """Make (or refresh) the ``adapters`` virtualenv: this repository and the two
    libraries. The package under test is re-installed from the work tree on every run
    (``_envs.ensure`` does that for the ``ours`` venv only)."""
    import _envs

    interp = suite.interp
    _envs.SPECS.setdefault(
        VENV, {i: [_envs.REPO, "gevent", "httpx", "requests"] for i in ("cpython", "pypy")}
    )
    if not _envs.ensure(interp, VENV, reinstall_ours=False):
        return False
    if not suite.a.no_reinstall:
        py = _envs.venv_python(interp, VENV)
        logpath = os.path.join(_envs.VENVS, f"{interp}-{VENV}.log")
        cmd = [py, "-m", "pip", "install", "-q", "--force-reinstall", "--no-deps"]
        with open(logpath, "a") as out:
            if _envs._run([*cmd, _envs.repo_snapshot()], out) != 0:
                log(f"[adapters] {interp}-{VENV}: reinstall failed (see {logpath})")
                return False
    return True


def _peers(suite) -> list:
    # --peers filters this section only when it names some of its contenders (the
    # suite's own peer names, e.g. "--peers ours", keep the suite's setup small)
    wanted = set(suite.a.peers.split(",")) & set(NAMES) if suite.a.peers else set()
    names = [
        n
        for n in NAMES
        if not (wanted and n not in wanted) and not (suite.a.quick and n in QUICK_SKIP)
    ]
    if not _ensure_venv(suite):
        log(f"[adapters] skipped: the {VENV} virtualenv could not be made")
        suite.res["errors"].append({"peer": "adapters", "error": f"no virtualenv ({VENV})"})
        return []
    import _envs

    py = _envs.venv_python(suite.interp, VENV)
    suite.res.setdefault("adapters-versions", {})[suite.interp] = _versions(
        py, ("geventhttpclient", "gevent", *LIBS)
    )
    return [(n, VENV, os.path.abspath(__file__), ["--variant", n]) for n in names]


# -- the section -------------------------------------------------------------------


def run(suite) -> None:
    """/small at c=10 and c=100 for every contender, alternated within rounds."""
    res = suite.res.setdefault("adapters", {})
    peers = _peers(suite)
    q = suite.a.quick
    for c in CONCS[:1] if q else CONCS:
        n = suite.a.n or (300 if q else 150000)
        extra = ["--max-seconds", str(suite.a.max_seconds)]
        if q:
            pypy = suite.interp == "pypy"
            extra += ["--warmup", str(max(4 * c, 300) if pypy else max(2 * c, 50))]
            extra += ["--warmup-seconds", "0.5" if pypy else "0"]
        elif suite.interp == "pypy":
            extra += ["--warmup", "10000000", "--warmup-cap", str(PYPY_WARMUP_SECONDS)]
        log(f"[adapters] /small c={c} n={n} peers={[p[0] for p in peers]}")

        def fn(p, r, c=c, n=n, extra=extra):
            out = suite.run_worker(suite.interp, p, suite.ng.url("/small"), "rps", c, n, extra)
            if not out.get("error") and not out.get("skipped"):
                log(
                    f"    r{r} {p[0]:17s} {out['rps']:9.0f} req/s  "
                    f"{out['cpu_us']:7.1f} us CPU/req  p50 {out['p50_ms']:.3f} ms"
                    f"  err {out['errors']}"
                )
                if out.get("errors") and not p[0].endswith("-patched"):
                    suite.res["errors"].append(
                        {"peer": p[0], "error": f"{out['errors']} failed: {out.get('first_error')}"}
                    )
            return out

        for name, lst in suite.rounds_of(peers, fn).items():
            res[(c, name)] = lst


def _paired(res, a, b, field="rps"):
    """Median of the same-round ratios a/b (the ratio of medians if rounds are missing)."""
    import statistics

    la, lb = res.get(a, []), res.get(b, [])
    pairs = [x[field] / y[field] for x, y in zip(la, lb) if x.get(field) and y.get(field)]
    if pairs and len(la) == len(lb):
        return statistics.median(pairs)
    ma, mb = med([x.get(field) for x in la]), med([x.get(field) for x in lb])
    return ma / mb if ma and mb else None


def render(suite) -> list:
    res = suite.res.get("adapters")
    if not res:
        return []
    concs = sorted({c for c, _ in res})
    names = [n for n in NAMES if any(res.get((c, n)) for c in concs)]
    vers = suite.res.get("adapters-versions", {}).get(suite.interp, {})
    L = ["## httpx and requests on our engine vs. monkey-patched, /small keep-alive\n"]
    L.append(
        "| client | "
        + " | ".join(f"c={c} req/s" for c in concs)
        + " | "
        + " | ".join(f"c={c} CPU µs/req" for c in concs)
        + " | errors |"
    )
    L.append("|---|" + "---:|" * (2 * len(concs)) + "---:|")
    for n in names:
        rps = [fmt(med([x["rps"] for x in res.get((c, n), [])])) for c in concs]
        cpu = [fmt(med([x.get("cpu_us") for x in res.get((c, n), [])]), 1) for c in concs]
        errs = sum(x.get("errors", 0) for c in concs for x in res.get((c, n), []))
        L.append(f"| {n} | " + " | ".join(rps + cpu) + f" | {errs} |")
    L.append(
        "\n(medians over rounds. httpx-ours: httpx.Client(transport=GeventTransport("
        "limits=httpx.Limits(max_connections=C))); requests-ours: requests.Session() with "
        "GeventAdapter(pool_maxsize=C) mounted; *-patched: the same library after "
        "gevent.monkey.patch_all(), Limits(max_connections=C) / HTTPAdapter(pool_maxsize=C); "
        "httpclient: HTTPClient.get(path) + read(); each request get(url) and .content; "
        "CPU: the worker's user + system time over the timed phase / requests; "
        + ", ".join(f"{d} {v}" for d, v in vers.items())
        + ")\n"
    )
    L.append("| target | value | target | status |")
    L.append("|---|---:|---:|---|")
    for lib in LIBS:
        for c in concs:
            v = _paired(res, (c, f"{lib}-ours"), (c, f"{lib}-patched"))
            status = "–" if v is None else ("MET" if v >= TARGET else "missed")
            L.append(
                f"| /small c={c} {lib}-ours/{lib}-patched req/s | {fmt(v, 2)} "
                f"| >= {TARGET} | {status} |"
            )
    for lib in LIBS:
        for c in concs:
            v = _paired(res, (c, f"{lib}-patched"), (c, f"{lib}-ours"), "cpu_us")
            if v is not None:
                L.append(
                    f"| /small c={c} {lib}-patched/{lib}-ours CPU per request | {fmt(v, 2)} | info | |"
                )
    for lib in LIBS:
        for c in concs:
            v = _paired(res, (c, f"{lib}-ours"), (c, "httpclient"))
            if v is not None:
                L.append(f"| /small c={c} {lib}-ours/httpclient req/s | {fmt(v, 2)} | info | |")
    L.append("")
    return L


# -- the worker (run in the adapters virtualenv) -----------------------------------


def _client(variant: str, url: str, c: int):
    """``one()`` doing one GET of url and returning the body's length."""
    if variant.startswith("httpx"):
        import httpx

        limits = httpx.Limits(max_connections=c, max_keepalive_connections=c)
        timeout = httpx.Timeout(30.0, pool=None)
        if variant == "httpx-ours":
            from geventhttpclient.contrib.httpx import GeventTransport

            session = httpx.Client(transport=GeventTransport(limits=limits), timeout=timeout)
        else:
            session = httpx.Client(limits=limits, timeout=timeout)
        get, kw = session.get, {}
    elif variant.startswith("requests"):
        import requests

        session = requests.Session()
        if variant == "requests-ours":
            from geventhttpclient.contrib.requests import GeventAdapter

            adapter = GeventAdapter(pool_connections=1, pool_maxsize=c)
        else:
            from requests.adapters import HTTPAdapter

            adapter = HTTPAdapter(pool_connections=1, pool_maxsize=c, pool_block=True)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        get, kw = session.get, {"timeout": 30}
    elif variant == "httpclient":
        from geventhttpclient import HTTPClient
        from geventhttpclient.url import URL

        u = URL(url)
        client = HTTPClient(
            u.host, port=u.port, concurrency=c, connection_timeout=30, network_timeout=30
        )
        path = u.request_uri

        def one() -> int:
            r = client.get(path)
            body = r.read()
            if r.status_code != 200:
                raise RuntimeError(r.status_code)
            return len(body)

        return one
    else:
        raise SystemExit(f"unknown variant {variant!r}")

    def one() -> int:
        r = get(url, **kw)
        if r.status_code != 200:
            raise RuntimeError(r.status_code)
        return len(r.content)

    return one


def _rps(C, args, one) -> None:
    """``clients/_common.gevent_rps``'s loop (warm-up, then N timed from C greenlets),
    with the worker's CPU time over the timed phase."""
    import gc
    import resource
    import time

    from gevent.pool import Pool

    state = {"left": 0, "done": 0, "errors": 0, "first_error": None}
    latencies: list = []
    deadline: list = [None]
    pc = time.perf_counter

    def worker(record: bool) -> None:
        while state["left"] > 0:
            state["left"] -= 1
            if deadline[0] is not None and deadline[0].passed():
                state["left"] = 0
                return
            t0 = pc()
            try:
                one()
            except Exception as e:  # noqa: BLE001
                state["errors"] += 1
                if state["first_error"] is None:
                    state["first_error"] = repr(e)[:300]
                continue
            if record:
                latencies.append(pc() - t0)
            state["done"] += 1

    def phase(n: int, record: bool, seconds: float = 0.0) -> None:
        state["left"] = n
        state["done"] = 0
        deadline[0] = C.Deadline(seconds) if seconds else None
        pool = Pool(args.concurrency)
        for _ in range(args.concurrency):
            pool.spawn(worker, record)
        pool.join()

    def cpu() -> float:
        ru = resource.getrusage(resource.RUSAGE_SELF)
        return ru.ru_utime + ru.ru_stime

    t_end = pc() + args.warmup_seconds
    phase(args.warmup, False, args.warmup_cap)
    while pc() < t_end:
        phase(max(args.warmup // 4, args.concurrency), False)
    state["errors"] = 0
    state["first_error"] = None
    gc.collect()
    c0, t0 = cpu(), pc()
    phase(args.n, True, args.max_seconds)
    elapsed, used = pc() - t0, cpu() - c0
    done = state["done"]
    C.emit(
        args,
        args.variant,
        requests=done,
        errors=state["errors"],
        elapsed=elapsed,
        rps=done / elapsed if elapsed > 0 else 0.0,
        cpu_us=used / done * 1e6 if done else None,
        latencies=latencies,
        first_error=state["first_error"],
    )


def _worker() -> None:
    if any(a.endswith("-patched") for a in sys.argv):
        # before anything imports socket, ssl or threading, as the patched peers do
        from gevent import monkey

        monkey.patch_all()
    sys.path.insert(0, os.path.join(HERE, "clients"))
    import _common as C

    args = C.parse_args()
    if args.mode != "rps":
        C.emit(args, args.variant, skipped="rps only")
        return
    try:
        one = _client(args.variant, args.url, max(1, args.concurrency))
    except ImportError as e:
        C.emit(args, args.variant, skipped=f"not importable: {e}")
        return
    _rps(C, args, one)


if __name__ == "__main__":
    _worker()
