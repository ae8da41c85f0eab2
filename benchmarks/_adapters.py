"""The suite's ``adapters`` section: httpx and requests on our engine against the same
libraries monkey-patched by gevent (issue 17).

Four contenders, each in its own process, on /small at c=10 and c=100, C greenlets
sharing one client or session, alternated within every round:

  httpx-ours        ``httpx.Client(transport=GeventTransport(limits=Limits(max_connections=C)))``
  httpx-patched     ``httpx.Client(limits=Limits(max_connections=C))`` after
                    ``gevent.monkey.patch_all()`` (``clients/httpx_client.py``)
  requests-ours     ``requests.Session()`` with ``GeventAdapter(pool_maxsize=C)`` mounted
  requests-patched  ``requests.Session()`` with ``HTTPAdapter(pool_maxsize=C)`` after
                    ``patch_all()`` (``clients/requests_client.py``)

plus, in full runs, ``httpclient``: our own ``HTTPClient`` (``clients/ours.py``) as the ceiling that the
two adapters sit on. Each request is ``get(url)``, a status check and ``.content``.

The patched contenders run from the suite's ``sync`` virtualenv; ours from an
``adapters`` virtualenv (this repository, re-installed from the work tree every run,
and the same httpx and requests versions as ``sync``, so that only the transport
differs). This file is also the worker for ours: ``python _adapters.py --variant
httpx|requests ...`` with the arguments of ``clients/_common.py``; it reports
``skipped`` when the adapter does not import (an older tree).

Target (issue 17): ours/patched at least 3x for each library, c=10 and c=100, on
CPython and PyPy.

    python benchmarks/run.py --sections adapters --peers ours --interp both
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CONCS = (10, 100)
TARGET = 3.0
LIBS = ("httpx", "requests")

# name, venv, script, extra args (scripts are found in clients/, or this file)
PEERS = [
    ("httpx-ours", "adapters", os.path.abspath(__file__), ["--variant", "httpx"]),
    ("httpx-patched", "sync", "httpx_client.py", []),
    ("requests-ours", "adapters", os.path.abspath(__file__), ["--variant", "requests"]),
    ("requests-patched", "sync", "requests_client.py", []),
    ("httpclient", "ours", "ours.py", []),
]
QUICK_SKIP = {"httpclient"}  # the smoke run measures the four contenders only


def log(msg: str) -> None:
    print(msg, flush=True)


# -- virtualenvs -------------------------------------------------------------------


def _versions(py: str, modules: tuple) -> dict:
    """``{module: version}`` of what a virtualenv has installed (missing ones left out)."""
    code = (
        "import importlib.metadata as m, json, sys\n"
        "out = {}\n"
        "for d in sys.argv[1:]:\n"
        "    try: out[d] = m.version(d)\n"
        "    except m.PackageNotFoundError: pass\n"
        "print(json.dumps(out))\n"
    )
    import json

    p = subprocess.run([py, "-c", code, *modules], capture_output=True, text=True)
    try:
        return json.loads(p.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {}


def _ensure_adapters_venv(suite) -> bool:
    """Make (or refresh) the ``adapters`` virtualenv: our package from the work tree and
    exactly the httpx and requests of ``sync``, so that the two sides differ only in the
    transport."""
    import _envs

    interp = suite.interp
    _envs.SPECS.setdefault(
        "adapters",
        {i: [_envs.REPO, "gevent", "httpx", "requests"] for i in ("cpython", "pypy")},
    )
    if not _envs.ensure(interp, "adapters", reinstall_ours=False):
        return False
    py = _envs.venv_python(interp, "adapters")
    logpath = os.path.join(_envs.VENVS, f"{interp}-adapters.log")
    with open(logpath, "a") as out:
        if not suite.a.no_reinstall:
            # _envs.ensure() rebuilds the package under test only in the "ours" venv
            cmd = [py, "-m", "pip", "install", "-q", "--force-reinstall", "--no-deps"]
            if _envs._run(cmd + [_envs.repo_snapshot()], out) != 0:
                log(f"[adapters] {interp}-adapters: reinstall failed (see {logpath})")
                return False
        sync = _versions(_envs.venv_python(interp, "sync"), LIBS)
        mine = _versions(py, LIBS)
        pins = [f"{d}=={v}" for d, v in sync.items() if mine.get(d) != v]
        if pins:
            log(f"[adapters] {interp}-adapters: pinning {pins} as in {interp}-sync")
            if _envs._run([py, "-m", "pip", "install", "-q", *pins], out) != 0:
                log(f"[adapters] {interp}-adapters: pinning failed (see {logpath})")
                return False
    return True


def _peers(suite) -> list:
    import _envs

    names = {p[0] for p in PEERS}
    # --peers filters this section only when it names some of its contenders (the
    # suite's own peer names, e.g. "--peers ours", keep the suite's setup small)
    wanted = set(suite.a.peers.split(",")) & names if suite.a.peers else set()
    # suite.setup() rebuilt "ours" from the work tree if one of its peers uses it
    reinstall = not suite.a.no_reinstall and not any(p[1] == "ours" for p in suite.peers)
    # "sync" first: the adapters venv copies its versions of httpx and requests
    ok = {"sync": _envs.ensure(suite.interp, "sync")}
    ok["adapters"] = ok["sync"] and _ensure_adapters_venv(suite)
    vers = suite.res.setdefault("adapters-versions", {})
    for venv in ("sync", "adapters"):
        if ok[venv]:
            vers[venv] = _versions(_envs.venv_python(suite.interp, venv), (*LIBS, "gevent"))
    out = []
    for name, venv, script, args in PEERS:
        if (wanted and name not in wanted) or (suite.a.quick and name in QUICK_SKIP):
            continue
        if venv not in ok:
            ok[venv] = _envs.ensure(suite.interp, venv, reinstall_ours=reinstall)
        if ok[venv]:
            out.append((name, venv, script, args))
        else:
            log(f"[adapters] skipping {name} (venv {venv} unavailable)")
            suite.res["errors"].append({"peer": name, "error": f"no virtualenv ({venv})"})
    return out


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
        log(f"[adapters] /small c={c} n={n} peers={[p[0] for p in peers]}")

        def fn(p, r, c=c, n=n, extra=extra):
            out = suite.run_worker(suite.interp, p, suite.ng.url("/small"), "rps", c, n, extra)
            if not out.get("error") and not out.get("skipped"):
                log(
                    f"    r{r} {p[0]:17s} {out['rps']:9.0f} req/s  p50 {out['p50_ms']:.3f} ms"
                    f"  err {out['errors']}"
                )
                if out.get("errors") and p[1] != "sync":
                    suite.res["errors"].append(
                        {"peer": p[0], "error": f"{out['errors']} failed: {out.get('first_error')}"}
                    )
            return out

        for name, lst in suite.rounds_of(peers, fn).items():
            res[(c, name)] = lst


def _med(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def _paired(res, a, b):
    """Median of the same-round ratios a/b (the ratio of medians if rounds are missing)."""
    la, lb = res.get(a, []), res.get(b, [])
    pairs = [x["rps"] / y["rps"] for x, y in zip(la, lb) if x.get("rps") and y.get("rps")]
    if pairs and len(la) == len(lb):
        return statistics.median(pairs)
    ma, mb = _med([x.get("rps") for x in la]), _med([x.get("rps") for x in lb])
    return ma / mb if ma and mb else None


def _fmt(v, nd=0):
    return "–" if v is None else f"{v:,.{nd}f}"


def render(suite) -> list:
    res = suite.res.get("adapters")
    if not res:
        return []
    concs = sorted({c for c, _ in res})
    names = [p[0] for p in PEERS if any(res.get((c, p[0])) for c in concs)]
    vers = suite.res.get("adapters-versions", {})
    L = ["## httpx and requests on our engine vs. monkey-patched, /small: requests/s (median)\n"]
    L.append("| client | " + " | ".join(f"c={c}" for c in concs) + " | errors |")
    L.append("|---|" + "---:|" * len(concs) + "---:|")
    for n in names:
        cells = [_fmt(_med([x["rps"] for x in res.get((c, n), [])])) for c in concs]
        errs = sum(x.get("errors", 0) for c in concs for x in res.get((c, n), []))
        L.append(f"| {n} | " + " | ".join(cells) + f" | {errs} |")
    L.append(
        "\n(httpx-ours: httpx.Client(transport=geventhttpclient.contrib.httpx.GeventTransport("
        "limits=httpx.Limits(max_connections=C))); requests-ours: requests.Session() with "
        "geventhttpclient.contrib.requests.GeventAdapter(pool_maxsize=C) mounted; *-patched: "
        "the same library after gevent.monkey.patch_all(), Limits(max_connections=C) / "
        "HTTPAdapter(pool_maxsize=C); httpclient: HTTPClient.get(path) + read() (clients/ours.py); each request "
        "get(url) and .content; "
        + "; ".join(
            f"{venv} venv: " + ", ".join(f"{d} {v}" for d, v in sorted(vs.items()))
            for venv, vs in sorted(vers.items())
        )
        + ")\n"
    )
    L.append("| target | value | target | status |")
    L.append("|---|---:|---:|---|")
    for lib in LIBS:
        for c in concs:
            v = _paired(res, (c, f"{lib}-ours"), (c, f"{lib}-patched"))
            status = "–" if v is None else ("MET" if v >= TARGET else "missed")
            L.append(
                f"| /small c={c} {lib}-ours/{lib}-patched | {_fmt(v, 2)} | >= {TARGET} | {status} |"
            )
    for lib in LIBS:
        for c in concs:
            v = _paired(res, (c, f"{lib}-ours"), (c, "httpclient"))
            if v is not None:
                L.append(f"| /small c={c} {lib}-ours/httpclient | {_fmt(v, 2)} | info | |")
    L.append("")
    return L


# -- the worker (run in the adapters virtualenv) -----------------------------------


def _worker() -> None:
    sys.path.insert(0, os.path.join(HERE, "clients"))
    import _common as C

    args = C.parse_args()
    peer = f"{args.variant}-ours"
    if args.mode != "rps":
        C.emit(args, peer, skipped="rps only")
        return
    c = max(1, args.concurrency)
    url = args.url
    try:
        if args.variant == "httpx":
            import httpx
            from geventhttpclient.contrib.httpx import GeventTransport

            limits = httpx.Limits(max_connections=c, max_keepalive_connections=c)
            session = httpx.Client(
                transport=GeventTransport(limits=limits), timeout=httpx.Timeout(30.0, pool=None)
            )
            kw: dict = {}
        elif args.variant == "requests":
            import requests

            from geventhttpclient.contrib.requests import GeventAdapter

            session = requests.Session()
            adapter = GeventAdapter(pool_connections=1, pool_maxsize=c)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            kw = {"timeout": 30}
        else:
            raise SystemExit(f"unknown variant {args.variant!r}")
    except ImportError as e:
        C.emit(args, peer, skipped=f"not importable: {e}")
        return

    get = session.get

    def one() -> int:
        r = get(url, **kw)
        if r.status_code != 200:
            raise RuntimeError(r.status_code)
        return len(r.content)

    C.gevent_rps(args, peer, one)


if __name__ == "__main__":
    _worker()
