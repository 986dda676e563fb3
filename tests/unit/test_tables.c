/*
 * Unit tests for the lookup-table library: address search orders (with and
 * without recipient_delimiter), maps error propagation, partial keys and
 * pattern tables, LMDB build/update/delete/sequence, reopen after rebuild,
 * surrogates, source parsing and alias value normalization.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <pwd.h>
#include <cmocka.h>

#include "dict.h"
#include "dict_src.h"
#include "mail_addr_find.h"
#include "mail_conf.h"
#include "maps.h"
#include "mkmap.h"
#include "vstr.h"

static char tmpdir[] = "/tmp/test_tables.XXXXXX";

static void write_file(const char *name, const char *text)
{
    FILE   *fp = fopen(name, "w");

    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static void conf_setup(const char *delim)
{
    mail_conf_override("myorigin", "example.com");
    mail_conf_override("mydestination", "example.com, localhost");
    mail_conf_override("inet_interfaces", "127.0.0.1");
    mail_conf_override("proxy_interfaces", "");
    mail_conf_override("recipient_delimiter", delim);
    mail_conf_override("parent_domain_matches_subdomains",
		       "debug_peer_list,fast_flush_domains,mynetworks,"
		       "permit_mx_backup_networks,qmqpd_authorized_clients,"
		       "relay_domains,smtpd_access_maps");
}

typedef const char *(*FIND_FN) (MAPS *, const char *);

/*
 * Fill an internal: table with every key of order[] and decoys[] (value =
 * key), then check that lookups return order[0], order[1], ... as each hit
 * is deleted, and finally nothing (the decoys must never be found).
 */
static void check_order(FIND_FN find, const char *address, const char *const *order,
			        const char *const *decoys)
{
    MAPS   *maps = maps_create("test_maps", "internal:test", DICT_FLAG_DEFAULT);
    DICT   *d = maps->dicts[0];
    const char *v;

    for (const char *const *k = order; *k; k++)
	assert_int_equal(dict_update(d, *k, *k), DICT_STAT_SUCCESS);
    for (const char *const *k = decoys; k && *k; k++)
	assert_int_equal(dict_update(d, *k, *k), DICT_STAT_SUCCESS);
    for (const char *const *k = order; *k; k++) {
	v = find(maps, address);
	if (v == 0 || strcmp(v, *k) != 0)
	    fail_msg("%s: expected key \"%s\", got \"%s\"", address, *k, v ? v : "(none)");
	assert_int_equal(dict_delete(d, *k), DICT_STAT_SUCCESS);
    }
    v = find(maps, address);
    if (v != 0)
	fail_msg("%s: decoy key \"%s\" was found", address, v);
    assert_int_equal(maps->error, 0);
    maps_free(maps);
}

static const char *find_default(MAPS *m, const char *a)
{
    return (mail_addr_find(m, a, 0));
}

static const char *find_access(MAPS *m, const char *a)
{
    return (mail_access_find(m, a, "smtpd_access_maps"));
}

static const char *find_transport(MAPS *m, const char *a)
{
    return (mail_transport_find(m, a));
}

static const char *find_alias(MAPS *m, const char *a)
{
    return (mail_alias_find(m, a, 0));
}

static const char *find_domain_relay(MAPS *m, const char *a)
{
    return (mail_domain_find(m, a, "relay_domains"));
}

static const char *find_domain_other(MAPS *m, const char *a)
{
    return (mail_domain_find(m, a, "transport_maps"));
}

static const char *find_hostaddr(MAPS *m, const char *a)
{
    return (mail_hostaddr_find(m, a));
}

static void test_virtual_canonical_order(void **state)
{
    const char *with[] = {"user+ext@example.com", "user@example.com", "user+ext", "user",
	"@example.com", 0};
    const char *remote[] = {"user+ext@remote.test", "user@remote.test", "@remote.test", 0};
    const char *remote_decoys[] = {"user+ext", "user", "remote.test", 0};
    const char *without[] = {"user+ext@example.com", "user+ext", "@example.com", 0};
    const char *without_decoys[] = {"user@example.com", "user", "example.com", 0};

    conf_setup("+");
    check_order(find_default, "user+ext@example.com", with, (const char *[]) {"example.com", "user@", 0});
    check_order(find_default, "user+ext@remote.test", remote, remote_decoys);
    conf_setup("");
    check_order(find_default, "user+ext@example.com", without, without_decoys);
}

