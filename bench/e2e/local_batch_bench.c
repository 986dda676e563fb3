/*
 * local_batch_bench - the local delivery core alone, B messages per pass.
 *
 *   local_batch_bench CONFIG_DIR B QUEUE_FILE...
 *
 * Loads each queue file (postern format) and delivers it to its first
 * recipient with local_deliver_many(), B messages per call (B = 1: one
 * message per pass, as the agent does today: one fsync of new/ each).
 * Prints wall time, CPU time and deliveries per second. Built by
 * bench/e2e/local_batch.py (not part of `make`).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <time.h>

#include "local_deliver.h"
#include "mail_conf.h"
#include "vstr.h"

static long sent, other;

static int count(void *ctx, int stat, const LOCAL_RCPT *leaf, const char *dsn, const char *t)
{
    if (stat == LOCAL_STAT_SENT)
	sent++;
    else {
	other++;
	if (other < 5)
	    fprintf(stderr, "%s: %s %s\n", leaf->address, dsn, t);
    }
    return 0;
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int     main(int argc, char **argv)
{
    LOCAL_REPORT rep = {count, 0, 0};
    LOCAL_MSG *msg;
    LOCAL_RCPT *rcpt;
    LOCAL_JOB *jobs;
    VSTR   *why = vstr_alloc(100);
    struct rusage ru;
    double  t0, t1, cpu;
    int     b, n, i, j, k;

    if (argc < 4) {
	fprintf(stderr, "usage: %s CONFIG_DIR B QUEUE_FILE...\n", argv[0]);
	return 2;
    }
    mail_conf_set_dir(argv[1]);
    mail_conf_read();
    local_deliver_init();
    b = atoi(argv[2]);
    n = argc - 3;
    if (b < 1)
	b = 1;
    msg = calloc((size_t) n, sizeof(*msg));
    rcpt = calloc((size_t) n, sizeof(*rcpt));
    jobs = calloc((size_t) b, sizeof(*jobs));
    t0 = now();
    for (i = 0; i < n; i += b) {
	k = i + b <= n ? b : n - i;
	for (j = 0; j < k; j++) {
	    if (local_msg_load(msg + i + j, argv[3 + i + j], why) < 0 || msg[i + j].rcpt->argc < 1) {
		fprintf(stderr, "%s: %s\n", argv[3 + i + j], vstr_str(why));
		return 1;
	    }
	    rcpt[i + j].address = msg[i + j].rcpt->argv[0];
	    rcpt[i + j].orig_rcpt = msg[i + j].orcpt->argv[0];
	    jobs[j].msg = msg + i + j;
	    jobs[j].rcpt = rcpt + i + j;
	    jobs[j].rep = &rep;
	}
	local_deliver_many(jobs, (size_t) k, 0);
	for (j = 0; j < k; j++)
	    local_msg_free(msg + i + j);
    }
    t1 = now();
    getrusage(RUSAGE_SELF, &ru);
    cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
    printf("B=%d: %d messages, %ld sent, %ld other: %.2fs, %.0f msg/s, CPU %.0f us/msg\n",
	   b, n, sent, other, t1 - t0, n / (t1 - t0), cpu * 1e6 / n);
    return other != 0;
}
