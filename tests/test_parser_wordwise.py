"""The parser's word-at-a-time paths, byte by byte.

Field values are checked eight bytes at a time until a word holds a byte below SP or
DEL, and the framing names and list elements (Content-Length, Transfer-Encoding,
Connection; chunked, close, keep-alive; and the names noted for the agents,
Content-Encoding, Set-Cookie and Set-Cookie2) are compared eight bytes at a time with
their case folded by OR 0x20. Both are shortcuts whose edge cases sit at word boundaries and
at bytes that fold onto a letter, so these tests put every byte value at every position
of values and names of lengths around the word size, and compare the outcome with the
rule written out in Python.
"""

from __future__ import annotations

from typing import List, Optional

import pytest
from test_parser import OK, drive

from geventhttpclient._parser import F_CODED, F_COOKIE, F_COOKIE2, HTTPResponseParser

TCHARS = b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
LENGTHS = (1, 2, 7, 8, 9, 15, 16, 17, 23, 24, 25)


def value_byte_allowed(b: int) -> bool:
    """RFC 9110 5.5: field-value bytes are HTAB, SP, VCHAR and obs-text."""
    return b == 0x09 or 0x20 <= b <= 0x7E or b >= 0x80


def expected_value_error(value: bytes) -> Optional[str]:
    for b in value:
        if not value_byte_allowed(b):
            return "HP_E_LINE_ENDING" if b == 0x0D else "HP_E_HEADER_VALUE"
    return None


@pytest.mark.parametrize("length", LENGTHS)
def test_every_byte_at_every_position_of_a_value(length: int) -> None:
    for pos in range(length):
        for b in range(256):
            if b == 0x0A:  # LF ends the line: another message shape, tested elsewhere
                continue
            value = bytearray(b"v" * length)
            value[pos] = b
            value = bytes(value)
            out = drive([OK + b"X-Test: " + value + b"\r\nContent-Length: 0\r\n\r\n"])
            want = expected_value_error(value)
            if want is None:
                assert out.error is None, (length, pos, b, out.error)
                got = dict(out.messages[0].headers)["X-Test"]
                assert got == value.strip(b" \t").decode("latin-1"), (length, pos, b)
            else:
                assert out.error is not None and out.error[1] == want, (length, pos, b, out)


def test_two_bad_bytes_and_tabs_across_words() -> None:
    """A clean word after one that needed the byte loop, and a tab in each word."""
    tabbed = b"\t".join([b"abcdefg"] * 5)
    out = drive([OK + b"X: " + tabbed + b"\r\nContent-Length: 0\r\n\r\n"])
    assert out.error is None and dict(out.messages[0].headers)["X"] == tabbed.decode()
    for pos in range(len(tabbed)):
        bad = bytearray(tabbed)
        bad[pos] = 0x7F
        out = drive([OK + b"X: " + bytes(bad) + b"\r\nContent-Length: 0\r\n\r\n"])
        assert out.error is not None and out.error[1] == "HP_E_HEADER_VALUE", pos


def variants(word: bytes) -> List[bytes]:
    """Every one-byte change of ``word`` to another tchar that is not the same
    letter in the other case."""
    out = []
    for i, orig in enumerate(word):
        for c in TCHARS:
            if bytes([c]).lower() != bytes([orig]).lower():
                out.append(word[:i] + bytes([c]) + word[i + 1 :])
    return out


def cases_of(word: bytes) -> List[bytes]:
    """Some mixed-case spellings of ``word``, all of which must match."""
    return [
        word,
        word.upper(),
        word.title(),
        bytes(c ^ 0x20 if i % 2 and 0x61 <= c <= 0x7A else c for i, c in enumerate(word)),
    ]


def test_content_length_name_in_any_case_and_no_near_miss() -> None:
    for name in cases_of(b"content-length"):
        msg = drive([OK + name + b": 3\r\n\r\nabcHTTP"], eof=False).messages[0]
        assert (msg.content_length, msg.body, msg.keep_alive) == (3, b"abc", True), name
    for name in variants(b"content-length"):
        out = drive([OK + name + b": 3\r\n\r\nabc"])
        msg = out.messages[0]
        assert out.error is None and msg.content_length is None, name
        assert (msg.body, msg.keep_alive) == (b"abc", False), name  # read to the close


