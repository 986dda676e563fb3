/* dict - table registry, generic operations, surrogates, reopen-on-change; see dict.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "argv.h"
#include "dict.h"
#include "dict_src.h"
#include "dict_utf8.h"
#include "mail_conf.h"
#include "mem.h"
#include "msg.h"
#include "stringops.h"

typedef struct DICT_TYPE {
    const char *type;
    DICT_OPEN_FN open;
} DICT_TYPE;

/* Sorted by name: postconf -m prints this order. */
static const DICT_TYPE dict_types[] = {
    {"btree", dict_btree_open},
    {"cdb", dict_cdb_open},
    {"cidr", dict_cidr_open},
    {"environ", dict_environ_open},
    {"fail", dict_fail_open},
    {"hash", dict_hash_open},
    {"inline", dict_inline_open},
    {"internal", dict_internal_open},
    {"lmdb", dict_lmdb_open},
    {"nis", dict_nis_open},
    {"pcre", dict_pcre_open},
    {"pipemap", dict_pipemap_open},
    {"proxy", dict_proxy_open},
    {"randmap", dict_randmap_open},
    {"regexp", dict_regexp_open},
    {"socketmap", dict_socketmap_open},
    {"static", dict_static_open},
    {"tcp", dict_tcp_open},
    {"texthash", dict_texthash_open},
    {"unionmap", dict_unionmap_open},
    {"unix", dict_unix_open},
};

#define DICT_NTYPES (sizeof(dict_types) / sizeof(dict_types[0]))

const char *const *dict_type_names(void)
{
    static const char *names[DICT_NTYPES + 1];

    if (names[0] == 0)
	for (size_t i = 0; i < DICT_NTYPES; i++)
	    names[i] = dict_types[i].type;
    return (names);
}

static const DICT_TYPE *dict_type_find(const char *type)
{
    for (size_t i = 0; i < DICT_NTYPES; i++)
	if (strcmp(dict_types[i].type, type) == 0)
	    return (&dict_types[i]);
    return (0);
}

int     dict_type_known(const char *type)
{
    return (dict_type_find(type) != 0);
}

const char *dict_default_type(void)
{
    const char *t = mail_conf_str("default_database_type");

    return (t && *t ? t : "hash");
}

const char *dict_file_suffix(const char *type)
{
    if (strcmp(type, "hash") == 0 || strcmp(type, "btree") == 0)
	return (".db");
    if (strcmp(type, "lmdb") == 0)
	return (".lmdb");
    if (strcmp(type, "cdb") == 0)
	return (".cdb");
    return (0);
}

/*
 * "type:name". The type is what precedes the first ':' when that is a
 * plausible type name (letters, digits, '_', '-'); otherwise the whole
 * spec is a file name of the default type. Returns 1 (type given), 0
 * (default type), or -1 for an empty type or name ("hash:", ":x"): the
 * caller reports DICT_SPEC_ERROR_FMT.
 */
int     dict_split_spec(const char *spec, char **type, char **name)
{
    const char *colon = strchr(spec, ':');
    const char *cp;

    if (colon) {
	for (cp = spec; cp < colon; cp++)
	    if (!(('a' <= *cp && *cp <= 'z') || ('A' <= *cp && *cp <= 'Z')
		  || ('0' <= *cp && *cp <= '9') || *cp == '_' || *cp == '-'))
		break;
	if (cp == colon) {
	    *type = xstrndup(spec, (size_t) (colon - spec));
	    *name = xstrdup(colon + 1);
	    return ((colon == spec || colon[1] == 0) ? -1 : 1);
	}
    }
    *type = xstrdup(dict_default_type());
    *name = xstrdup(spec);
    return (0);
}

DICT   *dict_alloc(const char *type, const char *name, size_t size)
{
    DICT   *d;

    if (size < sizeof(DICT))
	msg_panic("dict_alloc: bad size %zu", size);
    d = xcalloc(1, size);
    d->type = type;
    d->name = xstrdup(name);
    return (d);
}

void    dict_free(DICT *d)
{
    free(d->name);
    free(d->reason);
    free(d->watch_path);
    if (d->fold_buf)
	vstr_free(d->fold_buf);
    free(d);
}

const char *dict_spec(DICT *d)
{
    static VSTR *buf;

    if (buf == 0)
	buf = vstr_alloc(100);
    (void) vstr_fmt(buf, "%s:%s", d->type, d->name);
    return (vstr_str(buf));
}

/*
 * Surrogate: a table that could not be opened. Every operation fails with
 * a configuration error and, as Postfix's does, logs the reason each time.
 */
