/*
 * libFuzzer target: main.cf logical lines (readlline), name = value
 * splitting and $name expansion (mac_expand, including ${name?{a}:{b}}
 * and relational expressions) over the values of the same input.
 * Build and run: see tests/fuzz/README.md.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "htable.h"
#include "mac_expand.h"
#include "msg.h"
#include "readlline.h"
#include "stringops.h"
#include "vstr.h"

int     LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *lookup(const char *name, void *ctx)
{
    return (htable_find((HTABLE *) ctx, name));
}

int     LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    FILE   *fp;
    VSTR   *buf, *out;
    HTABLE *table;
    HTABLE_ENT **list;
    int     last = 0, first = 0;

    if (!init) {
	msg_init("fuzz_main_conf", 0);
	msg_stderr_enable(0);
	init = 1;
    }
    if (size == 0 || (fp = fmemopen((void *) data, size, "r")) == 0)
	return (0);
    buf = vstr_alloc(100);
    out = vstr_alloc(100);
    vstr_set_limit(out, 1 << 20);
    table = htable_create(16);
    while (readlline(buf, fp, &last, &first)) {
	char   *name, *value;

	if (split_nameval(vstr_str(buf), &name, &value) == 0) {
	    free(htable_find(table, name));
	    htable_enter(table, name, strdup(value));
	}
    }
    fclose(fp);
    list = htable_list(table, 1);
    for (size_t i = 0; list[i]; i++) {
	const char *why;

	vstr_reset(out);
	(void) mac_expand(out, list[i]->value, lookup, table, &why);
    }
    free(list);
    htable_free(table, free);
    vstr_free(buf);
    vstr_free(out);
    return (0);
}
