/* qcommit - group commit of queue files; see qcommit.h. */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <sys/un.h>
#include <unistd.h>

#include "mem.h"
#include "msg.h"
#include "mail_trigger.h"
#include "qcommit.h"
#include "safe_file.h"

typedef struct QC_JOB {
    int     fd;				/* file to fsync */
    char   *dir;			/* its directory */
    QCOMMIT_FN fn;
    void   *context;
    int     err;
    struct QC_JOB *next;
    struct QU_ROUND *round;		/* io_uring: its round */
    int     dirreq;			/* io_uring: its directory fsync, or -1 */
} QC_JOB;

/*
 * Two ways to run rounds. The io_uring path (qu_*, below; the default)
 * needs no threads of ours. The thread path (the fallback, when io_uring
 * cannot be set up or POSTERN_QCOMMIT_THREADS is set):
 * jobs flow: qcommit_add() -> qc_turn (this event-loop turn) -> qc_work
 * (shared) -> a committer thread takes ALL waiting jobs at once, fsyncs
 * each file, then each distinct directory once -> qc_done -> eventfd ->
 * callbacks in the event-loop thread. While one round of fsyncs runs, new
 * completions pile up in qc_work and go together in the next round: the
 * batch grows with the load (group commit). On ext4 the first fsync of a
 * round commits the journal transaction that holds all of the round's
 * files, so the others cost little.
 */
static pthread_mutex_t qc_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t qc_cond = PTHREAD_COND_INITIALIZER;
static QC_JOB *qc_work_head, *qc_work_tail;	/* under qc_lock */
static QC_JOB *qc_done_head, *qc_done_tail;	/* under qc_lock */
static QC_JOB *qc_turn_head, *qc_turn_tail;	/* event-loop thread only */
static struct event *qc_flush_ev, *qc_done_ev;
static int qc_efd = -1;
static int qc_threads;

static void qc_append(QC_JOB **head, QC_JOB **tail, QC_JOB *list, QC_JOB *last)
{
    if (*tail)
	(*tail)->next = list;
    else
	*head = list;
    *tail = last;
}

/*
 * A directory fsync runs in a helper thread at the same time as the file
 * fsyncs of its round: the round takes as long as the slower of the two,
 * not their sum. Replies wait for both.
 */
typedef struct QC_DIRSYNC {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    const char *dir;			/* request, NULL when idle */
    int     done;
    int     err;
} QC_DIRSYNC;

/*
 * fsync a queue directory after a rename into it, unless the file system
 * makes the new name durable with the file's own fsync (fsync_covers_name:
 * ext4), which every job of a round gets.
 */
static int qc_fsync_dir(const char *dir)
{
    struct stat st;

    if (stat(dir, &st) == 0 && fsync_covers_name(st.st_dev))
	return (0);
    return (fsync_dir(dir));
}

static void *qc_dir_worker(void *arg)
{
    QC_DIRSYNC *ds = arg;

    pthread_mutex_lock(&ds->lock);
    for (;;) {
	const char *dir;
	int     err;

	while (ds->dir == 0)
	    pthread_cond_wait(&ds->cond, &ds->lock);
	dir = ds->dir;
	pthread_mutex_unlock(&ds->lock);
	err = qc_fsync_dir(dir) < 0 ? errno : 0;
	pthread_mutex_lock(&ds->lock);
	ds->err = err;
	ds->dir = 0;
	ds->done = 1;
	pthread_cond_broadcast(&ds->cond);
    }
    return (0);
}

static QC_DIRSYNC *qc_dirsync_new(void)
{
    QC_DIRSYNC *ds = xcalloc(1, sizeof(*ds));
    pthread_t tid;
    pthread_attr_t attr;

    pthread_mutex_init(&ds->lock, 0);
    pthread_cond_init(&ds->cond, 0);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 128 * 1024);
    if (pthread_create(&tid, &attr, qc_dir_worker, ds) != 0)
	msg_fatal("pthread_create: %m");
    pthread_attr_destroy(&attr);
    return (ds);
}

