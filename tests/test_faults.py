"""Hostile servers, faults and limits, through HTTPClient against ``faultserver``.

Every test runs a real loopback server with a per-connection script and proves two
things: the caller sees the documented error (or its own, complete response), and
nothing is lost or leaked afterwards: the broken connection is discarded, the pool
serves the next request with its own fresh response, and no descriptor stays open.
"""

from __future__ import annotations

import platform
import random

import gevent
import gevent.event
import gevent.pool
import pytest
from conftest import open_fds, wait_until
from faultserver import (
    Close,
    Endless,
    Expect,
    FaultServer,
    Loop,
    ReadBytes,
    Reset,
    Respond,
    Send,
    Serve,
    Signal,
    Stall,
    Trickle,
    response,
)

from geventhttpclient import HTTPClient, _connection, connectionpool
from geventhttpclient._parser import ParserLimits
from geventhttpclient.exceptions import (
    ConnectionClosed,
    HTTPError,
    HTTPParseError,
    IncompleteResponse,
    LimitExceeded,
    NetworkError,
    UnexpectedResponse,
)

PYPY = platform.python_implementation() == "PyPy"
OK = b"HTTP/1.1 200 OK\r\n"
CHUNKED = OK + b"Transfer-Encoding: chunked\r\n\r\n"
BODY = b"0123456789" * 10 + b"\n"
BODY *= 3300  # 333300 bytes: direct reads and buffered reads


@pytest.fixture(scope="module", autouse=True)
def warm_up():
    """One ordinary request before any test (and its hub watchdog): modules imported
    lazily on first use (the resolver, ...) would otherwise block the hub, and count
    as memory or descriptors the first test's hostile response cost."""
    warm = FaultServer([Serve()])
    http = client(warm)
    assert_own(http, 0)
    # On PyPy the JIT compiles hot loops the first time they run, which can stall
    # the hub for a moment: run the heavy paths (large and chunked uploads, server
    # side reads, line reads) once before any watchdog is watching.
    for _ in range(3):
        assert_own(http, 1, "POST", body=b"w" * (4 * 1024 * 1024))
        assert_own(http, 2, "POST", body=(b"w" * 65536 for _ in range(64)))
    settle(warm, http)
    warm.stop()
    lines = FaultServer([Expect(), Send(OK + b"Content-Length: %d\r\n\r\n" % len(BODY) + BODY)])
    http = client(lines)
    for _ in range(3):
        assert b"".join(http.get("/").readlines()) == BODY
    settle(lines, http)
    lines.stop()


@pytest.fixture
def servers():
    made = []

    def make(*args, **kw):
        if args and isinstance(args[0], list) and args[0] and isinstance(args[0][0], list):
            raise TypeError("use FaultServer.per_connection for several scripts")
        s = FaultServer(*args, **kw)
        made.append(s)
        return s

    def per_connection(*scripts, **kw):
        s = FaultServer.per_connection(*scripts, **kw)
        made.append(s)
        return s

    make.per_connection = per_connection
    yield make
    for http in _clients:
        http.close()
    _clients.clear()
    for s in made:
        wait_until(lambda: s.open_connections == 0)  # noqa: B023
        s.stop()
    count_fds()  # let pending closes run before the next test takes its baseline
    for s in made:
        assert not s.errors, f"fault server script failed: {s.errors!r}"


def count_fds():
    """Open descriptors once pending closes ran: gevent closes a socket with watchers
    from the hub's next loop iteration. No gc.collect(): every socket here must be
    closed explicitly, on PyPy too, not by a collection."""
    for _ in range(3):
        gevent.sleep(0)
    return open_fds()


_clients = []


def client(server, **kw):
    """A client for ``server``; the ``servers`` fixture closes it after the test."""
    kw.setdefault("network_timeout", 5.0)
    kw.setdefault("connection_timeout", 5.0)
    http = HTTPClient("127.0.0.1", server.port, **kw)
    _clients.append(http)
    return http


def fetch(http, rid, method="GET", **kw):
    """One request with id ``rid``, body read in full."""
    r = http.request(method, f"/{rid}", headers={"X-Id": str(rid)}, **kw)
    return r.read()


def assert_own(http, rid, method="GET", **kw):
    assert fetch(http, rid, method, **kw) == str(rid).encode()


def settle(server, *clients):
    """Close clients, wait for the server side to see every connection end."""
    for http in clients:
        http.close()
    assert wait_until(lambda: server.open_connections == 0), "server connections still open"


def assert_discarded(http, before=None):
    s = http.statistics()
    assert s.connections == 0 and s.active == 0 and s.idle == 0, s
    if before is not None:
        assert s.discarded == before.discarded + 1, s


# ---------------------------------------------------------------------------------
# Framing and smuggling: each response is refused with the parser's error code.

