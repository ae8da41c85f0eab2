"""Server-sent events and line streams: the parsers (bytes in, records out) and
``iter_lines()``/``iter_events()`` on every response face against real servers."""

from __future__ import annotations

import contextlib
import pickle
import platform
import zlib
from typing import Any, Callable, Iterator, List, Optional, Tuple

import gevent
import gevent.event
import pytest
from conftest import timed

from geventhttpclient import HTTPClient, httpx
from geventhttpclient._cli.localserver import LocalServer
from geventhttpclient.exceptions import (
    HTTPParseError,
    LimitExceeded,
    StreamConsumedError,
    StreamLimitExceeded,
)
from geventhttpclient.requests import Session
from geventhttpclient.sse import (
    DEFAULT_MAX_LINE_SIZE,
    EventStreamParser,
    LineSplitter,
    ServerSentEvent,
    iter_events,
    iter_lines,
)
from geventhttpclient.useragent import UserAgent

PYPY = platform.python_implementation() == "PyPy"

# -- the line splitter --------------------------------------------------------------


def split_all(splitter: LineSplitter, pieces: List[bytes]) -> List[bytes]:
    out: List[bytes] = []
    for p in pieces:
        out += splitter.feed(p)
    return out + splitter.flush()


def splits(data: bytes) -> Iterator[List[bytes]]:
    """``data`` whole, cut in two at every offset, and byte by byte."""
    yield [data]
    for k in range(len(data) + 1):
        yield [data[:k], data[k:]]
    yield [data[i : i + 1] for i in range(len(data))]


MIXED = b"one\r\ntwo\nthree\rfour\r\rsix\n\nnine"
MIXED_LINES = [b"one", b"two", b"three", b"four", b"", b"six", b"", b"nine"]


def test_lines_end_at_crlf_lf_and_cr_mixed_in_one_stream():
    assert split_all(LineSplitter(), [MIXED]) == MIXED_LINES


def test_lines_are_the_same_whatever_the_chunk_boundaries():
    for pieces in splits(MIXED):
        assert split_all(LineSplitter(), pieces) == MIXED_LINES, pieces


def test_a_cr_ending_one_chunk_and_the_lf_starting_the_next_are_one_line_end():
    s = LineSplitter()
    assert s.feed(b"a\r") == [b"a"]  # the line is out at once, not held for the LF
    assert s.feed(b"\nb\r") == [b"b"]
    assert s.feed(b"\r") == [b""]  # CR CR: an empty line, not a CRLF
    assert s.feed(b"\n") == []  # ...whose LF is still owed
    assert s.flush() == []


def test_the_last_line_without_a_line_end_comes_at_flush():
    s = LineSplitter()
    assert s.feed(b"a\nb") == [b"a"]
    assert s.flush() == [b"b"]


def test_a_bom_is_skipped_at_the_start_only_and_only_when_asked():
    data = b"\xef\xbb\xbfx\n\xef\xbb\xbfy\n"
    for pieces in splits(data):
        assert split_all(LineSplitter(strip_bom=True), pieces) == [b"x", b"\xef\xbb\xbfy"]
    assert split_all(LineSplitter(), [data])[0] == b"\xef\xbb\xbfx"
    # a stream shorter than a BOM that starts like one is kept
    assert split_all(LineSplitter(strip_bom=True), [b"\xef", b"\xbb"]) == [b"\xef\xbb"]


def test_a_line_over_the_limit_raises_and_is_not_buffered():
    s = LineSplitter(10)
    assert s.feed(b"0123456789\n") == [b"0123456789"]  # exactly the limit passes
    with pytest.raises(StreamLimitExceeded) as info:
        s.feed(b"0123456789A\n")
    assert info.value.code == "GH_E_LINE_TOO_LONG"
    s = LineSplitter(10)
    s.feed(b"01234")
    s.feed(b"56789")
    with pytest.raises(StreamLimitExceeded):
        s.feed(b"A")  # no line end yet: refused before it is kept
    assert isinstance(info.value, LimitExceeded)
    assert isinstance(info.value, HTTPParseError)


def test_a_line_never_ending_byte_by_byte_raises_at_the_limit():
    s = LineSplitter(1000)
    fed = 0
    with pytest.raises(StreamLimitExceeded):
        while True:
            s.feed(b"x")
            fed += 1
            assert fed <= 1000
    assert fed == 1000


