"""Request bodies from what callers pass, and the charset of response bodies.

One copy of these rules for every face (``UserAgent``, ``Session``, the httpx-style
``Client``), with no I/O:

* form fields (a mapping or key/value pairs, lists for repeated fields) are
  ``application/x-www-form-urlencoded``;
* ``files=`` make a ``multipart/form-data`` body (RFC 7578), built in memory when
  small and of known size, streamed otherwise (:class:`MultipartBody`), so a large
  file is never read into memory whole and can be rewound for a redirect or retry;
* ``json=`` is UTF-8 JSON;
* a response's charset comes from its ``Content-Type`` (:func:`declared_charset`),
  with the defaults of :func:`default_charset` and a BOM (:func:`bom_encoding`).

Where the faces differ (2.x's ``UserAgent`` labels a str body ``text/plain``, the
requests face leaves it unlabelled), the face decides; the encoding is shared.
"""

from __future__ import annotations

import codecs
import json as jsonlib
import mimetypes
import os
import secrets
from dataclasses import dataclass
from typing import (
    IO,
    Any,
    Iterable,
    Iterator,
    List,
    Mapping,
    MutableMapping,
    Optional,
    Tuple,
    Union,
)
from urllib.parse import urlencode

from ._http11 import file_span
from .exceptions import UnrewoundBodyError
from .header import HeadersReader, parse_content_type_charset

__all__ = [
    "MULTIPART_IN_MEMORY_MAX",
    "MultipartBody",
    "bom_encoding",
    "content_type",
    "declared_charset",
    "default_charset",
    "encode_multipart_formdata",
    "guess_content_type",
    "is_empty",
    "is_pair_sequence",
    "json_body",
    "multipart",
    "pairs",
    "encode_body",
    "Payload",
    "FilesInput",
    "BodyLabels",
    "AGENT_LABELS",
    "REQUESTS_LABELS",
    "tell",
]

MULTIPART_IN_MEMORY_MAX = 1024 * 1024
"""A ``files=`` body of known size up to this many bytes is built in memory and sent
with ``Content-Length`` (what every server accepts); a larger or unsized one is
streamed with chunked transfer coding, so files are never read into memory whole."""


Payload = Union[
    str, bytes, bytearray, memoryview, MutableMapping[str, Any], IO[bytes], Iterable[bytes], None
]
"""What a body may be given as (2.x's name)."""
FilesInput = Union[Mapping[str, Any], Iterable[Tuple[str, Any]]]
"""What ``files=`` may be given as (2.x's name)."""

READ_BLOCK = 16 * 1024
"""Bytes read from a file part per block."""


def tell(payload: Any) -> Optional[int]:
    """Where a file-like body starts (its ``tell()``), or None: a retry or 307/308
    redirect rewinds to this position, so the same bytes are sent again."""
    if payload is None or not hasattr(payload, "read"):
        return None
    try:
        return int(payload.tell())
    except (AttributeError, OSError, ValueError):
        return None


def json_body(obj: Any, *, allow_nan: bool = True) -> bytes:
    """``obj`` as UTF-8 JSON. ``allow_nan=False`` refuses NaN and infinities, which
    are not JSON (RFC 8259); requests refuses them, 2.x sent them."""
    return jsonlib.dumps(obj, allow_nan=allow_nan).encode("utf-8")


def is_pair_sequence(obj: Any) -> bool:
    """A list or tuple of 2-item lists or tuples (requests' form pairs)."""
    return isinstance(obj, (list, tuple)) and all(
        isinstance(p, (tuple, list)) and len(p) == 2 for p in obj
    )


def pairs(obj: Any) -> List[Tuple[Any, Any]]:
    """Key/value pairs from a mapping or an iterable of pairs."""
    if obj is None:
        return []
    if isinstance(obj, (str, bytes)):
        raise ValueError("expected a mapping or key/value pairs, not a string")
    if isinstance(obj, Mapping):
        return list(obj.items())
    return [tuple(p) for p in obj]


