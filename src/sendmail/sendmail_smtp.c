/*
 * sendmail_smtp - sendmail -bs: an SMTP dialogue on stdin/stdout.
 *
 * Each message is posted through postdrop as the invoking user (as
 * Postfix's "smtpd -S" does), so no privileges are needed. Replies use
 * Postfix's texts; protocol errors are the common subset of smtpd's.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "argv.h"
#include "mail_conf.h"
#include "mem.h"
#include "msg.h"
#include "rec_type.h"
#include "record.h"
#include "sendmail.h"
#include "stringops.h"
#include "vstr.h"

static void ss_reply(const char *fmt,...) __attribute__((format(printf, 1, 2)));

static void ss_reply(const char *fmt,...)
{
    va_list ap;

    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    fputs("\r\n", stdout);
    fflush(stdout);
}

/* Read one line (without CRLF) into buf, at most limit bytes kept. */
static int ss_getline(VSTR *buf, size_t limit)
{
    int     ch;

    vstr_reset(buf);
    while ((ch = getchar()) != EOF && ch != '\n')
	if (vstr_len(buf) < limit)
	    (void) vstr_addch(buf, ch);
    if (ch == EOF && vstr_len(buf) == 0)
	return (-1);
    if (vstr_len(buf) > 0 && vstr_str(buf)[vstr_len(buf) - 1] == '\r')
	vstr_truncate(buf, vstr_len(buf) - 1);
    return (0);
}

/* "FROM:<addr>" -> addr (malloc), or NULL. */
static char *ss_path(const char *args, const char *kw)
{
    size_t  klen = strlen(kw);
    const char *cp, *end;

    while (*args == ' ')
	args++;
    if (strncasecmp(args, kw, klen) != 0)
	return (0);
    cp = args + klen;
    while (*cp == ' ')
	cp++;
    if (*cp == '<') {
	if ((end = strchr(++cp, '>')) == 0)
	    return (0);
    } else {
	end = cp + strcspn(cp, " ");
	if (end == cp)
	    return (0);
    }
    return (xstrndup(cp, (size_t) (end - cp)));
}

int     sendmail_smtp(const SENDMAIL_ENV *defaults)
{
    VSTR   *line = vstr_alloc(256);
    size_t  limit = (size_t) mail_conf_int("line_length_limit");
    SENDMAIL_ENV env;
    char   *sender = 0;
    const char *host = mail_conf_str("myhostname");

    env = *defaults;
    env.rcpt = argv_alloc(4);
    env.extract = 0;
    ss_reply("220 %s", mail_conf_str("smtpd_banner"));
    while (ss_getline(line, limit) == 0) {
	char   *verb = vstr_str(line), *args;

	args = verb + strcspn(verb, " ");
	if (*args)
	    *args++ = 0;
	if (strcasecmp(verb, "HELO") == 0 || strcasecmp(verb, "EHLO") == 0) {
	    if (*trim(args) == 0) {
		ss_reply("501 Syntax: %s hostname", strcasecmp(verb, "HELO") == 0 ? "HELO" : "EHLO");
	    } else if (strcasecmp(verb, "HELO") == 0) {
		ss_reply("250 %s", host);
	    } else {
		ss_reply("250-%s", host);
		ss_reply("250-PIPELINING");
		ss_reply("250-SIZE %ld", mail_conf_int("message_size_limit"));
		ss_reply("250-ENHANCEDSTATUSCODES");
		ss_reply("250-8BITMIME");
		ss_reply("250 DSN");
	    }
	} else if (strcasecmp(verb, "MAIL") == 0) {
	    char   *a;

	    if (sender)
		ss_reply("503 5.5.1 Error: nested MAIL command");
	    else if ((a = ss_path(args, "FROM:")) == 0)
		ss_reply("501 5.5.4 Syntax: MAIL FROM:<address>");
	    else {
		sender = a;
		ss_reply("250 2.1.0 Ok");
	    }
	} else if (strcasecmp(verb, "RCPT") == 0) {
	    char   *a;

	    if (sender == 0)
		ss_reply("503 5.5.1 Error: need MAIL command");
	    else if ((a = ss_path(args, "TO:")) == 0)
		ss_reply("501 5.5.4 Syntax: RCPT TO:<address>");
	    else if (*a == 0) {
		ss_reply("501 5.1.3 Bad recipient address syntax");
		free(a);
	    } else {
		argv_add(env.rcpt, a);
		free(a);
		ss_reply("250 2.1.5 Ok");
	    }
	} else if (strcasecmp(verb, "DATA") == 0) {
	    FILE   *fp;
	    pid_t   pid;
	    int     id_fd = -1, status, bol_dot;
	    char    idbuf[64];
	    ssize_t n;

	    if (sender == 0) {
		ss_reply("503 5.5.1 Error: need RCPT command");
		continue;
	    }
	    if (env.rcpt->argc == 0) {
		ss_reply("554 5.5.1 Error: no valid recipients");
		continue;
	    }
	    ss_reply("354 End data with <CR><LF>.<CR><LF>");
	    env.sender = sender;
	    fp = sendmail_postdrop_open(&pid, 1, &id_fd);
	    sendmail_envelope(fp, &env);
	    (void) rec_fprintf(fp, REC_TYPE_NORM, "Received: from %s by %s (%s) with local-SMTP",
			       "localhost", host, mail_conf_str("mail_name"));
	    while ((bol_dot = ss_getline(line, limit)) == 0) {
		const char *cp = vstr_str(line);

		if (strcmp(cp, ".") == 0)
		    break;
		if (*cp == '.')
		    cp++;
		(void) rec_fputs(fp, REC_TYPE_NORM, cp);
	    }
	    (void) rec_fputs(fp, REC_TYPE_XTRA, "");
	    if (bol_dot == 0)
		(void) rec_fputs(fp, REC_TYPE_END, "");
	    status = sendmail_postdrop_close(fp, pid);
	    n = read(id_fd, idbuf, sizeof(idbuf) - 1);
	    (void) close(id_fd);
	    idbuf[n > 0 ? n : 0] = 0;
	    idbuf[strcspn(idbuf, "\n")] = 0;
	    if (bol_dot != 0)
		break;
	    if (status == 0)
		ss_reply("250 2.0.0 Ok: queued as %s", idbuf);
	    else
		ss_reply("451 4.3.0 Error: queue file write error");
	    free(sender);
	    sender = 0;
	    argv_truncate(env.rcpt, 0);
	} else if (strcasecmp(verb, "RSET") == 0) {
	    free(sender);
	    sender = 0;
	    argv_truncate(env.rcpt, 0);
	    ss_reply("250 2.0.0 Ok");
	} else if (strcasecmp(verb, "NOOP") == 0) {
	    ss_reply("250 2.0.0 Ok");
	} else if (strcasecmp(verb, "QUIT") == 0) {
	    ss_reply("221 2.0.0 Bye");
	    break;
	} else {
	    ss_reply("500 5.5.2 Error: command not recognized");
	}
    }
    free(sender);
    argv_free(env.rcpt);
    vstr_free(line);
    return (0);
}