static void test_multiple_delimiters(void **state)
{
    const char *order[] = {"user-ext@example.com", "user@example.com", "user-ext", "user",
	"@example.com", 0};
    const char *owner[] = {"owner-list@example.com", "owner-list", "@example.com", 0};

    conf_setup("+-");
    check_order(find_default, "user-ext@example.com", order, 0);
    /* With '-' as a delimiter, owner-list and list-request are not split. */
    check_order(find_default, "owner-list@example.com", owner,
		(const char *[]) {"owner@example.com", "owner", 0});
}

static void test_extension_returned(void **state)
{
    MAPS   *maps = maps_create("virtual_alias_maps", "inline:{user@example.com=target}",
			       DICT_FLAG_DEFAULT);
    char   *ext = 0;
    const char *v;

    conf_setup("+");
    v = mail_addr_find(maps, "User+Foo@Example.COM", &ext);
    assert_non_null(v);
    assert_string_equal(v, "target");
    assert_non_null(ext);
    assert_string_equal(ext, "+Foo");
    free(ext);
    v = mail_addr_find(maps, "user@example.com", &ext);
    assert_string_equal(v, "target");
    assert_null(ext);
    maps_free(maps);
}

/* Local parts that need quotes: the quoted (external) form first. */
static void test_quoted_local_parts(void **state)
{
    conf_setup("+");
    check_order(find_default, "john doe@example.com",
		(const char *[]) {"\"john doe\"@example.com", "john doe@example.com",
		    "\"john doe\"", "john doe", "@example.com", 0}, 0);
    check_order(find_default, "\"john doe\"@example.com",
		(const char *[]) {"\"john doe\"@example.com", "john doe@example.com",
		    "\"john doe\"", "john doe", "@example.com", 0}, 0);
    check_order(find_access, "a.@example.com",
		(const char *[]) {"\"a.\"@example.com", "a.@example.com", "example.com",
		    "com", "\"a.\"@", "a.@", 0}, 0);
}

static void test_access_order(void **state)
{
    const char *order[] = {"user+ext@mail.example.com", "user@mail.example.com",
	"mail.example.com", "example.com", "com", "user+ext@", "user@", 0};
    const char *decoys[] = {".example.com", ".com", "user", "@mail.example.com", 0};

    conf_setup("+");
    check_order(find_access, "user+ext@mail.example.com", order, decoys);
    conf_setup("");
    check_order(find_access, "user+ext@mail.example.com",
		(const char *[]) {"user+ext@mail.example.com", "mail.example.com",
		    "example.com", "com", "user+ext@", 0},
		(const char *[]) {"user@mail.example.com", "user@", 0});
}

static void test_transport_order(void **state)
{
    const char *order[] = {"user+ext@mail.example.com", "user@mail.example.com",
	"mail.example.com", ".example.com", ".com", "*", 0};
    const char *decoys[] = {"example.com", "com", "user", "user@", 0};

    conf_setup("+");
    check_order(find_transport, "user+ext@mail.example.com", order, decoys);
}

static void test_alias_order(void **state)
{
    conf_setup("+");
    check_order(find_alias, "user+ext", (const char *[]) {"user+ext", "user", 0},
		(const char *[]) {"ext", 0});
    conf_setup("");
    check_order(find_alias, "user+ext", (const char *[]) {"user+ext", 0},
		(const char *[]) {"user", 0});
}

static void test_domain_and_host_order(void **state)
{
    conf_setup("");
    check_order(find_domain_relay, "a.b.example.com",
		(const char *[]) {"a.b.example.com", "b.example.com", "example.com", "com", 0},
		(const char *[]) {".b.example.com", ".example.com", 0});
    check_order(find_domain_other, "a.b.example.com",
		(const char *[]) {"a.b.example.com", ".b.example.com", ".example.com", ".com", 0},
		(const char *[]) {"b.example.com", "example.com", 0});
    check_order(find_hostaddr, "192.168.1.2",
		(const char *[]) {"192.168.1.2", "192.168.1", "192.168", "192", 0},
		(const char *[]) {"192.168.1.", "168", 0});
    check_order(find_hostaddr, "2001:db8::1",
		(const char *[]) {"2001:db8::1", "2001:db8", "2001", 0}, 0);
}

