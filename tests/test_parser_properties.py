"""Property tests of the C response parser (through geventhttpclient._parser).

1. Valid responses (random status, reason, headers, Content-Length / chunked /
   close-delimited bodies with random chunking, extensions and trailers, several
   responses on one connection) parse to what was generated, however the bytes are
   split into feeds.
2. Arbitrary mutations of valid responses, and random bytes, fed in random pieces
   either parse or raise HTTPParseError (or a subclass, or UnexpectedResponse for a
   101): never another exception, never a hang. The outcome does not depend on the
   split points (when both feedings hit a size limit, which limit trips first may
   differ, so only the class is compared then).
"""

from __future__ import annotations

import re
from typing import Dict, List, Optional, Sequence, Tuple

from conftest import feed
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geventhttpclient._parser import HTTPResponseParser, ParserLimits
from geventhttpclient.exceptions import HTTPParseError, LimitExceeded, UnexpectedResponse

Msg = Tuple[int, str, str, tuple, bytes, tuple, bool, tuple]
Outcome = Tuple[Tuple[Msg, ...], Optional[Tuple[type, Optional[str]]], bytes]

DEFAULT = ParserLimits()
SETTINGS = dict(
    deadline=None,  # no flaky timing failures on loaded machines; inputs are small
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def snapshot(p: HTTPResponseParser) -> Msg:
    return (
        p.status_code,
        p.reason,
        p.version,
        tuple(p.header_pairs),
        b"".join(p.body_chunks),
        tuple(p.trailer_pairs),
        p.keep_alive,
        tuple(p.interim),
    )


def drive(
    pieces: Sequence[bytes],
    starts: Sequence[Dict[str, bool]] = (),
    limits: ParserLimits = DEFAULT,
) -> Outcome:
    """Feed the pieces following the re-presentation contract, then close."""
    p = HTTPResponseParser(limits)
    messages: List[Msg] = []

    def start_next() -> None:
        k = len(messages)
        p.start(**(starts[k] if k < len(starts) else {}))

    start_next()
    buf = b""
    try:
        for i, piece in enumerate(pieces):
            buf += piece
            while buf:
                n = feed(p, buf)
                assert 0 <= n <= len(buf)
                buf = buf[n:]
                if p.message_complete:
                    messages.append(snapshot(p))
                    if p.upgraded:
                        return tuple(messages), None, buf + b"".join(pieces[i + 1 :])
                    start_next()
                elif n == 0:
                    break
        if not (p.idle and messages and not p.interim and not buf):
            p.finish()
            messages.append(snapshot(p))
    except (HTTPParseError, UnexpectedResponse) as exc:
        return tuple(messages), (type(exc), getattr(exc, "code", None)), b""
    return tuple(messages), None, buf


def split_at(data: bytes, points: Sequence[int]) -> List[bytes]:
    cuts = sorted({min(max(x, 0), len(data)) for x in points})
    out, prev = [], 0
    for c in cuts:
        out.append(data[prev:c])
        prev = c
    out.append(data[prev:])
    return out


def same_outcome(a: Outcome, b: Outcome) -> bool:
    if a == b:
        return True
    ea, eb = a[1], b[1]
    return (
        ea is not None
        and eb is not None
        and ea[0] is LimitExceeded
        and eb[0] is LimitExceeded
        and a[0] == b[0]
    )


# --- generating valid responses ----------------------------------------------------------

TCHAR = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
FRAMING = {"content-length", "transfer-encoding", "connection"}
VCHAR_OBS = [chr(c) for c in range(0x21, 0x7F)] + [chr(c) for c in range(0x80, 0x100)]

names = st.text(TCHAR, min_size=1, max_size=12).filter(lambda n: n.lower() not in FRAMING)
# field values: no leading/trailing whitespace (the parser trims it)
values = st.text(st.sampled_from(VCHAR_OBS + [" ", "\t"]), max_size=20).map(
    lambda v: v.strip(" \t")
)
reasons = st.text(st.sampled_from(VCHAR_OBS + [" ", "\t"]), max_size=20)
headers = st.lists(st.tuples(names, values), max_size=6)
ows = st.sampled_from(["", " ", "\t", "  "])
# after a Transfer-Encoding value no tab: llhttp reads "chunked<TAB>" as another coding,
# so the parser refuses it (hparser.h)
ows_te_end = st.sampled_from(["", " ", "  "])


QDTEXT = ["a", " ", "\t", '\\"', "\\\\", ";", "=", ",", "\xe9", "\\a"]


@st.composite
def chunk_ext(draw) -> str:
    parts = []
    for _ in range(draw(st.integers(0, 2))):
        name = draw(st.text(TCHAR, min_size=1, max_size=5))
        kind = draw(st.integers(0, 2))
        if kind == 0:
            parts.append(f"{draw(ows)};{draw(ows)}{name}")
        elif kind == 1:
            tok = draw(st.text(TCHAR, min_size=1, max_size=5))
            parts.append(f";{name}{draw(ows)}={draw(ows)}{tok}")
        else:
            q = "".join(draw(st.lists(st.sampled_from(QDTEXT), max_size=6)))
            parts.append(f';{name}="{q}"')
    return "".join(parts)


@st.composite
def response(draw, last: bool) -> Tuple[bytes, Msg, Dict[str, bool]]:
    """One valid response and the Msg it must parse to. Only the ``last`` response
    on a connection may be close-delimited."""
    version = draw(st.sampled_from(["HTTP/1.1", "HTTP/1.0"]))
    status = draw(st.sampled_from([200, 201, 204, 206, 301, 304, 404, 418, 500, 503, 599]))
    reason = draw(reasons)
    pairs = list(draw(headers))
    body = draw(st.binary(max_size=300))
    no_body = draw(st.booleans()) if status not in (204, 304) else False
    framings = ["cl"]
    if version == "HTTP/1.1":
        framings.append("chunked")
    if last:
        framings.append("eof")
    framing = draw(st.sampled_from(framings))
    conn = draw(st.sampled_from([None, "close", "keep-alive", "Keep-Alive, foo"]))
    if conn is not None:
        pairs.insert(draw(st.integers(0, len(pairs))), ("Connection", conn))
    if framing == "eof" and (no_body or status in (204, 304)):
        framing = "cl"
    trailers: List[Tuple[str, str]] = []
    chunks = b""
    if framing == "cl":
        pairs.insert(draw(st.integers(0, len(pairs))), ("Content-Length", str(len(body))))
    elif framing == "chunked":
        te = draw(st.sampled_from(["chunked", "gzip, chunked", "Chunked"]))
        pairs.insert(draw(st.integers(0, len(pairs))), ("Transfer-Encoding", te))
        cuts = sorted(draw(st.lists(st.integers(0, len(body)), max_size=5)))
        prev = 0
        for c in [*cuts, len(body)]:
            part = body[prev:c]
            prev = c
            if part:
                size = draw(st.sampled_from(["{:x}", "{:X}", "00{:x}"])).format(len(part))
                chunks += f"{size}{draw(chunk_ext())}\r\n".encode("latin-1") + part + b"\r\n"
        chunks += f"0{draw(chunk_ext())}\r\n".encode("latin-1")
        trailers = draw(headers)
        for n, v in trailers:
            chunks += f"{n}:{draw(ows)}{v}{draw(ows)}\r\n".encode("latin-1")
        chunks += b"\r\n"
    head = f"{version} {status} {reason}\r\n"
    for n, v in pairs:
        end = ows_te_end if n == "Transfer-Encoding" else ows
        head += f"{n}:{draw(ows)}{v}{draw(end)}\r\n"
    head += "\r\n"
    data = head.encode("latin-1")
    has_body = not no_body and status not in (204, 304)
    if has_body:
        data += chunks if framing == "chunked" else body
    if framing == "eof":
        keep_alive = False
    else:
        tokens = [t.strip().lower() for t in (conn or "").split(",")]
        if version == "HTTP/1.1":
            keep_alive = "close" not in tokens
        else:
            keep_alive = "keep-alive" in tokens and "close" not in tokens
    msg = (
        status,
        reason,
        version,
        tuple(pairs),
        body if has_body else b"",
        tuple(trailers) if has_body else (),
        keep_alive,
        (),
    )
    return data, msg, {"no_body": no_body}


@st.composite
def connection(draw):
    """Several responses back to back on one connection (some after 1xx)."""
    n = draw(st.integers(1, 3))
    data, msgs, starts = b"", [], []
    for i in range(n):
        interim = draw(st.lists(st.sampled_from([100, 102, 103]), max_size=2))
        for code in interim:
            data += f"HTTP/1.1 {code} Interim\r\nX-I: {code}\r\n\r\n".encode()
        raw, msg, start = draw(response(last=i == n - 1))
        data += raw
        msgs.append(msg[:7] + (tuple(interim),))
        starts.append(start)
    return data, tuple(msgs), starts


splits = st.lists(st.integers(0, 5000), max_size=12)


@settings(max_examples=400, **SETTINGS)
@given(connection(), splits, st.data())
def test_valid_responses_any_split(conn, points, data) -> None:
    raw, msgs, starts = conn
    expected = (msgs, None, b"")
    assert drive([raw], starts) == expected
    pieces = split_at(raw, [p % (len(raw) + 1) for p in points])
    assert drive(pieces, starts) == expected
    # byte by byte for small inputs
    if len(raw) < 400 and data.draw(st.booleans()):
        assert drive([raw[i : i + 1] for i in range(len(raw))], starts) == expected


# --- hostile input ---------------------------------------------------------------------

INTERESTING = [
    b"\r",
    b"\n",
    b"\r\n",
    b"\x00",
    b" ",
    b"\t",
    b":",
    b";",
    b"=",
    b'"',
    b"\\",
    b",",
    b"0",
    b"F",
    b"\x7f",
    b"\xff",
    b"chunked",
    b"Content-Length: ",
    b"Transfer-Encoding: ",
    b"\r\n\r\n",
    b"HTTP/1.1 ",
    b"101",
    b"100",
    b"9" * 20,
]


@st.composite
def mutated(draw) -> bytes:
    raw = bytearray(draw(connection())[0])
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.integers(0, 3))
        at = draw(st.integers(0, len(raw)))
        if op == 0 and raw:  # replace a byte
            at = min(at, len(raw) - 1)
            raw[at] = draw(st.integers(0, 255))
        elif op == 1:  # insert something
            raw[at:at] = draw(st.sampled_from(INTERESTING) | st.binary(min_size=1, max_size=4))
        elif op == 2:  # delete a range
            raw[at : at + draw(st.integers(1, 8))] = b""
        else:  # duplicate a range
            raw[at:at] = raw[at : at + draw(st.integers(1, 40))]
    return bytes(raw)