MALFORMED = [
    (
        "cl_and_te",
        OK + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        "HP_E_TE_AND_CL",
    ),
    (
        "te_and_cl",
        OK + b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\nhello",
        "HP_E_TE_AND_CL",
    ),
    (
        "duplicate_different_cl",
        OK + b"Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
        "HP_E_CONFLICTING_CL",
    ),
    ("cl_list_different", OK + b"Content-Length: 5, 6\r\n\r\nhello!", "HP_E_CONTENT_LENGTH"),
    ("cl_plus_sign", OK + b"Content-Length: +5\r\n\r\nhello", "HP_E_CONTENT_LENGTH"),
    ("cl_negative", OK + b"Content-Length: -1\r\n\r\n", "HP_E_CONTENT_LENGTH"),
    ("cl_hex", OK + b"Content-Length: 0x5\r\n\r\nhello", "HP_E_CONTENT_LENGTH"),
    ("cl_trailing_garbage", OK + b"Content-Length: 5x\r\n\r\nhello", "HP_E_CONTENT_LENGTH"),
    ("cl_empty", OK + b"Content-Length: \r\n\r\n", "HP_E_CONTENT_LENGTH"),
    ("cl_overflow", OK + b"Content-Length: 99999999999999999999\r\n\r\n", "HP_E_CONTENT_LENGTH"),
    (
        "te_chunked_twice",
        OK + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "HP_E_TRANSFER_ENCODING",
    ),
    (
        "te_in_http10",
        b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "HP_E_TRANSFER_ENCODING",
    ),
    ("te_empty", OK + b"Transfer-Encoding: \r\n\r\n", "HP_E_TRANSFER_ENCODING"),
    ("chunk_size_not_hex", CHUNKED + b"zz\r\nhello\r\n0\r\n\r\n", "HP_E_CHUNK_SIZE"),
    ("chunk_size_negative", CHUNKED + b"-5\r\nhello\r\n0\r\n\r\n", "HP_E_CHUNK_SIZE"),
    ("chunk_size_0x_prefix", CHUNKED + b"0x5\r\nhello\r\n0\r\n\r\n", "HP_E_CHUNK_SIZE"),
    ("chunk_size_leading_space", CHUNKED + b" 5\r\nhello\r\n0\r\n\r\n", "HP_E_CHUNK_SIZE"),
    (
        "chunk_size_overflow",
        CHUNKED + b"fffffffffffffffff1\r\nhello\r\n0\r\n\r\n",
        "HP_E_CHUNK_SIZE",
    ),
    ("chunk_size_empty", CHUNKED + b"\r\nhello\r\n0\r\n\r\n", "HP_E_CHUNK_SIZE"),
    ("chunk_ext_bare_semicolon", CHUNKED + b"5;\r\nhello\r\n0\r\n\r\n", "HP_E_CHUNK_EXTENSION"),
    ("chunk_ext_no_name", CHUNKED + b"5;=x\r\nhello\r\n0\r\n\r\n", "HP_E_CHUNK_EXTENSION"),
    (
        "chunk_ext_unterminated_quote",
        CHUNKED + b'5;a="x\r\nhello\r\n0\r\n\r\n',
        "HP_E_CHUNK_EXTENSION",
    ),
    ("chunk_ext_control_byte", CHUNKED + b"5;a=\x01\r\nhello\r\n0\r\n\r\n", "HP_E_CHUNK_EXTENSION"),
    ("chunk_data_no_crlf", CHUNKED + b"5\r\nhelloX\r\n0\r\n\r\n", "HP_E_CHUNK_DATA_END"),
    ("chunk_data_bare_lf", CHUNKED + b"5\r\nhello\n0\r\n\r\n", "HP_E_CHUNK_DATA_END"),
    ("chunk_line_bare_lf", CHUNKED + b"5\nhello\r\n0\r\n\r\n", "HP_E_LINE_ENDING"),
    ("obs_fold", OK + b"X-A: b\r\n c\r\nContent-Length: 0\r\n\r\n", "HP_E_OBS_FOLD"),
    ("obs_fold_tab", OK + b"X-A: b\r\n\tc\r\nContent-Length: 0\r\n\r\n", "HP_E_OBS_FOLD"),
    ("bare_cr_in_value", OK + b"X-A: b\rc\r\nContent-Length: 0\r\n\r\n", "HP_E_LINE_ENDING"),
    ("bare_cr_in_status", b"HTTP/1.1 200 O\rK\r\nContent-Length: 0\r\n\r\n", "HP_E_LINE_ENDING"),
    ("bare_lf_header", OK + b"X-A: b\nContent-Length: 0\r\n\r\n", "HP_E_LINE_ENDING"),
    ("bare_lf_status", b"HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n", "HP_E_LINE_ENDING"),
    ("bare_lf_end_of_head", OK + b"Content-Length: 0\r\n\n", "HP_E_LINE_ENDING"),
    ("nul_in_value", OK + b"X-A: b\x00c\r\nContent-Length: 0\r\n\r\n", "HP_E_HEADER_VALUE"),
    ("control_in_value", OK + b"X-A: b\x01c\r\nContent-Length: 0\r\n\r\n", "HP_E_HEADER_VALUE"),
    ("del_in_value", OK + b"X-A: b\x7fc\r\nContent-Length: 0\r\n\r\n", "HP_E_HEADER_VALUE"),
    ("nul_in_name", OK + b"X-\x00A: b\r\nContent-Length: 0\r\n\r\n", "HP_E_HEADER_NAME"),
    ("empty_name", OK + b": b\r\nContent-Length: 0\r\n\r\n", "HP_E_HEADER_NAME"),
    ("no_colon", OK + b"X-A b\r\nContent-Length: 0\r\n\r\n", "HP_E_NO_COLON"),
    ("space_before_colon", OK + b"Content-Length : 5\r\n\r\nhello", "HP_E_WS_BEFORE_COLON"),
    (
        "tab_before_colon",
        OK + b"Transfer-Encoding\t: chunked\r\n\r\n0\r\n\r\n",
        "HP_E_WS_BEFORE_COLON",
    ),
    ("status_http2", b"HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n", "HP_E_VERSION"),
    ("status_http10_with_x", b"HTTP/1.1x 200 OK\r\nContent-Length: 0\r\n\r\n", "HP_E_VERSION"),
    ("status_two_digits", b"HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n", "HP_E_STATUS_CODE"),
    ("status_four_digits", b"HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n", "HP_E_STATUS_CODE"),
    ("status_below_100", b"HTTP/1.1 099 Odd\r\nContent-Length: 0\r\n\r\n", "HP_E_STATUS_CODE"),
    ("status_letters", b"HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n", "HP_E_STATUS_CODE"),
    ("status_lowercase_http", b"http/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", "HP_E_STATUS_LINE"),
    ("status_icy", b"ICY 200 OK\r\nContent-Length: 0\r\n\r\n", "HP_E_STATUS_LINE"),
    ("status_version_only", b"HTTP/1.1\r\nContent-Length: 0\r\n\r\n", "HP_E_STATUS_LINE"),
    (
        "status_nul_in_reason",
        b"HTTP/1.1 200 O\x00K\r\nContent-Length: 0\r\n\r\n",
        "HP_E_STATUS_LINE",
    ),
    ("html_instead_of_http", b"<html><body>hello</body></html>\r\n\r\n", "HP_E_STATUS_LINE"),
]


