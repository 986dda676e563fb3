/* smtpd - SMTP server main program, sessions and I/O; see smtpd.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "htable.h"
#include "mail_conf.h"
#include "mail_queue.h"
#include "mail_server.h"
#include "mem.h"
#include "msg.h"
#include "qcommit.h"
#include "dns_lookup.h"
#include "smtpd.h"
#include "smtpd_io.h"
#include "stringops.h"

#define SMTPD_INPUT_HIGH	(256 * 1024)	/* stop reading above this */
#define SMTPD_OUTPUT_MAX	(1024 * 1024)	/* client does not read replies */

static long smtpd_line_limit;
static long smtpd_timeout;

const char *smtpd_hostname(void)
{
    return (mail_conf_str("myhostname"));
}

static void smtpd_free(SMTPD_STATE *state)
{
    if (state->io) {
	char    junk[4096];
	int     n = 0;

	/*
	 * Graceful close: unread input would turn close(2) into an RST that
	 * can destroy our last reply at the client. Nothing unread (the
	 * usual case after QUIT): close sends the FIN. Else FIN first, then
	 * drop the input.
	 */
	if (recv(state->fd, junk, sizeof(junk), MSG_DONTWAIT) > 0) {
	    (void) shutdown(state->fd, SHUT_WR);
	    while (n++ < 64 && recv(state->fd, junk, sizeof(junk), MSG_DONTWAIT) > 0)
		 /* void */ ;
	}
	smtpd_io_free(state->io);		/* closes fd */
    }
    if (state->timer)
	event_free(state->timer);
    smtpd_state_free(state);
    mail_server_client_end();
}

/* Session end: log, free unless a durable-commit callback still holds it. */
static void smtpd_finish(SMTPD_STATE *state)
{
    if (state->dead)
	return;
    state->dead = 1;
    smtpd_log_disconnect(state);
    if (state->waiting & (2 | 4))		/* commit or name lookup in flight: */
	return;				/* freed by its callback */
    smtpd_free(state);
}

void    smtpd_release_if_dead(SMTPD_STATE *state);

void    smtpd_release_if_dead(SMTPD_STATE *state)
{
    if (state->dead)
	smtpd_free(state);
}

void    smtpd_reply(SMTPD_STATE *state, const char *fmt,...)
{
    va_list ap;
    struct evbuffer *out;

    if (state->dead || state->policy_pending)	/* policy_pending: reply held */
	return;
    va_start(ap, fmt);
    vstr_reset(state->reply);
    (void) vstr_vfmt_append(state->reply, fmt, ap);
    va_end(ap);
    if (msg_verbose)
	msg_info("> %s: %s", state->namaddr, vstr_str(state->reply));
    out = smtpd_io_output(state->io);
    if (evbuffer_get_length(out) > SMTPD_OUTPUT_MAX) {
	/* The client does not read: stop reading too; the write timeout ends it. */
	if (!state->closing)
	    msg_warn("%s: reply output exceeds %d bytes -- disconnecting", state->namaddr,
		     SMTPD_OUTPUT_MAX);
	state->closing = 1;
	smtpd_io_read_enable(state->io, SMTPD_IO_READ_STOP);
	return;
    }
    evbuffer_add(out, vstr_str(state->reply), vstr_len(state->reply));
    evbuffer_add(out, "\r\n", 2);
    smtpd_io_flush(state->io);			/* written at the end of this turn */
}

void    smtpd_close_after_reply(SMTPD_STATE *state)
{
    state->closing = 1;
    smtpd_io_read_enable(state->io, SMTPD_IO_READ_STOP);
    smtpd_io_flush(state->io);			/* then close, once drained */
}

static void smtpd_input(SMTPD_STATE *state);

void    smtpd_pause(SMTPD_STATE *state)
{
    state->waiting |= 1;
    smtpd_io_read_enable(state->io, SMTPD_IO_READ_PAUSE);
}