hostile = st.one_of(
    mutated(),
    st.binary(max_size=200),
    st.binary(max_size=200).map(lambda b: b"HTTP/1.1 200 OK\r\n" + b),
    st.lists(st.sampled_from(INTERESTING), max_size=30).map(
        lambda parts: b"HTTP/1.1 200 OK\r\n" + b"".join(parts)
    ),
)

limit_sets = st.sampled_from(
    [
        ParserLimits(),
        ParserLimits(
            max_line=24,
            max_headers=3,
            max_head=96,
            max_chunk_line=8,
            max_trailers=16,
            max_interim=1,
        ),
        ParserLimits(
            max_line=64,
            max_headers=5,
            max_head=256,
            max_chunk_line=16,
            max_trailers=48,
            max_interim=2,
        ),
    ]
)
start_args = st.lists(
    st.fixed_dictionaries({"no_body": st.booleans(), "tunnel": st.booleans()}), max_size=3
)


@settings(max_examples=1000, **SETTINGS)
@given(hostile, splits, limit_sets, start_args)
def test_hostile_bytes_split_invariant(raw, points, limits, starts) -> None:
    whole = drive([raw], starts, limits)  # only our exceptions escape drive()
    pieces = split_at(raw, [p % (len(raw) + 1) for p in points])
    split = drive(pieces, starts, limits)
    assert same_outcome(whole, split), (whole, split)
    if whole[1] is not None:
        assert issubclass(whole[1][0], (HTTPParseError, UnexpectedResponse))
        if whole[1][0] is not UnexpectedResponse:
            assert re.fullmatch(r"(HP|GH)_E_[A-Z_]+", whole[1][1] or "")


@settings(max_examples=150, **SETTINGS)
@given(st.binary(min_size=1, max_size=120), limit_sets)
def test_hostile_bytes_bytewise(raw, limits) -> None:
    whole = drive([raw], (), limits)
    bytewise = drive([raw[i : i + 1] for i in range(len(raw))], (), limits)
    assert same_outcome(whole, bytewise), (whole, bytewise)
