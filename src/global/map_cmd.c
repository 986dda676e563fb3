/*
 * map_cmd - the postmap(1) and postalias(1) commands (they differ only in
 * the source syntax, the output of -s, and the usage text).
 *
 * postmap [-bfFhimnNoprsuUvw] [-c config_dir] [-d key] [-q key] [map_type:]file...
 * postalias [-Nfinoprsuvw] [-c config_dir] [-d key] [-q key] [map_type:]file...
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dict.h"
#include "mail_conf.h"
#include "map_cmd.h"
#include "mem.h"
#include "mkmap.h"
#include "msg.h"
#include "stringops.h"
#include "vstr.h"

#define QUERY_LINE_LIMIT	DICT_MAX_KEY

typedef struct {
    int     alias;
    int     dict_flags;
    int     query_mode;			/* 'h', 'b', or 0 */
    int     body;
    int     header;
} MAP_CMD;

static void map_usage(int alias)
{
    if (alias)
	msg_fatal("usage: postalias [-Nfinoprsuvw] [-c config_dir] [-d key] [-q key] "
		  "[map_type:]file...");
    msg_fatal("usage: postmap [-bfFhimnNoprsuUvw] [-c config_dir] [-d key] [-q key] "
	      "[map_type:]file...");
}

static DICT **map_open_all(char **specs, int n, int open_flags, int dict_flags)
{
    DICT  **dicts = xcalloc((size_t) n, sizeof(DICT *));

    for (int i = 0; i < n; i++) {
	char   *type;
	char   *name;

	(void) dict_split_spec(specs[i], &type, &name);
	if (!dict_type_known(type))
	    msg_fatal("unsupported dictionary type: %s", type);
	dicts[i] = dict_open3(type, name, open_flags, dict_flags);
	if (dict_is_surrogate(dicts[i]))
	    msg_fatal("%s", dicts[i]->reason);
	free(type);
	free(name);
    }
    return (dicts);
}

static void map_query_error(DICT *d)
{
    msg_fatal("table %s:%s: query error: %s", d->type, d->name,
	      d->error == DICT_ERR_CONFIG ? "configuration error" : "Application error");
}

/* Search the tables in order; NULL when not found (fatal on error). */
static const char *map_find(DICT **dicts, int n, const char *key)
{
    const char *v;

    for (int i = 0; i < n; i++) {
	if ((v = dict_lookup(dicts[i], key)) != 0)
	    return (v);
	if (dicts[i]->error)
	    map_query_error(dicts[i]);
    }
    return (0);
}

static void map_print(const char *key, const char *value, int alias)
{
    fputs_unlocked(key, stdout);
    if (alias)
	putc_unlocked(':', stdout);
    putc_unlocked('\t', stdout);
    fputs_unlocked(value, stdout);
    putc_unlocked('\n', stdout);
}

/* Read one input line (bounded; excess dropped), without the newline. */
static int map_getline(VSTR *buf, FILE *fp, int nul_term)
{
    char    chunk[512];
    size_t  n = 0;
    int     ch;
    int     got = 0;
    int     end = nul_term ? 0 : '\n';

    vstr_reset(buf);
    while ((ch = getc_unlocked(fp)) != EOF) {
	got = 1;
	if (ch == end)
	    break;
	chunk[n++] = (char) ch;
	if (n == sizeof(chunk)) {
	    if (vstr_len(buf) + n <= QUERY_LINE_LIMIT)
		(void) vstr_append(buf, chunk, n);
	    n = 0;
	}
    }
    if (n > 0 && vstr_len(buf) + n <= QUERY_LINE_LIMIT)
	(void) vstr_append(buf, chunk, n);
    return (got);
}

/* -q - in plain mode: one key per line. */
static int map_query_stdin(DICT **dicts, int n, MAP_CMD *mc)
{
    VSTR   *buf = vstr_alloc(256);
    const char *v;
    int     found = 0;

    while (map_getline(buf, stdin, 0)) {
	if (vstr_len(buf) > 0 && vstr_last(buf) == '\r')
	    vstr_truncate(buf, vstr_len(buf) - 1);
	if ((v = map_find(dicts, n, vstr_str(buf))) != 0) {
	    map_print(vstr_str(buf), v, mc->alias);
	    found = 1;
	}
    }
    vstr_free(buf);
    return (found);
}

