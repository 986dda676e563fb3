/*
 * cleanup_policy - address rewriting and content checks in cleanup
 * (see cleanup_policy.h and docs/policy.md).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "argv.h"
#include "cleanup.h"
#include "cleanup_policy.h"
#include "dict.h"
#include "mail_addr_find.h"
#include "mail_conf.h"
#include "maps.h"
#include "mem.h"
#include "msg.h"
#include "rec_type.h"
#include "resolve_class.h"
#include "stringops.h"
#include "vstr.h"

/*
 * Tables from main.cf parameters, reopened when the value changes.
 */
typedef struct CP_MAPS {
    const char *param;
    char   *value;
    MAPS   *maps;
} CP_MAPS;

static CP_MAPS cp_maps[] = {
    {"canonical_maps", 0, 0}, {"sender_canonical_maps", 0, 0},
    {"recipient_canonical_maps", 0, 0}, {"virtual_alias_maps", 0, 0},
    {"header_checks", 0, 0}, {"mime_header_checks", 0, 0},
    {"nested_header_checks", 0, 0}, {"body_checks", 0, 0}, {0, 0, 0},
};

static MAPS *cp_get_maps(const char *param)
{
    for (CP_MAPS *m = cp_maps; m->param; m++) {
	if (strcmp(m->param, param) != 0)
	    continue;
	{
	    const char *v = mail_conf_str(param);

	    if (m->value == 0 || strcmp(m->value, v) != 0) {
		if (m->maps)
		    maps_free(m->maps);
		free(m->value);
		m->value = xstrdup(v);
		m->maps = *v ? maps_create(param, v, DICT_FLAG_DEFAULT) : 0;
	    }
	    return (m->maps);
	}
    }
    msg_panic("cp_get_maps: unknown parameter %s", param);
}

/* Is the class named in a list parameter such as canonical_classes? */
static int cp_class_listed(const char *param, int addr_class)
{
    static const char *const names[] = {0, "envelope_sender", "envelope_recipient",
    "header_sender", "header_recipient"};
    char   *buf = xstrdup(mail_conf_str(param));
    char   *bp = buf;
    char   *item;
    int     found = 0;

    if (addr_class < 1 || addr_class > 4) {
	free(buf);
	return (0);
    }
    while ((item = mystrtok(&bp, CHARS_COMMA_SP)) != 0)
	if (strcasecmp(item, names[addr_class]) == 0) {
	    found = 1;
	    break;
	}
    free(buf);
    return (found);
}

/* Append $myorigin to a bare local part, as cleanup does. */
static void cp_complete(VSTR *addr)
{
    if (vstr_len(addr) && strchr(vstr_str(addr), '@') == 0)
	cleanup_complete_addr(addr);
}

/* Put an unmatched extension ("+ext") back into a lookup result. */
static void cp_add_ext(VSTR *addr, const char *ext, const char *feature)
{
    const char *at;
    VSTR   *t;

    if (ext == 0 || *ext == 0 || strstr(mail_conf_str("propagate_unmatched_extensions"), feature) == 0)
	return;
    t = vstr_alloc(vstr_len(addr) + strlen(ext) + 1);
    if ((at = strrchr(vstr_str(addr), '@')) != 0) {
	vstr_append(t, vstr_str(addr), (size_t) (at - vstr_str(addr)));
	vstr_cat(t, ext);
	vstr_cat(t, at);
    } else {
	vstr_cpy(t, vstr_str(addr));
	vstr_cat(t, ext);
    }
    vstr_cpy(addr, vstr_str(t));
    vstr_free(t);
}

/* First address of a table result; "@domain" results keep the local part. */
static void cp_result_addr(const char *value, const char *orig, VSTR *out)
{
    size_t  n;
    const char *at;

    while (*value == ' ' || *value == '\t' || *value == ',')
	value++;
    n = strcspn(value, ", \t");
    vstr_reset(out);
    if (*value == '@' && (at = strrchr(orig, '@')) != 0)
	vstr_append(out, orig, (size_t) (at - orig));
    vstr_append(out, value, n);
}

