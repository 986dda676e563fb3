/* qcommit - group commit of queue files; see qcommit.h. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "mem.h"
#include "msg.h"
#include "qcommit.h"
#include "safe_file.h"

typedef struct QC_JOB {
    int     fd;				/* file to fsync, or -1 */
    char   *dir;			/* directory to fsync, or NULL */
    QCOMMIT_FN fn;
    void   *context;
    int     err;
    struct QC_BATCH *batch;
    struct QC_JOB *next;		/* work queue */
} QC_JOB;

typedef struct QC_BATCH {
    QC_JOB **jobs;
    size_t  njobs;
    size_t  cap;
    int     pending;			/* under qc_lock */
    struct QC_BATCH *next;		/* done list */
} QC_BATCH;

static pthread_mutex_t qc_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t qc_cond = PTHREAD_COND_INITIALIZER;
static QC_JOB *qc_work_head, *qc_work_tail;
static QC_BATCH *qc_done_head, *qc_done_tail;
static QC_BATCH *qc_current;
static struct event *qc_flush_ev, *qc_done_ev;
static int qc_efd = -1;
static int qc_threads;

static void qc_job_done(QC_JOB *job)
{
    QC_BATCH *b = job->batch;
    int     last;

    pthread_mutex_lock(&qc_lock);
    last = (--b->pending == 0);
    if (last) {
	b->next = 0;
	if (qc_done_tail)
	    qc_done_tail->next = b;
	else
	    qc_done_head = b;
	qc_done_tail = b;
    }
    pthread_mutex_unlock(&qc_lock);
    if (last) {
	uint64_t one = 1;

	if (write(qc_efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
	    msg_warn("qcommit: eventfd write: %m");
    }
}

static void qc_run(QC_JOB *job)
{
    if (job->fd >= 0) {
	if (fsync(job->fd) < 0)
	    job->err = errno;
    } else if (job->dir) {
	if (fsync_dir(job->dir) < 0)
	    job->err = errno;
    }
}

static void *qc_worker(void *arg)
{
    for (;;) {
	QC_JOB *job;

	pthread_mutex_lock(&qc_lock);
	while (qc_work_head == 0)
	    pthread_cond_wait(&qc_cond, &qc_lock);
	job = qc_work_head;
	if ((qc_work_head = job->next) == 0)
	    qc_work_tail = 0;
	pthread_mutex_unlock(&qc_lock);
	qc_run(job);
	qc_job_done(job);
    }
    return (0);
}

static void qc_batch_add(QC_BATCH *b, QC_JOB *job)
{
    if (b->njobs == b->cap) {
	b->cap = b->cap ? b->cap * 2 : 16;
	b->jobs = xrealloc(b->jobs, b->cap * sizeof(*b->jobs));
    }
    job->batch = b;
    b->jobs[b->njobs++] = job;
}

static void qc_flush_cb(evutil_socket_t fd, short what, void *arg)
{
    QC_BATCH *b = qc_current;
    size_t  nfiles;

    if (b == 0)
	return;
    qc_current = 0;
    /* One directory fsync per distinct directory. */
    nfiles = b->njobs;
    for (size_t i = 0; i < nfiles; i++) {
	int     seen = 0;

	for (size_t j = nfiles; j < b->njobs; j++)
	    if (strcmp(b->jobs[j]->dir, b->jobs[i]->dir) == 0)
		seen = 1;
	if (!seen) {
	    QC_JOB *dj = xcalloc(1, sizeof(*dj));

	    dj->fd = -1;
	    dj->dir = xstrdup(b->jobs[i]->dir);
	    qc_batch_add(b, dj);
	}
    }
    if (qc_threads == 0) {
	for (size_t i = 0; i < b->njobs; i++) {
	    qc_run(b->jobs[i]);
	}
	b->pending = 1;
	qc_job_done(b->jobs[0]);
	return;
    }
    pthread_mutex_lock(&qc_lock);
    b->pending = (int) b->njobs;
    for (size_t i = 0; i < b->njobs; i++) {
	QC_JOB *job = b->jobs[i];

	job->next = 0;
	if (qc_work_tail)
	    qc_work_tail->next = job;
	else
	    qc_work_head = job;
	qc_work_tail = job;
    }
    pthread_cond_broadcast(&qc_cond);
    pthread_mutex_unlock(&qc_lock);
}

static void qc_done_cb(evutil_socket_t fd, short what, void *arg)
{
    uint64_t count;
    QC_BATCH *list;

    (void) read(qc_efd, &count, sizeof(count));
    pthread_mutex_lock(&qc_lock);
    list = qc_done_head;
    qc_done_head = qc_done_tail = 0;
    pthread_mutex_unlock(&qc_lock);
    while (list) {
	QC_BATCH *b = list;
	int     direrr = 0;

	list = b->next;
	for (size_t i = 0; i < b->njobs; i++)
	    if (b->jobs[i]->fd < 0 && b->jobs[i]->err)
		direrr = b->jobs[i]->err;
	for (size_t i = 0; i < b->njobs; i++) {
	    QC_JOB *job = b->jobs[i];

	    if (job->fn) {
		int     err = job->err ? job->err : direrr;

		if (err)
		    msg_warn("fsync queue file: %s", strerror(err));
		job->fn(job->context, err);
	    }
	    free(job->dir);
	    free(job);
	}
	free(b->jobs);
	free(b);
	qcommit_notify_qmgr();
    }
}

void    qcommit_init(struct event_base *base, int threads)
{
    pthread_t tid;

    if ((qc_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
	msg_fatal("eventfd: %m");
    qc_flush_ev = event_new(base, -1, 0, qc_flush_cb, 0);
    qc_done_ev = event_new(base, qc_efd, EV_READ | EV_PERSIST, qc_done_cb, 0);
    event_add(qc_done_ev, 0);
    qc_threads = threads;
    for (int i = 0; i < threads; i++) {
	pthread_attr_t attr;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	if (pthread_create(&tid, &attr, qc_worker, 0) != 0)
	    msg_fatal("pthread_create: %m");
	pthread_attr_destroy(&attr);
    }
}

void    qcommit_add(int fd, const char *dir, QCOMMIT_FN fn, void *context)
{
    QC_JOB *job = xcalloc(1, sizeof(*job));

    job->fd = fd;
    job->dir = xstrdup(dir);
    job->fn = fn;
    job->context = context;
    if (qc_current == 0) {
	qc_current = xcalloc(1, sizeof(*qc_current));
	/* Runs after the events already active in this loop turn. */
	event_active(qc_flush_ev, EV_TIMEOUT, 0);
    }
    qc_batch_add(qc_current, job);
}

void    qcommit_notify_qmgr(void)
{
    struct sockaddr_un sun;
    int     fd;
    static const char path[] = "public/qmgr";

    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
	return;
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    memcpy(sun.sun_path, path, sizeof(path));
    if (connect(fd, (struct sockaddr *) &sun, sizeof(sun)) == 0)
	(void) write(fd, "A", 1);
    (void) close(fd);
}
