"""Worker: urllib3 HTTPConnectionPool under gevent.monkey.patch_all()."""

from gevent import monkey

monkey.patch_all()

import _common as C  # noqa: E402
import urllib3  # noqa: E402

if __name__ == "__main__":
    args = C.parse_args()
    host, port, path = C.split_url(args.url)
    pool = urllib3.HTTPConnectionPool(
        host, port, maxsize=max(1, args.concurrency), block=True, retries=False, timeout=30
    )
    if args.mode == "rps":

        def one():
            r = pool.request("GET", path)
            if r.status != 200:
                raise RuntimeError(r.status)
            return len(r.data)

        C.gevent_rps(args, "urllib3", one)
    elif args.mode in ("read", "readinto"):
        buf = bytearray(C.BLOCK)

        def once():
            r = pool.request("GET", path, preload_content=False)
            n = 0
            if args.mode == "read":
                while True:
                    b = r.read(C.BLOCK)
                    if not b:
                        break
                    n += len(b)
            else:
                while True:
                    k = r.readinto(buf)
                    if not k:
                        break
                    n += k
            r.release_conn()
            return n

        C.timed_stream(args, "urllib3", once)
    else:
        C.emit(args, "urllib3", skipped=args.mode)
