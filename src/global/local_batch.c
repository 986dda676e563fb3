/*
 * local_batch - several queued messages in one pass (local_deliver_many).
 *
 * Each message goes through local_deliver() as usual (aliases, .forward,
 * loop detection, duplicate filter, every other kind of delivery at
 * once). Maildir and mailbox (mbox) deliveries of users are only
 * formatted then: they are kept here, and at the end of the pass the
 * messages for one Maildir (same directory, same user) are written
 * together with maildir_deliver_many(), which fsyncs each file and new/
 * once for all of them, and the messages for one mailbox file are appended
 * under one lock with one fsync (local_mbox_append_many). Only then is
 * each of them reported (status=sent, or the failure) through the report
 * callback of its own message, as local_deliver() would have reported it.
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
    int     mbox;			/* 0: Maildir, 1: mbox file */
    char   *dir;			/* the Maildir or the mbox file */
    int     spool;			/* mbox: local_mbox_append_many() arguments */
    int     check_owner;
    int     lock_mask;
    char   *user;			/* mbox: for biff */
    uid_t   uid;
    gid_t   gid;
    VSTR   *data;			/* the formatted message */
    char   *prefix;			/* failure text prefix */
    char   *recipient;			/* the delivered address (leaf) */
    char   *orig;			/* orig_to ("" inside an owner- alias) */
    char   *orcpt;			/* DSN ORCPT ("" inside an owner- alias) */
    int     notify;			/* DSN NOTIFY (no SUCCESS inside an expansion) */
    int     done;			/* written and reported */
} LOCAL_PENDING;

/* Formatted messages kept at most; beyond it they are written early. */
#define LOCAL_BATCH_BYTES	((size_t) 16 << 20)

static struct {
    int     active;
    size_t  job;			/* the job being expanded */
    LOCAL_PENDING *p;
    size_t  n;
    size_t  cap;
    size_t  bytes;			/* formatted text kept */
} local_batch;

static LOCAL_PENDING *add(LOCAL_STATE *state, const LOCAL_ATTR *attr, const char *dir,
			          uid_t uid, gid_t gid, VSTR *data, const char *prefix)
{
    LOCAL_PENDING *p;

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
    p->orig = xstrdup(state->orig ? state->orig : "");
    p->orcpt = xstrdup(state->orcpt ? state->orcpt : "");
    p->notify = state->notify;
    local_batch.bytes += vstr_len(data);
    return p;
}

int     local_batch_add_maildir(LOCAL_STATE *state, const LOCAL_ATTR *attr, const char *dir,
				        uid_t uid, gid_t gid, VSTR *data, const char *prefix)
{
    if (!local_batch.active)
	return -1;
    (void) add(state, attr, dir, uid, gid, data, prefix);
    return 0;
}

int     local_batch_add_mbox(LOCAL_STATE *state, const LOCAL_ATTR *attr, const char *path,
			             int spool, int check_owner, uid_t uid, gid_t gid, int lock_mask,
			             VSTR *data, const char *prefix)
{
    LOCAL_PENDING *p;

    if (!local_batch.active)
	return -1;
    p = add(state, attr, path, uid, gid, data, prefix);
    p->mbox = 1;
    p->spool = spool;
    p->check_owner = check_owner;
    p->lock_mask = lock_mask;
    p->user = xstrdup(attr->user ? attr->user : "");
    return 0;
}

/* Report one written (or failed) pending delivery to its job. */
static void report(LOCAL_JOB *jobs, LOCAL_PENDING *p, int status, const char *dsn,
		           const VSTR *why)
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
    st.orcpt = p->orcpt;
    st.notify = p->notify;
    attr.recipient = p->recipient;
    if (status == 0)
	local_report(&st, &attr, LOCAL_STAT_SENT, "2.0.0",
		     p->mbox ? "delivered to mailbox" : "delivered to maildir");
    else
	local_report(&st, &attr, dsn[0] == '4' ? LOCAL_STAT_DEFER : LOCAL_STAT_BOUNCE,
		     dsn, "%s%s", p->prefix, vstr_str(why));
    if (st.status < 0)
	job->status = -1;
}

