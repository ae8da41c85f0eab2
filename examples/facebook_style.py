"""Many greenlets sharing one client: the "Facebook friends" example of 2.x.

Fetch a list of friends as JSON, then fetch every friend with 20 greenlets that
share one ``HTTPClient(concurrency=10)``: the client's connection pool makes the
extra greenlets wait (in FIFO order) for one of its 10 keep-alive connections.

A local gevent WSGI server plays the Graph API, so this runs offline. It checks the
access token on every request. Exits non-zero if anything went wrong.

    python examples/facebook_style.py
"""

from __future__ import annotations

import json
import sys
from typing import Any, Callable, Dict, Iterable, List
from urllib.parse import parse_qs

import gevent.pool
from gevent.pywsgi import WSGIServer

from geventhttpclient import URL, HTTPClient

TOKEN = "local-example-token"
FRIENDS: Dict[str, Dict[str, str]] = {
    str(1000 + i): {"id": str(1000 + i), "name": f"Friend {i}"}
    | ({"username": f"friend{i}"} if i % 3 else {})
    for i in range(50)
}


def graph_api(environ: dict, start_response: Callable[..., Any]) -> Iterable[bytes]:
    """/me/friends lists ids and names; /<id> is one friend."""
    query = parse_qs(environ.get("QUERY_STRING", ""))
    path = environ["PATH_INFO"]
    if query.get("access_token") != [TOKEN]:
        status, doc = "401 Unauthorized", {"error": "invalid access token"}
    elif path == "/me/friends":
        status = "200 OK"
        doc = {"data": [{"id": f["id"], "name": f["name"]} for f in FRIENDS.values()]}
    elif path.lstrip("/") in FRIENDS:
        status, doc = "200 OK", FRIENDS[path.lstrip("/")]
    else:
        status, doc = "404 Not Found", {"error": "no such object"}
    body = json.dumps(doc).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]


def main() -> int:
    server = WSGIServer(("127.0.0.1", 0), graph_api, log=None)
    server.start()
    printed: List[str] = []
    try:
        url = URL(f"http://127.0.0.1:{server.server_port}/me/friends")
        url["access_token"] = TOKEN
        http = HTTPClient.from_url(url, concurrency=10)
        response = http.get(url.request_uri)
        assert response.status_code == 200, response.status_code
        data = json.load(response)["data"]

        def print_friend_username(http: HTTPClient, friend_id: str) -> None:
            friend_url = URL("/" + str(friend_id))
            friend_url["access_token"] = TOKEN
            # the greenlet waits here until one of the client's connections is free
            response = http.get(friend_url.request_uri)
            assert response.status_code == 200, response.status_code
            friend = json.load(response)
            if "username" in friend:
                line = f"{friend['username']}: {friend['name']}"
            else:
                line = f"{friend['name']} has no username."
            print(line)
            printed.append(line)

        # 20 greenlets at a time, more than the client's concurrency: that is fine,
        # the client has its own connection pool.
        pool = gevent.pool.Pool(20)
        for item in data:
            pool.spawn(print_friend_username, http, item["id"])
        pool.join(raise_error=True)
        stats = http.statistics()
        print(f"{len(printed)} friends over {stats.created} connections ({stats.reused} reuses)")
        http.close()
    finally:
        server.stop()
    if len(printed) != len(FRIENDS) or stats.created > 10:
        print("unexpected result", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