@pytest.mark.parametrize(
    "raw, code", [pytest.param(raw, code, id=name) for name, raw, code in MALFORMED]
)
def test_malformed_response_raises_parse_error_with_code_and_discards_connection(
    servers, raw, code
):
    fds = count_fds()
    server = servers.per_connection([Expect(), Send(raw), Stall()])
    http = client(server)
    before = http.statistics()
    with pytest.raises(HTTPParseError) as info:
        fetch(http, 1)
    assert type(info.value) is HTTPParseError, repr(info.value)
    assert info.value.code == code, repr(info.value)
    assert_discarded(http, before)
    # The client, not the server, ended the hostile connection; a GET is never
    # retried after a malformed response.
    assert server.conns[0].done.wait(2)
    assert server.conns[0].client_closed
    assert server.count("GET") == 1
    # The next request gets its own response on a fresh connection.
    assert_own(http, 2)
    assert server.connections == 2
    settle(server, http)
    server.stop()
    assert count_fds() <= fds  # a leak raises it; a late close from elsewhere lowers it


def test_unsolicited_101_raises_unexpected_response_and_discards(servers):
    upgrade = (
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
    )
    server = servers.per_connection([Expect(), Send(upgrade + b"\x81\x05hello"), Stall()])
    http = client(server)
    with pytest.raises(UnexpectedResponse):
        fetch(http, 1)
    assert_discarded(http)
    assert_own(http, 2)
    assert server.connections == 2


def test_endless_interim_responses_raise_limit_exceeded_after_max_interim(servers):
    interim = b"HTTP/1.1 100 Continue\r\n\r\n"
    server = servers.per_connection([Expect(), Endless(interim)])
    limits = ParserLimits(max_interim=5)
    http = client(server, limits=limits)
    with pytest.raises(LimitExceeded) as info:
        fetch(http, 1)
    assert info.value.code == "GH_E_TOO_MANY_INTERIM"
    assert_discarded(http)
    assert server.conns[0].done.wait(5)
    assert not server.runaway
    assert_own(http, 2)


