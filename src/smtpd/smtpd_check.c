/*
 * smtpd_check - policy hooks, one per SMTP stage; see smtpd.h.
 *
 * The restriction lists are evaluated by the policy engine
 * (src/global/smtpd_policy.[ch], docs/policy.md): client, helo, sender,
 * relay, recipient, data, end-of-data and etrn restrictions with
 * smtpd_delay_reject, access tables, DNS checks and Postfix's reply texts
 * and reject log lines, including the implicit recipient validation
 * (local_recipient_maps & co., smtpd_reject_unlisted_recipient). This file
 * adapts the session to the engine.
 *
 * DNS: the engine's lookups run in the event loop. When a check needs an
 * answer, the hook returns smtpd_check_deferred: the command's reply is
 * held (smtpd_reply ignores it), input is paused, and when the answers are
 * in, the command is run again from the saved line (counters restored).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "argv.h"
#include "dict.h"
#include "htable.h"
#include "mail_addr_find.h"
#include "resolve_class.h"
#include "maps.h"
#include "mail_conf.h"
#include "mail_server.h"
#include <event2/buffer.h>
#include "mem.h"
#include "msg.h"
#include "smtpd.h"
#include "smtpd_io.h"
#include "rec_type.h"
#include "pol_match.h"
#include "smtpd_policy.h"
#include "cleanup_policy.h"
#include "stringops.h"

static ARGV *sc_if_addrs;			/* local interface addresses */

/* ---------------------------------------------------------------- addresses */

/*
 * A name/address list parameter (mynetworks, smtpd_client_event_limit_
 * exceptions) with Postfix's match-list rules (pol_match.h): 1 when the
 * client matches, 0 when not, -1 on a table or pattern error (logged).
 * Lists are parsed once per process, as Postfix does, and again only when
 * the parameter's value changes.
 */
int     smtpd_client_match_list(SMTPD_STATE *state, const char *list_param)
{
    return (pol_match_list_match(pol_match_list_cached(list_param, POL_MATCH_NAME | POL_MATCH_ADDR),
				 state->name, state->addr));
}

/* Parse a list at process start, so that its errors show up then. */
void    smtpd_client_list_init(const char *list_param)
{
    (void) pol_match_list_cached(list_param, POL_MATCH_NAME | POL_MATCH_ADDR);
}

static int sc_is_if_addr(const char *addr)
{
    for (size_t i = 0; sc_if_addrs && i < sc_if_addrs->argc; i++)
	if (strcmp(sc_if_addrs->argv[i], addr) == 0)
	    return (1);
    return (0);
}

/* ---------------------------------------------------------------- domains */

/*
 * mydestination, or [address] of inet_interfaces/proxy_interfaces: the
 * address-class decision shared with the policy engine and qmgr
 * (resolve_class.c).
 */
int     smtpd_is_local_domain(const char *domain)
{
    char    buf[300];
    size_t  len;

    safe_strlcpy(buf, domain, sizeof(buf));
    len = strlen(buf);
    if (len > 0 && buf[len - 1] == '.')
	buf[--len] = 0;
    if (len == 0)
	return (0);
    return ((resolve_class(buf) & RESOLVE_CLASS_LOCAL) != 0);
}

/* ---------------------------------------------------------------- hooks */

void    smtpd_check_init(void)
{
    /* Address rewriting and content checks in the cleanup library. */
    cleanup_policy_init();
    if (smtpd_policy_relay_check() < 0)
	msg_fatal("in parameter smtpd_relay_restrictions or smtpd_recipient_restrictions, "
		  "specify at least one working instance of: reject_unauth_destination, "
		  "defer_unauth_destination, reject, defer, defer_if_permit or check_relay_domains");
    /* Unknown restriction names: like Postfix, warn and 451 when used. */
    struct ifaddrs *ifa, *i;

    mail_addr_set_local_fn(smtpd_is_local_domain);
    /* Postfix reads mynetworks at start-up: its errors show then. */
    smtpd_client_list_init("mynetworks");
    /* ... and opens the restriction tables: open errors too. */
    smtpd_policy_open_tables();

    sc_if_addrs = argv_alloc(8);
    if (getifaddrs(&ifa) == 0) {
	for (i = ifa; i; i = i->ifa_next) {
	    char    buf[64];

	    if (i->ifa_addr == 0)
		continue;
	    if (i->ifa_addr->sa_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *) i->ifa_addr)->sin_addr, buf, sizeof(buf));
	    else if (i->ifa_addr->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *) i->ifa_addr)->sin6_addr, buf, sizeof(buf));
	    else
		continue;
	    argv_add(sc_if_addrs, buf);
	}
	freeifaddrs(ifa);
    }
}

