"""Content decoding: every coding, streamed, stacked, bounded, and errors that stay ours."""

from __future__ import annotations

import gzip
import zlib

import gevent
import pytest

from geventhttpclient import _decoding
from geventhttpclient._decoding import (
    DEFAULT_MAX_DECOMPRESSED_SIZE,
    ContentDecoder,
    DecodingError,
    DecompressionLimitExceeded,
    accept_encoding,
    decoder_for,
    parse_content_encoding,
)
from geventhttpclient.exceptions import HTTPParseError, LimitExceeded
from geventhttpclient.header import Headers

try:
    import tracemalloc
except ImportError:  # PyPy has no tracemalloc: the limit is still checked, memory is not
    tracemalloc = None  # type: ignore[assignment]


def _gzip_bomb(size: int) -> bytes:
    co = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b"\0" * (1 << 20)
    return b"".join(co.compress(block) for _ in range(size >> 20)) + co.flush()


# Built at import: compressing hundreds of MiB would block the hub inside a test.
GZIP_BOMB = _gzip_bomb(256 << 20)

DATA = b"".join(b"line %d of the body, compressible text\n" % i for i in range(5000))


def raw_deflate(data: bytes) -> bytes:
    co = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return co.compress(data) + co.flush()


def decode(codings, blob: bytes, step: int = 1, **kw) -> bytes:
    d = ContentDecoder(codings, **kw)
    out = [d.decompress(blob[i : i + step]) for i in range(0, len(blob), step)]
    return b"".join(out) + d.finish()


def brotli_mod():
    mod = _decoding._brotli
    if mod is None:
        pytest.skip("neither brotlicffi nor brotli is installed")
    return mod


def zstd_mod():
    return pytest.importorskip("zstandard")


@pytest.mark.parametrize("step", [1, 7, 4096, 1 << 20])
@pytest.mark.parametrize(
    "codings, encode",
    [
        (["gzip"], gzip.compress),
        (["x-gzip"], gzip.compress),
        (["deflate"], zlib.compress),
        (["deflate"], raw_deflate),
        (["DEFLATE , GZip"], lambda d: gzip.compress(zlib.compress(d))),
        (["deflate", "gzip"], lambda d: gzip.compress(zlib.compress(d))),
        (["identity", "gzip", "identity"], gzip.compress),
    ],
)
def test_zlib_codings_streamed_in_any_pieces(codings, encode, step):
    assert decode(codings, encode(DATA), step=step) == DATA


def test_stacked_codings_are_undone_in_reverse_order():
    # gzip applied first, then deflate: decoding must undo deflate first.
    blob = zlib.compress(gzip.compress(DATA))
    assert decode(["gzip, deflate"], blob, step=100) == DATA
    with pytest.raises(DecodingError):
        decode(["deflate, gzip"], blob, step=100)


def test_every_gzip_member_is_decoded():
    blob = gzip.compress(b"first ") + gzip.compress(b"second ") + gzip.compress(b"third")
    assert decode(["gzip"], blob, step=3) == b"first second third"


def test_zero_padding_after_gzip_is_ignored_but_garbage_is_not():
    assert decode(["gzip"], gzip.compress(b"x") + b"\0" * 10) == b"x"
    with pytest.raises(DecodingError):
        decode(["gzip"], gzip.compress(b"x") + b"junk", step=100)


def test_br():
    mod = brotli_mod()
    assert decode(["br"], mod.compress(DATA), step=5) == DATA


def test_zstd_frames():
    zstandard = zstd_mod()
    c = zstandard.ZstdCompressor()
    blob = c.compress(DATA) + c.compress(b"tail")
    assert decode(["zstd"], blob, step=33) == DATA + b"tail"


def test_empty_body_with_a_coding_is_empty():
    # 204/304/HEAD answers carry Content-Encoding but no bytes.
    assert decode(["gzip"], b"") == b""
    assert decode(["deflate"], b"") == b""


@pytest.mark.parametrize(
    "codings, blob",
    [
        (["gzip"], b"this is not gzip"),
        (["gzip"], gzip.compress(DATA)[:-9]),
        (["deflate"], zlib.compress(DATA)[:-4]),
        (["deflate"], b"\x78"),
        (["compress"], b"anything"),
        (["snappy"], b"anything"),
    ],
)
def test_corrupt_truncated_or_unknown_is_a_decoding_error(codings, blob):
    with pytest.raises(DecodingError) as info:
        decode(codings, blob, step=50)
    assert isinstance(info.value, HTTPParseError)
    assert isinstance(info.value, zlib.error)


def test_corrupt_br_is_ours_not_brotlis():
    mod = brotli_mod()
    for blob in (b"\xff\xfe garbage garbage", mod.compress(DATA)[:-5]):
        with pytest.raises(DecodingError) as info:
            decode(["br"], blob, step=64)
        assert type(info.value).__module__ == "geventhttpclient.exceptions"


def test_corrupt_zstd_is_ours():
    zstandard = zstd_mod()
    for blob in (b"\x28\xb5\x2f\xfd garbage", zstandard.ZstdCompressor().compress(DATA)[:-5]):
        with pytest.raises(DecodingError):
            decode(["zstd"], blob, step=64)


