/*
 * smtpd_harness.h - an smtpd session without a socket, for the fuzz
 * targets fuzz_smtpd and fuzz_policy (header only; link every object of
 * src/smtpd but smtpd.o; the session has no SMTPD_IO, state->io is NULL).
 *
 * The client's bytes are cut into lines exactly as smtpd.c's reader does
 * and fed to smtpd_command(), smtpd_data_line() and smtpd_bdat_bytes().
 * smtpd.c's socket layer is replaced by the stubs below; the durable
 * commit (qcommit) completes when the next input is read. fz_init(more)
 * makes the configuration (main.cf lines in more are added);
 * fz_session(data, size) runs one session.
 */
#ifndef POSTERN_FUZZ_SMTPD_HARNESS_H
#define POSTERN_FUZZ_SMTPD_HARNESS_H
#include <ctype.h>
#include <stdarg.h>

#include "argv.h"
#include "fuzz_common.h"
#include "mem.h"
#include "qcommit.h"
#include "smtpd/smtpd.h"
#include "vstr.h"

/* ---- stubs for smtpd.c */

const char *smtpd_hostname(void)
{
    return (mail_conf_str("myhostname"));
}

void    smtpd_reply(SMTPD_STATE *state, const char *fmt,...)
{
    va_list ap;

    if (state->dead || state->policy_pending)
	return;
    va_start(ap, fmt);
    vstr_reset(state->reply);
    (void) vstr_vfmt_append(state->reply, fmt, ap);
    va_end(ap);
    if (msg_verbose)
	msg_info("> %s", vstr_str(state->reply));
    /* Every reply starts with a 3-digit code. */
    if (vstr_len(state->reply) < 3 || !isdigit((unsigned char) vstr_str(state->reply)[0]))
	abort();
}

void    smtpd_close_after_reply(SMTPD_STATE *state)
{
    state->closing = 1;
}

void    smtpd_pause(SMTPD_STATE *state)
{
    state->waiting |= 1;
}

void    smtpd_resume(SMTPD_STATE *state)
{
    state->waiting &= ~1;
}

void    smtpd_sleep(SMTPD_STATE *state, long seconds)
{
    (void) seconds;
}

static void fz_free(SMTPD_STATE *state)
{
    smtpd_state_free(state);
}

void    smtpd_release_if_dead(SMTPD_STATE *state);
void    smtpd_release_if_dead(SMTPD_STATE *state)
{
    if (state->dead)
	fz_free(state);
}

/* ---- stub for qcommit: the commit completes when the harness says so */

static QCOMMIT_FN fz_commit_fn;
static void *fz_commit_ctx;

void    qcommit_add(int fd, const char *dir, QCOMMIT_FN fn, void *context)
{
    (void) fd;
    (void) dir;
    if (fz_commit_fn)
	abort();			/* two commits in flight for one session */
    fz_commit_fn = fn;
    fz_commit_ctx = context;
}

static void fz_commit_done(void)
{
    QCOMMIT_FN fn = fz_commit_fn;

    if (fn) {
	fz_commit_fn = 0;
	fn(fz_commit_ctx, 0);
    }
}

/* ---- the harness */

static long fz_line_limit;

