/*
 * dict_text - in-memory tables: texthash:, inline:, internal:, and the
 * trivial types static:, fail:, environ:, unix:.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "argv.h"
#include "dict.h"
#include "dict_src.h"
#include "dict_utf8.h"
#include "htable.h"
#include "mem.h"
#include "mkmap.h"
#include "msg.h"
#include "stringops.h"

/*
 * Memory table: an htable of key -> value, sorted sequence.
 */
typedef struct {
    DICT    dict;
    HTABLE *table;
    ARGV   *order;			/* keys in insertion order (sequence) */
    size_t  seq_pos;
} DICT_MEM;

static const char *mem_lookup(DICT *d, const char *key)
{
    return (htable_find(((DICT_MEM *) d)->table, key));
}

static int mem_update(DICT *d, const char *key, const char *value)
{
    DICT_MEM *dm = (DICT_MEM *) d;
    HTABLE_ENT *ent;

    if ((ent = htable_locate(dm->table, key)) != 0) {
	if (d->flags & DICT_FLAG_DUP_WARN) {
	    msg_warn("%s:%s: duplicate entry: \"%s\"", d->type, d->name, key);
	    return (DICT_STAT_FAIL);
	}
	if (d->flags & DICT_FLAG_DUP_IGNORE)
	    return (DICT_STAT_FAIL);
	free(ent->value);
	ent->value = xstrdup(value);
	return (DICT_STAT_SUCCESS);
    }
    htable_enter(dm->table, key, xstrdup(value));
    argv_add(dm->order, key);
    return (DICT_STAT_SUCCESS);
}

static int mem_delete(DICT *d, const char *key)
{
    DICT_MEM *dm = (DICT_MEM *) d;

    if (htable_locate(dm->table, key) == 0)
	return (DICT_STAT_FAIL);
    htable_delete(dm->table, key, free);
    for (size_t i = 0; i < dm->order->argc; i++)
	if (strcmp(dm->order->argv[i], key) == 0) {
	    argv_delete(dm->order, i, 1);
	    if (dm->seq_pos > i)
		dm->seq_pos--;
	    break;
	}
    return (DICT_STAT_SUCCESS);
}

static int mem_sequence(DICT *d, int func, const char **key, const char **value)
{
    DICT_MEM *dm = (DICT_MEM *) d;
    HTABLE_ENT *ent;

    /* Insertion order (Postfix's inline: lists in hash order). */
    if (func == DICT_SEQ_FUN_FIRST)
	dm->seq_pos = 0;
    while (dm->seq_pos < dm->order->argc) {
	if ((ent = htable_locate(dm->table, dm->order->argv[dm->seq_pos++])) != 0) {
	    *key = ent->key;
	    *value = ent->value;
	    return (DICT_STAT_SUCCESS);
	}
    }
    return (DICT_STAT_FAIL);
}

static void mem_close(DICT *d)
{
    DICT_MEM *dm = (DICT_MEM *) d;

    htable_free(dm->table, free);
    argv_free(dm->order);
    dict_free(d);
}

static DICT_MEM *mem_alloc(const char *type, const char *name, int dict_flags)
{
    DICT_MEM *dm = (DICT_MEM *) dict_alloc(type, name, sizeof(*dm));

    dm->table = htable_create(64);
    dm->order = argv_alloc(16);
    dm->dict.flags = dict_flags | DICT_FLAG_FIXED;
    dm->dict.lookup = mem_lookup;
    dm->dict.update = mem_update;
    dm->dict.delete = mem_delete;
    dm->dict.sequence = mem_sequence;
    dm->dict.close = mem_close;
    return (dm);
}

/*
 * texthash:FILE - postmap's source format, read into memory at open.
 */