def test_too_many_codings():
    with pytest.raises(DecodingError, match="at most 5"):
        ContentDecoder(["gzip"] * 6)
    assert ContentDecoder(["gzip"] * 2, max_encodings=2).encodings == ["gzip", "gzip"]
    with pytest.raises(DecodingError):
        ContentDecoder(["gzip"] * 3, max_encodings=2)


def test_parse_and_decoder_for_read_every_header_line():
    assert parse_content_encoding(["gzip, Identity", " BR "]) == ["gzip", "br"]
    h = Headers([("Content-Encoding", "deflate"), ("content-encoding", "gzip")])
    d = decoder_for(h)
    assert d is not None and d.encodings == ["deflate", "gzip"]
    assert decoder_for(Headers([("Content-Encoding", "identity")])) is None
    assert decoder_for(Headers()) is None


def test_accept_encoding_names_only_installed_codecs(monkeypatch):
    monkeypatch.setattr(_decoding, "_brotli", None)
    monkeypatch.setattr(_decoding, "_zstd", None)
    assert accept_encoding() == "gzip, deflate"
    with pytest.raises(DecodingError, match="brotli"):
        ContentDecoder(["br"])
    with pytest.raises(DecodingError, match="zstandard"):
        ContentDecoder(["zstd"])


def _bomb_peak(codings, blob: bytes, **kw) -> tuple:
    """Feed a bomb in small slices, yielding to the hub between them, and return
    (error, peak traced bytes)."""
    d = ContentDecoder(codings, **kw)
    if tracemalloc is not None:
        tracemalloc.start()
    try:
        for i in range(0, len(blob), 256):
            for _piece in d.iter_decompress(blob[i : i + 256]):
                pass  # a streaming consumer keeps nothing
            gevent.idle()  # let the hub (and its watchdog) run between slices
        for _piece in d.iter_finish():
            pass
    except DecompressionLimitExceeded as exc:
        return exc, tracemalloc.get_traced_memory()[1] if tracemalloc is not None else 0
    finally:
        if tracemalloc is not None:
            tracemalloc.stop()
    return None, 0


def test_default_limit_refuses_a_gzip_bomb_before_spending_it():
    blob = GZIP_BOMB  # 256 KiB that inflate to 256 MiB, four times the default cap
    assert len(blob) < 300 * 1024
    err, peak = _bomb_peak(["gzip"], blob)
    assert err is not None
    assert isinstance(err, LimitExceeded) and isinstance(err, HTTPParseError)
    assert isinstance(err, zlib.error)
    assert str(DEFAULT_MAX_DECOMPRESSED_SIZE) in str(err)
    assert peak < 8 * 1024 * 1024  # streamed: nowhere near the gigabyte


def test_limit_counts_the_whole_body_not_one_piece():
    blob = gzip.compress(b"a" * 300_000)
    with pytest.raises(DecompressionLimitExceeded):
        decode(["gzip"], blob, step=512, max_size=250_000)
    assert len(decode(["gzip"], blob, step=512, max_size=300_000)) == 300_000
    assert len(decode(["gzip"], blob, max_size=None, step=1 << 20)) == 300_000


def test_limit_applies_to_inner_layers_of_stacked_codings():
    inner = zlib.compress(b"\0" * (8 << 20), 9)
    blob = gzip.compress(inner)
    with pytest.raises(DecompressionLimitExceeded):
        decode(["deflate", "gzip"], blob, step=4096, max_size=1 << 20)


def test_zstd_bomb_is_refused_with_bounded_memory():
    zstandard = zstd_mod()
    blob = zstandard.ZstdCompressor(level=3).compress(b"\0" * (32 << 20))
    err, peak = _bomb_peak(["zstd"], blob, max_size=4 << 20)
    assert err is not None
    assert peak < 16 << 20


def test_br_bomb_is_refused_with_bounded_memory():
    mod = brotli_mod()
    blob = mod.compress(b"\0" * (32 << 20), quality=5)
    err, peak = _bomb_peak(["br"], blob, max_size=4 << 20)
    assert err is not None
    assert peak < 16 << 20


def test_output_pieces_are_bounded():
    d = ContentDecoder(["gzip"])
    pieces = list(d.iter_decompress(gzip.compress(b"z" * (1 << 20))))
    assert b"".join(pieces) == b"z" * (1 << 20)
    assert max(len(p) for p in pieces) <= _decoding.PIECE_SIZE


@pytest.mark.parametrize("step", [1, 100, 1 << 20])
def test_br_with_googles_brotli_package_alone(monkeypatch, step):
    """2.x users often have Google's ``brotli`` and not ``brotlicffi``. Its 1.2
    decompressor says it can accept more data while output is still pending: a
    decoder trusting that lost the end of the body ("truncated")."""
    google = pytest.importorskip("brotli")
    monkeypatch.setattr(_decoding, "_brotli", google)
    blob = google.compress(DATA * 5)
    assert decode(["br"], blob, step=step) == DATA * 5
    with pytest.raises(DecompressionLimitExceeded):
        decode(["br"], blob, step=step, max_size=len(DATA))