int     cleanup_policy_map11(MAPS *maps, VSTR *addr)
{
    VSTR   *next = vstr_alloc(64);
    int     count;

    for (count = 0; count < 100; count++) {
	char   *ext = 0;
	const char *v = mail_addr_find(maps, vstr_str(addr), &ext);

	if (v == 0) {
	    free(ext);
	    vstr_free(next);
	    if (maps->error) {
		msg_warn("%s map lookup problem for %s", maps->title, vstr_str(addr));
		return (-1);
	    }
	    return (0);
	}
	cp_result_addr(v, vstr_str(addr), next);
	cp_complete(next);
	cp_add_ext(next, ext, "canonical");
	free(ext);
	if (strcasecmp(vstr_str(next), vstr_str(addr)) == 0)
	    break;
	vstr_cpy(addr, vstr_str(next));
    }
    if (count == 100)
	msg_warn("%s: unreasonable %s map nesting for %s", msg_progname(), maps->title, vstr_str(addr));
    vstr_free(next);
    return (0);
}

void    cleanup_policy_masquerade(VSTR *addr)
{
    const char *domains = mail_conf_str("masquerade_domains");
    const char *at = strrchr(vstr_str(addr), '@');
    char   *buf, *bp, *masq;
    size_t  dlen;

    if (*domains == 0 || at == 0 || at[1] == 0 || at[1] == '[')
	return;
    /* masquerade_exceptions: local parts that keep their full domain. */
    {
	char   *exc = xstrdup(mail_conf_str("masquerade_exceptions"));
	char   *ep = exc, *user;
	char   *local = xstrndup(vstr_str(addr), (size_t) (at - vstr_str(addr)));
	int     skip = 0;

	while (!skip && (user = mystrtok(&ep, CHARS_COMMA_SP)) != 0)
	    skip = strcasecmp(user, local) == 0;
	free(exc);
	free(local);
	if (skip)
	    return;
    }
    dlen = strlen(at + 1);
    buf = xstrdup(domains);
    bp = buf;
    while ((masq = mystrtok(&bp, CHARS_COMMA_SP)) != 0) {
	int     excluded = 0;
	size_t  mlen;
	const char *domain = at + 1;

	while (*masq == '!') {
	    excluded = !excluded;
	    masq++;
	}
	mlen = strlen(masq);
	if (mlen == 0)
	    continue;
	if (mlen == dlen) {
	    if (strcasecmp(masq, domain) == 0)
		break;
	} else if (mlen < dlen) {
	    const char *parent = domain + dlen - mlen;

	    if (parent[-1] == '.' && strcasecmp(masq, parent) == 0) {
		if (!excluded) {
		    vstr_truncate(addr, (size_t) (domain - vstr_str(addr)));
		    vstr_cat(addr, masq);
		}
		break;
	    }
	}
    }
    free(buf);
}

int     cleanup_policy_rewrite(VSTR *addr, int addr_class)
{
    MAPS   *m;
    int     sender = (addr_class == CLEANUP_ADDR_SENDER || addr_class == CLEANUP_ADDR_HDR_FROM);

    if (vstr_len(addr) == 0)
	return (0);
    if (sender && cp_class_listed("sender_canonical_classes", addr_class)
	&& (m = cp_get_maps("sender_canonical_maps")) != 0 && cleanup_policy_map11(m, addr) < 0)
	return (-1);
    if (!sender && cp_class_listed("recipient_canonical_classes", addr_class)
	&& (m = cp_get_maps("recipient_canonical_maps")) != 0 && cleanup_policy_map11(m, addr) < 0)
	return (-1);
    if (cp_class_listed("canonical_classes", addr_class)
	&& (m = cp_get_maps("canonical_maps")) != 0 && cleanup_policy_map11(m, addr) < 0)
	return (-1);
    if (cp_class_listed("masquerade_classes", addr_class))
	cleanup_policy_masquerade(addr);
    return (0);
}

