"""The suite's ``agent`` section: the faces most users call, against our raw path.

``UserAgent.urlopen(url).content`` (as Locust's ``FastHttpUser`` does, with and
without a cookie jar), ``Session.get(url).content`` and the module-level
``geventhttpclient.get(url).content``, each against our own ``HTTPClient.get(path)``
+ ``read()`` on /small at c=10 and c=100, and the same faces of upstream 2.x
(2.6.1; 2.4.0 on PyPy), requests and httpx (gevent monkey-patched) as peers.
Workers: ``clients/agent.py --variant ua|ua-jar|session|get`` in our and
upstream's virtualenvs, ``clients/ours.py`` for the raw path.

Targets (issue 14): each of ours/ua, ours/session and ours/get at least 0.8x
ours (raw) in the same round, on CPython and PyPy.
"""

from __future__ import annotations

import statistics

import _envs
from _stats import fmt, med

CONCS = (10, 100)
TARGET = 0.8

# name, venv, script, extra args
PEERS = [
    ("ours", "ours", "ours.py", []),
    ("ours-ua", "ours", "agent.py", ["--variant", "ua"]),
    ("ours-ua-jar", "ours", "agent.py", ["--variant", "ua-jar"]),
    ("ours-session", "ours", "agent.py", ["--variant", "session"]),
    ("ours-get", "ours", "agent.py", ["--variant", "get"]),
    ("upstream-ua", "upstream", "agent.py", ["--variant", "ua"]),
    ("upstream-session", "upstream", "agent.py", ["--variant", "session"]),
    ("upstream-get", "upstream", "agent.py", ["--variant", "get"]),
    ("requests", "sync", "requests_client.py", []),
    ("httpx", "sync", "httpx_client.py", []),
]
FACES = ("ours-ua", "ours-ua-jar", "ours-session", "ours-get")


def log(msg: str) -> None:
    print(msg, flush=True)


def _peers(suite):
    wanted = set(suite.a.peers.split(",")) if suite.a.peers else None
    # suite.setup() rebuilt "ours" from the work tree if one of its peers uses it
    reinstall = not suite.a.no_reinstall and not any(p[1] == "ours" for p in suite.peers)
    out = []
    ok = {}
    for name, venv, script, args in PEERS:
        if wanted and name not in wanted:
            continue
        if venv not in ok:
            ok[venv] = _envs.ensure(suite.interp, venv, reinstall_ours=reinstall)
        if ok[venv]:
            out.append((name, venv, script, args))
        else:
            log(f"[agent] skipping {name} (venv {venv} unavailable)")
    return out


def run(suite) -> None:
    """/small at c=10 and c=100 for every face and peer, alternated within rounds."""
    res = suite.res.setdefault("agent", {})
    peers = _peers(suite)
    q = suite.a.quick
    if q and not suite.a.peers:
        # the CI smoke: every face of ours and upstream's agent once, at c=10
        peers = [p for p in peers if p[0].startswith("ours") or p[0] == "upstream-ua"]
    for c in CONCS[:1] if q else CONCS:
        n = suite.a.n or (300 if q else 150000)
        extra = ["--max-seconds", str(suite.a.max_seconds)]
        if q:
            pypy = suite.interp == "pypy"
            extra += ["--warmup", str(max(4 * c, 300) if pypy else max(2 * c, 50))]
            extra += ["--warmup-seconds", "0.5" if pypy else "0"]
        log(f"[agent] /small c={c} n={n} peers={[p[0] for p in peers]}")

        def fn(p, r, c=c, n=n, extra=extra):
            out = suite.run_worker(suite.interp, p, suite.ng.url("/small"), "rps", c, n, extra)
            if not out.get("error") and not out.get("skipped"):
                log(
                    f"    r{r} {p[0]:17s} {out['rps']:9.0f} req/s  p50 {out['p50_ms']:.3f} ms"
                    f"  err {out['errors']}"
                )
                if out.get("errors") and p[0].startswith("ours"):
                    suite.res["errors"].append(
                        {"peer": p[0], "error": f"{out['errors']} failed: {out.get('first_error')}"}
                    )
            return out

        for name, lst in suite.rounds_of(peers, fn).items():
            res[(c, name)] = lst


