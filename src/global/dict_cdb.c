/*
 * dict_cdb - cdb:NAME tables in NAME.cdb, with Debian's tinycdb.
 *
 * Keys and values are stored without a trailing NUL, as Postfix does, so
 * the files are interchangeable with Postfix's. A cdb file is read-only:
 * it is built as a whole (temporary file, then rename) by postmap.
 */
#include <cdb.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dict.h"
#include "dict_build.h"
#include "mem.h"
#include "msg.h"
#include "vstr.h"

typedef struct {
    DICT    dict;
    struct cdb cdb;
    struct cdb_make make;
    int     fd;
    int     building;
    char   *path;
    char   *tmp_path;
    unsigned seq_pos;
    VSTR   *kbuf;
    VSTR   *vbuf;
} DICT_CDB;

static const char *cdb_copy(DICT_CDB *dc, VSTR *buf, unsigned pos, unsigned len)
{
    const void *data;

    vstr_reset(buf);
    if (len > DICT_MAX_VALUE || (data = cdb_get(&dc->cdb, len, pos)) == 0
	|| vstr_append(buf, data, len) < 0)
	return (0);
    if (vstr_len(buf) > 0 && vstr_last(buf) == 0)
	vstr_truncate(buf, vstr_len(buf) - 1);
    return (vstr_str(buf));
}

static const char *cdb_lookup(DICT *d, const char *key)
{
    DICT_CDB *dc = (DICT_CDB *) d;
    unsigned klen = (unsigned) strlen(key);
    int     rc = 0;

    if (d->flags & DICT_FLAG_TRY0NULL) {
	if ((rc = cdb_find(&dc->cdb, key, klen)) > 0)
	    d->flags &= ~DICT_FLAG_TRY1NULL;
    }
    if (rc == 0 && (d->flags & DICT_FLAG_TRY1NULL)) {
	if ((rc = cdb_find(&dc->cdb, key, klen + 1)) > 0)
	    d->flags &= ~DICT_FLAG_TRY0NULL;
    }
    if (rc < 0) {
	msg_warn("%s: read error: %s", dc->path, strerror(errno));
	d->error = DICT_ERR_RETRY;
	return (0);
    }
    if (rc == 0)
	return (0);
    return (cdb_copy(dc, dc->vbuf, cdb_datapos(&dc->cdb), cdb_datalen(&dc->cdb)));
}

static int cdb_sequence(DICT *d, int func, const char **key, const char **value)
{
    DICT_CDB *dc = (DICT_CDB *) d;
    int     rc;

    if (func == DICT_SEQ_FUN_FIRST)
	cdb_seqinit(&dc->seq_pos, &dc->cdb);
    if ((rc = cdb_seqnext(&dc->seq_pos, &dc->cdb)) <= 0) {
	if (rc < 0) {
	    d->error = DICT_ERR_RETRY;
	    return (DICT_STAT_ERROR);
	}
	return (DICT_STAT_FAIL);
    }
    *key = cdb_copy(dc, dc->kbuf, cdb_keypos(&dc->cdb), cdb_keylen(&dc->cdb));
    *value = cdb_copy(dc, dc->vbuf, cdb_datapos(&dc->cdb), cdb_datalen(&dc->cdb));
    if (*key == 0 || *value == 0) {
	d->error = DICT_ERR_RETRY;
	return (DICT_STAT_ERROR);
    }
    return (DICT_STAT_SUCCESS);
}

static int cdb_update(DICT *d, const char *key, const char *value)
{
    DICT_CDB *dc = (DICT_CDB *) d;
    unsigned klen = (unsigned) strlen(key);
    unsigned vlen = (unsigned) strlen(value);
    int     rc;

    if (d->flags & DICT_FLAG_TRY1NULL) {
	klen++;
	vlen++;
    }
    rc = cdb_make_put(&dc->make, key, klen, value, vlen,
		      (d->flags & DICT_FLAG_DUP_REPLACE) ? CDB_PUT_REPLACE : CDB_PUT_INSERT);
    if (rc < 0)
	msg_fatal("error writing %s: %s", dc->tmp_path, strerror(errno));
    if (rc > 0 && !(d->flags & DICT_FLAG_DUP_REPLACE)) {
	if (d->flags & DICT_FLAG_DUP_IGNORE)
	    return (DICT_STAT_FAIL);
	if (d->flags & DICT_FLAG_DUP_WARN) {
	    msg_warn("%s: duplicate entry: \"%s\"", d->name, key);
	    return (DICT_STAT_FAIL);
	}
	msg_fatal("%s: duplicate entry: \"%s\"", d->name, key);
    }
    return (DICT_STAT_SUCCESS);
}