ARGV   *cleanup_policy_virtual(const char *addr, VSTR *why)
{
    MAPS   *maps = cp_get_maps("virtual_alias_maps");
    long    rlimit = mail_conf_int("virtual_alias_recursion_limit");
    long    xlimit = mail_conf_int("virtual_alias_expansion_limit");
    ARGV   *list = argv_alloc(4);
    int    *depth, *done;
    size_t  cap = 4;
    VSTR   *one = vstr_alloc(64);

    argv_add(list, addr);
    if (maps == 0) {
	vstr_free(one);
	return (list);
    }
    depth = xcalloc(cap, sizeof(int));
    done = xcalloc(cap, sizeof(int));
    for (size_t i = 0; i < list->argc;) {
	char   *ext = 0;
	const char *v;
	char   *value, *vp, *item;
	char   *self = xstrdup(list->argv[i]);
	ARGV   *res;

	if (done[i]) {
	    free(self);
	    i++;
	    continue;
	}
	v = mail_addr_find(maps, self, &ext);
	if (v == 0) {
	    free(ext);
	    free(self);
	    if (maps->error) {
		vstr_fmt(why, "%s map lookup problem for %s -- message not accepted, try again later",
			 maps->title, addr);
		goto fail;
	    }
	    done[i] = 1;
	    i++;
	    continue;
	}
	if (depth[i] + 1 > rlimit) {
	    free(ext);
	    free(self);
	    vstr_fmt(why, "unreasonable %s map nesting for %s -- message not accepted, try again later",
		     maps->title, addr);
	    goto fail;
	}
	/* The result: addresses separated by comma or white space. */
	res = argv_alloc(4);
	value = xstrdup(v);
	vp = value;
	while ((item = mystrtok(&vp, CHARS_COMMA_SP)) != 0) {
	    cp_result_addr(item, self, one);
	    cp_complete(one);
	    cp_add_ext(one, ext, "virtual");
	    argv_add(res, vstr_str(one));
	}
	free(value);
	free(ext);
	if (res->argc == 0) {
	    argv_free(res);
	    free(self);
	    done[i] = 1;
	    i++;
	    continue;
	}
	{
	    int     d = depth[i] + 1;

	    argv_delete(list, i, 1);
	    argv_insert(list, i, res->argv[0]);
	    for (size_t j = 1; j < res->argc; j++)
		argv_add(list, res->argv[j]);
	    if (list->argc + 1 > cap) {
		size_t  old = cap;

		while (cap < list->argc + 1)
		    cap *= 2;
		depth = xrealloc(depth, cap * sizeof(int));
		done = xrealloc(done, cap * sizeof(int));
		memset(depth + old, 0, (cap - old) * sizeof(int));
		memset(done + old, 0, (cap - old) * sizeof(int));
	    }
	    depth[i] = d;
	    done[i] = strcasecmp(res->argv[0], self) == 0;
	    for (size_t j = 1; j < res->argc; j++) {
		size_t  k = list->argc - res->argc + j;

		depth[k] = d;
		done[k] = strcasecmp(res->argv[j], self) == 0;
	    }
	}
	argv_free(res);
	free(self);
	if ((long) list->argc > xlimit) {
	    vstr_fmt(why, "unreasonable %s map expansion size for %s -- message not accepted, try again later",
		     maps->title, addr);
	    goto fail;
	}
    }
    free(depth);
    free(done);
    vstr_free(one);
    return (list);

fail:
    free(depth);
    free(done);
    vstr_free(one);
    argv_free(list);
    return (0);
}

