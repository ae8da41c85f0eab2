"""Table-driven tests of the C response parser through its Python face.

Every case is a raw byte stream from a server and the outcome it must produce: the
messages parsed (status, reason, version, header pairs, body, trailers, keep-alive,
interim 1xx codes), then either a clean end, bytes left over after a tunnel, or an
error (its parser code, e.g. ``"HP_E_TE_AND_CL"``).

Each stream is fed whole, split in two at every position, and byte by byte, by a
driver that follows the parser's contract: bytes ``feed`` did not consume are
presented again, followed by the new ones. All feedings must give the same outcome.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import pytest
from conftest import feed

from geventhttpclient._parser import HTTPResponseParser, ParserLimits
from geventhttpclient.exceptions import (
    HTTPParseError,
    IncompleteResponse,
    LimitExceeded,
    UnexpectedResponse,
)

DEFAULT = ParserLimits()

LIMIT_CODES = frozenset(
    {
        "HP_E_LINE_TOO_LONG",
        "HP_E_TOO_MANY_HEADERS",
        "HP_E_HEAD_TOO_LARGE",
        "HP_E_CHUNK_LINE_TOO_LONG",
        "HP_E_TRAILERS_TOO_LARGE",
        "GH_E_TOO_MANY_INTERIM",
    }
)


@dataclass(frozen=True)
class Msg:
    """One parsed response, as the test expects or the driver observed it."""

    status: int = 200
    reason: str = "OK"
    headers: Tuple[Tuple[str, str], ...] = ()
    body: bytes = b""
    trailers: Tuple[Tuple[str, str], ...] = ()
    keep_alive: bool = True
    version: str = "HTTP/1.1"
    interim: Tuple[int, ...] = ()
    chunked: bool = False
    content_length: Optional[int] = None
    upgraded: bool = False


@dataclass(frozen=True)
class Outcome:
    messages: Tuple[Msg, ...]
    error: Optional[Tuple[str, Optional[str]]] = None  # (exception class, code)
    leftover: bytes = b""


def snapshot(p: HTTPResponseParser) -> Msg:
    return Msg(
        status=p.status_code,
        reason=p.reason,
        headers=tuple(p.header_pairs),
        body=b"".join(p.body_chunks),
        trailers=tuple(p.trailer_pairs),
        keep_alive=p.keep_alive,
        version=p.version,
        interim=tuple(p.interim),
        chunked=p.chunked,
        content_length=p.content_length,
        upgraded=p.upgraded,
    )


def drive(
    pieces: Iterable[bytes],
    starts: Sequence[Dict[str, bool]] = (),
    limits: ParserLimits = DEFAULT,
    eof: bool = True,
) -> Outcome:
    """Feed ``pieces`` as they would arrive from a socket, then the peer closes
    (``eof``). ``starts[i]`` are the start() arguments for the i-th response."""
    p = HTTPResponseParser(limits)
    messages: List[Msg] = []

    def start_next() -> None:
        k = len(messages)
        p.start(**(starts[k] if k < len(starts) else {}))

    start_next()
    buf = b""
    it = iter(pieces)
    try:
        for piece in it:
            buf += piece
            while buf:
                n = feed(p, buf)
                assert 0 <= n <= len(buf)
                buf = buf[n:]
                if p.message_complete:
                    messages.append(snapshot(p))
                    if p.upgraded:  # a tunnel: the rest is not HTTP
                        return Outcome(tuple(messages), None, buf + b"".join(it))
                    start_next()
                elif n == 0:
                    break  # an incomplete unit: wait for more bytes
        if eof:
            # A clean close between responses is not an error for the driver.
            if not (p.idle and messages and not p.interim and not buf):
                p.finish()
                messages.append(snapshot(p))
    except (HTTPParseError, UnexpectedResponse) as exc:
        return Outcome(tuple(messages), (type(exc).__name__, getattr(exc, "code", None)))
    return Outcome(tuple(messages), None, buf)


def feedings(data: bytes):
    """Whole, every split in two, byte by byte."""
    yield "whole", [data]
    for i in range(1, len(data)):
        yield f"split@{i}", [data[:i], data[i:]]
    yield "bytewise", [data[i : i + 1] for i in range(len(data))]


def error_class(code: str) -> str:
    if code in LIMIT_CODES:
        return "LimitExceeded"
    if code == "HP_E_INCOMPLETE":
        return "IncompleteResponse"
    if code == "UnexpectedResponse":
        return "UnexpectedResponse"
    return "HTTPParseError"


@dataclass
class Case:
    id: str
    data: bytes
    msgs: Sequence[Msg] = ()
    err: Optional[str] = None  # expected code, or "UnexpectedResponse"
    leftover: bytes = b""
    starts: Sequence[Dict[str, bool]] = ()
    limits: ParserLimits = DEFAULT
    # other limit codes a split feeding may legitimately report instead of ``err``
    alt_errs: Sequence[str] = field(default_factory=tuple)

    def expected(self) -> Outcome:
        error = None
        if self.err is not None:
            code = None if self.err == "UnexpectedResponse" else self.err
            error = (error_class(self.err), code)
        return Outcome(tuple(self.msgs), error, self.leftover)


def h(*pairs: Tuple[str, str]) -> Tuple[Tuple[str, str], ...]:
    return tuple(pairs)


CL5 = ("Content-Length", "5")
TE_CHUNKED = ("Transfer-Encoding", "chunked")
OK = b"HTTP/1.1 200 OK\r\n"
CHUNKED_HEAD = OK + b"Transfer-Encoding: chunked\r\n\r\n"


def chunked_case(name: str, chunks: bytes, err: Optional[str] = None, **kw) -> Case:
    """A chunked response whose body section is ``chunks``; on error no message."""
    msgs = () if err else kw.pop("msgs")
    return Case(name, CHUNKED_HEAD + chunks, msgs=msgs, err=err, **kw)


def head_error(name: str, header_lines: bytes, err: str) -> Case:
    """A response whose head (after the status line) contains ``header_lines``."""
    return Case(name, OK + header_lines + b"Content-Length: 0\r\n\r\n", err=err)


def status_error(name: str, status_line: bytes, err: str) -> Case:
    return Case(name, status_line + b"\r\nContent-Length: 0\r\n\r\n", err=err)


def cl_error(name: str, value: bytes) -> Case:
    return Case(
        name, OK + b"Content-Length: " + value + b"\r\n\r\nhello", err="HP_E_CONTENT_LENGTH"
    )


CASES: List[Case] = [
    # --- Content-Length --------------------------------------------------------------
    Case(
        "cl",
        OK + b"Content-Length: 5\r\nServer: test\r\n\r\nhello",
        [Msg(headers=h(CL5, ("Server", "test")), body=b"hello", content_length=5)],
    ),
    Case(
        "cl-zero",
        OK + b"Content-Length: 0\r\n\r\n",
        [Msg(headers=h(("Content-Length", "0")), content_length=0)],
    ),
    Case(
        "cl-leading-zeros-18-digits",
        OK + b"Content-Length: 000000000000000005\r\n\r\nhello",
        [Msg(headers=h(("Content-Length", "000000000000000005")), body=b"hello", content_length=5)],
    ),
    Case(
        "cl-duplicate-identical",
        OK + b"Content-Length: 5\r\ncontent-length:5 \r\n\r\nhello",
        [Msg(headers=h(CL5, ("content-length", "5")), body=b"hello", content_length=5)],
    ),
    Case(
        "cl-ows-trimmed-values",
        OK + b"Content-Length:\t 5 \t\r\nX:   a b \t\r\nEmpty:\r\nE2: \r\n\r\nhello",
        [
            Msg(
                headers=h(CL5, ("X", "a b"), ("Empty", ""), ("E2", "")),
                body=b"hello",
                content_length=5,
            )
        ],
    ),
    Case(
        "reason-phrases",
        b"HTTP/1.1 404 Not Found At All\r\nContent-Length: 0\r\n\r\n"
        b"HTTP/1.1 500 \r\nContent-Length: 0\r\n\r\n"
        b"HTTP/1.1 299\r\nContent-Length: 0\r\n\r\n",  # no SP after the code: accepted
        [
            Msg(404, "Not Found At All", h(("Content-Length", "0")), content_length=0),
            Msg(500, "", h(("Content-Length", "0")), content_length=0),
            Msg(299, "", h(("Content-Length", "0")), content_length=0),
        ],
    ),
    Case(
        "latin1-bytes-in-reason-and-values",
        b"HTTP/1.1 200 \xc4rger \x80\r\nX-Name: caf\xe9 \xff\xfe\r\nContent-Length: 0\r\n\r\n",
        [
            Msg(
                200,
                "\xc4rger \x80",
                h(("X-Name", "caf\xe9 \xff\xfe"), ("Content-Length", "0")),
                content_length=0,
            )
        ],
    ),
    Case(
        "token-names-and-tab-in-value",
        OK + b"X-!#$%&'*+-.^_`|~9: a\tb\r\nContent-Length: 0\r\n\r\n",
        [Msg(headers=h(("X-!#$%&'*+-.^_`|~9", "a\tb"), ("Content-Length", "0")), content_length=0)],
    ),
    Case(
        "http-1.2-is-1.x",
        b"HTTP/1.2 200 OK\r\nContent-Length: 0\r\n\r\n",
        [Msg(headers=h(("Content-Length", "0")), content_length=0, version="HTTP/1.2")],
    ),
    # --- chunked ---------------------------------------------------------------------
    chunked_case(
        "chunked",
        b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
        msgs=[Msg(headers=h(TE_CHUNKED), body=b"hello world", chunked=True)],
    ),
    chunked_case(
        "chunked-hex-and-leading-zeros",
        b"A\r\n0123456789\r\n000b\r\nabcdefghijk\r\n00\r\n\r\n",
        msgs=[Msg(headers=h(TE_CHUNKED), body=b"0123456789abcdefghijk", chunked=True)],
    ),
    chunked_case(
        "chunked-extensions",
        b"5;name=value\r\nhello\r\n"
        b'1 ; a ; b = "q\\"uo;ted = x" ;c=d\r\n!\r\n'
        b'2;e="";f="\\\\"\r\nab\r\n'
        b"0;last\r\n\r\n",
        msgs=[Msg(headers=h(TE_CHUNKED), body=b"hello!ab", chunked=True)],
    ),
    chunked_case(
        "chunked-trailers",
        b"3\r\nabc\r\n0\r\nX-Checksum: abc\r\nContent-Type: x\r\nY:  2 \r\n\r\n",
        msgs=[
            Msg(
                headers=h(TE_CHUNKED),
                body=b"abc",
                chunked=True,
                trailers=h(("X-Checksum", "abc"), ("Content-Type", "x"), ("Y", "2")),
            )
        ],
    ),
    # RFC 9110 6.5.1: trailers do not frame; llhttp would apply these to the message
    chunked_case(
        "trailer-content-length", b"0\r\nContent-Length: 99\r\n\r\n", err="HP_E_TRAILER_FRAMING"
    ),
    chunked_case(
        "trailer-transfer-encoding",
        b"0\r\ntransfer-encoding: chunked\r\n\r\n",
        err="HP_E_TRAILER_FRAMING",
    ),
    Case(
        # a close asked for in the trailers is honoured: closing is always safe
        "trailer-connection-close",
        CHUNKED_HEAD + b"1\r\nx\r\n0\r\nConnection: close\r\n\r\n",
        [
            Msg(
                headers=h(TE_CHUNKED),
                body=b"x",
                chunked=True,
                trailers=h(("Connection", "close")),
                keep_alive=False,
            )
        ],
    ),
    Case(
        "te-gzip-chunked",
        OK + b"Transfer-Encoding: gzip, chunked\r\n\r\n2\r\n\x1f\x8b\r\n0\r\n\r\n",
        [Msg(headers=h(("Transfer-Encoding", "gzip, chunked")), body=b"\x1f\x8b", chunked=True)],
    ),
    Case(
        # empty list elements before chunked are ignored (RFC 9110 5.6.1), as llhttp does
        "te-empty-elements-before-chunked",
        OK + b"Transfer-Encoding: ,gzip,, chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n",
        [Msg(headers=h(("Transfer-Encoding", ",gzip,, chunked")), body=b"ab", chunked=True)],
    ),
    Case(
        "te-two-fields",
        OK + b"Transfer-Encoding: gzip\r\nTransfer-Encoding: Chunked\r\n\r\n0\r\n\r\n",
        [
            Msg(
                headers=h(("Transfer-Encoding", "gzip"), ("Transfer-Encoding", "Chunked")),
                chunked=True,
            )
        ],
    ),
    # --- close-delimited ---------------------------------------------------------------
    Case(
        "close-delimited-1.1",
        OK + b"Server: x\r\n\r\nbody until \x00close\r\n",
        [Msg(headers=h(("Server", "x")), body=b"body until \x00close\r\n", keep_alive=False)],
    ),
    Case(
        "close-delimited-1.0",
        b"HTTP/1.0 200 OK\r\n\r\nold",
        [Msg(body=b"old", keep_alive=False, version="HTTP/1.0")],
    ),
    Case(
        "close-delimited-empty",
        OK + b"\r\n",
        [Msg(keep_alive=False)],
    ),
    Case(
        "te-not-chunked-is-close-delimited",
        OK + b"Transfer-Encoding: gzip\r\n\r\n\x1f\x8braw",
        [Msg(headers=h(("Transfer-Encoding", "gzip")), body=b"\x1f\x8braw", keep_alive=False)],
    ),
    # --- no body by status or request ------------------------------------------------
    Case(
        "head-with-cl",
        OK + b"Content-Length: 1234\r\n\r\n" + OK + b"Content-Length: 2\r\n\r\nok",
        [
            Msg(headers=h(("Content-Length", "1234")), content_length=1234),
            Msg(headers=h(("Content-Length", "2")), body=b"ok", content_length=2),
        ],
        starts=[{"no_body": True}],
    ),
    Case(
        "head-chunked",
        CHUNKED_HEAD,
        [Msg(headers=h(TE_CHUNKED), chunked=True)],
        starts=[{"no_body": True}],
    ),
    Case(
        "interim-then-final",
        b"HTTP/1.1 100 Continue\r\n\r\n"
        b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
        + OK
        + b"Content-Length: 2\r\n\r\nok",
        [Msg(headers=h(("Content-Length", "2")), body=b"ok", content_length=2, interim=(100, 103))],
    ),
    Case(
        "interim-with-cl-0",
        b"HTTP/1.1 100 Continue\r\nContent-Length: 0\r\n\r\n" + OK + b"Content-Length: 0\r\n\r\n",
        [Msg(headers=h(("Content-Length", "0")), content_length=0, interim=(100,))],
    ),
    # RFC 9110 8.6, RFC 9112 6.1: never in a 1xx; llhttp frames a body by them on 104+
    Case(
        "interim-with-cl",
        b"HTTP/1.1 104 X\r\nContent-Length: 2\r\n\r\nHT" + OK + b"\r\n",
        err="HP_E_INTERIM_FRAMING",
    ),
    Case(
        "interim-with-te",
        b"HTTP/1.1 150 X\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        err="HP_E_INTERIM_FRAMING",
    ),
    # 100-103 stay bodyless, as in llhttp (and 2.x's tests): the fields are ignored
    Case(
        "100-with-te-is-bodyless",
        b"HTTP/1.1 100 Continue\r\nTransfer-Encoding: chunked\r\n\r\n"
        + OK
        + b"Content-Length: 2\r\n\r\nok",
        [Msg(headers=h(("Content-Length", "2")), body=b"ok", content_length=2, interim=(100,))],
    ),
    Case(
        "101-with-cl-is-still-a-101",
        b"HTTP/1.1 101 Switching Protocols\r\nContent-Length: 5\r\n\r\n\x81\x05hello",
        err="UnexpectedResponse",
    ),
    Case(
        "204-ignores-cl",
        b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n" + OK + b"Content-Length: 0\r\n\r\n",
        [
            Msg(204, "No Content", h(CL5), content_length=5),
            Msg(headers=h(("Content-Length", "0")), content_length=0),
        ],
    ),
    Case(
        "304-ignores-cl",
        b'HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\nETag: "x"\r\n\r\n'
        + OK
        + b"Content-Length: 1\r\n\r\n!",
        [
            Msg(304, "Not Modified", h(CL5, ("ETag", '"x"')), content_length=5),
            Msg(headers=h(("Content-Length", "1")), body=b"!", content_length=1),
        ],
    ),
    Case(
        "101-unsolicited",
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\n\r\n\x81\x05hello",
        err="UnexpectedResponse",
    ),
    Case(
        "connect-tunnel",
        b"HTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x01tls bytes\r\n\r\n",
        [Msg(reason="Connection established", keep_alive=False, upgraded=True)],
        leftover=b"\x16\x03\x01tls bytes\r\n\r\n",
        starts=[{"tunnel": True}],
    ),
    Case(
        "connect-refused",
        b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 4\r\n\r\nnope",
        [
            Msg(
                407,
                "Proxy Authentication Required",
                h(("Content-Length", "4")),
                b"nope",
                content_length=4,
            )
        ],
        starts=[{"tunnel": True}],
    ),
    Case(
        # RFC 9110 9.3.6: a client MUST ignore Content-Length and Transfer-Encoding in a
        # 2xx answer to CONNECT, so even a malformed one opens the tunnel
        "connect-2xx-ignores-malformed-cl",
        b"HTTP/1.1 200 OK\r\nContent-Length: nonsense\r\n\r\ntunnel bytes",
        [Msg(headers=h(("Content-Length", "nonsense")), keep_alive=False, upgraded=True)],
        leftover=b"tunnel bytes",
        starts=[{"tunnel": True}],
    ),
    Case(
        "connect-2xx-ignores-te-and-cl",
        b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked;x\r\nContent-Length: 5\r\n"
        b"Content-Length: 6\r\n\r\n5\r\nhello",
        [
            Msg(
                headers=h(
                    ("Transfer-Encoding", "chunked;x"),
                    ("Content-Length", "5"),
                    ("Content-Length", "6"),
                ),
                keep_alive=False,
                upgraded=True,
                version="HTTP/1.0",
            )
        ],
        leftover=b"5\r\nhello",
        starts=[{"tunnel": True}],
    ),
    Case(
        "connect-non-2xx-checks-cl",
        b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: x\r\n\r\n",
        err="HP_E_CONTENT_LENGTH",
        starts=[{"tunnel": True}],
    ),
    Case(
        "connect-interim-checks-cl",
        b"HTTP/1.1 100 Continue\r\nContent-Length: x\r\n\r\n",
        err="HP_E_CONTENT_LENGTH",
        starts=[{"tunnel": True}],
    ),
    # --- keep-alive --------------------------------------------------------------------
    Case(
        "1.0-keep-alive",
        b"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 1\r\n\r\nx",
        [
            Msg(
                headers=h(("Connection", "Keep-Alive"), ("Content-Length", "1")),
                body=b"x",
                content_length=1,
                version="HTTP/1.0",
            )
        ],
    ),
    Case(
        "1.0-default-close",
        b"HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx",
        [
            Msg(
                headers=h(("Content-Length", "1")),
                body=b"x",
                content_length=1,
                version="HTTP/1.0",
                keep_alive=False,
            )
        ],
    ),
    Case(
        "1.0-keep-alive-and-close",
        b"HTTP/1.0 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 1\r\n\r\nx",
        [
            Msg(
                headers=h(("Connection", "keep-alive, close"), ("Content-Length", "1")),
                body=b"x",
                content_length=1,
                version="HTTP/1.0",
                keep_alive=False,
            )
        ],
    ),
    Case(
        "1.1-connection-close",
        OK + b"Connection: foo , CLOSE\r\nContent-Length: 1\r\n\r\nx",
        [
            Msg(
                headers=h(("Connection", "foo , CLOSE"), ("Content-Length", "1")),
                body=b"x",
                content_length=1,
                keep_alive=False,
            )
        ],
    ),
    Case(
        "1.1-connection-keep-alive",
        OK + b"Connection: keep-alive\r\nContent-Length: 1\r\n\r\nx",
        [
            Msg(
                headers=h(("Connection", "keep-alive"), ("Content-Length", "1")),
                body=b"x",
                content_length=1,
            )
        ],
    ),
    Case(
        "reuse-cl-chunked-eof",
        OK
        + b"Content-Length: 3\r\n\r\nabc"
        + CHUNKED_HEAD
        + b"2\r\nde\r\n0\r\nT: 1\r\n\r\n"
        + b"HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\nrest",
        [
            Msg(headers=h(("Content-Length", "3")), body=b"abc", content_length=3),
            Msg(headers=h(TE_CHUNKED), body=b"de", chunked=True, trailers=h(("T", "1"))),
            Msg(404, "Not Found", h(("Connection", "close")), b"rest", keep_alive=False),
        ],
    ),
    Case(
        # flags of one response must not leak into the next (found by the fuzzer harness)
        "reuse-flags-reset",
        OK
        + b"Content-Length: 3\r\nConnection: close\r\n\r\nabc"
        + OK
        + b"Content-Length: 2\r\n\r\nde"
        + OK
        + b"\r\nuntil close",
        [
            Msg(
                headers=h(("Content-Length", "3"), ("Connection", "close")),
                body=b"abc",
                content_length=3,
                keep_alive=False,
            ),
            Msg(headers=h(("Content-Length", "2")), body=b"de", content_length=2),
            Msg(body=b"until close", keep_alive=False),
        ],
    ),
    Case(
        "reuse-interim-flags-reset",
        b"HTTP/1.1 100 Continue\r\nConnection: close\r\n\r\n" + OK + b"Content-Length: 0\r\n\r\n",
        [Msg(headers=h(("Content-Length", "0")), content_length=0, interim=(100,))],
    ),
    # --- framing conflicts -------------------------------------------------------------
    Case(
        "cl-different",
        OK + b"Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
        err="HP_E_CONFLICTING_CL",
    ),
    Case(
        "te-and-cl",
        OK + b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        err="HP_E_TE_AND_CL",
    ),
    Case(
        "cl-and-te",
        OK + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        err="HP_E_TE_AND_CL",
    ),
    Case(
        "cl-and-te-gzip",
        OK + b"Content-Length: 5\r\nTransfer-Encoding: gzip\r\n\r\nhello",
        err="HP_E_TE_AND_CL",
    ),
    cl_error("cl-plus", b"+5"),
    cl_error("cl-minus", b"-5"),
    cl_error("cl-decimal", b"1.5"),
    cl_error("cl-empty", b""),
    cl_error("cl-only-spaces", b"   "),
    cl_error("cl-space-inside", b"5 5"),
    cl_error("cl-hex", b"0x5"),
    cl_error("cl-list", b"5, 5"),
    cl_error("cl-19-digits", b"1234567890123456789"),
    cl_error("cl-19-zeros", b"0000000000000000005"),
    Case(
        "te-in-1.0",
        b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        err="HP_E_TRANSFER_ENCODING",
    ),
    Case(
        "te-chunked-not-last",
        OK + b"Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n",
        err="HP_E_TRANSFER_ENCODING",
    ),
    Case(
        "te-chunked-twice",
        OK + b"Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n",
        err="HP_E_TRANSFER_ENCODING",
    ),
    Case(
        "te-chunked-twice-fields",
        OK + b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        err="HP_E_TRANSFER_ENCODING",
    ),
    Case("te-empty", OK + b"Transfer-Encoding: \r\n\r\n", err="HP_E_TRANSFER_ENCODING"),
    Case(
        "te-garbage",
        OK + b"Transfer-Encoding: chunked x\r\n\r\n0\r\n\r\n",
        err="HP_E_TRANSFER_ENCODING",
    ),
    # Framing that llhttp (strict) reads as not chunked while a looser split would find
    # chunked: refused (see the Transfer-Encoding rule in hparser.h).
    *(
        Case(
            f"te-refused-{name}",
            OK
            + b"".join(b"Transfer-Encoding: " + v + b"\r\n" for v in values)
            + b"\r\n5\r\nhello\r\n0\r\n\r\n",
            err="HP_E_TRANSFER_ENCODING",
        )
        for name, values in [
            ("quoted-param-hiding-comma", [b'gzip;a="b,chunked;c"']),
            ("quoted-param", [b'gzip;a="b", chunked']),
            ("param-on-gzip", [b"gzip;q=1, chunked"]),
            ("param-on-chunked", [b"chunked;q=1"]),
            ("empty-param-on-chunked", [b"chunked;"]),
            ("space-param-on-chunked", [b"chunked ;x"]),
            ("trailing-comma", [b"chunked,"]),
            ("trailing-comma-space", [b"chunked, "]),
            ("empty-field-after-chunked", [b"chunked", b","]),
            ("only-commas", [b", ,"]),
            ("quote", [b'"chunked"']),
        ]
    ),
    # --- chunk syntax ------------------------------------------------------------------
    chunked_case("chunk-size-empty", b"\r\nhello\r\n0\r\n\r\n", err="HP_E_CHUNK_SIZE"),
    chunked_case("chunk-size-not-hex", b"g\r\nhello\r\n0\r\n\r\n", err="HP_E_CHUNK_SIZE"),
    chunked_case("chunk-size-0x", b"0x5\r\nhello\r\n0\r\n\r\n", err="HP_E_CHUNK_SIZE"),
    chunked_case("chunk-size-negative", b"-5\r\nhello\r\n0\r\n\r\n", err="HP_E_CHUNK_SIZE"),
    chunked_case("chunk-size-leading-space", b" 5\r\nhello\r\n0\r\n\r\n", err="HP_E_CHUNK_SIZE"),
    chunked_case("chunk-size-garbage", b"5x\r\nhello\r\n0\r\n\r\n", err="HP_E_CHUNK_SIZE"),
    chunked_case("chunk-size-overflow-17", b"FFFFFFFFFFFFFFFFF\r\n", err="HP_E_CHUNK_SIZE"),
    chunked_case("chunk-size-overflow-16", b"FFFFFFFFFFFFFFFF\r\n", err="HP_E_CHUNK_SIZE"),
    chunked_case("chunk-size-overflow-long", b"1" + b"0" * 40 + b"\r\n", err="HP_E_CHUNK_SIZE"),
    chunked_case("chunk-ext-empty", b"5;\r\nhello\r\n0\r\n\r\n", err="HP_E_CHUNK_EXTENSION"),
    chunked_case("chunk-ext-no-name", b"5;=v\r\nhello\r\n0\r\n\r\n", err="HP_E_CHUNK_EXTENSION"),
    chunked_case("chunk-ext-no-value", b"5;a=\r\nhello\r\n0\r\n\r\n", err="HP_E_CHUNK_EXTENSION"),
    chunked_case(
        "chunk-ext-space-in-value", b"5;a=b c\r\nhello\r\n0\r\n\r\n", err="HP_E_CHUNK_EXTENSION"
    ),
    chunked_case(
        "chunk-ext-no-semicolon", b"5 a\r\nhello\r\n0\r\n\r\n", err="HP_E_CHUNK_EXTENSION"
    ),
    chunked_case(
        "chunk-ext-unterminated-quote",
        b'5;a="abc\r\nhello\r\n0\r\n\r\n',
        err="HP_E_CHUNK_EXTENSION",
    ),
    chunked_case(
        "chunk-ext-ctl-in-quote", b'5;a="\x01"\r\nhello\r\n0\r\n\r\n', err="HP_E_CHUNK_EXTENSION"
    ),
    chunked_case(
        "chunk-ext-trailing-backslash", b'5;a="\\\r\nhello\r\n0\r\n\r\n', err="HP_E_CHUNK_EXTENSION"
    ),
    chunked_case(
        "chunk-ext-after-quote", b'5;a="x"y\r\nhello\r\n0\r\n\r\n', err="HP_E_CHUNK_EXTENSION"
    ),
    chunked_case("chunk-ext-nul", b"5;a\x00\r\nhello\r\n0\r\n\r\n", err="HP_E_CHUNK_EXTENSION"),
    # whitespace ends no chunk-size line (RFC 9112 7.1.1 has BWS only before ';' or '=')
    chunked_case("chunk-size-trailing-space", b"5 \r\nhello\r\n0\r\n\r\n", err="HP_E_CHUNK_SIZE"),
    chunked_case("chunk-size-trailing-tab", b"5\t\r\nhello\r\n0\r\n\r\n", err="HP_E_CHUNK_SIZE"),
    chunked_case("last-chunk-trailing-space", b"0 \r\n\r\n", err="HP_E_CHUNK_SIZE"),
    chunked_case(
        "chunk-ext-trailing-space", b"5;a=b \r\nhello\r\n0\r\n\r\n", err="HP_E_CHUNK_EXTENSION"
    ),
    chunked_case(
        "chunk-ext-name-trailing-space", b"5;a \r\nhello\r\n0\r\n\r\n", err="HP_E_CHUNK_EXTENSION"
    ),
    chunked_case(
        "chunk-ext-quoted-trailing-tab",
        b'5;a="b"\t\r\nhello\r\n0\r\n\r\n',
        err="HP_E_CHUNK_EXTENSION",
    ),
    chunked_case("chunk-data-no-crlf", b"5\r\nhelloX\r\n0\r\n\r\n", err="HP_E_CHUNK_DATA_END"),
    chunked_case("chunk-data-cr-only", b"5\r\nhello\rX0\r\n\r\n", err="HP_E_CHUNK_DATA_END"),
    chunked_case("chunk-data-lf-only", b"5\r\nhello\n0\r\n\r\n", err="HP_E_CHUNK_DATA_END"),
    chunked_case("chunk-data-too-long", b"3\r\nhello\r\n0\r\n\r\n", err="HP_E_CHUNK_DATA_END"),
    chunked_case("chunk-line-bare-lf", b"5\nhello\r\n0\r\n\r\n", err="HP_E_LINE_ENDING"),
    chunked_case("chunk-line-bare-cr", b"5\rhello\r\n0\r\n\r\n", err="HP_E_LINE_ENDING"),
    chunked_case("trailer-obs-fold", b"0\r\nT: 1\r\n 2\r\n\r\n", err="HP_E_OBS_FOLD"),
    chunked_case("trailer-bare-lf", b"0\r\nT: 1\n\r\n", err="HP_E_LINE_ENDING"),
    chunked_case("trailer-bad-name", b"0\r\nT(x): 1\r\n\r\n", err="HP_E_HEADER_NAME"),
    chunked_case("trailer-nul-value", b"0\r\nT: \x001\r\n\r\n", err="HP_E_HEADER_VALUE"),
    chunked_case("trailer-end-bare-lf", b"0\r\n\n", err="HP_E_LINE_ENDING"),
    # --- header syntax -----------------------------------------------------------------
    head_error("obs-fold-space", b"X: a\r\n b\r\n", "HP_E_OBS_FOLD"),
    head_error("obs-fold-tab", b"X: a\r\n\tb\r\n", "HP_E_OBS_FOLD"),
    head_error("first-header-folded", b" X: a\r\n", "HP_E_OBS_FOLD"),
    head_error("bare-cr-in-value", b"X: a\rb\r\n", "HP_E_LINE_ENDING"),
    head_error("bare-cr-before-crlf", b"X: a\r\r\n", "HP_E_LINE_ENDING"),
    head_error("bare-cr-in-name", b"X\rY: a\r\n", "HP_E_LINE_ENDING"),
    head_error("bare-lf-header", b"X: a\n", "HP_E_LINE_ENDING"),
    head_error("nul-in-value", b"X: a\x00b\r\n", "HP_E_HEADER_VALUE"),
    head_error("ctl-in-value", b"X: a\x01b\r\n", "HP_E_HEADER_VALUE"),
    head_error("del-in-value", b"X: a\x7fb\r\n", "HP_E_HEADER_VALUE"),
    head_error("esc-in-value", b"X: \x1b[31m\r\n", "HP_E_HEADER_VALUE"),
    head_error("nul-in-name", b"X\x00Y: a\r\n", "HP_E_HEADER_NAME"),
    head_error("ctl-in-name", b"X\x01: a\r\n", "HP_E_HEADER_NAME"),
    head_error("del-in-name", b"X\x7f: a\r\n", "HP_E_HEADER_NAME"),
    head_error("high-byte-in-name", b"X\xe9: a\r\n", "HP_E_HEADER_NAME"),
    head_error("separator-in-name", b"X(y): a\r\n", "HP_E_HEADER_NAME"),
    head_error("empty-name", b": a\r\n", "HP_E_HEADER_NAME"),
    head_error("space-before-colon", b"Content-Length : 0\r\n", "HP_E_WS_BEFORE_COLON"),
    head_error("tab-before-colon", b"X\t: a\r\n", "HP_E_WS_BEFORE_COLON"),
    head_error("space-in-name", b"Bad Name: a\r\n", "HP_E_WS_BEFORE_COLON"),
    head_error("no-colon", b"NoColonHere\r\n", "HP_E_NO_COLON"),
    head_error("no-colon-space", b"No colon here\r\n", "HP_E_NO_COLON"),
    Case(
        "bare-lf-status-line", b"HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n", err="HP_E_LINE_ENDING"
    ),
    Case("bare-lf-end-of-head", OK + b"Content-Length: 0\r\n\n", err="HP_E_LINE_ENDING"),
    Case("all-bare-lf", b"HTTP/1.1 200 OK\nContent-Length: 0\n\n", err="HP_E_LINE_ENDING"),
    Case("bare-cr-in-reason", b"HTTP/1.1 200 O\rK\r\n\r\n", err="HP_E_LINE_ENDING"),
    # --- status line -------------------------------------------------------------------
    status_error("version-2", b"HTTP/2.0 200 OK", "HP_E_VERSION"),
    status_error("version-0.9", b"HTTP/0.9 200 OK", "HP_E_VERSION"),
    status_error("version-letters", b"HTTP/1.x 200 OK", "HP_E_VERSION"),
    status_error("version-1.10", b"HTTP/1.10 200 OK", "HP_E_VERSION"),
    status_error("version-missing-space", b"HTTP/1.1200 OK", "HP_E_VERSION"),
    status_error("version-lowercase", b"http/1.1 200 OK", "HP_E_STATUS_LINE"),
    status_error("not-http", b"ICY 200 OK", "HP_E_STATUS_LINE"),
    status_error("status-2-digits", b"HTTP/1.1 20 OK", "HP_E_STATUS_CODE"),
    status_error("status-4-digits", b"HTTP/1.1 2000 OK", "HP_E_STATUS_CODE"),
    status_error("status-below-100", b"HTTP/1.1 099 Low", "HP_E_STATUS_CODE"),
    status_error("status-letters", b"HTTP/1.1 2x0 OK", "HP_E_STATUS_CODE"),
    status_error("status-no-space-before-reason", b"HTTP/1.1 200OK", "HP_E_STATUS_CODE"),
    status_error("status-two-spaces", b"HTTP/1.1  200 OK", "HP_E_STATUS_CODE"),
    status_error("status-line-short", b"HTTP/1.1 20", "HP_E_STATUS_CODE"),
    status_error("version-alone", b"HTTP/1.1", "HP_E_STATUS_LINE"),
    status_error("version-space-alone", b"HTTP/1.1 ", "HP_E_STATUS_CODE"),
    status_error("http-slash-only", b"HTTP/", "HP_E_STATUS_LINE"),
    status_error("ctl-in-reason", b"HTTP/1.1 200 O\x01K", "HP_E_STATUS_LINE"),
    status_error("nul-in-reason", b"HTTP/1.1 200 O\x00K", "HP_E_STATUS_LINE"),
    Case(
        # RFC 9112 2.2's robustness rule, applied to responses as llhttp does
        "empty-lines-before-status-line-skipped",
        b"\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx\r\n" + OK + b"\r\n",
        [
            Msg(headers=h(("Content-Length", "1")), body=b"x", content_length=1),
            Msg(keep_alive=False),
        ],
    ),
    Case(
        "crlf-after-last-response-then-close",
        OK + b"Content-Length: 1\r\n\r\nx\r\n",
        [Msg(headers=h(("Content-Length", "1")), body=b"x", content_length=1)],
    ),
    Case("bare-lf-before-status-line", b"\n" + OK + b"\r\n", err="HP_E_LINE_ENDING"),
    Case("bare-cr-before-status-line", b"\r" + OK + b"\r\n", err="HP_E_STATUS_LINE"),
    Case(
        "crlf-cr-between-responses",
        OK + b"Content-Length: 0\r\n\r\n\r\n\r" + OK + b"\r\n",
        [Msg(headers=h(("Content-Length", "0")), content_length=0)],
        err="HP_E_STATUS_LINE",
    ),
    Case(
        "limit-empty-lines-before-status-line",
        b"\r\n" * 40 + OK + b"\r\n",
        err="HP_E_HEAD_TOO_LARGE",
        limits=ParserLimits(max_head=64),
    ),
    Case("leading-space", b" HTTP/1.1 200 OK\r\n\r\n", err="HP_E_STATUS_LINE"),
    # --- truncation --------------------------------------------------------------------
    Case("eof-empty", b"", err="HP_E_INCOMPLETE"),
    Case("eof-in-status-line", b"HTTP/1.1 200", err="HP_E_INCOMPLETE"),
    Case("eof-in-head", OK + b"Content-Length: 5\r\n", err="HP_E_INCOMPLETE"),
    Case("eof-in-cl-body", OK + b"Content-Length: 5\r\n\r\nhel", err="HP_E_INCOMPLETE"),
    Case("eof-in-chunk", CHUNKED_HEAD + b"5\r\nhel", err="HP_E_INCOMPLETE"),
    Case("eof-in-chunk-size", CHUNKED_HEAD + b"5\r\nhello\r\n0", err="HP_E_INCOMPLETE"),
    Case("eof-before-chunk-crlf", CHUNKED_HEAD + b"5\r\nhello", err="HP_E_INCOMPLETE"),
    Case("eof-in-trailers", CHUNKED_HEAD + b"0\r\nT: 1\r\n", err="HP_E_INCOMPLETE"),
    Case("eof-after-interim", b"HTTP/1.1 100 Continue\r\n\r\n", err="HP_E_INCOMPLETE"),
    Case(
        "eof-in-second-response",
        OK + b"Content-Length: 1\r\n\r\nx" + OK,
        [Msg(headers=h(("Content-Length", "1")), body=b"x", content_length=1)],
        err="HP_E_INCOMPLETE",
    ),
    Case(
        "error-in-second-response",
        OK + b"Content-Length: 1\r\n\r\nx" + b"HTTP/1.1 200 OK\r\nX : y\r\n\r\n",
        [Msg(headers=h(("Content-Length", "1")), body=b"x", content_length=1)],
        err="HP_E_WS_BEFORE_COLON",
    ),
    # --- limits (small, so every split is tried) ---------------------------------------
    Case(
        "limit-status-line",
        b"HTTP/1.1 200 " + b"x" * 60 + b"\r\n\r\n",
        err="HP_E_LINE_TOO_LONG",
        limits=ParserLimits(max_line=64),
    ),
    Case(
        "limit-header-line",
        OK + b"X: " + b"y" * 62 + b"\r\n\r\n",
        err="HP_E_LINE_TOO_LONG",
        limits=ParserLimits(max_line=64),
    ),
    Case(
        "limit-header-line-exact",
        OK + b"X: " + b"y" * 59 + b"\r\nContent-Length: 0\r\n\r\n",
        [Msg(headers=h(("X", "y" * 59), ("Content-Length", "0")), content_length=0)],
        limits=ParserLimits(max_line=64),
    ),
    Case(
        "limit-header-count",
        OK + b"A: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n",
        err="HP_E_TOO_MANY_HEADERS",
        limits=ParserLimits(max_headers=3),
    ),
    Case(
        "limit-header-count-exact",
        OK + b"A: 1\r\nB: 2\r\nContent-Length: 0\r\n\r\n",
        [Msg(headers=h(("A", "1"), ("B", "2"), ("Content-Length", "0")), content_length=0)],
        limits=ParserLimits(max_headers=3),
    ),
    Case(
        "limit-head-size",
        OK + b"A: 1\r\n" * 30 + b"\r\n",
        err="HP_E_HEAD_TOO_LARGE",
        limits=ParserLimits(max_head=128),
    ),
    Case(
        "limit-head-size-exact",
        OK + b"Content-Length: 0\r\n" + b"\r\n",
        [Msg(headers=h(("Content-Length", "0")), content_length=0)],
        limits=ParserLimits(max_head=len(OK + b"Content-Length: 0\r\n\r\n")),
    ),
    Case(
        "limit-head-size-one-over",
        OK + b"Content-Length: 0\r\n" + b"\r\n",
        err="HP_E_HEAD_TOO_LARGE",
        limits=ParserLimits(max_head=len(OK + b"Content-Length: 0\r\n\r\n") - 1),
    ),
    Case(
        "limit-chunk-line",
        CHUNKED_HEAD + b"5;" + b"a" * 30 + b"\r\nhello\r\n0\r\n\r\n",
        err="HP_E_CHUNK_LINE_TOO_LONG",
        limits=ParserLimits(max_chunk_line=16),
    ),
    Case(
        "limit-chunk-line-zeros",
        CHUNKED_HEAD + b"0" * 40 + b"5\r\nhello\r\n0\r\n\r\n",
        err="HP_E_CHUNK_LINE_TOO_LONG",
        limits=ParserLimits(max_chunk_line=16),
    ),
    Case(
        "limit-trailers",
        CHUNKED_HEAD + b"0\r\n" + b"T: 1234567890\r\n" * 4 + b"\r\n",
        err="HP_E_TRAILERS_TOO_LARGE",
        limits=ParserLimits(max_trailers=32),
    ),
    Case(
        "limit-trailer-count",
        CHUNKED_HEAD + b"0\r\n" + b"T: 1\r\n" * 4 + b"\r\n",
        err="HP_E_TOO_MANY_HEADERS",
        limits=ParserLimits(max_headers=3),
    ),
    Case(
        "limit-interim",
        b"HTTP/1.1 100 Continue\r\n\r\n" * 3 + OK + b"\r\n",
        err="GH_E_TOO_MANY_INTERIM",
        limits=ParserLimits(max_interim=2),
    ),
    Case(
        "limit-interim-exact",
        b"HTTP/1.1 100 Continue\r\n\r\n" * 2 + OK + b"Content-Length: 0\r\n\r\n",
        [Msg(headers=h(("Content-Length", "0")), content_length=0, interim=(100, 100))],
        limits=ParserLimits(max_interim=2),
    ),
    Case(
        "limit-line-before-head",
        b"HTTP/1.1 200 OK\r\nX: " + b"y" * 200,
        err="HP_E_HEAD_TOO_LARGE",
        alt_errs=("HP_E_LINE_TOO_LONG",),
        limits=ParserLimits(max_line=128, max_head=100),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_table(case: Case) -> None:
    expected = case.expected()
    allowed = {case.err, *case.alt_errs}
    for how, pieces in feedings(case.data):
        got = drive(pieces, case.starts, case.limits)
        if case.alt_errs and got.error and got.error[1] in allowed:
            got = Outcome(got.messages, expected.error, got.leftover)
        assert got == expected, f"{case.id} fed {how}"


def test_ids_unique() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))


def test_exception_classes() -> None:
    out = drive([OK + b"X : y\r\n\r\n"])
    assert out.error == ("HTTPParseError", "HP_E_WS_BEFORE_COLON")
    p = HTTPResponseParser(ParserLimits(max_line=32))
    with pytest.raises(LimitExceeded) as info:
        p.feed(b"HTTP/1.1 200 " + b"x" * 40)
    assert info.value.code == "HP_E_LINE_TOO_LONG"
    assert isinstance(info.value, HTTPParseError)
    p = HTTPResponseParser()
    p.feed(OK + b"Content-Length: 5\r\n\r\nab")
    with pytest.raises(IncompleteResponse):
        p.finish()
    p = HTTPResponseParser()
    with pytest.raises(UnexpectedResponse):
        p.feed(b"HTTP/1.1 101 Switching Protocols\r\n\r\n")


def test_failed_parser_stays_failed() -> None:
    p = HTTPResponseParser()
    with pytest.raises(HTTPParseError):
        p.feed(b"HTTP/1.1 200 OK\nX: y\r\n\r\n")
    assert p.failed
    with pytest.raises(HTTPParseError):
        p.feed(OK + b"\r\n")


def test_feed_returns_consumed_and_unit_boundaries() -> None:
    p = HTTPResponseParser()
    head = OK + b"Transfer-Encoding: chunked\r\n\r\n"
    assert p.feed(head[:-1]) == 0  # head incomplete: nothing consumed
    assert not p.idle
    assert p.feed(head + b"5\r\nhel") == len(head) + 6
    assert p.body_chunks == [b"hel"]
    assert p.feed(b"lo\r\n0\r") == 4  # "0\r" is an incomplete chunk-size line
    assert p.feed(b"0\r\n\r\nHTTP/1.1") == 5  # stops after the message
    assert p.message_complete and p.idle
    assert b"".join(p.body_chunks) == b"hello"


def test_remaining_and_content_length() -> None:
    p = HTTPResponseParser()
    assert p.feed(OK + b"Content-Length: 10\r\n\r\nabc") == len(OK) + 25
    assert p.content_length == 10 and p.remaining == 7
    assert type(p.remaining) is int


def test_feed_with_an_explicit_length_takes_a_python_buffer() -> None:
    """The head and body that come together are sliced from the caller's buffer;
    a plain buffer with a length (only part of it valid) works as well as a
    pointer."""
    data = bytearray(OK + b"Content-Length: 2\r\n\r\nhiGARBAGE")
    p = HTTPResponseParser()
    assert p.feed(data, len(data) - 7) == len(data) - 7
    assert p.message_complete and p.body_chunks == [b"hi"]
    assert type(p.head_block) is bytes and type(p.body_chunks[0]) is bytes


# --- limits are enforced after a bounded number of bytes -------------------------------


def endless(prefix: bytes, unit: bytes, piece: int = 509):
    """``prefix`` then ``unit`` repeated forever, cut into ``piece``-byte pieces."""
    stream = prefix
    while True:
        while len(stream) < piece:
            stream += unit
        yield stream[:piece]
        stream = stream[piece:]


def bytes_until_error(limits: ParserLimits, stream, starts=None) -> Tuple[str, int]:
    p = HTTPResponseParser(limits)
    p.start(**(starts or {}))
    buf = b""
    fed = 0
    for piece in stream:
        fed += len(piece)
        buf += piece
        try:
            while buf:
                n = feed(p, buf)
                buf = buf[n:]
                if p.message_complete:
                    p.start(**(starts or {}))
                elif n == 0:
                    break
        except LimitExceeded as exc:
            return exc.code, fed
        assert fed < 10_000_000, "no limit was enforced"
    raise AssertionError("unreachable")


BIG = 1 << 30


@pytest.mark.parametrize(
    "limits, prefix, unit, code, bound",
    [
        (DEFAULT, b"HTTP/1.1 200 ", b"x", "HP_E_LINE_TOO_LONG", DEFAULT.max_line),
        (DEFAULT, OK + b"X: ", b"y", "HP_E_LINE_TOO_LONG", DEFAULT.max_line),
        (DEFAULT, OK, b"X: y\r\n", "HP_E_TOO_MANY_HEADERS", 7 * DEFAULT.max_headers),
        (ParserLimits(max_headers=BIG), OK, b"X: y\r\n", "HP_E_HEAD_TOO_LARGE", DEFAULT.max_head),
        (
            ParserLimits(max_headers=BIG, max_line=BIG),
            OK,
            b"X: y\r\n",
            "HP_E_HEAD_TOO_LARGE",
            DEFAULT.max_head,
        ),
        (ParserLimits(max_line=BIG), OK + b"X: ", b"y", "HP_E_HEAD_TOO_LARGE", DEFAULT.max_head),
        (
            DEFAULT,
            CHUNKED_HEAD + b"5;",
            b"a",
            "HP_E_CHUNK_LINE_TOO_LONG",
            len(CHUNKED_HEAD) + DEFAULT.max_chunk_line,
        ),
        (
            DEFAULT,
            CHUNKED_HEAD,
            b"0",
            "HP_E_CHUNK_LINE_TOO_LONG",
            len(CHUNKED_HEAD) + DEFAULT.max_chunk_line,
        ),
        (
            ParserLimits(max_headers=BIG),
            CHUNKED_HEAD + b"0\r\n",
            b"T: 1\r\n",
            "HP_E_TRAILERS_TOO_LARGE",
            len(CHUNKED_HEAD) + 3 + DEFAULT.max_trailers,
        ),
        (
            DEFAULT,
            CHUNKED_HEAD + b"0\r\n",
            b"T: 1\r\n",
            "HP_E_TOO_MANY_HEADERS",
            len(CHUNKED_HEAD) + 3 + 6 * (DEFAULT.max_headers + 1),
        ),
        (
            DEFAULT,
            CHUNKED_HEAD + b"0\r\nT: ",
            b"1",
            "HP_E_LINE_TOO_LONG",
            len(CHUNKED_HEAD) + 3 + DEFAULT.max_line,
        ),
        (
            DEFAULT,
            b"",
            b"HTTP/1.1 100 Continue\r\n\r\n",
            "GH_E_TOO_MANY_INTERIM",
            25 * (DEFAULT.max_interim + 1),
        ),
        (
            ParserLimits(max_line=100, max_head=1000),
            b"HTTP/1.1 200 ",
            b"x",
            "HP_E_LINE_TOO_LONG",
            100,
        ),
        (DEFAULT, b"", b"\r\n", "HP_E_HEAD_TOO_LARGE", DEFAULT.max_head),
    ],
    ids=[
        "status-line",
        "header-line",
        "header-count",
        "head-size",
        "head-size-no-line-limit",
        "head-size-one-line",
        "chunk-ext",
        "chunk-zeros",
        "trailer-size",
        "trailer-count",
        "trailer-line",
        "interim",
        "small-line",
        "empty-lines-before-status-line",
    ],
)
def test_limit_bounded(limits, prefix, unit, code, bound) -> None:
    piece = 509
    got, fed = bytes_until_error(limits, endless(prefix, unit, piece))
    assert got == code
    assert fed <= bound + piece, (fed, bound)


def test_limits_bytewise() -> None:
    """Byte by byte, a line limit trips exactly when the line reaches it."""
    p = HTTPResponseParser(ParserLimits(max_line=32))
    data = b"HTTP/1.1 200 " + b"x" * 100
    buf = b""
    for i in range(len(data)):
        buf += data[i : i + 1]
        try:
            buf = buf[feed(p, buf) :]
        except LimitExceeded as exc:
            assert exc.code == "HP_E_LINE_TOO_LONG"
            assert i + 1 == 32  # 32 bytes without LF: the line cannot end within 32
            return
    raise AssertionError("no limit")