static int sc_hdr_rewrite_client(SMTPD_STATE *state)
{
    char   *copy = xstrdup(mail_conf_str("local_header_rewrite_clients"));
    char   *bp = copy, *tok;
    int     found = 0;

    while (!found && (tok = mystrtok(&bp, CHARS_COMMA_SP)) != 0) {
	if (strcmp(tok, "permit_inet_interfaces") == 0)
	    found = sc_is_if_addr(state->addr);
	else if (strcmp(tok, "permit_mynetworks") == 0)
	    found = state->client_local;
	else if (strcmp(tok, "static:all") == 0)
	    found = 1;
    }
    free(copy);
    return (found);
}

/* ---------------------------------------------------------------- engine */

const char smtpd_check_deferred[] = "";

typedef struct SC_SESSION {
    SMTPD_POLICY *policy;
    VSTR   *saved_line;			/* command being evaluated */
    int     saved_total[SMTPD_CMD_COUNT];
    int     saved_fail[SMTPD_CMD_COUNT];
    int     saved_errors;
    int     saved_junk;
    int     greeting;			/* the pending check is the greeting */
    struct event *sleep_timer;		/* "sleep N": reply and input held */
    SMTPD_STATE *state;
} SC_SESSION;

static void sc_dns_done(SMTPD_POLICY *p, void *context);

static SC_SESSION *sc_session(SMTPD_STATE *state)
{
    SC_SESSION *sc = state->policy;

    if (sc == 0) {
	sc = xcalloc(1, sizeof(*sc));
	sc->policy = smtpd_policy_create();
	sc->saved_line = vstr_alloc(256);
	sc->policy->event_base = mail_server_base();
	sc->policy->dns_done = sc_dns_done;
	sc->policy->dns_done_context = state;
	state->policy = sc;
    }
    return (sc);
}

/* Keep a copy of each command line, in case its check must wait for DNS. */
void    smtpd_check_save_command(SMTPD_STATE *state, const char *line, size_t len)
{
    SC_SESSION *sc = sc_session(state);

    vstr_ncpy(sc->saved_line, line, len);
    memcpy(sc->saved_total, state->cmd_total, sizeof(sc->saved_total));
    memcpy(sc->saved_fail, state->cmd_fail, sizeof(sc->saved_fail));
    sc->saved_errors = state->error_count;
    sc->saved_junk = state->junk_cmds;
}

/* DNS answers are in: run the held command (or greeting) again. */
static void sc_dns_done(SMTPD_POLICY *p, void *context)
{
    SMTPD_STATE *state = context;
    SC_SESSION *sc = state->policy;
    VSTR   *line;

    state->policy_pending = 0;
    if (state->dead || state->closing) {
	smtpd_resume(state);
	return;
    }
    if (sc->greeting) {
	sc->greeting = 0;
	smtpd_greet(state);
    } else {
	memcpy(state->cmd_total, sc->saved_total, sizeof(sc->saved_total));
	memcpy(state->cmd_fail, sc->saved_fail, sizeof(sc->saved_fail));
	state->error_count = sc->saved_errors;
	state->junk_cmds = sc->saved_junk;
	line = vstr_alloc(vstr_len(sc->saved_line) + 1);
	vstr_ncpy(line, vstr_str(sc->saved_line), vstr_len(sc->saved_line));
	smtpd_command(state, vstr_str(line), vstr_len(line));
	vstr_free(line);
    }
    if (!state->policy_pending)
	smtpd_resume(state);
}

/* An answer the held command waited for (anvil) is in: run it again. */
void    smtpd_check_rerun(SMTPD_STATE *state)
{
    sc_dns_done(0, state);
}