def test_transfer_encoding_name_and_chunked_in_any_case_and_no_near_miss() -> None:
    body = b"3\r\nabc\r\n0\r\n\r\n"
    for name in cases_of(b"transfer-encoding"):
        for coding in cases_of(b"chunked"):
            out = drive([OK + name + b": " + coding + b"\r\n\r\n" + body], eof=False)
            assert out.messages[0].chunked and out.messages[0].body == b"abc", (name, coding)
    for name in variants(b"transfer-encoding"):
        msg = drive([OK + name + b": chunked\r\n\r\n" + body]).messages[0]
        assert not msg.chunked and msg.body == body, name  # an ordinary field
    for coding in variants(b"chunked"):
        msg = drive([OK + b"Transfer-Encoding: " + coding + b"\r\n\r\n" + body]).messages[0]
        # another coding last: the body runs to the close, undecoded
        assert not msg.chunked and msg.body == body and not msg.keep_alive, coding


def test_connection_name_and_tokens_in_any_case_and_no_near_miss() -> None:
    ok10 = b"HTTP/1.0 200 OK\r\n"
    for name in cases_of(b"connection"):
        for token in cases_of(b"close"):
            msg = drive([OK + name + b": " + token + b"\r\nContent-Length: 0\r\n\r\n"])
            assert not msg.messages[0].keep_alive, (name, token)
        for token in cases_of(b"keep-alive"):
            out = drive([ok10 + name + b": " + token + b"\r\nContent-Length: 0\r\n\r\n"])
            assert out.messages[0].keep_alive, (name, token)
    for name in variants(b"connection"):
        out = drive([OK + name + b": close\r\nContent-Length: 0\r\n\r\n"])
        assert out.messages[0].keep_alive, name
    for token in variants(b"close"):
        out = drive([OK + b"Connection: " + token + b"\r\nContent-Length: 0\r\n\r\n"])
        assert out.messages[0].keep_alive, token
    for token in variants(b"keep-alive"):
        out = drive([ok10 + b"Connection: " + token + b"\r\nContent-Length: 0\r\n\r\n"])
        assert not out.messages[0].keep_alive, token


# -- the fields the parser notes for the agents (HP_F_CODED, HP_F_COOKIE, HP_F_COOKIE2) --

FLAGGED = {b"content-encoding": F_CODED, b"set-cookie": F_COOKIE, b"set-cookie2": F_COOKIE2}


def head_flags(head: bytes, *more: bytes) -> int:
    """The parser's ``field_flags`` after ``head`` (and then each of ``more``)."""
    parser = HTTPResponseParser()
    for data in (head, *more):
        parser.feed(data)
    return parser.field_flags


def test_noted_names_in_any_case_and_no_near_miss() -> None:
    for name, flag in FLAGGED.items():
        for spelling in cases_of(name):
            assert head_flags(OK + spelling + b": x\r\nContent-Length: 0\r\n\r\n") == flag
        for near in variants(name):
            assert head_flags(OK + near + b": x\r\nContent-Length: 0\r\n\r\n") == 0, near
    every = b"".join(name + b": x\r\n" for name in FLAGGED)
    assert head_flags(OK + every + b"Content-Length: 0\r\n\r\n") == F_CODED | F_COOKIE | F_COOKIE2


def test_noted_names_only_as_fields_of_the_final_head() -> None:
    # in a value, in an interim response's head, in the trailers: not noted
    value = OK + b"X-Reason: content-encoding: gzip\r\nContent-Length: 0\r\n\r\n"
    assert head_flags(value) == 0
    interim = b"HTTP/1.1 103 Early Hints\r\nSet-Cookie: a=1\r\n\r\n"
    assert head_flags(interim + OK + b"Content-Length: 0\r\n\r\n") == 0
    chunked = OK + b"Transfer-Encoding: chunked\r\n\r\n"
    assert head_flags(chunked, b"3\r\nabc\r\n0\r\nSet-Cookie: a=1\r\n\r\n") == 0
    # and the next response on the connection starts from nothing
    parser = HTTPResponseParser()
    parser.feed(OK + b"Content-Encoding: gzip\r\nContent-Length: 0\r\n\r\n")
    assert parser.field_flags == F_CODED
    parser.start()
    parser.feed(OK + b"Content-Length: 0\r\n\r\n")
    assert parser.field_flags == 0
