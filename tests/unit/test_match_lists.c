/*
 * Postfix's match lists through pol_match, against what Postfix 3.7 itself
 * answered and logged (tests/golden/matchlist/{namadr,tables}.{scn,out}, captured
 * with tools/matchlist_capture.py): every pattern form, negation and its
 * order, /file/name (comments, several patterns per line, "!/file"),
 * texthash: and cidr: tables by name and by address, parent-domain rules,
 * and the warnings and errors for bad patterns, files and tables. The
 * replay builds the .out text and compares it whole.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "argv.h"
#include "mail_conf.h"
#include "mem.h"
#include "msg.h"
#include "pol_match.h"
#include "stringops.h"
#include "vstr.h"

#include "unit_support.h"

#define GOLDEN	"tests/golden/matchlist"

static VSTR *out;			/* the replay's output */
static VSTR *logged;			/* log lines of the current step */
static const char *log_prefix;		/* "init: " or "L: " */

/* Replace every "from" in text with "to". */
static void replace_all(VSTR *dst, const char *text, const char *from, const char *to)
{
    const char *cp;
    size_t  flen = strlen(from);

    vstr_truncate(dst, 0);
    while ((cp = strstr(text, from)) != 0) {
	vstr_append(dst, text, (size_t) (cp - text));
	vstr_cat(dst, to);
	text = cp + flen;
    }
    vstr_cat(dst, text);
}

static void capture(int level, const char *text)
{
    VSTR   *buf;

    if (log_prefix == 0 || level == MSG_INFO)
	return;
    buf = vstr_alloc(100);
    replace_all(buf, text, dir, "$DIR");
    vstr_fmt_append(logged, "%s%s: %s\n", log_prefix, msg_severity_name(level), vstr_str(buf));
    vstr_free(buf);
}

static void run_case(const char *title, ARGV *conf, const char *list, ARGV *queries,
		             const char *parent_default)
{
    POL_MATCH_LIST *lp;
    VSTR   *value = vstr_alloc(100);

    mail_conf_override("parent_domain_matches_subdomains", parent_default);
    for (size_t i = 0; i < conf->argc; i++) {
	char   *copy = xstrdup(conf->argv[i]);
	char   *eq = strchr(copy, '=');

	assert_non_null(eq);
	*eq = 0;
	*trimblanks(copy, 0) = 0;
	mail_conf_override(copy, eq + 1 + strspn(eq + 1, " "));
	free(copy);
    }
    vstr_fmt_append(out, "case %s\n", title);
    replace_all(value, list, "$DIR", dir);
    log_prefix = "init: ";
    vstr_truncate(logged, 0);
    lp = pol_match_list_create("mynetworks", vstr_str(value), POL_MATCH_NAME | POL_MATCH_ADDR);
    vstr_cat(out, vstr_str(logged));
    for (size_t i = 0; i < queries->argc; i++) {
	char   *copy = xstrdup(queries->argv[i]);
	char   *name = copy;
	char   *addr = strchr(copy, ' ');
	int     rc;

	assert_non_null(addr);
	*addr++ = 0;
	log_prefix = "L: ";
	vstr_truncate(logged, 0);
	/* XCLIENT's "IPV6:" form is the client address without it. */
	rc = pol_match_list_match(lp, name, strncmp(addr, "IPV6:", 5) == 0 ? addr + 5 : addr);
	vstr_fmt_append(out, "q %s %s = %d\n%s", name, addr, rc, vstr_str(logged));
	free(copy);
    }
    log_prefix = 0;
    pol_match_list_free(lp);
    vstr_free(value);
}

/* Fail naming the first line that differs (the whole texts are long). */
static void first_difference(const char *base, const char *got, const char *want)
{
    int     lineno = 1;

    while (*got && *got == *want) {
	if (*got == '\n')
	    lineno++;
	got++, want++;
    }
    if (*got == 0 && *want == 0)
	return;
    while (lineno > 1 && got[-1] != '\n')
	got--, want--;
    fail_msg("%s.out line %d differs:\n  got:  %.*s\n  want: %.*s", base, lineno,
	     (int) strcspn(got, "\n"), got, (int) strcspn(want, "\n"), want);
}

static void replay(const char *base)
{
    char    path[256];
    char   *scn;
    char   *expect;
    char   *parent_default = xstrdup(mail_conf_str("parent_domain_matches_subdomains"));
    char   *bp;
    char   *line;
    char   *title = 0;
    char   *list = 0;
    ARGV   *conf = argv_alloc(4);
    ARGV   *queries = argv_alloc(16);

    snprintf(path, sizeof(path), "%s/%s.scn", GOLDEN, base);
    scn = read_whole_file(path);
    snprintf(path, sizeof(path), "%s/%s.out", GOLDEN, base);
    expect = read_whole_file(path);
    bp = scn;
    out = vstr_alloc(4096);
    logged = vstr_alloc(1024);
    while ((line = strsep(&bp, "\n")) != 0) {
	if (*line == 0 || *line == '#')
	    continue;
	if (strncmp(line, "file ", 5) == 0) {
	    VSTR   *body = vstr_alloc(256);
	    char   *l;

	    while ((l = strsep(&bp, "\n")) != 0 && strcmp(l, "end") != 0)
		vstr_fmt_append(body, "%s\n", l);
	    write_file(line + 5, vstr_str(body));
	    vstr_free(body);
	} else if (strncmp(line, "case ", 5) == 0) {
	    if (title)
		run_case(title, conf, list, queries, parent_default);
	    title = line + 5;
	    list = "";
	    argv_truncate(conf, 0);
	    argv_truncate(queries, 0);
	} else if (strncmp(line, "conf ", 5) == 0) {
	    argv_add(conf, line + 5);
	} else if (strncmp(line, "list ", 5) == 0) {
	    list = line + 5;
	} else if (strncmp(line, "q ", 2) == 0) {
	    argv_add(queries, line + 2);
	} else
	    fail_msg("bad scenario line: %s", line);
    }
    if (title)
	run_case(title, conf, list, queries, parent_default);
    mail_conf_override("parent_domain_matches_subdomains", parent_default);
    first_difference(base, vstr_str(out), expect);
    argv_free(conf);
    argv_free(queries);
    vstr_free(out);
    vstr_free(logged);
    free(parent_default);
    free(scn);
    free(expect);
}

static void test_golden_namadr(void **state)
{
    replay("namadr");
}

static void test_golden_tables(void **state)
{
    replay("tables");
}

/* Errors that stop the program, as in Postfix. */
static void test_fatal_bang(void **state)
{
    pid_t   pid = fork();
    int     status;

    assert_true(pid >= 0);
    if (pid == 0) {
	int     fd = open("/dev/null", O_WRONLY);

	dup2(fd, 2);
	(void) pol_match_list_create("mynetworks", "10.0.0.0/8, !", POL_MATCH_NAME | POL_MATCH_ADDR);
	_exit(0);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 1);
}

static int setup(void **state)
{
    snprintf(dir, sizeof(dir), "/tmp/postern-matchlist-test.%d", (int) getpid());
    mkdir(dir, 0755);
    write_file("main.cf", "compatibility_level = 3.6\n");
    mail_conf_set_dir(dir);
    mail_conf_read();
    return (0);
}

int     main(void)
{
    const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_golden_namadr),
	cmocka_unit_test(test_golden_tables),
	cmocka_unit_test(test_fatal_bang),
    };

    msg_init("test_match_lists", 0);
    msg_output_add(capture);
    return (cmocka_run_group_tests(tests, setup, unit_teardown_dir));
}