int     cleanup_policy_action(const char *value, const char **text)
{
    static const struct {
	const char *name;
	int     action;
    }       acts[] = {
	{"REJECT", CP_ACT_REJECT}, {"WARN", CP_ACT_WARN}, {"INFO", CP_ACT_INFO},
	{"HOLD", CP_ACT_HOLD}, {"DISCARD", CP_ACT_DISCARD}, {"IGNORE", CP_ACT_IGNORE},
	{"REPLACE", CP_ACT_REPLACE}, {"PREPEND", CP_ACT_PREPEND},
	{"REDIRECT", CP_ACT_REDIRECT}, {"FILTER", CP_ACT_FILTER}, {"DUNNO", CP_ACT_DUNNO},
	{"OK", CP_ACT_OK}, {0, 0},
    };
    size_t  n;

    while (isspace((unsigned char) *value))
	value++;
    n = strcspn(value, " \t");
    *text = value + n;
    while (isspace((unsigned char) **text))
	(*text)++;
    for (int i = 0; acts[i].name; i++)
	if (strlen(acts[i].name) == n && strncasecmp(value, acts[i].name, n) == 0)
	    return (acts[i].action);
    *text = value;
    return (CP_ACT_UNKNOWN);
}

/*
 * Per-message state.
 */
#define MODE_BODY	0
#define MODE_PART_HDR	1
#define MODE_NESTED_HDR	2

#define KIND_OTHER	0
#define KIND_MULTIPART	1
#define KIND_MESSAGE	2

typedef struct CP_STATE {
    char   *client_name;
    char   *client_addr;
    char   *helo;
    char   *proto;
    int     stop;			/* REJECT or DISCARD: no more checks */
    char   *redirect;
    char   *filter;
    int     started;			/* body seen */
    int     mode;
    int     next_kind;			/* what follows the current header block */
    char   *next_boundary;
    ARGV   *boundaries;
    VSTR   *hdr;			/* MIME/nested header being assembled */
    int     prev_cont;		/* previous record was a fragment */
    long    seg_bytes;			/* body bytes checked in this segment */
    int     body_maps_known;		/* body_maps looked up for this message */
    MAPS   *body_maps;			/* body_checks (0: none) */
} CP_STATE;

static CP_STATE *cp_state(CLEANUP *cl)
{
    void  **slot = cleanup_policy_slot(cl);

    if (*slot == 0) {
	CP_STATE *cp = xcalloc(1, sizeof(*cp));

	cp->boundaries = argv_alloc(2);
	cp->hdr = vstr_alloc(128);
	vstr_set_limit(cp->hdr, (size_t) mail_conf_int("header_size_limit") + 1024);
	*slot = cp;
    }
    return (*slot);
}

static void cp_free(CLEANUP *cl)
{
    void  **slot = cleanup_policy_slot(cl);
    CP_STATE *cp = *slot;

    free(cp->client_name);
    free(cp->client_addr);
    free(cp->helo);
    free(cp->proto);
    free(cp->redirect);
    free(cp->filter);
    free(cp->next_boundary);
    argv_free(cp->boundaries);
    vstr_free(cp->hdr);
    free(cp);
    *slot = 0;
}

static void cp_attr(CLEANUP *cl, const char *name, const char *value)
{
    CP_STATE *cp = cp_state(cl);
    char  **field = 0;

    if (strcmp(name, MAIL_ATTR_LOG_CLIENT_NAME) == 0)
	field = &cp->client_name;
    else if (strcmp(name, MAIL_ATTR_LOG_CLIENT_ADDR) == 0)
	field = &cp->client_addr;
    else if (strcmp(name, MAIL_ATTR_LOG_HELO_NAME) == 0)
	field = &cp->helo;
    else if (strcmp(name, MAIL_ATTR_LOG_PROTO_NAME) == 0)
	field = &cp->proto;
    if (field) {
	free(*field);
	*field = xstrdup(value);
    }
}

