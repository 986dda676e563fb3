/*
 * smtpd - the SMTP server: one event-driven process serves many sessions.
 *
 * smtpd.c        process setup, sessions, line reading with limits,
 *                timers, logging
 * smtpd_io.c     the client byte stream: few system calls per command
 *                (one read per readiness, replies written directly at the
 *                end of the loop turn); the place where TLS will sit
 * smtpd_proto.c  the SMTP commands and the message transaction
 * smtpd_anvil.c  client connection/rate limits through the anvil service
 * smtpd_etrn.c   ETRN: fast_flush_domains, deferred mail made due
 * smtpd_check.c  the policy hooks, one per stage (client, helo, sender,
 *                recipient, data, end-of-data, etrn): each returns NULL to
 *                accept or a reply text; the default relay restrictions
 *                and the local recipient table live here
 */
#ifndef POSTERN_SMTPD_H
#define POSTERN_SMTPD_H
#include <event2/event.h>
#include <sys/socket.h>

#include "argv.h"
#include "cleanup.h"
#include "vstr.h"

/* Command counters for the "disconnect from" line, in Postfix's order. */
enum {
    SMTPD_CMD_HELO, SMTPD_CMD_EHLO, SMTPD_CMD_STARTTLS, SMTPD_CMD_AUTH, SMTPD_CMD_MAIL,
    SMTPD_CMD_RCPT, SMTPD_CMD_DATA, SMTPD_CMD_BDAT, SMTPD_CMD_RSET, SMTPD_CMD_NOOP,
    SMTPD_CMD_VRFY, SMTPD_CMD_ETRN, SMTPD_CMD_QUIT, SMTPD_CMD_UNKNOWN, SMTPD_CMD_COUNT
};

/* Input modes. */
#define SMTPD_IN_CMD	0		/* command lines */
#define SMTPD_IN_DATA	1		/* DATA content */
#define SMTPD_IN_BDAT	2		/* BDAT chunk bytes */

typedef struct SMTPD_STATE {
    int     fd;
    struct SMTPD_IO *io;		/* the client stream (smtpd_io.h) */
    struct event *timer;		/* error sleep / resume */
    char    name[1025];			/* client host name or "unknown" */
    char    reverse_name[1025];		/* PTR name or "unknown" */
    int     name_status;		/* 2 ok, 4 temporary failure, 5 not found */
    int     reverse_status;
    int     lookup_pending;		/* name lookup not done yet */
    const char *service;		/* master.cf service name */
    char    addr[64];			/* client address, printable */
    char    rfc_addr[72];		/* [addr] form for Received: ("IPv6:...") */
    char    port[16];
    char    server_addr[64];
    char    namaddr[1100];		/* name[addr] */
    int     client_local;		/* in mynetworks */
    int     anvil;			/* smtpd_anvil.c: state bits */
    int     anvil_rate;			/* smtpd_anvil.c: last rate answer */
    int     client_hdr_local;		/* local_header_rewrite_clients */
    char   *helo_name;
    const char *protocol;		/* "SMTP" or "ESMTP" */
    const char *where;			/* last command, for "lost connection after" */
    int     in_mode;
    int     skip_line;			/* discard the rest of an over-long command line */
    int     waiting;			/* input paused (fsync, error sleep) */
    int     sleeping;			/* the pause is an error sleep (timer) */
    int     closing;			/* close when output drained */
    int     timed_out;			/* smtpd_timeout logged: next one ends it */
    int     dead;
    int     error_count;
    int     junk_cmds;
    int     cmd_total[SMTPD_CMD_COUNT];
    int     cmd_fail[SMTPD_CMD_COUNT];
    /* Transaction. */
    char   *sender;			/* NULL: no MAIL yet */
    long    msg_size;			/* SIZE= declared */
    int     smtputf8;
    char   *encoding;
    char   *dsn_envid;
    int     dsn_ret;
    ARGV   *rcpt;			/* accepted recipients, as received */
    int     rcpt_count;			/* accepted recipients */
    int     rcpt_tried;
    CLEANUP *cleanup;
    const char *queue_id;		/* "NOQUEUE" or cleanup's */
    long    act_size;			/* bytes received in DATA/BDAT */
    int     data_prev_crlf;		/* previous DATA line ended in CRLF */
    int     data_prev_cont;		/* previous DATA record was a fragment */
    int     data_err;			/* DATA/BDAT content error seen (cleanup status) */
    int     bdat_active;		/* a BDAT transaction is in progress */
    int     bdat_last;
    long    bdat_left;			/* chunk bytes still to read */
    long    bdat_chunk;
    int     bdat_prev_cr;		/* BDAT: the last chunk ended in CR */
    VSTR   *bdat_line;			/* BDAT: partial line */
    int     bdat_nrcpt_err;		/* BDAT without valid recipients */
    VSTR   *line;			/* current input line */
    VSTR   *reply;
    void   *policy;			/* smtpd_check.c: policy engine session */
    int     policy_pending;		/* a check waits for DNS: reply held */
    int     access_denied;		/* client rejected at connect: 503 to all */
} SMTPD_STATE;

