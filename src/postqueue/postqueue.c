/*
 * postqueue - Postfix's postqueue(1): queue listing and flushing for
 * everyone.
 *
 *	postqueue [-v] [-c config_dir] -p | -j | -f | -i queue_id | -s site
 *
 * -p/-j go through the showq service (src/global/showq.h). -f, -i and
 * -s trigger qmgr via public/qmgr ('F' = retry all deferred mail now);
 * -i and -s first make the selected deferred messages due (when the
 * caller may touch the queue), then trigger a deferred queue scan.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sysexits.h>
#include <unistd.h>

#include "attr.h"
#include "mail_conf.h"
#include "mail_queue.h"
#include "mail_trigger.h"
#include "mem.h"
#include "msg.h"
#include "qfile.h"
#include "qflush.h"
#include "resolve.h"
#include "safe_file.h"
#include "showq.h"
#include "stringops.h"
#include "vstr.h"

/*
 * As a set-gid program, accept another configuration directory (-c,
 * MAIL_CONFIG) from an ordinary user only when the default main.cf lists
 * it in alternate_config_directories or multi_instance_directories, as
 * Postfix does: otherwise its queue_directory could name any socket.
 */
static void check_config_dir(const char *dir)
{
    VSTR   *text = vstr_alloc(4096);
    VSTR   *path = vstr_alloc(64);
    int     ok = 0;

    if (dir == 0 || getuid() == 0 || (getegid() == getgid() && geteuid() == getuid()))
	goto out;
    if (strcmp(dir, DEF_CONFIG_DIR) == 0)
	goto out;
    (void) vstr_fmt(path, "%s/main.cf", DEF_CONFIG_DIR);
    if (read_file_bounded(vstr_str(path), text, 1 << 20) == 0) {
	char   *buf = vstr_str(text), *line, *next;

	for (line = buf; line && *line; line = next) {
	    char   *nl = strchr(line, '\n');
	    char   *name, *value;

	    next = nl ? nl + 1 : 0;
	    if (nl)
		*nl = 0;
	    /* join continuation lines */
	    while (next && (*next == ' ' || *next == '\t')) {
		char   *nl2 = strchr(next, '\n');

		line[strlen(line)] = ' ';
		next = nl2 ? nl2 + 1 : 0;
		if (nl2)
		    *nl2 = 0;
	    }
	    if (*line == '#' || split_nameval(line, &name, &value) != 0)
		continue;
	    if (strcmp(name, "alternate_config_directories") == 0
		|| strcmp(name, "multi_instance_directories") == 0) {
		char   *bp = value, *tok;

		while ((tok = mystrtok(&bp, CHARS_COMMA_SP)) != 0)
		    if (strcmp(tok, dir) == 0)
			ok = 1;
	    }
	}
    }
    if (!ok)
	msg_fatal("unauthorized configuration directory name: %s", dir);
out:
    vstr_free(text);
    vstr_free(path);
}

static void usage(void)
{
    msg_fatal_status(EX_USAGE, "usage: postqueue -f | postqueue -i queueid | postqueue -j | postqueue -p | postqueue -s site");
}

int     main(int argc, char **argv)
{
    int     ch, mode = 0;
    const char *arg = 0;
    const char *confdir = getenv("MAIL_CONFIG");

    msg_init("postqueue", 1);
    while ((ch = getopt(argc, argv, "c:fi:jps:v")) != -1) {
	switch (ch) {
	case 'c':
	    confdir = optarg;
	    break;
	case 'f':
	case 'j':
	case 'p':
	    if (mode)
		usage();
	    mode = ch;
	    break;
	case 'i':
	case 's':
	    if (mode)
		usage();
	    mode = ch;
	    arg = optarg;
	    break;
	case 'v':
	    msg_verbose++;
	    break;
	default:
	    usage();
	}
    }
    if (optind != argc || mode == 0)
	usage();
    check_config_dir(confdir);
    if (confdir)
	mail_conf_set_dir(confdir);
    mail_conf_read();
    switch (mode) {
    case 'p':
	exit(showq_report(stdout, SHOWQ_FORMAT_TEXT));
    case 'j':
	exit(showq_report(stdout, SHOWQ_FORMAT_JSON));
    case 'f':
	if (qflush_trigger("F") < 0)
	    msg_fatal_status(EX_UNAVAILABLE, "Cannot flush mail queue - mail system is down");
	exit(0);
    case 'i':
	if (!mail_queue_id_ok(arg))
	    msg_fatal_status(EX_USAGE, "Cannot flush queue ID - invalid name: \"%.100s%s\"",
			     arg, strlen(arg) > 100 ? "..." : "");
	/* FALLTHROUGH */
    case 's':
	if (mode == 's' && (*arg == 0 || strchr(arg, '/') || !allprint(arg)))
	    msg_fatal_status(EX_USAGE, "Cannot flush mail queue - invalid destination: \"%.100s%s\"",
			     arg, strlen(arg) > 100 ? "..." : "");
	if (mode == 's') {
	    char   *lc = lowercase(xstrdup(arg));
	    int     ok = resolve_domain_in("fast_flush_domains", lc);

	    free(lc);
	    if (!ok)
		msg_fatal_status(EX_UNAVAILABLE, "Flush service is not configured for destination \"%s\"", arg);
	}
	if (chdir(mail_conf_str("queue_directory")) == 0)
	    (void) qflush_due(mode == 's' ? arg : 0, mode == 'i' ? arg : 0);
	if (qflush_trigger("D") < 0)
	    msg_fatal_status(EX_UNAVAILABLE, "Cannot flush mail queue - mail system is down");
	exit(0);
    }
    return (0);
}