/* "QID: what: header|body TEXT from name[addr]; from=<> to=<> proto= helo=<>: msg" */
static void cp_log(CLEANUP *cl, const char *what, const char *where, const char *line,
		           const char *msg)
{
    CP_STATE *cp = cp_state(cl);
    VSTR   *vp = vstr_alloc(256);
    const char *rcpt = cleanup_last_rcpt(cl);
    const char *sender = cleanup_sender_addr(cl);

    vstr_fmt(vp, "%s: %s: %s %s from ", cleanup_queue_id(cl), what, where, line);
    if (cp->client_addr)
	vstr_fmt_append(vp, "%s[%s]", cp->client_name ? cp->client_name : "unknown", cp->client_addr);
    else
	vstr_cat(vp, "local");
    vstr_fmt_append(vp, "; from=<%s>", sender ? sender : "");
    if (rcpt)
	vstr_fmt_append(vp, " to=<%s>", rcpt);
    if (cp->proto)
	vstr_fmt_append(vp, " proto=%s", cp->proto);
    if (cp->helo)
	vstr_fmt_append(vp, " helo=<%s>", cp->helo);
    if (msg && *msg)
	vstr_fmt_append(vp, ": %s", msg);
    msg_info("%s", vstr_str(vp));		/* "QID: warning: ..." is an info line */
    vstr_free(vp);
}

/*
 * Apply one check table to a line (header or body). Returns the action
 * taken: CP_ACT_IGNORE (drop it), CP_ACT_REPLACE (line replaced in out),
 * else CP_ACT_DUNNO (keep it; PREPEND output done).
 */
static int cp_check(CLEANUP *cl, MAPS *maps, const char *where, const char *line,
		            VSTR *out, int is_header)
{
    CP_STATE *cp = cp_state(cl);
    const char *value;
    const char *text;
    char   *copy;
    int     act;
    int     rc = CP_ACT_DUNNO;

    if (maps == 0 || cp->stop)
	return (CP_ACT_DUNNO);
    value = maps_find(maps, line, 0);
    if (value == 0) {
	if (maps->error) {
	    msg_warn("%s: %s map lookup problem -- message not accepted, try again later",
		     cleanup_queue_id(cl), maps->title);
	    cleanup_set_status(cl, CLEANUP_STAT_DEFER, "451 4.3.0 Error: queue file write error");
	    cp->stop = 1;
	}
	return (CP_ACT_DUNNO);
    }
    copy = xstrdup(value);
    act = cleanup_policy_action(copy, &text);
    switch (act) {
    case CP_ACT_REJECT:{
	    VSTR   *reply = vstr_alloc(64);
	    const char *dsn = "5.7.1";
	    char    dbuf[16];

	    if (*text == 0)
		text = "message content rejected";
	    else if ((text[0] == '4' || text[0] == '5') && text[1] == '.') {
		size_t  dl = strcspn(text, " ");

		if (dl < sizeof(dbuf)) {
		    memcpy(dbuf, text, dl);
		    dbuf[dl] = 0;
		    dsn = dbuf;
		    text += dl;
		    while (*text == ' ')
			text++;
		}
	    }
	    vstr_fmt(reply, "%s %s", dsn, text);
	    cp_log(cl, "reject", where, line, vstr_str(reply));
	    vstr_fmt(reply, "%d %s %s", dsn[0] == '4' ? 450 : 550, dsn, text);
	    cleanup_set_status(cl, dsn[0] == '4' ? CLEANUP_STAT_DEFER : CLEANUP_STAT_CONT,
			       vstr_str(reply));
	    vstr_free(reply);
	    cp->stop = 1;
	    break;
	}
    case CP_ACT_WARN:
	cp_log(cl, "warning", where, line, text);
	break;
    case CP_ACT_INFO:
	cp_log(cl, "info", where, line, text);
	break;
    case CP_ACT_HOLD:
	cp_log(cl, "hold", where, line, text);
	cleanup_hold(cl);
	break;
    case CP_ACT_DISCARD:
	cp_log(cl, "discard", where, line, text);
	cleanup_discard(cl);
	cp->stop = 1;
	break;
    case CP_ACT_IGNORE:
	rc = CP_ACT_IGNORE;
	break;
    case CP_ACT_REPLACE:
    case CP_ACT_PREPEND:
	if (*text == 0 || (is_header && (strchr(text, ':') == 0 || *text == ':'))) {
	    msg_warn("%s: %s map: bad %s text: \"%s\" -- ignored", cleanup_queue_id(cl), maps->title,
		     act == CP_ACT_REPLACE ? "REPLACE" : "PREPEND", text);
	    break;
	}
	cp_log(cl, act == CP_ACT_REPLACE ? "replace" : "prepend", where, line, text);
	if (act == CP_ACT_REPLACE) {
	    vstr_cpy(out, text);
	    rc = CP_ACT_REPLACE;
	} else if (is_header)
	    cleanup_header_write(cl, text);
	else
	    cleanup_body_write(cl, REC_TYPE_NORM, text, strlen(text));
	break;
    case CP_ACT_REDIRECT:
    case CP_ACT_FILTER:
	if (*text == 0 || (act == CP_ACT_FILTER && strchr(text, ':') == 0)) {
	    msg_warn("%s: %s map: bad %s argument: \"%s\" -- ignored", cleanup_queue_id(cl),
		     maps->title, act == CP_ACT_REDIRECT ? "REDIRECT" : "FILTER", text);
	    break;
	}
	cp_log(cl, act == CP_ACT_REDIRECT ? "redirect" : "filter", where, line, text);
	if (act == CP_ACT_REDIRECT) {
	    free(cp->redirect);
	    cp->redirect = xstrdup(text);
	} else {
	    free(cp->filter);
	    cp->filter = xstrdup(text);
	}
	break;
    case CP_ACT_DUNNO:
    case CP_ACT_OK:
	break;
    default:
	msg_warn("%s: %s map: unknown command: \"%s\" -- ignored", cleanup_queue_id(cl),
		 maps->title, copy);
	break;
    }
    free(copy);
    return (rc);
}

