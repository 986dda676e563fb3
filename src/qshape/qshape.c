/*
 * qshape - Postfix's qshape(1): queue shape by domain and age.
 *
 *	qshape [-s] [-p] [-m min_subdomains] [-b bucket_count]
 *		[-t bucket_time] [-l] [-w terminal_width] [-N n] [-n n]
 *		[-c config_directory] [queue_name ...]
 *
 * Default queues: incoming and active. Counts undelivered recipients per
 * recipient domain (-s: messages per sender domain) in age buckets of
 * bucket_time minutes, doubling (-l: linear); output right-justified to
 * terminal_width columns, TOTAL first, then domains by count. -p adds
 * parent-domain rows (".example.com") with at least min_subdomains
 * subdomains.
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "htable.h"
#include "mail_conf.h"
#include "mail_queue.h"
#include "mem.h"
#include "msg.h"
#include "qfile.h"
#include "vstr.h"

#define MAX_BUCKETS 64

typedef struct ROW {
    char   *name;
    long    counts[MAX_BUCKETS + 1];	/* [0] = total */
    long    subdomains;
} ROW;

static int opt_sender, opt_parent, opt_linear;
static long opt_min_sub = 5, opt_buckets = 10, opt_btime = 5, opt_width = 80;
static HTABLE *rows;
static ROW total;
static time_t now;

static ROW *row(const char *name)
{
    ROW    *r = htable_find(rows, name);

    if (r == 0) {
	r = xcalloc(1, sizeof(*r));
	r->name = xstrdup(name);
	htable_enter(rows, name, r);
    }
    return (r);
}

static int bucket_of(long age_min)
{
    long    limit = opt_btime;

    for (int i = 0; i < opt_buckets - 1; i++) {
	if (age_min <= limit || age_min < 0)
	    return (i);
	limit = opt_linear ? limit + opt_btime : limit * 2;
    }
    return ((int) opt_buckets - 1);
}

static void count(const char *domain, int b)
{
    ROW    *r = row(domain);

    r->counts[0]++;
    r->counts[b + 1]++;
    if (opt_parent) {
	for (const char *dot = strchr(domain, '.'); dot && strchr(dot + 1, '.'); dot = strchr(dot + 1, '.')) {
	    ROW    *p = row(dot);

	    p->counts[0]++;
	    p->counts[b + 1]++;
	}
    }
}

static void message(const char *path)
{
    FILE   *fp = fopen(path, "r");
    QFILE_INFO info;
    VSTR   *why = vstr_alloc(32), *dom = vstr_alloc(64);
    int     b;

    if (fp == 0 || qfile_read(fp, &info, why) < 0) {
	if (fp) {
	    fclose(fp);
	    qfile_info_free(&info);
	}
	vstr_free(why);
	vstr_free(dom);
	return;
    }
    fclose(fp);
    b = bucket_of((long) (now - info.arrival.tv_sec) / 60);
    if (opt_sender) {
	const char *at = strrchr(info.sender, '@');

	(void) vstr_cpy(dom, at ? at + 1 : info.sender);
	vstr_lower(dom);
	if (*info.sender == 0)
	    (void) vstr_cpy(dom, "MAILER-DAEMON");
	count(vstr_str(dom), b);
	total.counts[0]++;
	total.counts[b + 1]++;
    } else {
	for (size_t i = 0; i < info.nrcpt; i++) {
	    const char *at = strrchr(info.rcpt[i].address, '@');

	    if (info.rcpt[i].done)
		continue;
	    (void) vstr_cpy(dom, at ? at + 1 : info.rcpt[i].address);
	    vstr_lower(dom);
	    count(vstr_str(dom), b);
	    total.counts[0]++;
	    total.counts[b + 1]++;
	}
    }
    qfile_info_free(&info);
    vstr_free(why);
    vstr_free(dom);
}

static void walk(const char *dir)
{
    DIR    *dp = opendir(dir);
    struct dirent *de;
    VSTR   *sub = vstr_alloc(64);

    if (dp == 0) {
	vstr_free(sub);
	return;
    }
    while ((de = readdir(dp)) != 0) {
	if (de->d_name[0] == '.')
	    continue;
	(void) vstr_fmt(sub, "%s/%s", dir, de->d_name);
	if (strlen(de->d_name) == 1)
	    walk(vstr_str(sub));
	else if (mail_queue_id_ok(de->d_name))
	    message(vstr_str(sub));
    }
    closedir(dp);
    vstr_free(sub);
}

static int cmp_rows(const void *a, const void *b)
{
    const ROW *x = *(ROW * const *) a, *y = *(ROW * const *) b;

    if (x->counts[0] != y->counts[0])
	return (x->counts[0] > y->counts[0] ? -1 : 1);
    return (strcmp(x->name, y->name));
}