typedef struct {
    DICT    dict;
    char   *real_type;
} DICT_SURR;

static void surr_warn(DICT *d)
{
    DICT_SURR *s = (DICT_SURR *) d;

    msg_warn("%s:%s is unavailable. %s", s->real_type, d->name, d->reason);
    d->error = DICT_ERR_CONFIG;
}

static const char *surr_lookup(DICT *d, const char *key)
{
    surr_warn(d);
    return (0);
}

static int surr_update(DICT *d, const char *k, const char *v)
{
    surr_warn(d);
    return (DICT_STAT_ERROR);
}

static int surr_delete(DICT *d, const char *k)
{
    surr_warn(d);
    return (DICT_STAT_ERROR);
}

static int surr_sequence(DICT *d, int f, const char **k, const char **v)
{
    surr_warn(d);
    return (DICT_STAT_ERROR);
}

static void surr_close(DICT *d)
{
    free(((DICT_SURR *) d)->real_type);
    dict_free(d);
}

DICT   *dict_surrogate(const char *type, const char *name, int open_flags,
		               int dict_flags, const char *fmt,...)
{
    DICT   *d = dict_alloc("surrogate", name, sizeof(DICT_SURR));
    VSTR   *buf = vstr_alloc(100);
    va_list ap;

    va_start(ap, fmt);
    (void) vstr_vfmt_append(buf, fmt, ap);
    va_end(ap);
    d->reason = vstr_export(buf);
    /* Both kinds, so that partial-key searches see the failure too. */
    d->flags = dict_flags | DICT_FLAG_FIXED | DICT_FLAG_PATTERN;
    d->open_flags = open_flags;
    d->lookup = surr_lookup;
    d->update = surr_update;
    d->delete = surr_delete;
    d->sequence = surr_sequence;
    d->close = surr_close;
    ((DICT_SURR *) d)->real_type = xstrdup(type);
    return (d);
}

int     dict_is_surrogate(const DICT *d)
{
    /* A surrogate, or a watcher whose table could not be opened (yet). */
    return (d->reason != 0);
}

/*
 * Postfix's warning when an indexed file is older than its source (unless
 * the source changed in the last 100 seconds: a rebuild may be under way).
 */
void    dict_check_source_age(const char *db_path, const char *source)
{
    struct stat db_st, src_st;

    if (stat(db_path, &db_st) == 0 && stat(source, &src_st) == 0
	&& src_st.st_mtime > db_st.st_mtime
	&& src_st.st_mtime < time((time_t *) 0) - 100)
	msg_warn("database %s is older than source file %s", db_path, source);
}

/*
 * Reopen-on-change support.
 */
void    dict_watch_file(DICT *d, const char *path, int fd)
{
    struct stat st;

    if ((fd >= 0 ? fstat(fd, &st) : stat(path, &st)) < 0)
	return;
    free(d->watch_path);
    d->watch_path = xstrdup(path);
    d->watch_dev = st.st_dev;
    d->watch_ino = st.st_ino;
    d->watch_mtime = st.st_mtim;
    d->watch_size = st.st_size;
}

int     dict_file_changed(DICT *d)
{
    struct stat st;

    if (d->watch_path == 0)
	return (0);
    if (stat(d->watch_path, &st) < 0)
	return (0);				/* gone: keep what we have */
    if (d->watch_inode_only)
	return (st.st_dev != d->watch_dev || st.st_ino != d->watch_ino);
    return (st.st_dev != d->watch_dev || st.st_ino != d->watch_ino
	    || st.st_mtim.tv_sec != d->watch_mtime.tv_sec
	    || st.st_mtim.tv_nsec != d->watch_mtime.tv_nsec
	    || st.st_size != d->watch_size);
}

/*
 * The watcher wraps a table opened with DICT_FLAG_WATCH. At most once per
 * second it stats the table's file; when the file was replaced (postmap
 * renames a new one into place) or modified, the table is opened anew and
 * the old one closed. When the new open fails, the old table stays.
 */
int     dict_watch_interval = 1;

typedef struct {
    DICT    dict;
    DICT   *inner;
    char   *spec_type;
    int     open_dict_flags;		/* as given to dict_open3, less WATCH */
    time_t  last_check;
} DICT_WATCHER;

