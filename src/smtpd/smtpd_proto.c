/* smtpd_proto - SMTP commands and the mail transaction; see smtpd.h. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail_conf.h"
#include "mem.h"
#include "msg.h"
#include "qcommit.h"
#include "rec_type.h"
#include "smtpd.h"
#include "stringops.h"

#define CMD_FLAG_LIMIT	(1<<0)		/* counts against smtpd_junk_command_limit */

typedef struct SMTPD_CMD {
    const char *name;
    int     index;			/* counter slot */
    int     flags;
    int     (*fn) (SMTPD_STATE *, char *args);	/* 0 ok, -1 failed */
} SMTPD_CMD;

static long sp_size_limit;
static long sp_rcpt_limit;
static long sp_hard_limit;
static long sp_soft_limit;
static long sp_sleep;
static long sp_junk_limit;

static const char *const sp_cmd_names[SMTPD_CMD_COUNT] = {
    "helo", "ehlo", "starttls", "auth", "mail", "rcpt", "data", "bdat", "rset", "noop",
    "vrfy", "etrn", "quit", "unknown",
};

void    smtpd_proto_init(void)
{
    sp_size_limit = mail_conf_int("message_size_limit");
    sp_rcpt_limit = mail_conf_int("smtpd_recipient_limit");
    sp_hard_limit = mail_conf_int("smtpd_hard_error_limit");
    sp_soft_limit = mail_conf_int("smtpd_soft_error_limit");
    sp_sleep = mail_conf_time("smtpd_error_sleep_time");
    sp_junk_limit = mail_conf_int("smtpd_junk_command_limit");
}

void    smtpd_greet(SMTPD_STATE *state)
{
    const char *reject = smtpd_check_client(state);

    if (reject == smtpd_check_deferred)
	return;				/* greeted when DNS answers */
    if (reject) {
	/* As Postfix: the reject is the greeting, later commands get 503. */
	smtpd_reply(state, "%s", reject);
	state->access_denied = 1;
	return;
    }
    smtpd_reply(state, "220 %s", mail_conf_str("smtpd_banner"));
}

/* Forget the mail transaction (RSET, HELO, after a message). */
void    smtpd_reset(SMTPD_STATE *state)
{
    if (state->cleanup) {
	cleanup_abort(state->cleanup);
	state->cleanup = 0;
    }
    free(state->sender);
    state->sender = 0;
    free(state->encoding);
    state->encoding = 0;
    free(state->dsn_envid);
    state->dsn_envid = 0;
    state->dsn_ret = 0;
    state->smtputf8 = 0;
    state->msg_size = 0;
    if (state->rcpt)
	argv_truncate(state->rcpt, 0);
    state->rcpt_count = 0;
    state->queue_id = "NOQUEUE";
    state->act_size = 0;
    state->data_err = 0;
    state->bdat_active = 0;
    state->bdat_last = 0;
    state->bdat_nrcpt_err = 0;
    if (state->bdat_line)
	vstr_reset(state->bdat_line);
    state->bdat_prev_cr = 0;
    state->data_prev_cont = 0;
}

void    smtpd_log_disconnect(SMTPD_STATE *state)
{
    VSTR   *v = vstr_alloc(128);
    int     total = 0, fail = 0;

    for (int i = 0; i < SMTPD_CMD_COUNT; i++) {
	if (state->cmd_total[i] == 0)
	    continue;
	total += state->cmd_total[i];
	fail += state->cmd_fail[i];
	if (state->cmd_fail[i])
	    (void) vstr_fmt_append(v, " %s=%d/%d", sp_cmd_names[i],
				   state->cmd_total[i] - state->cmd_fail[i], state->cmd_total[i]);
	else
	    (void) vstr_fmt_append(v, " %s=%d", sp_cmd_names[i], state->cmd_total[i]);
    }
    if (fail || total == 0)			/* Postfix: "commands=0/0" */
	(void) vstr_fmt_append(v, " commands=%d/%d", total - fail, total);
    else
	(void) vstr_fmt_append(v, " commands=%d", total);
    msg_info("disconnect from %s%s", state->namaddr, vstr_str(v));
    vstr_free(v);
}

/* ---------------------------------------------------------------- HELO/EHLO */

static int sp_helo_common(SMTPD_STATE *state, char *args, const char *verb)
{
    const char *reject;

    args = trim(args);
    if (*args == 0 || strpbrk(args, " \t")) {
	if (*args == 0) {
	    smtpd_reply(state, "501 Syntax: %s hostname", verb);
	    return (-1);
	}
    }
    if ((reject = smtpd_check_helo(state, args)) != 0) {
	smtpd_reply(state, "%s", reject);
	return (-1);
    }
    if (state->sender)
	smtpd_reset(state);
    free(state->helo_name);
    state->helo_name = xstrdup(args);
    return (0);
}

static int sp_helo(SMTPD_STATE *state, char *args)
{
    if (sp_helo_common(state, args, "HELO") < 0)
	return (-1);
    state->protocol = "SMTP";
    smtpd_reply(state, "250 %s", smtpd_hostname());
    return (0);
}

/* smtpd_discard_ehlo_keywords: is this EHLO keyword discarded? */
static int sp_ehlo_discard(const char *keyword, VSTR *logged)
{
    const char *list = mail_conf_str("smtpd_discard_ehlo_keywords");
    char   *copy, *bp, *tok;
    int     found = 0;

    if (list == 0 || *list == 0)
	return (0);
    copy = xstrdup(list);
    bp = copy;
    while (!found && (tok = mystrtok(&bp, CHARS_COMMA_SP)) != 0)
	if (strcasecmp(tok, keyword) == 0)
	    found = 1;
    free(copy);
    if (found)
	(void) vstr_fmt_append(logged, " %s", keyword);
    return (found);
}