DICT   *dict_texthash_open(const char *name, int open_flags, int dict_flags)
{
    FILE   *fp;
    DICT_SRC *src;
    DICT_MEM *dm;
    char   *line;
    char   *key;
    char   *value;
    VSTR   *fold;
    VSTR   *rhs;

    if ((open_flags & O_ACCMODE) != O_RDONLY)
	return (dict_surrogate("texthash", name, open_flags, dict_flags,
			       "texthash:%s map requires O_RDONLY access mode", name));
    if ((fp = fopen(name, "r")) == 0)
	return (dict_surrogate("texthash", name, open_flags, dict_flags,
			       "open database %s: %s", name, strerror(errno)));
    fold = vstr_alloc(64);
    rhs = vstr_alloc(64);
    dm = mem_alloc("texthash", name, dict_flags);
    dict_watch_file(&dm->dict, name, fileno(fp));
    src = dict_src_open(name, fp);
    while ((line = dict_src_read(src)) != 0) {
	int     rc;

	if ((dict_flags & DICT_FLAG_UTF8) && !dict_utf8_valid(line)) {
	    msg_warn("%s, line %d: non-UTF-8 input \"%s\" -- ignoring this line",
		     name, src->lineno, dict_src_printable(fold, line));
	    continue;
	}
	(void) dict_src_printable(fold, line);
	if ((rc = dict_src_split(line, &key, &value)) == DICT_SRC_UNBALANCED) {
	    msg_warn("%s, line %d: unbalanced '\"' in '%s' -- ignoring this line",
		     name, src->lineno, vstr_str(fold));
	    continue;
	}
	if (rc < 0) {
	    msg_warn("%s, line %d: expected format: key whitespace value -- ignoring this line",
		     name, src->lineno);
	    continue;
	}
	if (dict_flags & DICT_FLAG_SRC_RHS_IS_FILE) {
	    VSTR   *why = vstr_alloc(100);

	    if (mkmap_file_value(rhs, value, why) < 0) {
		msg_warn("%s, line %d: %s: skipping this entry", name, src->lineno,
			 vstr_str(why));
		vstr_free(why);
		continue;
	    }
	    vstr_free(why);
	    value = vstr_str(rhs);
	}
	if (dict_flags & DICT_FLAG_FOLD_FIX) {
	    (void) vstr_cpy(fold, key);
	    dict_utf8_fold(fold, (dict_flags & DICT_FLAG_UTF8) != 0);
	    key = vstr_str(fold);
	}
	if (htable_locate(dm->table, key) != 0) {
	    if (dict_flags & DICT_FLAG_DUP_REPLACE) {
		HTABLE_ENT *ent = htable_locate(dm->table, key);

		free(ent->value);
		ent->value = xstrdup(value);
		continue;
	    } else {
		if (!(dict_flags & DICT_FLAG_DUP_IGNORE))
		    msg_warn("%s, line %d: duplicate entry: \"%s\"", name, src->lineno, key);
		continue;
	    }
	}
	htable_enter(dm->table, key, xstrdup(value));
	argv_add(dm->order, key);
    }
    dict_src_close(src);
    vstr_free(fold);
    vstr_free(rhs);
    dm->dict.update = 0;
    dm->dict.delete = 0;
    return (&dm->dict);
}

/*
 * internal:NAME - an empty, updatable in-memory table.
 */
DICT   *dict_internal_open(const char *name, int open_flags, int dict_flags)
{
    return (&mem_alloc("internal", name, dict_flags)->dict);
}

/*
 * inline:{ key=value, { key = text with spaces } }
 */
