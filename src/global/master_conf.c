/* master_conf - master.cf parser; see master_conf.h. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "argv.h"
#include "mail_conf.h"
#include "master_conf.h"
#include "mem.h"
#include "msg.h"
#include "readlline.h"
#include "safe_file.h"
#include "stringops.h"
#include "vstr.h"

#define MASTER_CONF_SIZE_LIMIT	(16 << 20)	/* bytes of master.cf */

const char *const master_field_names[MASTER_NFIELDS] = {
    "service", "type", "private", "unprivileged", "chroot", "wakeup",
    "process_limit", "command",
};

static const struct {
    const char *name;
    int     code;
} master_types[] = {
    {"inet", MASTER_TYPE_INET},
    {"unix", MASTER_TYPE_UNIX},
    {"unix-dgram", MASTER_TYPE_UNIX_DGRAM},
    {"fifo", MASTER_TYPE_FIFO},
    {"pass", MASTER_TYPE_PASS},
    {0, 0},
};

static VSTR *master_err;

const char *master_conf_error(void)
{
    return (master_err ? vstr_str(master_err) : "");
}

int     master_type_code(const char *name)
{
    for (int i = 0; master_types[i].name; i++)
	if (strcmp(master_types[i].name, name) == 0)
	    return (master_types[i].code);
    return (0);
}

const char *master_type_name(int code)
{
    for (int i = 0; master_types[i].name; i++)
	if (master_types[i].code == code)
	    return (master_types[i].name);
    return (0);
}

/* Parser state for one file. */
typedef struct {
    const char *path;
    int     flags;
    int     line;			/* first line of the logical line */
    const char *text;		/* the logical line, for postconf texts */
} MC_STATE;

/* Record an error; fatal unless NOFATAL. Always returns -1. */
static int __attribute__((format(printf, 2, 3))) mc_error(MC_STATE *st, const char *fmt,...)
{
    va_list ap;

    if (master_err == 0)
	master_err = vstr_alloc(128);
    vstr_reset(master_err);
    va_start(ap, fmt);
    (void) vstr_vfmt_append(master_err, fmt, ap);
    va_end(ap);
    if (!(st->flags & MASTER_CONF_FLAG_NOFATAL))
	msg_fatal("%s", vstr_str(master_err));
    return (-1);
}

static void master_ent_free(MASTER_ENT *ent)
{
    if (ent == 0)
	return;
    free(ent->name);
    for (int i = 0; i < MASTER_NFIELDS; i++)
	free(ent->field[i]);
    free(ent->command);
    argv_free(ent->args);
    argv_free(ent->ov_names);
    argv_free(ent->ov_values);
    free(ent);
}

void    master_conf_free(MASTER_CONF *mc)
{
    if (mc == 0)
	return;
    for (size_t i = 0; i < mc->count; i++)
	master_ent_free(mc->ent[i]);
    free(mc->ent);
    free(mc->path);
    free(mc);
}

/* y/n/- fields. */
static int mc_bool(MC_STATE *st, const char *fname, const char *value,
		           int defval, int *result)
{
    if (strcmp(value, "-") == 0)
	*result = defval;
    else if (strcmp(value, "y") == 0)
	*result = 1;
    else if (strcmp(value, "n") == 0)
	*result = 0;
    else if (st->flags & MASTER_CONF_STYLE_POSTCONF)
	return (mc_error(st, "invalid %s field \"%s\" in \"%s\"", fname, value, st->text));
    else
	return (mc_error(st, "%s: line %d: field \"%s\": bad value: \"%s\"",
			 st->path, st->line,
			 strcmp(fname, "unprivileged") == 0 ? "unprivileged" : fname,
			 value));
    return (0);
}