static int sp_ehlo(SMTPD_STATE *state, char *args)
{
    static const char *const keywords[] = {
	"PIPELINING", "SIZE", "VRFY", "ETRN", "ENHANCEDSTATUSCODES", "8BITMIME", "DSN",
	"SMTPUTF8", "CHUNKING", 0,
    };
    const char *list[16];
    int     n = 0;
    VSTR   *logged, *size;

    if (sp_helo_common(state, args, "EHLO") < 0)
	return (-1);
    state->protocol = "ESMTP";
    logged = vstr_alloc(64);
    size = vstr_alloc(32);
    if (sp_size_limit > 0)
	(void) vstr_fmt(size, "SIZE %ld", sp_size_limit);
    else
	(void) vstr_cpy(size, "SIZE");
    for (int i = 0; keywords[i]; i++) {
	if (strcmp(keywords[i], "VRFY") == 0 && mail_conf_bool("disable_vrfy_command"))
	    continue;
	if (strcmp(keywords[i], "SMTPUTF8") == 0 && !mail_conf_bool("smtputf8_enable"))
	    continue;
	if (sp_ehlo_discard(keywords[i], logged))
	    continue;
	list[n++] = strcmp(keywords[i], "SIZE") == 0 ? vstr_str(size) : keywords[i];
    }
    if (vstr_len(logged) && !strstr(mail_conf_str("smtpd_discard_ehlo_keywords"), "silent-discard"))
	msg_info("discarding EHLO keywords:%s", vstr_str(logged));
    smtpd_reply(state, "%s%s", n ? "250-" : "250 ", smtpd_hostname());
    for (int i = 0; i < n; i++)
	smtpd_reply(state, "250%c%s", i == n - 1 ? ' ' : '-', list[i]);
    vstr_free(logged);
    vstr_free(size);
    return (0);
}

/* ---------------------------------------------------------------- addresses */

/*
 * Parse "FROM:<addr> params" (or "TO:"). On success, *addr is a malloc'ed
 * address (source route removed) and *params points into args.
 * Returns 0, -1 for a syntax error of the command, -2 for a bad address.
 */
static int sp_parse_path(char *args, const char *keyword, char **addr, char **params)
{
    size_t  klen = strlen(keyword);
    char   *cp = args, *start, *end;

    while (*cp == ' ' || *cp == '\t')
	cp++;
    if (strncasecmp(cp, keyword, klen) != 0)
	return (-1);
    cp += klen;
    while (*cp == ' ' || *cp == '\t')
	cp++;
    if (*cp == 0)
	return (-1);
    if (*cp == '<') {
	int     quote = 0;

	start = ++cp;
	for (end = cp; *end; end++) {
	    if (quote) {
		if (*end == '\\' && end[1])
		    end++;
		else if (*end == '"')
		    quote = 0;
	    } else if (*end == '"') {
		quote = 1;
	    } else if (*end == '>') {
		break;
	    }
	}
	if (*end != '>')
	    return (-2);
	cp = end + 1;
	if (*cp && *cp != ' ' && *cp != '\t')
	    return (-2);
    } else {
	start = cp;
	for (end = cp; *end && *end != ' ' && *end != '\t'; end++)
	     /* void */ ;
	cp = end;
    }
    /* Validate: no unquoted white space or control characters. */
    {
	int     quote = 0;

	for (char *p = start; p < end; p++) {
	    unsigned char ch = (unsigned char) *p;

	    if (quote) {
		if (ch == '\\' && p + 1 < end)
		    p++;
		else if (ch == '"')
		    quote = 0;
		continue;
	    }
	    if (ch == '"')
		quote = 1;
	    else if (ch <= ' ' || ch == 0x7f || ch == '<' || ch == '>')
		return (-2);
	}
	if (quote)
	    return (-2);
    }
    /* Source route "@a,@b:user@domain". */
    if (*start == '@') {
	char   *colon = memchr(start, ':', (size_t) (end - start));

	if (colon == 0)
	    return (-2);
	start = colon + 1;
    }
    *addr = xstrndup(start, (size_t) (end - start));
    while (*cp == ' ' || *cp == '\t')
	cp++;
    *params = cp;
    return (0);
}

/* RFC 3461 xtext: printable except '+' and '=', "+XX" hex escapes. */
static int sp_xtext_decode(const char *in, VSTR *out)
{
    vstr_reset(out);
    for (const char *cp = in; *cp; cp++) {
	unsigned char ch = (unsigned char) *cp;

	if (ch == '+') {
	    unsigned int val;

	    if (!isxdigit((unsigned char) cp[1]) || !isxdigit((unsigned char) cp[2])
		|| islower((unsigned char) cp[1]) || islower((unsigned char) cp[2]))
		return (-1);
	    if (sscanf(cp + 1, "%2X", &val) != 1)
		return (-1);
	    (void) vstr_addch(out, (int) val);
	    cp += 2;
	} else if (ch < '!' || ch > '~' || ch == '=') {
	    return (-1);
	} else {
	    (void) vstr_addch(out, ch);
	}
    }
    return (0);
}