DICT   *dict_inline_open(const char *name, int open_flags, int dict_flags)
{
    ARGV   *elems;
    DICT_MEM *dm;
    VSTR   *fold;

    if ((open_flags & O_ACCMODE) != O_RDONLY)
	return (dict_surrogate("inline", name, open_flags, dict_flags,
			       "inline:%s map requires O_RDONLY access mode", name));
    if ((elems = dict_split_braced(name, 0)) == 0) {
	return (dict_surrogate("inline", name, open_flags, dict_flags,
			       "bad syntax: \"inline:%s\"; need \"inline:{name=value...}\"",
			       name));
    }
    fold = vstr_alloc(64);
    dm = mem_alloc("inline", name, dict_flags);
    for (size_t i = 0; i < elems->argc; i++) {
	char   *elem = elems->argv[i];
	char   *k;
	char   *v;
	const char *err;

	if (*elem == '{') {
	    size_t  len = strlen(elem);

	    if (len < 2 || elem[len - 1] != '}') {
		DICT   *s = dict_surrogate("inline", name, open_flags, dict_flags,
		   "bad syntax: \"inline:%s\"; need \"inline:{name=value...}\"", name);

		argv_free(elems);
		mem_close(&dm->dict);
		vstr_free(fold);
		return (s);
	    }
	    elem[len - 1] = 0;
	    elem++;
	}
	if ((err = split_nameval(elem, &k, &v)) != 0) {
	    DICT   *s = dict_surrogate("inline", name, open_flags, dict_flags,
				       "%s: \"inline:%s\"; need \"inline:{name=value...}\"",
				       strchr(elem, '=') ? err : "missing '=' after attribute name",
				       name);

	    argv_free(elems);
	    mem_close(&dm->dict);
	    vstr_free(fold);
	    return (s);
	}
	if (dict_flags & DICT_FLAG_SRC_RHS_IS_FILE) {
	    VSTR   *why = vstr_alloc(100);

	    if (mkmap_file_value(fold, v, why) < 0) {
		DICT   *s = dict_surrogate("inline", name, open_flags, dict_flags,
			    "%s: \"inline:%s\"; need \"inline:{name=filename...}\"",
					   vstr_str(why), name);

		vstr_free(why);
		argv_free(elems);
		mem_close(&dm->dict);
		vstr_free(fold);
		return (s);
	    }
	    vstr_free(why);
	    v = vstr_str(fold);
	    if (htable_locate(dm->table, k) == 0)
		argv_add(dm->order, k);
	    else
		htable_delete(dm->table, k, free);
	    htable_enter(dm->table, k, xstrdup(v));
	    continue;
	}
	if (dict_flags & DICT_FLAG_FOLD_FIX) {
	    (void) vstr_cpy(fold, k);
	    dict_utf8_fold(fold, (dict_flags & DICT_FLAG_UTF8) != 0);
	    k = vstr_str(fold);
	}
	/* The last definition wins, as in Postfix. */
	if (htable_locate(dm->table, k) != 0) {
	    HTABLE_ENT *ent = htable_locate(dm->table, k);

	    free(ent->value);
	    ent->value = xstrdup(v);
	} else {
	    htable_enter(dm->table, k, xstrdup(v));
	    argv_add(dm->order, k);
	}
    }
    argv_free(elems);
    vstr_free(fold);
    dm->dict.update = 0;
    dm->dict.delete = 0;
    return (&dm->dict);
}

/*
 * static:value, static:{ text with spaces }
 */
typedef struct {
    DICT    dict;
    char   *value;
} DICT_STATIC;

static const char *static_lookup(DICT *d, const char *key)
{
    return (((DICT_STATIC *) d)->value);
}

static void static_close(DICT *d)
{
    free(((DICT_STATIC *) d)->value);
    dict_free(d);
}

DICT   *dict_static_open(const char *name, int open_flags, int dict_flags)
{
    DICT_STATIC *ds = (DICT_STATIC *) dict_alloc("static", name, sizeof(*ds));
    size_t  len = strlen(name);

    if (len >= 2 && name[0] == '{' && name[len - 1] == '}') {
	char   *copy = xstrndup(name + 1, len - 2);

	ds->value = xstrdup(trim(copy));
	free(copy);
    } else if (name[0] == '{') {
	dict_free(&ds->dict);
	return (dict_surrogate("static", name, open_flags, dict_flags,
			       "bad static:%s syntax: missing '}'", name));
    } else {
	ds->value = xstrdup(name);
    }
    ds->dict.flags = dict_flags | DICT_FLAG_FIXED;
    ds->dict.lookup = static_lookup;
    ds->dict.close = static_close;
    return (&ds->dict);
}

