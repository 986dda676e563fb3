/*
 * postsuper - Postfix's postsuper(1): queue maintenance by the super-user.
 *
 *	postsuper [-psSv] [-c config_dir] [-d queue_id] [-e queue_id]
 *		[-f queue_id] [-h queue_id] [-H queue_id] [-r queue_id] [queue...]
 *
 * queue_id "ALL" selects every message, "-" reads IDs from stdin. Each
 * operation prints "postsuper: ID: removed" etc. and a summary line
 * ("postsuper: Deleted: 1 message") as Postfix does. -r requeues into
 * incoming (postern queue files need no second cleanup pass) and drops
 * the deferral logs, -e/-f set the forced-expiration flag (-f also
 * releases from hold), -p removes stale temporary files (and claimed
 * recycle/ files older than an hour), -s/-S check the
 * queue structure (postern queue IDs need no renaming).
 */
#include <dirent.h>
#include <grp.h>
#include <pwd.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "argv.h"
#include "dsn_log.h"
#include "mail_conf.h"
#include "mail_owner.h"
#include "mail_queue.h"
#include "mem.h"
#include "msg.h"
#include "qfile.h"
#include "readlline.h"
#include "vstr.h"

#define OP_DELETE	0
#define OP_HOLD		1
#define OP_RELEASE	2
#define OP_REQUEUE	3
#define OP_EXPIRE	4
#define OP_EXPIRE_RELEASE 5
#define OP_COUNT	6

static ARGV *op_ids[OP_COUNT];
static long op_done[OP_COUNT];

static const char *const op_defaults[OP_COUNT] = {
    "hold incoming active deferred maildrop",	/* -d */
    "incoming active deferred",		/* -h */
    "hold",				/* -H */
    "incoming active deferred hold",	/* -r */
    "incoming active deferred hold",	/* -e */
    "incoming active deferred hold",	/* -f */
};

static void usage(void)
{
    msg_fatal_status(EX_USAGE, "usage: %s [-c config_dir] [-d queue_id (delete)] [-e queue_id (expire)] [-f queue_id (expire and/or un-hold)] [-h queue_id (hold)] [-H queue_id (un-hold)] [-p (purge temporary files)] [-r queue_id (requeue)] [-s (structure fix)] [-S (redundant structure fix)][-v (verbose)] [queue...]", "postsuper");
}

static void remove_logs(const char *id)
{
    (void) dsn_log_remove(MAIL_QUEUE_DEFER, id);
    (void) dsn_log_remove(MAIL_QUEUE_BOUNCE, id);
    (void) dsn_log_remove(MAIL_QUEUE_TRACE, id);
}

static int same_file_locked(FILE *fp, const char *path)
{
    struct stat fst, pst;

    return (flock(fileno(fp), LOCK_EX | LOCK_NB) == 0 && fstat(fileno(fp), &fst) == 0
	    && stat(path, &pst) == 0 && fst.st_ino == pst.st_ino && fst.st_dev == pst.st_dev);
}

static int set_expire(const char *queue, const char *id)
{
    VSTR   *path = vstr_alloc(64), *why = vstr_alloc(32);
    FILE   *fp = fopen(mail_queue_path(path, queue, id), "r+");
    QFILE_INFO info;
    int     ret = -1;

    /*
     * An active message may finish meanwhile and its inode be recycled for
     * a new message (docs/queue-format.md): under our flock (a claimer
     * holds it while it rewrites a file), it must still be this file.
     */
    if (fp && !same_file_locked(fp, vstr_str(path))) {
	fclose(fp);
	fp = 0;
    }
    if (fp && qfile_read(fp, &info, why) == 0 && info.size_offset > 0) {
	char    buf[32];

	(void) snprintf(buf, sizeof(buf), "%15ld", (info.qmgr_flags | 1) % 1000000000000000L);
	/* 4th field: 3 fields of 15 digits + 3 spaces after the header. */
	if (pwrite(fileno(fp), buf, 15, info.size_offset + 2 + 48) == 15 && fsync(fileno(fp)) == 0)
	    ret = 0;
	else
	    msg_warn("expire file %s: %m", vstr_str(path));
    }
    if (fp) {
	fclose(fp);
	qfile_info_free(&info);
    }
    vstr_free(path);
    vstr_free(why);
    return (ret);
}