/* ---------------------------------------------------------------- MAIL */

static int sp_mail(SMTPD_STATE *state, char *args)
{
    char   *addr, *params, *param;
    const char *reject;
    int     rc;
    VSTR   *tmp;

    if (mail_conf_bool("smtpd_helo_required") && state->helo_name == 0) {
	smtpd_reply(state, "503 5.5.1 Error: send HELO/EHLO first");
	return (-1);
    }
    if (state->sender) {
	smtpd_reply(state, "503 5.5.1 Error: nested MAIL command");
	return (-1);
    }
    if ((rc = sp_parse_path(args, "FROM:", &addr, &params)) == -1) {
	smtpd_reply(state, "501 5.5.4 Syntax: MAIL FROM:<address>");
	return (-1);
    }
    if (rc == -2) {
	smtpd_reply(state, "501 5.1.7 Bad sender address syntax");
	return (-1);
    }
    tmp = vstr_alloc(64);
    free(state->encoding);
    state->encoding = 0;
    free(state->dsn_envid);
    state->dsn_envid = 0;
    state->dsn_ret = 0;
    state->smtputf8 = 0;
    while ((param = mystrtok(&params, " \t")) != 0) {
	if (strncasecmp(param, "SIZE=", 5) == 0) {
	    unsigned long n;

	    if (!alldig(param + 5) || param[5] == 0) {
		smtpd_reply(state, "501 5.5.4 Bad message size syntax");
		goto fail;
	    }
	    if (parse_ulong(param + 5, (unsigned long) 1 << 62, &n) < 0)
		n = (unsigned long) 1 << 62;
	    state->msg_size = (long) n;
	} else if (strncasecmp(param, "BODY=", 5) == 0) {
	    if (strcasecmp(param + 5, "8BITMIME") != 0 && strcasecmp(param + 5, "7BIT") != 0) {
		smtpd_reply(state, "555 5.5.4 Unsupported option: %s", param);
		goto fail;
	    }
	    free(state->encoding);
	    state->encoding = xstrdup(strcasecmp(param + 5, "8BITMIME") == 0 ? "8bit" : "7bit");
	} else if (strncasecmp(param, "RET=", 4) == 0) {
	    if (state->dsn_ret || (strcasecmp(param + 4, "FULL") != 0
				   && strcasecmp(param + 4, "HDRS") != 0)) {
		smtpd_reply(state, "501 5.5.4 Bad RET parameter syntax");
		goto fail;
	    }
	    state->dsn_ret = strcasecmp(param + 4, "FULL") == 0 ? 1 : 2;
	} else if (strncasecmp(param, "ENVID=", 6) == 0) {
	    if (state->dsn_envid || sp_xtext_decode(param + 6, tmp) < 0 || vstr_len(tmp) > 100) {
		smtpd_reply(state, "501 5.5.4 Bad ENVID parameter syntax");
		goto fail;
	    }
	    state->dsn_envid = xstrdup(vstr_str(tmp));
	} else if (strcasecmp(param, "SMTPUTF8") == 0 && mail_conf_bool("smtputf8_enable")) {
	    state->smtputf8 = 1;
	} else if (strncasecmp(param, "AUTH=", 5) == 0) {
	     /* ignored without SASL, as Postfix does */ ;
	} else {
	    smtpd_reply(state, "555 5.5.4 Unsupported option: %s", param);
	    goto fail;
	}
    }
    if (sp_size_limit > 0 && state->msg_size > sp_size_limit) {
	smtpd_reply(state, "552 5.3.4 Message size exceeds fixed limit");
	goto fail;
    }
    if ((reject = smtpd_check_mail(state, addr)) != 0) {
	free(state->sender);
	state->sender = addr;
	state->sender = 0;
	smtpd_reply(state, "%s", reject);
	vstr_free(tmp);
	return (-1);
    }
    state->sender = addr;
    smtpd_reply(state, "250 2.1.0 Ok");
    vstr_free(tmp);
    return (0);

fail:
    free(addr);
    vstr_free(tmp);
    return (-1);
}

/* ---------------------------------------------------------------- RCPT */

static int sp_open_queue_file(SMTPD_STATE *state)
{
    CLEANUP *cl;
    int     flags = state->client_hdr_local ? CLEANUP_FLAG_LOCAL : 0;

    if ((cl = cleanup_open(flags)) == 0) {
	msg_warn("create queue file: %m");
	return (-1);
    }
    state->cleanup = cl;
    state->queue_id = cleanup_queue_id(cl);
    msg_info("%s: client=%s", state->queue_id, state->namaddr);
    cleanup_attr(cl, MAIL_ATTR_LOG_IDENT, state->queue_id);
    cleanup_attr(cl, MAIL_ATTR_RWR_CONTEXT, state->client_hdr_local ? "local" : "remote");
    cleanup_sender(cl, state->sender);
    cleanup_attr(cl, MAIL_ATTR_LOG_CLIENT_NAME, state->name);
    cleanup_attr(cl, MAIL_ATTR_LOG_CLIENT_ADDR, state->addr);
    cleanup_attr(cl, MAIL_ATTR_LOG_CLIENT_PORT, state->port);
    if (state->helo_name)
	cleanup_attr(cl, MAIL_ATTR_LOG_HELO_NAME, state->helo_name);
    cleanup_attr(cl, MAIL_ATTR_LOG_PROTO_NAME, state->protocol);
    if (state->encoding)
	cleanup_attr(cl, MAIL_ATTR_ENCODING, state->encoding);
    if (state->smtputf8)
	cleanup_attr(cl, MAIL_ATTR_SMTPUTF8, "1");
    if (state->dsn_envid)
	cleanup_attr(cl, MAIL_ATTR_DSN_ENVID, state->dsn_envid);
    if (state->dsn_ret)
	cleanup_attr(cl, MAIL_ATTR_DSN_RET, state->dsn_ret == 1 ? "1" : "2");
    return (0);
}