/* A failing table stops the search: an error, never "not found". */
static void test_maps_error(void **state)
{
    MAPS   *maps = maps_create("test", "inline:{a=1}, fail:broken, inline:{b=2}",
			       DICT_FLAG_DEFAULT);

    assert_string_equal(maps_find(maps, "a", 0), "1");
    assert_int_equal(maps->error, 0);
    assert_null(maps_find(maps, "b", 0));
    assert_int_equal(maps->error, DICT_ERR_RETRY);
    assert_null(maps_find(maps, "", 0));
    maps_free(maps);

    /* A table that cannot be opened: a surrogate that defers (configuration error). */
    maps = maps_create("test", "hash:/nonexistent/table, inline:{b=2}", DICT_FLAG_DEFAULT);
    assert_non_null(maps_open_error(maps));
    assert_null(maps_find(maps, "b", DICT_FLAG_FIXED));
    assert_int_equal(maps->error, DICT_ERR_CONFIG);
    maps_free(maps);
}

/* regexp: tables see the full address only, never partial keys. */
static void test_pattern_tables_full_key_only(void **state)
{
    MAPS   *maps;
    char    path[256];

    conf_setup("+");
    snprintf(path, sizeof(path), "regexp:%s/re", tmpdir);
    write_file(path + 7, "/^user$/ partial-user\n/^@example\\.com$/ partial-domain\n"
	       "/^user\\+ext@example\\.com$/ full\n");
    maps = maps_create("test", path, DICT_FLAG_DEFAULT);
    assert_string_equal(mail_addr_find(maps, "user+ext@example.com", 0), "full");
    assert_null(mail_addr_find(maps, "user@example.com", 0));
    assert_null(mail_addr_find(maps, "other+x@example.com", 0));
    assert_int_equal(maps->error, 0);
    maps_free(maps);
}