static void fz_init(const char *more)
{
    char    extra[4096];

    fuzz_instance("smtpd", "");
    snprintf(extra, sizeof(extra),
	     "header_checks = regexp:%s/hc\n"
	     "body_checks = regexp:%s/bc\n"
	     "virtual_alias_maps = regexp:%s/va\n"
	     "sender_canonical_maps = regexp:%s/sc\n"
	     "masquerade_domains = postern.test\n"
	     "smtpd_helo_restrictions = reject_invalid_helo_hostname\n"
	     "smtpd_sender_restrictions = reject_non_fqdn_sender\n"
	     "message_size_limit = 100000\n"
	     "smtpd_recipient_limit = 20\n"
	     "smtpd_hard_error_limit = 1000\n"
	     "smtpd_junk_command_limit = 1000\n%s\n",
	     fuzz_dir, fuzz_dir, fuzz_dir, fuzz_dir, more ? more : "");
    {
	const char *hc = "/^Subject:.*reject/ REJECT no\n/^X-Hold:/ HOLD\n"
	    "/^X-Discard:/ DISCARD\n/^X-Replace: (.*)/ REPLACE X-Replaced: $1\n"
	    "/^X-Warn:/ WARN w\n/^X-Prepend:/ PREPEND X-P: yes\n"
	    "/^X-Redirect:/ REDIRECT r@postern.test\n/^X-Ignore:/ IGNORE\n"
	    "/^X-Filter:/ FILTER smtp:[127.0.0.1]:25\n/^X-Bcc:/ BCC b@postern.test\n"
	    "/^Content-Type:.*evil/ REJECT mime\n";
	const char *bc = "/reject-body/ REJECT body\n/hold-body/ HOLD\n"
	    "/replace-body(.*)/ REPLACE new$1\n/prepend-body/ PREPEND extra line\n"
	    "/ignore-body/ IGNORE\n";
	const char *va = "/^(.*)@virt\\.test$/ $1@a.test, $1@b.test, ${1}x@c.test\n"
	    "/^loop@(.*)$/ loop@$1, other@$1\n";
	const char *sc = "/^(.*)@canon\\.test$/ canon-$1@postern.test\n";

	fuzz_write_file("hc", (const uint8_t *) hc, strlen(hc));
	fuzz_write_file("bc", (const uint8_t *) bc, strlen(bc));
	fuzz_write_file("va", (const uint8_t *) va, strlen(va));
	fuzz_write_file("sc", (const uint8_t *) sc, strlen(sc));
    }
    {
	char    path[512];
	FILE   *fp;

	snprintf(path, sizeof(path), "%s/main.cf", fuzz_dir);
	if ((fp = fopen(path, "a")) == 0)
	    abort();
	fputs(extra, fp);
	fclose(fp);
	mail_conf_read();
    }
    fz_line_limit = mail_conf_int("line_length_limit");
    if (fz_line_limit < 512)
	fz_line_limit = 512;
    fuzz_enter();
    smtpd_anvil_init();
    smtpd_check_init();
    smtpd_proto_init();
    fuzz_leave();
}

static SMTPD_STATE *fz_state(void)
{
    SMTPD_STATE *state = smtpd_state_alloc(-1, fz_line_limit);

    snprintf(state->name, sizeof(state->name), "localhost");
    snprintf(state->reverse_name, sizeof(state->reverse_name), "localhost");
    state->name_status = state->reverse_status = 2;
    state->service = "smtp";
    snprintf(state->addr, sizeof(state->addr), "127.0.0.1");
    snprintf(state->rfc_addr, sizeof(state->rfc_addr), "127.0.0.1");
    snprintf(state->port, sizeof(state->port), "4711");
    snprintf(state->server_addr, sizeof(state->server_addr), "127.0.0.1");
    snprintf(state->namaddr, sizeof(state->namaddr), "localhost[127.0.0.1]");
    return (state);
}

/* Bytes of the session input used so far (smtpd's DROP callback). */
static size_t fz_pos;

static void fz_drop(SMTPD_STATE *state, size_t n)
{
    fz_pos += n;
}

/* One session: the client sends data (size bytes), framed as smtpd does. */
static void fz_session(const uint8_t *data, size_t size)
{
    SMTPD_STATE *state;

    fuzz_enter();
    state = fz_state();
    fz_pos = 0;
    smtpd_greet(state);
    while (!state->dead && !state->closing && fz_pos < size) {
	const char *p = (const char *) data + fz_pos;
	size_t  window, take;
	int     complete;

	fz_commit_done();
	if (state->waiting)
	    break;			/* nothing resumes it: a hang */
	window = smtpd_input_window(state, size - fz_pos, fz_line_limit);
	/* End of input without a complete unit: the client hangs up. */
	if (window == 0 || (take = smtpd_input_extent(state, p, window, fz_line_limit,
						       &complete)) == 0)
	    break;
	smtpd_input_step(state, p, take, complete, fz_drop);
    }
    fz_commit_done();
    state->dead = 1;
    smtpd_log_disconnect(state);
    fz_free(state);
    if (getenv("FUZZ_KEEP_QUEUE") == 0)	/* set: keep queue files (seeds for fuzz_qfile) */
	fuzz_empty_dir("queue/incoming");
    fuzz_leave();
}

#endif