def is_empty(payload: Any) -> bool:
    """An empty str, bytes, dict or list: no body (2.x tested ``if payload``). Files
    and iterators are never tested for truth: that could consume or misjudge them."""
    if isinstance(payload, (str, bytes, bytearray, memoryview, Mapping, list, tuple)):
        return len(payload) == 0
    return False


def _quote_param(value: str) -> str:
    """A name or filename for Content-Disposition (WHATWG multipart encoding)."""
    return value.replace("\r", "%0D").replace("\n", "%0A").replace('"', "%22")


def _check_part_header(name: str, value: str) -> None:
    if any(c in name + value for c in "\r\n\0"):
        raise ValueError(f"multipart header {name!r} has a CR, LF or NUL in it")


_BOUNDARY_CHARS = frozenset(
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'()+_,-./:=?"
)


def _stream_size(f: Any) -> Optional[int]:
    """Bytes left in a file object from its position, or None if it cannot tell:
    a regular file's as the client sizes a file body, else by seeking to the end."""
    span = file_span(f)
    if span is not None:
        return span[1]
    try:
        pos = f.tell()
        end = f.seek(0, os.SEEK_END)
        f.seek(pos)
        return max(0, int(end) - int(pos))
    except (AttributeError, OSError, ValueError):
        return None


class _Part:
    __slots__ = ("head", "data", "file", "start", "size")

    def __init__(self, head: bytes, data: Optional[bytes] = None, file: Any = None) -> None:
        self.head = head
        self.data = data
        self.file = file
        self.start = tell(file) if file is not None else None
        self.size: Optional[int] = len(data) if data is not None else _stream_size(file)


class MultipartBody:
    """A ``multipart/form-data`` body (RFC 7578) produced block by block.

    Iterating yields the encoded body, reading file parts in blocks, so a large file
    is never held in memory. Each new iteration rewinds the file parts to where they
    were, which lets a 307/308 redirect or a retry send the body again (False from
    :meth:`rewind` if a part cannot be rewound). ``length`` is the total size when
    every part's size is known, else None.
    """

    def __init__(self, parts: List[_Part], boundary: str) -> None:
        self.parts = parts
        self.boundary = boundary
        self.content_type = f"multipart/form-data; boundary={boundary}"
        self._iterated = False
        sizes = [len(p.head) + (p.size if p.size is not None else -(1 << 62)) + 2 for p in parts]
        total = sum(sizes) + len(boundary) + 6
        self.length: Optional[int] = total if all(p.size is not None for p in parts) else None

    def rewind(self) -> bool:
        for part in self.parts:
            if part.file is not None:
                if part.start is None:
                    return False
                try:
                    part.file.seek(part.start)
                except (AttributeError, OSError, ValueError):
                    return False
        return True

    def __iter__(self) -> Iterator[bytes]:
        if self._iterated and not self.rewind():
            raise UnrewoundBodyError("", "multipart body has a stream that cannot be rewound")
        self._iterated = True
        return self._generate()

    def _generate(self) -> Iterator[bytes]:
        for part in self.parts:
            yield part.head
            if part.data is not None:
                if part.data:
                    yield part.data
            else:
                while True:
                    block = part.file.read(READ_BLOCK)
                    if not block:
                        break
                    yield block.encode("utf-8") if isinstance(block, str) else block
            yield b"\r\n"
        yield b"--" + self.boundary.encode("ascii") + b"--\r\n"

    def sendable(self) -> Any:
        """The body to send: bytes when small and of known size (sent with a
        Content-Length, which every server accepts), else this streaming body
        (chunked), so that files are never read into memory whole."""
        if self.length is not None and self.length <= MULTIPART_IN_MEMORY_MAX:
            return self.to_bytes()
        return self

    def to_bytes(self) -> bytes:
        return b"".join(self)