static void smtpd_kick(evutil_socket_t fd, short what, void *arg)
{
    SMTPD_STATE *state = arg;

    if (state->dead) {
	/* A commit or a name lookup in flight frees it (its callback). */
	if (!(state->waiting & (2 | 4)))
	    smtpd_free(state);
	return;
    }
    /*
     * End of an error sleep (a durable commit in flight keeps the pause).
     * Only a sleep ends here: the same timer also runs buffered input after
     * smtpd_resume(), and by then the session may be paused again for a
     * lookup (DNS, anvil) that must not be cut short.
     */
    if (state->sleeping && (state->waiting & 1) && !(state->waiting & 2)) {
	state->sleeping = 0;
	state->waiting &= ~1;
	if (!state->closing)
	    smtpd_io_read_enable(state->io, SMTPD_IO_READ_ON);
	smtpd_io_hold_output(state->io, 0);
    }
    smtpd_input(state);
}

void    smtpd_resume(SMTPD_STATE *state)
{
    struct timeval tv = {0, 0};

    state->waiting &= ~1;
    state->sleeping = 0;
    if (state->dead)
	return;
    if (!state->closing)
	smtpd_io_read_enable(state->io, SMTPD_IO_READ_ON);
    /* Process input that is already buffered, from the event loop. */
    evtimer_add(state->timer, &tv);
}

/*
 * Error punishment: hold the pending (error) reply and the input for
 * some seconds, as Postfix sleeps before it replies; other sessions go on.
 */
void    smtpd_sleep(SMTPD_STATE *state, long seconds)
{
    struct timeval tv = {seconds, 0};

    state->waiting |= 1;
    state->sleeping = 1;
    smtpd_io_read_enable(state->io, SMTPD_IO_READ_PAUSE);
    smtpd_io_hold_output(state->io, 1);
    evtimer_add(state->timer, &tv);
}

static void smtpd_drop_input(SMTPD_STATE *state, size_t n)
{
    evbuffer_drain(smtpd_io_input(state->io), n);
}

static void smtpd_input(SMTPD_STATE *state)
{
    struct evbuffer *in = smtpd_io_input(state->io);

    while (!state->waiting && !state->dead && !state->closing) {
	size_t  window = smtpd_input_window(state, evbuffer_get_length(in), smtpd_line_limit);
	const char *data;
	size_t  take;
	int     complete;

	if (window == 0)
	    break;
	data = (const char *) evbuffer_pullup(in, (ssize_t) window);
	if ((take = smtpd_input_extent(state, data, window, smtpd_line_limit, &complete)) == 0)
	    break;
	smtpd_input_step(state, data, take, complete, smtpd_drop_input);
    }
    if (!state->dead)
	smtpd_io_input_drained(state->io);	/* below the high-water mark again? */
}

static void smtpd_read_cb(void *arg)
{
    smtpd_input((SMTPD_STATE *) arg);
}

/* All output written (or none was queued). */
static void smtpd_write_cb(void *arg)
{
    SMTPD_STATE *state = arg;

    if (state->closing && evbuffer_get_length(smtpd_io_output(state->io)) == 0)
	smtpd_finish(state);
}

static void smtpd_event_cb(void *arg, int what)
{
    SMTPD_STATE *state = arg;

    if (state->dead)
	return;
    if (what & SMTPD_IO_TIMEOUT) {
	if (!state->timed_out) {
	    msg_info("timeout after %s from %s", state->where, state->namaddr);
	    if (state->in_mode != SMTPD_IN_CMD && state->cleanup) {
		cleanup_abort(state->cleanup);
		state->cleanup = 0;
	    }
	}
	/*
	 * The client does not take our output (a write timeout, or the 421
	 * after a read timeout did not drain within smtpd_timeout either):
	 * end the session now, or it would wait for the client forever.
	 */
	if ((what & SMTPD_IO_WRITING) || state->timed_out) {
	    state->timed_out = 1;
	    smtpd_finish(state);
	    return;
	}
	state->timed_out = 1;
	smtpd_reply(state, "421 4.4.2 %s Error: timeout exceeded", smtpd_hostname());
	smtpd_close_after_reply(state);
	if (evbuffer_get_length(smtpd_io_output(state->io)) == 0)
	    smtpd_finish(state);
	return;
    }
    if (what & (SMTPD_IO_EOF | SMTPD_IO_ERROR)) {
	if (!state->closing) {
	    if (state->in_mode == SMTPD_IN_DATA || state->in_mode == SMTPD_IN_BDAT)
		msg_info("lost connection after %s (%ld bytes) from %s", state->where,
			 state->act_size, state->namaddr);
	    else
		msg_info("lost connection after %s from %s", state->where, state->namaddr);
	}
	smtpd_finish(state);
    }
}