/*
 * fail:name - every lookup fails (a temporary error).
 */
static const char *fail_lookup(DICT *d, const char *key)
{
    d->error = DICT_ERR_RETRY;
    return (0);
}

static int fail_update(DICT *d, const char *k, const char *v)
{
    d->error = DICT_ERR_RETRY;
    return (DICT_STAT_ERROR);
}

static int fail_delete(DICT *d, const char *k)
{
    d->error = DICT_ERR_RETRY;
    return (DICT_STAT_ERROR);
}

static int fail_sequence(DICT *d, int f, const char **k, const char **v)
{
    d->error = DICT_ERR_RETRY;
    return (DICT_STAT_ERROR);
}

static void plain_close(DICT *d)
{
    dict_free(d);
}

DICT   *dict_fail_open(const char *name, int open_flags, int dict_flags)
{
    DICT   *d = dict_alloc("fail", name, sizeof(DICT));

    d->flags = dict_flags | DICT_FLAG_PATTERN;
    d->lookup = fail_lookup;
    d->update = fail_update;
    d->delete = fail_delete;
    d->sequence = fail_sequence;
    d->close = plain_close;
    return (d);
}

/*
 * environ:name - the process environment.
 */
static const char *environ_lookup(DICT *d, const char *key)
{
    return (getenv(key));
}

DICT   *dict_environ_open(const char *name, int open_flags, int dict_flags)
{
    DICT   *d = dict_alloc("environ", name, sizeof(DICT));

    /* Keys are case-folded like any fixed table's (Postfix: -f for HOME). */
    d->flags = dict_flags | DICT_FLAG_FIXED;
    d->lookup = environ_lookup;
    d->close = plain_close;
    return (d);
}

/*
 * unix:passwd.byname, unix:group.byname
 *
 * Answers are kept for UNIX_CACHE_TTL_MS: smtpd asks local_recipient_maps
 * (default unix:passwd.byname) for "user@domain" and then "user" on every
 * RCPT, and each getpwnam() reads /etc/passwd through NSS (and, for a
 * name not found in the files, asks the next NSS source, e.g. systemd
 * over a socket). A user added or removed is seen within that second, as
 * with a name-service cache (nscd keeps negative passwd answers for 20 s
 * by default). Lookup errors are not kept. Bounded: UNIX_CACHE_SIZE
 * entries, the oldest replaced first.
 */
#define UNIX_CACHE_SIZE		64
#define UNIX_CACHE_TTL_MS	1000

typedef struct {
    char   *key;
    char   *value;			/* 0: not found */
    long long expires;			/* monotonic ms */
} UNIX_CACHED;

typedef struct {
    DICT    dict;
    VSTR   *buf;
    int     group;
    UNIX_CACHED cache[UNIX_CACHE_SIZE];
    int     cache_next;			/* the slot to replace next */
} DICT_UNIX;

