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
#include <strings.h>
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
    int     rhs_file;			/* -F */
    int     mime;			/* -m */
    VSTR   *decoded;
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

	if (dict_split_spec(specs[i], &type, &name) < 0)
	    msg_fatal(DICT_SPEC_ERROR_FMT, specs[i]);
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

/* Postfix prints errno here ("Connection refused"); with none, this text. */
static void map_query_error(DICT *d, int err)
{
    msg_fatal("table %s:%s: query error: %s", d->type, d->name,
	      err ? strerror(err) : "Application error");
}

/* Search the tables in order; NULL when not found (fatal on error). */
static const char *map_find(DICT **dicts, int n, const char *key)
{
    const char *v;

    for (int i = 0; i < n; i++) {
	errno = 0;
	if ((v = dict_lookup(dicts[i], key)) != 0)
	    return (v);
	if (dicts[i]->error)
	    map_query_error(dicts[i], errno);
    }
    return (0);
}

static MAP_CMD *map_cmd_state;

/* -F: values are base64; print them decoded. */
static const char *map_value(const char *value)
{
    MAP_CMD *mc = map_cmd_state;

    if (mc == 0 || !mc->rhs_file)
	return (value);
    if (mc->decoded == 0)
	mc->decoded = vstr_alloc(1024);
    if (mkmap_base64_decode(mc->decoded, value) < 0)
	msg_fatal("malformed BASE64 value: %.30s", value);
    return (vstr_str(mc->decoded));
}