/*
 * Client name lookups (reverse, then forward-confirmed) run in the event
 * loop through the DNS library (dns_client_lookup: hosts file, then DNS;
 * postern_dns_servers) and are cached for a minute per address: a busy
 * client that reconnects for every message costs one lookup, not one per
 * connection.
 */
typedef struct {
    char    name[1025];
    char    reverse[1025];
    int     name_status;
    int     reverse_status;
    char   *warning;			/* logged again at each connect, as Postfix */
    time_t  expires;
} SMTPD_NAME_CACHE;

static void smtpd_name_cache_free(void *ptr)
{
    SMTPD_NAME_CACHE *ent = ptr;

    free(ent->warning);
    free(ent);
}

static HTABLE *smtpd_name_cache;

static void smtpd_name_lookup(SMTPD_STATE *state, struct sockaddr_storage *ss, socklen_t len)
{
    SMTPD_NAME_CACHE *ent;

    if (smtpd_name_cache == 0)
	smtpd_name_cache = htable_create(64);
    if ((ent = htable_find(smtpd_name_cache, state->addr)) != 0
	&& ent->expires > time((time_t *) 0)) {
	safe_strlcpy(state->name, ent->name, sizeof(state->name));
	safe_strlcpy(state->reverse_name, ent->reverse, sizeof(state->reverse_name));
	state->name_status = ent->name_status;
	state->reverse_status = ent->reverse_status;
	if (ent->warning)
	    msg_warn("%s", ent->warning);
	return;
    }
    state->lookup_pending = 1;		/* smtpd_accept starts it */
}

static void smtpd_name_store(SMTPD_STATE *state, const char *warning)
{
    SMTPD_NAME_CACHE *ent;

    if (smtpd_name_cache->used > 4096) {
	htable_free(smtpd_name_cache, smtpd_name_cache_free);
	smtpd_name_cache = htable_create(64);
    }
    if ((ent = htable_find(smtpd_name_cache, state->addr)) == 0) {
	ent = xcalloc(1, sizeof(*ent));
	htable_enter(smtpd_name_cache, state->addr, ent);
    }
    free(ent->warning);
    ent->warning = warning ? xstrdup(warning) : 0;
    safe_strlcpy(ent->name, state->name, sizeof(ent->name));
    safe_strlcpy(ent->reverse, state->reverse_name, sizeof(ent->reverse));
    ent->name_status = state->name_status;
    ent->reverse_status = state->reverse_status;
    /* Temporary failures are not kept. */
    ent->expires = time((time_t *) 0)
	+ ((state->name_status == 4 || state->reverse_status == 4) ? 0 : 60);
}

static void smtpd_peer(SMTPD_STATE *state)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    safe_strlcpy(state->name, "unknown", sizeof(state->name));
    safe_strlcpy(state->reverse_name, "unknown", sizeof(state->reverse_name));
    state->name_status = state->reverse_status = 5;
    safe_strlcpy(state->addr, "unknown", sizeof(state->addr));
    if (getpeername(state->fd, (struct sockaddr *) &ss, &len) == 0) {
	if (ss.ss_family == AF_UNIX) {
	    safe_strlcpy(state->name, "localhost", sizeof(state->name));
	    safe_strlcpy(state->reverse_name, "localhost", sizeof(state->reverse_name));
	    state->name_status = state->reverse_status = 2;
	    safe_strlcpy(state->addr, "127.0.0.1", sizeof(state->addr));
	} else {
	    (void) getnameinfo((struct sockaddr *) &ss, len, state->addr, sizeof(state->addr),
			       state->port, sizeof(state->port), NI_NUMERICHOST | NI_NUMERICSERV);
	    /* IPv4-mapped IPv6: show the IPv4 form, as Postfix does. */
	    if (strncmp(state->addr, "::ffff:", 7) == 0 && strchr(state->addr + 7, '.'))
		memmove(state->addr, state->addr + 7, strlen(state->addr + 7) + 1);
	    if (mail_conf_bool("smtpd_peername_lookup"))
		smtpd_name_lookup(state, &ss, len);	/* cache hit, or lookup_pending */
	}
    }
    if (strchr(state->addr, ':'))
	(void) snprintf(state->rfc_addr, sizeof(state->rfc_addr), "IPv6:%s", state->addr);
    else
	safe_strlcpy(state->rfc_addr, state->addr, sizeof(state->rfc_addr));
    len = sizeof(ss);
    if (getsockname(state->fd, (struct sockaddr *) &ss, &len) == 0 && ss.ss_family != AF_UNIX)
	(void) getnameinfo((struct sockaddr *) &ss, len, state->server_addr,
			   sizeof(state->server_addr), 0, 0, NI_NUMERICHOST);
    (void) snprintf(state->namaddr, sizeof(state->namaddr), "%s[%s]", state->name, state->addr);
}

