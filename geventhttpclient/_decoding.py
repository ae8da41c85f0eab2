"""Streaming decoders for HTTP content codings (RFC 9110 section 8.4).

A :class:`ContentDecoder` turns the body bytes of a response, fed in any pieces,
into the representation the server encoded: ``gzip`` (every member, ``x-gzip``
too), ``deflate`` (zlib-wrapped as RFC 9110 says, and the raw deflate some servers
send), ``br`` (optional ``brotlicffi``, else ``brotli``) and ``zstd`` (optional
``zstandard``). Stacked codings (``Content-Encoding: deflate, gzip``, or the same
split over several header lines) are undone last-applied first.

Two limits protect the caller from hostile bodies:

* ``max_size`` caps the bytes any one decoding stage may produce (the default,
  :data:`DEFAULT_MAX_DECOMPRESSED_SIZE`, is 64 MiB). Every stage asks its
  decompressor for at most what is left of that budget (``max_length`` for zlib,
  ``output_buffer_limit`` for brotli, small input slices for zstd), so a few
  kilobytes that would inflate to gigabytes are refused with
  :class:`DecompressionLimitExceeded` after at most ``max_size`` plus one block
  has been allocated, not after the gigabytes.
* ``max_encodings`` caps the number of stacked codings (default 5): each stage
  costs a decompressor state, and nobody legitimately stacks more.

Every failure is a :class:`DecodingError`, which is both an ``HTTPParseError``
(Locust and 2.x code catch that for a bad response) and a ``zlib.error`` (what 2.x
raised for a corrupt body). A broken brotli or zstd body, or a coding we do not
know, never escapes as ``brotli.error``, ``ZstdError`` or a bare ``ValueError``.
"""

from __future__ import annotations

import zlib
from typing import Any, Iterable, Iterator, List, Optional, Sequence

from .exceptions import DecodingError, DecompressionLimitExceeded
from .header import HeadersReader

__all__ = [
    "ACCEPT_ENCODING",
    "DEFAULT_MAX_DECOMPRESSED_SIZE",
    "DEFAULT_MAX_ENCODINGS",
    "ContentDecoder",
    "DecodingError",
    "DecompressionLimitExceeded",
    "accept_encoding",
    "decoder_for",
    "parse_content_encoding",
    "supported_encodings",
]

DEFAULT_MAX_DECOMPRESSED_SIZE = 64 * 1024 * 1024
"""Default cap on the bytes one response may decompress to (64 MiB).

Large enough for any page, API answer or asset a load test fetches into memory;
small enough that a decompression bomb cannot take a load generator down. Raise
it per :class:`ContentDecoder` (or per ``UserAgent``) for big compressed downloads.
"""

DEFAULT_MAX_ENCODINGS = 5
"""Default cap on the number of stacked content codings."""

PIECE_SIZE = 64 * 1024
"""The largest block a stage hands on at a time: bounds memory while streaming."""

ZSTD_MAX_WINDOW = 8 * 1024 * 1024
"""RFC 9659 section 3: HTTP zstd decoders need not accept windows above 8 MiB;
a larger window is memory the server makes us spend, so it is refused."""

# zstd expands at most about 32768:1 per input byte (an RLE block: 3 header bytes
# and 1 byte of data give up to 128 KiB). Input is fed in slices so that one call
# can produce at most a quarter of what the budget still allows.
_ZSTD_RATIO = 32768
_ZSTD_MIN_SLICE = 64


# -- optional codecs --------------------------------------------------------------


def _load_brotli() -> Any:
    """brotlicffi first (cffi, so it runs on PyPy too), then Google's brotli."""
    try:
        import brotlicffi

        return brotlicffi
    except ImportError:
        pass
    try:
        import brotli

        return brotli
    except ImportError:
        return None


def _load_zstd() -> Any:
    try:
        import zstandard

        return zstandard
    except ImportError:
        return None


_brotli = _load_brotli()
_zstd = _load_zstd()


def supported_encodings() -> List[str]:
    """The codings this installation can decode, in our order of preference."""
    names = ["gzip", "deflate"]
    if _brotli is not None:
        names.append("br")
    if _zstd is not None:
        names.append("zstd")
    return names


def accept_encoding() -> str:
    """An ``Accept-Encoding`` value naming only the codings we can decode."""
    return ", ".join(supported_encodings())


ACCEPT_ENCODING = accept_encoding()
"""``Accept-Encoding`` for this installation: br and zstd only when installed."""


def parse_content_encoding(values: Iterable[str]) -> List[str]:
    """The codings of one or more ``Content-Encoding`` field values, in the order
    they were applied (the header's order), lower-cased, ``identity`` dropped."""
    codings: List[str] = []
    for value in values:
        for item in str(value).split(","):
            coding = item.strip().lower()
            if coding and coding != "identity":
                codings.append(coding)
    return codings


# -- stages -------------------------------------------------------------------------


