"""The 2.x response faces: the sans-IO parser object ``response.HTTPResponse`` and the
streaming response's 2.x read API (``readline(sep)``, block iteration, ``next``).

The parser object is bytes in, state out: no server needed. The streaming tests use
the scripted loopback servers from conftest.
"""

from __future__ import annotations

import http.client
import json
from http.cookiejar import CookieJar
from typing import Any, List
from urllib.request import Request

import gevent
import pytest
from conftest import keep_alive

from geventhttpclient import HTTPClient
from geventhttpclient.exceptions import HTTPParseError, IncompleteResponse
from geventhttpclient.header import Headers
from geventhttpclient.requests import RequestsResponse
from geventhttpclient.response import (
    HTTPResponse,
    HTTPSocketPoolResponse,
    HTTPSocketResponse,
)

OK_5 = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello"
CHUNKED = (
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"6\r\nline 1\r\n8\r\n\nline 2\n\r\n3\r\ntai\r\n1\r\nl\r\n0\r\nX-Sum: 9\r\n\r\n"
)


def fed(raw: bytes, method: str = "GET", step: int = 0) -> HTTPResponse:
    """A parser object fed ``raw`` at once, or ``step`` bytes at a time."""
    r = HTTPResponse(method=method)
    if step:
        for i in range(0, len(raw), step):
            r.feed(raw[i : i + step])
    else:
        r.feed(raw)
    return r


# -- the parser object: state --------------------------------------------------------


@pytest.mark.parametrize("step", [0, 1, 3])
def test_content_length_response_is_complete_and_reusable(step):
    r = fed(OK_5, step=step)
    assert (r.message_begun, r.headers_complete, r.message_complete) == (True, True, True)
    assert r.status_code == 200 and r.status_message == "OK" and r.reason == "OK"
    assert r.version == "HTTP/1.1"
    assert r.content_length == r.length == 5
    assert r["content-type"] == "text/plain" and r.get("x-none", "d") == "d"
    assert "Content-Length" in r and r.info() is r.headers is r._headers_index
    assert isinstance(r.headers, Headers)
    assert r.should_keep_alive() and not r.should_close()
    assert r._body_buffer == bytearray(b"hello")
    assert r.read() == b"hello" and r.read() == b""


@pytest.mark.parametrize("step", [0, 1, 2, 7])
def test_chunked_response_unframed_whatever_the_feed_size(step):
    r = fed(CHUNKED, step=step)
    assert r.message_complete and not r.should_close()
    assert r.read() == b"line 1\nline 2\ntail"
    assert r.trailers["x-sum"] == "9"
    assert r.get_remaining_content_length() == 0


def test_str_is_fed_as_utf8():
    r = HTTPResponse()
    r.feed("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n\u00e9")
    assert r.read().decode("utf-8") == "\u00e9"


def test_header_bytes_are_latin1():
    r = fed(b"HTTP/1.1 200 \xff\r\nX-Name: h\xe4llo\r\nContent-Length: 0\r\n\r\n")
    assert r["x-name"] == "h\xe4llo" and r.status_message == "\xff"


def test_close_delimited_body_ends_at_end_of_stream():
    r = fed(b"HTTP/1.0 200 OK\r\n\r\nsome body")
    assert r.headers_complete and not r.message_complete
    r.feed(b"")
    assert r.message_complete and r.read() == b"some body"
    assert not r.should_keep_alive() and r.should_close()
    r.feed(b"")  # a second end of stream after a complete message changes nothing