def test_interim_responses_up_to_the_limit_are_skipped(servers):
    interim = b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
    server = servers.per_connection([Expect(), Send(interim * 5), Respond(), Serve()])
    http = client(server, limits=ParserLimits(max_interim=5))
    assert_own(http, 1)
    assert_own(http, 2)
    assert server.connections == 1


def test_bytes_past_content_length_in_same_segment_never_become_next_response(servers):
    smuggled = response(b"EVIL", headers=["X-Id: 2"])
    server = servers.per_connection(
        [Expect(), Send(lambda c: response(b"1", headers=["X-Id: 1"]) + smuggled), Stall()]
    )
    http = client(server)
    assert_own(http, 1)
    assert_own(http, 2)
    assert server.connections == 2
    assert server.conns[0].requests[0].id == "1" and len(server.conns[0].requests) == 1


def test_bytes_past_content_length_after_release_never_become_next_response(servers):
    """The extra bytes arrive after the first response was complete and its
    connection went back to the pool: they must not answer the next request."""
    read_first = gevent.event.Event()
    smuggled_sent = gevent.event.Event()
    smuggled = response(b"EVIL", headers=["X-Id: 2"])
    server = servers.per_connection(
        [
            Expect(),
            Respond(),
            Stall(read_first),
            Send(smuggled),
            Signal(smuggled_sent),
            Serve(),  # if the client reused this connection it would be served too
        ]
    )
    http = client(server)
    assert_own(http, 1)
    read_first.set()
    assert smuggled_sent.wait(2)
    assert_own(http, 2)
    assert_own(http, 3)
    assert server.conns[0].requests[1:] == []  # nothing more was sent on it


# ---------------------------------------------------------------------------------
# Limits: a hostile server costs a bounded number of bytes and bounded memory.

# What the server may manage to send beyond the limit: the client's kernel receive
# buffer and the server's send buffer (set small here), with room for autotuning.
SOCKET_SLACK = 1024 * 1024


def _limit_run(servers, script, limits, code, head_ok=False):
    server = servers.per_connection(script, sndbuf=16384)
    http = client(server, limits=limits)
    tracing = not PYPY
    if tracing:
        import tracemalloc

        tracemalloc.start()
    # Receive buffers are mmap'd, out of tracemalloc's sight: count them as allocated.
    buffer_bytes = [0]
    real_buffer = connectionpool.RecvBuffer

    class CountedBuffer(real_buffer):  # type: ignore[misc, valid-type]
        __slots__ = ()

        def __init__(self, size: int = connectionpool.BUFFER_SIZE) -> None:
            super().__init__(size)
            buffer_bytes[0] += size

    # the pool makes buffers, and a connection grows its own for a large head
    connectionpool.RecvBuffer = _connection.RecvBuffer = CountedBuffer  # type: ignore[misc]
    try:
        with pytest.raises(LimitExceeded) as info:
            r = http.get("/1", headers={"X-Id": "1"})
            assert head_ok, "the head should have been refused"
            r.read()
        if tracing:
            _, peak = tracemalloc.get_traced_memory()
            peak += buffer_bytes[0]
    finally:
        connectionpool.RecvBuffer = _connection.RecvBuffer = real_buffer  # type: ignore[misc]
        if tracing:
            tracemalloc.stop()
    assert info.value.code == code, repr(info.value)
    assert buffer_bytes[0] >= connectionpool.BUFFER_SIZE  # the counting saw the buffer
    assert_discarded(http)
    conn = server.conns[0]
    assert conn.done.wait(5), "the server could still send: the client never closed"
    assert not server.runaway
    return conn.sent, (peak if tracing else None), http, server