static int cp_is_mime_header(const char *hdr)
{
    return (strncasecmp(hdr, "content-", 8) == 0 || strncasecmp(hdr, "mime-version:", 13) == 0);
}

/* Content-Type: what follows the headers (multipart boundary, message). */
static void cp_content_type(CP_STATE *cp, const char *hdr)
{
    const char *v = strchr(hdr, ':');
    const char *b;

    if (v == 0)
	return;
    v++;
    while (isspace((unsigned char) *v))
	v++;
    if (strncasecmp(v, "multipart/", 10) == 0 && (b = strcasestr(v, "boundary=")) != 0) {
	size_t  n;

	b += 9;
	if (*b == '"') {
	    b++;
	    n = strcspn(b, "\"");
	} else
	    n = strcspn(b, " \t;\r\n");
	if (n > 0 && n <= 70) {
	    free(cp->next_boundary);
	    cp->next_boundary = xstrndup(b, n);
	    cp->next_kind = KIND_MULTIPART;
	}
    } else if (strncasecmp(v, "message/rfc822", 14) == 0) {
	cp->next_kind = KIND_MESSAGE;
    }
}

/* Primary headers: header_checks (MIME headers: mime_header_checks). */
static int cp_header(CLEANUP *cl, VSTR *hdr, int *status)
{
    CP_STATE *cp = cp_state(cl);
    int     mime = cp_is_mime_header(vstr_str(hdr));
    VSTR   *out = vstr_alloc(64);
    int     act;

    if (strncasecmp(vstr_str(hdr), "content-type:", 13) == 0)
	cp_content_type(cp, vstr_str(hdr));
    act = cp_check(cl, cp_get_maps(mime ? "mime_header_checks" : "header_checks"), "header",
		   vstr_str(hdr), out, 1);
    if (act == CP_ACT_REPLACE)
	vstr_cpy(hdr, vstr_str(out));
    vstr_free(out);
    return (act == CP_ACT_IGNORE);
}