/* Digits only, bounded. */
static int mc_number(const char *cp, size_t len, int *result)
{
    unsigned long n = 0;

    if (len == 0)
	return (-1);
    for (size_t i = 0; i < len; i++) {
	if (!isdigit((unsigned char) cp[i]))
	    return (-1);
	n = n * 10 + (unsigned long) (cp[i] - '0');
	if (n > 0x7fffffffUL)
	    return (-1);
    }
    *result = (int) n;
    return (0);
}

static int mc_wakeup(MC_STATE *st, MASTER_ENT *ent, const char *value)
{
    size_t  len = strlen(value);

    ent->wakeup = 0;
    ent->wakeup_if_used = 0;
    if (strcmp(value, "-") == 0)
	return (0);
    if (len > 0 && value[len - 1] == '?') {
	ent->wakeup_if_used = 1;
	len--;
    }
    if ((len == 0 && (st->flags & MASTER_CONF_STYLE_POSTCONF))
	|| (len > 0 && mc_number(value, len, &ent->wakeup) == 0))
	return (0);
    /* Postfix's master reads the leading digits ("1m", "10??" are accepted). */
    if (!(st->flags & MASTER_CONF_STYLE_POSTCONF) && isdigit((unsigned char) value[0])) {
	size_t  digits = strspn(value, "0123456789");

	if (mc_number(value, digits, &ent->wakeup) == 0) {
	    ent->wakeup_if_used = (strchr(value, '?') != 0);
	    return (0);
	}
    }
    if (st->flags & MASTER_CONF_STYLE_POSTCONF)
	return (mc_error(st, "invalid wakeup field \"%s\" in \"%s\"", value, st->text));
    return (mc_error(st, "%s: line %d: field \"wakeup_time\": bad value: \"%s\"",
		     st->path, st->line, value));
}

static int mc_maxproc(MC_STATE *st, MASTER_ENT *ent, const char *value)
{
    if (strcmp(value, "-") == 0) {
	ent->maxproc = -1;
	return (0);
    }
    if (mc_number(value, strlen(value), &ent->maxproc) == 0)
	return (0);
    if (st->flags & MASTER_CONF_STYLE_POSTCONF)
	return (mc_error(st, "invalid process_limit field \"%s\" in \"%s\"", value, st->text));
    return (mc_error(st, "%s: line %d: field \"max_proc\": bad value: \"%s\"",
		     st->path, st->line, value));
}

/* Normalize a braced word: "{  a b  }" -> "a b". Returns a new string. */
static char *mc_unbrace(const char *word)
{
    size_t  wl = strlen(word);
    char   *copy, *cp;

    /* "{ text }" or, with the '}' missing (warned by the caller), "{ text". */
    if (word[0] != '{')
	return (xstrdup(word));
    copy = xstrndup(word + 1, wl - 1 - (wl >= 2 && word[wl - 1] == '}'));
    cp = trim(copy);
    cp = xstrdup(cp);
    free(copy);
    return (cp);
}

/* "name = value" -> "name=value"; NULL when there is no '='. */
static char *mc_nameval(const char *text, char **name, char **value)
{
    char   *copy = xstrdup(text);
    char   *eq = strchr(copy, '=');

    if (eq == 0) {
	free(copy);
	return (0);
    }
    *eq = 0;
    *name = xstrdup(trim(copy));
    *value = xstrdup(trim(eq + 1));
    free(copy);
    {
	VSTR   *vp = vstr_alloc(64);

	(void) vstr_fmt(vp, "%s=%s", *name, *value);
	return (vstr_export(vp));
    }
}