static int smtpd_connected(SMTPD_STATE *);

static void smtpd_names_done(const char *name, int name_status, const char *reverse,
			             int reverse_status, const char *warning, void *context)
{
    SMTPD_STATE *state = context;

    if (warning)
	msg_warn("%s", warning);

    state->waiting &= ~4;
    state->lookup_pending = 0;
    if (state->dead) {			/* gone while we looked: free it now */
	smtpd_release_if_dead(state);
	return;
    }
    safe_strlcpy(state->name, name, sizeof(state->name));
    safe_strlcpy(state->reverse_name, reverse, sizeof(state->reverse_name));
    state->name_status = name_status;
    state->reverse_status = reverse_status;
    (void) snprintf(state->namaddr, sizeof(state->namaddr), "%s[%s]", state->name, state->addr);
    smtpd_name_store(state, warning);
    if (smtpd_connected(state) == 0)
	smtpd_resume(state);
}

static void smtpd_accept(int fd, const char *service)
{
    SMTPD_STATE *state;
    int     on = 1;
    size_t  high;

    mail_server_client_begin();
    state = smtpd_state_alloc(fd, smtpd_line_limit);
    (void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
    smtpd_peer(state);
    /*
     * The read-ahead mark must lie above line_length_limit: with a larger
     * limit, a line without its newline would fill the buffer, stop the
     * reading (and with it the read timeout) and stall the session.
     */
    high = SMTPD_INPUT_HIGH;
    if ((size_t) smtpd_line_limit + SMTPD_IO_READ_MAX > high)
	high = (size_t) smtpd_line_limit + SMTPD_IO_READ_MAX;
    state->io = smtpd_io_create(mail_server_base(), fd, smtpd_timeout, high,
				smtpd_read_cb, smtpd_write_cb, smtpd_event_cb, state);
    state->timer = evtimer_new(mail_server_base(), smtpd_kick, state);
    smtpd_io_read_enable(state->io, SMTPD_IO_READ_ON);
    state->service = service;
    if (state->lookup_pending) {
	/* Greet when the client's names are known; input waits. */
	smtpd_pause(state);
	state->waiting |= 4;
	dns_client_lookup(mail_server_base(), state->addr, smtpd_names_done, state);
	return;
    }
    (void) smtpd_connected(state);
}

/* The client's names are known: log the connection, check limits, greet. */
static int smtpd_connected(SMTPD_STATE *state)
{
    msg_info("connect from %s", state->namaddr);
    if (smtpd_anvil_connect(state))
	return (1);			/* greeted when anvil answers */
    smtpd_greet(state);
    return (state->policy_pending);	/* greeted when DNS answers */
}

static void smtpd_post_init(const char *service, int argc, char **argv)
{
    mail_queue_chdir();
    smtpd_line_limit = mail_conf_int("line_length_limit");
    if (smtpd_line_limit < 512)
	smtpd_line_limit = 512;
    smtpd_timeout = mail_conf_time("smtpd_timeout");
    smtpd_anvil_init();
    qcommit_init(mail_server_base(), 1);
    smtpd_check_init();
    smtpd_proto_init();
}

int     main(int argc, char **argv)
{
    static const MAIL_SERVER_CB cb = {
	.post_init = smtpd_post_init,
	.on_accept = smtpd_accept,
	.max_clients = 32,			/* then master starts another smtpd */
	.idle_exit = 1,
    };

    mail_server_main(argc, argv, &cb);
}
