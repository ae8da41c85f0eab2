"""Out-of-line (API mode) cffi build of the C response parser in ``csrc/``.

``pip install .`` runs this through setuptools' ``cffi_modules``; it produces
``geventhttpclient._cparser``, a plain C module with no Python.h dependency in our
own code, so the same sources serve CPython (abi3 wheels) and PyPy.

Run it directly for a development build in place::

    python build_parser.py            # optimised, like the package build
    python build_parser.py --sanitize # AddressSanitizer + UBSan debug build

A sanitized module must be loaded with the sanitizer runtime preloaded (python itself
is not instrumented), and CPython's leaks at exit must not be reported::

    LD_PRELOAD=$(gcc -print-file-name=libasan.so) ASAN_OPTIONS=detect_leaks=0 \\
        PYTHONMALLOC=malloc python -m pytest tests/test_parser.py --capture=sys

(with clang as CC, preload ``$(clang -print-file-name=libclang_rt.asan-x86_64.so)``).
``csrc/fuzz/sanitize-tests.sh`` does all of this in a scratch copy of the tree, so the
optimised in-place module is left alone.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from cffi import FFI

HERE = Path(__file__).resolve().parent
CSRC = HERE / "csrc"

CDEF = """
typedef struct {
    uint32_t name_off, name_len, value_off, value_len;
} hp_header;

typedef struct hp_parser {
    uint8_t state;
    uint8_t error;
    uint8_t http_major, http_minor;
    uint16_t status_code;
    uint16_t flags;
    uint32_t num_headers;
    uint32_t status_line_len;
    uint32_t error_offset;
    int64_t content_length;
    int64_t remaining;
    uint32_t head_len;
    uint8_t expect;
    uint32_t max_line;
    uint32_t max_headers;
    uint32_t max_head;
    uint32_t max_chunk_line;
    uint32_t max_trailers;
    hp_header *headers;
    uint32_t headers_cap;
    void *data;
    ...;
} hp_parser;

typedef struct {
    int (*on_headers_complete)(hp_parser *p, const char *head, size_t len);
    int (*on_body)(hp_parser *p, const char *at, size_t len);
    int (*on_trailers)(hp_parser *p, const char *at, size_t len);
    int (*on_message_complete)(hp_parser *p);
} hp_settings;

#define HP_F_CHUNKED ...
#define HP_F_KEEP_ALIVE ...
#define HP_F_HAS_LENGTH ...
#define HP_F_TE ...
#define HP_F_UPGRADE ...
#define HP_F_DONE ...
#define HP_BODY_NORMAL ...
#define HP_BODY_NONE ...
#define HP_BODY_TUNNEL ...
#define HP_CB_ERROR ...

enum hp_state { HP_S_HEAD, HP_S_BODY_LENGTH, HP_S_BODY_EOF, HP_S_CHUNK_SIZE,
    HP_S_CHUNK_DATA, HP_S_CHUNK_CR, HP_S_CHUNK_LF, HP_S_TRAILERS, HP_S_END, HP_S_ERROR };

enum hp_errno { HP_OK, HP_E_CALLBACK, HP_E_STATUS_LINE, HP_E_VERSION, HP_E_STATUS_CODE,
    HP_E_LINE_ENDING, HP_E_HEADER_NAME, HP_E_WS_BEFORE_COLON, HP_E_NO_COLON,
    HP_E_OBS_FOLD, HP_E_HEADER_VALUE, HP_E_CONTENT_LENGTH, HP_E_CONFLICTING_CL,
    HP_E_TE_AND_CL, HP_E_TRANSFER_ENCODING, HP_E_CHUNK_SIZE, HP_E_CHUNK_EXTENSION,
    HP_E_CHUNK_DATA_END, HP_E_LINE_TOO_LONG, HP_E_TOO_MANY_HEADERS,
    HP_E_HEAD_TOO_LARGE, HP_E_CHUNK_LINE_TOO_LONG, HP_E_TRAILERS_TOO_LARGE,
    HP_E_INCOMPLETE, HP_E_DATA_AFTER_END, HP_E_CALLER, HP_E_INTERIM_FRAMING,
    HP_E_TRAILER_FRAMING, HP_E__COUNT };

void hp_init(hp_parser *p);
int64_t hp_execute(hp_parser *p, const hp_settings *s, const char *data, size_t len);
int hp_finish(hp_parser *p, const hp_settings *s);
int hp_idle(const hp_parser *p);
int64_t hp_body_consumed(hp_parser *p, const hp_settings *s, size_t n);
const char *hp_errno_name(int err);
const char *hp_errno_description(int err);

extern "Python" int _gh_on_body(hp_parser *, const char *, size_t);
extern "Python" int _gh_on_trailers(hp_parser *, const char *, size_t);
"""


SOURCE = """#include "hparser.h"

/* cffi's CPython wrappers release the GIL around every call into C and take it back
 * afterwards. Our functions never block and return in microseconds, so that round
 * trip (a mutex and a condition variable each way) only costs: calls are made with
 * the GIL held instead. The wrappers are generated after this text, so only they see
 * these definitions. PyPy calls the functions directly and never uses them. */
#undef Py_BEGIN_ALLOW_THREADS
#define Py_BEGIN_ALLOW_THREADS {
#undef Py_END_ALLOW_THREADS
#define Py_END_ALLOW_THREADS }
"""


def make_ffi(sanitize: bool = False) -> FFI:
    """Return the FFI builder; the package build calls this via ``cffi_modules``."""
    ffibuilder = FFI()
    ffibuilder.cdef(CDEF)
    extra_compile_args = ["-std=c99", "-Wall", "-Wextra"]
    extra_link_args: list[str] = []
    if sanitize:
        flags = ["-O1", "-g", "-fno-omit-frame-pointer", "-fsanitize=address,undefined",
                 "-fno-sanitize-recover=undefined"]
        extra_compile_args += flags
        extra_link_args += ["-fsanitize=address,undefined"]
    else:
        extra_compile_args += ["-O2"]
    ffibuilder.set_source(
        "geventhttpclient._cparser",
        SOURCE,
        sources=[os.path.relpath(CSRC / "hparser.c", Path.cwd())],
        include_dirs=[os.path.relpath(CSRC, Path.cwd())],
        extra_compile_args=extra_compile_args,
        extra_link_args=extra_link_args,
        py_limited_api=True,
    )
    return ffibuilder


ffibuilder = make_ffi()

if __name__ == "__main__":
    sanitize = "--sanitize" in sys.argv
    os.chdir(HERE)
    make_ffi(sanitize).compile(verbose=True, tmpdir=str(HERE))