void    smtpd_check_done(SMTPD_STATE *state)
{
    SC_SESSION *sc = state->policy;

    if (sc == 0)
	return;
    if (sc->sleep_timer)
	event_free(sc->sleep_timer);
    smtpd_policy_release(sc->policy);
    vstr_free(sc->saved_line);
    free(sc);
    state->policy = 0;
}

/* Copy what the session knows into the engine's view. */
static SMTPD_POLICY *sc_sync(SMTPD_STATE *state)
{
    SMTPD_POLICY *p = sc_session(state)->policy;

    if (strcmp(p->client_addr, state->addr) != 0 || strcmp(p->client_name, state->name) != 0) {
	smtpd_policy_set(&p->client_addr, state->addr);
	smtpd_policy_set(&p->client_name, state->name);
	smtpd_policy_set(&p->reverse_name, state->reverse_name);
	smtpd_policy_set(&p->client_port, state->port);
	p->client_name_status = state->name_status;
	p->reverse_name_status = state->reverse_status;
    }
    smtpd_policy_set(&p->helo, state->helo_name);
    smtpd_policy_set(&p->protocol, state->protocol);
    if (state->sender == 0)
	smtpd_policy_set(&p->sender, 0);
    p->queue_id = state->queue_id;
    p->rcpt_count = state->rcpt_count;
    /* reject_unauth_pipelining: more commands already sent, without ESMTP
     * (once seen, it sticks for the session, as in Postfix). */
    if (state->io && evbuffer_get_length(smtpd_io_input(state->io)) > 0
	&& strcmp(state->protocol, "ESMTP") != 0)
	p->pipelining_violation = 1;
    return (p);
}

/* "sleep N" is over: send the held reply, read on. */
static void sc_sleep_done(evutil_socket_t fd, short what, void *arg)
{
    SMTPD_STATE *state = arg;

    if (state->dead)
	return;
    smtpd_io_hold_output(state->io, 0);
    smtpd_resume(state);
}

/* Common ending: pending, 421 (close), plain reply, or accept. */
static const char *sc_result(SMTPD_STATE *state, const char *reply)
{
    SC_SESSION *sc = sc_session(state);

    if (reply == SMTPD_POLICY_PENDING) {
	state->policy_pending = 1;
	smtpd_pause(state);
	return (smtpd_check_deferred);
    }
    if (sc->policy->sleep_seconds > 0 && state->io) {
	/* "sleep N": this command's reply leaves N seconds from now. */
	struct timeval tv = {sc->policy->sleep_seconds, 0};

	if (sc->sleep_timer == 0)
	    sc->sleep_timer = evtimer_new(mail_server_base(), sc_sleep_done, state);
	smtpd_pause(state);
	smtpd_io_hold_output(state->io, 1);
	evtimer_add(sc->sleep_timer, &tv);
	sc->policy->sleep_seconds = 0;
    }
    if (reply && strncmp(reply, "421", 3) == 0)
	smtpd_close_after_reply(state);
    return (reply);
}

const char *smtpd_check_client(SMTPD_STATE *state)
{
    SMTPD_POLICY *p;
    const char *r;

    state->client_local = smtpd_client_match_list(state, "mynetworks") > 0;
    state->client_hdr_local = sc_hdr_rewrite_client(state);
    p = sc_sync(state);
    r = sc_result(state, smtpd_policy_client(p));
    if (r == smtpd_check_deferred)
	sc_session(state)->greeting = 1;
    return (r);
}

const char *smtpd_check_helo(SMTPD_STATE *state, const char *helo)
{
    SMTPD_POLICY *p = sc_sync(state);

    smtpd_policy_set(&p->protocol, strcmp(state->where, "EHLO") == 0 ? "ESMTP" : "SMTP");
    return (sc_result(state, smtpd_policy_helo(p, helo)));
}

const char *smtpd_check_mail(SMTPD_STATE *state, const char *sender)
{
    SMTPD_POLICY *p = sc_sync(state);
    char   *addr = smtpd_policy_addr_internal(sender);
    const char *r;

    if ((r = smtpd_anvil_mail(state)) != 0) {
	free(addr);
	return (r);
    }
    smtpd_policy_reset_transaction(p);
    r = smtpd_policy_mail(p, addr);
    free(addr);
    return (sc_result(state, r));
}