/*
 * The file fsyncs of a round run in parallel on a few helper threads: on
 * a journaled file system the first one commits the whole round anyway,
 * but without a journal (or on other file systems) each fsync waits for
 * its own I/O, and sequential fsyncs would make a round N times slower.
 */
#define QC_HELPERS	7

/*
 * io_uring path: commit rounds in flight at once. 1 is classic group
 * commit (a file added during a round waits for it to end, then for its
 * own round: 1.5 rounds on average) and the fewest fsyncs; 2 lets the next
 * round start at once, so a file waits about one round, at the cost of
 * more, smaller rounds (more directory fsyncs and flushes). On the shared
 * 2-core development VM the two measured the same within noise, so the
 * cheaper one is the default.
 */
#ifndef QC_ROUNDS_IN_FLIGHT
#define QC_ROUNDS_IN_FLIGHT	1
#endif

typedef struct QC_ROUND {
    QC_JOB **jobs;
    int     n;
    int     next;			/* next job to take, under qr_lock */
    int     done;			/* jobs finished, under qr_lock */
    int     active;			/* helpers inside the round, under qr_lock */
} QC_ROUND;

static pthread_mutex_t qr_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t qr_cond = PTHREAD_COND_INITIALIZER;
static pthread_cond_t qr_done_cond = PTHREAD_COND_INITIALIZER;
static QC_ROUND *qr_current;
static unsigned long qr_gen;
static int qr_helpers;

/* Take and fsync jobs until none are left; called with qr_lock held. */
static void qr_work(QC_ROUND *r)
{
    while (r->next < r->n) {
	QC_JOB *j = r->jobs[r->next++];

	pthread_mutex_unlock(&qr_lock);
	if (fsync(j->fd) < 0)
	    j->err = errno;
	pthread_mutex_lock(&qr_lock);
	if (++r->done == r->n)
	    pthread_cond_broadcast(&qr_done_cond);
    }
}

static void *qr_helper(void *arg)
{
    unsigned long seen = 0;

    pthread_mutex_lock(&qr_lock);
    for (;;) {
	QC_ROUND *r;

	while (qr_current == 0 || seen == qr_gen)
	    pthread_cond_wait(&qr_cond, &qr_lock);
	seen = qr_gen;
	r = qr_current;
	r->active++;
	qr_work(r);
	if (--r->active == 0)
	    pthread_cond_broadcast(&qr_done_cond);
    }
    return (0);
}

static void qr_fsync_files(QC_JOB *list)
{
    QC_ROUND r;
    int     n = 0;

    for (QC_JOB *j = list; j; j = j->next)
	n++;
    if (qr_helpers == 0 || n == 1) {
	for (QC_JOB *j = list; j; j = j->next)
	    if (fsync(j->fd) < 0)
		j->err = errno;
	return;
    }
    memset(&r, 0, sizeof(r));
    r.jobs = xmalloc(sizeof(*r.jobs) * (size_t) n);
    for (QC_JOB *j = list; j; j = j->next)
	r.jobs[r.n++] = j;
    pthread_mutex_lock(&qr_lock);
    qr_current = &r;
    qr_gen++;
    /* Wake only as many helpers as there are other files (most rounds are small). */
    for (int i = 0; i < n - 1 && i < qr_helpers; i++)
	pthread_cond_signal(&qr_cond);
    qr_work(&r);
    while (r.done < r.n || r.active > 0)
	pthread_cond_wait(&qr_done_cond, &qr_lock);
    qr_current = 0;
    pthread_mutex_unlock(&qr_lock);
    free(r.jobs);
}

