/*
 * dict_lmdb - lmdb:, hash: and btree: tables, all stored with LMDB.
 *
 * lmdb:NAME lives in NAME.lmdb, hash:NAME and btree:NAME in NAME.db (the
 * file name Postfix uses), all in LMDB format: keys and values are stored
 * with a trailing NUL, as Postfix's own lmdb: tables, so the .lmdb files
 * are interchangeable with Postfix's. A .db file in Berkeley DB format
 * (left by Postfix) is recognized and refused with a message that says
 * which command rebuilds it.
 *
 * Concurrency: the environment is opened with MDB_NOLOCK (readers may be
 * unprivileged and cannot write a lock file next to a root-owned table);
 * instead, with DICT_FLAG_LOCK, each lookup holds a shared flock() on the
 * data file and each in-place update an exclusive one. A build (O_TRUNC,
 * what postmap does) writes a private temporary file and renames it into
 * place at dict_close(): readers see the old or the new table, never a
 * half-built one. DICT_FLAG_BULK_UPDATE without O_TRUNC (postmap -i)
 * updates in place in large transactions under one exclusive lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dict.h"
#include "dict_build.h"
#include "mail_conf.h"
#include "mem.h"
#include "msg.h"
#include "safe_file.h"
#include "vstr.h"

#define LMDB_BATCH	50000		/* bulk: commit every so many puts */

typedef struct {
    DICT    dict;
    MDB_env *env;
    MDB_dbi dbi;
    MDB_txn *rtxn;			/* reusable read transaction */
    MDB_txn *wtxn;			/* bulk build: open write transaction */
    MDB_cursor *cursor;			/* sequence */
    int     fd;				/* for flock() */
    int     locked;			/* sequence holds a shared lock */
    char   *path;			/* final file */
    char   *tmp_path;			/* bulk build: temporary file */
    int     batched;			/* updates share a write transaction */
    int     xlocked;			/* batched in place: exclusive lock held */
    size_t  map_size;
    VSTR   *kbuf;
    VSTR   *vbuf;
    /* bulk build: entries since the last commit, replayed after a resize */
    VSTR   *batch;
    size_t  batch_count;
    int     failed;
} DICT_LMDB;

static const char *lmdb_dup_name(DICT_LMDB *dl)
{
    static VSTR *buf;

    if (buf == 0)
	buf = vstr_alloc(100);
    /* Postfix names the file for hash/btree, the table for lmdb. */
    if (strcmp(dl->dict.type, "lmdb") == 0)
	(void) vstr_fmt(buf, "lmdb:%s", dl->dict.name);
    else
	(void) vstr_cpy(buf, dl->path);
    return (vstr_str(buf));
}

static void lmdb_lock(DICT_LMDB *dl, int how)
{
    /* A batched in-place update holds the exclusive lock throughout. */
    if (dl->xlocked)
	return;
    if ((dl->dict.flags & DICT_FLAG_LOCK) && dl->fd >= 0)
	while (flock(dl->fd, how) < 0 && errno == EINTR)
	     /* retry */ ;
}

static int lmdb_begin_read(DICT_LMDB *dl)
{
    int     rc;

    for (int tries = 0; tries < 3; tries++) {
	if (dl->rtxn)
	    rc = mdb_txn_renew(dl->rtxn);
	else
	    rc = mdb_txn_begin(dl->env, 0, MDB_RDONLY, &dl->rtxn);
	if (rc == MDB_MAP_RESIZED) {
	    if (dl->rtxn) {
		mdb_txn_abort(dl->rtxn);
		dl->rtxn = 0;
	    }
	    (void) mdb_env_set_mapsize(dl->env, 0);
	    continue;
	}
	if (rc != 0 && dl->rtxn) {
	    mdb_txn_abort(dl->rtxn);
	    dl->rtxn = 0;
	}
	return (rc);
    }
    return (MDB_MAP_RESIZED);
}

static int lmdb_get(DICT_LMDB *dl, const char *key, size_t len, MDB_val *val)
{
    MDB_val k;

    k.mv_data = (void *) key;
    k.mv_size = len;
    return (mdb_get(dl->rtxn, dl->dbi, &k, val));
}