LIMIT_CASES = [
    pytest.param(
        [Expect(), Send(OK + b"X-Long: "), Endless(b"a" * 1024)],
        ParserLimits(),
        "HP_E_LINE_TOO_LONG",
        8192,
        False,
        id="overlong_header_line",
    ),
    pytest.param(
        [Expect(), Send(b"HTTP/1.1 200 " + b"x" * 100), Endless(b"x" * 1024)],
        ParserLimits(),
        "HP_E_LINE_TOO_LONG",
        8192,
        False,
        id="overlong_status_line",
    ),
    pytest.param(
        [Expect(), Send(OK), Endless(b"X-Many: v\r\n")],
        ParserLimits(),
        "HP_E_TOO_MANY_HEADERS",
        100 * 11,
        False,
        id="too_many_headers",
    ),
    pytest.param(
        [Expect(), Send(OK), Endless(b"X-Endless-Header: value\r\n")],
        ParserLimits(max_headers=10**6),
        "HP_E_HEAD_TOO_LARGE",
        65536,
        False,
        id="endless_headers",
    ),
    pytest.param(
        [Expect(), Send(OK), Endless(b"X-T: v\r\n", trickle=True)],
        ParserLimits(max_headers=10**6, max_head=2048),
        "HP_E_HEAD_TOO_LARGE",
        2048,
        False,
        id="endless_headers_trickled",
    ),
    pytest.param(
        [Expect(), Send(CHUNKED + b"1"), Endless(b"0" * 512)],
        ParserLimits(),
        "HP_E_CHUNK_LINE_TOO_LONG",
        4096,
        True,
        id="overlong_chunk_size_line",
    ),
    pytest.param(
        [Expect(), Send(CHUNKED + b"5"), Endless(b";a=b")],
        ParserLimits(),
        "HP_E_CHUNK_LINE_TOO_LONG",
        4096,
        True,
        id="endless_chunk_extensions",
    ),
    pytest.param(
        [Expect(), Send(CHUNKED + b"0\r\n"), Endless(b"X-Trailer: v\r\n")],
        ParserLimits(max_headers=10**6),
        "HP_E_TRAILERS_TOO_LARGE",
        16384,
        True,
        id="endless_trailers",
    ),
]


@pytest.mark.parametrize("script, limits, code, limit, head_ok", LIMIT_CASES)
def test_hostile_server_hits_limit_after_bounded_bytes_and_memory(
    servers, script, limits, code, limit, head_ok
):
    fds = count_fds()
    sent, peak, http, server = _limit_run(servers, script, limits, code, head_ok)
    assert sent <= limit + SOCKET_SLACK, f"server sent {sent} bytes for a {limit} byte limit"
    if peak is not None:
        # One receive buffer (64 KiB, doubled at most once) plus small change.
        assert peak < 512 * 1024, f"peak traced memory {peak}"
    assert_own(http, 2)
    settle(server, http)
    server.stop()
    assert count_fds() <= fds  # a leak raises it; a late close from elsewhere lowers it


def test_endless_body_is_not_a_limit_but_read_in_blocks_without_growth(servers):
    """Contrast: a close-delimited body may be endless; streaming it holds one block."""
    server = servers.per_connection([Expect(), Send(OK + b"\r\n"), Endless(b"z" * 65536)])
    http = client(server)
    r = http.get("/")
    total = 0
    for block in r:
        total += len(block)
        if total > 8 * 1024 * 1024:
            break
    r.release()
    assert_discarded(http)
    assert server.conns[0].done.wait(5)


# ---------------------------------------------------------------------------------
# Truncation: a cut-short response is never returned as complete.


@pytest.mark.parametrize(
    "partial",
    [
        pytest.param(b"H", id="one_byte"),
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Le", id="mid_header_line"),
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n", id="before_blank_line"),
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r", id="before_final_lf"),
        pytest.param(b"HTTP/1.1 100 Continue\r\n\r\n", id="after_interim"),
    ],
)
@pytest.mark.parametrize("end", [Close, Reset], ids=["fin", "rst"])
def test_close_mid_head_raises_incomplete_response_and_is_not_retried(servers, partial, end):
    server = servers.per_connection([Expect(), Send(partial), end()])
    http = client(server)
    with pytest.raises(IncompleteResponse):
        fetch(http, 1)
    assert_discarded(http)
    assert server.count("GET") == 1, "a GET was re-sent after its response had begun"
    assert_own(http, 2)


@pytest.mark.parametrize("end", [Close, Reset], ids=["fin", "rst"])
def test_close_before_any_byte_raises_connection_closed_after_one_retry_of_get(servers, end):
    server = servers.per_connection([Expect(), end()], [Expect(), end()])
    http = client(server)
    with pytest.raises(ConnectionClosed):
        fetch(http, 1)
    assert server.count("GET") == 2  # one transparent retry, no more
    assert_discarded(http)
    assert_own(http, 2)


def _read_all(r, how):
    if how == "read":
        return r.read()
    out = b""
    if how == "read_n":
        while True:
            b = r.read(997)
            if not b:
                return out
            out += b
    if how == "read_big":
        while True:
            b = r.read(65536)
            if not b:
                return out
            out += b
    if how == "readinto":
        buf = bytearray(65536)
        while True:
            n = r.readinto(buf)
            if not n:
                return out
            out += buf[:n]
    if how == "iter":
        return b"".join(r)
    if how == "readline":
        return b"".join(r.readlines())
    raise AssertionError(how)


READS = ["read", "read_n", "read_big", "readinto", "iter", "readline"]