/* fsync a list of jobs: the files, and each directory once. */
static void qc_sync_list(QC_JOB *list, QC_DIRSYNC *ds)
{
    const char *first_dir = list->dir;
    int     first_err = 0;
    int     others = 0;

    /* The common case, one directory: sync it concurrently. */
    if (ds) {
	pthread_mutex_lock(&ds->lock);
	ds->dir = first_dir;
	ds->done = 0;
	pthread_cond_broadcast(&ds->cond);
	pthread_mutex_unlock(&ds->lock);
    }
    qr_fsync_files(list);
    for (QC_JOB *j = list; j; j = j->next)
	if (strcmp(j->dir, first_dir) != 0)
	    others = 1;
    if (ds) {
	pthread_mutex_lock(&ds->lock);
	while (!ds->done)
	    pthread_cond_wait(&ds->cond, &ds->lock);
	first_err = ds->err;
	pthread_mutex_unlock(&ds->lock);
    } else if (qc_fsync_dir(first_dir) < 0) {
	first_err = errno;
    }
    for (QC_JOB *j = list; j; j = j->next) {
	if (strcmp(j->dir, first_dir) == 0) {
	    if (j->err == 0)
		j->err = first_err;
	} else if (others) {
	    /* Rare (hashed incoming): one fsync per job is still correct. */
	    if (qc_fsync_dir(j->dir) < 0 && j->err == 0)
		j->err = errno;
	}
    }
}