static const char *lmdb_lookup(DICT *d, const char *key)
{
    DICT_LMDB *dl = (DICT_LMDB *) d;
    MDB_val v;
    int     rc = MDB_NOTFOUND;
    const char *result = 0;
    size_t  klen = strlen(key);

    if (dl->failed) {
	d->error = DICT_ERR_RETRY;
	return (0);
    }
    /* LMDB cannot store such a key: it is not there (not an error). */
    if (klen + 1 > (size_t) mdb_env_get_maxkeysize(dl->env))
	return (0);
    lmdb_lock(dl, LOCK_SH);
    if ((rc = lmdb_begin_read(dl)) != 0) {
	lmdb_lock(dl, LOCK_UN);
	msg_warn("%s:%s: read transaction: %s", d->type, d->name, mdb_strerror(rc));
	d->error = DICT_ERR_RETRY;
	return (0);
    }
    rc = MDB_NOTFOUND;
    if (d->flags & DICT_FLAG_TRY1NULL) {
	if ((rc = lmdb_get(dl, key, klen + 1, &v)) == 0)
	    d->flags &= ~DICT_FLAG_TRY0NULL;
    }
    if (rc == MDB_NOTFOUND && (d->flags & DICT_FLAG_TRY0NULL)) {
	if ((rc = lmdb_get(dl, key, klen, &v)) == 0)
	    d->flags &= ~DICT_FLAG_TRY1NULL;
    }
    if (rc == 0) {
	size_t  n = v.mv_size;

	if (n > 0 && ((char *) v.mv_data)[n - 1] == 0)
	    n--;
	(void) vstr_ncpy(dl->vbuf, v.mv_data, n);
	result = vstr_str(dl->vbuf);
    } else if (rc != MDB_NOTFOUND) {
	msg_warn("%s:%s: lookup: %s", d->type, d->name, mdb_strerror(rc));
	d->error = DICT_ERR_RETRY;
    }
    mdb_txn_reset(dl->rtxn);
    lmdb_lock(dl, LOCK_UN);
    return (result);
}

/* One put in txn; MDB_MAP_FULL is for the caller. */
static int lmdb_put(DICT_LMDB *dl, MDB_txn *txn, const char *key, const char *value,
		            unsigned flags)
{
    MDB_val k, v;
    int     nul = (dl->dict.flags & DICT_FLAG_TRY1NULL) ? 1 : 0;

    k.mv_data = (void *) key;
    k.mv_size = strlen(key) + nul;
    v.mv_data = (void *) value;
    v.mv_size = strlen(value) + nul;
    return (mdb_put(txn, dl->dbi, &k, &v, flags));
}

static unsigned lmdb_put_flags(DICT *d)
{
    return ((d->flags & DICT_FLAG_DUP_REPLACE) ? 0 : MDB_NOOVERWRITE);
}

static int lmdb_dup(DICT_LMDB *dl, const char *key)
{
    DICT   *d = &dl->dict;

    if (d->flags & DICT_FLAG_DUP_IGNORE)
	return (DICT_STAT_FAIL);
    if (d->flags & DICT_FLAG_DUP_WARN) {
	msg_warn("%s: duplicate entry: \"%s\"", lmdb_dup_name(dl), key);
	return (DICT_STAT_FAIL);
    }
    msg_fatal("%s: duplicate entry: \"%s\"", lmdb_dup_name(dl), key);
}

static int lmdb_grow(DICT_LMDB *dl)
{
    int     rc;

    dl->map_size *= 2;
    if ((rc = mdb_env_set_mapsize(dl->env, dl->map_size)) != 0) {
	msg_warn("%s: cannot grow the map to %zu bytes: %s",
		 dl->path, dl->map_size, mdb_strerror(rc));
	return (-1);
    }
    return (0);
}

/* Bulk build: replay the current batch into a fresh transaction. */
static int lmdb_bulk_replay(DICT_LMDB *dl)
{
    const char *cp = vstr_str(dl->batch);
    const char *end = vstr_end(dl->batch);
    int     rc;

    while (cp < end) {
	const char *k = cp;
	const char *v = k + strlen(k) + 1;

	cp = v + strlen(v) + 1;
	if ((rc = lmdb_put(dl, dl->wtxn, k, v, 0)) != 0)
	    return (rc);
    }
    return (0);
}

static int lmdb_bulk_commit(DICT_LMDB *dl)
{
    int     rc;

    for (;;) {
	if ((rc = mdb_txn_commit(dl->wtxn)) == 0)
	    break;
	dl->wtxn = 0;
	if (rc != MDB_MAP_FULL || lmdb_grow(dl) < 0)
	    return (rc);
	if ((rc = mdb_txn_begin(dl->env, 0, 0, &dl->wtxn)) != 0)
	    return (rc);
	if ((rc = lmdb_bulk_replay(dl)) != 0 && rc != MDB_MAP_FULL)
	    return (rc);
    }
    dl->wtxn = 0;
    vstr_reset(dl->batch);
    dl->batch_count = 0;
    return (0);
}