static void print_row(const char *name, const long *counts, const int *widths, int ncol, int dw)
{
    size_t  len = strlen(name);

    if ((int) len > dw && len > 17) {
	if (name[0] == '.')
	    printf("%*s.+%s", dw > 18 ? dw - 18 : 0, "", name + len - 16);
	else
	    printf("%*s+%s", dw > 17 ? dw - 17 : 0, "", name + len - 16);
    } else
	printf("%*s", dw, name);
    for (int i = 0; i < ncol; i++)
	printf(" %*ld", widths[i], counts[i]);
    printf("\n");
}

static void usage(void)
{
    msg_fatal_status(EX_USAGE, "usage: qshape [-s] [-p] [-m min_subdomains] [-b bucket_count] [-t bucket_time] [-l] [-w terminal_width] [-N batch_msg_count] [-n batch_top_domains] [-c config_directory] [queue_name ...]");
}

int     main(int argc, char **argv)
{
    int     ch;
    char    labels[MAX_BUCKETS + 2][32];
    int     widths[MAX_BUCKETS + 2];
    int     ncol, dw;

    msg_init("qshape", 1);
    while ((ch = getopt(argc, argv, "b:c:lm:N:n:pst:w:")) != -1) {
	switch (ch) {
	case 'b':
	    opt_buckets = atol(optarg);
	    break;
	case 'c':
	    mail_conf_set_dir(optarg);
	    break;
	case 'l':
	    opt_linear = 1;
	    break;
	case 'm':
	    opt_min_sub = atol(optarg);
	    break;
	case 'N':
	case 'n':
	    break;
	case 'p':
	    opt_parent = 1;
	    break;
	case 's':
	    opt_sender = 1;
	    break;
	case 't':
	    opt_btime = atol(optarg);
	    break;
	case 'w':
	    opt_width = atol(optarg);
	    break;
	default:
	    usage();
	}
    }
    if (opt_buckets < 1 || opt_buckets > MAX_BUCKETS || opt_btime < 1 || opt_width < 1)
	usage();
    mail_conf_read();
    mail_queue_chdir();
    now = time(0);
    rows = htable_create(64);
    if (optind == argc) {
	walk(MAIL_QUEUE_INCOMING);
	walk(MAIL_QUEUE_ACTIVE);
    } else
	for (int i = optind; i < argc; i++)
	    walk(argv[i]);
    /* Column labels: T, t, 2t, ... , last+ */
    ncol = (int) opt_buckets;
    (void) snprintf(labels[0], sizeof(labels[0]), "T");
    {
	long    limit = opt_btime;

	for (int i = 1; i < ncol; i++) {
	    (void) snprintf(labels[i], sizeof(labels[i]), "%ld", limit);
	    if (i < ncol - 1)
		limit = opt_linear ? limit + opt_btime : limit * 2;
	}
	(void) snprintf(labels[ncol], sizeof(labels[ncol]), "%ld+", limit);
	ncol++;
    }
    dw = (int) opt_width;
    for (int i = 0; i < ncol; i++) {
	widths[i] = (int) strlen(labels[i]);
	if (widths[i] < 2)
	    widths[i] = 2;
	dw -= widths[i] + 1;
    }
    if (dw < 0)
	dw = 0;
    printf("%*s", dw, "");
    for (int i = 0; i < ncol; i++)
	printf(" %*s", widths[i], labels[i]);
    printf("\n");
    print_row("TOTAL", total.counts, widths, ncol, dw);
    {
	HTABLE_ENT **list = htable_list(rows, 0);
	ROW   **sorted = xcalloc(rows->used + 1, sizeof(ROW *));
	size_t  n = 0;

	for (size_t i = 0; i < rows->used; i++) {
	    ROW    *r = list[i]->value;

	    if (r->name[0] == '.') {
		/* parent row: shown with enough subdomains, not for TLDs */
		long    subs = 0;
		HTABLE_ENT **all = list;

		if (strchr(r->name + 1, '.') == 0)
		    continue;
		for (size_t j = 0; j < rows->used; j++) {
		    const char *nm = ((ROW *) all[j]->value)->name;
		    size_t  ln = strlen(nm), lp = strlen(r->name);

		    if (nm[0] != '.' && ln > lp && strcmp(nm + ln - lp, r->name) == 0)
			subs++;
		}
		if (subs < opt_min_sub)
		    continue;
	    }
	    sorted[n++] = r;
	}
	qsort(sorted, n, sizeof(ROW *), cmp_rows);
	for (size_t i = 0; i < n; i++)
	    print_row(sorted[i]->name, sorted[i]->counts, widths, ncol, dw);
	free(sorted);
	free(list);
    }
    return (0);
}