#define NOTIFY_NEVER	1
#define NOTIFY_SUCCESS	2
#define NOTIFY_FAILURE	4
#define NOTIFY_DELAY	8

static int sp_notify_parse(const char *val)
{
    char   *copy = xstrdup(val), *bp = copy, *tok;
    int     mask = 0;

    while ((tok = mystrtok(&bp, ",")) != 0) {
	if (strcasecmp(tok, "NEVER") == 0)
	    mask |= NOTIFY_NEVER;
	else if (strcasecmp(tok, "SUCCESS") == 0)
	    mask |= NOTIFY_SUCCESS;
	else if (strcasecmp(tok, "FAILURE") == 0)
	    mask |= NOTIFY_FAILURE;
	else if (strcasecmp(tok, "DELAY") == 0)
	    mask |= NOTIFY_DELAY;
	else {
	    mask = -1;
	    break;
	}
    }
    free(copy);
    if (mask == 0 || ((mask & NOTIFY_NEVER) && mask != NOTIFY_NEVER))
	return (-1);
    return (mask);
}

static int sp_rcpt(SMTPD_STATE *state, char *args)
{
    char   *addr, *params, *param;
    const char *reject;
    int     rc, notify = 0;
    char   *orcpt = 0;
    VSTR   *tmp;

    if (state->sender == 0) {
	smtpd_reply(state, "503 5.5.1 Error: need MAIL command");
	return (-1);
    }
    if (state->bdat_active) {
	/* Content is being written: no more envelope records (as Postfix). */
	smtpd_reply(state, "503 5.5.1 Error: RCPT after BDAT");
	return (-1);
    }
    if ((rc = sp_parse_path(args, "TO:", &addr, &params)) == -1) {
	smtpd_reply(state, "501 5.5.4 Syntax: RCPT TO:<address>");
	return (-1);
    }
    if (rc == -2 || *addr == 0) {
	if (rc == 0)
	    free(addr);
	smtpd_reply(state, "501 5.1.3 Bad recipient address syntax");
	return (-1);
    }
    tmp = vstr_alloc(64);
    while ((param = mystrtok(&params, " \t")) != 0) {
	if (strncasecmp(param, "NOTIFY=", 7) == 0) {
	    if (notify || (notify = sp_notify_parse(param + 7)) < 0) {
		smtpd_reply(state, "501 5.5.4 Error: Bad NOTIFY parameter syntax");
		goto fail;
	    }
	} else if (strncasecmp(param, "ORCPT=", 6) == 0) {
	    char   *semi = strchr(param + 6, ';');

	    if (orcpt || semi == 0 || semi == param + 6
		|| sp_xtext_decode(semi + 1, tmp) < 0 || vstr_len(tmp) == 0) {
		smtpd_reply(state, "501 5.5.4 Error: Bad ORCPT parameter syntax");
		goto fail;
	    }
	    *semi = 0;
	    orcpt = xstrdup(param + 6);
	    {
		VSTR   *o = vstr_alloc(64);

		(void) vstr_fmt(o, "%s;%s", lowercase(orcpt), vstr_str(tmp));
		free(orcpt);
		orcpt = vstr_export(o);
	    }
	} else {
	    smtpd_reply(state, "555 5.5.4 Unsupported option: %s", param);
	    goto fail;
	}
    }
    if (sp_rcpt_limit > 0 && state->rcpt_count >= sp_rcpt_limit) {
	smtpd_reply(state, "452 4.5.3 Error: too many recipients");
	goto fail;
    }
    if ((reject = smtpd_check_rcpt(state, addr)) != 0) {
	smtpd_reply(state, "%s", reject);
	goto fail;
    }
    if (state->cleanup == 0 && sp_open_queue_file(state) < 0) {
	smtpd_reply(state, "451 4.3.0 Error: queue file write error");
	goto fail;
    }
    /* Without ORCPT=, cleanup derives "rfc822;" + the address (as Postfix). */
    cleanup_rcpt(state->cleanup, addr, orcpt, notify);
    argv_add(state->rcpt, addr);
    state->rcpt_count++;
    smtpd_reply(state, "250 2.1.5 Ok");
    free(addr);
    free(orcpt);
    vstr_free(tmp);
    return (0);

fail:
    free(addr);
    free(orcpt);
    vstr_free(tmp);
    return (-1);
}

/* ---------------------------------------------------------------- DATA */