static long long unix_now_ms(void)
{
    struct timespec ts;

    (void) clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return ((long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

static const char *unix_lookup_uncached(DICT *d, const char *key);

static const char *unix_lookup(DICT *d, const char *key)
{
    DICT_UNIX *du = (DICT_UNIX *) d;
    long long now = unix_now_ms();
    UNIX_CACHED *c;
    const char *value;

    for (int i = 0; i < UNIX_CACHE_SIZE; i++) {
	c = du->cache + i;
	if (c->key && c->expires > now && strcmp(c->key, key) == 0)
	    return (c->value);
    }
    value = unix_lookup_uncached(d, key);
    if (d->error)
	return (0);
    c = du->cache + du->cache_next;
    du->cache_next = (du->cache_next + 1) % UNIX_CACHE_SIZE;
    free(c->key);
    free(c->value);
    c->key = xstrdup(key);
    c->value = value ? xstrdup(value) : 0;
    c->expires = now + UNIX_CACHE_TTL_MS;
    return (c->value);
}

static const char *unix_lookup_uncached(DICT *d, const char *key)
{
    DICT_UNIX *du = (DICT_UNIX *) d;

    if (!du->group) {
	struct passwd *pw;

	errno = 0;
	if ((pw = getpwnam(key)) == 0) {
	    if (errno != 0 && errno != ENOENT && errno != ESRCH && errno != EBADF
		&& errno != EPERM)
		d->error = DICT_ERR_RETRY;
	    return (0);
	}
	(void) vstr_fmt(du->buf, "%s:%s:%ld:%ld:%s:%s:%s", pw->pw_name, pw->pw_passwd,
			(long) pw->pw_uid, (long) pw->pw_gid, pw->pw_gecos,
			pw->pw_dir, pw->pw_shell);
    } else {
	struct group *gr;

	errno = 0;
	if ((gr = getgrnam(key)) == 0) {
	    if (errno != 0 && errno != ENOENT && errno != ESRCH && errno != EBADF
		&& errno != EPERM)
		d->error = DICT_ERR_RETRY;
	    return (0);
	}
	(void) vstr_fmt(du->buf, "%s:%s:%ld:", gr->gr_name, gr->gr_passwd, (long) gr->gr_gid);
	for (char **mp = gr->gr_mem; mp && *mp; mp++)
	    (void) vstr_fmt_append(du->buf, "%s%s", mp == gr->gr_mem ? "" : ",", *mp);
    }
    return (vstr_str(du->buf));
}

static void unix_close(DICT *d)
{
    DICT_UNIX *du = (DICT_UNIX *) d;

    for (int i = 0; i < UNIX_CACHE_SIZE; i++) {
	free(du->cache[i].key);
	free(du->cache[i].value);
    }
    vstr_free(du->buf);
    dict_free(d);
}

DICT   *dict_unix_open(const char *name, int open_flags, int dict_flags)
{
    DICT_UNIX *du;
    int     group;

    if (strcmp(name, "passwd.byname") == 0)
	group = 0;
    else if (strcmp(name, "group.byname") == 0)
	group = 1;
    else
	return (dict_surrogate("unix", name, open_flags, dict_flags,
			       "unknown table: unix:%s", name));
    du = (DICT_UNIX *) dict_alloc("unix", name, sizeof(*du));
    du->buf = vstr_alloc(100);
    du->group = group;
    du->dict.flags = dict_flags | DICT_FLAG_FIXED;
    du->dict.lookup = unix_lookup;
    du->dict.close = unix_close;
    return (&du->dict);
}

/*
 * nis:MAP - postern has no NIS client. Like Postfix on a host without a
 * NIS domain (the common case, and Postfix's default alias_maps names
 * nis:mail.aliases), the table finds nothing, after one warning. On a host
 * with a NIS domain the table fails (lookups defer) rather than silently
 * ignore what NIS would have answered.
 */
static const char *nis_lookup(DICT *d, const char *key)
{
    static int warned;

    if (!warned++)
	msg_warn("dict_nis_init: NIS domain name not set - NIS lookups disabled");
    return (0);
}

DICT   *dict_nis_open(const char *name, int open_flags, int dict_flags)
{
    char    domain[256];
    DICT   *d;

    if ((open_flags & O_ACCMODE) != O_RDONLY)
	return (dict_surrogate("nis", name, open_flags, dict_flags,
			       "nis:%s map requires O_RDONLY access mode", name));
    if (getdomainname(domain, sizeof(domain)) == 0 && domain[0] != 0
	&& strcmp(domain, "(none)") != 0)
	return (dict_surrogate("nis", name, open_flags, dict_flags,
			       "nis:%s: NIS domain %s is set, but postern has no NIS client",
			       name, domain));
    d = dict_alloc("nis", name, sizeof(DICT));
    d->flags = dict_flags | DICT_FLAG_FIXED;
    d->lookup = nis_lookup;
    d->close = plain_close;
    return (d);
}
