"""Worker: geventhttpclient's agent faces (ours or upstream 2.x, whichever the venv has).

``--variant``:
  ua        ``UserAgent(concurrency=C).urlopen(url).content``
  ua-jar    the same with a ``CookieJar``, as Locust's ``FastHttpSession`` makes it
  session   ``Session(...).get(url).content`` (one shared session)
  get       module-level ``geventhttpclient.get(url).content`` (its shared default session)

The body is read with ``.content`` (the decoded body), as requests-style code does.
"""

from __future__ import annotations

from http.cookiejar import CookieJar

import _common as C

import geventhttpclient
from geventhttpclient.useragent import UserAgent

if __name__ == "__main__":
    args = C.parse_args()
    peer = f"agent-{args.variant}"
    if args.mode != "rps":
        C.emit(args, peer, skipped="rps only")
        raise SystemExit(0)
    url = args.url
    kw = {"concurrency": args.concurrency, "connection_timeout": 30, "network_timeout": 30}
    if args.variant in ("ua", "ua-jar"):
        jar = CookieJar() if args.variant == "ua-jar" else None
        ua = UserAgent(cookiejar=jar, **kw)

        def one():
            r = ua.urlopen(url)
            if r.status_code != 200:
                raise RuntimeError(r.status_code)
            return len(r.content)

    elif args.variant == "session":
        session = geventhttpclient.Session(**kw)

        def one():
            r = session.get(url)
            if r.status_code != 200:
                raise RuntimeError(r.status_code)
            return len(r.content)

    elif args.variant == "get":
        get = geventhttpclient.get

        def one():
            r = get(url)
            if r.status_code != 200:
                raise RuntimeError(r.status_code)
            return len(r.content)

    else:
        raise SystemExit(f"unknown variant {args.variant!r}")
    C.gevent_rps(args, peer, one)