/* Actions for the message (HOLD, DISCARD, ...) wait in the engine for cleanup. */
SMTPD_POLICY *smtpd_check_policy(SMTPD_STATE *state)
{
    return (state->policy ? ((SC_SESSION *) state->policy)->policy : 0);
}

const char *smtpd_check_rcpt(SMTPD_STATE *state, const char *rcpt)
{
    SMTPD_POLICY *p = sc_sync(state);
    char   *addr = smtpd_policy_addr_internal(rcpt);
    char   *snd = smtpd_policy_addr_internal(state->sender ? state->sender : "");
    const char *r;

    if ((r = smtpd_anvil_rcpt(state)) != 0) {
	free(addr);
	free(snd);
	return (r);
    }
    smtpd_policy_set(&p->sender, snd);
    /* The engine also does the implicit local_recipient_maps check. */
    r = smtpd_policy_rcpt(p, addr);
    free(addr);
    free(snd);
    return (sc_result(state, r));
}

const char *smtpd_check_vrfy(SMTPD_STATE *state, const char *addr)
{
    SMTPD_POLICY *p = sc_sync(state);
    char   *a = smtpd_policy_addr_internal(addr);
    const char *r;

    r = smtpd_policy_vrfy(p, a);
    free(a);
    return (sc_result(state, r));
}

/* DATA and end-of-data: Postfix logs to=<> only for a single recipient. */
static SMTPD_POLICY *sc_sync_data(SMTPD_STATE *state)
{
    SMTPD_POLICY *p = sc_sync(state);
    char   *snd = smtpd_policy_addr_internal(state->sender ? state->sender : "");
    char   *rcpt = state->rcpt_count == 1 && state->rcpt->argc > 0
	? smtpd_policy_addr_internal(state->rcpt->argv[0]) : 0;

    smtpd_policy_set(&p->sender, snd);
    smtpd_policy_set(&p->recipient, rcpt);
    free(snd);
    free(rcpt);
    return (p);
}

const char *smtpd_check_data(SMTPD_STATE *state)
{
    SMTPD_POLICY *p = sc_sync_data(state);
    const char *r;

    /* Message content sent before "354": always a violation. */
    if (state->io && evbuffer_get_length(smtpd_io_input(state->io)) > 0)
	p->pipelining_violation = 1;
    r = sc_result(state, smtpd_policy_data(p));
    /* PREPEND from access tables: headers before our Received: header. */
    if (r == 0 && p->prepend && state->cleanup)
	for (size_t i = 0; i < p->prepend->argc; i++)
	    cleanup_content(state->cleanup, REC_TYPE_NORM, p->prepend->argv[i],
			    strlen(p->prepend->argv[i]));
    return (r);
}

/* HOLD, DISCARD, REDIRECT, FILTER from access tables act on the message. */
static void sc_message_actions(SMTPD_STATE *state, SMTPD_POLICY *p)
{
    if (state->cleanup == 0)
	return;
    if (p->action_flags & SMTPD_ACT_HOLD)
	cleanup_hold(state->cleanup);
    if (p->action_flags & SMTPD_ACT_DISCARD)
	cleanup_discard(state->cleanup);
    if (p->redirect)
	cleanup_policy_redirect(state->cleanup, p->redirect);
    if (p->filter)
	cleanup_policy_filter(state->cleanup, p->filter);
}

const char *smtpd_check_eod(SMTPD_STATE *state)
{
    SMTPD_POLICY *p = sc_sync_data(state);
    const char *r;

    /* Not a command that can be run again: DNS lookups here are synchronous. */
    p->event_base = 0;
    r = smtpd_policy_eod(p);
    p->event_base = mail_server_base();
    r = sc_result(state, r);
    if (r == 0)
	sc_message_actions(state, p);
    return (r);
}

const char *smtpd_check_etrn(SMTPD_STATE *state, const char *domain)
{
    return (sc_result(state, smtpd_policy_etrn(sc_sync(state), domain)));
}