static void sp_received(SMTPD_STATE *state)
{
    VSTR   *v = vstr_alloc(256);
    const char *proto = state->protocol;

    if (state->smtputf8)
	proto = strcmp(proto, "ESMTP") == 0 ? "UTF8SMTP" : "UTF8SMTP";
    (void) vstr_fmt(v, "Received: from %s (%s [%s])",
		    state->helo_name ? state->helo_name : state->name,
		    state->name, state->rfc_addr);
    cleanup_content(state->cleanup, REC_TYPE_NORM, vstr_str(v), vstr_len(v));
    if (state->rcpt_count == 1) {
	(void) vstr_fmt(v, "\tby %s (%s) with %s id %s", smtpd_hostname(),
			mail_conf_str("mail_name"), proto, state->queue_id);
	cleanup_content(state->cleanup, REC_TYPE_NORM, vstr_str(v), vstr_len(v));
	(void) vstr_fmt(v, "\tfor <%s>; %s", state->rcpt->argv[0],
			mail_date(cleanup_arrival(state->cleanup)->tv_sec));
    } else {
	(void) vstr_fmt(v, "\tby %s (%s) with %s id %s;", smtpd_hostname(),
			mail_conf_str("mail_name"), proto, state->queue_id);
	cleanup_content(state->cleanup, REC_TYPE_NORM, vstr_str(v), vstr_len(v));
	(void) vstr_fmt(v, "\t%s", mail_date(cleanup_arrival(state->cleanup)->tv_sec));
    }
    cleanup_content(state->cleanup, REC_TYPE_NORM, vstr_str(v), vstr_len(v));
    vstr_free(v);
}

static int sp_data(SMTPD_STATE *state, char *args)
{
    const char *reject;

    if (state->bdat_active) {
	smtpd_reply(state, "503 5.5.1 Error: DATA after BDAT");
	return (-1);
    }
    if (state->sender == 0) {
	smtpd_reply(state, "503 5.5.1 Error: need RCPT command");
	return (-1);
    }
    if (state->rcpt_count == 0) {
	smtpd_reply(state, "554 5.5.1 Error: no valid recipients");
	return (-1);
    }
    if (*trim(args)) {
	smtpd_reply(state, "501 5.5.4 Syntax: DATA");
	return (-1);
    }
    if ((reject = smtpd_check_data(state)) != 0) {
	smtpd_reply(state, "%s", reject);
	return (-1);
    }
    sp_received(state);
    state->in_mode = SMTPD_IN_DATA;
    state->data_prev_crlf = 1;
    state->data_prev_cont = 0;
    state->act_size = 0;
    smtpd_reply(state, "354 End data with <CR><LF>.<CR><LF>");
    return (0);
}

/* Durable-commit completion: now, and only now, say 250. */
static void sp_committed(void *context, int err)
{
    SMTPD_STATE *state = context;
    extern void smtpd_release_if_dead(SMTPD_STATE *);

    state->waiting &= ~2;
    if (state->dead) {
	/* Client is gone: the message stays queued (it is durable). */
	if (state->cleanup) {
	    if (err)
		cleanup_abort(state->cleanup);
	    else
		cleanup_free(state->cleanup);
	    state->cleanup = 0;
	}
	smtpd_release_if_dead(state);
	return;
    }
    if (err) {
	cleanup_abort(state->cleanup);
	state->cleanup = 0;
	smtpd_reply(state, "451 4.3.0 Error: queue file write error");
	state->cmd_fail[state->bdat_active ? SMTPD_CMD_BDAT : SMTPD_CMD_DATA]++;
    } else {
	if (state->bdat_active)
	    smtpd_reply(state, "250 2.0.0 Ok: %ld bytes queued as %s", state->act_size,
			state->queue_id);
	else
	    smtpd_reply(state, "250 2.0.0 Ok: queued as %s", state->queue_id);
	cleanup_free(state->cleanup);
	state->cleanup = 0;
    }
    smtpd_reset(state);
    smtpd_resume(state);
}

/* End of DATA or the last BDAT chunk: finish the file, commit, then reply. */
static void sp_end_of_data(SMTPD_STATE *state)
{
    int     status;
    const char *reject;
    int     slot = state->bdat_active ? SMTPD_CMD_BDAT : SMTPD_CMD_DATA;

    state->in_mode = SMTPD_IN_CMD;
    if (state->cleanup == 0) {
	smtpd_reply(state, "451 4.3.0 Error: internal error");
	state->cmd_fail[slot]++;
	smtpd_reset(state);
	return;
    }
    if (state->data_err == 0 && (reject = smtpd_check_eod(state)) != 0) {
	smtpd_reply(state, "%s", reject);
	state->cmd_fail[slot]++;
	state->error_count++;
	smtpd_reset(state);
	return;
    }
    status = state->data_err | cleanup_finish(state->cleanup);
    if (status != CLEANUP_STAT_OK) {
	const char *text = cleanup_reply(state->cleanup, status);

	if (status & CLEANUP_STAT_SIZE)
	    msg_info("%s: reject: message size exceeds limit from %s; from=<%s>",
		     state->queue_id, state->namaddr, state->sender);
	smtpd_reply(state, "%s", text);
	state->cmd_fail[slot]++;
	state->error_count++;
	smtpd_reset(state);
	return;
    }
    state->junk_cmds = 0;
    smtpd_pause(state);
    state->waiting |= 2;
    {
	/* The directory that holds the new name (hashed incoming/ or hold/). */
	const char *path = cleanup_path(state->cleanup);
	const char *slash = strrchr(path, '/');
	char    dir[256];

	if (slash == 0 || (size_t) (slash - path) >= sizeof(dir))
	    safe_strlcpy(dir, "incoming", sizeof(dir));
	else
	    safe_strlcpy(dir, path, (size_t) (slash - path) + 1);
	qcommit_add(cleanup_fd(state->cleanup), dir, sp_committed, state);
    }
}