/*
 * -q - with -h and/or -b: standard input is a message. With -h, each
 * logical header line (continuation lines included) is a key; with -b,
 * each body line. -m (MIME headers) is treated as -h.
 */
static int map_query_message(DICT **dicts, int n, MAP_CMD *mc)
{
    VSTR   *line = vstr_alloc(256);
    VSTR   *hdr = vstr_alloc(256);
    const char *v;
    int     found = 0;
    int     in_body = 0;

#define FLUSH_HEADER() do { \
	if (vstr_len(hdr) > 0) { \
	    if (mc->header && (v = map_find(dicts, n, vstr_str(hdr))) != 0) { \
		map_print(vstr_str(hdr), v, 0); found = 1; } \
	    vstr_reset(hdr); } } while (0)

    while (map_getline(line, stdin, 0)) {
	if (vstr_len(line) > 0 && vstr_last(line) == '\r')
	    vstr_truncate(line, vstr_len(line) - 1);
	if (!in_body) {
	    const char *s = vstr_str(line);

	    if (vstr_len(line) == 0) {
		FLUSH_HEADER();
		in_body = 1;
		continue;
	    }
	    if ((s[0] == ' ' || s[0] == '\t') && vstr_len(hdr) > 0) {
		(void) vstr_addch(hdr, '\n');
		(void) vstr_append(hdr, s, vstr_len(line));
		continue;
	    }
	    FLUSH_HEADER();
	    (void) vstr_cpy(hdr, s);
	    continue;
	}
	if (mc->body && (v = map_find(dicts, n, vstr_str(line))) != 0) {
	    map_print(vstr_str(line), v, 0);
	    found = 1;
	}
    }
    FLUSH_HEADER();
    vstr_free(line);
    vstr_free(hdr);
    return (found);
}

static int map_delete_key(DICT **dicts, int n, const char *key)
{
    int     found = 0;

    for (int i = 0; i < n; i++) {
	int     rc = dict_delete(dicts[i], key);

	if (rc == DICT_STAT_SUCCESS)
	    found = 1;
	else if (rc == DICT_STAT_ERROR)
	    msg_fatal("table %s:%s: delete error", dicts[i]->type, dicts[i]->name);
    }
    return (found);
}

