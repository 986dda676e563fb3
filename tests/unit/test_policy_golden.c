/*
 * Replays the SMTP policy scenarios of the tests/golden/policy scenarios (.scn) through
 * the restriction engine (smtpd_policy) and compares every policy reply and
 * every reject/warn/hold log line with what real Postfix 3.7 answered
 * (the .out files, captured with tools/policy_capture.py).
 *
 * The SMTP command sequencing (503 errors, 250/354 texts) is simulated
 * here the way Postfix's smtpd behaves; the policy decisions come from
 * the engine. The same .scn files are run against postern's real smtpd by
 * tests/e2e/test_policy_smtp.py.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "argv.h"
#include "mail_conf.h"
#include "mem.h"
#include "msg.h"
#include "pol_maps.h"
#include "resolve_class.h"
#include "smtpd_policy.h"
#include "vstr.h"

#define GOLDEN	"tests/golden/policy"

static ARGV *logs;

static void capture_log(int level, const char *text)
{
    if (level == MSG_INFO)
	argv_add(logs, text);
}

static char *slurp(const char *path)
{
    FILE   *fp = fopen(path, "r");
    VSTR   *vp = vstr_alloc(4096);
    char    buf[4096];
    size_t  n;

    if (fp == 0)
	fail_msg("open %s", path);
    while ((n = fread(buf, 1, sizeof(buf), fp)) > 0)
	vstr_append(vp, buf, n);
    fclose(fp);
    return (vstr_export(vp));
}

static void write_file(const char *path, const char *text)
{
    FILE   *fp = fopen(path, "w");

    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

/* Normalize a log line: queue IDs become QID. */
static char *norm_log(const char *line)
{
    size_t  n = strspn(line, "0123456789ABCDEF");

    if (n >= 6 && line[n] == ':') {
	VSTR   *vp = vstr_alloc(128);

	vstr_fmt(vp, "QID%s", line + n);
	return (vstr_export(vp));
    }
    return (xstrdup(line));
}

typedef struct SIM {
    SMTPD_POLICY *p;
    int     denied;			/* client rejected at connect */
    int     in_mail;
    int     in_data;
    char    denied_text[200];
} SIM;

static int starts(const char *s, const char *prefix)
{
    return (strncasecmp(s, prefix, strlen(prefix)) == 0);
}

/* Answer one command; returns reply text (static or engine-owned). */
static const char *sim_cmd(SIM *s, const char *cmd, VSTR *tmp)
{
    const char *r;
    char   *addr;

    if (starts(cmd, "QUIT"))
	return ("221 2.0.0 Bye");
    if (s->denied)
	return (s->denied_text);
    if (starts(cmd, "HELO") || starts(cmd, "EHLO")) {
	const char *arg = cmd + 4;

	while (*arg == ' ')
	    arg++;
	if (*arg == 0)
	    return (starts(cmd, "HELO") ? "501 Syntax: HELO hostname" : "501 Syntax: EHLO hostname");
	smtpd_policy_set(&s->p->protocol, starts(cmd, "EHLO") ? "ESMTP" : "SMTP");
	if ((r = smtpd_policy_helo(s->p, arg)) != 0)
	    return (r);
	return (starts(cmd, "EHLO") ? "250-..." : "250 mx.example.com");
    }
    if (starts(cmd, "MAIL FROM:")) {
	if (mail_conf_bool("smtpd_helo_required") && s->p->helo == 0)
	    return ("503 5.5.1 Error: send HELO/EHLO first");
	if (s->in_mail)
	    return ("503 5.5.1 Error: nested MAIL command");
	addr = smtpd_policy_addr_internal(cmd + 10);
	r = smtpd_policy_mail(s->p, addr);
	free(addr);
	if (r) {
	    smtpd_policy_reset_transaction(s->p);
	    return (r);
	}
	s->in_mail = 1;
	return ("250 2.1.0 Ok");
    }
    if (starts(cmd, "RCPT TO:")) {
	if (!s->in_mail)
	    return ("503 5.5.1 Error: need MAIL command");
	addr = smtpd_policy_addr_internal(cmd + 8);
	r = smtpd_policy_rcpt(s->p, addr);
	free(addr);
	if (r)
	    return (r);
	s->p->rcpt_count++;
	s->p->queue_id = "0ABCDEF0123";
	return ("250 2.1.5 Ok");
    }
    if (starts(cmd, "DATA")) {
	if (!s->in_mail)
	    return ("503 5.5.1 Error: need RCPT command");
	if ((r = smtpd_policy_data(s->p)) != 0)
	    return (r);
	s->in_data = 1;
	return ("354 End data with <CR><LF>.<CR><LF>");
    }
    if (strcmp(cmd, ".") == 0 && s->in_data) {
	s->in_data = 0;
	r = smtpd_policy_eod(s->p);
	if (r)
	    return (r);
	s->in_mail = 0;
	s->p->queue_id = 0;
	smtpd_policy_reset_transaction(s->p);
	return ("250 2.0.0 Ok: queued as");
    }
    if (starts(cmd, "RSET")) {
	s->in_mail = 0;
	s->p->queue_id = 0;
	smtpd_policy_reset_transaction(s->p);
	return ("250 2.0.0 Ok");
    }
    if (starts(cmd, "VRFY ")) {
	addr = smtpd_policy_addr_internal(cmd + 5);
	r = smtpd_policy_vrfy(s->p, addr);
	if (r == 0) {
	    vstr_fmt(tmp, "252 2.0.0 %s", addr);
	    r = vstr_str(tmp);
	}
	free(addr);
	return (r);
    }
    if (starts(cmd, "ETRN")) {
	if (s->in_mail)
	    return ("503 Error: MAIL transaction in progress");
	if ((r = smtpd_policy_etrn(s->p, cmd + 5)) != 0)
	    return (r);
	return ("(etrn)");
    }
    vstr_fmt(tmp, "(unsimulated %s)", cmd);
    return (vstr_str(tmp));
}