static int same_target(const LOCAL_PENDING *a, const LOCAL_PENDING *b)
{
    return a->mbox == b->mbox && a->uid == b->uid && a->gid == b->gid
	&& strcmp(a->dir, b->dir) == 0
	&& (!a->mbox || (a->spool == b->spool && a->check_owner == b->check_owner
			 && a->lock_mask == b->lock_mask));
}

/*
 * Write every pending delivery: one maildir_deliver_many() per Maildir and
 * user, one local_mbox_append_many() per mailbox; then report each.
 */
static void flush(LOCAL_JOB *jobs)
{
    size_t  max = local_batch.n ? local_batch.n : 1;
    MAILDIR_MSG *m = xcalloc(max, sizeof(*m));
    LOCAL_MBOX_ITEM *mb = xcalloc(max, sizeof(*mb));
    size_t *idx = xcalloc(max, sizeof(*idx));
    size_t  i;
    size_t  j;
    size_t  k;

    for (i = 0; i < local_batch.n; i++) {
	LOCAL_PENDING *first = local_batch.p + i;

	if (first->done)
	    continue;
	for (k = 0, j = i; j < local_batch.n; j++) {
	    LOCAL_PENDING *p = local_batch.p + j;

	    if (p->done || !same_target(p, first))
		continue;
	    memset(m + k, 0, sizeof(m[k]));
	    memset(mb + k, 0, sizeof(mb[k]));
	    m[k].data = vstr_str(p->data);
	    m[k].len = vstr_len(p->data);
	    m[k].why = mb[k].why = vstr_alloc(100);
	    mb[k].data = p->data;
	    idx[k++] = j;
	    p->done = 1;
	}
	if (first->mbox) {
	    (void) local_mbox_append_many(first->dir, first->spool, first->check_owner,
					  first->uid, first->gid, first->lock_mask, mb, k);
	} else {
	    local_set_eugid(first->uid, first->gid);
	    (void) maildir_deliver_many(first->dir, m, k, local_conf.mailbox_size_limit);
	    local_restore_root();
	}
	for (j = 0; j < k; j++) {
	    LOCAL_PENDING *p = local_batch.p + idx[j];

	    if (first->mbox) {
		report(jobs, p, mb[j].status, mb[j].dsn, mb[j].why);
		if (mb[j].status == 0)
		    local_biff_notify(p->user, mb[j].offset);
	    } else {
		if (m[j].status != 0)
		    local_maildir_warn(m[j].err, p->uid, p->gid, m[j].why);
		report(jobs, p, m[j].status, m[j].dsn, m[j].why);
	    }
	    vstr_free(m[j].why);
	}
    }
    free(m);
    free(mb);
    free(idx);
}

/* Write and report what is pending, then forget it. */
static void flush_and_free(LOCAL_JOB *jobs)
{
    size_t  i;

    flush(jobs);
    for (i = 0; i < local_batch.n; i++) {
	LOCAL_PENDING *p = local_batch.p + i;

	free(p->dir);
	vstr_free(p->data);
	free(p->prefix);
	free(p->recipient);
	free(p->user);
	free(p->orig);
	free(p->orcpt);
    }
    local_batch.n = 0;
    local_batch.bytes = 0;
}

void    local_deliver_many(LOCAL_JOB *jobs, size_t n, int flags)
{
    size_t  i;

    if (local_batch.active)
	msg_panic("local_deliver_many: nested call");
    local_batch.n = 0;
    local_batch.bytes = 0;
    for (i = 0; i < n; i++)
	jobs[i].status = 0;
    local_cache_begin();
    for (i = 0; i < n; i++) {
	local_batch.active = 1;
	local_batch.job = i;
	if (local_deliver(jobs[i].msg, jobs[i].rcpt, jobs[i].rep, flags) < 0)
	    jobs[i].status = -1;
	local_batch.active = 0;
	/* Bounded memory: big messages are written before the pass ends. */
	if (local_batch.bytes > LOCAL_BATCH_BYTES)
	    flush_and_free(jobs);
    }
    flush_and_free(jobs);
    local_cache_end();
}
