"""The Locust scenario of the Locust job: FastHttpUser against ``target_server.py``.

Run by ``run_check.py`` (``locust -f locustfile.py --headless ...``), which passes
the target through the environment:

* ``GHC_LOCUST_HTTP`` / ``GHC_LOCUST_HTTPS``: base URLs of the target server,
* ``GHC_LOCUST_CA``: its CA certificate (trustme),
* ``GHC_LOCUST_ITERATIONS``: how many times each user runs the scenario,
* ``GHC_LOCUST_FACTS``: a JSON file this locustfile writes when Locust quits,
* ``GHC_LOCUST_SOCKS``: the URL of the SOCKS proxy (``tests/socksserver.py``) that
  ``SocksUser`` goes through, credentials included.

Three user classes run the same scenario, each with a fixed number of users, so
every request name gets an exact, known count: ``PlainUser`` over HTTP with its own
pool, ``TlsUser`` over HTTPS with a custom ``ssl_context_factory`` that trusts only
the test CA (``insecure = False``), ``PoolUser`` over HTTP with one
``HTTPClientPool`` shared by all its users (``client_pool``). Request names are
prefixed with the class's tag (``http``, ``https``, ``pool``).

A fourth class, ``SocksUser``, sends a shorter scenario (``EXPECTED_SOCKS``) to the
same HTTP and HTTPS servers through a SOCKS5 proxy (``socks5h://``, with a username
and password), given as FastHttpUser's ``proxy_host``; every request it sends is
marked ``X-Via: socks`` so the server can tell which ones came from it.

Every user stops itself after its iterations; the last one asks the runner to quit,
so the run takes as long as the requests, not ``--run-time`` (a safety bound).

What each step expects is in ``EXPECTED`` (read by ``run_check.py``): ``None`` for
a success, else the error text Locust must record in its failures.
"""

from __future__ import annotations

import json
import os
import ssl
import traceback
from typing import Any, Dict, List

import gevent
import locust.stats
from locust import FastHttpUser, constant, events, task
from locust.contrib.fasthttp import FastHttpSession
from locust.exception import StopUser

from geventhttpclient.client import HTTPClientPool

HTTP = os.environ.get("GHC_LOCUST_HTTP", "http://127.0.0.1:8000")
HTTPS = os.environ.get("GHC_LOCUST_HTTPS", "https://localhost:8443")
REFUSED = os.environ.get("GHC_LOCUST_REFUSED", "http://127.0.0.1:9")
CA_FILE = os.environ.get("GHC_LOCUST_CA", "")
ITERATIONS = int(os.environ.get("GHC_LOCUST_ITERATIONS", "5"))
FACTS_FILE = os.environ.get("GHC_LOCUST_FACTS", "")
SOCKS = os.environ.get("GHC_LOCUST_SOCKS", "")

ITEM = {"id": 1, "name": "thing", "tags": ["a", "b"]}
STREAM_LINES = [f"line {i}" for i in range(20)]
RAW_TARGET = "/echo-target/a b/\u00fc?q=x y"
QUOTED_TARGET = "/echo-target/a%20b/%C3%BC?q=x%20y"

