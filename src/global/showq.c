/* showq - mail queue listing; see showq.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "attr.h"
#include "dsn_log.h"
#include "htable.h"
#include "mail_conf.h"
#include "mail_queue.h"
#include "mem.h"
#include "msg.h"
#include "qfile.h"
#include "showq.h"
#include "vstr.h"

typedef struct SHOWQ_STATE {
    FILE   *out;
    int     format;
    long    count;
    long    total_size;
} SHOWQ_STATE;

static void json_string(FILE *out, const char *s)
{
    putc('"', out);
    for (const unsigned char *cp = (const unsigned char *) s; *cp; cp++) {
	if (*cp == '"' || *cp == '\\')
	    fprintf(out, "\\%c", *cp);
	else if (*cp < 0x20 || *cp == 0x7f)
	    fprintf(out, "\\u%04x", *cp);
	else
	    putc(*cp, out);
    }
    putc('"', out);
}

static void showq_message(SHOWQ_STATE *st, const char *queue, const char *id, const char *path)
{
    FILE   *fp;
    QFILE_INFO info;
    VSTR   *why = vstr_alloc(64);
    DSN_ENTRY *ents = 0;
    long    nents = 0;
    HTABLE *reasons;

    if ((fp = fopen(path, "r")) == 0) {
	vstr_free(why);
	return;
    }
    if (qfile_read(fp, &info, why) < 0) {
	/* In progress or damaged: not listed (as Postfix does). */
	fclose(fp);
	qfile_info_free(&info);
	vstr_free(why);
	return;
    }
    if (info.arrival.tv_sec == 0) {		/* maildrop: the file's time */
	struct stat fst;

	if (fstat(fileno(fp), &fst) == 0)
	    info.arrival.tv_sec = fst.st_mtime;
    }
    fclose(fp);
    vstr_free(why);
    reasons = htable_create(8);
    if (strcmp(queue, MAIL_QUEUE_MAILDROP) != 0
	&& (nents = dsn_log_read(MAIL_QUEUE_DEFER, id, &ents)) > 0)
	for (long i = 0; i < nents; i++)
	    htable_enter(reasons, ents[i].recipient, ents[i].reason);
    st->count++;
    st->total_size += info.content_length;
    if (st->format == SHOWQ_FORMAT_JSON) {
	int     first = 1;

	fprintf(st->out, "{\"queue_name\": ");
	json_string(st->out, queue);
	fprintf(st->out, ", \"queue_id\": ");
	json_string(st->out, id);
	fprintf(st->out, ", \"arrival_time\": %ld, \"message_size\": %ld, \"forced_expire\": %s, \"sender\": ",
		(long) info.arrival.tv_sec, info.content_length,
		(info.qmgr_flags & 1) ? "true" : "false");
	json_string(st->out, *info.sender ? info.sender : "MAILER-DAEMON");
	fprintf(st->out, ", \"recipients\": [");
	for (size_t i = 0; i < info.nrcpt; i++) {
	    const char *reason;

	    if (info.rcpt[i].done)
		continue;
	    fprintf(st->out, "%s{\"address\": ", first ? "" : ", ");
	    json_string(st->out, info.rcpt[i].address);
	    if ((reason = htable_find(reasons, info.rcpt[i].address)) != 0) {
		fprintf(st->out, ", \"delay_reason\": ");
		json_string(st->out, reason);
	    }
	    putc('}', st->out);
	    first = 0;
	}
	fprintf(st->out, "]}\n");
    } else {
	char    idst[MAIL_QUEUE_ID_MAX + 2];
	char    date[32];
	time_t  t = info.arrival.tv_sec;
	struct tm tm;
	const char *prev = 0;

	if (st->count == 1)
	    fprintf(st->out, "-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------\n");
	(void) snprintf(idst, sizeof(idst), "%s%s", id,
			strcmp(queue, MAIL_QUEUE_ACTIVE) == 0 ? "*" :
			strcmp(queue, MAIL_QUEUE_HOLD) == 0 ? "!" : "");
	(void) localtime_r(&t, &tm);
	(void) strftime(date, sizeof(date), "%a %b %e %H:%M:%S %Y", &tm);
	fprintf(st->out, "%-11s %7ld %20.20s %s\n", idst, info.content_length, date,
		*info.sender ? info.sender : "MAILER-DAEMON");
	for (size_t i = 0; i < info.nrcpt; i++) {
	    const char *reason;

	    if (info.rcpt[i].done)
		continue;
	    reason = htable_find(reasons, info.rcpt[i].address);
	    if (reason && (prev == 0 || strcmp(prev, reason) != 0)) {
		int     pad = 76 - (int) strlen(reason);

		fprintf(st->out, "%*s(%s)\n", pad > 0 ? pad : 0, "", reason);
	    }
	    prev = reason;
	    fprintf(st->out, "%41s%s\n", "", info.rcpt[i].address);
	}
	fprintf(st->out, "\n");
    }
    htable_free(reasons, 0);
    dsn_log_free(ents, nents > 0 ? nents : 0);
    qfile_info_free(&info);
}