static int lmdb_bulk_update(DICT_LMDB *dl, const char *key, const char *value)
{
    int     rc;

    for (;;) {
	if (dl->wtxn == 0 && (rc = mdb_txn_begin(dl->env, 0, 0, &dl->wtxn)) != 0)
	    msg_fatal("%s: begin transaction: %s", dl->path, mdb_strerror(rc));
	rc = lmdb_put(dl, dl->wtxn, key, value, lmdb_put_flags(&dl->dict));
	if (rc != MDB_MAP_FULL)
	    break;
	mdb_txn_abort(dl->wtxn);
	dl->wtxn = 0;
	if (lmdb_grow(dl) < 0)
	    msg_fatal("%s: table is too large", dl->path);
	if ((rc = mdb_txn_begin(dl->env, 0, 0, &dl->wtxn)) != 0
	    || ((rc = lmdb_bulk_replay(dl)) != 0 && rc != MDB_MAP_FULL))
	    msg_fatal("%s: rebuild transaction: %s", dl->path, mdb_strerror(rc));
    }
    if (rc == MDB_KEYEXIST)
	return (lmdb_dup(dl, key));
    if (rc != 0)
	msg_fatal("error updating %s:%s: %s", dl->dict.type, dl->dict.name, mdb_strerror(rc));
    (void) vstr_append(dl->batch, key, strlen(key) + 1);
    (void) vstr_append(dl->batch, value, strlen(value) + 1);
    if (++dl->batch_count >= LMDB_BATCH && (rc = lmdb_bulk_commit(dl)) != 0)
	msg_fatal("%s: commit: %s", dl->path, mdb_strerror(rc));
    return (DICT_STAT_SUCCESS);
}

static int lmdb_update(DICT *d, const char *key, const char *value)
{
    DICT_LMDB *dl = (DICT_LMDB *) d;
    MDB_txn *txn;
    int     rc;
    int     status = DICT_STAT_SUCCESS;

    if (dl->batched) {
	if (!dl->tmp_path && !dl->xlocked) {
	    lmdb_lock(dl, LOCK_EX);		/* held until dict_close() */
	    dl->xlocked = 1;
	}
	return (lmdb_bulk_update(dl, key, value));
    }
    lmdb_lock(dl, LOCK_EX);
    for (;;) {
	if ((rc = mdb_txn_begin(dl->env, 0, 0, &txn)) == MDB_MAP_RESIZED) {
	    (void) mdb_env_set_mapsize(dl->env, 0);
	    continue;
	}
	if (rc != 0)
	    break;
	rc = lmdb_put(dl, txn, key, value, lmdb_put_flags(d));
	if (rc == 0)
	    rc = mdb_txn_commit(txn);
	else
	    mdb_txn_abort(txn);
	if (rc != MDB_MAP_FULL || lmdb_grow(dl) < 0)
	    break;
    }
    lmdb_lock(dl, LOCK_UN);
    if (rc == MDB_KEYEXIST)
	return (lmdb_dup(dl, key));
    if (rc != 0) {
	msg_warn("%s:%s: update \"%s\": %s", d->type, d->name, key, mdb_strerror(rc));
	d->error = DICT_ERR_RETRY;
	status = DICT_STAT_ERROR;
    }
    return (status);
}

