/*
 * Unit tests for local_cache (src/global/local_cache.c): within one
 * local_deliver_many() pass, passwd entries and missing .forward files
 * are looked up once; outside a pass nothing is remembered; entries are
 * keyed exactly (user name; path and uid) and bounded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <pwd.h>
#include <cmocka.h>

#include "local_private.h"

static void test_outside_a_pass_nothing_is_kept(void **state)
{
    struct passwd *me = getpwuid(geteuid());
    LOCAL_PW pw;

    assert_non_null(me);
    assert_int_equal(local_cache_getpw(me->pw_name, &pw), 1);
    assert_int_equal(pw.uid, me->pw_uid);
    assert_string_equal(pw.dir, me->pw_dir);
    assert_int_equal(local_cache_getpw("no-such-user-postern-test", &pw), 0);
    local_cache_set_no_file("/nonexistent/.forward", 1);
    assert_int_equal(local_cache_no_file("/nonexistent/.forward", 1), 0);
}

static void test_within_a_pass(void **state)
{
    struct passwd *me = getpwuid(geteuid());
    LOCAL_PW pw, pw2;

    local_cache_begin();
    assert_int_equal(local_cache_getpw(me->pw_name, &pw), 1);
    assert_int_equal(local_cache_getpw(me->pw_name, &pw2), 1);
    assert_ptr_equal(pw.dir, pw2.dir);		/* the cached entry */
    assert_int_equal(pw2.gid, me->pw_gid);
    assert_int_equal(local_cache_getpw("no-such-user-postern-test", &pw), 0);
    assert_int_equal(local_cache_getpw("no-such-user-postern-test", &pw), 0);
    assert_int_equal(local_cache_getpw(me->pw_name, &pw), 1);
    assert_string_equal(pw.dir, me->pw_dir);

    local_cache_set_no_file("/home/a/.forward", 1000);
    assert_int_equal(local_cache_no_file("/home/a/.forward", 1000), 1);
    assert_int_equal(local_cache_no_file("/home/a/.forward", 1001), 0);
    assert_int_equal(local_cache_no_file("/home/b/.forward", 1000), 0);
    local_cache_end();
    assert_int_equal(local_cache_no_file("/home/a/.forward", 1000), 0);
}

static void test_bounded(void **state)
{
    char    path[64];

    local_cache_begin();
    for (int i = 0; i < 20; i++) {
	(void) snprintf(path, sizeof(path), "/home/u%d/.forward", i);
	local_cache_set_no_file(path, (uid_t) i);
    }
    /* 16 entries: the 4 oldest were replaced. */
    for (int i = 0; i < 20; i++) {
	(void) snprintf(path, sizeof(path), "/home/u%d/.forward", i);
	assert_int_equal(local_cache_no_file(path, (uid_t) i), i >= 4);
    }
    local_cache_end();
}

int     main(void)
{
    const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_outside_a_pass_nothing_is_kept),
	cmocka_unit_test(test_within_a_pass),
	cmocka_unit_test(test_bounded),
    };

    return cmocka_run_group_tests(tests, 0, 0);
}