# Request name (without the class tag) -> the failure Locust must record, or None.
# A str is the exact error text of Locust's failures; a tuple lists acceptable
# prefixes (for errors whose message carries OS- or timing-dependent details).
DECODING = ("DecodingError(",)
# A reset mid-body is IncompleteResponse (the response had begun). If the reset
# overtakes the head (the kernel may drop unread bytes on RST), it is ConnectionClosed.
CUT_SHORT = ("IncompleteResponse(", "ConnectionClosed(")
EXPECTED: Dict[str, Any] = {
    "GET rest /api/item": None,
    "POST rest /api/item": None,
    "GET /missing": "LocustBadStatusCode(code=404)",
    "GET /missing (caught)": None,
    "GET /api/item (manual failure)": "CatchResponseError('marked as failed by the task')",
    "GET /redirect/3 (follow)": None,
    "GET /redirect/3 (no follow)": None,
    "GET /whoami (no cookie)": None,
    "GET /login": None,
    "GET /whoami (cookie)": None,
    "GET /gzip": None,
    "GET /br": None,
    "GET /bad-gzip": DECODING,
    "GET /bad-br": DECODING,
    "GET /unknown-coding": DECODING,
    "GET /stream (iter_content)": None,
    "GET /stream (iter_lines)": None,
    "GET /reset": CUT_SHORT,
    "GET /truncated": CUT_SHORT,
    "GET /echo-target (quoted)": None,
    # Errors before any response: Locust's ErrorResponse path. With max_retries = 0
    # (FastHttpUser's default) a retryable error ends as RetriesExceeded, as in 2.x.
    "GET /close-early": ("RetriesExceeded(",),
    "GET /slow (timeout)": ("RetriesExceeded(",),
    "GET refused": ("ConnectionRefused(",),
}
# TlsUser only: a session verifying against the default CAs, which do not include
# the test CA (must fail), and an insecure one (Locust's default: must succeed).
EXPECTED_TLS_ONLY: Dict[str, Any] = {
    # CertificateVerifyError: a TLSError and the stdlib's ssl.CertificateError (2.x's)
    "GET /api/item (default CAs)": ("CertificateVerifyError(",),
    "GET /api/item (insecure)": None,
}

# SocksUser's scenario (tag "socks"): through the SOCKS proxy to both servers.
EXPECTED_SOCKS: Dict[str, Any] = {
    "GET rest /api/item": None,
    "POST rest /api/item": None,
    "GET /missing": "LocustBadStatusCode(code=404)",
    "GET /redirect/3 (follow)": None,
    "GET /gzip": None,
    "GET https /api/item": None,
}

facts: Dict[str, Any] = {
    "iterations": {},
    "user_errors": [],
    "ssl_factory_calls": 0,
    "pool_shared": None,
}
finished: List[str] = []


def trusting_test_ca(**_kw: Any) -> ssl.SSLContext:
    """The custom ssl_context_factory: verifies against the test CA only.

    geventhttpclient calls it as ``factory(cafile=...)`` (2.x did too); the
    argument is ignored on purpose, so only the test CA is trusted.
    """
    facts["ssl_factory_calls"] += 1
    return ssl.create_default_context(cafile=CA_FILE)


def finish(user: Any) -> None:
    """A user ran its iterations: it stops, and the last one to stop ends the run."""
    finished.append(user.tag)
    # The classes this run has (locustfile_otel.py runs fewer of them).
    expected_users = sum(cls.fixed_count for cls in user.environment.user_classes)
    if len(finished) == expected_users:
        # Not from this greenlet: quitting kills the users, this one included. Locust
        # writes its CSV files every CSV_STATS_INTERVAL_SEC and not again when it
        # quits, so wait for one more write: it then has every request.
        delay = locust.stats.CSV_STATS_INTERVAL_SEC + 0.5
        gevent.spawn_later(delay, user.environment.runner.quit)
    raise StopUser()