static void qc_done_push(QC_JOB *list)
{
    QC_JOB *last = list;
    uint64_t one = 1;

    while (last->next)
	last = last->next;
    pthread_mutex_lock(&qc_lock);
    qc_append(&qc_done_head, &qc_done_tail, list, last);
    pthread_mutex_unlock(&qc_lock);
    if (write(qc_efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
	msg_warn("qcommit: eventfd write: %m");
}

static void *qc_worker(void *arg)
{
    QC_DIRSYNC *ds = qc_dirsync_new();

    for (;;) {
	QC_JOB *list;

	pthread_mutex_lock(&qc_lock);
	while (qc_work_head == 0)
	    pthread_cond_wait(&qc_cond, &qc_lock);
	list = qc_work_head;
	qc_work_head = qc_work_tail = 0;
	pthread_mutex_unlock(&qc_lock);
	qc_sync_list(list, ds);
	qc_done_push(list);
    }
    return (0);
}

/*
 * qmgr is told about new files at most once per QC_TRIGGER_GAP: the first
 * round after a quiet spell triggers at once; rounds that follow closely
 * share one trigger at the end of the gap. Each trigger costs us a
 * connection (stat, socket, connect, write, close) and qmgr an accept and
 * a scan of incoming/, which finds every file queued so far anyway.
 */
#define QC_TRIGGER_GAP_US	10000

static struct event *qc_trigger_ev;
static struct timespec qc_trigger_last;
static int qc_trigger_pending;

static long qc_since_us(const struct timespec *then)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return ((now.tv_sec - then->tv_sec) * 1000000L + (now.tv_nsec - then->tv_nsec) / 1000);
}

static void qc_trigger_now(void)
{
    clock_gettime(CLOCK_MONOTONIC, &qc_trigger_last);
    qcommit_notify_qmgr();
}

static void qc_trigger_cb(evutil_socket_t fd, short what, void *arg)
{
    qc_trigger_pending = 0;
    qc_trigger_now();
}

static void qc_trigger(void)
{
    long    since;

    if (qc_trigger_pending)
	return;
    if (qc_trigger_ev == 0 || (since = qc_since_us(&qc_trigger_last)) >= QC_TRIGGER_GAP_US
	|| since < 0) {
	qc_trigger_now();
    } else {
	struct timeval tv = {0, QC_TRIGGER_GAP_US - since};

	qc_trigger_pending = 1;
	evtimer_add(qc_trigger_ev, &tv);
    }
}

/* Event-loop thread: the jobs of a list are durable (or failed). */
static void qc_run_callbacks(QC_JOB *list)
{
    while (list) {
	QC_JOB *job = list;

	list = job->next;
	if (job->err)
	    msg_warn("fsync queue file: %s", strerror(job->err));
	job->fn(job->context, job->err);
	free(job->dir);
	free(job);
    }
    qc_trigger();
}

/*
 * The io_uring path (the default where the kernel allows it). The event
 * loop thread itself submits one fsync per file of a round plus one
 * fsync per distinct directory, all in one io_uring_enter(); the kernel
 * runs them concurrently on its io-wq workers (so concurrent cache
 * flushes are merged by the block layer, as with our helper threads),
 * and each completion signals qc_efd. When the round's last completion
 * is reaped, its callbacks run (in order) and the next round, made of
 * everything added meanwhile, starts: group commit as before, but with no
 * user-space thread handoffs (futex wakeups) at all. The fsyncs are the
 * very same fsync(2) calls as in the thread path; durability is unchanged.
 * Directory descriptors are kept open (one fstatat per round checks that
 * the directory was not replaced) instead of open+fsync+close per round.
 */
#define QU_ENTRIES	128
#define QU_ROUND_MAX	200		/* jobs per round (+ dirs: < CQ size 256) */
#define QU_DIRS		16		/* open directory descriptors kept */
#define QU_ROUNDS	QC_ROUNDS_IN_FLIGHT

typedef struct QU_DIR {
    char   *name;
    int     fd;
    dev_t   dev;
    ino_t   ino;
    int     implied;			/* fsync_covers_name(): no fsync */
    int     busy;			/* rounds in flight that use it */
} QU_DIR;

struct QU_ROUND;

typedef struct QU_DIRREQ {		/* one directory fsync of a round */
    struct QU_ROUND *round;
    int     dir;			/* index into qu_dirs */
    int     err;
} QU_DIRREQ;

typedef struct QU_ROUND {
    QC_JOB *jobs;
    int     inflight;			/* completions still to come */
    int     ndir;
    QU_DIRREQ dir[QU_DIRS];
} QU_ROUND;

static struct io_uring qu_ring;
static int qu_on;
static int qu_rounds;			/* rounds in flight */
static QC_JOB *qu_wait_head, *qu_wait_tail;	/* jobs for the next round */
static QU_DIR qu_dirs[QU_DIRS];
static int qu_ndirs;

static int qu_init(void)
{
    struct io_uring_probe *probe;
    int     ok;

    if (getenv("POSTERN_QCOMMIT_THREADS") != 0)	/* tests: the thread path */
	return (-1);
    if (io_uring_queue_init(QU_ENTRIES, &qu_ring, 0) < 0)
	return (-1);
    probe = io_uring_get_probe_ring(&qu_ring);
    ok = probe && io_uring_opcode_supported(probe, IORING_OP_FSYNC);
    if (probe)
	io_uring_free_probe(probe);
    if (!ok || io_uring_register_eventfd(&qu_ring, qc_efd) < 0) {
	io_uring_queue_exit(&qu_ring);
	return (-1);
    }
    qu_on = 1;
    return (0);
}

/*
 * The index of an open descriptor of directory name, or -1 (errno). A
 * directory not yet used by a round in flight is checked (stat) against
 * the descriptor and reopened if it was replaced.
 */
static int qu_dir(const char *name)
{
    struct stat st;
    QU_DIR *d = 0;

    for (int i = 0; i < qu_ndirs; i++)
	if (strcmp(qu_dirs[i].name, name) == 0)
	    d = qu_dirs + i;
    if (d && d->busy)
	return ((int) (d - qu_dirs));
    if (stat(name, &st) < 0)
	return (-1);
    if (d && (d->dev != st.st_dev || d->ino != st.st_ino)) {
	(void) close(d->fd);		/* replaced: open the new one */
	d->fd = -1;
    }
    if (d == 0) {
	if (qu_ndirs == QU_DIRS) {	/* rare: reuse a slot no round uses */
	    for (int i = 0; i < qu_ndirs && d == 0; i++)
		if (!qu_dirs[i].busy)
		    d = qu_dirs + i;
	    if (d == 0) {
		errno = EMFILE;
		return (-1);
	    }
	    if (d->fd >= 0)
		(void) close(d->fd);
	    free(d->name);
	} else {
	    d = qu_dirs + qu_ndirs++;
	}
	d->name = xstrdup(name);
	d->fd = -1;
	d->busy = 0;
    }
    if (d->fd < 0) {
	if ((d->fd = open(name, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
	    return (-1);
	if (fstat(d->fd, &st) < 0) {
	    (void) close(d->fd);
	    d->fd = -1;
	    return (-1);
	}
	d->dev = st.st_dev;
	d->ino = st.st_ino;
	d->implied = fsync_covers_name(st.st_dev);
    }
    return ((int) (d - qu_dirs));
}

static struct io_uring_sqe *qu_sqe(void)
{
    struct io_uring_sqe *sqe;

    while ((sqe = io_uring_get_sqe(&qu_ring)) == 0)
	if (io_uring_submit(&qu_ring) < 0)
	    msg_fatal("io_uring_submit: %m");
    return (sqe);
}

/* user_data: a QC_JOB pointer, or a QU_DIRREQ pointer | QU_DIR_TAG. */
#define QU_DIR_TAG	1UL

static void qu_start_round(void)
{
    QU_ROUND *r;
    QC_JOB *last = 0, *j;
    int     n = 0, ret;

    if (qu_wait_head == 0 || qu_rounds >= QU_ROUNDS)
	return;
    r = xcalloc(1, sizeof(*r));
    /* Take up to QU_ROUND_MAX waiting jobs. */
    r->jobs = qu_wait_head;
    for (j = qu_wait_head; j && n < QU_ROUND_MAX; j = j->next)
	last = j, n++;
    qu_wait_head = last->next;
    if (qu_wait_head == 0)
	qu_wait_tail = 0;
    last->next = 0;
    qu_rounds++;
    for (QC_JOB *prev = 0; (j = prev ? prev->next : r->jobs) != 0; prev = j) {
	struct io_uring_sqe *sqe;
	int     di = -1, k;

	j->round = r;
	for (k = 0; k < r->ndir; k++)
	    if (strcmp(qu_dirs[r->dir[k].dir].name, j->dir) == 0)
		break;
	if (k == r->ndir) {		/* first file of this directory */
	    errno = 0;
	    if (prev != 0 && (r->ndir == QU_DIRS || ((di = qu_dir(j->dir)) < 0 && errno == EMFILE))) {
		/*
		 * More directories than a round holds (hashed incoming/):
		 * this file and the rest go first in the next round. (They
		 * must not fail: nothing is wrong with them.)
		 */
		last->next = qu_wait_head;
		if (qu_wait_head == 0)
		    qu_wait_tail = last;
		qu_wait_head = j;
		prev->next = 0;
		break;
	    }
	    if (r->ndir == QU_DIRS || (di < 0 && (di = qu_dir(j->dir)) < 0)) {
		j->err = errno ? errno : EIO;
		k = -1;
	    } else {
		r->dir[k].round = r;
		r->dir[k].dir = di;
		r->ndir++;
		qu_dirs[di].busy++;
		r->dir[k].err = 0;
		if (!qu_dirs[di].implied) {
		    sqe = qu_sqe();
		    io_uring_prep_fsync(sqe, qu_dirs[di].fd, 0);
		    sqe->flags |= IOSQE_ASYNC;
		    io_uring_sqe_set_data64(sqe, (uint64_t) (uintptr_t) (r->dir + k) | QU_DIR_TAG);
		    r->inflight++;
		}
	    }
	}
	j->dirreq = k;
	sqe = qu_sqe();
	io_uring_prep_fsync(sqe, j->fd, 0);
	sqe->flags |= IOSQE_ASYNC;
	io_uring_sqe_set_data(sqe, j);
	r->inflight++;
    }
    /* All of it: a round waits for every one of its completions. */
    while (io_uring_sq_ready(&qu_ring) > 0)
	if ((ret = io_uring_submit(&qu_ring)) < 0 && ret != -EINTR && ret != -EAGAIN)
	    msg_fatal("io_uring_submit: %s", strerror(-ret));
}

/* A round is complete: reply to its sessions. */
static void qu_round_done(QU_ROUND *r)
{
    QC_JOB *list = r->jobs;

    for (QC_JOB *j = list; j; j = j->next)
	if (j->err == 0 && j->dirreq >= 0)
	    j->err = r->dir[j->dirreq].err;
    for (int k = 0; k < r->ndir; k++)
	qu_dirs[r->dir[k].dir].busy--;
    free(r);
    qu_rounds--;
    /* Next round first, so that its fsyncs run while we reply. */
    qu_start_round();
    qc_run_callbacks(list);
}

/* Completions are in: account for them; at the end of a round, reply. */
static void qu_reap(void)
{
    struct io_uring_cqe *cqe;
    QU_ROUND *r;

    while (io_uring_peek_cqe(&qu_ring, &cqe) == 0) {
	uint64_t data = io_uring_cqe_get_data64(cqe);
	int     res = cqe->res;

	io_uring_cqe_seen(&qu_ring, cqe);
	if (data & QU_DIR_TAG) {
	    QU_DIRREQ *dr = (QU_DIRREQ *) (uintptr_t) (data & ~QU_DIR_TAG);

	    dr->err = res < 0 ? -res : 0;
	    r = dr->round;
	} else {
	    QC_JOB *j = (QC_JOB *) (uintptr_t) data;

	    if (res < 0)
		j->err = -res;
	    r = j->round;
	}
	if (--r->inflight == 0)
	    qu_round_done(r);
    }
}

static void qc_flush_cb(evutil_socket_t fd, short what, void *arg)
{
    QC_JOB *list = qc_turn_head, *last = qc_turn_tail;

    if (list == 0)
	return;
    qc_turn_head = qc_turn_tail = 0;
    if (qu_on) {
	qc_append(&qu_wait_head, &qu_wait_tail, list, last);
	qu_start_round();
	return;
    }
    if (qc_threads == 0) {
	qc_sync_list(list, 0);
	qc_done_push(list);
	return;
    }
    pthread_mutex_lock(&qc_lock);
    qc_append(&qc_work_head, &qc_work_tail, list, last);
    pthread_cond_signal(&qc_cond);
    pthread_mutex_unlock(&qc_lock);
}

static void qc_done_cb(evutil_socket_t fd, short what, void *arg)
{
    uint64_t count;
    QC_JOB *list;

    (void) read(qc_efd, &count, sizeof(count));
    if (qu_on) {
	qu_reap();
	return;
    }
    pthread_mutex_lock(&qc_lock);
    list = qc_done_head;
    qc_done_head = qc_done_tail = 0;
    pthread_mutex_unlock(&qc_lock);
    if (list == 0)
	return;
    qc_run_callbacks(list);
}

void    qcommit_init(struct event_base *base, int threads)
{
    pthread_t tid;

    if ((qc_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
	msg_fatal("eventfd: %m");
    qc_flush_ev = event_new(base, -1, 0, qc_flush_cb, 0);
    qc_done_ev = event_new(base, qc_efd, EV_READ | EV_PERSIST, qc_done_cb, 0);
    qc_trigger_ev = evtimer_new(base, qc_trigger_cb, 0);
    event_add(qc_done_ev, 0);
    qc_threads = threads;
    if (threads > 0 && qu_init() == 0)
	return;				/* io_uring: no threads of our own */
    if (threads > 0) {
	qr_helpers = QC_HELPERS;
	for (int i = 0; i < qr_helpers; i++) {
	    pthread_attr_t attr;

	    pthread_attr_init(&attr);
	    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	    pthread_attr_setstacksize(&attr, 128 * 1024);
	    if (pthread_create(&tid, &attr, qr_helper, 0) != 0)
		msg_fatal("pthread_create: %m");
	    pthread_attr_destroy(&attr);
	}
    }
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
    if (qc_turn_head == 0)
	/* Runs after the events already active in this loop turn. */
	event_active(qc_flush_ev, EV_TIMEOUT, 0);
    qc_append(&qc_turn_head, &qc_turn_tail, job, job);
}

void    qcommit_notify_qmgr(void)
{
    /* public/qmgr is a socket or, with Postfix's master.cf, a FIFO. */
    (void) mail_trigger("public/qmgr", "A");
}
