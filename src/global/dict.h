/*
 * dict - lookup tables ("type:name"), the one API that daemons and
 * commands use. See docs/tables.md for every type and its semantics.
 *
 * dict_open("hash:/etc/postfix/access", O_RDONLY, DICT_FLAG_LOCK | ...)
 * never exits and never returns NULL: when a table cannot be opened it
 * returns a "surrogate" table (dict_is_surrogate() is true, dict->reason
 * says why) whose every operation fails with DICT_ERR_CONFIG and logs
 * "warning: TYPE:NAME is unavailable. REASON" (each time, as Postfix).
 * Commands then call msg_fatal("%s", dict->reason); daemons log
 * "error: REASON" when they open it (maps_create) and go on and defer (4XX).
 *
 * dict_lookup() returns the value (valid until the next operation on the
 * table) or NULL. After NULL, dict->error tells "not found" (DICT_ERR_NONE)
 * from "temporary failure" (DICT_ERR_RETRY) and "configuration error"
 * (DICT_ERR_CONFIG). update/delete/sequence return DICT_STAT_SUCCESS,
 * DICT_STAT_FAIL (not found / duplicate), or DICT_STAT_ERROR.
 */
#ifndef POSTERN_DICT_H
#define POSTERN_DICT_H

#include <fcntl.h>
#include <sys/types.h>
#include <time.h>

#include "vstr.h"

/* dict->error */
#define DICT_ERR_NONE	0
#define DICT_ERR_RETRY	(-1)		/* soft error: try again later */
#define DICT_ERR_CONFIG	(-2)		/* configuration error */

/* update/delete/sequence status */
#define DICT_STAT_FAIL		1	/* key not found / duplicate */
#define DICT_STAT_SUCCESS	0
#define DICT_STAT_ERROR		(-1)

/* dict_sequence() function */
#define DICT_SEQ_FUN_FIRST	0
#define DICT_SEQ_FUN_NEXT	1

/* Flags (dict_flags argument and dict->flags). */
#define DICT_FLAG_DUP_WARN	(1<<0)	/* warn about duplicate keys (keep first) */
#define DICT_FLAG_DUP_IGNORE	(1<<1)	/* silently keep first */
#define DICT_FLAG_DUP_REPLACE	(1<<2)	/* last one wins */
#define DICT_FLAG_TRY0NULL	(1<<3)	/* keys stored without NUL */
#define DICT_FLAG_TRY1NULL	(1<<4)	/* keys stored with NUL */
#define DICT_FLAG_FIXED		(1<<5)	/* table: fixed-string keys */
#define DICT_FLAG_PATTERN	(1<<6)	/* table: keys are patterns */
#define DICT_FLAG_LOCK		(1<<7)	/* lock the file per operation */
#define DICT_FLAG_FOLD_FIX	(1<<8)	/* fold case in fixed tables */
#define DICT_FLAG_FOLD_MUL	(1<<9)	/* fold case in pattern tables */
#define DICT_FLAG_SYNC_UPDATE	(1<<10)	/* sync each update */
#define DICT_FLAG_PARANOID	(1<<11)	/* reject non-printable keys */
#define DICT_FLAG_BULK_UPDATE	(1<<12)	/* many updates: batch them (with O_TRUNC:
					 * temp file, rename at close) */
#define DICT_FLAG_WATCH		(1<<13)	/* reopen when the file changes */
#define DICT_FLAG_NO_REGSUB	(1<<14)	/* disallow $n in pattern tables */
#define DICT_FLAG_UTF8		(1<<15)	/* UTF-8 keys, Unicode folding (dict_utf8.h) */
#define DICT_FLAG_SRC_RHS_IS_FILE (1<<16)	/* -F: values name files */
#define DICT_FLAG_NO_UTF8	(1<<17)	/* not UTF8 even with smtputf8_enable */

#define DICT_FLAG_FOLD_ANY	(DICT_FLAG_FOLD_FIX | DICT_FLAG_FOLD_MUL)
/* What maps_find() callers use to restrict a query to fixed tables. */
#define DICT_FLAG_PARTIAL	DICT_FLAG_FIXED

/*
 * Flags a daemon uses for tables from main.cf: lock, fold case, and notice
 * a rebuilt table (DICT_FLAG_WATCH), so that long-running daemons pick up
 * `postmap` results without a restart.
 */
#define DICT_FLAG_DEFAULT	(DICT_FLAG_LOCK | DICT_FLAG_FOLD_FIX | DICT_FLAG_DUP_REPLACE \
				 | DICT_FLAG_WATCH)

/* Bound on a key or value accepted from the outside world. */
#define DICT_MAX_KEY	(1 << 16)
#define DICT_MAX_VALUE	(1 << 20)

typedef struct DICT DICT;