int     map_cmd_main(int argc, char **argv, int alias)
{
    MAP_CMD mc;
    int     ch;
    int     fold = 1;
    int     incremental = 0;
    int     show = 0;
    int     options = 0;
    int     null_flags = 0;
    int     dup_flags = DICT_FLAG_DUP_WARN;
    const char *query = 0;
    const char *del = 0;
    int     nul_input = 0;
    const char *optstr = alias ? "Nc:d:finopq:rsuvw" : "bc:d:fFhimnNopq:rsuUvw";
    int     status = 0;

    memset(&mc, 0, sizeof(mc));
    mc.alias = alias;
    msg_init(argv[0], 1);
    while ((ch = getopt(argc, argv, optstr)) != -1) {
	switch (ch) {
	case 'b':
	    mc.body = 1;
	    break;
	case 'c':
	    mail_conf_set_dir(optarg);
	    break;
	case 'd':
	    if (del || query)
		msg_fatal("specify only one of -s -q or -d");
	    del = optarg;
	    break;
	case 'f':
	    fold = 0;
	    break;
	case 'F':
	    msg_fatal("-F (base64-encoded file values) is not supported by postern");
	case 'h':
	case 'm':
	    mc.header = 1;
	    break;
	case 'i':
	    incremental = 1;
	    break;
	case 'n':
	    nul_input = 0;
	    null_flags = DICT_FLAG_TRY0NULL;
	    break;
	case 'N':
	    null_flags = DICT_FLAG_TRY1NULL;
	    break;
	case 'o':
	    options |= MKMAP_OPT_KEEP_ROOT;
	    break;
	case 'p':
	    options |= MKMAP_OPT_NO_PERM_INHERIT;
	    break;
	case 'q':
	    if (del || query)
		msg_fatal("specify only one of -s -q or -d");
	    query = optarg;
	    break;
	case 'r':
	    dup_flags = DICT_FLAG_DUP_REPLACE;
	    break;
	case 's':
	    if (del || query)
		msg_fatal("specify only one of -s -q or -d");
	    show = 1;
	    break;
	case 'u':
	case 'U':
	    break;
	case 'v':
	    msg_verbose++;
	    break;
	case 'w':
	    dup_flags = DICT_FLAG_DUP_IGNORE;
	    break;
	default:
	    map_usage(alias);
	}
    }
    (void) nul_input;
    if (optind >= argc)
	map_usage(alias);
    if (show && (query || del))
	msg_fatal("specify only one of -s -q or -d");
    if ((mc.header || mc.body) && (query == 0 || strcmp(query, "-") != 0))
	msg_fatal("%s requires -q -", mc.header ? "-h" : "-b");
    mail_conf_read();
    mc.dict_flags = DICT_FLAG_LOCK | null_flags | (fold ? DICT_FLAG_FOLD_FIX : 0);

    if (query || show || del) {
	int     n = argc - optind;
	int     open_flags = del ? O_RDWR : O_RDONLY;
	DICT  **dicts = map_open_all(argv + optind, n, open_flags, mc.dict_flags | dup_flags);
	int     found = 0;

	if (query && strcmp(query, "-") == 0) {
	    static char obuf[1 << 16];

	    setvbuf(stdout, obuf, _IOFBF, sizeof(obuf));
	    found = (mc.header || mc.body) ? map_query_message(dicts, n, &mc)
		: map_query_stdin(dicts, n, &mc);
	} else if (query) {
	    const char *v = map_find(dicts, n, query);

	    if (v) {
		fputs(v, stdout);
		putchar('\n');
		found = 1;
	    }
	} else if (del && strcmp(del, "-") == 0) {
	    VSTR   *buf = vstr_alloc(100);

	    while (map_getline(buf, stdin, 0))
		if (map_delete_key(dicts, n, vstr_str(buf)))
		    found = 1;
	    vstr_free(buf);
	} else if (del) {
	    found = map_delete_key(dicts, n, del);
	} else {
	    const char *k, *v;

	    found = 1;
	    for (int i = 0; i < n; i++) {
		int     rc;

		if (dicts[i]->sequence == 0)
		    msg_fatal("table %s:%s: sequence operation is not supported",
			      dicts[i]->type, dicts[i]->name);
		rc = dict_sequence(dicts[i], DICT_SEQ_FUN_FIRST, &k, &v);

		while (rc == DICT_STAT_SUCCESS) {
		    map_print(k, v, alias);
		    rc = dict_sequence(dicts[i], DICT_SEQ_FUN_NEXT, &k, &v);
		}
		if (rc == DICT_STAT_ERROR)
		    msg_fatal("table %s:%s: sequence error", dicts[i]->type, dicts[i]->name);
	    }
	}
	if (fflush(stdout) == EOF)
	    msg_fatal("write error on standard output: %s", strerror(errno));
	for (int i = 0; i < n; i++)
	    dict_close(dicts[i]);
	free(dicts);
	return (found ? 0 : 1);
    }
    for (int i = optind; i < argc; i++) {
	char   *type;
	char   *name;

	(void) dict_split_spec(argv[i], &type, &name);
	if (incremental)
	    mkmap_update_stdin(type, name, alias ? MKMAP_ALIAS : MKMAP_POSTMAP,
			       mc.dict_flags | dup_flags);
	else
	    mkmap_build(type, name, alias ? MKMAP_ALIAS : MKMAP_POSTMAP,
			mc.dict_flags | dup_flags, options);
	free(type);
	free(name);
    }
    return (status);
}