/* A complete MIME part or nested message header. */
static void cp_body_header_done(CLEANUP *cl, CP_STATE *cp)
{
    int     mime = cp_is_mime_header(vstr_str(cp->hdr));
    const char *param = mime ? "mime_header_checks"
	: cp->mode == MODE_NESTED_HDR ? "nested_header_checks" : "header_checks";
    VSTR   *out = vstr_alloc(64);
    int     act;

    if (vstr_len(cp->hdr) == 0) {
	vstr_free(out);
	return;
    }
    if (strncasecmp(vstr_str(cp->hdr), "content-type:", 13) == 0)
	cp_content_type(cp, vstr_str(cp->hdr));
    act = cp_check(cl, cp_get_maps(param), "header", vstr_str(cp->hdr), out, 1);
    if (act == CP_ACT_REPLACE)
	cleanup_header_write(cl, vstr_str(out));
    else if (act != CP_ACT_IGNORE)
	cleanup_header_write(cl, vstr_str(cp->hdr));
    vstr_reset(cp->hdr);
    vstr_free(out);
}

static int cp_header_start(const char *data, size_t len)
{
    for (size_t i = 0; i < len; i++) {
	unsigned char ch = (unsigned char) data[i];

	if (ch == ':')
	    return (i > 0);
	if (ch <= ' ' || ch > '~')
	    return (0);
    }
    return (0);
}

/* After a header block: what the Content-Type said. */
static void cp_headers_end(CP_STATE *cp)
{
    if (cp->next_kind == KIND_MULTIPART && cp->next_boundary) {
	argv_add(cp->boundaries, cp->next_boundary);
	cp->mode = MODE_BODY;
    } else if (cp->next_kind == KIND_MESSAGE) {
	cp->mode = MODE_NESTED_HDR;
    } else
	cp->mode = MODE_BODY;
    cp->next_kind = KIND_OTHER;
    free(cp->next_boundary);
    cp->next_boundary = 0;
    cp->seg_bytes = 0;
}

/* Is this line a boundary of an enclosing multipart? 1 part, 2 close, 0 no. */
static int cp_boundary(CP_STATE *cp, const char *data, size_t len)
{
    if (len < 3 || data[0] != '-' || data[1] != '-')
	return (0);
    for (size_t i = cp->boundaries->argc; i-- > 0;) {
	const char *b = cp->boundaries->argv[i];
	size_t  bl = strlen(b);

	if (len >= bl + 2 && memcmp(data + 2, b, bl) == 0) {
	    int     close = len >= bl + 4 && data[bl + 2] == '-' && data[bl + 3] == '-';

	    argv_truncate(cp->boundaries, close ? i : i + 1);
	    return (close ? 2 : 1);
	}
    }
    return (0);
}