static void map_print(const char *key, const char *value, int alias)
{
    value = map_value(value);
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
 * each body line (the empty line after the headers included). With -m,
 * MIME structure is followed: the headers of each part and of attached
 * messages count as headers, not body lines.
 */
#define MIME_MAX_DEPTH	20

typedef struct {
    MAP_CMD *mc;
    DICT  **dicts;
    int     n;
    int     found;
    int     in_header;
    VSTR   *hdr;			/* pending logical header line */
    char   *bounds[MIME_MAX_DEPTH];	/* multipart boundaries, outer first */
    int     nbounds;
    char   *next_boundary;		/* from this header section */
    int     next_message;		/* message/rfc822 follows */
} MAP_MSG;

static void msg_query(MAP_MSG *mm, const char *key)
{
    const char *v;

    if ((v = map_find(mm->dicts, mm->n, key)) != 0) {
	map_print(key, v, 0);
	mm->found = 1;
    }
}

/* Content-Type: multipart/x; boundary="b" or message/rfc822. */
static void msg_content_type(MAP_MSG *mm, const char *hdr)
{
    const char *cp = hdr + 13;
    const char *bp;

    cp += strspn(cp, " \t\n");
    if (strncasecmp(cp, "message/rfc822", 14) == 0) {
	mm->next_message = 1;
	return;
    }
    if (strncasecmp(cp, "multipart/", 10) != 0)
	return;
    for (bp = cp; (bp = strchr(bp, ';')) != 0; bp++) {
	const char *pp = bp + 1 + strspn(bp + 1, " \t\n");
	size_t  len;

	if (strncasecmp(pp, "boundary=", 9) != 0)
	    continue;
	pp += 9;
	if (*pp == '"') {
	    pp++;
	    len = strcspn(pp, "\"");
	} else {
	    len = strcspn(pp, "; \t\n");
	}
	if (len > 0 && len <= 200) {
	    free(mm->next_boundary);
	    mm->next_boundary = xstrndup(pp, len);
	}
	return;
    }
}

static void msg_flush_header(MAP_MSG *mm)
{
    if (vstr_len(mm->hdr) == 0)
	return;
    if (mm->mc->mime && strncasecmp(vstr_str(mm->hdr), "content-type:", 13) == 0)
	msg_content_type(mm, vstr_str(mm->hdr));
    if (mm->mc->header)
	msg_query(mm, vstr_str(mm->hdr));
    vstr_reset(mm->hdr);
}

static void msg_body_line(MAP_MSG *mm, const char *line)
{
    if (mm->mc->body)
	msg_query(mm, line);
}

static void msg_line(MAP_MSG *mm, const char *s, size_t len)
{
    if (mm->in_header) {
	if (len > 0 && (s[0] == ' ' || s[0] == '\t') && vstr_len(mm->hdr) > 0) {
	    (void) vstr_addch(mm->hdr, '\n');
	    (void) vstr_append(mm->hdr, s, len);
	    return;
	}
	msg_flush_header(mm);
	if (len > 0) {
	    (void) vstr_cpy(mm->hdr, s);
	    return;
	}
	/* End of a header section: the empty line is a body line. */
	msg_body_line(mm, s);
	if (mm->next_boundary && mm->nbounds < MIME_MAX_DEPTH) {
	    mm->bounds[mm->nbounds++] = mm->next_boundary;
	    mm->next_boundary = 0;
	}
	mm->in_header = mm->next_message;	/* an attached message's headers */
	mm->next_message = 0;
	return;
    }
    if (mm->mc->mime && len > 2 && s[0] == '-' && s[1] == '-') {
	for (int i = mm->nbounds - 1; i >= 0; i--) {
	    size_t  blen = strlen(mm->bounds[i]);

	    if (strncmp(s + 2, mm->bounds[i], blen) != 0)
		continue;
	    msg_body_line(mm, s);
	    /* Deeper levels end here; "--b--" ends this one too. */
	    while (mm->nbounds > i + 1)
		free(mm->bounds[--mm->nbounds]);
	    if (strncmp(s + 2 + blen, "--", 2) == 0) {
		free(mm->bounds[--mm->nbounds]);
	    } else {
		mm->in_header = 1;
		free(mm->next_boundary);
		mm->next_boundary = 0;
		mm->next_message = 0;
	    }
	    return;
	}
    }
    msg_body_line(mm, s);
}

static int map_query_message(DICT **dicts, int n, MAP_CMD *mc)
{
    VSTR   *line = vstr_alloc(256);
    MAP_MSG mm;

    memset(&mm, 0, sizeof(mm));
    mm.mc = mc;
    mm.dicts = dicts;
    mm.n = n;
    mm.in_header = 1;
    mm.hdr = vstr_alloc(256);
    vstr_set_limit(mm.hdr, QUERY_LINE_LIMIT);
    while (map_getline(line, stdin, 0)) {
	if (vstr_len(line) > 0 && vstr_last(line) == '\r')
	    vstr_truncate(line, vstr_len(line) - 1);
	msg_line(&mm, vstr_str(line), vstr_len(line));
    }
    if (mm.in_header)
	msg_flush_header(&mm);
    while (mm.nbounds > 0)
	free(mm.bounds[--mm.nbounds]);
    free(mm.next_boundary);
    vstr_free(line);
    vstr_free(mm.hdr);
    return (mm.found);
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
    int     utf8_opt = 0;
    const char *optstr = alias ? "Nc:d:finopq:rsuvw" : "bc:d:fFhimnNopq:rsuUvw";
    int     status = 0;

    memset(&mc, 0, sizeof(mc));
    mc.alias = alias;
    map_cmd_state = &mc;
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
	    mc.rhs_file = 1;
	    break;
	case 'h':
	    mc.header = 1;
	    break;
	case 'm':
	    mc.mime = 1;
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
	    utf8_opt = -1;			/* no UTF-8 support */
	    break;
	case 'U':
	    utf8_opt = 1;			/* checks even with -b/-h */
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
    if ((mc.header || mc.body || mc.mime) && (query == 0 || strcmp(query, "-") != 0))
	msg_fatal("specify -b -h or -m only with \"-q -\"");
    if (mc.mime && !mc.header && !mc.body) {
	msg_warn("ignoring -m option without -b or -h");
	mc.mime = 0;
    }
    mail_conf_read();
    mc.dict_flags = DICT_FLAG_LOCK | null_flags | (fold ? DICT_FLAG_FOLD_FIX : 0);
    /* UTF-8 follows smtputf8_enable; -u turns it off, -b/-h too unless -U. */
    if (utf8_opt < 0 || ((mc.header || mc.body) && utf8_opt == 0))
	mc.dict_flags |= DICT_FLAG_NO_UTF8;
    if (mc.rhs_file && (query || show))
	mc.dict_flags |= DICT_FLAG_SRC_RHS_IS_FILE;	/* texthash:, inline: */

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
		fputs(map_value(v), stdout);
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
	if (mc.decoded)
	    vstr_free(mc.decoded);
	map_cmd_state = 0;
	return (found ? 0 : 1);
    }
    for (int i = optind; i < argc; i++) {
	char   *type;
	char   *name;

	/* Building: mkmap_build() reports an empty type or name as Postfix does. */
	(void) dict_split_spec(argv[i], &type, &name);
	int     syntax = (alias ? MKMAP_ALIAS : MKMAP_POSTMAP)
	| (mc.rhs_file ? MKMAP_RHS_FILE : 0);

	if (incremental)
	    mkmap_update_stdin(type, name, syntax, mc.dict_flags | dup_flags);
	else
	    mkmap_build(type, name, syntax, mc.dict_flags | dup_flags, options);
	free(type);
	free(name);
    }
    return (status);
}
