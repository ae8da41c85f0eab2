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
import sysconfig
from pathlib import Path

from cffi import FFI

HERE = Path(__file__).resolve().parent
CSRC = HERE / "csrc"

# What the package uses of csrc/hparser.h (the parts marked [package] there), restated
# for cffi, which cannot read the header itself (it has #include, an X-macro and
# #ifdef). "...;" lets the compiler place the fields left out; "..." takes a constant's
# value from the header. tests/test_cparser_api.py checks that every declaration here
# matches the header: the same field names, types and order, enum names and values,
# constants and prototypes.
CDEF = """
typedef struct hp_parser {
    uint8_t state;
    uint8_t error;
    uint8_t http_minor;
    uint16_t status_code;
    uint16_t flags;
    int64_t content_length;
    int64_t remaining;
    uint32_t head_len;
    uint8_t expect;
    uint32_t max_line;
    uint32_t max_headers;
    uint32_t max_head;
    uint32_t max_chunk_line;
    uint32_t max_trailers;
    void *data;
    ...;
} hp_parser;

typedef struct {
    int (*on_body)(hp_parser *p, const char *at, size_t len);
    int (*on_trailers)(hp_parser *p, const char *at, size_t len);
    ...;
} hp_settings;

#define HP_F_CHUNKED ...
#define HP_F_KEEP_ALIVE ...
#define HP_F_UPGRADE ...
#define HP_F_DONE ...
#define HP_F_CODED ...
#define HP_F_COOKIE ...
#define HP_F_COOKIE2 ...
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
void hp_fail(hp_parser *p, int code);
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


def _gnu_compiler() -> bool:
    """True when setuptools will compile with GCC or Clang (which take ``-Werror``).

    On Windows setuptools uses MSVC; elsewhere it runs ``$CC``, or the compiler
    Python was built with, possibly behind a wrapper such as ``ccache``. ``cc`` is
    GCC or Clang on every Unix we build on.
    """
    if sys.platform == "win32":
        return False
    cc = os.environ.get("CC") or sysconfig.get_config_var("CC") or ""
    names = [os.path.basename(word) for word in cc.split()]
    return any("gcc" in name or "clang" in name or name == "cc" for name in names)


def compile_args(sanitize: bool = False) -> list[str]:
    """Compiler flags for the parser and its cffi wrapper.

    Warnings are errors with GCC and Clang, as the style guide asks; the C code and
    cffi's wrapper are clean under these flags with GCC 12 and Clang 14 against the
    headers of CPython 3.9 to 3.13 and PyPy 3.9. ``GEVENTHTTPCLIENT_NO_WERROR=1``
    keeps warnings as warnings, for a newer compiler that may warn about new things.
    """
    if not _gnu_compiler():
        return []  # MSVC: its own defaults; it does not know these flags
    args = ["-std=c99", "-Wall", "-Wextra", "-Wshadow", "-Wconversion"]
    if not os.environ.get("GEVENTHTTPCLIENT_NO_WERROR"):
        args.append("-Werror")
    if sanitize:
        args += [
            "-O1",
            "-g",
            "-fno-omit-frame-pointer",
            "-fsanitize=address,undefined",
            "-fno-sanitize-recover=undefined",
        ]
    else:
        args.append("-O2")
    return args


def make_ffi(sanitize: bool = False) -> FFI:
    """Return the FFI builder; the package build calls this via ``cffi_modules``."""
    ffibuilder = FFI()
    ffibuilder.cdef(CDEF)
    extra_compile_args = compile_args(sanitize)
    extra_link_args: list[str] = []
    if sanitize:
        extra_link_args += ["-fsanitize=address,undefined"]
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
