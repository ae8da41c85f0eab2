"""A barrier HTTP server for the idle-memory measurement.

``GET /barrier/N`` is answered only once N such requests are waiting, then all of
them at once (a 614-byte page, keep-alive). A client that sends N requests
concurrently therefore holds N connections open at the same time, whatever the
timing: against nginx, gevent handles the first answers while later requests are
still being sent, and a "1000"-request burst on /small left about 100 connections
in a pool. A body too long for a first receive would hold them too, but every held
response then buffers its first block, and that transient memory (64 MiB in a
1000-connection burst) stays in the allocator's heap and swamps the figure.

Runs an asyncio loop in a daemon thread of the suite's process (stdlib only).
"""

from __future__ import annotations

import asyncio
import threading
from typing import Dict, List, Optional

from _nginx import small_page
from clients._common import raise_nofile

_PAGE = small_page()
_RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n" % len(_PAGE) + _PAGE
)


class BarrierServer:
    def __init__(self) -> None:
        self.port = 0
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._ready = threading.Event()
        self._waiting: Dict[int, List[asyncio.StreamWriter]] = {}

    def start(self) -> BarrierServer:
        # A thousand server-side sockets live in this process: lift a soft limit
        # of 1024 descriptors, or accept() fails and the barrier never fills.
        raise_nofile()
        threading.Thread(target=self._run, name="barrier-server", daemon=True).start()
        if not self._ready.wait(10):
            raise RuntimeError("barrier server did not start")
        return self

    def url(self) -> str:
        """The base URL; workers append ``/N``."""
        return f"http://127.0.0.1:{self.port}/barrier"

    def _run(self) -> None:
        loop = self._loop = asyncio.new_event_loop()
        server = loop.run_until_complete(
            asyncio.start_server(self._serve, "127.0.0.1", 0, backlog=4096, limit=65536)
        )
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        loop.run_forever()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                target = head.split(b" ", 2)[1]
                n = int(target.rsplit(b"/", 1)[1]) if target.startswith(b"/barrier/") else 1
                waiting = self._waiting.setdefault(n, [])
                waiting.append(writer)
                if len(waiting) >= n:
                    del self._waiting[n]
                    for w in waiting:
                        w.write(_RESPONSE)
        except (asyncio.IncompleteReadError, ConnectionError, ValueError, IndexError):
            pass
        finally:
            # A client that went away before its barrier filled must not count
            # towards the next run's barrier (which would then never fill).
            for n, waiting in list(self._waiting.items()):
                if writer in waiting:
                    waiting.remove(writer)
                    if not waiting:
                        del self._waiting[n]
            writer.close()