@pytest.mark.parametrize("how", READS)
@pytest.mark.parametrize(
    "head, sent",
    [
        pytest.param(OK + b"Content-Length: %d\r\n\r\n" % len(BODY), BODY[:10], id="cl_small"),
        pytest.param(OK + b"Content-Length: %d\r\n\r\n" % len(BODY), BODY[:200000], id="cl_large"),
        pytest.param(CHUNKED, b"a\r\n0123456789\r\n5\r\n01", id="chunked_mid_data"),
        pytest.param(CHUNKED, b"a\r\n0123456789\r\n", id="chunked_at_boundary"),
        pytest.param(CHUNKED, b"a\r\n0123456789\r\n0\r\n", id="chunked_before_last_crlf"),
        pytest.param(CHUNKED, b"a\r\n0123456789\r\n0\r\nX-T: v\r\n", id="chunked_mid_trailers"),
        pytest.param(CHUNKED, b"a\r\n0123456789", id="chunked_before_data_crlf"),
    ],
)
@pytest.mark.parametrize("end", [Close, Reset], ids=["fin", "rst"])
def test_close_mid_body_raises_incomplete_response_never_a_short_body(
    servers, head, sent, how, end
):
    server = servers.per_connection([Expect(), Send(head + sent), end()])
    http = client(server)
    r = http.get("/1", headers={"X-Id": "1"})
    with pytest.raises(IncompleteResponse):
        body = _read_all(r, how)
        pytest.fail(f"a short body of {len(body)} bytes was returned as complete")
    assert not r.message_complete
    assert_discarded(http)
    assert server.count("GET") == 1
    assert_own(http, 2)


def test_close_delimited_body_cut_by_reset_raises_incomplete_response(servers):
    """Without framing, only a clean FIN ends the body; a RST is not an end."""
    server = servers.per_connection([Expect(), Send(OK + b"\r\n" + b"x" * 1000), Reset()])
    http = client(server)
    r = http.get("/")
    with pytest.raises(IncompleteResponse):
        r.read()
    assert_discarded(http)


# ---------------------------------------------------------------------------------
# Connections: stale, closed, reset, early answers; a POST is sent exactly once.


@pytest.mark.parametrize("end", [Close, Reset], ids=["fin", "rst"])
@pytest.mark.parametrize("method", ["GET", "POST", "PUT"])
def test_connection_closed_while_idle_is_replaced_without_the_caller_noticing(servers, end, method):
    fds = count_fds()
    close_now = gevent.event.Event()
    closed = gevent.event.Event()
    server = servers.per_connection([Expect(), Respond(), Stall(close_now), Signal(closed), end()])
    http = client(server)
    assert_own(http, 1, method)
    close_now.set()
    assert closed.wait(2)
    assert wait_until(lambda: server.conns[0].done.is_set())
    assert_own(http, 2, method)
    assert_own(http, 3, method)
    assert server.count(method) == 3  # nothing was sent twice
    assert server.connections == 2
    settle(server, http)
    server.stop()
    assert count_fds() <= fds  # a leak raises it; a late close from elsewhere lowers it


POST_FAULTS = [
    pytest.param([Expect(), Close(), Stall()], ConnectionClosed, id="fin_after_receiving"),
    pytest.param([Expect(), Reset()], ConnectionClosed, id="rst_after_receiving"),
    pytest.param(
        [Expect(), Send(b"HTTP/1.1 200 OK\r\n"), Close()], IncompleteResponse, id="fin_mid_head"
    ),
    pytest.param(
        [Expect(), Send(b"HTTP/1.1 200 OK\r\n"), Reset()], IncompleteResponse, id="rst_mid_head"
    ),
    pytest.param(
        [Expect(body=False), ReadBytes(10), Reset()], NetworkError, id="rst_mid_upload_small"
    ),
    pytest.param(
        [Expect(body=False), ReadBytes(300000), Reset()], NetworkError, id="rst_mid_upload"
    ),
    pytest.param(
        [Expect(body=False), ReadBytes(300000), Close()], NetworkError, id="fin_mid_upload"
    ),
    pytest.param([Expect(body=False), Reset()], NetworkError, id="rst_after_head"),
]


@pytest.mark.parametrize("body_size", [100, 4 * 1024 * 1024], ids=["small", "large"])
@pytest.mark.parametrize("script, error", POST_FAULTS)
def test_post_is_sent_exactly_once_whatever_the_server_does(servers, script, error, body_size):
    fds = count_fds()
    if body_size < 300000 and any(isinstance(s, ReadBytes) and s.n > body_size for s in script):
        pytest.skip("the body is shorter than what the script reads")
    server = servers.per_connection(script)
    http = client(server)
    with pytest.raises(error):
        fetch(http, 1, "POST", body=b"p" * body_size)
    assert server.count("POST") == 1
    assert [r.id for r in server.requests] == ["1"]
    assert_discarded(http)
    assert_own(http, 2, "POST", body=b"q" * body_size)
    assert server.count("POST") == 2
    assert server.requests[-1].body == b"q" * body_size
    settle(server, http)
    server.stop()
    assert count_fds() <= fds  # a leak raises it; a late close from elsewhere lowers it