static void watch_check(DICT_WATCHER *w)
{
    time_t  now = time((time_t *) 0);
    DICT   *fresh;

    if (dict_watch_interval > 0 && now - w->last_check < dict_watch_interval)
	return;
    w->last_check = now;
    if (dict_is_surrogate(w->inner)) {
	/* Not there at startup: try again, quietly, until it is. */
	fresh = dict_open3(w->spec_type, w->dict.name, w->inner->open_flags,
			   w->open_dict_flags);
	if (dict_is_surrogate(fresh)) {
	    dict_close(fresh);
	    return;
	}
	msg_info("%s:%s is now available", w->spec_type, w->dict.name);
	dict_close(w->inner);
	w->inner = fresh;
	free(w->dict.reason);
	w->dict.reason = 0;
	w->dict.flags = fresh->flags | DICT_FLAG_WATCH;
	return;
    }
    if (!dict_file_changed(w->inner))
	return;
    fresh = dict_open3(w->spec_type, w->dict.name, w->inner->open_flags,
		       w->open_dict_flags);
    if (dict_is_surrogate(fresh)) {
	msg_warn("%s:%s changed but cannot be reopened: %s; using the previous version",
		 w->spec_type, w->dict.name, fresh->reason);
	dict_close(fresh);
	dict_watch_file(w->inner, w->inner->watch_path, -1);	/* warn once */
	return;
    }
    if (msg_verbose)
	msg_info("%s:%s changed: reopened", w->spec_type, w->dict.name);
    dict_close(w->inner);
    w->inner = fresh;
}

static const char *watch_lookup(DICT *d, const char *key)
{
    DICT_WATCHER *w = (DICT_WATCHER *) d;
    const char *r;

    watch_check(w);
    r = dict_lookup(w->inner, key);
    d->error = w->inner->error;
    return (r);
}

static int watch_update(DICT *d, const char *k, const char *v)
{
    DICT_WATCHER *w = (DICT_WATCHER *) d;
    int     r = dict_update(w->inner, k, v);

    d->error = w->inner->error;
    return (r);
}

static int watch_delete(DICT *d, const char *k)
{
    DICT_WATCHER *w = (DICT_WATCHER *) d;
    int     r = dict_delete(w->inner, k);

    d->error = w->inner->error;
    return (r);
}

static int watch_sequence(DICT *d, int f, const char **k, const char **v)
{
    DICT_WATCHER *w = (DICT_WATCHER *) d;
    int     r;

    if (f == DICT_SEQ_FUN_FIRST)
	watch_check(w);
    r = dict_sequence(w->inner, f, k, v);
    d->error = w->inner->error;
    return (r);
}

static void watch_close(DICT *d)
{
    DICT_WATCHER *w = (DICT_WATCHER *) d;

    dict_close(w->inner);
    free(w->spec_type);
    dict_free(d);
}

DICT   *dict_open3(const char *type, const char *name, int open_flags, int dict_flags)
{
    const DICT_TYPE *t = dict_type_find(type);
    DICT   *d;
    DICT_WATCHER *w;

    if (t == 0)
	return (dict_surrogate(type, name, open_flags, dict_flags,
			       "unsupported dictionary type: %s", type));
    /* smtputf8_enable = yes: UTF-8 keys, Unicode case folding (as Postfix). */
    if (!(dict_flags & (DICT_FLAG_UTF8 | DICT_FLAG_NO_UTF8)) && dict_utf8_conf_enabled())
	dict_flags |= DICT_FLAG_UTF8;
    d = t->open(name, open_flags, dict_flags & ~DICT_FLAG_WATCH);
    if (d->open_flags == 0)
	d->open_flags = open_flags;
    if (!(dict_flags & DICT_FLAG_WATCH) || (!dict_is_surrogate(d) && d->watch_path == 0))
	return (d);
    w = (DICT_WATCHER *) dict_alloc(t->type, name, sizeof(*w));
    w->inner = d;
    w->spec_type = xstrdup(type);
    w->open_dict_flags = dict_flags & ~DICT_FLAG_WATCH;
    if (dict_is_surrogate(d))
	w->dict.reason = xstrdup(d->reason);
    w->dict.flags = d->flags | DICT_FLAG_WATCH;
    w->dict.open_flags = open_flags;
    w->dict.lookup = watch_lookup;
    w->dict.update = watch_update;
    w->dict.delete = watch_delete;
    w->dict.sequence = watch_sequence;
    w->dict.close = watch_close;
    w->last_check = time((time_t *) 0);
    return (&w->dict);
}

DICT   *dict_open(const char *spec, int open_flags, int dict_flags)
{
    char   *type;
    char   *name;
    DICT   *d;

    if (dict_split_spec(spec, &type, &name) < 0)
	d = dict_surrogate(type, name, open_flags, dict_flags, DICT_SPEC_ERROR_FMT, spec);
    else
	d = dict_open3(type, name, open_flags, dict_flags);
    free(type);
    free(name);
    return (d);
}