def test_iter_lines_over_chunks():
    assert list(iter_lines([b"a\r", b"\nb\r\rc\n", b"d"])) == [b"a", b"b", b"", b"c", b"d"]
    assert list(iter_lines([b"x" * 5 + b"\n"], max_line_size=None)) == [b"xxxxx"]
    with pytest.raises(StreamLimitExceeded):
        list(iter_lines([b"x" * 6 + b"\n"], max_line_size=5))


# -- the event-stream interpretation -------------------------------------------------


def parse(pieces: List[bytes], **kw: Any) -> List[ServerSentEvent]:
    p = EventStreamParser(0.0, **kw)
    out: List[ServerSentEvent] = []
    for i, piece in enumerate(pieces):
        out += p.feed(piece, float(i))
    p.close()
    return out


def fields(events: List[ServerSentEvent]) -> List[Tuple[str, str, str, Optional[int]]]:
    return [(e.event, e.data, e.id, e.retry) for e in events]


STREAM = (
    b"\xef\xbb\xbf: a comment first\r\n"
    b"data: first\r\n"
    b"data:second\r"
    b"data:  two spaces\n"
    b"id: 7\n"
    b"\n"
    b"event: update\n"
    b"data\n"
    b"\r\n"
    b"retry: 1500\n"
    b"retry: 15x\n"
    b"unknown: field\n"
    b"data: z\n"
    b"\n"
    b"event: only-a-type\n"
    b"\n"
    b"id: bad\x00id\n"
    b"data: after a nul id\n"
    b"\n"
    b"id\n"
    b"data: id reset\n"
    b"\n"
    b"data: never finished\n"
)
STREAM_EVENTS = [
    ("message", "first\nsecond\n two spaces", "7", None),
    ("update", "", "7", None),
    ("message", "z", "7", 1500),
    ("message", "after a nul id", "7", 1500),
    ("message", "id reset", "", 1500),
]


def test_the_standards_rules_on_one_stream():
    assert fields(parse([STREAM])) == STREAM_EVENTS


def test_events_are_the_same_at_every_chunk_boundary():
    for pieces in splits(STREAM):
        assert fields(parse(pieces)) == STREAM_EVENTS, pieces


def test_an_event_is_dispatched_at_its_blank_line_with_its_arrival_time():
    p = EventStreamParser(10.0)
    assert p.feed(b"data: a\n", 10.5) == []
    (event,) = p.feed(b"\n", 10.75)
    assert event == ServerSentEvent("message", "a", "", None, 0.75)


def test_an_event_with_no_data_is_not_dispatched():
    assert parse([b"event: ping\n\n", b": keep-alive\n\n", b"id: 3\n\n", b"data: x\n\n"]) == [
        ServerSentEvent("message", "x", "3", None, 3.0)
    ]


def test_an_unfinished_event_at_the_end_of_the_stream_is_dropped():
    assert parse([b"data: a\n\ndata: b\n"]) == [ServerSentEvent(data="a")]
    assert parse([b"data: a\n\ndata: b"]) == [ServerSentEvent(data="a")]


def test_the_id_persists_and_a_nul_in_it_is_ignored():
    events = parse([b"id: 1\ndata: a\n\ndata: b\n\nid: x\x00\ndata: c\n\nid:\ndata: d\n\n"])
    assert [e.id for e in events] == ["1", "1", "1", ""]


def test_retry_takes_ascii_digits_only_and_persists():
    stream = b"".join(
        b"retry:%s\ndata: x\n\n" % value
        for value in (b" 10", b" 1.5", b" -1", b" ", b"  20", b"\xef\xbc\x95", b"3000")
    )
    assert [e.retry for e in parse([stream])] == [10, 10, 10, 10, 10, 10, 3000]


def test_a_field_without_a_colon_has_an_empty_value():
    assert fields(parse([b"data\ndata\n\nevent\ndata: x\n\n"])) == [
        ("message", "\n", "", None),
        ("message", "x", "", None),
    ]