static int lmdb_delete(DICT *d, const char *key)
{
    DICT_LMDB *dl = (DICT_LMDB *) d;
    MDB_txn *txn;
    MDB_val k;
    int     rc;
    int     found = 0;

    if (strlen(key) + 1 > (size_t) mdb_env_get_maxkeysize(dl->env))
	return (DICT_STAT_FAIL);		/* cannot be there */
    if (dl->batched && dl->wtxn && lmdb_bulk_commit(dl) != 0)
	msg_fatal("%s: commit failed", dl->path);
    if (!dl->xlocked)
	lmdb_lock(dl, LOCK_EX);
    for (;;) {
	if ((rc = mdb_txn_begin(dl->env, 0, 0, &txn)) == MDB_MAP_RESIZED) {
	    (void) mdb_env_set_mapsize(dl->env, 0);
	    continue;
	}
	break;
    }
    if (rc == 0) {
	size_t  len = strlen(key);

	k.mv_data = (void *) key;
	if (d->flags & DICT_FLAG_TRY1NULL) {
	    k.mv_size = len + 1;
	    if ((rc = mdb_del(txn, dl->dbi, &k, 0)) == 0)
		found = 1;
	}
	if (!found && (d->flags & DICT_FLAG_TRY0NULL)) {
	    k.mv_size = len;
	    if ((rc = mdb_del(txn, dl->dbi, &k, 0)) == 0)
		found = 1;
	}
	if (found)
	    rc = mdb_txn_commit(txn);
	else
	    mdb_txn_abort(txn);
    }
    if (!dl->xlocked)
	lmdb_lock(dl, LOCK_UN);
    if (found && rc == 0)
	return (DICT_STAT_SUCCESS);
    if (rc == MDB_NOTFOUND || (rc == 0 && !found))
	return (DICT_STAT_FAIL);
    msg_warn("%s:%s: delete \"%s\": %s", d->type, d->name, key, mdb_strerror(rc));
    d->error = DICT_ERR_RETRY;
    return (DICT_STAT_ERROR);
}

static void lmdb_seq_end(DICT_LMDB *dl)
{
    if (dl->cursor) {
	mdb_cursor_close(dl->cursor);
	dl->cursor = 0;
	mdb_txn_reset(dl->rtxn);
    }
    if (dl->locked) {
	lmdb_lock(dl, LOCK_UN);
	dl->locked = 0;
    }
}

static int lmdb_sequence(DICT *d, int func, const char **key, const char **value)
{
    DICT_LMDB *dl = (DICT_LMDB *) d;
    MDB_val k, v;
    int     rc;

    if (dl->batched && dl->wtxn && lmdb_bulk_commit(dl) != 0)
	msg_fatal("%s: commit failed", dl->path);
    if (func == DICT_SEQ_FUN_FIRST) {
	lmdb_seq_end(dl);
	lmdb_lock(dl, LOCK_SH);
	dl->locked = 1;
	if ((rc = lmdb_begin_read(dl)) != 0
	    || (rc = mdb_cursor_open(dl->rtxn, dl->dbi, &dl->cursor)) != 0) {
	    msg_warn("%s:%s: sequence: %s", d->type, d->name, mdb_strerror(rc));
	    lmdb_seq_end(dl);
	    d->error = DICT_ERR_RETRY;
	    return (DICT_STAT_ERROR);
	}
    } else if (dl->cursor == 0) {
	return (DICT_STAT_FAIL);
    }
    rc = mdb_cursor_get(dl->cursor, &k, &v, func == DICT_SEQ_FUN_FIRST ? MDB_FIRST : MDB_NEXT);
    if (rc == MDB_NOTFOUND) {
	lmdb_seq_end(dl);
	return (DICT_STAT_FAIL);
    }
    if (rc != 0) {
	msg_warn("%s:%s: sequence: %s", d->type, d->name, mdb_strerror(rc));
	lmdb_seq_end(dl);
	d->error = DICT_ERR_RETRY;
	return (DICT_STAT_ERROR);
    }
    if (k.mv_size > 0 && ((char *) k.mv_data)[k.mv_size - 1] == 0)
	k.mv_size--;
    if (v.mv_size > 0 && ((char *) v.mv_data)[v.mv_size - 1] == 0)
	v.mv_size--;
    (void) vstr_ncpy(dl->kbuf, k.mv_data, k.mv_size);
    (void) vstr_ncpy(dl->vbuf, v.mv_data, v.mv_size);
    *key = vstr_str(dl->kbuf);
    *value = vstr_str(dl->vbuf);
    return (DICT_STAT_SUCCESS);
}