def multipart(files: Any, data: Any = None) -> MultipartBody:
    """Build the parts for ``files`` (and form fields from ``data``), requests-style.

    ``files`` maps field names (or is a list of pairs) to a file object, bytes or
    str, or a tuple ``(filename, fileobj[, content_type[, headers[, boundary]]])``;
    the first boundary given in a 5-tuple is used, else a random one.
    """
    if not files:
        raise ValueError("files must be given for a multipart body")
    if isinstance(data, (str, bytes)):
        raise ValueError("form fields alongside files must be a mapping or pairs, not a string")
    boundary: Optional[str] = None
    parts: List[Tuple[str, Optional[str], Any, Optional[str], Any]] = []
    for name, value in pairs(data):
        values = value if isinstance(value, (list, tuple)) else [value]
        for v in values:
            if v is not None:
                parts.append((_text(name), None, v, None, None))
    for name, value in pairs(files):
        filename: Optional[str]
        ctype = headers = None
        if isinstance(value, (tuple, list)):
            if not 2 <= len(value) <= 5:
                raise ValueError(
                    "a file tuple is (filename, fileobj[, content_type[, headers[, boundary]]])"
                )
            filename, fileobj = value[0], value[1]
            ctype = value[2] if len(value) > 2 else None
            headers = value[3] if len(value) > 3 else None
            if len(value) > 4 and value[4] and boundary is None:
                boundary = str(value[4])
        else:
            fileobj = value
            filename = _guess_filename(value) or _text(name)
        if fileobj is None:
            continue
        parts.append((_text(name), filename, fileobj, ctype, headers))
    if boundary is None:
        boundary = secrets.token_hex(16)
    if not 1 <= len(boundary) <= 70 or not set(boundary) <= _BOUNDARY_CHARS:
        raise ValueError(f"invalid multipart boundary {boundary!r} (RFC 2046 section 5.1.1)")
    built: List[_Part] = []
    delimiter = f"--{boundary}\r\n"
    for name, filename, obj, ctype, extra in parts:
        disposition = f'form-data; name="{_quote_param(name)}"'
        if filename is not None:
            disposition += f'; filename="{_quote_param(_text(filename))}"'
        lines = [delimiter, f"Content-Disposition: {disposition}\r\n"]
        if ctype:
            _check_part_header("Content-Type", str(ctype))
            lines.append(f"Content-Type: {ctype}\r\n")
        for hname, hvalue in pairs(extra):
            _check_part_header(str(hname), str(hvalue))
            lines.append(f"{hname}: {hvalue}\r\n")
        lines.append("\r\n")
        head = "".join(lines).encode("utf-8")
        if isinstance(obj, (bytes, bytearray, memoryview)):
            built.append(_Part(head, data=bytes(obj)))
        elif isinstance(obj, str):
            built.append(_Part(head, data=obj.encode("utf-8")))
        elif hasattr(obj, "read"):
            built.append(_Part(head, file=obj))
        else:
            built.append(_Part(head, data=str(obj).encode("utf-8")))
    return MultipartBody(built, boundary)


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _guess_filename(obj: Any) -> Optional[str]:
    name = getattr(obj, "name", None)
    if isinstance(name, bytes):
        name = name.decode("utf-8", "replace")
    if isinstance(name, str) and name and not (name.startswith("<") and name.endswith(">")):
        return os.path.basename(name)
    return None


def encode_multipart_formdata(files: Any, data: Any) -> Tuple[bytes, str]:
    """The multipart body in memory and its Content-Type (2.x helper)."""
    body = multipart(files, data)
    return body.to_bytes(), body.content_type


def guess_content_type(filename: str) -> Optional[str]:
    """A MIME type for ``filename`` (for callers building file tuples)."""
    return mimetypes.guess_type(filename)[0]


# -- the agent ----------------------------------------------------------------------------