def test_text_is_utf8_and_bytes_that_do_not_decode_become_replacement_characters():
    data = "data: héllo ✓\n\n".encode()
    for pieces in splits(data):
        assert parse(pieces)[0].data == "héllo ✓"
    assert parse([b"data: \xff\n\n"])[0].data == "\ufffd"


def test_an_event_over_the_event_limit_raises():
    line = b"data: " + b"x" * 99 + b"\n"  # 100 bytes of data with its LF
    assert len(parse([line * 10 + b"\n"], max_event_size=1000)[0].data) == 999
    with pytest.raises(StreamLimitExceeded) as info:
        parse([line * 11 + b"\n"], max_event_size=1000)
    assert info.value.code == "GH_E_EVENT_TOO_LARGE"


def test_a_line_over_the_line_limit_raises_in_the_event_parser():
    with pytest.raises(StreamLimitExceeded):
        parse([b"data: " + b"x" * 100], max_line_size=50)


def test_the_parser_keeps_the_stream_state_for_a_reconnect():
    p = EventStreamParser()
    p.feed(b"id: 41\nretry: 2000\ndata: x\n\nid: 42\n")
    assert (p.last_event_id, p.retry) == ("42", 2000)


def test_iter_events_counts_elapsed_from_start_with_the_arrival_clock():
    times = iter([1.25, 1.4, 1.5])
    events = list(
        iter_events([b"data: a\n\n", b"data: b\n", b"\n"], 1.0, arrival=lambda: next(times))
    )
    assert [e.elapsed for e in events] == [0.25, 0.5]


def test_a_server_sent_event_is_an_immutable_record():
    e = ServerSentEvent(data='{"a": 1}')
    assert (e.event, e.id, e.retry, e.elapsed) == ("message", "", None, 0.0)
    assert e.json() == {"a": 1}
    with pytest.raises(AttributeError):
        e.data = "x"  # type: ignore[misc]
    assert pickle.loads(pickle.dumps(e)) == e


# -- the faces, end to end ---------------------------------------------------------------

FACES = ["client", "useragent", "requests", "httpx"]


@contextlib.contextmanager
def opened(face: str, url: str, gzip: bool = False, accept: str = "") -> Iterator[Any]:
    """A streaming response of ``face`` for ``url``, accepting gzip or ``accept``."""
    headers = {"Accept-Encoding": accept or ("gzip" if gzip else "identity")}
    if face == "client":
        client = HTTPClient.from_url(url)
        try:
            from geventhttpclient import URL

            yield client.get(URL(url).request_uri, headers=headers)
        finally:
            client.close()
    elif face == "useragent":
        with UserAgent() as ua:
            yield ua.urlopen(url, headers=headers)
    elif face == "requests":
        with Session() as session:
            yield session.get(url, headers=headers, stream=True)
    else:
        with httpx.Client() as client:
            with client.stream("GET", url, headers=headers) as response:
                yield response


@pytest.fixture
def local_server():
    with LocalServer() as server:
        yield server


@pytest.mark.parametrize("gzip", [False, True], ids=["identity", "gzip"])
@pytest.mark.parametrize("face", FACES)
@timed  # the last event's clock reading and the body's end are a few µs apart
def test_iter_events_on_every_face(local_server, face, gzip):
    url = local_server.url + "sse?n=4&interval=5" + ("&gzip=1" if gzip else "")
    with opened(face, url, gzip) as response:
        coding = response.headers.get("content-encoding")
        assert coding == ("gzip" if gzip else None)
        events = list(response.iter_events())
        timings = response.timings
    assert [(e.event, e.data, e.id) for e in events] == [
        ("message", f'{{"n": {k}}}', str(k)) for k in range(1, 5)
    ]
    elapsed = [e.elapsed for e in events]
    assert elapsed == sorted(elapsed)
    # counted from the request's start, as the timings are: the first event came
    # after the head, the last with the body's end (read after it)
    assert timings.elapsed <= elapsed[0] and elapsed[-1] <= timings.total + 0.005
    assert elapsed[-1] >= 0.015  # sent 3 gaps of 5 ms after the request came


