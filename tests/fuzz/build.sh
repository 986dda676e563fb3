#!/bin/sh
# Build the libFuzzer targets (clang -fsanitize=fuzzer,address,undefined)
# into build-fuzz/. See tests/fuzz/README.md.
#
# src/util and src/global are built by the main Makefile into
# build-fuzz/lib*.a with clang and -fsanitize=fuzzer-no-link (incremental,
# header dependencies tracked). A target tests/fuzz/fuzz_NAME.c may name
# program objects it also needs on a line
#	FUZZ_OBJS: src/smtpd/smtpd_proto.o ...
# (paths relative to build-fuzz/); a function the target defines itself
# replaces the archive's (stubs for I/O).
#
#   tests/fuzz/build.sh            build every target
#   tests/fuzz/build.sh NAME...    build these (fuzz_NAME or NAME)
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
out=build-fuzz
CC=${CC:-clang}
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
LIBS="-llmdb -lpcre2-8 -lcdb -levent -lssl -lcrypto -lcares -lpthread"

if [ $# -gt 0 ]; then
    targets=""
    for n in "$@"; do
        n=${n#fuzz_}; targets="$targets tests/fuzz/fuzz_$n.c"
    done
else
    targets=$(ls tests/fuzz/fuzz_*.c)
fi

objs=""
for t in $targets; do
    o=$(sed -n 's/^.*FUZZ_OBJS:[[:space:]]*//p' "$t")
    for x in $o; do objs="$objs $out/$x"; done
done
# shellcheck disable=SC2086
make -s -j2 BUILD=$out CC="$CC" OPT="-O1 -g -fno-omit-frame-pointer" \
    SAN="-fsanitize=fuzzer-no-link $SAN" \
    $out/libglobal.a $out/libutil.a $objs

for t in $targets; do
    n=$(basename "$t" .c)
    o=$(sed -n 's/^.*FUZZ_OBJS:[[:space:]]*//p' "$t")
    extra=""
    for x in $o; do extra="$extra $out/$x"; done
    if [ -x "$out/$n" ] && [ -z "$(find "$t" tests/fuzz/*.h $extra $out/libglobal.a $out/libutil.a -newer "$out/$n")" ]; then
        continue
    fi
    echo "building $out/$n"
    # shellcheck disable=SC2086
    $CC -std=c17 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer -Wall -Wextra \
        -Wno-unused-parameter -fsanitize=fuzzer $SAN -Isrc/util -Isrc/global -Isrc \
        -o "$out/$n" "$t" $extra $out/libglobal.a $out/libutil.a $LIBS
done