@dataclass(frozen=True)
class BodyLabels:
    """What a face calls the bodies it builds: the one difference between them."""

    form: str
    """Content-Type of form fields."""
    text: Optional[str]
    """Content-Type of a str body; None leaves it unset."""
    other: Optional[str]
    """Content-Type of bytes, files and iterables; None leaves it unset."""
    json_allow_nan: bool
    """Whether NaN and infinities may be sent in JSON (not JSON by RFC 8259)."""
    form_drops_none: bool
    """Whether form fields whose value is None are left out (requests) or sent as
    the text ``None`` (2.x)."""


AGENT_LABELS = BodyLabels(
    form="application/x-www-form-urlencoded; charset=utf-8",
    text="text/plain; charset=utf-8",
    other="application/octet-stream",
    json_allow_nan=True,
    form_drops_none=False,
)
"""2.x's ``UserAgent``: every body labelled."""

REQUESTS_LABELS = BodyLabels(
    form="application/x-www-form-urlencoded",
    text=None,
    other=None,
    json_allow_nan=False,
    form_drops_none=True,
)
"""requests: only form, multipart and JSON bodies are labelled."""


def encode_body(data: Any, files: Any, json: Any, labels: BodyLabels) -> Tuple[Any, Optional[str]]:
    """The body to send for ``data``/``files``/``json`` and the Content-Type it
    implies (None: leave it unset).

    ``json`` goes alone; ``files`` makes a multipart body whose form fields come
    from ``data``; a mapping or key/value pairs in ``data`` are form fields; a str is
    kept as given (sent as UTF-8: Locust and requests show ``request.body`` as the
    str they passed); bytes, files and iterables are sent as they are. An empty
    str, bytes, mapping or list means no body.

    :raises ValueError: ``json`` together with ``data`` or ``files``.
    """
    has_data = data is not None and not is_empty(data)
    if json is not None:
        if has_data or files:
            raise ValueError("pass json= alone: it cannot be combined with data= or files=")
        return json_body(json, allow_nan=labels.json_allow_nan), "application/json"
    if files:
        body = multipart(files, data if has_data else None)
        return body.sendable(), body.content_type
    if not has_data:
        return None, None
    if isinstance(data, Mapping) or is_pair_sequence(data):
        fields: List[Tuple[Any, Any]] = []
        for key, value in pairs(data):
            values = value if isinstance(value, (list, tuple)) else [value]
            fields.extend((key, v) for v in values if not (v is None and labels.form_drops_none))
        return urlencode(fields).encode("ascii"), labels.form
    if isinstance(data, str):
        return data, labels.text
    return data, labels.other


# -- response charsets ------------------------------------------------------------------


def content_type(headers: Optional[HeadersReader]) -> Tuple[str, Optional[str]]:
    """``(mime type, charset)`` of Content-Type, lower-cased; ``("", None)`` if absent."""
    value = headers.get("content-type") if headers is not None else None
    if isinstance(value, list):
        value = value[-1]
    if not value:
        return "", None
    value = str(value)
    return value.split(";", 1)[0].strip().lower(), parse_content_type_charset(value)


def declared_charset(headers: Optional[HeadersReader]) -> Optional[str]:
    """The charset Content-Type declares, lower-cased, or None (as 2.x)."""
    return content_type(headers)[1]


def default_charset(headers: Optional[HeadersReader]) -> Optional[str]:
    """The charset a body without a declared one is read in: ISO-8859-1 for
    ``text/*`` (RFC 2616 3.7.1, as requests), UTF-8 for JSON (RFC 8259), else None
    (then the bytes decide, see :attr:`Response.apparent_encoding`)."""
    mime = content_type(headers)[0]
    if mime.startswith("text/"):
        return "iso-8859-1"
    if mime == "application/json" or mime.endswith("+json"):
        return "utf-8"
    return None


_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def bom_encoding(content: bytes) -> Optional[str]:
    for bom, name in _BOMS:
        if content.startswith(bom):
            return name
    return None
