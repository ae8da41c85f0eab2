"""The OpenAI Python SDK on our engine: ``openai.OpenAI(http_client=httpx.Client(
transport=GeventTransport()))`` streams a chat completion from a local fake server
speaking the API's server-sent events (``chat.completion.chunk`` objects, then
``[DONE]``).

The SDK takes an ``httpx.Client`` before 3.0 and an ``httpx2.Client`` from 3.0 on
(httpx2: a fork of httpx under another name), so the test uses
:mod:`geventhttpclient.contrib.httpx` or :mod:`geventhttpclient.contrib.httpx2`
by the version installed.

The SDK is an optional test dependency (its Rust parts have no wheels for some
interpreters); the module is skipped where it is not installed.
"""

from __future__ import annotations

import importlib
import json
from typing import Any, Dict, List

import gevent.event
import pytest
from conftest import ServerConn, keep_alive

openai = pytest.importorskip("openai")

# the module whose Client this SDK takes: httpx2 from openai 3.0 on
FLAVOUR = "httpx2" if int(openai.__version__.split(".")[0]) >= 3 else "httpx"
httpx = pytest.importorskip(FLAVOUR)
GeventTransport = importlib.import_module(f"geventhttpclient.contrib.{FLAVOUR}").GeventTransport

DELTAS = ["Hel", "lo", ", ", "gevent", "!"]


def chunk(delta: Dict[str, Any], finish: Any = None) -> bytes:
    """One SSE event carrying a ``chat.completion.chunk``."""
    obj = {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": "gpt-test",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }
    return b"data: " + json.dumps(obj).encode() + b"\n\n"


def test_openai_sdk_streams_a_chat_completion(server_factory):
    seen = gevent.event.Event()
    requests: List[Dict[str, Any]] = []

    def respond(conn: ServerConn, req: Dict[str, Any]) -> None:
        requests.append(req)
        conn.send(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )

        def event(data: bytes) -> None:
            conn.send(b"%x\r\n%s\r\n" % (len(data), data))

        event(chunk({"role": "assistant", "content": ""}))
        for text in DELTAS:
            seen.clear()
            event(chunk({"content": text}))
            # the next delta only once the SDK has handed this one over: a
            # transport that buffered the stream would stall here
            assert seen.wait(5), "the client did not get the delta as it was sent"
        event(chunk({}, finish="stop"))
        event(b"data: [DONE]\n\n")
        conn.send(b"0\r\n\r\n")

    server = server_factory(keep_alive(respond))
    transport = GeventTransport()
    client = openai.OpenAI(
        api_key="x",
        base_url=server.base + "/v1",
        http_client=httpx.Client(transport=transport),
        max_retries=0,
    )
    got: List[str] = []
    finish = None
    stream = client.chat.completions.create(
        model="gpt-test",
        messages=[{"role": "user", "content": "Say hello"}],
        stream=True,
    )
    for part in stream:
        choice = part.choices[0]
        if choice.delta.content:
            got.append(choice.delta.content)
            seen.set()
        finish = choice.finish_reason or finish
    assert got == DELTAS
    assert finish == "stop"
    assert server.errors == []

    (req,) = requests
    assert (req["method"], req["target"]) == ("POST", "/v1/chat/completions")
    assert req["headers"]["authorization"] == ["Bearer x"]
    sent = json.loads(req["body"])
    assert sent["model"] == "gpt-test" and sent["stream"] is True
    assert sent["messages"] == [{"role": "user", "content": "Say hello"}]

    # the stream was read to its end: the connection went back to our pool
    (ours,) = transport.clients()
    assert ours.statistics().idle == 1
    client.close()