void    smtpd_data_line(SMTPD_STATE *state, const char *line, size_t len, int complete, int crlf)
{
    int     type = complete ? REC_TYPE_NORM : REC_TYPE_CONT;

    if (!state->data_prev_cont && state->data_prev_crlf && complete && crlf
	&& len == 1 && line[0] == '.') {
	sp_end_of_data(state);
	return;
    }
    if (!state->data_prev_cont && len > 0 && line[0] == '.') {
	line++;
	len--;
    }
    state->act_size += (long) len + (complete ? 2 : 0);
    if (state->data_err == 0) {
	if (sp_size_limit > 0 && state->act_size > sp_size_limit)
	    state->data_err = CLEANUP_STAT_SIZE;
	else
	    cleanup_content(state->cleanup, type, line, len);
    }
    state->data_prev_cont = !complete;
    if (complete)
	state->data_prev_crlf = crlf;
}

/* ---------------------------------------------------------------- BDAT */

static void sp_bdat_content(SMTPD_STATE *state, const char *data, size_t len)
{
    /* Split chunk bytes into lines: CRLF or bare LF end a line. */
    while (len > 0) {
	const char *nl = memchr(data, '\n', len);
	size_t  n = nl ? (size_t) (nl - data) : len;

	if (state->data_err == 0 && state->cleanup) {
	    if (vstr_append(state->bdat_line, data, n) < 0) {
		state->data_err = CLEANUP_STAT_SIZE;
	    } else if (nl) {
		size_t  l = vstr_len(state->bdat_line);

		if (l > 0 && vstr_str(state->bdat_line)[l - 1] == '\r')
		    l--;
		state->act_size += (long) l + 2;
		cleanup_content(state->cleanup, REC_TYPE_NORM, vstr_str(state->bdat_line), l);
		vstr_reset(state->bdat_line);
	    } else if ((long) vstr_len(state->bdat_line) >= mail_conf_int("line_length_limit")) {
		state->act_size += (long) vstr_len(state->bdat_line);
		cleanup_content(state->cleanup, REC_TYPE_CONT, vstr_str(state->bdat_line),
				vstr_len(state->bdat_line));
		vstr_reset(state->bdat_line);
	    }
	}
	if (nl == 0)
	    break;
	data = nl + 1;
	len -= n + 1;
    }
}

void    smtpd_bdat_bytes(SMTPD_STATE *state, const char *data, size_t len)
{
    state->bdat_left -= (long) len;
    if (state->data_err == 0 && sp_size_limit > 0
	&& state->act_size + (long) vstr_len(state->bdat_line) + (long) len > sp_size_limit)
	state->data_err = CLEANUP_STAT_SIZE;
    if (!state->bdat_nrcpt_err && state->data_err == 0)
	sp_bdat_content(state, data, len);
    if (state->bdat_left > 0)
	return;
    state->in_mode = SMTPD_IN_CMD;
    if (state->bdat_nrcpt_err) {
	smtpd_reply(state, "%s", state->sender ? "554 5.5.1 Error: no valid recipients"
		    : "503 5.5.1 Error: need RCPT command");
	state->cmd_fail[SMTPD_CMD_BDAT]++;
	state->error_count++;
	state->bdat_nrcpt_err = 0;
	if (state->sender)
	    state->act_size = 0;
	return;
    }
    if (state->bdat_last) {
	if (vstr_len(state->bdat_line) > 0 && state->data_err == 0 && state->cleanup) {
	    state->act_size += (long) vstr_len(state->bdat_line) + 2;
	    cleanup_content(state->cleanup, REC_TYPE_NORM, vstr_str(state->bdat_line),
			    vstr_len(state->bdat_line));
	    vstr_reset(state->bdat_line);
	}
	sp_end_of_data(state);
	return;
    }
    smtpd_reply(state, "250 2.0.0 Ok: %ld bytes", state->bdat_chunk);
}

static int sp_bdat(SMTPD_STATE *state, char *args)
{
    char   *count, *last;
    unsigned long n;

    count = mystrtok(&args, " \t");
    last = mystrtok(&args, " \t");
    if (count == 0 || !alldig(count) || parse_ulong(count, (unsigned long) 1 << 40, &n) < 0
	|| (last && strcasecmp(last, "LAST") != 0) || mystrtok(&args, " \t")) {
	msg_info("%s: BDAT syntax error from %s", state->queue_id, state->namaddr);
	smtpd_reply(state, "521 5.5.4 Syntax: BDAT count [LAST]");
	smtpd_close_after_reply(state);
	return (-1);
    }
    state->bdat_chunk = (long) n;
    state->bdat_left = (long) n;
    state->bdat_last = (last != 0);
    if (state->sender == 0 || state->rcpt_count == 0) {
	state->bdat_nrcpt_err = 1;
    } else if (!state->bdat_active) {
	const char *reject;

	if ((reject = smtpd_check_data(state)) != 0) {
	    state->bdat_nrcpt_err = 1;		/* consume, then reject */
	} else {
	    state->bdat_active = 1;
	    state->act_size = 0;
	    vstr_reset(state->bdat_line);
	    vstr_set_limit(state->bdat_line, (size_t) mail_conf_int("line_length_limit") + 2);
	    sp_received(state);
	}
    }
    if (n == 0) {
	state->bdat_left = 0;
	smtpd_bdat_bytes(state, "", 0);
	return (1);
    }
    state->in_mode = SMTPD_IN_BDAT;
    return (1);					/* reply comes later */
}

/* ---------------------------------------------------------------- misc */