static void showq_dir(SHOWQ_STATE *st, const char *queue, const char *dir, int depth)
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
	(void) vstr_fmt(sub, "%s/%s", dir, de->d_name);
	if (depth > 0 && strlen(de->d_name) == 1) {
	    showq_dir(st, queue, vstr_str(sub), depth - 1);
	    continue;
	}
	if (!mail_queue_id_ok(de->d_name))
	    continue;
	showq_message(st, queue, de->d_name, vstr_str(sub));
    }
    closedir(dp);
    vstr_free(sub);
}

int     showq_list(FILE *out, int format)
{
    static const char *const queues[] = {
	MAIL_QUEUE_MAILDROP, MAIL_QUEUE_INCOMING, MAIL_QUEUE_ACTIVE,
	MAIL_QUEUE_DEFERRED, MAIL_QUEUE_HOLD, 0,
    };
    SHOWQ_STATE st = {out, format, 0, 0};

    for (const char *const *q = queues; *q; q++) {
	long    depth = mail_queue_hashed(*q) ? mail_conf_int("hash_queue_depth") : 0;

	showq_dir(&st, *q, *q, (int) depth);
    }
    if (format != SHOWQ_FORMAT_JSON) {
	if (st.count == 0)
	    fprintf(out, "Mail queue is empty\n");
	else
	    fprintf(out, "-- %ld Kbytes in %ld Request%s.\n", st.total_size / 1024,
		    st.count, st.count == 1 ? "" : "s");
    }
    return (fflush(out) == 0 ? 0 : -1);
}

int     showq_report(FILE *out, int format)
{
    VSTR   *path = vstr_alloc(64);
    int     fd;
    const char *qdir = mail_conf_str("queue_directory");

    (void) vstr_fmt(path, "%s/public/showq", qdir);
    if ((fd = attr_unix_connect(vstr_str(path), 0)) >= 0) {
	char    req[2] = {(char) format, '\n'};
	char    buf[8192];
	ssize_t n;

	if (write(fd, req, 2) == 2) {
	    while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (fwrite(buf, 1, n, out) != (size_t) n)
		    break;
	    (void) close(fd);
	    vstr_free(path);
	    return (fflush(out) == 0 ? 0 : EX_IOERR);
	}
	(void) close(fd);
    }
    {
	int     saved = errno;
	VSTR   *active = vstr_alloc(64);

	(void) vstr_fmt(active, "%s/%s", qdir, MAIL_QUEUE_ACTIVE);
	errno = saved;
	if (access(vstr_str(active), R_OK | X_OK) < 0) {
	    errno = saved;
	    msg_fatal_status(EX_UNAVAILABLE, "Queue report unavailable - mail system is down"
			     " (Connect to the %s %s service: %m)",
			     mail_conf_str("mail_name"), "showq");
	}
	errno = saved;
	msg_warn("Mail system is down -- accessing queue directly"
		 " (Connect to the %s %s service: %m)", mail_conf_str("mail_name"), "showq");
	vstr_free(active);
    }
    vstr_free(path);
    mail_queue_chdir();
    return (showq_list(out, format) == 0 ? 0 : EX_IOERR);
}
