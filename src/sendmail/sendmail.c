/*
 * sendmail - Sendmail-compatible interface (Postfix sendmail(1) options).
 *
 *	sendmail [options] [recipient ...]
 *	mailq			(= sendmail -bp)
 *	newaliases		(= sendmail -bi)
 *
 * Posting (-bm, the default): the message on standard input and the
 * envelope are sent as a maildrop record stream to `postdrop -r`
 * ($command_directory/postdrop, setgid $setgid_group), which writes a
 * durable maildrop file; the pickup daemon moves it to the incoming queue.
 * Exit status 0 means the message is on stable storage.
 *
 * Options: -t (recipients from To/Cc/Bcc; Bcc removed), -i/-oi (a lone
 * "." does not end input), -f/-r sender, -F full name, -N dsn, -R ret,
 * -V envid, -B body type, -bs (SMTP on stdin/stdout, see sendmail_smtp.c),
 * -bp (exec postqueue -p, as mailq), -bi/-I (newaliases), -q (exec
 * postqueue -f), -C config, -v. Ignored as in Postfix: -A -c -e -G -h -L
 * -m -n -o* -O -p -U -X -x.
 */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "argv.h"
#include "cleanup.h"
#include "deliver_request.h"
#include "mail_conf.h"
#include "maillog_client.h"
#include "mem.h"
#include "mkmap.h"
#include "msg.h"
#include "rec_type.h"
#include "record.h"
#include "sendmail.h"
#include "stringops.h"

static int sm_verbose;

static void sm_config(const char *arg)
{
    struct stat st;

    /* Postfix: -C names main.cf or its directory. */
    if (stat(arg, &st) == 0 && !S_ISDIR(st.st_mode)) {
	char   *dir = xstrdup(arg);
	char   *slash = strrchr(dir, '/');

	if (slash == 0)
	    mail_conf_set_dir(".");
	else {
	    *slash = 0;
	    mail_conf_set_dir(*dir ? dir : "/");
	}
	free(dir);
    } else {
	mail_conf_set_dir(arg);
    }
}

static void sm_exec_postqueue(const char *flag, char **extra) __attribute__((noreturn));

static void sm_exec_postqueue(const char *flag, char **extra)
{
    VSTR   *path = vstr_alloc(64);
    ARGV   *args = argv_alloc(4);

    (void) vstr_fmt(path, "%s/postqueue", mail_conf_str("command_directory"));
    if (access(vstr_str(path), X_OK) < 0)
	msg_fatal_status(EX_UNAVAILABLE, "%s: %m", vstr_str(path));
    argv_add(args, "postqueue");
    argv_add(args, "-c");
    argv_add(args, mail_conf_dir());
    argv_add(args, flag);
    for (; extra && *extra; extra++)
	argv_add(args, *extra);
    execv(vstr_str(path), args->argv);
    msg_fatal_status(EX_UNAVAILABLE, "execute %s: %m", vstr_str(path));
}

/* Start postdrop; returns a stream to write the record stream to. */
FILE   *sendmail_postdrop_open(pid_t *pid, int want_id, int *id_fd)
{
    int     in[2], out[2];
    VSTR   *path = vstr_alloc(64);
    FILE   *fp;

    (void) vstr_fmt(path, "%s/postdrop", mail_conf_str("command_directory"));
    if (pipe(in) < 0 || (want_id && pipe(out) < 0))
	msg_fatal_status(EX_OSERR, "pipe: %m");
    fflush(stdout);
    if ((*pid = fork()) < 0)
	msg_fatal_status(EX_OSERR, "fork: %m");
    if (*pid == 0) {
	(void) dup2(in[0], 0);
	(void) close(in[0]);
	(void) close(in[1]);
	if (want_id) {
	    (void) dup2(out[1], 1);
	    (void) close(out[0]);
	    (void) close(out[1]);
	}
	execl(vstr_str(path), "postdrop", "-r", "-c", mail_conf_dir(),
	      want_id ? "-Q" : (char *) 0, (char *) 0);
	msg_fatal_status(EX_UNAVAILABLE, "%s(%ld): unable to execute %s -r: %m",
			 "sendmail", (long) getuid(), vstr_str(path));
    }
    (void) close(in[0]);
    if (want_id) {
	(void) close(out[1]);
	*id_fd = out[0];
    }
    if ((fp = fdopen(in[1], "w")) == 0)
	msg_fatal_status(EX_OSERR, "fdopen: %m");
    vstr_free(path);
    return (fp);
}

int     sendmail_postdrop_close(FILE *fp, pid_t pid)
{
    int     status;

    if (fclose(fp) != 0)
	msg_warn("write to postdrop: %m");
    while (waitpid(pid, &status, 0) < 0)
	if (errno != EINTR)
	    return (EX_OSERR);
    if (WIFEXITED(status))
	return (WEXITSTATUS(status));
    return (EX_TEMPFAIL);
}