class Scenario(FastHttpUser):
    abstract = True
    wait_time = constant(0)
    tag = ""
    network_timeout = 10.0
    connection_timeout = 10.0

    def n(self, name: str) -> str:
        return f"{self.tag} {name}"

    def on_start(self) -> None:
        self.done = 0
        # Same base URL, a short network_timeout: /slow must time out.
        self.impatient = FastHttpSession(
            self.host,
            request_event=self.environment.events.request,
            user=self,
            network_timeout=0.2,
            connection_timeout=5.0,
            max_retries=0,  # as FastHttpUser's
            insecure=self.insecure,
            ssl_context_factory=self.ssl_context_factory,
        )

    @task
    def scenario(self) -> None:
        if self.done >= ITERATIONS:
            finish(self)
        self.steps()
        self.done += 1
        facts["iterations"][self.tag] = facts["iterations"].get(self.tag, 0) + 1

    def steps(self) -> None:
        c = self.client
        n = self.n

        # rest(): JSON in and out, with assertions inside the block.
        with self.rest("GET", "/api/item", name=n("rest /api/item")) as r:
            assert r.js == ITEM, f"unexpected JSON {r.js!r}"
        with self.rest("POST", "/api/item", json={"x": 1}, name=n("rest /api/item")) as r:
            assert r.status_code == 201, f"status {r.status_code}"
            assert r.js == {"created": {"x": 1}}, f"unexpected JSON {r.js!r}"

        # A bad status: Locust's own failure name.
        c.get("/missing", name=n("/missing"))
        with c.get("/missing", name=n("/missing (caught)"), catch_response=True) as r:
            if r.status_code == 404:
                r.success()
            else:
                r.failure(f"expected 404, got {r.status_code}")
        with c.get("/api/item", name=n("/api/item (manual failure)"), catch_response=True) as r:
            if r.status_code == 200 and json.loads(r.content) == ITEM:
                r.failure("marked as failed by the task")
            else:
                r.failure(f"unexpected answer {r.status_code} {r.content!r}")

        # Redirects, followed and not.
        with c.get("/redirect/3", name=n("/redirect/3 (follow)"), catch_response=True) as r:
            if r.status_code != 200 or r.content != b"landed":
                r.failure(f"redirect not followed: {r.status_code} {r.content!r}")
        with c.get(
            "/redirect/3",
            name=n("/redirect/3 (no follow)"),
            allow_redirects=False,
            catch_response=True,
        ) as r:
            location = r.headers.get("location") if r.headers else None
            if r.status_code != 302 or location != "/redirect/2":
                r.failure(f"redirect followed: {r.status_code} {location!r}")

        # Cookies: none at first, the one /login set afterwards.
        c.cookiejar.clear()
        with c.get("/whoami", name=n("/whoami (no cookie)"), catch_response=True) as r:
            if r.status_code == 401:
                r.success()
            else:
                r.failure(f"a cookie was sent before /login: {r.status_code} {r.content!r}")
        login = c.get("/login", name=n("/login"))
        cookie = login.headers.get("set-cookie", "") if login.headers else ""
        session = cookie.split(";", 1)[0].partition("=")[2]
        with c.get("/whoami", name=n("/whoami (cookie)"), catch_response=True) as r:
            if r.status_code != 200 or r.content.decode() != session:
                r.failure(f"cookie {session!r} not sent back: {r.status_code} {r.content!r}")

        # Content codings: good ones decode, broken or unknown ones are failures.
        for path in ("/gzip", "/br"):
            with c.get(path, name=n(path), catch_response=True) as r:
                if r.content is None or json.loads(r.content) != ITEM:
                    r.failure(f"bad decoded body {r.content!r}")
        for path in ("/bad-gzip", "/bad-br", "/unknown-coding"):
            c.get(path, name=n(path))

        # Streaming.
        with c.get(
            "/stream", name=n("/stream (iter_content)"), stream=True, catch_response=True
        ) as r:
            text = "".join(
                part if isinstance(part, str) else part.decode()
                for part in r.iter_content(chunk_size=16)
            )
            if text.splitlines() != STREAM_LINES:
                r.failure(f"streamed body wrong: {text!r}")
        lines = list(c.iter_lines("/stream", name=n("/stream (iter_lines)")))
        if lines != STREAM_LINES:
            raise AssertionError(f"iter_lines gave {lines!r}")  # escapes: the checker sees it

        # Connections that die mid-body: failures, never exceptions out of the task.
        c.get("/reset", name=n("/reset"))
        c.get("/truncated", name=n("/truncated"))

        # Failures before any response byte.
        c.get("/close-early", name=n("/close-early"))
        self.impatient.get("/slow", name=n("/slow (timeout)"))
        c.get(REFUSED + "/", name=n("refused"))

        # The request target goes out percent-encoded.
        with c.get(RAW_TARGET, name=n("/echo-target (quoted)"), catch_response=True) as r:
            if r.content != QUOTED_TARGET.encode():
                r.failure(f"target sent as {r.content!r}")


class PlainUser(Scenario):
    fixed_count = 2
    host = HTTP
    tag = "http"