static void lmdb_close(DICT *d)
{
    DICT_LMDB *dl = (DICT_LMDB *) d;
    int     rc;

    lmdb_seq_end(dl);
    if (dl->rtxn)
	mdb_txn_abort(dl->rtxn);
    if (dl->tmp_path) {
	if (dl->wtxn && (rc = lmdb_bulk_commit(dl)) != 0)
	    msg_fatal("%s: commit: %s", dl->tmp_path, mdb_strerror(rc));
	if ((rc = mdb_env_sync(dl->env, 1)) != 0)
	    msg_fatal("%s: sync: %s", dl->tmp_path, mdb_strerror(rc));
	dict_build_finish(dl->fd, dl->tmp_path, dl->path);
    } else if (dl->batched && dl->env) {
	if (dl->wtxn && (rc = lmdb_bulk_commit(dl)) != 0)
	    msg_fatal("%s: commit: %s", dl->path, mdb_strerror(rc));
	if ((rc = mdb_env_sync(dl->env, 1)) != 0)
	    msg_fatal("%s: sync: %s", dl->path, mdb_strerror(rc));
	if (dl->xlocked) {
	    dl->xlocked = 0;
	    lmdb_lock(dl, LOCK_UN);
	}
    }
    if (dl->env)
	mdb_env_close(dl->env);
    dict_build_forget(dl->tmp_path);
    free(dl->tmp_path);
    free(dl->path);
    vstr_free(dl->kbuf);
    vstr_free(dl->vbuf);
    vstr_free(dl->batch);
    dict_free(d);
}

/* Close after a failed open: nothing to commit, nothing to rename. */
static void lmdb_discard(DICT_LMDB *dl)
{
    if (dl->tmp_path) {
	(void) unlink(dl->tmp_path);
	dict_build_forget(dl->tmp_path);
	free(dl->tmp_path);
	dl->tmp_path = 0;
    }
    dl->batched = 0;
    dl->wtxn = 0;
    lmdb_close(&dl->dict);
}

/* Is this a Berkeley DB file (Postfix's hash:/btree: format)? */
static int lmdb_is_berkeley(const char *path)
{
    unsigned char hdr[16];
    int     fd;
    ssize_t n;
    uint32_t magic, swapped;

    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
	return (0);
    n = read(fd, hdr, sizeof(hdr));
    (void) close(fd);
    if (n < 16)
	return (0);
    memcpy(&magic, hdr + 12, 4);
    swapped = __builtin_bswap32(magic);
    return (magic == 0x061561 || magic == 0x053162 || magic == 0x042253
	    || swapped == 0x061561 || swapped == 0x053162 || swapped == 0x042253);
}