/* smtpd.c */
extern void smtpd_reply(SMTPD_STATE *, const char *fmt,...) __attribute__((format(printf, 2, 3)));
extern void smtpd_close_after_reply(SMTPD_STATE *);
extern void smtpd_pause(SMTPD_STATE *);
extern void smtpd_resume(SMTPD_STATE *);
extern void smtpd_sleep(SMTPD_STATE *, long seconds);
extern const char *smtpd_hostname(void);

/* smtpd_proto.c */
extern void smtpd_greet(SMTPD_STATE *);
extern void smtpd_command(SMTPD_STATE *, char *line, size_t len);
extern void smtpd_data_line(SMTPD_STATE *, const char *line, size_t len, int complete, int crlf);
extern void smtpd_bdat_bytes(SMTPD_STATE *, const char *data, size_t len);

/* Input framing (smtpd_proto.c), shared by smtpd.c and the fuzz harness. */
typedef void (*SMTPD_DROP_FN) (SMTPD_STATE *, size_t);
extern SMTPD_STATE *smtpd_state_alloc(int fd, long line_limit);
extern void smtpd_state_free(SMTPD_STATE *);
extern size_t smtpd_input_window(SMTPD_STATE *, size_t avail, long limit);
extern size_t smtpd_input_extent(SMTPD_STATE *, const char *data, size_t len, long limit,
				         int *complete);
extern void smtpd_input_step(SMTPD_STATE *, const char *data, size_t take, int complete,
			             SMTPD_DROP_FN drop);
extern void smtpd_reset(SMTPD_STATE *);
extern void smtpd_log_disconnect(SMTPD_STATE *);
extern void smtpd_proto_init(void);

/* smtpd_check.c: NULL = permit, else the reply text (static buffer). */
extern void smtpd_check_init(void);
extern const char *smtpd_check_client(SMTPD_STATE *);
extern const char *smtpd_check_helo(SMTPD_STATE *, const char *helo);
extern const char *smtpd_check_mail(SMTPD_STATE *, const char *sender);
extern const char *smtpd_check_rcpt(SMTPD_STATE *, const char *rcpt);
extern const char *smtpd_check_vrfy(SMTPD_STATE *, const char *addr);
extern const char *smtpd_check_data(SMTPD_STATE *);
extern const char *smtpd_check_eod(SMTPD_STATE *);
extern const char *smtpd_check_etrn(SMTPD_STATE *, const char *domain);
/* Client name/address in a match-list parameter: 1, 0, -1 (error). */
extern int smtpd_client_match_list(SMTPD_STATE *, const char *list_param);
extern void smtpd_client_list_init(const char *list_param);
extern const char smtpd_check_deferred[];	/* reply held until DNS answers */
extern void smtpd_check_save_command(SMTPD_STATE *, const char *line, size_t len);
extern void smtpd_check_done(SMTPD_STATE *);
struct SMTPD_POLICY;
extern struct SMTPD_POLICY *smtpd_check_policy(SMTPD_STATE *);
extern int smtpd_is_local_domain(const char *domain);
extern void smtpd_check_rerun(SMTPD_STATE *);	/* run the held command again */

/* smtpd_etrn.c: the reply to ETRN for a domain the restrictions allowed */
extern const char *smtpd_etrn_flush(SMTPD_STATE *, const char *domain, int *ok);

/* smtpd_anvil.c */
extern void smtpd_anvil_init(void);
extern int smtpd_anvil_connect(SMTPD_STATE *);	/* 1: greeting follows anvil's answer */
extern void smtpd_anvil_end(SMTPD_STATE *);
extern const char *smtpd_anvil_mail(SMTPD_STATE *);	/* NULL, deferred or reply */
extern const char *smtpd_anvil_rcpt(SMTPD_STATE *);

#endif
