/*
 * smtpd_etrn - ETRN as an administrator sees it with Postfix's flush(8):
 *
 *	domain in fast_flush_domains (default $relay_domains):
 *	    "250 Queuing started"; the deferred mail for the domain is made
 *	    due and qmgr is asked for a deferred-queue scan, so it is retried
 *	    now (as `postqueue -s domain` does)
 *	otherwise: "459 <domain>: service unavailable" and
 *	    "warning: reject: ETRN domain... from host[addr]"
 *
 * The deferred queue is read in a short-lived thread, so the event loop
 * (the other sessions) never waits for it. At most SE_MAX_SCANS run at
 * once per process; beyond that the answer is Postfix's reply for a flush
 * service that cannot take the request, "458 Unable to queue messages".
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mail_conf.h"
#include "mail_trigger.h"
#include "mem.h"
#include "msg.h"
#include "qflush.h"
#include "resolve.h"
#include "smtpd.h"
#include "stringops.h"

#define SE_MAX_SCANS	4

static int se_running;			/* scans in flight (atomic) */

typedef struct {
    int     depth;
    char   *site;
    char   *qmgr;
} SE_JOB;

static void *se_thread(void *arg)
{
    SE_JOB *job = arg;

    (void) qflush_due_depth(job->depth, job->site, 0);
    (void) mail_trigger(job->qmgr, "D");
    free(job->site);
    free(job->qmgr);
    free(job);
    __atomic_sub_fetch(&se_running, 1, __ATOMIC_SEQ_CST);
    return (0);
}

static int se_start(const char *site)
{
    SE_JOB *job;
    VSTR   *path;
    pthread_attr_t attr;
    pthread_t tid;
    int     ret = 0;

    if (__atomic_load_n(&se_running, __ATOMIC_SEQ_CST) >= SE_MAX_SCANS)
	return (-1);
    __atomic_add_fetch(&se_running, 1, __ATOMIC_SEQ_CST);
    job = xcalloc(1, sizeof(*job));
    path = vstr_alloc(64);

    job->depth = qflush_depth();
    job->site = xstrdup(site);
    (void) vstr_fmt(path, "%s/public/qmgr", mail_conf_str("queue_directory"));
    job->qmgr = xstrdup(vstr_str(path));
    vstr_free(path);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if ((ret = pthread_create(&tid, &attr, se_thread, job)) != 0) {
	errno = ret;
	msg_warn("ETRN %s: cannot start a queue scan: %m", site);
	free(job->site);
	free(job->qmgr);
	free(job);
	__atomic_sub_fetch(&se_running, 1, __ATOMIC_SEQ_CST);
	ret = -1;
    }
    pthread_attr_destroy(&attr);
    return (ret);
}

/* The reply to an accepted ETRN domain; *ok is 1 for 250. */
const char *smtpd_etrn_flush(SMTPD_STATE *state, const char *domain, int *ok)
{
    static VSTR *reply;
    char   *lc = lowercase(xstrdup(domain));
    int     listed = resolve_domain_in("fast_flush_domains", lc);

    if (reply == 0)
	reply = vstr_alloc(128);
    if (listed && se_start(lc) == 0) {
	vstr_fmt(reply, "250 Queuing started");
	*ok = 1;
    } else if (listed) {
	msg_warn("unable to talk to fast flush service");
	vstr_fmt(reply, "458 Unable to queue messages");
	*ok = 0;
    } else {
	msg_warn("reject: ETRN %.100s... from %s", domain, state->namaddr);
	vstr_fmt(reply, "459 <%s>: service unavailable", domain);
	*ok = 0;
    }
    free(lc);
    return (vstr_str(reply));
}
