"""Worker: upstream geventhttpclient through UserAgent (urlopen + .read())."""

import _common as C

from geventhttpclient.useragent import UserAgent

if __name__ == "__main__":
    args = C.parse_args()
    if args.mode != "rps":
        C.emit(args, "upstream-ua", skipped="rps only")
        raise SystemExit(0)
    ua = UserAgent(concurrency=args.concurrency, connection_timeout=30, network_timeout=30)
    url = args.url

    def one():
        r = ua.urlopen(url)
        return len(r.read())

    C.gevent_rps(args, "upstream-ua", one)
