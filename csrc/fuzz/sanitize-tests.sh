#!/bin/sh
# Build the cffi parser module with ASan+UBSan (build_parser.py --sanitize) and run the
# parser tests against it.
#
#   csrc/fuzz/sanitize-tests.sh [pytest args...]     (default: tests/test_parser.py)
#
# The build happens in a scratch copy of the tree so the optimised in-place module
# (geventhttpclient/_cparser*.so) that everyone else imports is left alone.
# An instrumented extension loaded into an uninstrumented python needs the ASan
# runtime loaded first, hence LD_PRELOAD; leak detection is off because CPython
# itself does not free everything at exit. PYTHONMALLOC=malloc puts Python objects
# under ASan's allocator and HP_EXACT_BUFFERS=1 makes the test drivers feed each call
# from an exact-size buffer, so a read past the bytes given to hp_execute is reported.
# --capture=sys: sanitizer reports are written to fd 2 and must not be captured (and
# lost) by pytest when the process aborts.
# PYTHON selects the interpreter (default /tmp/venv311/bin/python, else python3);
# CC the compiler (gcc's libasan or clang's libclang_rt.asan is preloaded to match).
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
if [ -z "${PYTHON:-}" ]; then
    if [ -x /tmp/venv311/bin/python ]; then PYTHON=/tmp/venv311/bin/python; else PYTHON=python3; fi
fi
CC_NAME=${CC:-$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_config_var("CC").split()[0])')}
case "$CC_NAME" in
    *clang*) ASAN_LIB=$($CC_NAME -print-file-name=libclang_rt.asan-x86_64.so) ;;
    *) ASAN_LIB=$($CC_NAME -print-file-name=libasan.so) ;;
esac
if [ ! -e "$ASAN_LIB" ]; then
    echo "cannot find the ASan runtime for $CC_NAME (got '$ASAN_LIB')" >&2
    exit 2
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/hparser-asan.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
# pyproject.toml is not copied: the build needs none of it (and setuptools validates
# it, so a newer-setuptools-only setting there would break this build).
cp "$ROOT/build_parser.py" "$WORK/"
cp -r "$ROOT/csrc" "$WORK/csrc"
rm -rf "$WORK/csrc/fuzz/out"
mkdir "$WORK/geventhttpclient" "$WORK/tests"
cp "$ROOT"/geventhttpclient/*.py "$WORK/geventhttpclient/"
cp "$ROOT"/geventhttpclient/py.typed "$WORK/geventhttpclient/" 2>/dev/null || true
cp "$ROOT"/tests/*.py "$WORK/tests/"

(cd "$WORK" && "$PYTHON" build_parser.py --sanitize >"$WORK/build.log" 2>&1) || {
    cat "$WORK/build.log" >&2
    exit 1
}
# Instrumented code calls the ASan runtime (__asan_*): gcc links it as a shared library,
# clang leaves it to the preloaded runtime, so look for the calls, not for the library.
for so in "$WORK"/geventhttpclient/_cparser*.so; do
    nm -D "$so" | grep -q __asan_ || { echo "$so is not a sanitized build" >&2; exit 1; }
done

[ $# -gt 0 ] || set -- tests/test_parser.py
echo "== sanitized parser module, runtime $ASAN_LIB"
cd "$WORK"
LD_PRELOAD="$ASAN_LIB" \
PYTHONMALLOC=malloc HP_EXACT_BUFFERS=1 \
ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    "$PYTHON" -m pytest -q -p no:cacheprovider --capture=sys "$@"
