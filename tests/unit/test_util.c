/* Unit tests for src/util: vstr limits, argv, mac_expand, readlline. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <cmocka.h>

#include "argv.h"
#include "mac_expand.h"
#include "readlline.h"
#include "safe_file.h"
#include "vstr.h"

static void test_vstr_limit(void **state)
{
    VSTR   *vp = vstr_alloc(1);

    vstr_set_limit(vp, 10);
    assert_int_equal(vstr_cat(vp, "0123456789"), 0);
    assert_int_equal(vstr_addch(vp, 'x'), -1);
    assert_int_equal(vstr_len(vp), 10);
    assert_string_equal(vstr_str(vp), "0123456789");
    assert_int_equal(vstr_fmt(vp, "%s", "abcdefghijk"), -1);
    assert_int_equal(vstr_fmt(vp, "%d", 42), 0);
    assert_string_equal(vstr_str(vp), "42");
    vstr_free(vp);
}

static void test_vstr_fmt_grow(void **state)
{
    VSTR   *vp = vstr_alloc(1);

    for (int i = 0; i < 1000; i++)
	assert_int_equal(vstr_fmt_append(vp, "%04d", i), 0);
    assert_int_equal(vstr_len(vp), 4000);
    assert_memory_equal(vstr_str(vp) + 3996, "0999", 4);
    vstr_free(vp);
}

static void test_argv_split(void **state)
{
    ARGV   *ap = argv_split("  a, b\tc,,d ", ", \t");
    char   *j;

    assert_int_equal(ap->argc, 4);
    assert_string_equal(ap->argv[3], "d");
    assert_null(ap->argv[4]);
    j = argv_join(ap, "+");
    assert_string_equal(j, "a+b+c+d");
    free(j);
    argv_free(ap);
}

static const char *lookup(const char *name, void *ctx)
{
    if (strcmp(name, "a") == 0)
	return ("A");
    if (strcmp(name, "b") == 0)
	return ("$a-$a");
    if (strcmp(name, "empty") == 0)
	return ("");
    if (strcmp(name, "level") == 0)
	return ("3.6");
    if (strcmp(name, "loop") == 0)
	return ("$loop");
    return (0);
}

static char *expand(const char *pat, int *status)
{
    VSTR   *out = vstr_alloc(16);
    int     st = mac_expand(out, pat, lookup, 0, 0);

    if (status)
	*status = st;
    return (vstr_export(out));
}

static void check(const char *pat, const char *want)
{
    char   *got = expand(pat, 0);

    assert_string_equal(got, want);
    free(got);
}

static void test_mac_expand(void **state)
{
    int     st;
    char   *r;

    check("x$a${a}$(a)y", "xAAAy");
    check("$b", "A-A");
    check("$$a", "$a");
    check("${a?yes}${empty?no}${undef?no}", "yes");
    check("${a:no}${empty:yes}${undef:{ yes }}", "yesyes");
    check("${a?{ spaced value }}", "spaced value");
    check("${{$level} <level {1} ? {old} : {new}}", "new");
    check("${{$level} >=level {3.6} ? {ok} : {bad}}", "ok");
    check("${{$a} == {A} ? {eq} : {ne}}", "eq");
    check("${{10} < {9} ? {lt} : {ge}}", "ge");
    r = expand("$undef", &st);
    assert_string_equal(r, "");
    assert_true(st & MAC_UNDEF);
    free(r);
    r = expand("$loop", &st);
    assert_true(st & MAC_ERROR);
    free(r);
}

static void test_readlline(void **state)
{
    const char *text = "# comment\na = 1\n  continued\n\n# c\n  more\nb=2 \n\tc\n";
    FILE   *fp = fmemopen((void *) text, strlen(text), "r");
    VSTR   *buf = vstr_alloc(16);
    int     last = 0, first = 0;

    assert_non_null(readlline(buf, fp, &last, &first));
    assert_string_equal(vstr_str(buf), "a = 1  continued  more");
    assert_int_equal(first, 2);
    assert_non_null(readlline(buf, fp, &last, &first));
    assert_string_equal(vstr_str(buf), "b=2\tc");
    assert_int_equal(first, 7);
    assert_null(readlline(buf, fp, &last, &first));
    fclose(fp);
    vstr_free(buf);
}

/*
 * fsync_covers_name() says yes exactly for ext4; the oracle is util-linux's
 * findmnt on the same paths (tmpfs, proc, whatever holds / and /tmp).
 */