class _Stage:
    """Undoes one coding. ``feed`` and ``end`` yield decoded pieces of at most
    :data:`PIECE_SIZE` bytes and raise once more than ``limit`` bytes came out."""

    name = ""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.produced = 0
        self.fed = False

    def _room(self) -> int:
        """How much output to ask for next: one byte past the budget is enough to
        tell that the budget is exceeded."""
        return max(1, min(PIECE_SIZE, self.limit - self.produced + 1))

    def _count(self, out: bytes) -> bytes:
        self.produced += len(out)
        if self.produced > self.limit:
            raise DecompressionLimitExceeded(
                f"{self.name} body decompresses to more than {self.limit} bytes "
                "(raise max_decompressed_size to accept it)"
            )
        return out

    def _fail(self, exc: BaseException) -> DecodingError:
        return DecodingError(f"invalid {self.name} data: {exc}")

    def feed(self, data: bytes) -> Iterator[bytes]:  # pragma: no cover - abstract
        raise NotImplementedError

    def end(self) -> Iterator[bytes]:  # pragma: no cover - abstract
        raise NotImplementedError


class _ZlibStage(_Stage):
    """gzip (all members; zero padding after the last is ignored) or deflate
    (zlib-wrapped, or raw when the first two bytes are not a zlib header)."""

    def __init__(self, name: str, limit: int) -> None:
        super().__init__(limit)
        self.name = name
        self._gzip = name == "gzip"
        self._wbits = 16 + zlib.MAX_WBITS if self._gzip else zlib.MAX_WBITS
        self._d: Any = zlib.decompressobj(self._wbits) if self._gzip else None
        self._head = b""  # deflate: bytes held until the wrapper is known
        self._padding = False

    def feed(self, data: bytes) -> Iterator[bytes]:
        if not data:
            return
        self.fed = True
        if self._d is None:
            data = self._head + data
            if len(data) < 2:
                self._head = data
                return
            self._head = b""
            b0, b1 = data[0], data[1]
            zlib_header = (b0 & 0x0F) == 8 and (b0 >> 4) <= 7 and ((b0 << 8) | b1) % 31 == 0
            self._d = zlib.decompressobj(zlib.MAX_WBITS if zlib_header else -zlib.MAX_WBITS)
        yield from self._run(data)

    def _run(self, data: bytes) -> Iterator[bytes]:
        more = True
        while data or more:
            d = self._d
            if d.eof:
                if not data:
                    return
                if not self._gzip:
                    raise DecodingError("deflate: data after the end of the compressed stream")
                if self._padding or not data.strip(b"\0"):
                    # Some servers pad after the last member; gzip(1) ignores zeros.
                    if data.strip(b"\0"):
                        raise DecodingError("gzip: data after the trailing zero padding")
                    self._padding = True
                    return
                self._d = d = zlib.decompressobj(self._wbits)
            room = self._room()
            try:
                out = d.decompress(data, room)
            except zlib.error as exc:
                raise self._fail(exc) from exc
            if out:
                yield self._count(out)
            # A full output buffer may leave output pending inside zlib even when
            # all input was taken: ask again until it comes back short.
            more = len(out) == room and not d.eof
            data = d.unused_data if d.eof else d.unconsumed_tail

    def end(self) -> Iterator[bytes]:
        if not self.fed:
            return
        if self._d is None:
            raise DecodingError(f"{self.name}: body too short to be {self.name} data")
        yield from self._run(b"")
        if not self._d.eof:
            raise DecodingError(f"{self.name}: compressed data is truncated")


class _BrotliStage(_Stage):
    name = "br"

    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self._d = _brotli.Decompressor()
        self._error = getattr(_brotli, "error", Exception)
        # brotli/brotlicffi >= 1.2 can bound the output of each call; older ones
        # cannot, so they are fed small slices (brotli rarely exceeds ~1000:1 on
        # real data; the slice bounds the damage of worse).
        self._bounded = hasattr(self._d, "can_accept_more_data")

    def _process(self, data: bytes, room: Optional[int]) -> bytes:
        try:
            if room is None:
                return self._d.process(data)
            return self._d.process(data, output_buffer_limit=room)
        except self._error as exc:
            raise self._fail(exc) from exc
        except (ValueError, TypeError, MemoryError) as exc:
            raise self._fail(exc) from exc

    def feed(self, data: bytes) -> Iterator[bytes]:
        if not data:
            return
        self.fed = True
        if self._d.is_finished():
            raise DecodingError("br: data after the end of the compressed stream")
        if self._bounded:
            # Drain until a call gives nothing. can_accept_more_data() alone is not
            # enough: Google's brotli (1.2) reports True while output is still
            # pending, and the body then looked truncated at its end.
            out = self._process(data, self._room())
            while out:
                yield self._count(out)
                if self._d.is_finished():
                    break
                out = self._process(b"", self._room())
            return
        for i in range(0, len(data), 256):
            out = self._process(data[i : i + 256], None)
            for j in range(0, len(out), PIECE_SIZE):
                yield self._count(out[j : j + PIECE_SIZE])

    def end(self) -> Iterator[bytes]:
        if not self.fed:
            return
        if not self._d.is_finished():
            raise DecodingError("br: compressed data is truncated")
        yield from ()


