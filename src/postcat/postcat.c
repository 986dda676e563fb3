/*
 * postcat - Postfix's postcat(1): show queue file contents.
 *
 *	postcat [-bdehoqv] [-c config_dir] [files...]
 *
 * -q: the arguments are queue IDs (searched in incoming, active,
 * deferred, hold, maildrop, corrupt). -e envelope, -h header, -b body
 * (default: everything, with Postfix's "*** ... ***" section lines),
 * -o record offsets, -d decimal record types. Without files: stdin.
 * Record names follow Postfix's (message_size, sender, recipient ...).
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "mail_conf.h"
#include "mail_queue.h"
#include "msg.h"
#include "rec_type.h"
#include "record.h"
#include "vstr.h"

#define PC_ENV	1
#define PC_HDR	2
#define PC_BODY	4

static int pc_flags;
static int pc_offsets;
static int pc_decimal;

static void usage(void)
{
    msg_fatal_status(EX_USAGE, "usage: %s [-b (body text)] [-c config_dir] [-d (decimal record type)] [-e (envelope records)] [-h (header text)] [-q (access queue)] [-v] [file(s)...]", "postcat");
}

static const char *rec_name(int type)
{
    switch (type) {
    case REC_TYPE_SIZE:
	return ("message_size");
    case REC_TYPE_TIME:
	return ("message_arrival_time");
    case REC_TYPE_CTIME:
	return ("create_time");
    case REC_TYPE_FULL:
	return ("sender_fullname");
    case REC_TYPE_FROM:
	return ("sender");
    case REC_TYPE_ATTR:
	return ("named_attribute");
    case REC_TYPE_ORCP:
	return ("original_recipient");
    case REC_TYPE_RCPT:
	return ("recipient");
    case REC_TYPE_DONE:
    case REC_TYPE_DRCP:
	return ("done_recipient");
    case REC_TYPE_WARN:
	return ("warning_message_time");
    case REC_TYPE_RRTO:
	return ("return_receipt");
    case REC_TYPE_ERTO:
	return ("errors_to");
    case REC_TYPE_PTR:
	return ("pointer_record");
    default:
	return ("unknown");
    }
}

static void show_time(const char *name, const char *data, long off)
{
    time_t  t = (time_t) atol(data);
    char    buf[64];
    struct tm tm;

    (void) localtime_r(&t, &tm);
    (void) strftime(buf, sizeof(buf), "%a %b %e %H:%M:%S %Y", &tm);
    printf("%s: %s\n", name, buf);
}

/*
 * A version 1 file's size record (five fields, counted from the M record),
 * shown as Postfix's six fields (counted from the record after M).
 */
static void show_size_v1(const char *data)
{
    long    f[5] = {0, 0, 0, 0, 0};

    if (sscanf(data, "%ld %ld %ld %ld %ld", f, f + 1, f + 2, f + 3, f + 4) < 4
	|| f[0] < REC_MESG_LEN || f[1] < 0 || f[1] > LONG_MAX - REC_MESG_LEN) {
	printf("%s: %s\n", rec_name(REC_TYPE_SIZE), data);
	return;
    }
    printf("%s: " REC_TYPE_SIZE_FORMAT "\n", rec_name(REC_TYPE_SIZE), f[0] - REC_MESG_LEN,
	   f[1] + REC_MESG_LEN, f[2], f[3], f[4], 0L);
}

/* A section line; with -o, Postfix gives it the record's offset too. */
static void show_section(long off, const char *what, const char *path)
{
    if (pc_offsets)
	printf("%9ld ", off);
    printf("*** %s %s ***\n", what, path);
}