/* Add one -o override word (the text after "-o"). */
static void mc_override(MC_STATE *st, MASTER_ENT *ent, const char *word)
{
    char   *text = word[0] == '{' ? mc_unbrace(word) : xstrdup(word);
    char   *name, *value, *nv;

    if (word[0] == '{') {
	size_t  wl = strlen(word);

	if (wl < 2 || word[wl - 1] != '}')
	    msg_warn("master.cf: missing '}' in \"%s\"", word);
    }
    if ((nv = mc_nameval(text, &name, &value)) == 0) {
	msg_warn("master.cf: missing '=' after attribute name: \"%s\"", text);
	argv_add(ent->args, "-o");
	argv_add(ent->args, text);
	free(text);
	return;
    }
    argv_add(ent->args, "-o");
    argv_add(ent->args, nv);
    if (*name) {
	argv_add(ent->ov_names, name);
	argv_add(ent->ov_values, value);
    }
    free(nv);
    free(name);
    free(value);
    free(text);
}

/* Field 8: command and arguments. */
static int mc_command(MC_STATE *st, MASTER_ENT *ent, char *bp)
{
    char   *word;
    int     options = 1;

    ent->args = argv_alloc(8);
    ent->ov_names = argv_alloc(4);
    ent->ov_values = argv_alloc(4);
    word = mystrtok(&bp, BLANKS);
    ent->command = xstrdup(word);
    while ((word = mystrtok_cw(&bp, BLANKS, 0)) != 0) {
	if (options && strcmp(word, "-o") == 0) {
	    char   *val = mystrtok_cw(&bp, BLANKS, 0);

	    if (val == 0) {
		argv_add(ent->args, "-o");
		break;
	    }
	    mc_override(st, ent, val);
	    continue;
	}
	if (options && strncmp(word, "-o", 2) == 0) {
	    mc_override(st, ent, word + 2);
	    continue;
	}
	if (options && strcmp(word, "-v") == 0) {
	    ent->verbose++;
	    argv_add(ent->args, word);
	    continue;
	}
	if (options && (word[0] != '-' || word[1] == 0 || strcmp(word, "--") == 0)) {
	    options = 0;
	    ent->first_arg = ent->args->argc;
	    /* As Postfix: a {} word where options may appear loses its braces. */
	    if (word[0] == '{') {
		char   *inner;

		if (word[strlen(word) - 1] != '}' || strlen(word) < 2)
		    msg_warn("master.cf: missing '}' in \"%s\"", word);
		inner = mc_unbrace(word);
		argv_add(ent->args, inner);
		free(inner);
		continue;
	    }
	}
	if (word[0] == '{') {
	    size_t  wl = strlen(word);
	    char   *inner;

	    if (wl < 2 || word[wl - 1] != '}')
		msg_warn("master.cf: missing '}' in \"%s\"", word);
	    inner = mc_unbrace(word);
	    if (inner[strcspn(inner, " \t")]) {
		VSTR   *vp = vstr_alloc(64);

		(void) vstr_fmt(vp, "{%s}", inner);
		argv_add(ent->args, vstr_str(vp));
		vstr_free(vp);
	    } else {
		argv_add(ent->args, inner);
	    }
	    free(inner);
	    continue;
	}
	argv_add(ent->args, word);
    }
    if (options)
	ent->first_arg = ent->args->argc;
    return (0);
}

/* Validate an inet service name at parse time (master style). */
static int mc_inet_check(MC_STATE *st, const char *name)
{
    char   *host, *port;
    const char *why;

    if (master_inet_split(name, &host, &port, &why) < 0)
	return (mc_error(st, "%s: line %d: %s", st->path, st->line, why));
    free(host);
    free(port);
    return (0);
}