class TlsUser(Scenario):
    fixed_count = 1
    host = HTTPS
    tag = "https"
    insecure = False
    ssl_context_factory = staticmethod(trusting_test_ca)

    def on_start(self) -> None:
        super().on_start()
        common = {
            "request_event": self.environment.events.request,
            "user": self,
            "network_timeout": 10.0,
            "connection_timeout": 10.0,
        }
        self.default_ca = FastHttpSession(self.host, insecure=False, **common)
        self.no_verify = FastHttpSession(self.host, **common)  # insecure=True: Locust's default

    def steps(self) -> None:
        super().steps()
        self.default_ca.get("/api/item", name=self.n("/api/item (default CAs)"))
        with self.no_verify.get(
            "/api/item", name=self.n("/api/item (insecure)"), catch_response=True
        ) as r:
            if r.content is None or json.loads(r.content) != ITEM:
                r.failure(f"bad body {r.content!r}")


class PoolUser(Scenario):
    fixed_count = 2
    host = HTTP
    tag = "pool"
    client_pool = HTTPClientPool(concurrency=4, network_timeout=10.0, connection_timeout=10.0)

    def on_start(self) -> None:
        super().on_start()
        # Locust hands client_pool to its UserAgent: every PoolUser must use it.
        shared = self.client.client.clientpool is PoolUser.client_pool
        facts["pool_shared"] = shared and facts["pool_shared"] is not False


class SocksUser(FastHttpUser):
    """Every request through the SOCKS proxy: FastHttpUser's ``proxy_host`` takes a
    proxy URL (``socks5h://user:password@host:port``), and so does a FastHttpSession
    of its own for the HTTPS server (TLS to the origin inside the SOCKS tunnel)."""

    fixed_count = 1
    host = HTTP
    tag = "socks"
    proxy_host = SOCKS or None
    default_headers = {"X-Via": "socks"}
    wait_time = constant(0)
    network_timeout = 10.0
    connection_timeout = 10.0

    def on_start(self) -> None:
        self.done = 0
        self.tls = FastHttpSession(
            HTTPS,
            request_event=self.environment.events.request,
            user=self,
            insecure=False,
            ssl_context_factory=trusting_test_ca,
            proxy_host=SOCKS,
            headers=self.default_headers,
            network_timeout=10.0,
            connection_timeout=10.0,
        )

    @task
    def through_socks(self) -> None:
        if self.done >= ITERATIONS:
            finish(self)
        c = self.client

        def n(name: str) -> str:
            return f"{self.tag} {name}"

        with self.rest("GET", "/api/item", name=n("rest /api/item")) as r:
            assert r.js == ITEM, f"unexpected JSON {r.js!r}"
        with self.rest("POST", "/api/item", json={"x": 1}, name=n("rest /api/item")) as r:
            assert r.js == {"created": {"x": 1}}, f"unexpected JSON {r.js!r}"
        c.get("/missing", name=n("/missing"))
        with c.get("/redirect/3", name=n("/redirect/3 (follow)"), catch_response=True) as r:
            if r.status_code != 200 or r.content != b"landed":
                r.failure(f"redirect not followed: {r.status_code} {r.content!r}")
        with c.get("/gzip", name=n("/gzip"), catch_response=True) as r:
            if r.content is None or json.loads(r.content) != ITEM:
                r.failure(f"bad decoded body {r.content!r}")
        with self.tls.get("/api/item", name=n("https /api/item"), catch_response=True) as r:
            if r.content is None or json.loads(r.content) != ITEM:
                r.failure(f"bad body {r.content!r}")
        self.done += 1
        facts["iterations"][self.tag] = facts["iterations"].get(self.tag, 0) + 1


@events.user_error.add_listener
def on_user_error(user_instance: Any, exception: BaseException, tb: Any) -> None:
    facts["user_errors"].append(
        {
            "user": type(user_instance).__name__,
            "exception": repr(exception),
            "traceback": "".join(traceback.format_exception(type(exception), exception, tb)),
        }
    )


@events.quitting.add_listener
def on_quitting(environment: Any, **_kw: Any) -> None:
    if FACTS_FILE:
        with open(FACTS_FILE, "w") as f:
            json.dump(facts, f, indent=2)