static int sp_rset(SMTPD_STATE *state, char *args)
{
    if (*trim(args)) {
	smtpd_reply(state, "501 5.5.4 Syntax: RSET");
	return (-1);
    }
    smtpd_reset(state);
    smtpd_reply(state, "250 2.0.0 Ok");
    return (0);
}

static int sp_noop(SMTPD_STATE *state, char *args)
{
    smtpd_reply(state, "250 2.0.0 Ok");
    return (0);
}

static int sp_quit(SMTPD_STATE *state, char *args)
{
    smtpd_reply(state, "221 2.0.0 Bye");
    smtpd_close_after_reply(state);
    return (0);
}

static int sp_vrfy(SMTPD_STATE *state, char *args)
{
    char   *arg = trim(args), *addr;
    const char *reject;
    size_t  len;

    if (mail_conf_bool("disable_vrfy_command")) {
	smtpd_reply(state, "502 5.5.1 VRFY command is disabled");
	return (-1);
    }
    if (*arg == 0) {
	smtpd_reply(state, "501 5.5.4 Syntax: VRFY address [SMTPUTF8]");
	return (-1);
    }
    /* An optional trailing SMTPUTF8 keyword. */
    len = strlen(arg);
    if (len > 9 && strcasecmp(arg + len - 9, " SMTPUTF8") == 0)
	arg[len - 9] = 0;
    if (strpbrk(arg, " \t")) {
	smtpd_reply(state, "501 5.1.3 Bad recipient address syntax");
	return (-1);
    }
    addr = xstrdup(arg);
    if (*addr == '<') {
	size_t  l = strlen(addr);

	memmove(addr, addr + 1, l);
	if (l > 1 && addr[l - 2] == '>')
	    addr[l - 2] = 0;
    }
    if ((reject = smtpd_check_vrfy(state, addr)) != 0) {
	smtpd_reply(state, "%s", reject);
	free(addr);
	return (-1);
    }
    free(addr);
    smtpd_reply(state, "252 2.0.0 %s", arg);
    return (0);
}

static int sp_etrn(SMTPD_STATE *state, char *args)
{
    char   *arg = trim(args);
    const char *reject;
    int     ok;

    if (mail_conf_bool("smtpd_helo_required") && state->helo_name == 0) {
	smtpd_reply(state, "503 5.5.1 Error: send HELO/EHLO first");
	return (-1);
    }
    if (state->sender) {
	smtpd_reply(state, "503 Error: MAIL transaction in progress");
	return (-1);
    }
    if (*arg == 0 || strpbrk(arg, " \t")) {
	smtpd_reply(state, "500 Syntax: ETRN domain");
	return (-1);
    }
    if (*arg == '@' || *arg == '#')
	arg++;
    if ((reject = smtpd_check_etrn(state, arg)) != 0) {
	smtpd_reply(state, "%s", reject);
	return (-1);
    }
    reject = smtpd_etrn_flush(state, arg, &ok);
    smtpd_reply(state, "%s", reject);
    return (ok ? 0 : -1);
}

static const SMTPD_CMD sp_cmds[] = {
    {"HELO", SMTPD_CMD_HELO, CMD_FLAG_LIMIT, sp_helo},
    {"EHLO", SMTPD_CMD_EHLO, CMD_FLAG_LIMIT, sp_ehlo},
    {"MAIL", SMTPD_CMD_MAIL, 0, sp_mail},
    {"RCPT", SMTPD_CMD_RCPT, 0, sp_rcpt},
    {"DATA", SMTPD_CMD_DATA, 0, sp_data},
    {"BDAT", SMTPD_CMD_BDAT, 0, sp_bdat},
    {"RSET", SMTPD_CMD_RSET, CMD_FLAG_LIMIT, sp_rset},
    {"NOOP", SMTPD_CMD_NOOP, CMD_FLAG_LIMIT, sp_noop},
    {"VRFY", SMTPD_CMD_VRFY, CMD_FLAG_LIMIT, sp_vrfy},
    {"ETRN", SMTPD_CMD_ETRN, CMD_FLAG_LIMIT, sp_etrn},
    {"QUIT", SMTPD_CMD_QUIT, 0, sp_quit},
    {0},
};