def test_reset_during_large_upload_is_a_clear_network_error(servers):
    server = servers.per_connection([Expect(body=False), ReadBytes(65536), Reset()])
    http = client(server)
    with pytest.raises(NetworkError) as info:
        http.post("/", body=b"u" * (16 * 1024 * 1024), headers={"X-Id": "1"})
    assert isinstance(info.value, ConnectionClosed), repr(info.value)
    assert "sending" in str(info.value) or "reset" in str(info.value).lower()
    assert server.count("POST") == 1
    assert_discarded(http)


@pytest.mark.parametrize(
    "close",
    [pytest.param(Close(drain=True), id="lingering_close"), pytest.param(Close(), id="hard_close")],
)
def test_early_final_response_during_upload_is_returned(servers, close):
    """The server reads part of a big body, answers 413 and closes: that answer is
    the result, whether it drains the rest (lingering close) or resets."""
    fds = count_fds()
    too_large = response(b"too large", 413, ["Connection: close"], "Payload Too Large")
    server = servers.per_connection([Expect(body=False), ReadBytes(65536), Send(too_large), close])
    http = client(server)
    r = http.post("/", body=b"u" * (16 * 1024 * 1024), headers={"X-Id": "1"})
    assert r.status_code == 413
    assert r.read() == b"too large"
    assert server.count("POST") == 1
    assert_discarded(http)
    assert_own(http, 2)
    settle(server, http)
    server.stop()
    assert count_fds() <= fds  # a leak raises it; a late close from elsewhere lowers it


def test_early_final_response_to_chunked_upload_is_returned(servers):
    too_large = response(b"no", 413, ["Connection: close"], "Payload Too Large")
    server = servers.per_connection(
        [Expect(body=False), ReadBytes(1000), Send(too_large), Close(drain=True)]
    )
    http = client(server)
    blocks = (b"c" * 65536 for _ in range(64))
    r = http.post("/", body=blocks, headers={"X-Id": "1"})
    assert r.status_code == 413
    assert r.read() == b"no"
    assert_discarded(http)


def test_pool_serves_every_request_after_a_series_of_faults_without_leaking(servers):
    fds = count_fds()
    scripts = [
        [Expect(), Reset()],
        [Expect(), Close()],
        [Expect(), Send(b"garbage\r\n\r\n"), Stall()],
        [Expect(), Send(OK + b"Content-Length: 10\r\n\r\nshort"), Close()],
        [Expect(), Send(OK + b"Content-Length: 10\r\n\r\nshort"), Reset()],
        [Expect(body=False), ReadBytes(1000), Reset()],
    ]
    server = servers.per_connection(*scripts, then=[Serve()])
    http = client(server, concurrency=3)
    outcomes = []
    for rid in range(len(scripts)):
        try:
            outcomes.append(fetch(http, rid, "POST", body=b"b" * 100000))
        except HTTPError as exc:
            outcomes.append(type(exc))
    assert all(isinstance(o, type) and issubclass(o, HTTPError) for o in outcomes), outcomes
    s = http.statistics()
    assert s.connections == 0 and s.discarded == len(scripts), s
    for rid in range(10, 20):
        assert_own(http, rid)
    assert http.statistics().connections == 1
    settle(server, http)
    server.stop()
    assert count_fds() <= fds  # a leak raises it; a late close from elsewhere lowers it


# ---------------------------------------------------------------------------------
# gevent: kills, timeouts and close() at any point; no connection reused dirty.


def trickled_echo():
    """Keep-alive echo server sending each response one byte at a time."""
    return Loop(
        lambda c: [
            Expect(),
            Trickle(lambda c: response(c.last.id.encode(), headers=[f"X-Id: {c.last.id}"])),
        ]
    )


def test_greenlets_killed_at_random_points_never_leak_or_get_a_dirty_connection(servers):
    fds = count_fds()
    server = servers([trickled_echo()])
    http = client(server, concurrency=2, pool_timeout=5)
    rng = random.Random(1234)
    got = {}

    def one(rid):
        got[rid] = fetch(http, rid)

    for rid in range(300):
        g = gevent.spawn(one, rid)
        gevent.sleep(rng.uniform(0, 0.004))  # the kill point, not a synchronisation
        g.kill()
        assert g.dead
        if rid % 10 == 0:
            assert_own(http, f"check{rid}")
    for rid, body in got.items():
        assert body == str(rid).encode(), (rid, body)
    assert 0 < len(got) < 300, "no kill point fell inside a request, or all did"
    s = http.statistics()
    assert s.active == 0 and s.connections <= 2, s
    group = gevent.pool.Group()
    for rid in range(1000, 1020):
        group.spawn(assert_own, http, rid)
    group.join(raise_error=True)
    settle(server, http)
    server.stop()
    assert count_fds() <= fds  # a leak raises it; a late close from elsewhere lowers it