static void test_fsync_covers_name(void **state)
{
    static const char *paths[] = {"/", "/tmp", "/proc", "/dev/shm", "/var/tmp"};
    int     checked = 0;

    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
	char    cmd[200], type[64] = "";
	struct stat st;
	FILE   *fp;

	if (stat(paths[i], &st) < 0)
	    continue;
	(void) snprintf(cmd, sizeof(cmd), "findmnt -n -o FSTYPE -T %s 2>/dev/null", paths[i]);
	if ((fp = popen(cmd, "r")) == 0)
	    continue;
	if (fgets(type, sizeof(type), fp) == 0)
	    type[0] = 0;
	(void) pclose(fp);
	type[strcspn(type, "\n")] = 0;
	if (type[0] == 0)
	    continue;
	assert_int_equal(fsync_covers_name(st.st_dev), strcmp(type, "ext4") == 0);
	checked++;
    }
    assert_true(checked >= 2);			/* at least / and /proc */
}

/*
 * The mountinfo parser on crafted lines (fsync_mountinfo_path): optional
 * fields before " - ", a line longer than the reader's buffer whose
 * file system type is cut at the buffer's end ("ext4" of "ext4xyz" must
 * not count), and the rest of an over-long line that looks like a line.
 */
static void test_fsync_covers_name_mountinfo(void **state)
{
    char    path[] = "/tmp/test_util_mountinfo.XXXXXX";
    int     fd = mkstemp(path);
    FILE   *fp;
    const char *saved = fsync_mountinfo_path;
    const char *prefix = "40 27 201:2 / /";
    size_t  pad;

    assert_true(fd >= 0);
    assert_non_null(fp = fdopen(fd, "w"));
    fputs("36 35 201:1 /x /mnt/a rw,noatime shared:1 master:2 - ext4 /dev/x rw\n", fp);
    /* 201:2: " ext4xyz" with "ext4" ending at byte 4094 (fgets reads 4095). */
    pad = 4095 - strlen(prefix) - strlen(" rw - ext4");
    fputs(prefix, fp);
    for (size_t i = 0; i < pad; i++)
	fputc('a', fp);
    fputs(" rw - ext4xyz /dev/y rw\n", fp);
    /* 201:3: a long line whose second part looks like an ext4 line. */
    fputs("41 27 201:3 / /", fp);
    for (size_t i = 0; i < 4095 - strlen("41 27 201:3 / /"); i++)
	fputc('b', fp);
    fputs("42 27 201:4 / /c rw - ext4 /dev/z rw - tmpfs t rw\n", fp);
    fputs("43 27 201:5 / /d rw - xfs /dev/w rw\n", fp);
    fclose(fp);
    fsync_mountinfo_path = path;
    assert_int_equal(fsync_covers_name(makedev(201, 1)), 1);
    assert_int_equal(fsync_covers_name(makedev(201, 2)), 0);
    assert_int_equal(fsync_covers_name(makedev(201, 4)), 0);
    assert_int_equal(fsync_covers_name(makedev(201, 5)), 0);
    assert_int_equal(fsync_covers_name(makedev(201, 9)), 0);
    assert_int_equal(fsync_covers_name(makedev(201, 1)), 1);
    fsync_mountinfo_path = saved;
    (void) unlink(path);
}

int     main(void)
{
    const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_vstr_limit),
	cmocka_unit_test(test_vstr_fmt_grow),
	cmocka_unit_test(test_argv_split),
	cmocka_unit_test(test_mac_expand),
	cmocka_unit_test(test_readlline),
	cmocka_unit_test(test_fsync_covers_name),
	cmocka_unit_test(test_fsync_covers_name_mountinfo),
    };

    return (cmocka_run_group_tests(tests, 0, 0));
}
