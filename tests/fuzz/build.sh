#!/bin/sh
# Build the libFuzzer targets (clang with -fsanitize=fuzzer) into build-fuzz/.
# Not part of `make check`; see tests/fuzz/README.md.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
out=build-fuzz
mkdir -p "$out"
CC=${CC:-clang}
FLAGS="-std=c17 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -Isrc/util -Isrc/global"
SRC="src/util/*.c src/global/master_conf.c src/global/mail_conf.c src/global/mail_params.c"
for t in tests/fuzz/fuzz_*.c; do
    n=$(basename "$t" .c)
    echo "building $out/$n"
    # shellcheck disable=SC2086
    $CC $FLAGS -o "$out/$n" "$t" $SRC
done