KILL_POINTS = ["request_received", "mid_head", "head_sent", "mid_body"]


@pytest.mark.parametrize("point", KILL_POINTS)
@pytest.mark.parametrize("stage", ["request", "read"])
def test_greenlet_killed_at_a_scripted_server_point_frees_its_connection(servers, point, stage):
    if stage == "read" and point in ("request_received", "mid_head"):
        pytest.skip("the head is not complete at this point: no read stage")
    reached = gevent.event.Event()
    go_on = gevent.event.Event()
    full = response(b"x" * 100, headers=["X-Id: killed"])
    head_end = full.index(b"\r\n\r\n") + 4
    parts = {
        "request_received": (b"", full),
        "mid_head": (full[:20], full[20:]),
        "head_sent": (full[:head_end], full[head_end:]),
        "mid_body": (full[: head_end + 50], full[head_end + 50 :]),
    }[point]
    server = servers.per_connection(
        [Expect(), Send(parts[0]), Signal(reached), Stall(go_on), Send(parts[1]), Serve()]
    )
    http = client(server, concurrency=1, pool_timeout=2)
    started = gevent.event.Event()

    def victim():
        r = http.get("/", headers={"X-Id": "killed"})
        started.set()
        r.read()

    g = gevent.spawn(victim)
    assert reached.wait(2)
    if stage == "read":
        assert started.wait(2)
    g.kill()
    go_on.set()  # the rest of the killed response arrives: it must never be read
    assert_own(http, 2)
    assert_own(http, 3)
    assert server.connections == 2
    assert http.statistics().active == 0


@pytest.mark.parametrize("where", ["head", "body"])
@pytest.mark.parametrize("exc", [None, "custom"])
def test_callers_gevent_timeout_propagates_as_the_same_instance(servers, where, exc):
    go_on = gevent.event.Event()
    late = response(b"late", headers=["X-Id: late"])
    first = b"" if where == "head" else late[:-2]
    server = servers.per_connection(
        [Expect(), Send(first), Stall(go_on), Send(late[len(first) :]), Serve()]
    )
    http = client(server)

    class Mine(Exception):
        pass

    t = gevent.Timeout(0.05, Mine("mine") if exc else None)
    with pytest.raises(BaseException) as info:
        with t:
            r = http.get("/", headers={"X-Id": "late"})
            r.read()
    expected = t if exc is None else t.exception
    assert info.value is expected
    go_on.set()
    assert_discarded(http)
    assert_own(http, 2)
    assert server.connections == 2


def test_request_timeout_and_network_timeout_are_library_errors_and_leave_pool_clean(servers):
    go_on = gevent.event.Event()
    server = servers.per_connection(
        [Expect(), Stall(go_on), Respond(), Serve()], [Expect(), Stall(go_on), Respond(), Serve()]
    )
    http = client(server, network_timeout=0.05)
    with pytest.raises(NetworkError) as info:
        fetch(http, 1)
    assert isinstance(info.value, TimeoutError)
    assert_discarded(http)
    with pytest.raises(NetworkError) as info:
        fetch(http, 2, timeout=0.05)
    assert isinstance(info.value, TimeoutError)
    go_on.set()
    assert_own(http, 3)


def test_many_concurrent_requests_with_kills_and_timeouts_each_get_their_own_response(servers):
    fds = count_fds()
    rng = random.Random(99)

    def steps(c):
        if rng.random() < 0.3:
            return [
                Expect(),
                Trickle(lambda c: response(c.last.id.encode(), headers=[f"X-Id: {c.last.id}"])),
            ]
        return [Expect(), Respond()]

    server = servers([Loop(steps)])
    http = client(server, concurrency=10, pool_timeout=5)
    wrong = []
    ok = [0]

    def one(rid):
        with gevent.Timeout(rng.choice([0.001, 0.003, 1.0]), False):
            body = fetch(http, rid)
            if body != str(rid).encode():
                wrong.append((rid, body))
            ok[0] += 1

    group = gevent.pool.Group()
    for rid in range(600):
        g = group.spawn(one, rid)
        if rng.random() < 0.1:
            gevent.spawn_later(rng.uniform(0, 0.002), g.kill)
        if rid % 50 == 0:
            gevent.sleep(0)
    with gevent.Timeout(20):
        group.join()
    assert not wrong
    assert ok[0] > 100
    s = http.statistics()
    assert s.active == 0 and s.connections <= 10, s
    settle(server, http)
    server.stop()
    assert count_fds() <= fds  # a leak raises it; a late close from elsewhere lowers it