struct DICT {
    const char *type;			/* "hash", "lmdb", ... */
    char   *name;			/* what followed "type:" */
    int     flags;
    int     error;			/* DICT_ERR_* of the last operation */
    int     owner_trusted;		/* not used yet: file owner checks */
    char   *reason;			/* surrogate: why it failed */
    const char *(*lookup) (DICT *, const char *key);
    int     (*update) (DICT *, const char *key, const char *value);
    int     (*delete) (DICT *, const char *key);
    int     (*sequence) (DICT *, int func, const char **key, const char **value);
    void    (*close) (DICT *);
    /* File the table was read from, for reopen-on-change (DICT_FLAG_WATCH). */
    char   *watch_path;
    dev_t   watch_dev;
    ino_t   watch_ino;
    struct timespec watch_mtime;
    off_t   watch_size;
    int     watch_inode_only;		/* in-place changes are seen anyway */
    VSTR   *fold_buf;			/* lowercased key */
    int     open_flags;
};

/* Open a table; see above. spec is "type:name" or a bare path (default type). */
extern DICT *dict_open(const char *spec, int open_flags, int dict_flags);
extern DICT *dict_open3(const char *type, const char *name, int open_flags, int dict_flags);
extern int dict_is_surrogate(const DICT *);
extern const char *dict_lookup(DICT *, const char *key);
extern int dict_update(DICT *, const char *key, const char *value);
extern int dict_delete(DICT *, const char *key);
extern int dict_sequence(DICT *, int func, const char **key, const char **value);
extern void dict_close(DICT *);

/* The table types postern supports, sorted, NULL-terminated (postconf -m). */
extern const char *const *dict_type_names(void);
extern int dict_type_known(const char *type);
/* Default type: $default_database_type (main.cf), "hash" if unread. */
extern const char *dict_default_type(void);
/* "type:name" as the user wrote it, for messages. */
extern const char *dict_spec(DICT *);

/*
 * Helpers for table implementations.
 */
extern DICT *dict_alloc(const char *type, const char *name, size_t size);
extern void dict_free(DICT *);
extern DICT *dict_surrogate(const char *type, const char *name, int open_flags,
			            int dict_flags, const char *fmt,...)
	__attribute__((format(printf, 5, 6)));
/* Record the file to watch for DICT_FLAG_WATCH (after a successful open). */
extern void dict_watch_file(DICT *, const char *path, int fd);
/* Warn (as Postfix) when db_path is older than its source file. */
extern void dict_check_source_age(const char *db_path, const char *source);
/* Seconds between checks of a watched file (default 1; 0: every lookup). */
extern int dict_watch_interval;
/* Has the watched file been replaced or modified since it was opened? */
extern int dict_file_changed(DICT *);
/* Fold a key into dict->fold_buf when the table wants it; returns the key. */
extern const char *dict_fold_key(DICT *, const char *key);

/*
 * Parse "type:name", with {...} names ("inline:{a=b}"). Caller frees both.
 * 1: type given; 0: bare file name, default type; -1: empty type or name.
 */
extern int dict_split_spec(const char *spec, char **type, char **name);
#define DICT_SPEC_ERROR_FMT "open dictionary: expecting \"type:name\" form instead of \"%s\""
/* Split a "{ a, b, c }" composite list (pipemap/unionmap/randmap). */
struct ARGV;
extern struct ARGV *dict_split_braced(const char *name, VSTR *why);

/* Table type constructors. */
typedef DICT *(*DICT_OPEN_FN) (const char *name, int open_flags, int dict_flags);
extern DICT *dict_lmdb_open(const char *, int, int);
extern DICT *dict_hash_open(const char *, int, int);
extern DICT *dict_btree_open(const char *, int, int);
extern DICT *dict_cdb_open(const char *, int, int);
extern DICT *dict_texthash_open(const char *, int, int);
extern DICT *dict_inline_open(const char *, int, int);
extern DICT *dict_static_open(const char *, int, int);
extern DICT *dict_fail_open(const char *, int, int);
extern DICT *dict_environ_open(const char *, int, int);
extern DICT *dict_unix_open(const char *, int, int);
extern DICT *dict_nis_open(const char *, int, int);
extern DICT *dict_internal_open(const char *, int, int);
extern DICT *dict_regexp_open(const char *, int, int);
extern DICT *dict_pcre_open(const char *, int, int);
extern DICT *dict_cidr_open(const char *, int, int);
extern DICT *dict_proxy_open(const char *, int, int);
extern DICT *dict_pipemap_open(const char *, int, int);
extern DICT *dict_unionmap_open(const char *, int, int);
extern DICT *dict_randmap_open(const char *, int, int);
extern DICT *dict_socketmap_open(const char *, int, int);
extern DICT *dict_tcp_open(const char *, int, int);

/* The file name suffix of a file-backed indexed type (".db", ".lmdb", ".cdb"), or NULL. */
extern const char *dict_file_suffix(const char *type);

#endif