/* Validate field n of ent (already stored). */
static int mc_check_field(MC_STATE *st, MASTER_ENT *ent, int n)
{
    const char *value = ent->field[n];

    switch (n) {
    case MASTER_FLD_TYPE:
	if ((ent->type = master_type_code(value)) == 0) {
	    if (st->flags & MASTER_CONF_STYLE_POSTCONF)
		return (mc_error(st, "invalid type field \"%s\" in \"%s\"", value, st->text));
	    return (mc_error(st, "%s: line %d: bad transport type: %s",
			     st->path, st->line, value));
	}
	ent->type_name = master_type_name(ent->type);
	return (0);
    case MASTER_FLD_PRIVATE:
	if (mc_bool(st, "private", value, 1, &ent->private_) < 0)
	    return (-1);
	if (ent->type == MASTER_TYPE_INET && ent->private_
	    && !(st->flags & MASTER_CONF_STYLE_POSTCONF))
	    return (mc_error(st, "%s: line %d: inet service cannot be private",
			     st->path, st->line));
	return (0);
    case MASTER_FLD_UNPRIV:
	return (mc_bool(st, "unprivileged", value, 1, &ent->unpriv));
    case MASTER_FLD_CHROOT:
	return (mc_bool(st, "chroot", value, 0, &ent->chroot));
    case MASTER_FLD_WAKEUP:
	return (mc_wakeup(st, ent, value));
    case MASTER_FLD_MAXPROC:
	return (mc_maxproc(st, ent, value));
    default:
	return (0);
    }
}

static const char *const mc_master_names[MASTER_NFIELDS] = {
    "service", "type", "private", "unprivileged", "chroot", "wakeup_time",
    "max_proc", "command",
};

static MASTER_ENT *mc_parse_line(MC_STATE *st, char *line)
{
    MASTER_ENT *ent = xcalloc(1, sizeof(*ent));
    char   *copy = xstrdup(line);
    char   *bp = copy;
    char   *word;
    int     n;
    int     postconf = (st->flags & MASTER_CONF_STYLE_POSTCONF);

    ent->line = st->line;
    for (n = 0; n < MASTER_FLD_COMMAND; n++) {
	if ((word = mystrtok(&bp, BLANKS)) == 0)
	    break;
	ent->field[n] = xstrdup(word);
	/* The master daemon validates field by field, as it goes. */
	if (!postconf && mc_check_field(st, ent, n) < 0)
	    goto bad;
    }
    bp += strspn(bp, BLANKS);
    if (n < MASTER_FLD_COMMAND || *bp == 0) {
	if (postconf)
	    mc_error(st, "file %s: line %d: bad field count", st->path, st->line);
	else
	    mc_error(st, "%s: line %d: missing \"%s\" field", st->path, st->line,
		     mc_master_names[n]);
	goto bad;
    }
    ent->field[MASTER_FLD_COMMAND] = xstrdup(bp);
    ent->name = xstrdup(ent->field[MASTER_FLD_SERVICE]);
    if (postconf)
	for (n = 0; n < MASTER_FLD_COMMAND; n++)
	    if (mc_check_field(st, ent, n) < 0)
		goto bad;
    if (ent->type == MASTER_TYPE_INET && !postconf && mc_inet_check(st, ent->name) < 0)
	goto bad;
    if (mc_command(st, ent, bp) < 0)
	goto bad;
    free(copy);
    return (ent);

bad:
    free(copy);
    master_ent_free(ent);
    return (0);
}

static const char *mc_type_of(const MASTER_ENT *ent)
{
    return (ent->type_name ? ent->type_name : ent->field[MASTER_FLD_TYPE]);
}

