"""Worker: httpx.Client (sync) under gevent.monkey.patch_all()."""

from gevent import monkey

monkey.patch_all()

import ssl  # noqa: E402

import _common as C  # noqa: E402
import httpx  # noqa: E402

if __name__ == "__main__":
    args = C.parse_args()
    c = max(1, args.concurrency)
    # https: verified against the benchmark CA (an SSLContext: httpx 0.28 deprecates a
    # path for verify); plain http: httpx's default
    tls = ssl.create_default_context(cafile=args.cafile) if C.is_https(args.url) else True
    client = httpx.Client(
        limits=httpx.Limits(max_connections=c, max_keepalive_connections=c),
        timeout=httpx.Timeout(30.0, pool=None),
        verify=tls,
    )
    url = args.url
    if args.mode == "rps":

        def one():
            r = client.get(url)
            if r.status_code != 200:
                raise RuntimeError(r.status_code)
            return len(r.content)

        C.gevent_rps(args, "httpx", one)
    elif args.mode == "read":

        def once():
            n = 0
            with client.stream("GET", url) as r:
                for b in r.iter_raw(C.BLOCK):
                    n += len(b)
            return n

        C.timed_stream(args, "httpx", once)
    else:
        C.emit(args, "httpx", skipped=args.mode)
