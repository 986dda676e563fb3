/*
 * anvil_clnt - asynchronous client of the anvil service (src/anvil/),
 * for smtpd's event loop.
 *
 * One long-lived stream to $queue_directory/private/anvil per process
 * (opened on first use, again after an error); requests are pipelined and
 * answered in order. Every callback runs from the event loop, never from
 * inside the request call. When anvil cannot be reached the callbacks get
 * ANVIL_STAT_FAIL and Postfix's warnings are logged ("connect to
 * private/anvil: ...", "problem talking to server private/anvil: ...");
 * callers then go on without limits, as Postfix's smtpd does. A request
 * unanswered for 10 seconds (anvil hangs) fails the same way ("problem
 * talking to server private/anvil: Connection timed out").
 *
 * The ident of a client is "SERVICE:ADDR", as in Postfix's statistics.
 */
#ifndef POSTERN_ANVIL_CLNT_H
#define POSTERN_ANVIL_CLNT_H

#include <event2/event.h>

#define ANVIL_STAT_OK	0
#define ANVIL_STAT_FAIL	(-1)

/* count is 0 except for connect. */
typedef void (*ANVIL_CLNT_CB) (int status, int count, int rate, void *context);

extern void anvil_clnt_init(struct event_base *, const char *path);
extern void anvil_clnt_connect(const char *service, const char *addr, ANVIL_CLNT_CB, void *);
extern void anvil_clnt_disconnect(const char *service, const char *addr);
/* request: "message", "recipient", "newtls", "newtls_report", "auth". */
extern void anvil_clnt_rate(const char *request, const char *service, const char *addr,
			            ANVIL_CLNT_CB, void *);
/* Forget the callbacks of context (its owner goes away). */
extern void anvil_clnt_cancel(void *context);

#endif
