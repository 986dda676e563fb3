/*
 * postlog - log text in Postfix's format (postlog(1)).
 *
 * Usage: postlog [-iv] [-c config_dir] [-p priority] [-t tag] [text...]
 *
 * Logs the text, or each line of standard input when there is no text
 * argument, with the tag (default "$syslog_name/postlog") and priority
 * (info, warn/warning, error, fatal, panic) given. Where the lines go
 * follows main.cf as for every postern program (maillog_client.h): syslog,
 * or maillog_file via the postlog service with a direct append as the
 * fallback. When standard error is a terminal the text is shown there
 * too, as "tag: text". A fatal or panic priority only labels the line;
 * postlog itself does not fail.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "mail_conf.h"
#include "maillog_client.h"
#include "msg.h"
#include "msg_log.h"
#include "stringops.h"
#include "vstr.h"

static const char *postlog_tag;

static void postlog_stderr(int level, const char *text)
{
    if (level == MSG_INFO)
	fprintf(stderr, "%s: %s\n", postlog_tag, text);
    else
	fprintf(stderr, "%s: %s: %s\n", postlog_tag, msg_severity_name(level), text);
}

static void postlog_emit(int level, const char *fmt,...) __attribute__((format(printf, 2, 3)));

static void postlog_emit(int level, const char *fmt,...)
{
    va_list ap;

    /* msg_vprintf labels the line without exiting for fatal/panic. */
    va_start(ap, fmt);
    msg_vprintf(level, fmt, ap);
    va_end(ap);
}

int     main(int argc, char **argv)
{
    int     ch, level = MSG_INFO;
    const char *tag = 0;
    const char *prio = 0;

    msg_init("postlog", 0);
    while ((ch = getopt(argc, argv, "c:ip:t:v")) != -1) {
	switch (ch) {
	case 'c':
	    mail_conf_set_dir(optarg);
	    break;
	case 'i':
	    break;				/* the PID is always logged */
	case 'p':
	    prio = optarg;
	    break;
	case 't':
	    tag = optarg;
	    break;
	case 'v':
	    msg_verbose++;
	    break;
	default:
	    fprintf(stderr, "usage: postlog [-iv] [-c config_dir] [-p priority] [-t tag] [text...]\n");
	    exit(1);
	}
    }
    mail_conf_read();
    maillog_client_init("postlog", MAILLOG_FALLBACK);
    if (tag)
	msg_log_set_tag(tag);
    postlog_tag = msg_log_tag();
    if (isatty(2))
	msg_output_add(postlog_stderr);
    if (prio) {
	if (strcasecmp(prio, "info") == 0)
	    level = MSG_INFO;
	else if (strcasecmp(prio, "warn") == 0 || strcasecmp(prio, "warning") == 0)
	    level = MSG_WARN;
	else if (strcasecmp(prio, "error") == 0)
	    level = MSG_ERROR;
	else if (strcasecmp(prio, "fatal") == 0)
	    level = MSG_FATAL;
	else if (strcasecmp(prio, "panic") == 0)
	    level = MSG_PANIC;
	else
	    msg_fatal("bad severity: \"%s\"", prio);
    }
    if (optind < argc) {
	VSTR   *text = vstr_alloc(256);

	vstr_set_limit(text, MSG_LOG_LINE_MAX);
	for (int i = optind; i < argc; i++) {
	    if (i > optind)
		(void) vstr_addch(text, ' ');
	    (void) vstr_cat(text, argv[i]);
	}
	postlog_emit(level, "%s", vstr_str(text));
	vstr_free(text);
    } else {
	char    line[MSG_LOG_LINE_MAX];

	while (fgets(line, sizeof(line), stdin)) {
	    size_t  len = strlen(line);

	    if (len && line[len - 1] == '\n')
		line[--len] = 0;
	    postlog_emit(level, "%s", line);
	}
    }
    exit(0);
}
