# postern - one Makefile builds everything.
#
#   make            optimized build in build/  (programs in build/bin)
#   make asan       AddressSanitizer+UBSan build in build-asan/
#   make check      build both, run every test (tests/run)
#   make install    install with Postfix's paths (DESTDIR, PREFIX honoured)
#
# Layout: src/util -> libutil.a, src/global -> libglobal.a, and every
# other directory src/NAME is one program, build/bin/NAME. Unit tests are
# tests/unit/test_*.c, each one program linked with cmocka.

BUILD	?= build
CC	?= cc
CSTD	= -std=c17 -D_GNU_SOURCE
WARN	= -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow -Wformat=2 \
	  -Wno-format-nonliteral -Wstrict-prototypes -Wmissing-prototypes
OPT	?= -O2 -g
SAN	?=
PREFIX	?= /usr
DESTDIR	?=
CFLAGS_ALL = $(CSTD) $(WARN) $(OPT) $(SAN) -Isrc/util -Isrc/global \
	  -DPOSTERN_PREFIX='"$(PREFIX)"' $(EXTRA_CFLAGS)
LIBS	= -llmdb -lpcre2-8 -lcdb -levent -lssl -lcrypto -lcares -luring -lpthread
LDFLAGS_ALL = $(SAN) $(EXTRA_LDFLAGS)

UTIL_SRC   := $(wildcard src/util/*.c)
GLOBAL_SRC := $(wildcard src/global/*.c)
PROG_DIRS  := $(filter-out src/util src/global,$(patsubst %/,%,$(sort $(dir $(wildcard src/*/*.c)))))
PROGS      := $(notdir $(PROG_DIRS))
UNIT_SRC   := $(wildcard tests/unit/test_*.c)

UTIL_OBJ   := $(UTIL_SRC:%.c=$(BUILD)/%.o)
GLOBAL_OBJ := $(GLOBAL_SRC:%.c=$(BUILD)/%.o)
BINS       := $(PROGS:%=$(BUILD)/bin/%)
UNIT_BINS  := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

# Extra names: programs that are the same binary under another name.
LINKS	= newaliases:sendmail mailq:sendmail

.PHONY: all asan check unit install clean
all: $(BUILD)/libutil.a $(BUILD)/libglobal.a $(BINS) $(UNIT_BINS) links

links: $(BINS)
	@for l in $(LINKS); do n=$${l%%:*}; t=$${l#*:}; \
	  if [ -e $(BUILD)/bin/$$t ]; then ln -sf $$t $(BUILD)/bin/$$n; fi; done

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c -o $@ $<

$(BUILD)/libutil.a: $(UTIL_OBJ)
	@rm -f $@; ar rcs $@ $^

$(BUILD)/libglobal.a: $(GLOBAL_OBJ)
	@rm -f $@; ar rcs $@ $^

.SECONDARY:
.SECONDEXPANSION:
$(BUILD)/bin/%: $$(addsuffix .o,$$(addprefix $(BUILD)/,$$(basename $$(wildcard src/$$*/*.c)))) $(BUILD)/libglobal.a $(BUILD)/libutil.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $(filter %.o,$^) $(BUILD)/libglobal.a $(BUILD)/libutil.a $(LIBS)

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(BUILD)/libglobal.a $(BUILD)/libutil.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(BUILD)/libglobal.a $(BUILD)/libutil.a $(LIBS) -lcmocka

asan:
	$(MAKE) BUILD=build-asan OPT="-O1 -g -fno-omit-frame-pointer" \
	  SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined" all

check: all asan
	tests/run

unit: all
	@for t in $(UNIT_BINS); do echo "== $$t"; $$t || exit 1; done

install: all
	PREFIX=$(PREFIX) DESTDIR=$(DESTDIR) BUILD=$(BUILD) sh tools/install.sh

clean:
	rm -rf build build-asan

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
