"""Worker: requests.Session under gevent.monkey.patch_all()."""

from gevent import monkey

monkey.patch_all()

import _common as C  # noqa: E402
import requests  # noqa: E402
from requests.adapters import HTTPAdapter  # noqa: E402

if __name__ == "__main__":
    args = C.parse_args()
    s = requests.Session()
    ad = HTTPAdapter(pool_connections=1, pool_maxsize=max(1, args.concurrency), pool_block=True)
    s.mount("http://", ad)
    s.mount("https://", ad)
    # https: verified against the benchmark CA, per request (REQUESTS_CA_BUNDLE in the
    # environment would override Session.verify)
    tls = {"verify": args.cafile} if C.is_https(args.url) else {}
    url = args.url
    if args.mode == "rps":

        def one():
            r = s.get(url, timeout=30, **tls)
            if r.status_code != 200:
                raise RuntimeError(r.status_code)
            return len(r.content)

        C.gevent_rps(args, "requests", one)
    elif args.mode == "read":

        def once():
            n = 0
            with s.get(url, stream=True, timeout=30, **tls) as r:
                for b in r.iter_content(C.BLOCK):
                    n += len(b)
            return n

        C.timed_stream(args, "requests", once)
    else:
        C.emit(args, "requests", skipped=args.mode)