/* Does the simulated reply agree with Postfix's? */
static int reply_agrees(const char *got, const char *want)
{
    if (strcmp(got, "250-...") == 0)
	return (strncmp(want, "250", 3) == 0);
    if (strcmp(got, "250 2.0.0 Ok: queued as") == 0)
	return (starts(want, got));
    if (strcmp(got, "(etrn)") == 0)
	return (want[0] == '2' || starts(want, "459"));
    return (strcmp(got, want) == 0);
}

static int run_scenario(const char *name)
{
    char    path[512], dir[256];
    char   *scn, *out, *line, *save;
    ARGV   *want = argv_alloc(64), *want_logs = argv_alloc(16);
    ARGV   *got = argv_alloc(64);
    VSTR   *conf = vstr_alloc(1024), *tmp = vstr_alloc(64);
    SIM     sim;
    int     errors = 0;
    char   *base;

    memset(&sim, 0, sizeof(sim));
    snprintf(dir, sizeof(dir), "/tmp/postern-policy-test.%d", (int) getpid());
    mkdir(dir, 0700);
    snprintf(path, sizeof(path), "%s/main.cf.base", GOLDEN);
    base = slurp(path);
    vstr_cpy(conf, base);
    free(base);

    snprintf(path, sizeof(path), "%s/%s.out", GOLDEN, name);
    out = slurp(path);
    for (line = strtok_r(out, "\n", &save); line; line = strtok_r(0, "\n", &save)) {
	if (strncmp(line, "S: ", 3) == 0)
	    argv_add(want, line + 3);
	else if (strncmp(line, "session ", 8) == 0)
	    argv_add(want, "(session)");
	else if (strncmp(line, "L: ", 3) == 0) {
	    char   *n = norm_log(line + 3);

	    argv_add(want_logs, n);
	    free(n);
	}
    }
    free(out);

    snprintf(path, sizeof(path), "%s/%s.scn", GOLDEN, name);
    scn = slurp(path);
    /* First pass: configuration and files. */
    {
	char   *copy = xstrdup(scn);
	char   *fsave;
	FILE   *fp = 0;

	for (line = strtok_r(copy, "\n", &fsave); line; line = strtok_r(0, "\n", &fsave)) {
	    if (fp) {
		if (strcmp(line, "end") == 0) {
		    fclose(fp);
		    fp = 0;
		} else
		    fprintf(fp, "%s\n", line);
	    } else if (strncmp(line, "conf ", 5) == 0) {
		vstr_fmt_append(conf, "%s\n", line + 5);
	    } else if (strncmp(line, "file ", 5) == 0) {
		snprintf(path, sizeof(path), "%s/%s", dir, line + 5);
		fp = fopen(path, "w");
		assert_non_null(fp);
	    }
	}
	free(copy);
    }
    snprintf(path, sizeof(path), "%s/main.cf", dir);
    write_file(path, vstr_str(conf));
    mail_conf_set_dir(dir);
    mail_conf_read();
    pol_maps_cache_flush();
    resolve_class_reset();

    /* Second pass: sessions. */
    argv_truncate(logs, 0);
    for (line = strtok_r(scn, "\n", &save); line; line = strtok_r(0, "\n", &save)) {
	const char *r;

	if (strncmp(line, "session ", 8) == 0) {
	    if (sim.p)
		smtpd_policy_free(sim.p);
	    memset(&sim, 0, sizeof(sim));
	    sim.p = smtpd_policy_create();
	    argv_add(got, "(session)");
	    smtpd_policy_set(&sim.p->client_addr, line + 8);
	    if ((r = smtpd_policy_client(sim.p)) != 0) {
		sim.denied = 1;
		snprintf(sim.denied_text, sizeof(sim.denied_text),
			 "503 5.7.0 Error: access denied for %s[%s]",
			 sim.p->client_name, sim.p->client_addr);
		argv_add(got, r);
	    } else
		argv_add(got, "220 mx.example.com ESMTP");
	} else if (strncmp(line, "C: ", 3) == 0) {
	    r = sim_cmd(&sim, line + 3, tmp);
	    argv_add(got, r);
	    if (strncmp(r, "421", 3) == 0)
		sim.denied = 1, snprintf(sim.denied_text, sizeof(sim.denied_text), "<EOF>");
	} else if ((strncmp(line, ". ", 2) == 0 || strcmp(line, ".") == 0) && sim.in_data) {
	    /* message content: not policy relevant here */
	}
    }
    if (sim.p)
	smtpd_policy_free(sim.p);
    free(scn);

    /* Compare replies, session by session (421 ends a Postfix session: <EOF>). */
    {
	size_t  i = 0, j = 0;

	while (i < got->argc && j < want->argc) {
	    if (strcmp(want->argv[j], "<EOF>") == 0) {
		while (i < got->argc && strcmp(got->argv[i], "(session)") != 0)
		    i++;
		while (j < want->argc && strcmp(want->argv[j], "(session)") != 0)
		    j++;
		continue;
	    }
	    if (!reply_agrees(got->argv[i], want->argv[j])) {
		print_message("%s: reply %zu: got \"%s\", Postfix says \"%s\"\n", name, j,
			      got->argv[i], want->argv[j]);
		errors++;
	    }
	    i++, j++;
	}
    }
    /* Compare log lines. */
    {
	ARGV   *nl = argv_alloc(16);

	for (size_t i = 0; i < logs->argc; i++) {
	    char   *n = norm_log(logs->argv[i]);

	    argv_add(nl, n);
	    free(n);
	}
	for (size_t i = 0; i < want_logs->argc || i < nl->argc; i++) {
	    const char *w = i < want_logs->argc ? want_logs->argv[i] : "(none)";
	    const char *g = i < nl->argc ? nl->argv[i] : "(none)";

	    /* Postfix's ETRN fast-flush warning is not a policy log line. */
	    if (strstr(w, "warning: reject: ETRN")) {
		continue;
	    }
	    if (strcmp(w, g) != 0) {
		print_message("%s: log %zu:\n  got  %s\n  want %s\n", name, i, g, w);
		errors++;
		break;
	    }
	}
	argv_free(nl);
    }
    argv_free(want);
    argv_free(want_logs);
    argv_free(got);
    vstr_free(conf);
    vstr_free(tmp);
    {
	char    cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
	    print_message("cannot remove %s\n", dir);
    }
    return (errors);
}

