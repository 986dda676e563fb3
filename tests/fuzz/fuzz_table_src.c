/*
 * fuzz_table_src - libFuzzer target for the table source parsers: the
 * postmap and aliases(5) formats (mkmap_load), texthash:, regexp:, pcre:
 * and cidr: files, and the alias value normalizer. Not run in CI; see
 * tests/fuzz/README.md for how to build and run it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dict.h"
#include "dict_src.h"
#include "mkmap.h"
#include "msg.h"
#include "vstr.h"

static char path[64];

static void probe(const char *type)
{
    char    spec[128];
    DICT   *d;

    snprintf(spec, sizeof(spec), "%s:%s", type, path);
    for (int utf8 = 0; utf8 <= 1; utf8++) {
	d = dict_open(spec, O_RDONLY, DICT_FLAG_DEFAULT
		      | (utf8 ? DICT_FLAG_UTF8 : DICT_FLAG_NO_UTF8));
	(void) dict_lookup(d, "user@example.com");
	(void) dict_lookup(d, "10.1.2.3");
	(void) dict_lookup(d, "2001:db8::1");
	(void) dict_lookup(d, "\xd0\x9a\xd0\x9b\xc3\x84");
	(void) dict_lookup(d, "bad\xff");
	(void) dict_lookup(d, "");
	dict_close(d);
    }
}

int     LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FILE   *fp;
    DICT   *d;
    VSTR   *out;
    char   *text;

    if (path[0] == 0) {
	snprintf(path, sizeof(path), "/tmp/fuzz_table_src.%ld", (long) getpid());
	msg_stderr_enable(0);
    }
    if ((fp = fopen(path, "w")) == 0)
	abort();
    fwrite(data, 1, size, fp);
    fclose(fp);
    probe("texthash");
    probe("regexp");
    probe("pcre");
    probe("cidr");
    for (int syntax = MKMAP_POSTMAP; syntax <= MKMAP_ALIAS; syntax++) {
	d = dict_open("internal:fuzz", O_RDWR, DICT_FLAG_DUP_WARN | DICT_FLAG_FOLD_FIX
		      | (size % 2 ? DICT_FLAG_UTF8 : DICT_FLAG_NO_UTF8));
	if ((fp = fopen(path, "r")) == 0)
	    abort();
	mkmap_load(d, fp, path, syntax);		/* closes fp */
	dict_close(d);
    }
    text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = 0;
    out = vstr_alloc(size + 1);
    dict_src_alias_value(out, text);
    vstr_free(out);
    free(text);
    return (0);
}