void    smtpd_command(SMTPD_STATE *state, char *line, size_t len)
{
    char   *verb, *args;
    const SMTPD_CMD *cmd;
    int     rc;
    size_t  i;

    if (msg_verbose)
	msg_info("< %s: %s", state->namaddr, line);
    smtpd_check_save_command(state, line, len);
    if (state->error_count >= sp_hard_limit) {
	msg_info("too many errors after %s from %s", state->where, state->namaddr);
	smtpd_reply(state, "421 4.7.0 %s Error: too many errors", smtpd_hostname());
	smtpd_close_after_reply(state);
	return;
    }
    /* Split verb and arguments; NUL bytes end the line. */
    line[strnlen(line, len)] = 0;
    verb = line;
    while (*verb == ' ' || *verb == '\t')
	verb++;
    for (i = 0; verb[i] && verb[i] != ' ' && verb[i] != '\t'; i++)
	 /* void */ ;
    args = verb + i;
    if (*args)
	*args++ = 0;
    if (*verb == 0) {
	state->where = "UNKNOWN";
	state->cmd_total[SMTPD_CMD_UNKNOWN]++;
	state->cmd_fail[SMTPD_CMD_UNKNOWN]++;
	state->error_count++;
	smtpd_reply(state, "500 5.5.2 Error: bad syntax");
	goto sleep;
    }
    for (cmd = sp_cmds; cmd->name; cmd++)
	if (strcasecmp(cmd->name, verb) == 0)
	    break;
    if (cmd->name == 0) {
	state->where = "UNKNOWN";
	state->cmd_total[SMTPD_CMD_UNKNOWN]++;
	state->cmd_fail[SMTPD_CMD_UNKNOWN]++;
	state->error_count++;
	smtpd_reply(state, "500 5.5.2 Error: command not recognized");
	goto sleep;
    }
    state->where = cmd->name;
    if (state->access_denied && cmd->index != SMTPD_CMD_QUIT) {
	state->cmd_total[cmd->index]++;
	state->cmd_fail[cmd->index]++;
	state->error_count++;
	smtpd_reply(state, "503 5.7.0 Error: access denied for %s", state->namaddr);
	goto sleep;
    }
    if ((cmd->flags & CMD_FLAG_LIMIT) && state->junk_cmds++ > sp_junk_limit)
	state->error_count++;
    state->cmd_total[cmd->index]++;
    rc = cmd->fn(state, args);
    if (rc < 0) {
	state->cmd_fail[cmd->index]++;
	state->error_count++;
    }
    if (rc == 1)				/* BDAT: reply after the chunk */
	return;
sleep:
    /* Errors are punished by sleeping, as in Postfix. */
    if (!state->closing && sp_sleep > 0 && state->error_count >= sp_soft_limit
	&& vstr_len(state->reply) > 0 && (state->reply->data[0] == '4' || state->reply->data[0] == '5'))
	smtpd_sleep(state, sp_sleep);
}

/*
 * Input framing, shared by the socket reader (smtpd.c) and the fuzz
 * harness. smtpd_input_window() says how many buffered bytes the next
 * step may look at (make that many contiguous); smtpd_input_extent()
 * picks the bytes of the step from them: BDAT chunk bytes, or one line of
 * at most LIMIT bytes (*complete: it ends in LF; a longer line comes in
 * LIMIT-sized pieces). 0: wait for more input. smtpd_input_step() runs
 * the step; it calls DROP(state, n) once to remove the n bytes from the
 * caller's buffer: for a command line before the command runs, because
 * the pipelining checks look at what is still buffered.
 */
size_t  smtpd_input_window(SMTPD_STATE *state, size_t avail, long limit)
{
    size_t  max;

    if (state->in_mode == SMTPD_IN_BDAT)
	max = state->bdat_left > 65536 ? 65536 : (size_t) (state->bdat_left > 0 ? state->bdat_left : 0);
    else
	max = (size_t) limit + 1;
    return (avail < max ? avail : max);
}

size_t  smtpd_input_extent(SMTPD_STATE *state, const char *data, size_t len, long limit,
			           int *complete)
{
    const char *nl;

    *complete = 0;
    if (state->in_mode == SMTPD_IN_BDAT)
	return (len);
    if ((nl = memchr(data, '\n', len)) != 0) {
	*complete = 1;
	return ((size_t) (nl - data) + 1);
    }
    return ((long) len < limit ? 0 : (size_t) limit);
}

void    smtpd_input_step(SMTPD_STATE *state, const char *data, size_t take, int complete,
			         SMTPD_DROP_FN drop)
{
    size_t  len = take;
    int     crlf = 0;

    if (state->in_mode == SMTPD_IN_BDAT) {
	smtpd_bdat_bytes(state, data, take);
	drop(state, take);
	return;
    }
    if (complete) {
	len--;
	if (len > 0 && data[len - 1] == '\r') {
	    len--;
	    crlf = 1;
	}
    }
    if (state->in_mode != SMTPD_IN_CMD) {
	smtpd_data_line(state, data, len, complete, crlf);
	drop(state, take);
	return;
    }
    if (state->skip_line) {
	/* Rest of an over-long command line: discard. */
	state->skip_line = !complete;
	drop(state, take);
	return;
    }
    if (!complete)
	state->skip_line = 1;
    vstr_ncpy(state->line, data, len);
    drop(state, take);
    smtpd_command(state, vstr_str(state->line), vstr_len(state->line));
}

/*
 * A new session's state, as both the socket server (smtpd.c) and the fuzz
 * harness start it: input lines bounded by line_limit, replies by 4096
 * bytes, no queue file yet. The caller fills in the peer and the I/O.
 */
SMTPD_STATE *smtpd_state_alloc(int fd, long line_limit)
{
    SMTPD_STATE *state = xcalloc(1, sizeof(*state));

    state->fd = fd;
    state->line = vstr_alloc(256);
    vstr_set_limit(state->line, (size_t) line_limit + 2);
    state->reply = vstr_alloc(256);
    vstr_set_limit(state->reply, 4096);
    state->bdat_line = vstr_alloc(256);
    state->rcpt = argv_alloc(4);
    state->queue_id = "NOQUEUE";
    state->where = "CONNECT";
    state->protocol = "SMTP";
    state->data_prev_crlf = 1;
    return (state);
}

/* The end of smtpd_state_alloc's state (the caller closed the I/O). */
void    smtpd_state_free(SMTPD_STATE *state)
{
    smtpd_anvil_end(state);
    smtpd_reset(state);
    smtpd_check_done(state);
    argv_free(state->rcpt);
    vstr_free(state->line);
    vstr_free(state->reply);
    vstr_free(state->bdat_line);
    free(state->helo_name);
    free(state);
}