static int postcat(FILE *fp, const char *path)
{
    VSTR   *rec = vstr_alloc(1024);
    int     type;
    int     state = 0;			/* 0 envelope, 1 header, 2 body, 3 extracted */
    int     all = (pc_flags == 0);
    int     show_env = all || (pc_flags & PC_ENV);
    int     first = 1;
    int     partial = 0;
    int     version1 = 0;
    long    off;

    for (;;) {
	off = ftell(fp);
	type = rec_get(fp, rec, 1 << 30);
	if (type == REC_EOF || type == REC_ERROR) {
	    if (first) {
		msg_warn("%s: input is not a valid queue file", path);
		vstr_free(rec);
		return (-1);
	    }
	    if (type == REC_ERROR)
		msg_warn("%s: bad record at offset %ld", path, off);
	    break;
	}
	if (first) {
	    if (type != REC_TYPE_VERSION) {
		msg_warn("%s: input is not a valid queue file", path);
		vstr_free(rec);
		return (-1);
	    }
	    version1 = (strcmp(vstr_str(rec), REC_QUEUE_VERSION_1) == 0);
	    if (show_env)
		printf("*** ENVELOPE RECORDS %s ***\n", path);
	    first = 0;
	    continue;
	}
	if (type == REC_TYPE_MESG) {
	    state = 1;
	    if (show_env)
		show_section(off, "MESSAGE CONTENTS", path);
	    continue;
	}
	if (type == REC_TYPE_XTRA) {
	    state = 3;
	    if (show_env)
		show_section(off, "HEADER EXTRACTED", path);
	    continue;
	}
	if (type == REC_TYPE_END) {
	    if (show_env)
		show_section(off, "MESSAGE FILE END", path);
	    break;
	}
	if (state == 1 || state == 2) {
	    int     show;

	    if (type != REC_TYPE_NORM && type != REC_TYPE_CONT)
		continue;
	    if (state == 1 && !partial && vstr_len(rec) == 0)
		state = 2;			/* the empty line starts the body */
	    show = all || (state == 1 ? (pc_flags & PC_HDR) : (pc_flags & PC_BODY));
	    if (show) {
		if (pc_offsets && !partial)
		    printf("%9ld ", off);
		fwrite(vstr_str(rec), 1, vstr_len(rec), stdout);
		if (type == REC_TYPE_NORM)
		    putchar('\n');
	    }
	    partial = (type == REC_TYPE_CONT);
	    continue;
	}
	/* Envelope or extracted records. */
	if (!show_env || (type == REC_TYPE_WARN && atol(vstr_str(rec)) <= 0))
	    continue;
	if (pc_offsets)
	    printf("%9ld ", off);
	if (pc_decimal)
	    printf("%3d ", type);
	switch (type) {
	case REC_TYPE_TIME:
	case REC_TYPE_CTIME:
	    show_time(rec_name(type), vstr_str(rec), off);
	    break;
	case REC_TYPE_WARN:
	    /* Postfix has this record only while a warning is pending. */
	    if (atol(vstr_str(rec)) > 0)
		show_time(rec_name(type), vstr_str(rec), off);
	    break;
	case REC_TYPE_SIZE:
	    if (version1)
		show_size_v1(vstr_str(rec));
	    else
		printf("%s: %s\n", rec_name(type), vstr_str(rec));
	    break;
	case REC_TYPE_DSN_ORCPT:
	    printf("named_attribute: dsn_orig_rcpt=%s\n", vstr_str(rec));
	    break;
	case REC_TYPE_DSN_NOTIFY:
	    printf("named_attribute: notify_flags=%s\n", vstr_str(rec));
	    break;
	default:
	    printf("%s: %s\n", rec_name(type), vstr_str(rec));
	    break;
	}
    }
    vstr_free(rec);
    return (0);
}

int     main(int argc, char **argv)
{
    int     ch, by_queue = 0, status = 0;

    msg_init("postcat", 1);
    while ((ch = getopt(argc, argv, "bc:dehoqv")) != -1) {
	switch (ch) {
	case 'b':
	    pc_flags |= PC_BODY;
	    break;
	case 'c':
	    mail_conf_set_dir(optarg);
	    break;
	case 'd':
	    pc_decimal = 1;
	    break;
	case 'e':
	    pc_flags |= PC_ENV;
	    break;
	case 'h':
	    pc_flags |= PC_HDR;
	    break;
	case 'o':
	    pc_offsets = 1;
	    break;
	case 'q':
	    by_queue = 1;
	    break;
	case 'v':
	    msg_verbose++;
	    break;
	default:
	    usage();
	}
    }
    if (by_queue) {
	static const char *const queues[] = {
	    MAIL_QUEUE_INCOMING, MAIL_QUEUE_ACTIVE, MAIL_QUEUE_DEFERRED,
	    MAIL_QUEUE_HOLD, MAIL_QUEUE_MAILDROP, MAIL_QUEUE_CORRUPT, 0,
	};
	VSTR   *path = vstr_alloc(64);

	if (optind == argc)
	    usage();
	mail_conf_read();
	mail_queue_chdir();
	for (int i = optind; i < argc; i++) {
	    FILE   *fp = 0;

	    if (mail_queue_id_ok(argv[i]))
		for (const char *const *q = queues; *q && fp == 0; q++)
		    fp = fopen(mail_queue_path(path, *q, argv[i]), "r");
	    if (fp == 0) {
		errno = ENOENT;
		msg_fatal("open queue file %s: %m", argv[i]);
	    }
	    if (postcat(fp, vstr_str(path)) < 0)
		status = 1;
	    fclose(fp);
	}
	vstr_free(path);
    } else if (optind == argc) {
	if (postcat(stdin, "-") < 0)
	    status = 1;
    } else {
	for (int i = optind; i < argc; i++) {
	    FILE   *fp = fopen(argv[i], "r");

	    if (fp == 0)
		msg_fatal("open %s: %m", argv[i]);
	    if (postcat(fp, argv[i]) < 0)
		status = 1;
	    fclose(fp);
	}
    }
    return (status);
}
