"""Request heads and bodies for HTTP/1.1, as bytes. No sockets here.

Everything a caller hands us is validated before a byte is sent: a method and header
names are tokens (RFC 9110 5.6.2), values carry no CR, LF, NUL or other control bytes
(RFC 9110 5.5), the target has no whitespace or control bytes (RFC 9112 3.2). Those
are the bytes that turn one request into two on the wire (header injection, request
smuggling), so we refuse them with :class:`HeaderInjectionError`.

The client's own default headers are validated and encoded once, when the client is
made (:class:`HeadTemplate`); a request without headers of its own then costs one
bytes join.
"""

from __future__ import annotations

import io
import os
import re
from typing import (
    IO,
    AbstractSet,
    Any,
    Dict,
    Iterable,
    Iterator,
    List,
    Optional,
    Set,
    Tuple,
    Union,
)

from .exceptions import HeaderInjectionError, RequestError
from .header import FieldName, HeadersDataType

__all__ = [
    "HeadTemplate",
    "RequestBody",
    "prepare_body",
    "host_header",
    "iter_fields",
    "check_fields",
    "IDEMPOTENT_METHODS",
    "BODY_METHODS",
    "FRAMING_NAMES",
    "SINGLE_FIELDS",
    "refuse_repeated",
    "file_span",
    "validate_version",
]

_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
_VALUE = re.compile(rb"[\t\x20-\x7e\x80-\xff]*\Z")
_TARGET = re.compile(rb"[\x21-\x7e\x80-\xff]+\Z")
_VERSION = re.compile(r"HTTP/1\.[01]\Z")

# RFC 9110 9.2.2: these may be repeated without changing the outcome.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})
# RFC 9110 9.3: methods for which enclosed content has a defined meaning.
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
# The fields that say how a body is delimited (RFC 9112 6).
FRAMING_NAMES = frozenset({b"content-length", b"transfer-encoding"})
# Fields a request carries at most once: two Host lines route to two places and two
# framing lines frame the body two ways (RFC 9112 3.2, 6.3: request smuggling).
SINGLE_FIELDS = frozenset({b"host"}) | FRAMING_NAMES


def refuse_repeated(fields: List[Tuple[bytes, bytes]]) -> None:
    """Raise :class:`HeaderInjectionError` if a field of :data:`SINGLE_FIELDS` is
    given more than once. Callers run it only when some name repeats (a set of the
    names is shorter than the list), so a request without repeats pays nothing."""
    seen = set()
    for name, _ in fields:
        low = name.lower()
        if low in SINGLE_FIELDS:
            if low in seen:
                raise HeaderInjectionError(f"{name!r} given more than once")
            seen.add(low)


Field = Tuple[bytes, bytes]
HeadersLike = Optional[HeadersDataType]
#: A block of a streamed body; str is sent as UTF-8.
Chunk = Union[bytes, bytearray, memoryview, str]
#: A request body: bytes, str (sent as UTF-8), a file (sent from where it stands),
#: or an iterable of blocks (sent chunked unless a Content-Length is given).
BodyLike = Union[bytes, bytearray, memoryview, str, IO[bytes], io.IOBase, Iterable[Chunk], None]
# A (name, value) pair as a caller gave it; the key of HeadTemplate.checked.
_RawPair = Tuple[FieldName, object]


def _as_bytes(what: str, value: object) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    if not isinstance(value, str):
        value = str(value)
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        raise RequestError(f"{what} {value!r} is not latin-1: encode it first") from None


def check_method(method: str) -> bytes:
    """The method as bytes, or :class:`HeaderInjectionError` if it is not a token."""
    raw = _as_bytes("method", method)
    if not _TOKEN.match(raw):
        raise HeaderInjectionError(f"invalid HTTP method {method!r}")
    return raw


def check_target(target: str) -> bytes:
    """The request target as bytes; whitespace and control bytes are refused."""
    raw = _as_bytes("request target", target)
    if not _TARGET.match(raw):
        raise HeaderInjectionError(f"invalid request target {target!r}")
    return raw


def check_field(name: object, value: object) -> Tuple[bytes, bytes]:
    """One header field as bytes, validated."""
    n = _as_bytes("header name", name)
    v = _as_bytes("header value", value)
    if not _TOKEN.match(n):
        raise HeaderInjectionError(f"invalid header name {name!r}")
    if not _VALUE.match(v):
        raise HeaderInjectionError(f"invalid value for header {name!r}: {value!r}")
    return n, v.strip(b" \t")


def validate_version(version: str) -> bytes:
    """``HTTP/1.1`` or ``HTTP/1.0``; anything else is a :class:`RequestError`."""
    if not isinstance(version, str) or not _VERSION.match(version):
        raise RequestError(f"unsupported HTTP version {version!r}: use 'HTTP/1.1' or 'HTTP/1.0'")
    return version.encode("ascii")


