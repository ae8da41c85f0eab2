"""Worker: Locust's FastHttpSession (its client for FastHttpUser) without the runner.

``FastHttpSession(base_url, request_event, user=None).get(path)`` from C greenlets,
each request counted through Locust's own request event, as FastHttpUser does
(minus the runner's scheduling and statistics): a steady, callgrind-friendly view
of what a Locust request costs in the HTTP client, for ours against upstream 2.x
in the locust-* virtualenvs.
"""

from __future__ import annotations

import _common as C
from locust.contrib.fasthttp import FastHttpSession
from locust.event import EventHook

if __name__ == "__main__":
    args = C.parse_args()
    if args.mode != "rps":
        C.emit(args, "locust-session", skipped="rps only")
        raise SystemExit(0)
    host, port, path = C.split_url(args.url)
    event = EventHook()
    counted = [0]

    def on_request(**kw):
        counted[0] += 1
        if kw.get("exception"):
            raise RuntimeError(kw["exception"])

    event.add_listener(on_request)
    session = FastHttpSession(f"http://{host}:{port}", request_event=event, user=None)

    def one():
        r = session.get(path)
        if r.status_code != 200:
            raise RuntimeError(r.status_code)
        return len(r.content)

    C.gevent_rps(args, "locust-session", one)