static DICT *lmdb_open_type(const char *type, const char *name, int open_flags,
			            int dict_flags)
{
    DICT_LMDB *dl;
    const char *suffix = dict_file_suffix(type);
    VSTR   *path = vstr_alloc(strlen(name) + 10);
    MDB_txn *txn;
    int     rc;
    int     bulk = (open_flags & O_TRUNC) != 0;	/* build a new file */
    unsigned env_flags = MDB_NOSUBDIR | MDB_NOLOCK | MDB_NORDAHEAD;
    const char *open_path;
    long    conf_size;
    int     tmp_fd = -1;
    struct stat tmp_st;

    (void) vstr_fmt(path, "%s%s", name, suffix);
    if (!bulk && lmdb_is_berkeley(vstr_str(path))) {
	DICT   *s = dict_surrogate(type, name, open_flags, dict_flags,
				   "open database %s: Berkeley DB format (written by Postfix) "
				   "is not supported; rebuild the table with \"%s %s:%s\"",
				   vstr_str(path),
				   (strstr(name, "aliases") || strcmp(msg_progname(), "postalias") == 0
				    || strcmp(msg_progname(), "newaliases") == 0) ?
				   "postalias" : "postmap",
				   type, name);

	vstr_free(path);
	return (s);
    }
    dl = (DICT_LMDB *) dict_alloc(type, name, sizeof(*dl));
    dl->path = vstr_export(path);
    dl->fd = -1;
    dl->kbuf = vstr_alloc(64);
    dl->vbuf = vstr_alloc(64);
    dl->batched = bulk || (dict_flags & DICT_FLAG_BULK_UPDATE);
    dl->batch = vstr_alloc(dl->batched ? 1 << 20 : 16);
    conf_size = mail_conf_int("lmdb_map_size");
    dl->map_size = conf_size > 0 ? (size_t) conf_size : 16777216;
    dl->dict.flags = dict_flags | DICT_FLAG_FIXED;
    if (!(dict_flags & (DICT_FLAG_TRY0NULL | DICT_FLAG_TRY1NULL)))
	dl->dict.flags |= DICT_FLAG_TRY0NULL | DICT_FLAG_TRY1NULL;
    if (bulk) {
	/* Writes must pick one: Postfix stores the NUL. */
	if ((dl->dict.flags & DICT_FLAG_TRY0NULL) && (dl->dict.flags & DICT_FLAG_TRY1NULL))
	    dl->dict.flags &= ~DICT_FLAG_TRY0NULL;
	dl->tmp_path = dict_build_temp_name(dl->path);
	open_path = dl->tmp_path;
	/*
	 * Create the file ourselves, exclusively and without following a
	 * symlink, so that LMDB's open() cannot be redirected elsewhere.
	 */
	(void) unlink(open_path);
	if ((tmp_fd = open(open_path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			   0600)) < 0 || fstat(tmp_fd, &tmp_st) < 0) {
	    DICT   *s = dict_surrogate(type, name, open_flags, dict_flags,
				       "open database %s: %s", dl->path, strerror(errno));

	    if (tmp_fd >= 0)
		(void) close(tmp_fd);
	    free(dl->tmp_path);
	    dl->tmp_path = 0;
	    lmdb_discard(dl);
	    return (s);
	}
    } else {
	struct stat st;

	open_path = dl->path;
	if (stat(open_path, &st) == 0 && (size_t) st.st_size * 2 > dl->map_size)
	    dl->map_size = (size_t) st.st_size * 2;
	if ((open_flags & O_ACCMODE) == O_RDONLY)
	    env_flags |= MDB_RDONLY;
	else if (!(open_flags & O_CREAT) && access(open_path, F_OK) < 0) {
	    int     err = errno;
	    DICT   *s = dict_surrogate(type, name, open_flags, dict_flags,
				       "open database %s: %s", dl->path, strerror(err));

	    lmdb_discard(dl);
	    return (s);
	}
    }
    if ((rc = mdb_env_create(&dl->env)) != 0
	|| (rc = mdb_env_set_mapsize(dl->env, dl->map_size)) != 0
	|| (rc = mdb_env_open(dl->env, open_path, env_flags, 0644)) != 0) {
	DICT   *s = dict_surrogate(type, name, open_flags, dict_flags,
				   "open database %s: %s", dl->path,
				   rc > 0 ? strerror(rc) : mdb_strerror(rc));

	if (tmp_fd >= 0)
	    (void) close(tmp_fd);
	lmdb_discard(dl);
	return (s);
    }
    (void) mdb_env_get_fd(dl->env, &dl->fd);
    if (bulk) {
	struct stat st;

	dict_build_remember(dl->tmp_path);
	if (fstat(dl->fd, &st) < 0 || st.st_dev != tmp_st.st_dev || st.st_ino != tmp_st.st_ino)
	    msg_fatal("open database %s: temporary file %s was replaced while opening",
		      dl->path, dl->tmp_path);
	(void) close(tmp_fd);
	tmp_fd = -1;
    }
    /* The map may have been grown by a writer: adopt the file's size. */
    (void) mdb_env_set_mapsize(dl->env, 0);
    {
	MDB_envinfo info;

	if (mdb_env_info(dl->env, &info) == 0 && info.me_mapsize > dl->map_size)
	    dl->map_size = info.me_mapsize;
    }
    if ((rc = mdb_txn_begin(dl->env, 0, (env_flags & MDB_RDONLY) ? MDB_RDONLY : 0, &txn)) != 0
	|| (rc = mdb_dbi_open(txn, 0, 0, &dl->dbi)) != 0
	|| (rc = mdb_txn_commit(txn)) != 0) {
	DICT   *s = dict_surrogate(type, name, open_flags, dict_flags,
				   "open database %s: %s", dl->path, mdb_strerror(rc));

	lmdb_discard(dl);
	return (s);
    }
    dl->dict.lookup = lmdb_lookup;
    dl->dict.update = lmdb_update;
    dl->dict.delete = lmdb_delete;
    dl->dict.sequence = lmdb_sequence;
    dl->dict.close = lmdb_close;
    if (!bulk) {
	if (dict_flags & DICT_FLAG_LOCK)
	    dict_check_source_age(dl->path, name);
	dict_watch_file(&dl->dict, dl->path, -1);
	/* LMDB readers see in-place updates; only a new file needs a reopen. */
	dl->dict.watch_inode_only = 1;
    }
    return (&dl->dict);
}

DICT   *dict_lmdb_open(const char *name, int open_flags, int dict_flags)
{
    return (lmdb_open_type("lmdb", name, open_flags, dict_flags));
}

DICT   *dict_hash_open(const char *name, int open_flags, int dict_flags)
{
    return (lmdb_open_type("hash", name, open_flags, dict_flags));
}

DICT   *dict_btree_open(const char *name, int open_flags, int dict_flags)
{
    return (lmdb_open_type("btree", name, open_flags, dict_flags));
}