MASTER_CONF *master_conf_parse(const char *path, const char *text, size_t len, int flags)
{
    MASTER_CONF *mc = xcalloc(1, sizeof(*mc));
    size_t  cap = 0;
    FILE   *fp;
    VSTR   *buf = vstr_alloc(256);
    int     last = 0, first = 0;
    MC_STATE st;

    mc->path = xstrdup(path);
    st.path = path;
    st.flags = flags;
    if (len == 0) {
	vstr_free(buf);
	return (mc);
    }
    if ((fp = fmemopen((void *) text, len, "r")) == 0)
	msg_fatal("fmemopen: %m");
    while (readlline(buf, fp, &last, &first)) {
	MASTER_ENT *ent;

	st.line = first;
	st.text = vstr_str(buf);
	if (isspace((unsigned char) vstr_str(buf)[0])) {
	    msg_warn("%s: logical line must not start with whitespace: \"%s\"",
		     path, vstr_str(buf));
	    continue;
	}
	if ((ent = mc_parse_line(&st, vstr_str(buf))) == 0) {
	    (void) fclose(fp);
	    vstr_free(buf);
	    master_conf_free(mc);
	    return (0);
	}
	if (!(flags & MASTER_CONF_STYLE_POSTCONF)) {
	    for (size_t i = 0; i < mc->count; i++) {
		MASTER_ENT *old = mc->ent[i];

		if (strcmp(old->name, ent->name) == 0
		    && strcmp(mc_type_of(old), mc_type_of(ent)) == 0) {
		    /* Postfix's master names the inet endpoint ("[host]:port"). */
		    if (ent->type == MASTER_TYPE_INET) {
			char   *host, *port;
			const char *why;

			if (master_inet_split(ent->name, &host, &port, &why) == 0) {
			    if (host)
				msg_warn("duplicate master.cf entry for service \"%s\" ([%s]:%s)"
					 " -- using the last entry", ent->name, host, port);
			    else
				msg_warn("duplicate master.cf entry for service \"%s\" (%s)"
					 " -- using the last entry", ent->name, port);
			    free(host);
			    free(port);
			}
		    }
		    master_ent_free(old);
		    memmove(mc->ent + i, mc->ent + i + 1,
			    (mc->count - i - 1) * sizeof(mc->ent[0]));
		    mc->count--;
		    break;
		}
	    }
	}
	if (mc->count + 1 >= cap) {
	    cap = cap ? 2 * cap : 32;
	    mc->ent = xrealloc(mc->ent, cap * sizeof(mc->ent[0]));
	}
	mc->ent[mc->count++] = ent;
    }
    (void) fclose(fp);
    vstr_free(buf);
    return (mc);
}

MASTER_CONF *master_conf_read(const char *path, int flags)
{
    VSTR   *buf = vstr_alloc(4096);
    MASTER_CONF *mc;
    MC_STATE st;

    st.path = path;
    st.flags = flags;
    st.line = 0;
    st.text = "";
    if (read_file_bounded(path, buf, MASTER_CONF_SIZE_LIMIT) < 0) {
	int     err = errno;

	vstr_free(buf);
	if (err == ENOENT && (flags & MASTER_CONF_FLAG_MISSING_OK)) {
	    mc = xcalloc(1, sizeof(*mc));
	    mc->path = xstrdup(path);
	    return (mc);
	}
	errno = err;
	if (err == EFBIG || err == E2BIG)
	    mc_error(&st, "%s: file too large", path);
	else
	    mc_error(&st, "open %s: %s", path, strerror(err));
	return (0);
    }
    mc = master_conf_parse(path, vstr_str(buf), vstr_len(buf), flags);
    vstr_free(buf);
    return (mc);
}

MASTER_ENT *master_conf_find(MASTER_CONF *mc, const char *name, const char *type)
{
    /* The last entry wins, as in the master daemon. */
    for (size_t i = mc->count; i-- > 0;) {
	MASTER_ENT *ent = mc->ent[i];

	if (strcmp(ent->name, name) == 0
	    && (type == 0 || strcmp(mc_type_of(ent), type) == 0))
	    return (ent);
    }
    return (0);
}

int     master_ent_maxproc(const MASTER_ENT *ent)
{
    return (ent->maxproc >= 0 ? ent->maxproc : (int) mail_conf_int("default_process_limit"));
}

char   *master_ent_command_text(const MASTER_ENT *ent)
{
    VSTR   *vp = vstr_alloc(128);

    (void) vstr_cpy(vp, ent->command);
    for (size_t i = 0; i < ent->args->argc; i++) {
	const char *word = ent->args->argv[i];

	(void) vstr_addch(vp, ' ');
	if (i > 0 && strcmp(ent->args->argv[i - 1], "-o") == 0
	    && i <= ent->first_arg && word[strcspn(word, " \t")])
	    (void) vstr_fmt_append(vp, "{%s}", word);
	else
	    (void) vstr_cat(vp, word);
    }
    return (vstr_export(vp));
}