@pytest.mark.parametrize("gzip", [False, True], ids=["identity", "gzip"])
@pytest.mark.parametrize("face", FACES)
def test_iter_lines_on_every_face(local_server, face, gzip):
    url = local_server.url + "sse?n=2&interval=0" + ("&gzip=1" if gzip else "")
    with opened(face, url, gzip) as response:
        lines = list(response.iter_lines())
    expected = ["id: 1", 'data: {"n": 1}', "", "id: 2", 'data: {"n": 2}', ""]
    if face == "httpx":
        assert lines == expected  # httpx's lines are str
    else:
        assert lines == [line.encode() for line in expected]


def stream_encoder(coding: str) -> Optional[Callable[[bytes, bool], bytes]]:
    """``encode(data, last)`` for a content coding, flushed after each piece so that
    the client can decode every piece on arrival (None for identity)."""
    if coding == "gzip":
        z = zlib.compressobj(6, zlib.DEFLATED, 31)
        return lambda data, last: (
            z.compress(data) + z.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH)
        )
    if coding == "br":
        try:
            import brotlicffi as brotli
        except ImportError:
            brotli = pytest.importorskip("brotli")
        b = brotli.Compressor()
        return lambda data, last: b.process(data) + (b.finish() if last else b.flush())
    if coding == "zstd":
        zstandard = pytest.importorskip("zstandard")
        c = zstandard.ZstdCompressor().compressobj()
        return lambda data, last: (
            c.compress(data)
            + c.flush(
                zstandard.COMPRESSOBJ_FLUSH_FINISH if last else zstandard.COMPRESSOBJ_FLUSH_BLOCK
            )
        )
    return None


def scripted_stream(
    first: bytes, rest: bytes, coding: str = "identity", chunked: bool = True
) -> Tuple[Any, gevent.event.Event, List[bool]]:
    """A handler sending ``first``, then ``rest`` only once the test sets the event
    it returns (or 5 s later, which the test sees in the list: True = timed out)."""
    go = gevent.event.Event()
    timed_out: List[bool] = []
    encode = stream_encoder(coding)

    def handler(conn: Any) -> None:
        conn.read_request()

        def frame(data: bytes, last: bool = False) -> bytes:
            if encode is not None:
                data = encode(data, last)
            if not chunked:
                return data
            return (b"%x\r\n%s\r\n" % (len(data), data) if data else b"") + (
                b"0\r\n\r\n" if last else b""
            )

        head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
        head += b"Transfer-Encoding: chunked\r\n" if chunked else b"Connection: close\r\n"
        if encode is not None:
            head += b"Content-Encoding: %s\r\n" % coding.encode()
        conn.send(head + b"\r\n" + frame(first))
        timed_out.append(not go.wait(5))
        conn.send(frame(rest, last=True))

    return handler, go, timed_out


@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "close-delimited"])
@pytest.mark.parametrize("coding", ["identity", "gzip", "br", "zstd"])
@pytest.mark.parametrize("face", FACES)
def test_an_event_is_seen_before_the_rest_of_the_body_is_sent(
    server_factory, face, coding, chunked
):
    # the CRLF of the first event's blank line is split across the two sends: the
    # event is dispatched at the CR, without waiting to see whether a LF follows
    handler, go, timed_out = scripted_stream(
        b"data: one\r\n\r", b"\ndata: two\r\n\r\ndata: unfinished\r\n", coding, chunked
    )
    server = server_factory(handler)
    with opened(face, server.base + "/events", accept=coding) as response:
        events = response.iter_events()
        first = next(events)
        go.set()
        rest = list(events)
    assert timed_out == [False]  # the first event came while the server waited
    assert [first.data] + [e.data for e in rest] == ["one", "two"]


def test_read1_returns_what_arrived_without_waiting_for_more(server_factory):
    handler, go, timed_out = scripted_stream(b"12345", b"678")
    server = server_factory(handler)
    client = HTTPClient.from_url(server.base)
    try:
        response = client.get("/")
        assert response.read1(100) == b"12345"  # read(100) would wait for 100 bytes
        go.set()
        assert response.read1(2) == b"67"
        assert response.read1() == b"8"
        assert response.read1() == b""
        assert response.read1(0) == b""
    finally:
        client.close()
    assert timed_out == [False]