void    sendmail_envelope(FILE *fp, const SENDMAIL_ENV *env)
{
    (void) rec_fputs(fp, REC_TYPE_VERSION, "postern-maildrop 1");
    if (env->fullname && *env->fullname)
	(void) rec_fputs(fp, REC_TYPE_FULL, env->fullname);
    (void) rec_fputs(fp, REC_TYPE_FROM, env->sender);
    if (env->extract)
	(void) rec_fputs(fp, REC_TYPE_ATTR, "extract=1");
    if (env->envid)
	(void) rec_fprintf(fp, REC_TYPE_ATTR, "%s=%s", MAIL_ATTR_DSN_ENVID, env->envid);
    if (env->ret)
	(void) rec_fprintf(fp, REC_TYPE_ATTR, "%s=%d", MAIL_ATTR_DSN_RET, env->ret);
    if (env->encoding)
	(void) rec_fprintf(fp, REC_TYPE_ATTR, "%s=%s", MAIL_ATTR_ENCODING, env->encoding);
    if (env->trace_flags)
	(void) rec_fprintf(fp, REC_TYPE_ATTR, "%s=%d", MAIL_ATTR_TRACE_FLAGS, env->trace_flags);
    for (size_t i = 0; i < env->rcpt->argc; i++) {
	if (env->notify)
	    (void) rec_fprintf(fp, REC_TYPE_DSN_NOTIFY, "%d", env->notify);
	(void) rec_fputs(fp, REC_TYPE_RCPT, env->rcpt->argv[i]);
    }
    (void) rec_fputs(fp, REC_TYPE_MESG, "");
}

/* Copy the message from stdin as N/L records. */
static long sm_copy_message(FILE *fp, FILE *in, int dot_ends)
{
    long    limit = mail_conf_int("line_length_limit");
    char   *buf = xmalloc((size_t) limit + 2);
    long    total = 0;
    int     bol = 1;

    if (limit < 1)
	limit = 2048;
    for (;;) {
	size_t  n = 0;
	int     ch = EOF;

	while (n < (size_t) limit && (ch = getc(in)) != EOF && ch != '\n')
	    buf[n++] = (char) ch;
	if (ch == EOF && n == 0)
	    break;
	if (ch == '\n' || ch == EOF) {
	    if (n > 0 && buf[n - 1] == '\r')
		n--;
	    if (bol && dot_ends && n == 1 && buf[0] == '.')
		break;
	    (void) rec_put(fp, REC_TYPE_NORM, buf, n);
	    bol = 1;
	    total += (long) n + 1;
	    if (ch == EOF)
		break;
	} else {
	    (void) rec_put(fp, REC_TYPE_CONT, buf, n);
	    bol = 0;
	    total += (long) n;
	}
    }
    free(buf);
    return (total);
}

/* Recipients from a command-line argument (may be an address list). */
void    sendmail_add_rcpts(ARGV *rcpt, const char *arg)
{
    VSTR   *junk = vstr_alloc(64);

    cleanup_addr_list(arg, rcpt, junk, 0);
    vstr_free(junk);
}