def host_header(host: str, port: int, default_port: int) -> str:
    """The Host value: brackets around IPv6 literals, the port unless it is the default."""
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return host if port == default_port else f"{host}:{port}"


def iter_fields(headers: HeadersLike) -> Iterator[_RawPair]:
    """One pair per field line, from a mapping, a ``Headers`` (multi-valued) or a
    list of pairs.

    A list or tuple value is one field line per element, as 2.x's ``Headers`` stored
    it: ``{"X-Multi": ["a", "b"]}`` is ``X-Multi: a`` and ``X-Multi: b``, never the
    text ``['a', 'b']``. Every head built (client, httplib, defaults) takes its
    field lines from here; :func:`check_fields` skips the generator only for
    plain single-valued pairs and comes here for anything else.
    """
    if headers is None:
        return iter(())
    items = getattr(headers, "items", None)
    return _field_lines(items() if items is not None else headers)  # type: ignore[arg-type]


def _field_lines(pairs: Iterable[_RawPair]) -> Iterator[_RawPair]:
    for name, value in pairs:
        if value.__class__ is str or not isinstance(value, (list, tuple)):
            yield name, value
        else:
            for one in value:
                if isinstance(one, (list, tuple)):
                    raise RequestError(f"header {name!r}: a list value must hold values, not lists")
                yield name, one


FIELD_CACHE_SIZE = 256
"""Validated str fields kept per client: API clients repeat the same few headers
(credentials, Accept, Content-Type), and checking one costs two regex matches and
an encode; a hit costs a dict lookup."""


def check_fields(headers: HeadersLike, cache: Dict[_RawPair, Field]) -> List[Field]:
    """Every field line of ``headers`` validated, as (name, value) bytes pairs.

    ``cache`` maps (name, value) str pairs already checked to their result; it
    is filled here and emptied when full. The pairs are looked up as the mapping
    or list gives them, without :func:`iter_fields`' generator; a pair that cannot
    be (an unhashable one, or a list or tuple value, which is several field lines)
    sends the whole set through :func:`iter_fields` and :func:`check_field`.

    Raises :class:`HeaderInjectionError`.
    """
    items = getattr(headers, "items", None)
    if items is not None:
        pairs = items()
    elif isinstance(headers, (list, tuple)):
        pairs = headers
    else:  # a one-shot iterable: keep it, the slow path may have to start over
        pairs = headers = list(headers)  # type: ignore[arg-type]
    try:
        return [cache.get(pair) or _check_and_remember(pair, cache) for pair in pairs]
    except TypeError:
        return [check_field(n, v) for n, v in iter_fields(headers)]


def _check_and_remember(pair: _RawPair, cache: Dict[_RawPair, Field]) -> Field:
    name, value = pair
    if isinstance(value, (list, tuple)):
        raise TypeError("several field lines")  # check_fields takes the slow path
    field = check_field(name, value)
    # Only str pairs: 1 == True, so other keys could alias another field's text.
    if name.__class__ is str and value.__class__ is str:
        if len(cache) >= FIELD_CACHE_SIZE:
            cache.clear()
        cache[pair] = field
    return field


def closes_connection(fields: List[Field], http10: bool) -> bool:
    """Whether a request with ``fields`` ends its connection (RFC 9112 9.3, 9.6):
    a ``close`` option in Connection, or HTTP/1.0 without ``keep-alive``.

    The sender of ``close`` closes after the response even when the server
    answers with keep-alive, so such a connection never goes back to a pool.
    """
    tokens: Set[bytes] = set()
    for name, value in fields:
        if name.lower() == b"connection":
            tokens.update(t.strip().lower() for t in value.split(b","))
    if b"close" in tokens:
        return True
    return http10 and b"keep-alive" not in tokens


