/*
 * smtpd_policy_int - what the parts of the policy engine share
 * (smtpd_policy.c: sessions, replies, the restriction interpreter, stages;
 * smtpd_policy_dns.c: DNS-based checks; smtpd_policy_table.c: access
 * tables and recipient validation). Not for use outside the engine.
 */
#ifndef POSTERN_SMTPD_POLICY_INT_H
#define POSTERN_SMTPD_POLICY_INT_H

#include "argv.h"
#include "pol_maps.h"
#include "smtpd_policy.h"

/* Internal results. */
#define CHK_DUNNO	0
#define CHK_OK		1
#define CHK_REJECT	2
#define CHK_PENDING	3

#define MAX_DEPTH	100

#define NAME_CLIENT	"Client host"
#define NAME_HELO	"Helo command"
#define NAME_SENDER	"Sender address"
#define NAME_RCPT	"Recipient address"
#define NAME_DATA	"Data command"
#define NAME_EOD	"End-of-data"
#define NAME_ETRN	"Etrn command"
typedef struct DNS_CACHED {
    int     status;
    ARGV   *rr;
    int     inflight;
} DNS_CACHED;

/* smtpd_policy.c */
extern int spol_generic_checks(SMTPD_POLICY *, const char *list, const char *reply_name,
			               const char *reply_class);
extern void spol_log_event(SMTPD_POLICY *, const char *what, const char *text);
extern int spol_check_reject(SMTPD_POLICY *, int code, const char *dsn, const char *fmt,...)
    __attribute__((format(printf, 4, 5)));
extern void spol_record_defer(SMTPD_POLICY *, int *flag, char **slot, int code,
			              const char *dsn, const char *text);
extern int spol_config_error(SMTPD_POLICY *, const char *fmt, const char *arg);
extern int spol_lookup_retry(SMTPD_POLICY *, const char *reply_name);
extern int spol_lookup_config(SMTPD_POLICY *, const char *reply_name, const char *reply_class);
extern void spol_make_reply(SMTPD_POLICY *, int code, const char *dsn, const char *text);
extern int spol_dsn_valid(const char *text);
extern const char *spol_addr_domain(const char *addr);
extern int spol_permit_auth_destination(SMTPD_POLICY *, const char *rcpt, int *fail);
extern void spol_dns_cached_free(void *);

/* smtpd_policy_dns.c */
extern DNS_CACHED *spol_dns_get(SMTPD_POLICY *, const char *name, int type);
extern int spol_mx_backup_ok(SMTPD_POLICY *, const char *domain, const char *reply_name,
			             const char *reply_class);
extern int spol_tempfail_action(SMTPD_POLICY *, const char *param, int code, const char *dsn,
				        const char *text);
extern int spol_reject_unknown_address(SMTPD_POLICY *, const char *addr, const char *reply_class,
				               int is_sender);
extern int spol_check_rbl(SMTPD_POLICY *, const char *arg, int what_kind, int permit);

/* smtpd_policy_table.c */
extern int spol_check_domain_access(SMTPD_POLICY *, POL_MAPS *, const char *domain,
				            int first_flags, const char *reply_name,
				            const char *reply_class, int *found);
extern int spol_check_namadr_access(SMTPD_POLICY *, POL_MAPS *, const char *name,
				            const char *addr, const char *reply_name,
				            const char *reply_class);
extern int spol_check_mail_access(SMTPD_POLICY *, POL_MAPS *, const char *addr,
				          const char *reply_name, const char *reply_class);
extern int spol_table_result(SMTPD_POLICY *, const char *table, const char *value,
			             const char *reply_name, const char *reply_class);
extern void spol_lookup_done(SMTPD_POLICY *);	/* one async lookup finished */

/* smtpd_policy_service.c */
extern int spol_check_policy_service(SMTPD_POLICY *, const char *server,
				             const char *reply_name, const char *reply_class);
extern void spol_policy_cache_free(SMTPD_POLICY *);

extern int spol_check_unlisted(SMTPD_POLICY *, const char *addr, const char *reply_class,
			               int is_sender, int skip_local);

#endif