static void test_lmdb_operations(void **state)
{
    char    name[256];
    DICT   *d;
    const char *k, *v;
    int     n = 0;

    snprintf(name, sizeof(name), "%s/lm", tmpdir);
    d = dict_open3("lmdb", name, O_RDWR | O_CREAT | O_TRUNC,
		   DICT_FLAG_DUP_WARN | DICT_FLAG_FOLD_FIX | DICT_FLAG_BULK_UPDATE);
    assert_false(dict_is_surrogate(d));
    for (int i = 0; i < 70000; i++) {		/* more than one batch */
	char    key[32], val[32];

	snprintf(key, sizeof(key), "Key%d", i);
	snprintf(val, sizeof(val), "value %d", i);
	assert_int_equal(dict_update(d, key, val), DICT_STAT_SUCCESS);
    }
    assert_int_equal(dict_update(d, "key5", "dup"), DICT_STAT_FAIL);
    dict_close(d);

    d = dict_open3("lmdb", name, O_RDWR, DICT_FLAG_LOCK | DICT_FLAG_FOLD_FIX | DICT_FLAG_DUP_REPLACE);
    assert_false(dict_is_surrogate(d));
    assert_string_equal(dict_lookup(d, "KEY5"), "value 5");
    assert_string_equal(dict_lookup(d, "key69999"), "value 69999");
    assert_null(dict_lookup(d, "key70000"));
    assert_int_equal(d->error, 0);
    {
	/* Longer than LMDB's key limit: simply not there, not an error. */
	char    longkey[2000];

	memset(longkey, 'x', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = 0;
	assert_null(dict_lookup(d, longkey));
	assert_int_equal(d->error, 0);
	assert_int_equal(dict_delete(d, longkey), DICT_STAT_FAIL);
    }
    assert_int_equal(dict_update(d, "key5", "new"), DICT_STAT_SUCCESS);
    assert_string_equal(dict_lookup(d, "key5"), "new");
    assert_int_equal(dict_delete(d, "key5"), DICT_STAT_SUCCESS);
    assert_int_equal(dict_delete(d, "key5"), DICT_STAT_FAIL);
    assert_null(dict_lookup(d, "key5"));
    for (int rc = dict_sequence(d, DICT_SEQ_FUN_FIRST, &k, &v); rc == DICT_STAT_SUCCESS;
	 rc = dict_sequence(d, DICT_SEQ_FUN_NEXT, &k, &v))
	n++;
    assert_int_equal(n, 69999);
    dict_close(d);
}

/* A daemon's table (DICT_FLAG_WATCH) sees a rebuilt file without restart. */
static void test_reopen_after_rebuild(void **state)
{
    char    src[256], spec[300];
    DICT   *d;

    snprintf(src, sizeof(src), "%s/watched", tmpdir);
    snprintf(spec, sizeof(spec), "hash:%s", src);
    write_file(src, "key old\n");
    mkmap_build("hash", src, MKMAP_POSTMAP, DICT_FLAG_DUP_WARN | DICT_FLAG_FOLD_FIX, 0);
    dict_watch_interval = 0;
    d = dict_open(spec, O_RDONLY, DICT_FLAG_DEFAULT | DICT_FLAG_WATCH);
    assert_string_equal(dict_lookup(d, "key"), "old");
    write_file(src, "key new\nother x\n");
    mkmap_build("hash", src, MKMAP_POSTMAP, DICT_FLAG_DUP_WARN | DICT_FLAG_FOLD_FIX, 0);
    assert_string_equal(dict_lookup(d, "key"), "new");
    assert_string_equal(dict_lookup(d, "other"), "x");
    dict_close(d);

    /* texthash: too (the source file is what is watched). */
    snprintf(spec, sizeof(spec), "texthash:%s", src);
    d = dict_open(spec, O_RDONLY, DICT_FLAG_DEFAULT | DICT_FLAG_WATCH);
    assert_string_equal(dict_lookup(d, "key"), "new");
    write_file(src, "key newer and longer\n");
    assert_string_equal(dict_lookup(d, "key"), "newer and longer");
    dict_close(d);

    /* In-place updates (postmap -i, daemon caches) are seen at once. */
    {
	DICT   *w;

	snprintf(spec, sizeof(spec), "hash:%s", src);
	d = dict_open(spec, O_RDONLY, DICT_FLAG_DEFAULT);
	w = dict_open(spec, O_RDWR, DICT_FLAG_DEFAULT);
	assert_null(dict_lookup(d, "added"));
	assert_int_equal(dict_update(w, "added", "in place"), DICT_STAT_SUCCESS);
	assert_string_equal(dict_lookup(d, "added"), "in place");
	assert_int_equal(dict_delete(w, "added"), DICT_STAT_SUCCESS);
	assert_null(dict_lookup(d, "added"));
	assert_int_equal(d->error, 0);
	dict_close(w);
	dict_close(d);
    }

    /* A table that does not exist yet defers, then works once built. */
    snprintf(src, sizeof(src), "%s/later", tmpdir);
    snprintf(spec, sizeof(spec), "lmdb:%s", src);
    d = dict_open(spec, O_RDONLY, DICT_FLAG_DEFAULT | DICT_FLAG_WATCH);
    assert_true(dict_is_surrogate(d));
    assert_null(dict_lookup(d, "key"));
    assert_int_equal(d->error, DICT_ERR_CONFIG);
    write_file(src, "key finally\n");
    mkmap_build("lmdb", src, MKMAP_POSTMAP, DICT_FLAG_DUP_WARN | DICT_FLAG_FOLD_FIX, 0);
    assert_string_equal(dict_lookup(d, "key"), "finally");
    assert_int_equal(d->error, 0);
    assert_false(dict_is_surrogate(d));
    dict_close(d);
    dict_watch_interval = 1;
}

static void test_berkeley_db_refused(void **state)
{
    char    path[300], name[256];
    unsigned char hdr[64];
    FILE   *fp;
    DICT   *d;

    memset(hdr, 0, sizeof(hdr));
    hdr[12] = 0x61;				/* 0x00061561: Berkeley DB hash */
    hdr[13] = 0x15;
    hdr[14] = 0x06;
    snprintf(name, sizeof(name), "%s/aliases", tmpdir);
    snprintf(path, sizeof(path), "%s.db", name);
    fp = fopen(path, "w");
    assert_non_null(fp);
    fwrite(hdr, 1, sizeof(hdr), fp);
    fclose(fp);
    d = dict_open3("hash", name, O_RDONLY, DICT_FLAG_DEFAULT);
    assert_true(dict_is_surrogate(d));
    assert_non_null(strstr(d->reason, "Berkeley DB"));
    assert_non_null(strstr(d->reason, "postalias hash:"));
    assert_null(dict_lookup(d, "root"));
    assert_int_equal(d->error, DICT_ERR_CONFIG);
    dict_close(d);
}

static void test_src_parsing(void **state)
{
    char    line1[] = "key value with  spaces";
    char    line2[] = "\"quoted key\" v";
    char    line3[] = "\"unbalanced v";
    char    line4[] = "keyonly";
    char   *k, *v;

    assert_int_equal(dict_src_split(line1, &k, &v), 0);
    assert_string_equal(k, "key");
    assert_string_equal(v, "value with  spaces");
    assert_int_equal(dict_src_split(line2, &k, &v), 0);
    assert_string_equal(k, "\"quoted key\"");
    assert_int_equal(dict_src_split(line3, &k, &v), DICT_SRC_UNBALANCED);
    assert_int_equal(dict_src_split(line4, &k, &v), -1);
}

static void test_alias_values(void **state)
{
    VSTR   *out = vstr_alloc(10);
    struct {
	const char *in;
	const char *out;
    }       cases[] = {
	{"x  ,  y,z", "x, y, z"},
	{"\"|/usr/bin/prog arg\", |/bin/cat", "\"|/usr/bin/prog arg\", |/bin/cat"},
	{"\\user, other", "user, other"},
	{"Name <e@f>", "Name <e@f>"},
	{"x (comment) , y", "x (comment), y"},
	{"a . b", "a.b"},
	{"\\\"a b\"", "\"\\\"a\" b \"\""},
	{":include:/etc/x", ":include:/etc/x"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
	dict_src_alias_value(out, cases[i].in);
	assert_string_equal(vstr_str(out), cases[i].out);
    }
    vstr_free(out);
}

static void test_type_names(void **state)
{
    const char *const *names = dict_type_names();
    int     n = 0;

    for (; names[n]; n++)
	if (n > 0)
	    assert_true(strcmp(names[n - 1], names[n]) < 0);
    assert_int_equal(n, 21);
    assert_true(dict_type_known("lmdb"));
    assert_true(dict_type_known("nis"));
    assert_false(dict_type_known("memcache"));
}

static int setup(void **state)
{
    assert_non_null(mkdtemp(tmpdir));
    return (0);
}

static int teardown(void **state)
{
    char    cmd[300];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return (system(cmd) == 0 ? 0 : -1);
}

/*
 * unix:passwd.byname keeps answers for a second (dict_text.c): repeated
 * and interleaved lookups, found and not found, give exactly what
 * getpwnam gives, also after more distinct keys than the cache holds.
 */
static void test_unix_passwd_cached(void **state)
{
    struct passwd *pw = getpwuid(getuid());
    char    want[1024], key[64];
    DICT   *d;

    assert_non_null(pw);
    snprintf(want, sizeof(want), "%s:%s:%ld:%ld:%s:%s:%s", pw->pw_name, pw->pw_passwd,
	     (long) pw->pw_uid, (long) pw->pw_gid, pw->pw_gecos, pw->pw_dir, pw->pw_shell);
    d = dict_open("unix:passwd.byname", O_RDONLY, DICT_FLAG_DEFAULT);
    assert_non_null(d);
    for (int round = 0; round < 2; round++) {
	assert_string_equal(dict_lookup(d, pw->pw_name), want);
	assert_null(dict_lookup(d, "no-such-user-postern-test"));
	assert_int_equal(d->error, 0);
    }
    for (int i = 0; i < 100; i++) {		/* more than the cache holds */
	snprintf(key, sizeof(key), "nobody-here-%d@example.com", i);
	assert_null(dict_lookup(d, key));
	if (i % 7 == 0)
	    assert_string_equal(dict_lookup(d, pw->pw_name), want);
    }
    assert_string_equal(dict_lookup(d, pw->pw_name), want);
    assert_null(dict_lookup(d, "nobody-here-3@example.com"));
    dict_close(d);
}

int     main(void)
{
    const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_virtual_canonical_order),
	cmocka_unit_test(test_multiple_delimiters),
	cmocka_unit_test(test_extension_returned),
	cmocka_unit_test(test_quoted_local_parts),
	cmocka_unit_test(test_access_order),
	cmocka_unit_test(test_transport_order),
	cmocka_unit_test(test_alias_order),
	cmocka_unit_test(test_domain_and_host_order),
	cmocka_unit_test(test_maps_error),
	cmocka_unit_test(test_pattern_tables_full_key_only),
	cmocka_unit_test(test_lmdb_operations),
	cmocka_unit_test(test_reopen_after_rebuild),
	cmocka_unit_test(test_berkeley_db_refused),
	cmocka_unit_test(test_src_parsing),
	cmocka_unit_test(test_alias_values),
	cmocka_unit_test(test_type_names),
	cmocka_unit_test(test_unix_passwd_cached),
    };

    return (cmocka_run_group_tests(tests, setup, teardown));
}