static void cdb_close_fn(DICT *d)
{
    DICT_CDB *dc = (DICT_CDB *) d;

    if (dc->building) {
	if (cdb_make_finish(&dc->make) < 0)
	    msg_fatal("error writing %s: %s", dc->tmp_path, strerror(errno));
	dict_build_finish(dc->fd, dc->tmp_path, dc->path);
    } else if (dc->fd >= 0) {
	cdb_free(&dc->cdb);
    }
    if (dc->fd >= 0)
	(void) close(dc->fd);
    free(dc->path);
    free(dc->tmp_path);
    vstr_free(dc->kbuf);
    vstr_free(dc->vbuf);
    dict_free(d);
}

DICT   *dict_cdb_open(const char *name, int open_flags, int dict_flags)
{
    DICT_CDB *dc;
    VSTR   *path = vstr_alloc(strlen(name) + 8);

    (void) vstr_fmt(path, "%s.cdb", name);
    dc = (DICT_CDB *) dict_alloc("cdb", name, sizeof(*dc));
    dc->path = vstr_export(path);
    dc->fd = -1;
    dc->kbuf = vstr_alloc(64);
    dc->vbuf = vstr_alloc(64);
    dc->dict.flags = dict_flags | DICT_FLAG_FIXED;
    if (!(dict_flags & (DICT_FLAG_TRY0NULL | DICT_FLAG_TRY1NULL)))
	dc->dict.flags |= DICT_FLAG_TRY0NULL | DICT_FLAG_TRY1NULL;
    dc->dict.close = cdb_close_fn;
    if ((open_flags & O_ACCMODE) == O_RDONLY) {
	if ((dc->fd = open(dc->path, O_RDONLY | O_CLOEXEC)) < 0
	    || cdb_init(&dc->cdb, dc->fd) < 0) {
	    DICT   *s = dict_surrogate("cdb", name, open_flags, dict_flags,
				       "open database %s: %s", dc->path, strerror(errno));

	    if (dc->fd >= 0)
		(void) close(dc->fd);
	    dc->fd = -1;
	    cdb_close_fn(&dc->dict);
	    return (s);
	}
	dc->dict.lookup = cdb_lookup;
	dc->dict.sequence = cdb_sequence;
	if (dict_flags & DICT_FLAG_LOCK)
	    dict_check_source_age(dc->path, name);
	dict_watch_file(&dc->dict, dc->path, dc->fd);
	return (&dc->dict);
    }
    if (!(open_flags & O_TRUNC)) {
	DICT   *s = dict_surrogate("cdb", name, open_flags, dict_flags,
		   "cdb:%s: a cdb table can only be rebuilt as a whole, not updated", name);

	cdb_close_fn(&dc->dict);
	return (s);
    }
    /* Build: keys without NUL unless asked (postmap -N). */
    if ((dc->dict.flags & DICT_FLAG_TRY0NULL) && (dc->dict.flags & DICT_FLAG_TRY1NULL))
	dc->dict.flags &= ~DICT_FLAG_TRY1NULL;
    dc->tmp_path = dict_build_temp_name(dc->path);
    (void) unlink(dc->tmp_path);
    if ((dc->fd = open(dc->tmp_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) < 0) {
	DICT   *s = dict_surrogate("cdb", name, open_flags, dict_flags,
				   "open database %s: %s", dc->tmp_path, strerror(errno));

	cdb_close_fn(&dc->dict);
	return (s);
    }
    dict_build_remember(dc->tmp_path);
    if (cdb_make_start(&dc->make, dc->fd) < 0)
	msg_fatal("cdb_make_start %s: %s", dc->tmp_path, strerror(errno));
    dc->building = 1;
    dc->dict.update = cdb_update;
    dc->dict.lookup = 0;
    return (&dc->dict);
}
