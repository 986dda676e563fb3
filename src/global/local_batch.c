/*
 * local_batch - several queued messages in one pass (local_deliver_many).
 *
 * Each message goes through local_deliver() as usual (aliases, .forward,
 * loop detection, duplicate filter, every other kind of delivery at
 * once). Maildir deliveries are only formatted then: they are kept here,
 * and at the end of the pass the messages for one Maildir (same directory,
 * same user) are written together with maildir_deliver_many(), which
 * fsyncs each file and new/ once for all of them. Only then is each of
 * them reported (status=sent, or the failure) through the report callback
 * of its own message, as local_deliver() would have reported it.
 */
#include <stdlib.h>
#include <string.h>

#include "local_private.h"
#include "maildir.h"
#include "mem.h"
#include "msg.h"
#include "stringops.h"

typedef struct LOCAL_PENDING {
    size_t  job;			/* index into the jobs of the pass */
    char   *dir;			/* the Maildir */
    uid_t   uid;
    gid_t   gid;
    VSTR   *data;			/* the formatted message */
    char   *prefix;			/* failure text prefix */
    char   *recipient;			/* the delivered address (leaf) */
    const char *orig;			/* orig_to (owned by the job) */
    int     done;			/* written and reported */
} LOCAL_PENDING;

static struct {
    int     active;
    size_t  job;			/* the job being expanded */
    LOCAL_PENDING *p;
    size_t  n;
    size_t  cap;
} local_batch;

int     local_batch_add_maildir(LOCAL_STATE *state, const LOCAL_ATTR *attr, const char *dir,
				        uid_t uid, gid_t gid, VSTR *data, const char *prefix)
{
    LOCAL_PENDING *p;

    if (!local_batch.active)
	return -1;
    if (local_batch.n == local_batch.cap) {
	local_batch.cap = local_batch.cap ? 2 * local_batch.cap : 16;
	local_batch.p = xrealloc(local_batch.p, local_batch.cap * sizeof(*local_batch.p));
    }
    p = local_batch.p + local_batch.n++;
    memset(p, 0, sizeof(*p));
    p->job = local_batch.job;
    p->dir = xstrdup(dir);
    p->uid = uid;
    p->gid = gid;
    p->data = data;
    p->prefix = xstrdup(prefix);
    p->recipient = xstrdup(attr->recipient);
    p->orig = state->orig;
    return 0;
}

/* Report one written (or failed) pending delivery to its job. */
static void report(LOCAL_JOB *jobs, LOCAL_PENDING *p, const MAILDIR_MSG *m)
{
    LOCAL_JOB *job = jobs + p->job;
    LOCAL_STATE st;
    LOCAL_ATTR attr;

    memset(&st, 0, sizeof(st));
    memset(&attr, 0, sizeof(attr));
    st.msg = job->msg;
    st.rep = job->rep;
    st.top = job->rcpt;
    st.orig = p->orig;
    attr.recipient = p->recipient;
    if (m->status == 0)
	local_report(&st, &attr, LOCAL_STAT_SENT, "2.0.0", "delivered to maildir");
    else
	local_report(&st, &attr, m->dsn[0] == '4' ? LOCAL_STAT_DEFER : LOCAL_STAT_BOUNCE,
		     m->dsn, "%s%s", p->prefix, vstr_str(m->why));
    if (st.status < 0)
	job->status = -1;
}

/* Write every pending Maildir delivery, one maildir_deliver_many per Maildir and user. */
static void flush(LOCAL_JOB *jobs)
{
    MAILDIR_MSG *m = xcalloc(local_batch.n ? local_batch.n : 1, sizeof(*m));
    size_t *idx = xcalloc(local_batch.n ? local_batch.n : 1, sizeof(*idx));
    size_t  i;
    size_t  j;
    size_t  k;

    for (i = 0; i < local_batch.n; i++) {
	LOCAL_PENDING *first = local_batch.p + i;

	if (first->done)
	    continue;
	for (k = 0, j = i; j < local_batch.n; j++) {
	    LOCAL_PENDING *p = local_batch.p + j;

	    if (p->done || p->uid != first->uid || p->gid != first->gid
		|| strcmp(p->dir, first->dir) != 0)
		continue;
	    memset(m + k, 0, sizeof(m[k]));
	    m[k].data = vstr_str(p->data);
	    m[k].len = vstr_len(p->data);
	    m[k].why = vstr_alloc(100);
	    idx[k++] = j;
	    p->done = 1;
	}
	local_set_eugid(first->uid, first->gid);
	(void) maildir_deliver_many(first->dir, m, k, local_conf.mailbox_size_limit);
	local_restore_root();
	for (j = 0; j < k; j++) {
	    report(jobs, local_batch.p + idx[j], m + j);
	    vstr_free(m[j].why);
	}
    }
    free(m);
    free(idx);
}

void    local_deliver_many(LOCAL_JOB *jobs, size_t n, int flags)
{
    size_t  i;

    if (local_batch.active)
	msg_panic("local_deliver_many: nested call");
    local_batch.active = 1;
    local_batch.n = 0;
    for (i = 0; i < n; i++) {
	local_batch.job = i;
	jobs[i].status = local_deliver(jobs[i].msg, jobs[i].rcpt, jobs[i].rep, flags);
    }
    local_batch.active = 0;
    flush(jobs);
    for (i = 0; i < local_batch.n; i++) {
	LOCAL_PENDING *p = local_batch.p + i;

	free(p->dir);
	vstr_free(p->data);
	free(p->prefix);
	free(p->recipient);
    }
    local_batch.n = 0;
}
