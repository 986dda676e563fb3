/*
 * smtpd_anvil - per-client limits counted by the anvil service, so that
 * they hold across all smtpd processes (Postfix's smtpd does the same):
 *
 *	smtpd_client_connection_count_limit, smtpd_client_connection_rate_limit
 *	    at connect: "421 4.7.0 HOST Error: too many connections from ADDR"
 *	smtpd_client_message_rate_limit (MAIL): "450 4.7.1 Error: too much
 *	    mail from ADDR"
 *	smtpd_client_recipient_rate_limit (RCPT): "450 4.7.1 Error: too many
 *	    recipients from ADDR"
 *
 * Clients matched by smtpd_client_event_limit_exceptions (default
 * $mynetworks) cost nothing: anvil is not asked. Others cost one anvil
 * round trip at connect (the reply is held, other sessions go on) and one
 * message at disconnect; the rate checks one round trip per MAIL or RCPT
 * while their limit is set. Stand-alone smtpd (-S) has no anvil. When
 * anvil cannot be reached, smtpd warns and goes on without limits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "anvil_clnt.h"
#include "mail_conf.h"
#include "mail_server.h"
#include "mem.h"
#include "msg.h"
#include "smtpd.h"
#include "stringops.h"

static int sa_enabled;
static long sa_cconn_limit;
static long sa_crate_limit;
static long sa_cmail_limit;
static long sa_crcpt_limit;

/* state->anvil bits */
#define SA_CHECKED	1		/* exemption decided */
#define SA_EXEMPT	2
#define SA_CONNECTED	4		/* anvil counts this connection */
#define SA_PENDING	8		/* a reply from anvil is awaited */
#define SA_ANSWER	16		/* anvil_rate holds an answer for the re-run */
#define SA_CONNECTING	32		/* the pending request is the connect */

void    smtpd_anvil_init(void)
{
    sa_cconn_limit = mail_conf_int("smtpd_client_connection_count_limit");
    sa_crate_limit = mail_conf_int("smtpd_client_connection_rate_limit");
    sa_cmail_limit = mail_conf_int("smtpd_client_message_rate_limit");
    sa_crcpt_limit = mail_conf_int("smtpd_client_recipient_rate_limit");
    sa_enabled = !mail_server_standalone()
	&& (sa_cconn_limit > 0 || sa_crate_limit > 0 || sa_cmail_limit > 0
	    || sa_crcpt_limit > 0
	    || mail_conf_int("smtpd_client_new_tls_session_rate_limit") > 0
	    || mail_conf_int("smtpd_client_auth_rate_limit") > 0);
    if (sa_enabled)
	anvil_clnt_init(mail_server_base(), "private/anvil");
    /* Postfix parses the list at start-up whatever the limits. */
    if (!mail_server_standalone()) {
	smtpd_client_list_init("smtpd_authorized_xclient_hosts");
	smtpd_client_list_init("smtpd_client_event_limit_exceptions");
    }
}

/*
 * smtpd_client_event_limit_exceptions is a Postfix match list (names,
 * addresses, networks, /file, type:table, !negation; see pol_match.h). As
 * in Postfix, a client whose lookup fails (a table error, a bad net/mask)
 * is not exempt, and a client without an address ("unknown") is. Postfix
 * also exempts the clients of smtpd_authorized_xclient_hosts (checked with
 * Postfix 3.7), and so does postern, although it has no XCLIENT command.
 */
static int sa_exempt(SMTPD_STATE *state)
{
    if (!(state->anvil & SA_CHECKED)) {
	state->anvil |= SA_CHECKED;
	if (strcmp(state->addr, "unknown") == 0
	    || smtpd_client_match_list(state, "smtpd_authorized_xclient_hosts") > 0
	    || smtpd_client_match_list(state, "smtpd_client_event_limit_exceptions") > 0)
	    state->anvil |= SA_EXEMPT;
    }
    return (state->anvil & SA_EXEMPT);
}