class HeadTemplate:
    """The request head parts that stay the same for every request of a client.

    ``fields`` are the default headers, validated and encoded once; a request's own
    headers replace defaults of the same name (case-insensitively). ``framing``
    holds default Content-Length/Transfer-Encoding fields apart from them (2.x let
    a client default to ``Transfer-Encoding: chunked``): a request decides its
    framing from its body (:func:`prepare_body`), as if it had given them itself.
    ``checked`` is the client's cache for :func:`check_fields`.
    """

    __slots__ = (
        "version",
        "http10",
        "fields",
        "names",
        "block",
        "framing",
        "checked",
        "closing",
    )

    def __init__(self, version: str, defaults: HeadersLike) -> None:
        raw = validate_version(version)
        self.version = b" " + raw + b"\r\n"
        self.http10 = raw == b"HTTP/1.0"
        self.fields: List[Field] = []
        self.framing: List[Field] = []
        for name, value in iter_fields(defaults):
            field = check_field(name, value)
            if field[0].lower() in FRAMING_NAMES:
                self.framing.append(field)
            else:
                self.fields.append(field)
        self.names = frozenset(n.lower() for n, _ in self.fields)
        self.block = b"".join(n + b": " + v + b"\r\n" for n, v in self.fields)
        self.checked: Dict[_RawPair, Field] = {}
        self.closing = closes_connection(self.fields, self.http10)
        """A request with only the default fields asks to close its connection."""

    def closes(self, own: List[Field], own_names: AbstractSet[bytes]) -> bool:
        """Whether a request with its own fields ``own`` asks to close its
        connection: its own Connection field, or else the default's, decides."""
        if b"connection" not in own_names:
            return self.closing
        return closes_connection(own, self.http10)

    def build(
        self,
        method: bytes,
        target: bytes,
        own: List[Tuple[bytes, bytes]],
        extra: bytes = b"",
        own_names: Optional[AbstractSet[bytes]] = None,
    ) -> bytes:
        """The head for one request.

        ``own`` are the request's fields, already validated by :func:`check_field`
        (``own_names`` their lower-case names, when the caller has them); they
        replace defaults of the same name. ``extra`` (framing headers computed from
        the body) comes last.
        """
        if not own:
            return b"".join((method, b" ", target, self.version, self.block, extra, b"\r\n"))
        if own_names is None:
            own_names = {n.lower() for n, _ in own}
        parts = [method, b" ", target, self.version]
        if own_names & self.names:
            fields = [f for f in self.fields if f[0].lower() not in own_names] + own
        else:
            fields = self.fields + own
        for n, v in fields:
            parts.append(n + b": " + v + b"\r\n")
        parts.append(extra)
        parts.append(b"\r\n")
        return b"".join(parts)


class RequestBody:
    """A prepared body: what to send after the head and how it is framed.

    ``kind`` is ``"none"``, ``"bytes"``, ``"file"`` (sized; on plain sockets the
    kernel sends it from the file), ``"chunked"`` (an iterator of raw blocks, framed on
    the way out) or ``"stream"`` (an iterator of raw blocks whose total the caller gave as
    Content-Length; a mismatch is an error and the connection is not reused).
    ``replayable`` says whether the same body can be sent again on a retry.
    """

    __slots__ = ("kind", "data", "length", "file", "start", "chunks", "replayable")

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.data = b""
        self.length: Optional[int] = None
        self.file: Any = None
        self.start = 0
        self.chunks: Optional[Iterable[Chunk]] = None
        self.replayable = True

    def rewind(self) -> bool:
        """Make the body ready to be sent again; False if it cannot be."""
        if self.kind == "file":
            try:
                self.file.seek(self.start)
                return True
            except (AttributeError, OSError, ValueError):
                return False
        return self.replayable


NO_BODY = RequestBody("none")


def file_span(body: Any) -> Optional[Tuple[int, int]]:
    """(start, length) for a regular file with a usable position, else None: what
    is sent of it (from where it stands to its end) and where a resend starts."""
    try:
        fd = body.fileno()
        st = os.fstat(fd)
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return None
    import stat

    if not stat.S_ISREG(st.st_mode):
        return None
    try:
        start = body.tell()
    except (AttributeError, OSError, ValueError):
        return None
    return start, max(0, st.st_size - start)


def _framing_fields(fields: List[Field]) -> Tuple[Optional[bytes], Optional[bytes], List[Field]]:
    """The caller's Content-Length and Transfer-Encoding (lower-cased) as
    :func:`prepare_body` will honour them, and the fields left to send."""
    user_cl: Optional[bytes] = None
    user_te: Optional[bytes] = None
    for n, v in fields:
        ln = n.lower()
        if ln == b"content-length":
            if user_cl is not None:
                raise HeaderInjectionError("Content-Length given more than once")
            user_cl = v
        elif ln == b"transfer-encoding":
            if user_te is not None:
                raise HeaderInjectionError("Transfer-Encoding given more than once")
            user_te = v.lower()
    if user_te == b"identity":
        return user_cl, None, _without(fields, b"transfer-encoding")
    if user_te is not None:
        if not user_te.endswith(b"chunked"):
            raise RequestError(
                f"Transfer-Encoding {user_te!r} does not end in chunked: the body cannot be framed"
            )
        if user_cl is not None:
            return None, user_te, _without(fields, b"content-length")
    return user_cl, user_te, fields


def _without(fields: List[Field], name: bytes) -> List[Field]:
    return [f for f in fields if f[0].lower() != name]


