#!/bin/sh
# Build the libFuzzer harness for hparser with ASan+UBSan and run it for a bounded time.
#
#   csrc/fuzz/run.sh [seconds]      (default 300)
#
# Needs clang with libFuzzer (Debian: apt-get install clang; the runtime is in
# libclang-rt-<version>-dev on newer releases). Work files go to csrc/fuzz/out/
# (git-ignored): the growing corpus in out/corpus, crashes as out/crash-*.
# To reproduce a crash: csrc/fuzz/out/fuzz_hparser csrc/fuzz/out/crash-<hash>
# Exits non-zero if the fuzzer found a crash or an invariant failure.
set -eu

SECONDS_TO_RUN=${1:-300}
HERE=$(cd "$(dirname "$0")" && pwd)
OUT="$HERE/out"
CC=${CC:-clang}
mkdir -p "$OUT/corpus"

$CC -std=c99 -Wall -Wextra -Wshadow -Wconversion -Werror -g -O1 -fno-omit-frame-pointer \
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
    -I"$HERE/.." "$HERE/fuzz_hparser.c" "$HERE/../hparser.c" -o "$OUT/fuzz_hparser"

LOG="$OUT/fuzz.log"
set +e
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
ASAN_OPTIONS=detect_leaks=1 \
"$OUT/fuzz_hparser" -max_total_time="$SECONDS_TO_RUN" -timeout=10 -rss_limit_mb=2048 \
    -max_len=4096 -dict="$HERE/hparser.dict" -artifact_prefix="$OUT/" \
    -print_final_stats=1 "$OUT/corpus" "$HERE/corpus" >"$LOG" 2>&1
RC=$?
set -e

echo "== hparser fuzzing: ${SECONDS_TO_RUN}s requested, exit code $RC (log: $LOG)"
grep -E "^Done [0-9]+ runs|stat::number_of_executed_units|stat::peak_rss_mb|stat::new_units_added" "$LOG" || true
tail -n 1 "$LOG" | grep -E "^#[0-9]+" || true
CRASHES=$(ls "$OUT" | grep -cE '^(crash|leak|timeout|oom|slow-unit)-' || true)
echo "crash/leak/timeout artifacts in $OUT: $CRASHES"
if [ "$RC" -ne 0 ]; then
    grep -E "ERROR|invariant failed|runtime error|SUMMARY" "$LOG" | head -n 20
    exit "$RC"
fi