int     main(int argc, char **argv)
{
    const char *slash = strrchr(argv[0], '/');
    const char *name = slash ? slash + 1 : argv[0];
    int     mode = 'm';
    int     dot_ends = 1;
    int     ch, status;
    SENDMAIL_ENV env;
    struct passwd *pw;
    FILE   *fp;
    pid_t   pid;
    ARGV   *args = argv_alloc(argc + 1);

    memset(&env, 0, sizeof(env));
    env.rcpt = argv_alloc(4);
    msg_init(strcmp(name, "newaliases") == 0 ? "newaliases"
	     : strcmp(name, "mailq") == 0 ? "mailq" : "sendmail", 1);
    if (strcmp(name, "newaliases") == 0)
	mode = 'i';
    else if (strcmp(name, "mailq") == 0)
	mode = 'p';

    /* -q[...] takes an optional attached value: handle it before getopt. */
    for (int i = 0; i < argc; i++) {
	if (i > 0 && strncmp(argv[i], "-q", 2) == 0) {
	    mode = 'q';
	    continue;
	}
	argv_add(args, argv[i]);
    }
    argc = (int) args->argc;
    argv = args->argv;

    opterr = 0;
    while ((ch = getopt(argc, argv, "A:B:C:F:GIL:N:O:R:UV:X:b:ce:f:h:imno:p:r:tvx")) != -1) {
	switch (ch) {
	case 'A':
	case 'G':
	case 'L':
	case 'O':
	case 'U':
	case 'X':
	case 'c':
	case 'e':
	case 'h':
	case 'm':
	case 'n':
	case 'p':
	case 'x':
	    break;
	case 'B':
	    if (strcasecmp(optarg, "8BITMIME") == 0)
		env.encoding = "8bit";
	    else if (strcasecmp(optarg, "7BIT") == 0)
		env.encoding = "7bit";
	    else
		msg_fatal_status(EX_USAGE, "-B option needs 8BITMIME or 7BIT");
	    break;
	case 'C':
	    sm_config(optarg);
	    break;
	case 'F':
	    env.fullname = optarg;
	    break;
	case 'I':
	    mode = 'i';
	    break;
	case 'N':
	    {
		char   *copy = xstrdup(optarg), *bp = copy, *tok;

		env.notify = 0;
		while ((tok = mystrtok(&bp, ", ")) != 0) {
		    if (strcasecmp(tok, "never") == 0)
			env.notify |= 1;
		    else if (strcasecmp(tok, "success") == 0)
			env.notify |= 2;
		    else if (strcasecmp(tok, "failure") == 0)
			env.notify |= 4;
		    else if (strcasecmp(tok, "delay") == 0)
			env.notify |= 8;
		    else
			msg_fatal_status(EX_USAGE, "bad -N option value: %s", optarg);
		}
		if ((env.notify & 1) && env.notify != 1)
		    msg_fatal_status(EX_USAGE, "bad -N option value: %s", optarg);
		free(copy);
		break;
	    }
	case 'R':
	    if (strcasecmp(optarg, "full") == 0)
		env.ret = 1;
	    else if (strcasecmp(optarg, "hdrs") == 0)
		env.ret = 2;
	    else
		msg_fatal_status(EX_USAGE, "bad -R option value: %s", optarg);
	    break;
	case 'V':
	    env.envid = optarg;
	    break;
	case 'b':
	    switch (*optarg) {
	    case 'm':
	    case 's':
	    case 'p':
	    case 'i':
	    case 'v':
		mode = *optarg;
		break;
	    case 'a':
		break;
	    default:
		msg_fatal_status(EX_USAGE, "unsupported: -%c%c", ch, *optarg);
	    }
	    break;
	case 'f':
	case 'r':
	    env.sender = optarg;
	    break;
	case 'i':
	    dot_ends = 0;
	    break;
	case 'o':
	    if (optarg[0] == 'i' && optarg[1] == 0)
		dot_ends = 0;
	    break;
	case 't':
	    env.extract = 1;
	    break;
	case 'v':
	    /* Once: mail a delivery report; twice: verbose logging too. */
	    if (++sm_verbose > 1)
		msg_verbose++;
	    break;
	default:
	    msg_fatal_status(EX_USAGE, "usage: %s [options]", name);
	}
    }
    mail_conf_read();
    maillog_client_init(msg_progname(), MAILLOG_FALLBACK);

    switch (mode) {
    case 'i':
	(void) alias_rebuild_all();
	exit(0);
    case 'p':
	sm_exec_postqueue("-p", 0);
    case 'q':
	sm_exec_postqueue("-f", 0);
    default:
	break;
    }

    if ((pw = getpwuid(getuid())) == 0)
	msg_fatal_status(EX_USAGE, "no login name found for user ID %lu", (unsigned long) getuid());
    if (env.sender == 0)
	env.sender = xstrdup(pw->pw_name);
    else if (strcmp(env.sender, "<>") == 0)
	env.sender = "";
    if (env.fullname == 0 && pw->pw_gecos && *pw->pw_gecos) {
	char   *g = xstrdup(pw->pw_gecos);

	g[strcspn(g, ",")] = 0;
	if (*g)
	    env.fullname = g;
    }
    if (mode == 's')
	exit(sendmail_smtp(&env));

    for (int i = optind; i < argc; i++)
	sendmail_add_rcpts(env.rcpt, argv[i]);
    if (env.rcpt->argc == 0 && !env.extract)
	msg_fatal_status(EX_USAGE, "Recipient addresses must be specified on"
			 " the command line or via the -t option");
    if (mode == 'v')
	env.trace_flags = DEL_REQ_FLAG_USR_VRFY;
    else if (sm_verbose)
	env.trace_flags = DEL_REQ_FLAG_RECORD;
    fp = sendmail_postdrop_open(&pid, 0, 0);
    sendmail_envelope(fp, &env);
    /* -bv verifies addresses only: no message is read. */
    if (mode != 'v')
	(void) sm_copy_message(fp, stdin, dot_ends);
    (void) rec_fputs(fp, REC_TYPE_XTRA, "");
    (void) rec_fputs(fp, REC_TYPE_END, "");
    if ((status = sendmail_postdrop_close(fp, pid)) != 0)
	msg_fatal_status(status, "%s(%ld): error writing queue file",
			 env.sender, (long) getuid());
    if (env.trace_flags)
	printf("Mail Delivery Status Report will be mailed to <%s>.\n", env.sender);
    exit(0);
}