class _ZstdStage(_Stage):
    """zstd frames, one after another (RFC 8878 section 3.1 allows several)."""

    name = "zstd"

    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self._dctx = _zstd.ZstdDecompressor(max_window_size=ZSTD_MAX_WINDOW)
        self._d = self._dctx.decompressobj()
        self._in_frame = False

    def feed(self, data: bytes) -> Iterator[bytes]:
        if not data:
            return
        self.fed = True
        while data:
            if self._d.eof:
                self._d = self._dctx.decompressobj()
            step = max(_ZSTD_MIN_SLICE, (self.limit - self.produced) // (4 * _ZSTD_RATIO))
            piece, data = data[:step], data[step:]
            self._in_frame = True
            try:
                out = self._d.decompress(piece)
            except _zstd.ZstdError as exc:
                raise self._fail(exc) from exc
            if self._d.eof:
                self._in_frame = False
                data = self._d.unused_data + data
            for j in range(0, len(out), PIECE_SIZE):
                yield self._count(out[j : j + PIECE_SIZE])

    def end(self) -> Iterator[bytes]:
        if self._in_frame and not self._d.eof:
            raise DecodingError("zstd: compressed data is truncated")
        yield from ()


def _stage(coding: str, limit: int) -> _Stage:
    if coding in ("gzip", "x-gzip"):
        return _ZlibStage("gzip", limit)
    if coding == "deflate":
        return _ZlibStage("deflate", limit)
    if coding == "br":
        if _brotli is None:
            raise DecodingError("br content coding needs brotlicffi (or brotli) installed")
        return _BrotliStage(limit)
    if coding == "zstd":
        if _zstd is None:
            raise DecodingError("zstd content coding needs zstandard installed")
        return _ZstdStage(limit)
    raise DecodingError(f"unsupported content coding {coding!r}")


# -- the decoder ----------------------------------------------------------------------


class ContentDecoder:
    """Decodes a body encoded with ``encodings`` (header order), fed in pieces.

    ``iter_decompress(data)`` yields decoded pieces (at most :data:`PIECE_SIZE`
    bytes each) as soon as they are available; ``iter_finish()`` yields the rest
    at the end of the body and checks every coding ended properly.
    ``decompress``/``finish`` are the joined forms.
    """

    def __init__(
        self,
        encodings: Sequence[str],
        max_size: Optional[int] = DEFAULT_MAX_DECOMPRESSED_SIZE,
        max_encodings: int = DEFAULT_MAX_ENCODINGS,
    ) -> None:
        codings = parse_content_encoding(encodings)
        if len(codings) > max_encodings:
            raise DecodingError(
                f"{len(codings)} content codings ({', '.join(codings)}): at most "
                f"{max_encodings} are accepted"
            )
        limit = max_size if max_size is not None else 1 << 62
        self.encodings = codings
        # The last coding listed was applied last, so it is undone first.
        self._stages = [_stage(c, limit) for c in reversed(codings)]
        self._finished = False

    def _push(self, i: int, data: bytes) -> Iterator[bytes]:
        if i == len(self._stages):
            if data:
                yield data
            return
        for piece in self._stages[i].feed(data):
            yield from self._push(i + 1, piece)

    def iter_decompress(self, data: bytes) -> Iterator[bytes]:
        if self._finished:
            raise DecodingError("data fed after the end of the body")
        return self._push(0, bytes(data))

    def iter_finish(self) -> Iterator[bytes]:
        self._finished = True
        for i, stage in enumerate(self._stages):
            for piece in stage.end():
                yield from self._push(i + 1, piece)
            # Everything of stage i has gone through i+1 now; end i+1 next.

    def decompress(self, data: bytes) -> bytes:
        return b"".join(self.iter_decompress(data))

    def finish(self) -> bytes:
        return b"".join(self.iter_finish())

    def __repr__(self) -> str:
        return f"<ContentDecoder {', '.join(self.encodings) or 'identity'}>"


def decoder_for(
    headers: Optional[HeadersReader],
    max_size: Optional[int] = DEFAULT_MAX_DECOMPRESSED_SIZE,
    max_encodings: int = DEFAULT_MAX_ENCODINGS,
) -> Optional[ContentDecoder]:
    """A decoder for the ``Content-Encoding`` of ``headers`` (every field line of
    it), or None for an identity body. Raises :class:`DecodingError` for an
    unknown coding or too many codings."""
    if headers is None:
        return None
    getlist = getattr(headers, "getlist", None)
    if getlist is not None:
        values = getlist("content-encoding")
    else:
        value = headers.get("content-encoding")
        values = [] if value is None else value if isinstance(value, list) else [value]
    codings = parse_content_encoding(values)
    if not codings:
        return None
    return ContentDecoder(codings, max_size, max_encodings)