/*
 * Generic operations. Case folding happens here for leaf tables: fixed
 * tables fold with DICT_FLAG_FOLD_FIX, pattern tables with FOLD_MUL.
 */
const char *dict_fold_key(DICT *d, const char *key)
{
    int     fold;

    if ((d->flags & DICT_FLAG_UTF8) && !dict_utf8_valid(key)) {
	VSTR   *buf = vstr_alloc(strlen(key) + 1);

	/* Postfix's cdb: calls itself by its file name here. */
	msg_warn("%s:%s%s: non-UTF-8 key \"%s\": malformed UTF-8 or invalid codepoint",
		 d->type, d->name, strcmp(d->type, "cdb") == 0 ? ".cdb" : "",
		 dict_src_printable(buf, key));
	vstr_free(buf);
	return (0);
    }
    fold = ((d->flags & DICT_FLAG_FIXED) && (d->flags & DICT_FLAG_FOLD_FIX))
	|| ((d->flags & DICT_FLAG_PATTERN) && (d->flags & DICT_FLAG_FOLD_MUL));
    if (!fold)
	return (key);
    if (d->fold_buf == 0)
	d->fold_buf = vstr_alloc(strlen(key) + 1);
    (void) vstr_cpy(d->fold_buf, key);
    dict_utf8_fold(d->fold_buf, (d->flags & DICT_FLAG_UTF8) != 0);
    return (vstr_str(d->fold_buf));
}

const char *dict_lookup(DICT *d, const char *key)
{
    const char *r;

    d->error = DICT_ERR_NONE;
    if (strlen(key) > DICT_MAX_KEY)
	return (0);
    if (d->lookup == 0) {
	msg_warn("table %s:%s: lookup operation is not supported", d->type, d->name);
	d->error = DICT_ERR_CONFIG;
	return (0);
    }
    if ((key = dict_fold_key(d, key)) == 0)
	return (0);				/* not UTF-8: not found */
    r = d->lookup(d, key);
    if (r != 0 && *r == 0 && d->lookup != surr_lookup) {
	/* Postfix's rule: an empty result is a table bug; it is still used. */
	msg_warn("table %s:%s: key %s: empty string result is not allowed",
		 d->type, d->name, key);
	msg_warn("table %s:%s should return NO RESULT in case of NOT FOUND",
		 d->type, d->name);
    }
    return (r);
}

int     dict_update(DICT *d, const char *key, const char *value)
{
    d->error = DICT_ERR_NONE;
    if (d->update == 0) {
	msg_warn("table %s:%s: update operation is not supported", d->type, d->name);
	d->error = DICT_ERR_CONFIG;
	return (DICT_STAT_ERROR);
    }
    if ((key = dict_fold_key(d, key)) == 0)
	return (DICT_STAT_FAIL);
    return (d->update(d, key, value));
}

int     dict_delete(DICT *d, const char *key)
{
    d->error = DICT_ERR_NONE;
    if (d->delete == 0) {
	msg_warn("table %s:%s: delete operation is not supported", d->type, d->name);
	d->error = DICT_ERR_CONFIG;
	return (DICT_STAT_ERROR);
    }
    if ((key = dict_fold_key(d, key)) == 0)
	return (DICT_STAT_FAIL);
    return (d->delete(d, key));
}

int     dict_sequence(DICT *d, int func, const char **key, const char **value)
{
    d->error = DICT_ERR_NONE;
    if (d->sequence == 0) {
	msg_warn("table %s:%s: sequence operation is not supported", d->type, d->name);
	d->error = DICT_ERR_CONFIG;
	return (DICT_STAT_ERROR);
    }
    return (d->sequence(d, func, key, value));
}

void    dict_close(DICT *d)
{
    d->close(d);
}

/*
 * "{ a, b, { c d }, e }" -> argv of a, b, c d, e. Each element is one
 * table name; braces inside an element (inline:{...}) are kept.
 */
ARGV   *dict_split_braced(const char *name, VSTR *why)
{
    size_t  len = strlen(name);
    char   *copy;
    char   *bp;
    char   *tok;
    ARGV   *argv;

    if (len < 2 || name[0] != '{' || name[len - 1] != '}') {
	if (why)
	    (void) vstr_cpy(why, "missing '{' or '}'");
	return (0);
    }
    copy = xstrndup(name + 1, len - 2);
    argv = argv_alloc(4);
    bp = copy;
    while ((tok = mystrtok_cw(&bp, CHARS_COMMA_SP, 0)) != 0)
	argv_add(argv, tok);
    free(copy);
    return (argv);
}
