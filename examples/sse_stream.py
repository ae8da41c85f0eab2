"""Stream server-sent events and time them: time to the first event, gaps between.

The embedded local server (the one ``geventhttpclient bench`` uses) streams a
``text/event-stream`` at ``/sse``: here 10 events 50 ms apart after 200 ms, as an
LLM API streams tokens after thinking. Each event is printed when it arrives,
with its ``elapsed`` (seconds from the start of the request), so the example
runs offline. Exits non-zero if anything is not as expected.

    python examples/sse_stream.py
"""

from __future__ import annotations

import sys

from geventhttpclient import HTTPClient
from geventhttpclient._cli.localserver import LocalServer


def main() -> int:
    with LocalServer() as server:
        client = HTTPClient.from_url(server.url)
        try:
            response = client.get("/sse?n=10&interval=50&delay=200")
            print("status:", response.status_code, response.headers.get("content-type"))
            events = []
            for event in response.iter_events():
                events.append(event)
                print(f"{event.elapsed * 1000:8.1f} ms  id={event.id:>2}  {event.data}")
        finally:
            client.close()

    gaps = [b.elapsed - a.elapsed for a, b in zip(events, events[1:])]
    print(f"time to first event: {events[0].elapsed * 1000:.1f} ms")
    print(f"mean gap: {sum(gaps) / len(gaps) * 1000:.1f} ms")
    ok = len(events) == 10 and events[0].elapsed >= 0.2 and all(g > 0.0 for g in gaps)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