/* Apply op to message id found in queue; 1 if done. */
static int apply(int op, const char *queue, const char *id)
{
    switch (op) {
    case OP_DELETE:
	if (mail_queue_unlink(queue, id) < 0)
	    return (0);
	remove_logs(id);
	msg_info("%s: removed", id);
	return (1);
    case OP_HOLD:
	if (strcmp(queue, MAIL_QUEUE_HOLD) == 0
	    || mail_queue_rename(id, queue, MAIL_QUEUE_HOLD) < 0)
	    return (0);
	msg_info("%s: placed on hold", id);
	return (1);
    case OP_RELEASE:
	if (strcmp(queue, MAIL_QUEUE_HOLD) != 0
	    || mail_queue_rename(id, queue, MAIL_QUEUE_DEFERRED) < 0)
	    return (0);
	{
	    VSTR   *path = vstr_alloc(64);

	    (void) utimes(mail_queue_path(path, MAIL_QUEUE_DEFERRED, id), 0);
	    vstr_free(path);
	}
	msg_info("%s: released from hold", id);
	return (1);
    case OP_REQUEUE:
	if (strcmp(queue, MAIL_QUEUE_INCOMING) == 0) {
	    VSTR   *path = vstr_alloc(64);
	    int     ok = access(mail_queue_path(path, queue, id), F_OK) == 0;

	    vstr_free(path);
	    if (!ok)
		return (0);
	} else if (mail_queue_rename(id, queue, MAIL_QUEUE_INCOMING) < 0)
	    return (0);
	(void) dsn_log_remove(MAIL_QUEUE_DEFER, id);
	msg_info("%s: requeued", id);
	return (1);
    case OP_EXPIRE:
    case OP_EXPIRE_RELEASE:
	if (set_expire(queue, id) < 0)
	    return (0);
	msg_info("%s: expired", id);
	if (op == OP_EXPIRE_RELEASE && strcmp(queue, MAIL_QUEUE_HOLD) == 0
	    && mail_queue_rename(id, queue, MAIL_QUEUE_DEFERRED) == 0)
	    msg_info("%s: released from hold", id);
	return (1);
    }
    return (0);
}

static void walk(int op, const char *queue, const char *dir, int depth, ARGV *ids, int all)
{
    DIR    *dp;
    struct dirent *de;
    VSTR   *sub = vstr_alloc(64);

    if ((dp = opendir(dir)) == 0) {
	vstr_free(sub);
	return;
    }
    while ((de = readdir(dp)) != 0) {
	if (de->d_name[0] == '.')
	    continue;
	if (depth > 0 && strlen(de->d_name) == 1) {
	    (void) vstr_fmt(sub, "%s/%s", dir, de->d_name);
	    walk(op, queue, vstr_str(sub), depth - 1, ids, all);
	    continue;
	}
	if (!mail_queue_id_ok(de->d_name))
	    continue;
	if (all)
	    op_done[op] += apply(op, queue, de->d_name);
    }
    closedir(dp);
    vstr_free(sub);
}

static void run_op(int op, ARGV *queues)
{
    ARGV   *qs = queues->argc ? queues : argv_split(op_defaults[op], " ");
    ARGV   *ids = op_ids[op];
    int     all = 0;

    for (size_t i = 0; i < ids->argc; i++)
	if (strcmp(ids->argv[i], "ALL") == 0)
	    all = 1;
    if (all) {
	/* Postfix logs each message of "ALL" to the maillog only. */
	msg_stderr_enable(0);
	for (size_t q = 0; q < qs->argc; q++) {
	    long    depth = mail_queue_hashed(qs->argv[q]) ? mail_conf_int("hash_queue_depth") : 0;

	    walk(op, qs->argv[q], qs->argv[q], (int) depth, ids, 1);
	}
	msg_stderr_enable(1);
    } else {
	for (size_t i = 0; i < ids->argc; i++) {
	    if (!mail_queue_id_ok(ids->argv[i])) {
		msg_warn("invalid mail queue id: %s", ids->argv[i]);
		continue;
	    }
	    for (size_t q = 0; q < qs->argc; q++)
		if (apply(op, qs->argv[q], ids->argv[i])) {
		    op_done[op]++;
		    break;
		}
	}
    }
    if (qs != queues)
	argv_free(qs);
}