static void sa_connect_done(int status, int count, int rate, void *context)
{
    SMTPD_STATE *state = context;

    state->anvil &= ~(SA_PENDING | SA_CONNECTING);
    if (status == ANVIL_STAT_OK)
	state->anvil |= SA_CONNECTED;
    if (state->dead)
	return;
    if (status == ANVIL_STAT_OK) {
	if (sa_cconn_limit > 0 && count > sa_cconn_limit) {
	    msg_warn("Connection concurrency limit exceeded: %d from %s for service %s",
		     count, state->namaddr, state->service);
	    smtpd_reply(state, "421 4.7.0 %s Error: too many connections from %s",
			smtpd_hostname(), state->addr);
	    smtpd_close_after_reply(state);
	    return;
	}
	if (sa_crate_limit > 0 && rate > sa_crate_limit) {
	    msg_warn("Connection rate limit exceeded: %d from %s for service %s",
		     rate, state->namaddr, state->service);
	    smtpd_reply(state, "421 4.7.0 %s Error: too many connections from %s",
			smtpd_hostname(), state->addr);
	    smtpd_close_after_reply(state);
	    return;
	}
    }
    smtpd_greet(state);
    if (!state->policy_pending)
	smtpd_resume(state);
}

/* At connect: 1 when anvil is asked (the greeting follows its answer). */
int     smtpd_anvil_connect(SMTPD_STATE *state)
{
    if (!sa_enabled || sa_exempt(state))
	return (0);
    state->anvil |= SA_PENDING | SA_CONNECTING;
    smtpd_pause(state);
    anvil_clnt_connect(state->service, state->addr, sa_connect_done, state);
    return (1);
}

/* Session end. */
void    smtpd_anvil_end(SMTPD_STATE *state)
{
    if (state->anvil & SA_PENDING)
	anvil_clnt_cancel(state);
    /* A connect still in flight is counted by anvil too: undo it (in order). */
    if (state->anvil & (SA_CONNECTED | SA_CONNECTING))
	anvil_clnt_disconnect(state->service, state->addr);
    state->anvil = 0;
}

static void sa_rate_done(int status, int count, int rate, void *context)
{
    SMTPD_STATE *state = context;

    state->anvil &= ~SA_PENDING;
    state->anvil |= SA_ANSWER;
    state->anvil_rate = status == ANVIL_STAT_OK ? rate : 0;
    smtpd_check_rerun(state);
}

/*
 * MAIL or RCPT: NULL (go on), smtpd_check_deferred (anvil asked: the
 * command runs again with the answer), or the reject reply.
 */
static const char *sa_rate(SMTPD_STATE *state, const char *request, long limit)
{
    if (!sa_enabled || limit <= 0 || sa_exempt(state))
	return (0);
    if (state->anvil & SA_ANSWER) {
	state->anvil &= ~SA_ANSWER;
	if (state->anvil_rate <= limit)
	    return (0);
	return (request);
    }
    state->anvil |= SA_PENDING;
    state->policy_pending = 1;
    smtpd_pause(state);
    anvil_clnt_rate(request, state->service, state->addr, sa_rate_done, state);
    return (smtpd_check_deferred);
}

const char *smtpd_anvil_mail(SMTPD_STATE *state)
{
    static char reply[200];
    const char *r = sa_rate(state, "message", sa_cmail_limit);

    if (r == 0 || r == smtpd_check_deferred)
	return (r);
    msg_warn("Message delivery request rate limit exceeded: %d from %s for service %s",
	     state->anvil_rate, state->namaddr, state->service);
    (void) snprintf(reply, sizeof(reply), "450 4.7.1 Error: too much mail from %s",
		    state->addr);
    return (reply);
}

const char *smtpd_anvil_rcpt(SMTPD_STATE *state)
{
    static char reply[200];
    const char *r = sa_rate(state, "recipient", sa_crcpt_limit);

    if (r == 0 || r == smtpd_check_deferred)
	return (r);
    msg_warn("Recipient address rate limit exceeded: %d from %s for service %s",
	     state->anvil_rate, state->namaddr, state->service);
    (void) snprintf(reply, sizeof(reply), "450 4.7.1 Error: too many recipients from %s",
		    state->addr);
    return (reply);
}