@pytest.mark.parametrize("face", FACES)
def test_a_line_over_the_limit_raises_on_every_face(server_factory, face):
    def handler(conn: Any) -> None:
        while conn.read_request() is not None:
            conn.respond(200, b"data: " + b"x" * 5000 + b"\n\n", [("Content-Type", "text/plain")])

    server = server_factory(handler)
    with opened(face, server.base + "/long") as response:
        with pytest.raises(StreamLimitExceeded) as info:
            list(response.iter_events(max_line_size=1024))
    if face == "httpx":
        assert isinstance(info.value, httpx.RemoteProtocolError)


def test_a_line_over_the_limit_closes_the_clients_connection(server_factory):
    def handler(conn: Any) -> None:
        while conn.read_request() is not None:
            # more than the socket buffers hold: the body is still coming at the error
            conn.respond(200, b"y" * 50 + b"\n" + b"x" * 4_000_000)

    server = server_factory(handler)
    client = HTTPClient.from_url(server.base)
    try:
        response = client.get("/")
        with pytest.raises(StreamLimitExceeded):
            for _ in response.iter_lines(max_line_size=1024):
                pass
        assert client.get("/").read(50) == b"y" * 50  # a new connection: the first was closed
        assert server.connections == 2
    finally:
        client.close()


@pytest.mark.parametrize("face", ["requests", "httpx"])
def test_a_streamed_body_gives_its_events_once(local_server, face):
    with opened(face, local_server.url + "sse?n=1&interval=0") as response:
        assert len(list(response.iter_events())) == 1
        with pytest.raises(StreamConsumedError):
            list(response.iter_events())


def test_events_of_a_body_read_whole_arrived_by_its_end(local_server):
    with Session() as session:
        response = session.get(local_server.url + "sse?n=3&interval=20")  # not streamed
        events = list(response.iter_events())
        total = response.timings.total
    assert [e.id for e in events] == ["1", "2", "3"]
    assert [e.elapsed for e in events] == [pytest.approx(total)] * 3


def test_the_requests_and_httpx_lines_keep_their_shapes_and_take_a_limit(local_server):
    url = local_server.url + "sse?n=1&interval=0"
    with Session() as session:
        lines = list(session.get(url).iter_lines(decode_unicode=True))
        assert lines == ["id: 1", 'data: {"n": 1}', ""]
        with pytest.raises(StreamLimitExceeded):
            list(session.get(url, stream=True).iter_lines(max_line_size=5))
        with pytest.raises(StreamLimitExceeded):
            list(session.get(url, stream=True).iter_lines(delimiter=b"\n\n", max_line_size=5))
    with httpx.Client() as client:
        with pytest.raises(httpx.RemoteProtocolError):
            with client.stream("GET", url) as response:
                list(response.iter_lines(max_line_size=5))
    assert DEFAULT_MAX_LINE_SIZE == 1024 * 1024


# -- the timing test ---------------------------------------------------------------

# The gaps are the server's schedule (fixed at its start, so they do not drift) as
# seen by the client, server and client in this one process. Measured on the busy
# 2-core machine (5-8 rounds per face): CPython first event 301-307 ms, worst gap
# 4-6.5 ms off 50; PyPy first event 303-336 ms (the first request of a face still
# warming its JIT), worst gap 5-20 ms off (JIT compiling and collecting delays
# single events). An event read late (a read waiting for more bytes) shows as a
# gap near 0 and a first event near 1.25 s, far outside either bound.
FIRST_TOLERANCE = 0.04 if PYPY else 0.01
GAP_TOLERANCE = 0.025 if PYPY else 0.01


@pytest.mark.parametrize("face", FACES)
def test_twenty_events_50ms_apart_after_300ms_are_timed_so(local_server, face):
    # Up to 3 runs, the first that is in bounds passes: a load spike on a shared
    # machine delays one run; a client that holds events back fails every run.
    runs = []
    for _ in range(3):
        with opened(face, local_server.url + "sse?n=20&interval=50&delay=300") as response:
            events = list(response.iter_events())
        assert len(events) == 20
        first = events[0].elapsed
        gaps = [b.elapsed - a.elapsed for a, b in zip(events, events[1:])]
        runs.append((first, max(abs(gap - 0.05) for gap in gaps)))
        if 0.3 <= first <= 0.3 + FIRST_TOLERANCE and runs[-1][1] <= GAP_TOLERANCE:
            return
    pytest.fail(f"first event, worst gap deviation (s) per run: {runs}")