static void add_id(int op, const char *arg)
{
    if (strcmp(arg, "-") == 0) {
	VSTR   *line = vstr_alloc(64);
	char    buf[1024];

	vstr_set_limit(line, 1024);
	while (fgets(buf, sizeof(buf), stdin)) {
	    char   *cp = buf, *tok;

	    while ((tok = strsep(&cp, " \t\r\n")) != 0)
		if (*tok)
		    argv_add(op_ids[op], tok);
	}
	vstr_free(line);
    } else
	argv_add(op_ids[op], arg);
}

static void purge_temp(void)
{
    static const char *const dirs[] = {MAIL_QUEUE_INCOMING, MAIL_QUEUE_ACTIVE,
    MAIL_QUEUE_MAILDROP, 0};
    time_t  now = time(0);

    for (const char *const *d = dirs; *d; d++) {
	DIR    *dp = opendir(*d);
	struct dirent *de;
	VSTR   *path = vstr_alloc(64);

	if (dp == 0) {
	    vstr_free(path);
	    continue;
	}
	while ((de = readdir(dp)) != 0) {
	    struct stat st;

	    /* Temporary names: "PID.USEC.N" (mail_queue_create). */
	    if (de->d_name[0] == '.' || mail_queue_id_ok(de->d_name))
		continue;
	    (void) vstr_fmt(path, "%s/%s", *d, de->d_name);
	    if (stat(vstr_str(path), &st) == 0 && S_ISREG(st.st_mode)
		&& now - st.st_mtime > 3600 && unlink(vstr_str(path)) == 0)
		msg_warn("%s: removed stale temporary file", vstr_str(path));
	}
	closedir(dp);
	vstr_free(path);
    }
    /* Recycled queue files claimed by a process that died (queue-format.md). */
    {
	long    n = mail_queue_recycle_purge(MAIL_QUEUE_RECYCLE, 3600);

	if (n > 0)
	    msg_warn("%s: removed %ld stale claimed file%s", MAIL_QUEUE_RECYCLE, n,
		     n == 1 ? "" : "s");
    }
}


int     main(int argc, char **argv)
{
    int     ch;
    ARGV   *queues = argv_alloc(4);
    int     purge = 0;
    static const char *const op_summary[OP_COUNT] = {
	"Deleted", "Placed on hold", "Released from hold", "Requeued",
	"Force-expired", "Force-expired",
    };
    int     op_seen[OP_COUNT] = {0};
    int     order[OP_COUNT], norder = 0;

    msg_init("postsuper", 1);
    for (int i = 0; i < OP_COUNT; i++)
	op_ids[i] = argv_alloc(4);
    while ((ch = getopt(argc, argv, "c:d:e:f:h:H:pr:sSv")) != -1) {
	int     op = -1;

	switch (ch) {
	case 'c':
	    mail_conf_set_dir(optarg);
	    continue;
	case 'd':
	    op = OP_DELETE;
	    break;
	case 'e':
	    op = OP_EXPIRE;
	    break;
	case 'f':
	    op = OP_EXPIRE_RELEASE;
	    break;
	case 'h':
	    op = OP_HOLD;
	    break;
	case 'H':
	    op = OP_RELEASE;
	    break;
	case 'r':
	    op = OP_REQUEUE;
	    break;
	case 'p':
	    purge = 1;
	    continue;
	case 's':
	case 'S':
	    continue;
	case 'v':
	    msg_verbose++;
	    continue;
	default:
	    usage();
	}
	if (!op_seen[op]) {
	    op_seen[op] = 1;
	    order[norder++] = op;
	}
	add_id(op, optarg);
    }
    for (int i = optind; i < argc; i++) {
	int     ok = 0;

	for (const char *const *q = mail_queue_names; *q; q++)
	    if (strcmp(*q, argv[i]) == 0)
		ok = 1;
	if (!ok)
	    msg_fatal("invalid directory name: %s", argv[i]);
	argv_add(queues, argv[i]);
    }
    mail_conf_read();
    mail_queue_chdir();
    mail_owner_drop_privileges();	/* like Postfix: files stay mail_owner's */
    if (purge)
	purge_temp();
    /* Postfix's order: delete, then hold/release/requeue/expire. */
    for (int k = 0; k < norder; k++) {
	int     op = order[k];

	run_op(op, queues);
    }
    for (int k = 0; k < norder; k++) {
	int     op = order[k];

	msg_info("%s: %ld message%s", op_summary[op], op_done[op], op_done[op] == 1 ? "" : "s");
    }
    return (0);
}
