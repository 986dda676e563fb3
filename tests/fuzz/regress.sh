#!/bin/sh
# tests/fuzz/regress.sh - the fuzz targets' regression step (run by
# tests/run, i.e. `make check`): build every target (tests/fuzz/build.sh)
# and run each once over its corpus, tests/fuzz/corpus/<target>/ (seeds
# and every input that once crashed). No fuzzing: libFuzzer given files
# runs them and exits; any crash, leak, sanitizer report or timeout fails.
# Exit 0 when all pass; 77 when clang/libFuzzer is not available (skipped).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 2
CC=${CC:-clang}
command -v "$CC" >/dev/null 2>&1 || { echo "fuzz: $CC not found, skipped"; exit 77; }
# libFuzzer present? (Debian: clang pulls in libclang-common-N-dev.)
probe=$(mktemp -d)
printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }\n' > "$probe/p.c"
if ! "$CC" -fsanitize=fuzzer -o "$probe/p" "$probe/p.c" >/dev/null 2>&1; then
    rm -rf "$probe"; echo "fuzz: $CC has no libFuzzer, skipped"; exit 77
fi
rm -rf "$probe"
CC=$CC sh tests/fuzz/build.sh || { echo "FAILED: tests/fuzz/build.sh"; exit 1; }
fail=0
for t in tests/fuzz/fuzz_*.c; do
    n=$(basename "$t" .c)
    c=tests/fuzz/corpus/${n#fuzz_}
    [ -d "$c" ] || { echo "fuzz: $n has no corpus ($c)"; fail=1; continue; }
    log=$(mktemp)
    # Leak checking on (tests/run turns it off for the programs).
    if ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        build-fuzz/"$n" -timeout=20 -rss_limit_mb=2048 "$c"/* > "$log" 2>&1; then
        echo "fuzz: $n ok ($(ls "$c" | wc -l) inputs)"
    else
        echo "FAILED: fuzz: $n"; tail -40 "$log"; fail=1
    fi
    rm -f "$log"
done
exit $fail
