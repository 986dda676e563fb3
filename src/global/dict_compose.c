/*
 * dict_compose - tables made of tables: proxy: (transparent), pipemap:,
 * unionmap:, randmap:.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "argv.h"
#include "dict.h"
#include "mem.h"
#include "msg.h"
#include "stringops.h"

/*
 * proxy:type:name - postern has no proxymap service: the table is opened
 * directly (the caller's privileges apply).
 */
DICT   *dict_proxy_open(const char *name, int open_flags, int dict_flags)
{
    char   *type;
    char   *inner;
    DICT   *d;

    if (dict_split_spec(name, &type, &inner) <= 0) {
	free(type);
	free(inner);
	return (dict_surrogate("proxy", name, open_flags, dict_flags,
			       "need \"proxy:type:name\" instead of \"proxy:%s\"", name));
    }
    if (strcmp(type, "proxy") == 0) {
	free(type);
	free(inner);
	return (dict_surrogate("proxy", name, open_flags, dict_flags,
			       "proxy:%s: nested proxy: tables are not allowed", name));
    }
    d = dict_open3(type, inner, open_flags, dict_flags);
    free(type);
    free(inner);
    return (d);
}

/*
 * Composite tables: a list of component tables.
 */
typedef struct {
    DICT    dict;
    DICT  **comp;
    size_t  ncomp;
    ARGV   *values;			/* randmap: the choices */
    VSTR   *result;
} DICT_COMP;

static void comp_close(DICT *d)
{
    DICT_COMP *dc = (DICT_COMP *) d;

    for (size_t i = 0; i < dc->ncomp; i++)
	dict_close(dc->comp[i]);
    free(dc->comp);
    if (dc->values)
	argv_free(dc->values);
    vstr_free(dc->result);
    dict_free(d);
}

static DICT *comp_open(const char *type, const char *name, int open_flags, int dict_flags,
		               const char *(*lookup) (DICT *, const char *), size_t min)
{
    VSTR   *why = vstr_alloc(50);
    ARGV   *argv = dict_split_braced(name, why);
    DICT_COMP *dc;
    int     fixed = 1;

    if (argv == 0 || argv->argc < min) {
	DICT   *s = dict_surrogate(type, name, open_flags, dict_flags,
				   "bad syntax: \"%s:%s\"; need \"%s:{type:name...}\"",
				   type, name, type);

	if (argv)
	    argv_free(argv);
	vstr_free(why);
	return (s);
    }
    vstr_free(why);
    if ((open_flags & O_ACCMODE) != O_RDONLY) {
	argv_free(argv);
	return (dict_surrogate(type, name, open_flags, dict_flags,
			       "%s:%s map requires O_RDONLY access mode", type, name));
    }
    dc = (DICT_COMP *) dict_alloc(type, name, sizeof(*dc));
    dc->result = vstr_alloc(100);
    dc->comp = xcalloc(argv->argc, sizeof(DICT *));
    for (size_t i = 0; i < argv->argc; i++) {
	DICT   *c = dict_open(argv->argv[i], open_flags, dict_flags);

	dc->comp[dc->ncomp++] = c;
	if (dict_is_surrogate(c)) {
	    DICT   *s = dict_surrogate(type, name, open_flags, dict_flags, "%s", c->reason);

	    argv_free(argv);
	    comp_close(&dc->dict);
	    return (s);
	}
	if (!(c->flags & DICT_FLAG_FIXED))
	    fixed = 0;
    }
    argv_free(argv);
    /* Components fold their own keys. */
    dc->dict.flags = (dict_flags & ~DICT_FLAG_FOLD_ANY)
	| (fixed ? DICT_FLAG_FIXED : DICT_FLAG_PATTERN);
    dc->dict.lookup = lookup;
    dc->dict.close = comp_close;
    return (&dc->dict);
}

static const char *pipemap_lookup(DICT *d, const char *key)
{
    DICT_COMP *dc = (DICT_COMP *) d;
    const char *r = key;

    for (size_t i = 0; i < dc->ncomp; i++) {
	(void) vstr_cpy(dc->result, r);
	if ((r = dict_lookup(dc->comp[i], vstr_str(dc->result))) == 0) {
	    d->error = dc->comp[i]->error;
	    return (0);
	}
    }
    (void) vstr_cpy(dc->result, r);
    return (vstr_str(dc->result));
}

DICT   *dict_pipemap_open(const char *name, int open_flags, int dict_flags)
{
    return (comp_open("pipemap", name, open_flags, dict_flags, pipemap_lookup, 1));
}

static const char *unionmap_lookup(DICT *d, const char *key)
{
    DICT_COMP *dc = (DICT_COMP *) d;
    const char *r;
    int     found = 0;

    vstr_reset(dc->result);
    for (size_t i = 0; i < dc->ncomp; i++) {
	if ((r = dict_lookup(dc->comp[i], key)) != 0) {
	    if (found++)
		(void) vstr_addch(dc->result, ',');
	    (void) vstr_cat(dc->result, r);
	} else if (dc->comp[i]->error) {
	    d->error = dc->comp[i]->error;
	    return (0);
	}
    }
    return (found ? vstr_str(dc->result) : 0);
}

DICT   *dict_unionmap_open(const char *name, int open_flags, int dict_flags)
{
    return (comp_open("unionmap", name, open_flags, dict_flags, unionmap_lookup, 1));
}

/*
 * randmap:{result1, result2, ...}: a random one of the results.
 */
static const char *randmap_lookup(DICT *d, const char *key)
{
    DICT_COMP *dc = (DICT_COMP *) d;
    unsigned int r;

    if (getrandom(&r, sizeof(r), 0) != sizeof(r))
	r = (unsigned int) random();
    return (dc->values->argv[r % dc->values->argc]);
}

DICT   *dict_randmap_open(const char *name, int open_flags, int dict_flags)
{
    ARGV   *argv = dict_split_braced(name, 0);
    DICT_COMP *dc;

    if (argv == 0 || argv->argc == 0) {
	if (argv)
	    argv_free(argv);
	return (dict_surrogate("randmap", name, open_flags, dict_flags,
			       "bad syntax: \"randmap:%s\"; need \"randmap:{value...}\"",
			       name));
    }
    dc = (DICT_COMP *) dict_alloc("randmap", name, sizeof(*dc));
    dc->result = vstr_alloc(10);
    dc->values = argv;
    /* A {text with spaces} choice loses its braces. */
    for (size_t i = 0; i < argv->argc; i++) {
	char   *v = argv->argv[i];
	size_t  len = strlen(v);

	if (len >= 2 && v[0] == '{' && v[len - 1] == '}') {
	    char   *inner = xstrndup(v + 1, len - 2);

	    free(argv->argv[i]);
	    argv->argv[i] = xstrdup(trim(inner));
	    free(inner);
	}
    }
    dc->dict.flags = (dict_flags & ~DICT_FLAG_FOLD_ANY) | DICT_FLAG_FIXED;
    dc->dict.lookup = randmap_lookup;
    dc->dict.close = comp_close;
    return (&dc->dict);
}