/* Host name and address syntax. */

int     master_valid_hostaddr(const char *addr)
{
    struct in6_addr a6;
    struct in_addr a4;

    return (inet_pton(AF_INET, addr, &a4) == 1 || inet_pton(AF_INET6, addr, &a6) == 1);
}

int     master_valid_hostname(const char *name)
{
    size_t  len = strlen(name), label = 0;
    int     non_numeric = 0;
    char    prev = '.';

    if (len == 0 || len > 255)
	return (0);
    for (const char *cp = name; *cp; cp++) {
	unsigned char ch = (unsigned char) *cp;

	if (ch == '.') {
	    if (label == 0 || prev == '-')
		return (0);
	    label = 0;
	} else if (isalnum(ch) || ch == '_' || ch == '-') {
	    if (ch == '-' && label == 0)
		return (0);
	    if (++label > 63)
		return (0);
	    if (!isdigit(ch))
		non_numeric = 1;
	} else {
	    return (0);
	}
	prev = (char) ch;
    }
    if (prev == '-' || prev == '.')
	return (0);
    return (non_numeric);
}

int     master_inet_split(const char *name, char **host, char **port, const char **why)
{
    static VSTR *err;
    const char *colon;

    if (err == 0)
	err = vstr_alloc(100);
    *host = *port = 0;
    if (name[0] == '[') {
	const char *end = strchr(name, ']');

	if (end == 0) {
	    (void) vstr_fmt(err, "missing \"]\" in \"%s\"", name);
	    *why = vstr_str(err);
	    return (-1);
	}
	if (end[1] != ':' || end[2] == 0) {
	    (void) vstr_fmt(err, "garbage after \"]\" in \"%s\"", name);
	    *why = vstr_str(err);
	    return (-1);
	}
	*host = xstrndup(name + 1, (size_t) (end - name - 1));
	*port = xstrdup(end + 2);
	if (!master_valid_hostaddr(*host) && !master_valid_hostname(*host))
	    goto badhost;
	return (0);
    }
    if ((colon = strrchr(name, ':')) == 0) {
	*port = xstrdup(name);
	return (0);
    }
    *host = xstrndup(name, (size_t) (colon - name));
    *port = xstrdup(colon + 1);
    if (**host == 0 || strcmp(*host, "*") == 0) {
	free(*host);
	*host = 0;
	return (0);
    }
    if (!master_valid_hostaddr(*host) && !master_valid_hostname(*host))
	goto badhost;
    return (0);

badhost:
    (void) vstr_fmt(err, "valid hostname or network address required in \"%s\"", name);
    *why = vstr_str(err);
    free(*host);
    free(*port);
    *host = *port = 0;
    return (-1);
}

ARGV   *master_inet_endpoints(const MASTER_ENT *ent, const char *inet_interfaces)
{
    ARGV   *res = argv_alloc(4);
    char   *host, *port;
    const char *why;

    if (master_inet_split(ent->name, &host, &port, &why) < 0)
	msg_fatal("%s", why);
    if (host) {
	argv_add(res, host);
	argv_add(res, port);
    } else {
	ARGV   *ifs = argv_split(inet_interfaces ? inet_interfaces : "all", CHARS_COMMA_SP);
	int     all = 0;

	for (size_t i = 0; i < ifs->argc; i++)
	    if (strcasecmp(ifs->argv[i], "all") == 0)
		all = 1;
	if (all || ifs->argc == 0) {
	    argv_add(res, "");
	    argv_add(res, port);
	} else {
	    for (size_t i = 0; i < ifs->argc; i++) {
		char   *h = ifs->argv[i];
		size_t  hl = strlen(h);

		/* "loopback-only": the loopback addresses of $inet_protocols. */
		if (strcasecmp(h, "loopback-only") == 0) {
		    const char *protos = mail_conf_str("inet_protocols");

		    if (strcasestr(protos, "all") || strcasestr(protos, "ipv4")) {
			argv_add(res, "127.0.0.1");
			argv_add(res, port);
		    }
		    if (strcasestr(protos, "all") || strcasestr(protos, "ipv6")) {
			argv_add(res, "::1");
			argv_add(res, port);
		    }
		    continue;
		}

		if (h[0] == '[' && hl > 1 && h[hl - 1] == ']') {
		    char   *inner = xstrndup(h + 1, hl - 2);

		    argv_add(res, inner);
		    free(inner);
		} else {
		    argv_add(res, h);
		}
		argv_add(res, port);
	    }
	}
	argv_free(ifs);
    }
    free(host);
    free(port);
    return (res);
}