def prepare_body(
    method: str,
    body: BodyLike,
    fields: List[Field],
    names: AbstractSet[bytes],
    http10: bool = False,
) -> Tuple[RequestBody, bytes, List[Field]]:
    """Decide the framing of ``body``: return it, the framing header bytes to add,
    and the request's ``fields`` (validated pairs, lower-case ``names``) to send.

    The caller's framing fields are honoured where they make sense and otherwise
    refused, never sent as a lie: a ``Content-Length`` must match a body of known
    length; a ``Transfer-Encoding`` must end in ``chunked``, except ``identity``
    (no coding, as HTTP/1.0 and 2.x callers say it), which is dropped and the body
    framed by its length; with ``chunked``, a ``Content-Length`` is dropped, as
    RFC 9112 6.3 lets Transfer-Encoding override it and 6.2 forbids sending both.
    ``fields`` comes back as the same list unless a field was dropped.

    Raises :class:`RequestError` for framing that cannot be sent: a contradicting
    or malformed ``Content-Length``, a coding other than chunked, or chunked
    transfer coding on HTTP/1.0 (``http10``), which has none.
    """
    user_cl: Optional[bytes] = None
    user_te: Optional[bytes] = None
    if b"content-length" in names or b"transfer-encoding" in names:
        user_cl, user_te, fields = _framing_fields(fields)
    if isinstance(body, str):
        body = body.encode("utf-8")
    rb: RequestBody
    if body is None or (isinstance(body, (bytes, bytearray, memoryview)) and len(body) == 0):
        if user_te is not None:
            rb = RequestBody("chunked")
            rb.chunks = ()
        else:
            rb = NO_BODY
            if user_cl is not None and user_cl != b"0":
                raise RequestError(f"Content-Length {user_cl!r} set but the body is empty")
            if user_cl is None and method in BODY_METHODS:
                return rb, b"Content-Length: 0\r\n", fields
            return rb, b"", fields
    elif isinstance(body, (bytes, bytearray, memoryview)):
        if user_te is not None:
            rb = RequestBody("chunked")
            rb.chunks = (bytes(body),)
        else:
            rb = RequestBody("bytes")
            rb.data = bytes(body) if not isinstance(body, bytes) else body
            rb.length = len(rb.data)
    else:
        sized = None if user_te is not None else file_span(body)
        if sized is not None:
            rb = RequestBody("file")
            rb.file = body
            rb.start, rb.length = sized
        elif hasattr(body, "read"):
            rb = RequestBody("chunked")
            rb.chunks = _read_blocks(body)
            rb.file = body
            try:
                rb.start = body.tell()  # type: ignore[attr-defined]  # a reader without it: except
            except (AttributeError, OSError, ValueError):
                rb.replayable = False
        else:
            rb = RequestBody("chunked")
            rb.chunks = body
            rb.replayable = isinstance(body, (list, tuple))

    if rb.kind == "chunked":
        if user_cl is not None:
            if not user_cl.isdigit():
                raise RequestError(f"malformed Content-Length {user_cl!r}")
            # The caller knows the size of its stream (a multipart body, a proxy
            # relaying a sized upload): send the blocks raw, counting them.
            rb.kind = "stream"
            rb.length = int(user_cl)
            return rb, b"", fields
        if http10:
            raise RequestError(
                "chunked transfer coding needs HTTP/1.1: give HTTP/1.0 a sized body "
                "(bytes, a file) or a Content-Length"
            )
        return rb, (b"" if user_te is not None else b"Transfer-Encoding: chunked\r\n"), fields
    assert rb.length is not None
    if user_cl is not None:
        if user_cl != str(rb.length).encode():
            raise RequestError(
                f"Content-Length {user_cl.decode('latin-1')!r} contradicts the body's "
                f"{rb.length} bytes"
            )
        return rb, b"", fields
    return rb, b"Content-Length: %d\r\n" % rb.length, fields


def _read_blocks(f: Any, size: int = 65536) -> Iterator[bytes]:
    while True:
        block = f.read(size)
        if not block:
            return
        yield block.encode("utf-8") if isinstance(block, str) else block


def chunk_frames(chunks: Iterable[object]) -> Iterator[bytes]:
    """Frame blocks with chunked transfer coding (RFC 9112 7.1), ending with the last chunk."""
    for block in chunks:
        if isinstance(block, str):
            block = block.encode("utf-8")
        elif not isinstance(block, (bytes, bytearray, memoryview)):
            raise RequestError(f"body blocks must be bytes or str, not {type(block).__name__}")
        if len(block):
            yield b"%x\r\n" % len(block) + bytes(block) + b"\r\n"
    yield b"0\r\n\r\n"