def test_connection_close_is_reported():
    r = fed(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok")
    assert r.message_complete and not r.should_keep_alive() and r.should_close()


def test_truncated_body_raises_at_end_of_stream_and_must_close():
    r = fed(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n1")
    with pytest.raises(IncompleteResponse) as info:
        r.feed(b"")
    assert isinstance(info.value, http.client.HTTPException)
    # the head allowed keep-alive; the cut-short message does not
    assert r.should_keep_alive() and r.should_close()
    assert r.parser_failed()
    with pytest.raises(HTTPParseError):
        r.feed(b"more")


def test_end_of_stream_before_any_byte_raises():
    with pytest.raises(IncompleteResponse):
        HTTPResponse().feed(b"")


@pytest.mark.parametrize(
    "raw",
    [
        b"HTTP/1.1 asdf\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
    ],
)
def test_malformed_head_raises_parse_error_and_poisons_the_object(raw):
    r = HTTPResponse()
    with pytest.raises(HTTPParseError) as info:
        r.feed(raw)
    assert isinstance(info.value, http.client.HTTPException)
    assert not r.should_keep_alive() and r.should_close()
    with pytest.raises(HTTPParseError):
        r.feed(b"x")


def test_bytes_after_the_end_raise():
    with pytest.raises(HTTPParseError):
        fed(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\ntoolong")
    r = fed(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx")
    with pytest.raises(HTTPParseError):
        r.feed(b"HTTP/1.1 200 OK\r\n")


def test_head_response_with_a_body_completes_at_the_head_and_must_close():
    r = fed(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndone", method="head")
    assert r.method == "HEAD" and r.message_complete and r.content_length == 4
    assert r.read() == b"" and r.should_close()
    r = fed(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n", method="HEAD")
    assert r.message_complete and not r.should_close()


def test_interim_response_is_a_complete_message_until_the_final_one_begins():
    events: List[Any] = []

    class Recorder(HTTPResponse):
        def _on_message_begin(self) -> None:
            events.append("begin")
            super()._on_message_begin()

        def _on_message_complete(self) -> None:
            events.append(("complete", self.status_code))
            super()._on_message_complete()

    r = Recorder()
    r.feed(b"HTTP/1.1 100 Continue\r\n\r\n")
    assert r.status_code == 100 and r.message_complete
    assert r.should_keep_alive() and not r.should_close()
    r.feed(OK_5)
    assert r.status_code == 200 and r.message_complete and r.read() == b"hello"
    assert events == ["begin", ("complete", 100), "begin", ("complete", 200)]


def test_hooks_assigned_on_the_instance_are_called_and_their_errors_propagate():
    r = HTTPResponse()
    seen: List[bytes] = []
    r._on_body = seen.append  # type: ignore[method-assign]
    r.feed(OK_5[:-2])
    r.feed(OK_5[-2:])
    assert b"".join(seen) == b"hello" and r._body_buffer == b""

    def boom(*_: Any) -> None:
        raise RuntimeError("hook")

    r = HTTPResponse()
    r._on_message_begin = boom  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        r.feed(OK_5)
    r = HTTPResponse()
    r._on_body = boom  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        r.feed(OK_5)
    assert not r.should_keep_alive()


def test_repeated_set_cookie_is_a_list_and_cookiejar_reads_it():
    raw = (
        b"HTTP/1.1 200 OK\r\nSet-Cookie: a=1; Path=/\r\nSet-Cookie: b=2; Path=/\r\n"
        b"Content-Length: 0\r\n\r\n"
    )
    r = fed(raw)
    assert r._headers_index["set-cookie"] == ["a=1; Path=/", "b=2; Path=/"]
    jar = CookieJar()
    jar.extract_cookies(r, Request("http://example.test/"))  # type: ignore[arg-type]
    assert sorted(c.name for c in jar) == ["a", "b"]


# -- the parser object: the buffered body, file-like --------------------------------


def test_reads_never_wait_and_return_what_was_fed():
    r = fed(b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nab\ncd")
    assert r.readline() == b"ab\n"
    assert r.readline() == b""  # "cd" is not a whole line yet
    assert r.readline(1) == b"c"  # the size cap is reached though
    r.feed(b"\r\nef\r\ngh")
    assert r.readline(b"\r\n") == b"d\r\n"
    assert r.readline(sep=b"\r\n") == b"ef\r\n"
    assert r.readline() == b"gh"  # the end of the message ends the last line
    assert r.readline() == b""


def test_readinto_read_n_and_iteration_drain_the_buffer():
    r = fed(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789")
    buf = bytearray(3)
    assert r.readinto(buf) == 3 and buf == b"012"
    assert r.read(2) == b"34"
    r.block_size = 2
    assert next(r) == b"56" and list(r) == [b"78", b"9"]
    with r:
        pass  # release() is a no-op: nothing to give back


def test_the_requests_face_wraps_a_fed_parser_object():
    r = fed(
        b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n"
        + b'Content-Length: 7\r\n\r\n{"a":1}'
    )
    wrapped = RequestsResponse(r)
    assert wrapped.status_code == 404 and wrapped.reason == "Not Found"
    assert wrapped.headers["content-type"] == "application/json"
    assert wrapped.json() == {"a": 1}


# -- isinstance ----------------------------------------------------------------------


def test_streaming_responses_are_instances_of_the_2x_classes(server_factory):
    server = server_factory(keep_alive(lambda conn, req: conn.respond(200, b"x")))
    r = HTTPClient("127.0.0.1", server.port).get("/")
    assert isinstance(r, HTTPResponse) and isinstance(r, HTTPSocketResponse)
    assert issubclass(HTTPSocketPoolResponse, HTTPResponse)
    assert not isinstance(HTTPResponse(), HTTPSocketResponse)
    assert r.read() == b"x"


# -- the streaming response: 2.x read API --------------------------------------------


def _trickle(parts: List[bytes]):
    def handler(conn):
        conn.read_request()
        conn.send(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
        for part in parts:
            gevent.sleep(0.01)
            conn.send(part)

    return handler


def test_readline_takes_a_separator_of_any_length(server_factory):
    parts = [b'{"a": 1}\r', b'\n{"a": 2}\r\n', b'{"a": 3}\n\r', b"\nlast"]
    server = server_factory(_trickle(parts))
    r = HTTPClient("127.0.0.1", server.port, block_size=1).get("/")
    assert r.readline(b"\r\n") == b'{"a": 1}\r\n'  # the separator came split
    assert r.readline(sep=b"\r\n") == b'{"a": 2}\r\n'
    assert r.readline(b"\n\r\n") == b'{"a": 3}\n\r\n'
    assert r.readline(b"\r\n") == b"last"  # the end of the body ends the last line
    assert r.readline(b"\r\n") == b""


def test_readline_size_still_caps_the_line(server_factory):
    server = server_factory(_trickle([b"abcdef\n", b"gh\n"]))
    r = HTTPClient("127.0.0.1", server.port).get("/")
    assert r.readline(4) == b"abcd"
    assert r.readline(None) == b"ef\n"
    assert r.readline(-1) == b"gh\n"
    with pytest.raises(ValueError):
        r.readline(b"")
    with pytest.raises(ValueError):
        r.readline(sep=b"")
    with pytest.raises(TypeError):
        r.readline(1.5)


def test_json_lines_by_readline_with_lf(server_factory):
    lines = b"".join(json.dumps({"index": i}).encode() + b"\n" for i in range(50))
    server = server_factory(_trickle([lines[i : i + 7] for i in range(0, len(lines), 7)]))
    r = HTTPClient("127.0.0.1", server.port, block_size=1).get("/")
    got = [json.loads(line) for line in iter(lambda: r.readline(b"\n"), b"")]
    assert [x["index"] for x in got] == list(range(50))


def test_iteration_yields_blocks_and_next_works(server_factory):
    def respond(conn, req):
        conn.respond(200, b"0123456789" if req["target"] == "/" else b'{"a": [1]}')

    server = server_factory(keep_alive(respond))
    client = HTTPClient("127.0.0.1", server.port, block_size=4)
    r = client.get("/")
    assert [next(r), *r] == [b"0123", b"4567", b"89"]
    with pytest.raises(StopIteration):
        next(r)
    assert json.load(client.get("/json")) == {"a": [1]}  # json.load reads the whole body


def test_private_sock_is_none_once_the_connection_went_back(server_factory):
    server = server_factory(keep_alive(lambda conn, req: conn.respond(200, b"x" * 100000)))
    r = HTTPClient("127.0.0.1", server.port).get("/")
    assert r._sock is not None  # 2.x code looks at it to see whether r still holds one
    r.read()
    assert r._sock is None