static void cp_body(CLEANUP *cl, int type, const char *data, size_t len)
{
    CP_STATE *cp = cp_state(cl);
    int     cont = cp->prev_cont;
    MAPS   *maps;

    if (!cp->started) {
	cp->started = 1;
	cp_headers_end(cp);			/* the primary headers' Content-Type */
    }
    if (data == 0) {			/* end of message */
	if (cp->mode != MODE_BODY)
	    cp_body_header_done(cl, cp);
	return;
    }
    cp->prev_cont = (type == REC_TYPE_CONT);
    if (cp->mode != MODE_BODY) {
	if (cont || (len > 0 && (data[0] == ' ' || data[0] == '\t') && vstr_len(cp->hdr))) {
	    if (!cont)
		vstr_addch(cp->hdr, '\n');
	    vstr_append(cp->hdr, data, len);
	    return;
	}
	cp_body_header_done(cl, cp);
	if (len > 0 && cp_header_start(data, len)) {
	    vstr_append(cp->hdr, data, len);
	    return;
	}
	cp_headers_end(cp);
	if (len == 0) {
	    cleanup_body_write(cl, type, data, len);
	    return;
	}
    }
    /* Body line (or boundary). */
    if (!cont) {
	int     b = cp_boundary(cp, data, len);

	if (b == 1) {
	    cp->mode = MODE_PART_HDR;
	    cp->next_kind = KIND_OTHER;
	}
	if (b)
	    cp->seg_bytes = 0;
    }
    /* No body_checks (the usual case): no per-line work at all. */
    if (!cp->body_maps_known) {		/* once per message */
	cp->body_maps = cp_get_maps("body_checks");
	cp->body_maps_known = 1;
    }
    if ((maps = cp->body_maps) != 0 && !cp->stop
	&& cp->seg_bytes < mail_conf_int("body_checks_size_limit")) {
	char   *line = xstrndup(data, len);
	VSTR   *out = vstr_alloc(64);
	int     act;

	cp->seg_bytes += (long) len + 1;
	act = cp_check(cl, maps, "body", line, out, 0);
	free(line);
	if (act == CP_ACT_REPLACE)
	    cleanup_body_write(cl, type, vstr_str(out), vstr_len(out));
	else if (act != CP_ACT_IGNORE)
	    cleanup_body_write(cl, type, data, len);
	vstr_free(out);
	return;
    }
    cleanup_body_write(cl, type, data, len);
}

void    cleanup_policy_redirect(CLEANUP *cl, const char *addr)
{
    CP_STATE *cp = cp_state(cl);

    free(cp->redirect);
    cp->redirect = xstrdup(addr);
}

void    cleanup_policy_filter(CLEANUP *cl, const char *filter)
{
    CP_STATE *cp = cp_state(cl);

    free(cp->filter);
    cp->filter = xstrdup(filter);
}

static void cp_finish(CLEANUP *cl)
{
    CP_STATE *cp = cp_state(cl);

    if (cp->filter)
	cleanup_record(cl, REC_TYPE_FILT, cp->filter);
    if (cp->redirect)
	cleanup_record(cl, REC_TYPE_RDR, cp->redirect);
}

static void cp_addr(CLEANUP *cl, int addr_class, VSTR *addr)
{
    if (cleanup_policy_rewrite(addr, addr_class) < 0) {
	msg_warn("%s: canonical_maps lookup problem -- message not accepted, try again later",
		 cleanup_queue_id(cl));
	cleanup_set_status(cl, CLEANUP_STAT_DEFER, "451 4.3.0 Error: queue file write error");
    }
}

static ARGV *cp_rcpt_expand(CLEANUP *cl, const char *rcpt)
{
    VSTR   *why;
    ARGV   *list;

    if (*mail_conf_str("virtual_alias_maps") == 0)
	return (0);
    why = vstr_alloc(64);
    if ((list = cleanup_policy_virtual(rcpt, why)) == 0) {
	msg_warn("%s: %s", cleanup_queue_id(cl), vstr_str(why));
	cleanup_set_status(cl, CLEANUP_STAT_DEFER, "451 4.6.0 Alias expansion error");
    }
    vstr_free(why);
    return (list);
}

static int cp_is_local_domain(const char *domain);

void    cleanup_policy_init(void)
{
    cleanup_addr_hook = cp_addr;
    cleanup_rcpt_expand_hook = cp_rcpt_expand;
    cleanup_header_hook = cp_header;
    cleanup_body_hook = cp_body;
    cleanup_attr_hook = cp_attr;
    cleanup_finish_hook = cp_finish;
    cleanup_free_hook = cp_free;
    mail_addr_set_local_fn(cp_is_local_domain);
}

static int cp_is_local_domain(const char *domain)
{
    return ((resolve_class(domain) & RESOLVE_CLASS_LOCAL) != 0
	    || strcasecmp(domain, mail_conf_str("myorigin")) == 0);
}