#define SCENARIO(n) static void test_##n(void **state) { assert_int_equal(run_scenario(#n), 0); }
SCENARIO(relay)
SCENARIO(relay_reject)
SCENARIO(helo)
SCENARIO(seed002)
SCENARIO(access)
SCENARIO(generic)
SCENARIO(softbounce)
SCENARIO(nodelay)
SCENARIO(delay)
SCENARIO(stages)
SCENARIO(unlisted)
SCENARIO(unlisted_local)
SCENARIO(unlisted_off)
SCENARIO(vrfy)
SCENARIO(warn_defer)
SCENARIO(bogus)

int     main(void)
{
    const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_relay),
	cmocka_unit_test(test_relay_reject),
	cmocka_unit_test(test_helo),
	cmocka_unit_test(test_seed002),
	cmocka_unit_test(test_access),
	cmocka_unit_test(test_generic),
	cmocka_unit_test(test_softbounce),
	cmocka_unit_test(test_nodelay),
	cmocka_unit_test(test_delay),
	cmocka_unit_test(test_stages),
	cmocka_unit_test(test_unlisted),
	cmocka_unit_test(test_unlisted_local),
	cmocka_unit_test(test_unlisted_off),
	cmocka_unit_test(test_vrfy),
	cmocka_unit_test(test_warn_defer),
	cmocka_unit_test(test_bogus),
    };

    msg_init("test_policy_golden", 0);
    logs = argv_alloc(16);
    msg_output_add(capture_log);
    return (cmocka_run_group_tests(tests, 0, 0));
}