int     master_inet_port(const char *port)
{
    struct servent *sp;
    unsigned long n;

    if (alldig(port)) {
	if (parse_ulong(port, 65535, &n) < 0)
	    return (-1);
	return ((int) n);
    }
    if ((sp = getservbyname(port, "tcp")) == 0)
	return (-1);
    return (ntohs((unsigned short) sp->s_port));
}

/* Scheduler parameters of a delivery transport, and their defaults. */
static const char *const master_transport_params[][2] = {
    {"delivery_slot_cost", "$default_delivery_slot_cost"},
    {"delivery_slot_discount", "$default_delivery_slot_discount"},
    {"delivery_slot_loan", "$default_delivery_slot_loan"},
    {"destination_concurrency_failed_cohort_limit",
    "$default_destination_concurrency_failed_cohort_limit"},
    {"destination_concurrency_limit", "$default_destination_concurrency_limit"},
    {"destination_concurrency_negative_feedback",
    "$default_destination_concurrency_negative_feedback"},
    {"destination_concurrency_positive_feedback",
    "$default_destination_concurrency_positive_feedback"},
    {"destination_rate_delay", "$default_destination_rate_delay"},
    {"destination_recipient_limit", "$default_destination_recipient_limit"},
    {"extra_recipient_limit", "$default_extra_recipient_limit"},
    {"initial_destination_concurrency", "$initial_destination_concurrency"},
    {"minimum_delivery_slots", "$default_minimum_delivery_slots"},
    {"recipient_limit", "$default_recipient_limit"},
    {"recipient_refill_delay", "$default_recipient_refill_delay"},
    {"recipient_refill_limit", "$default_recipient_refill_limit"},
    {"transport_rate_delay", "$default_transport_rate_delay"},
    {0, 0},
};

void    master_conf_service_params(const MASTER_CONF *mc, MASTER_PARAM_FN fn, void *ctx)
{
    static const char *const delivery[] = {
	"smtp", "lmtp", "local", "virtual", "pipe", "error", 0,
    };
    VSTR   *name = vstr_alloc(100);

    for (size_t i = 0; mc && i < mc->count; i++) {
	const MASTER_ENT *ent = mc->ent[i];
	int     is_delivery = 0;

	for (int j = 0; delivery[j]; j++)
	    if (strcmp(ent->command, delivery[j]) == 0)
		is_delivery = 1;
	if (is_delivery) {
	    for (int j = 0; master_transport_params[j][0]; j++) {
		(void) vstr_fmt(name, "%s_%s", ent->name, master_transport_params[j][0]);
		fn(vstr_str(name), master_transport_params[j][1], ctx);
	    }
	}
	if (strcmp(ent->command, "pipe") == 0 || strcmp(ent->command, "spawn") == 0) {
	    (void) vstr_fmt(name, "%s_time_limit", ent->name);
	    fn(vstr_str(name), "$command_time_limit", ctx);
	}
    }
    vstr_free(name);
}