def _paired(res, a, b):
    la, lb = res.get(a, []), res.get(b, [])
    pairs = [x["rps"] / y["rps"] for x, y in zip(la, lb) if x.get("rps") and y.get("rps")]
    if pairs and len(la) == len(lb):
        return statistics.median(pairs)
    ma, mb = med([x.get("rps") for x in la]), med([x.get("rps") for x in lb])
    return ma / mb if ma and mb else None


def render(suite) -> list:
    res = suite.res.get("agent")
    if not res:
        return []
    concs = sorted({c for c, _ in res})
    names = [p[0] for p in PEERS if any((c, p[0]) in res for c in concs)]
    L = ["## agent faces, /small keep-alive: requests/s (median)\n"]
    L.append("| peer | " + " | ".join(f"c={c}" for c in concs) + " | vs ours (raw) | errors |")
    L.append("|---|" + "---:|" * len(concs) + "---|---:|")
    for n in names:
        cells = [fmt(med([x["rps"] for x in res.get((c, n), [])])) for c in concs]
        rel = " / ".join(fmt(_paired(res, (c, n), (c, "ours")), 2) for c in concs)
        errs = sum(x.get("errors", 0) for c in concs for x in res.get((c, n), []))
        L.append(f"| {n} | " + " | ".join(cells) + f" | {rel} | {errs} |")
    L.append(
        "\n(ours: HTTPClient.get(path) + read(); ours-ua: UserAgent().urlopen(url).content; "
        "-jar: with a CookieJar, as Locust; ours-session: Session().get(url).content; "
        "ours-get: geventhttpclient.get(url).content; upstream-*: the same calls on "
        "geventhttpclient 2.x; requests and httpx: Session/Client under gevent.monkey)\n"
    )
    L.append("| target | value | target | status |")
    L.append("|---|---:|---:|---|")
    for face in FACES:
        for c in concs:
            v = _paired(res, (c, face), (c, "ours"))
            status = "–" if v is None else ("MET" if v >= TARGET else "missed")
            L.append(f"| /small c={c} {face}/ours | {fmt(v, 2)} | >= {TARGET} | {status} |")
    for face, up in (("ours-ua", "upstream-ua"), ("ours-session", "upstream-session")):
        for c in concs:
            v = _paired(res, (c, face), (c, up))
            if v is not None:
                L.append(f"| /small c={c} {face}/{up} | {fmt(v, 2)} | info | |")
    L.append("")
    return L


def minimal_agent_request(ua, url, defaults):
    """A function doing the least an agent request does, written out: parse the full
    URL, find the client, copy the default headers, make a ``CompatRequest`` and a
    ``CompatResponse``, check the status, read ``content``. What ``agent_cost.py``
    and ``pypy_alloc.py`` measure ``urlopen`` against. A closure made once, so that
    calling it costs what the steps cost (geventhttpclient is imported here: this
    runs in the measured interpreter, the suite's module in another)."""
    from geventhttpclient.url import URL
    from geventhttpclient.useragent import CompatRequest, CompatResponse

    codes = ua.valid_response_codes
    pool = ua.clientpool

    def minimal():
        parsed = URL(url)
        pooled = pool.get_client(parsed)
        req = CompatRequest.__new__(CompatRequest)
        req.url, req.url_split, req.method, req.payload = url, parsed, "GET", None
        req.headers = defaults.copy()
        r = pooled.request("GET", parsed.quoted_uri, body=None, headers=req.headers)
        resp = CompatResponse(r, request=req, sent_request=r.sent_request)
        if resp.status_code not in codes:
            raise RuntimeError(resp.status_code)
        return resp.content

    return minimal
