/* local_deliver - recipients, aliases, .forward; see local_deliver.h. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deliver_request.h"
#include "dict.h"
#include "local_private.h"
#include "mac_expand.h"
#include "mail_conf.h"
#include "mbox_lock.h"
#include "mem.h"
#include "msg.h"
#include "readlline.h"
#include "resolve.h"
#include "safe_file.h"
#include "stringops.h"

#define LOCAL_LEVEL_LIMIT	100	/* alias/forward nesting */
#define LOCAL_FILE_LIMIT	(1 << 20)	/* .forward, :include:, alias source */

LOCAL_CONF local_conf;
static int local_conf_done;
static char *local_resolve_lookup(const char *, const char *, int *);

static int class_mask(const char *list)
{
    char   *copy = xstrdup(list);
    char   *bp = copy;
    char   *name;
    int     mask = 0;

    while ((name = mystrtok(&bp, CHARS_COMMA_SP)) != 0) {
	if (strcasecmp(name, "alias") == 0)
	    mask |= LOCAL_CLASS_ALIAS;
	else if (strcasecmp(name, "forward") == 0)
	    mask |= LOCAL_CLASS_FORWARD;
	else if (strcasecmp(name, "include") == 0)
	    mask |= LOCAL_CLASS_INCLUDE;
	else
	    msg_fatal("unknown delivery class \"%s\" in \"%s\"", name, list);
    }
    free(copy);
    return mask;
}

static int prepend_mask(const char *list)
{
    char   *copy = xstrdup(list);
    char   *bp = copy;
    char   *name;
    int     mask = 0;

    while ((name = mystrtok(&bp, CHARS_COMMA_SP)) != 0) {
	if (strcasecmp(name, "command") == 0)
	    mask |= LOCAL_PREPEND_COMMAND;
	else if (strcasecmp(name, "file") == 0)
	    mask |= LOCAL_PREPEND_FILE;
	else if (strcasecmp(name, "forward") == 0)
	    mask |= LOCAL_PREPEND_FORWARD;
	else
	    msg_fatal("unknown prepend_delivered_header value \"%s\"", name);
    }
    free(copy);
    return mask;
}

static char *conf_dup(const char *name)
{
    const char *v = mail_conf_str(name);

    return xstrdup(v ? v : "");
}

void    local_deliver_init(void)
{
    LOCAL_CONF *c = &local_conf;

    if (local_conf_done) {
	free(c->alias_maps);
	free(c->forward_path);
	free(c->recipient_delimiter);
	free(c->luser_relay);
	free(c->mailbox_transport);
	free(c->fallback_transport);
	free(c->mailbox_transport_maps);
	free(c->fallback_transport_maps);
	free(c->mailbox_command_maps);
	free(c->home_mailbox);
	free(c->mail_spool_directory);
	free(c->mailbox_command);
	free(c->default_privs);
	free(c->local_command_shell);
	free(c->export_environment);
	free(c->command_execution_directory);
	free(c->myhostname);
	free(c->myorigin);
	free(c->empty_address_recipient);
	free(c->queue_directory);
	free(c->command_filter);
    }
    c->alias_maps = conf_dup("alias_maps");
    c->empty_address_recipient = conf_dup("empty_address_recipient");
    c->forward_path = xstrdup(mail_conf_raw("forward_path") ? mail_conf_raw("forward_path") : "");
    c->recipient_delimiter = conf_dup("recipient_delimiter");
    c->luser_relay = xstrdup(mail_conf_raw("luser_relay") ? mail_conf_raw("luser_relay") : "");
    c->mailbox_transport = conf_dup("mailbox_transport");
    c->fallback_transport = conf_dup("fallback_transport");
    c->mailbox_transport_maps = conf_dup("mailbox_transport_maps");
    c->fallback_transport_maps = conf_dup("fallback_transport_maps");
    c->mailbox_command_maps = conf_dup("mailbox_command_maps");
    c->home_mailbox = conf_dup("home_mailbox");
    c->mail_spool_directory = conf_dup("mail_spool_directory");
    c->mailbox_command = xstrdup(mail_conf_raw("mailbox_command") ? mail_conf_raw("mailbox_command") : "");
    c->mailbox_size_limit = mail_conf_int("mailbox_size_limit");
    c->lock_mask = mbox_lock_mask(mail_conf_str("mailbox_delivery_lock"));
    c->default_privs = conf_dup("default_privs");
    c->allow_files = class_mask(mail_conf_str("allow_mail_to_files"));
    c->allow_commands = class_mask(mail_conf_str("allow_mail_to_commands"));
    c->command_time_limit = mail_conf_time("command_time_limit");
    c->local_command_shell = conf_dup("local_command_shell");
    c->export_environment = conf_dup("export_environment");
    c->command_execution_directory = xstrdup(mail_conf_raw("command_execution_directory") ?
				  mail_conf_raw("command_execution_directory") : "");
    c->owner_request_special = mail_conf_bool("owner_request_special");
    c->expand_owner_alias = mail_conf_bool("expand_owner_alias");
    c->reset_owner_alias = mail_conf_bool("reset_owner_alias");
    c->strict_mailbox_ownership = mail_conf_bool("strict_mailbox_ownership");
    c->enable_original_recipient = mail_conf_bool("enable_original_recipient");
    c->biff = mail_conf_bool("biff");
    c->dup_limit = mail_conf_int("duplicate_filter_limit");
    c->prepend_delivered = prepend_mask(mail_conf_str("prepend_delivered_header"));
    c->myhostname = conf_dup("myhostname");
    c->myorigin = conf_dup("myorigin");
    c->queue_directory = conf_dup("queue_directory");
    c->command_filter = conf_dup("command_expansion_filter");
    mbox_lock_attempts = (int) mail_conf_int("deliver_lock_attempts");
    mbox_lock_delay = (int) mail_conf_time("deliver_lock_delay");
    mbox_stale_lock_time = (int) mail_conf_time("stale_lock_time");
    if (c->service == 0)
	c->service = xstrdup("local");
    if (resolve_table_lookup == 0)
	resolve_table_lookup = local_resolve_lookup;
    local_conf_done = 1;
}

/* transport_maps etc. for the resolver: the lookup-table library. */
static char *local_resolve_lookup(const char *tables, const char *key, int *err)
{
    VSTR   *v = vstr_alloc(64);
    int     rc = local_maps_find(tables, key, v);

    if (rc > 0)
	return vstr_export(v);
    if (rc < 0)
	*err = 1;
    vstr_free(v);
    return 0;
}

void    local_deliver_service(const char *name)
{
    const char *slash = strrchr(name, '/');

    free(local_conf.service);
    local_conf.service = xstrdup(slash ? slash + 1 : name);
}

static void need_init(void)
{
    if (!local_conf_done)
	local_deliver_init();
}

/* ---------- reporting and the duplicate filter ---------- */

void    local_report(LOCAL_STATE *state, const LOCAL_ATTR *attr, int stat,
		             const char *dsn, const char *fmt,...)
{
    VSTR   *text = vstr_alloc(100);
    LOCAL_RCPT leaf;
    va_list ap;

    va_start(ap, fmt);
    vstr_vfmt_append(text, fmt, ap);
    va_end(ap);
    leaf = *state->top;
    leaf.address = attr->recipient;
    leaf.orig_rcpt = state->orig;
    leaf.dsn_notify = state->notify;
    leaf.dsn_orcpt = state->orcpt;
    if (stat == LOCAL_STAT_DEFER)
	state->status = -1;
    if (state->rep->status(state->rep->ctx, stat, &leaf, dsn, vstr_str(text)) < 0)
	state->status = -1;
    vstr_free(text);
}

/* Seen key? With enter, also remember it (up to duplicate_filter_limit). */
static int been_here_va(LOCAL_STATE *state, int enter, const char *fmt, va_list ap)
{
    VSTR   *key = vstr_alloc(100);
    int     seen;

    vstr_vfmt_append(key, fmt, ap);
    seen = htable_find(state->dup, vstr_str(key)) != 0;
    if (enter && !seen
	&& (local_conf.dup_limit <= 0 || state->dup->used < (size_t) local_conf.dup_limit))
	htable_enter(state->dup, vstr_str(key), (void *) 1);
    vstr_free(key);
    return seen;
}

int     local_been_here_check(LOCAL_STATE *state, const char *fmt,...)
{
    va_list ap;
    int     seen;

    va_start(ap, fmt);
    seen = been_here_va(state, 0, fmt, ap);
    va_end(ap);
    return seen;
}

int     local_been_here(LOCAL_STATE *state, const char *fmt,...)
{
    va_list ap;
    int     seen;

    va_start(ap, fmt);
    seen = been_here_va(state, 1, fmt, ap);
    va_end(ap);
    return seen;
}

/* ---------- alias lookup (the one place that knows about tables) ---------- */

typedef struct ALIAS_MAP {
    DICT   *dict;
    char   *owner_path;			/* file whose owner gives the rights */
} ALIAS_MAP;

static HTABLE *alias_cache;

static ALIAS_MAP *alias_map(const char *spec)
{
    ALIAS_MAP *map;
    char   *type = 0;
    char   *name = 0;
    const char *suffix;

    if (alias_cache == 0)
	alias_cache = htable_create(8);
    if ((map = htable_find(alias_cache, spec)) != 0)
	return map;
    map = xcalloc(1, sizeof(*map));
    /* local(8) opens proxy: tables directly, and disallows $1 substitution. */
    map->dict = dict_open(strncmp(spec, "proxy:", 6) == 0 ? spec + 6 : spec, O_RDONLY,
		      DICT_FLAG_DEFAULT | DICT_FLAG_WATCH | DICT_FLAG_NO_REGSUB);
    if (dict_is_surrogate(map->dict))
	msg_error("%s", map->dict->reason);	/* as Postfix, when it opens it */
    (void) dict_split_spec(strncmp(spec, "proxy:", 6) == 0 ? spec + 6 : spec, &type, &name);
    if (name && *name == '/') {
	suffix = dict_file_suffix(type);
	if (suffix) {
	    VSTR   *p = vstr_alloc(100);

	    vstr_fmt(p, "%s%s", name, suffix);
	    map->owner_path = vstr_export(p);
	} else {
	    map->owner_path = xstrdup(name);
	}
    }
    free(type);
    free(name);
    htable_enter(alias_cache, spec, map);
    return map;
}

/*
 * Look NAME up in alias_maps. Returns 1 (found: value, and the uid/gid of
 * the table's owner), 0 (not found), -1 (a table failed: defer).
 */
static int alias_find(const char *name, VSTR *value, uid_t *uid, gid_t *gid)
{
    char   *maps;
    char   *bp;
    char   *spec;
    int     found = 0;

    maps = xstrdup(local_conf.alias_maps);
    bp = maps;
    while (!found && (spec = mystrtok(&bp, CHARS_COMMA_SP)) != 0) {
	ALIAS_MAP *map;
	const char *hit;
	struct stat st;

	map = alias_map(spec);
	if ((hit = dict_lookup(map->dict, name)) != 0) {
	    vstr_cpy(value, hit);
	    *uid = 0;
	    *gid = 0;
	    if (map->owner_path && stat(map->owner_path, &st) == 0) {
		*uid = st.st_uid;
		*gid = st.st_gid;
	    }
	    found = 1;
	} else if (map->dict->error != DICT_ERR_NONE) {
	    /* A table that could not be opened said "is unavailable" itself. */
	    msg_warn("%s: lookup of '%s' failed", spec, name);
	    found = -1;
	}
    }
    free(maps);
    return found;
}

/*
 * mailbox_transport_maps, fallback_transport_maps, mailbox_command_maps:
 * the first table in the list that has KEY. 1 found, 0 not, -1 error.
 */
int     local_maps_find(const char *maps_list, const char *key, VSTR *value)
{
    char   *maps = xstrdup(maps_list);
    char   *bp = maps;
    char   *spec;
    int     found = 0;

    while (!found && (spec = mystrtok(&bp, CHARS_COMMA_SP)) != 0) {
	ALIAS_MAP *map = alias_map(spec);
	const char *hit;

	if ((hit = dict_lookup(map->dict, key)) != 0) {
	    vstr_cpy(value, hit);
	    found = 1;
	} else if (map->dict->error != DICT_ERR_NONE) {
	    msg_warn("%s: lookup of '%s' failed", spec, key);
	    found = -1;
	}
    }
    free(maps);
    return found;
}

/* The transport for this user: from the maps, else the parameter. */
static int local_transport(LOCAL_STATE *state, LOCAL_ATTR *attr, const char *maps,
			           const char *param, VSTR *result)
{
    int     rc = 0;

    if (*maps && (rc = local_maps_find(maps, attr->user, result)) < 0) {
	local_report(state, attr, LOCAL_STAT_DEFER, "4.3.0", "table lookup failure");
	return -1;
    }
    if (rc == 0)
	vstr_cpy(result, param);
    return vstr_len(result) > 0;
}

/* ---------- attributes ---------- */

static void attr_free(LOCAL_ATTR *attr)
{
    free(attr->recipient);
    free(attr->local);
    free(attr->user);
    free(attr->extension);
    free(attr->domain);
    free(attr->home);
    free(attr->shell);
}

/* Split the recipient into local part, user, extension, domain. */
static void attr_parse(LOCAL_ATTR *attr)
{
    const char *addr = attr->recipient;
    const char *at = strrchr(addr, '@');
    const char *delim = local_conf.recipient_delimiter;
    char   *ext;

    attr->local = at ? xstrndup(addr, (size_t) (at - addr)) : xstrdup(addr);
    attr->domain = xstrdup(at ? at + 1 : "");
    lowercase(attr->local);
    attr->user = xstrdup(attr->local);
    attr->extension = 0;
    attr->delim[0] = 0;
    if (*delim) {
	int     special = local_conf.owner_request_special && strchr(delim, '-')
	    && (strncmp(attr->user, "owner-", 6) == 0
		|| (strlen(attr->user) > 8
		    && strcmp(attr->user + strlen(attr->user) - 8, "-request") == 0));

	if (!special && (ext = strpbrk(attr->user, delim)) != 0 && ext > attr->user) {
	    attr->extension = xstrdup(ext + 1);
	    attr->delim[0] = *ext;
	    attr->delim[1] = 0;
	    *ext = 0;
	}
    }
    /* The passwd entry, when the user exists. */
    {
	LOCAL_PW pw;

	if (local_cache_getpw(attr->user, &pw)) {
	    attr->have_pw = 1;
	    attr->home = xstrdup(pw.dir);
	    attr->shell = xstrdup(pw.shell);
	    attr->pw_uid = pw.uid;
	    attr->pw_gid = pw.gid;
	}
    }
}

typedef struct ATTR_EXPAND {
    LOCAL_ATTR *attr;
    const char *filter;			/* allowed characters in values */
    ARGV   *values;			/* filtered copies, for the expansion */
} ATTR_EXPAND;

static const char *attr_value(LOCAL_ATTR *attr, const char *name)
{
    if (strcmp(name, "user") == 0)
	return attr->user;
    if (strcmp(name, "home") == 0)
	return attr->home;
    if (strcmp(name, "shell") == 0)
	return attr->shell;
    if (strcmp(name, "recipient") == 0)
	return attr->recipient;
    if (strcmp(name, "extension") == 0)
	return attr->extension;
    if (strcmp(name, "domain") == 0)
	return attr->domain;
    if (strcmp(name, "local") == 0 || strcmp(name, "mailbox") == 0)
	return attr->local;
    /* As Postfix 2.11 and later: the delimiter found in the address. */
    if (strcmp(name, "recipient_delimiter") == 0)
	return attr->extension ? attr->delim : 0;
    return 0;
}

/* $name lookup: recipient attributes (filtered), else main.cf parameters. */
static const char *attr_lookup(const char *name, void *context)
{
    ATTR_EXPAND *ctx = context;
    const char *v = attr_value(ctx->attr, name);
    char   *copy;
    char   *cp;

    if (v == 0) {
	static const char *const attr_names[] = {"user", "home", "shell", "recipient",
	    "extension", "domain", "local", "mailbox", "recipient_delimiter", 0};
	const char *p;

	/* A recipient attribute without a value is undefined, as Postfix. */
	for (size_t i = 0; attr_names[i]; i++)
	    if (strcmp(name, attr_names[i]) == 0)
		return 0;
	p = mail_conf_raw(name) ? mail_conf_str(name) : 0;
	return (p && *p) ? p : 0;
    }
    /* Defined but empty (user+@domain: ${extension}) is defined. */
    if (*v == 0)
	return "";
    copy = xstrdup(v);
    for (cp = copy; *cp; cp++)
	if (strchr(ctx->filter, *cp) == 0)
	    *cp = '_';				/* characters special to shell or file system */
    argv_add(ctx->values, copy);
    free(copy);
    return ctx->values->argv[ctx->values->argc - 1];
}

/* Expand $user, $home, ${extension?...} etc. in a pattern. */
/* Expand pattern; *status gets mac_expand()'s MAC_UNDEF/MAC_ERROR bits. */
static char *attr_expand_status(LOCAL_ATTR *attr, const char *pattern,
				        const char *filter_param, int *status)
{
    VSTR   *out = vstr_alloc(100);
    const char *why = 0;
    ATTR_EXPAND ctx;

    ctx.attr = attr;
    ctx.filter = mail_conf_str(filter_param);
    ctx.values = argv_alloc(4);
    *status = mac_expand(out, pattern, attr_lookup, &ctx, &why);
    argv_free(ctx.values);
    return vstr_export(out);
}

static char *attr_expand(LOCAL_ATTR *attr, const char *pattern, const char *filter_param)
{
    int     status;

    return attr_expand_status(attr, pattern, filter_param, &status);
}

char   *local_attr_expand(LOCAL_ATTR *attr, const char *pattern, const char *filter_param)
{
    return attr_expand(attr, pattern, filter_param);
}

/* ---------- expansion of alias values, .forward, :include: ---------- */

static int deliver_recipient(LOCAL_STATE *, LOCAL_ATTR *);

/*
 * Deliver to one address found in an expansion (alias value, .forward or
 * :include: file), as Postfix's local(8): an address that resolves to
 * another transport is resubmitted as a new message ("forwarded as ID");
 * a local one goes through deliver_recipient(), where aliases are expanded
 * in this same delivery and other local addresses are delivered here or
 * resubmitted according to the owner attribute (see deliver_recipient).
 * An address listed in its own expansion skips the alias lookup.
 */
static void deliver_address(LOCAL_STATE *state, LOCAL_ATTR *parent, const char *addr,
			            int no_alias, const char *self)
{
    LOCAL_ATTR child;
    VSTR   *full = vstr_alloc(100);
    RESOLVE_REPLY rr;
    int     is_local;
    int     self_ref = 0;
    const char *at;

    /* Postfix's resolver: the empty address "" is empty_address_recipient. */
    vstr_cpy(full, *addr ? addr : local_conf.empty_address_recipient);
    if (strrchr(vstr_str(full), '@') == 0)
	vstr_fmt_append(full, "@%s", local_conf.myorigin);
    resolve_reply_init(&rr);
    resolve_addr(vstr_str(full), &rr);
    if (rr.flags & RESOLVE_FLAG_FAIL) {
	local_report(state, parent, LOCAL_STAT_DEFER, "4.3.0", "address resolver failure");
	resolve_reply_free(&rr);
	vstr_free(full);
	return;
    }
    is_local = strcmp(vstr_str(rr.transport), local_conf.service) == 0;
    if (vstr_len(rr.recipient) > 0)
	vstr_cpy(full, vstr_str(rr.recipient));
    resolve_reply_free(&rr);
    if (!is_local) {
	local_forward_add(state, parent, vstr_str(full));
	vstr_free(full);
	return;
    }
    /* "When an address is found in its own expansion, deliver to the user". */
    if (self && (at = strrchr(vstr_str(full), '@')) != 0) {
	size_t  n = (size_t) (at - vstr_str(full));

	self_ref = strlen(self) == n && strncasecmp(vstr_str(full), self, n) == 0;
    }
    /* The expansion's context (rights, owner, class) carries over. */
    child = *parent;
    child.level = parent->level + 1;
    child.recipient = vstr_export(full);
    child.parent = parent->recipient;
    child.self_ref = self_ref;
    child.no_alias = no_alias || self_ref;
    /*
     * Postfix: "When an address is found in its own alias expansion,
     * delivery is made to the user instead": to the user, ~/.forward
     * included. "When a user is listed in the user's own ~/.forward file,
     * delivery is made to the user's mailbox": deliver_dotforward() sees
     * that it is already expanding that file.
     */
    child.no_forward = 0;
    child.local = child.user = child.extension = child.domain = 0;
    child.home = child.shell = 0;
    child.have_pw = 0;
    if (local_been_here(state, "address %d %s", child.level, child.recipient) == 0)
	deliver_recipient(state, &child);
    attr_free(&child);
}

static void deliver_include(LOCAL_STATE *, LOCAL_ATTR *, const char *path, const char *self);

/*
 * Split an expansion into entries: commas (and blanks, for addresses).
 * Returns the number of entries (Postfix's address count: an alias or
 * .forward without any is not an expansion).
 */
static int deliver_tokens(LOCAL_STATE *state, LOCAL_ATTR *attr, const char *text,
			          const char *self)
{
    int     count = 0;
    int     quoted;

    const char *cp = text;
    VSTR   *tok = vstr_alloc(100);

    while (*cp) {
	while (*cp == ',' || isspace((unsigned char) *cp))
	    cp++;
	if (*cp == 0)
	    break;
	vstr_reset(tok);
	quoted = *cp == '"';
	if (quoted) {
	    /* "quoted entry" (commands, files with blanks, odd local parts) */
	    cp++;
	    while (*cp && *cp != '"') {
		if (*cp == '\\' && cp[1])
		    cp++;
		vstr_addch(tok, *cp++);
	    }
	    if (*cp == '"')
		cp++;
	    /* "local part"@domain */
	    while (*cp && *cp != ',' && !isspace((unsigned char) *cp))
		vstr_addch(tok, *cp++);
	} else if (*cp == '|') {
	    while (*cp && *cp != ',')
		vstr_addch(tok, *cp++);
	    vstr_trim_right(tok);
	} else {
	    while (*cp && *cp != ',' && !isspace((unsigned char) *cp))
		vstr_addch(tok, *cp++);
	}
	{
	    const char *t = vstr_str(tok);

	    /* "" is an address (the empty one), as in Postfix. */
	    if (*t || quoted)
		count++;
	    if (*t == '|') {
		local_command(state, attr, t + 1, 0);
	    } else if (*t == '/') {
		local_file(state, attr, t);
	    } else if (strncasecmp(t, ":include:", 9) == 0) {
		deliver_include(state, attr, t + 9, self);
	    } else if (*t == '\\') {
		/*
		 * Postfix 3.7's address parser drops the backslash: "\user" is
		 * expanded like "user" (aliases, .forward). A user listed in
		 * its own alias or .forward is delivered as described in
		 * deliver_address().
		 */
		deliver_address(state, attr, t + 1, 0, self);
	    } else if (*t || quoted) {
		deliver_address(state, attr, t, 0, self);
	    }
	}
    }
    vstr_free(tok);
    return count;
}

/* .forward and :include: text: drop comment and blank lines, join the rest with ','. */
static VSTR *strip_comments(VSTR *data)
{
    VSTR   *clean = vstr_alloc(data->len + 1);
    const char *cp = vstr_str(data);

    while (*cp) {
	const char *nl = strchr(cp, '\n');
	size_t  n = nl ? (size_t) (nl - cp) : strlen(cp);
	const char *s = cp;

	while (s < cp + n && isspace((unsigned char) *s))
	    s++;
	if (s < cp + n && *s != '#') {
	    vstr_append(clean, cp, n);
	    vstr_addch(clean, ',');
	}
	cp += n + (nl ? 1 : 0);
    }
    vstr_free(data);
    return clean;
}

/* An :include: file that cannot be used: Postfix's warning, then a bounce. */
static void include_error(LOCAL_STATE *state, LOCAL_ATTR *attr, int stat, const char *fmt,...)
		__attribute__((format(printf, 4, 5)));

static void include_error(LOCAL_STATE *state, LOCAL_ATTR *attr, int stat, const char *fmt,...)
{
    VSTR   *text = vstr_alloc(100);
    va_list ap;

    va_start(ap, fmt);
    vstr_vfmt_append(text, fmt, ap);
    va_end(ap);
    msg_warn("%s", vstr_str(text));
    local_report(state, attr, stat, stat == LOCAL_STAT_DEFER ? "4.3.5" : "5.3.5",
		 "mail system configuration error");
    vstr_free(text);
}

/*
 * :include:/path, as Postfix's local(8): once per file and rights; the
 * file must be a regular file (symlinks are followed) and not world
 * writable. In a root-owned alias (or root's .forward) the entries get the
 * rights of the file's owner when that is not root; otherwise the rights
 * stay those of the alias database owner or .forward user, so that nobody
 * gains a victim's rights by including the victim's file. Local addresses
 * that are aliases are expanded in this delivery, other local addresses
 * are resubmitted; "/file" and "|command" follow allow_mail_to_files and
 * allow_mail_to_commands for the "include" class.
 */
static void deliver_include(LOCAL_STATE *state, LOCAL_ATTR *attr, const char *path,
			            const char *self)
{
    LOCAL_ATTR inc = *attr;
    VSTR   *data;
    int     fd;
    int     err;
    int     as_user = attr->have_privs && !attr->root_privs;
    struct stat st;

    if (local_been_here(state, "include %ld %s", as_user ? (long) attr->uid : 0L, path))
	return;
    if (*path != '/') {
	include_error(state, attr, LOCAL_STAT_BOUNCE, ":include:%s uses a relative path", path);
	return;
    }
    if (as_user)
	local_set_eugid(attr->uid, attr->gid);
    err = stat(path, &st) < 0 ? errno : 0;
    local_restore_root();
    if (err) {
	include_error(state, attr, LOCAL_STAT_BOUNCE, "unable to lookup :include: file %s: %s",
		      path, strerror(err));
	return;
    }
    if (!S_ISREG(st.st_mode)) {
	include_error(state, attr, LOCAL_STAT_BOUNCE, ":include: file %s is not a regular file",
		      path);
	return;
    }
    if (st.st_mode & S_IWOTH) {
	include_error(state, attr, LOCAL_STAT_BOUNCE, ":include: file %s is world writable",
		      path);
	return;
    }
    inc.class = LOCAL_CLASS_INCLUDE;
    if (!as_user) {
	struct passwd *pw = getpwuid(st.st_uid);

	if (pw == 0) {
	    msg_warn("cannot find username for uid %ld", (long) st.st_uid);
	    include_error(state, attr, LOCAL_STAT_DEFER,
			  "%s: cannot find :include: file owner username", path);
	    return;
	}
	if (pw->pw_uid != 0) {
	    inc.have_privs = 1;
	    inc.root_privs = 0;
	    inc.uid = pw->pw_uid;
	    inc.gid = pw->pw_gid;
	}
    }
    /* Local non-alias entries are resubmitted ("owner" is the recipient). */
    if (inc.owner == 0)
	inc.owner = attr->recipient;
    inc.exp_from = path;
    if (inc.have_privs && !inc.root_privs)
	local_set_eugid(inc.uid, inc.gid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    err = errno;
    local_restore_root();
    if (fd < 0) {
	include_error(state, attr, LOCAL_STAT_BOUNCE, "cannot open include file %s: %s",
		      path, strerror(err));
	return;
    }
    data = vstr_alloc(1024);
    {
	char    buf[8192];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0 && data->len < LOCAL_FILE_LIMIT)
	    vstr_append(data, buf, (size_t) n);
	err = n < 0 ? errno : 0;
	close(fd);
    }
    if (err) {
	local_report(state, attr, LOCAL_STAT_DEFER, "4.3.0",
		     "error reading forwarding file: %s", strerror(err));
	vstr_free(data);
	return;
    }
    data = strip_comments(data);
    (void) deliver_tokens(state, &inc, vstr_str(data), self);
    vstr_free(data);
}

/* ---------- the delivery steps for one recipient ---------- */

static int deliver_alias(LOCAL_STATE *state, LOCAL_ATTR *attr, const char *name)
{
    VSTR   *value = vstr_alloc(100);
    VSTR   *owner_val = vstr_alloc(100);
    VSTR   *owner = vstr_alloc(100);
    uid_t   uid;
    gid_t   gid;
    LOCAL_ATTR exp;
    uid_t   ouid;
    gid_t   ogid;
    int     rc;
    int     list = 0;
    int     count;

    if ((rc = alias_find(name, value, &uid, &gid)) <= 0) {
	if (rc < 0)
	    local_report(state, attr, LOCAL_STAT_DEFER, "4.3.0", "alias database unavailable");
	vstr_free(value);
	vstr_free(owner_val);
	vstr_free(owner);
	return rc < 0;
    }
    if (attr->level > LOCAL_LEVEL_LIMIT) {
	msg_warn("alias database loop for %s", name);
	local_report(state, attr, LOCAL_STAT_BOUNCE, "5.4.6",
		     "alias database loop for %s", name);
	vstr_free(value);
	vstr_free(owner_val);
	vstr_free(owner);
	return 1;
    }
    exp = *attr;
    exp.class = LOCAL_CLASS_ALIAS;
    exp.exp_from = name;
    exp.have_privs = 1;
    exp.root_privs = uid == 0;
    /*
     * Postfix's owner attribute: set by an owner- alias; without one it is
     * kept from an enclosing list or .forward (reset_owner_alias = no, the
     * default) or cleared (yes). Local members that are not aliases and
     * not the owner are resubmitted from the owner.
     */
    if (local_conf.reset_owner_alias)
	exp.owner = 0;
    if (uid != 0) {
	exp.uid = uid;
	exp.gid = gid;
    } else if (local_default_privs(&exp.uid, &exp.gid) < 0) {
	local_report(state, attr, LOCAL_STAT_DEFER, "4.3.5",
		     "unknown default_privs user: %s", local_conf.default_privs);
	goto done;
    }
    /* owner-NAME: errors for the expansion go to the owner. */
    if (local_conf.owner_request_special && strncmp(name, "owner-", 6) != 0) {
	vstr_fmt(owner, "owner-%s", name);
	if (alias_find(vstr_str(owner), owner_val, &ouid, &ogid) > 0) {
	    if (local_conf.expand_owner_alias && strchr(vstr_str(owner_val), ',') == 0)
		vstr_cpy(owner, trim(vstr_str(owner_val)));
	    if (strchr(vstr_str(owner), '@') == 0)
		vstr_fmt_append(owner, "@%s", local_conf.myorigin);
	    exp.sender = vstr_str(owner);
	    exp.owner = vstr_str(owner);
	    list = 1;
	}
    }
    {
	/*
	 * DSN, as Postfix (RFC 3461 section 6.2.7): the members get the
	 * NOTIFY of the alias without SUCCESS (SUCCESS alone: NEVER); ENVID
	 * and RET stay. A mailing list (the sender is replaced by owner-NAME)
	 * also drops the original recipient and ORCPT: what is delivered
	 * here (files, commands of member aliases) has owner-NAME as its
	 * sender (From_, Return-Path:, $SENDER) and no X-Original-To:,
	 * orig_to=. NOTIFY=SUCCESS on the alias gets one success DSN for it:
	 * "alias expanded", action "expanded" ("delivered" for a list).
	 */
	const char *saved_orig = state->orig;
	const char *saved_orcpt = state->orcpt;
	char   *saved_sender = state->msg->sender;
	int     saved_notify = state->notify;

	state->notify = saved_notify == DSN_NOTIFY_SUCCESS ? DSN_NOTIFY_NEVER
	    : saved_notify & ~DSN_NOTIFY_SUCCESS;
	if (list) {
	    state->orig = "";
	    state->orcpt = "";
	    state->msg->sender = vstr_str(owner);
	}
	count = deliver_tokens(state, &exp, vstr_str(value), name);
	state->msg->sender = saved_sender;
	state->orig = saved_orig;
	state->orcpt = saved_orcpt;
	state->notify = saved_notify;
	if (count < 1) {
	    /* As Postfix: nothing to deliver to is not a delivery. */
	    msg_warn("no recipient in alias lookup result for %s", name);
	    local_report(state, attr, LOCAL_STAT_DEFER, "4.3.0", "alias database unavailable");
	} else if ((saved_notify & DSN_NOTIFY_SUCCESS) && !(state->flags & LOCAL_FLAG_VERIFY))
	    local_report(state, attr, list ? LOCAL_STAT_EXPANDED_LIST : LOCAL_STAT_EXPANDED,
			 "2.0.0", "alias expanded");
    }

done:
    vstr_free(value);
    vstr_free(owner_val);
    vstr_free(owner);
    return 1;
}

/*
 * As Postfix: a .forward is used only when it is a regular file, owned by
 * the user or root, without world write permission. Otherwise a warning,
 * and the mail goes to the mailbox. Checked on lstat() before the open and
 * again on the file that was opened.
 */
static int dotforward_usable(const char *path, const struct stat *st, uid_t uid)
{
    if (!S_ISREG(st->st_mode)) {
	msg_warn("file %s is not a regular file", path);
	return 0;
    }
    if (st->st_uid != 0 && st->st_uid != uid) {
	msg_warn("file %s has bad owner uid %ld", path, (long) st->st_uid);
	return 0;
    }
    if (st->st_mode & S_IWOTH) {
	msg_warn("file %s is world writable", path);
	return 0;
    }
    return 1;
}

/* Expand one .forward file; 1 when it forwarded (had any address). */
static int dotforward_expand(LOCAL_STATE *state, LOCAL_ATTR *attr, const char *path,
			             const struct stat *lst)
{
    int     fd;
    int     err;
    int     count;
    struct stat st;
    VSTR   *data;
    LOCAL_ATTR fwd;

    if (!dotforward_usable(path, lst, attr->pw_uid))
	return 0;
    /* O_NOFOLLOW, O_NONBLOCK: a file swapped after lstat() must not trap us. */
    local_set_eugid(attr->pw_uid, attr->pw_gid);
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    err = errno;
    local_restore_root();
    if (fd < 0) {
	msg_warn("cannot open file %s: %s", path, strerror(err));
	return 0;
    }
    if (fstat(fd, &st) < 0 || !dotforward_usable(path, &st, attr->pw_uid)) {
	close(fd);
	return 0;
    }
    data = vstr_alloc(256);
    {
	char    buf[8192];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0 && data->len < LOCAL_FILE_LIMIT)
	    vstr_append(data, buf, (size_t) n);
    }
    close(fd);
    data = strip_comments(data);		/* an empty file: no forwarding */
    if (data->len == 0) {
	vstr_free(data);
	return 0;				/* empty .forward: normal delivery */
    }
    fwd = *attr;
    fwd.class = LOCAL_CLASS_FORWARD;
    fwd.exp_from = path;
    fwd.have_privs = 1;
    fwd.uid = attr->pw_uid;
    fwd.gid = attr->pw_gid;
    fwd.root_privs = fwd.uid == 0;
    fwd.owner = attr->user;			/* other local users: resubmitted */
    if (fwd.uid == 0 && local_default_privs(&fwd.uid, &fwd.gid) < 0)
	fwd.have_privs = 0;
    {
	/* DSN: as for an alias (see deliver_alias), never a list. */
	int     saved_notify = state->notify;
	int     saved_status = state->status;

	state->notify = saved_notify == DSN_NOTIFY_SUCCESS ? DSN_NOTIFY_NEVER
	    : saved_notify & ~DSN_NOTIFY_SUCCESS;
	state->status = 0;
	count = deliver_tokens(state, &fwd, vstr_str(data), attr->user);
	state->notify = saved_notify;
	/* Without any address the file does not count (Postfix): mailbox. */
	if (count > 0) {
	    (void) local_been_here(state, "forward-done %s %s", state->top->address, path);
	    if (state->status == 0 && (saved_notify & DSN_NOTIFY_SUCCESS)
		&& !(state->flags & LOCAL_FLAG_VERIFY))
		local_report(state, attr, LOCAL_STAT_EXPANDED, "2.0.0", "alias expanded");
	}
	if (saved_status < 0)
	    state->status = saved_status;
    }
    vstr_free(data);
    return count > 0;
}

static int deliver_dotforward(LOCAL_STATE *state, LOCAL_ATTR *attr)
{
    char   *paths;
    char   *bp;
    char   *elem;
    char   *path = 0;
    int     done = 0;
    struct stat st;

    if (!attr->have_pw || *local_conf.forward_path == 0)
	return 0;
    paths = xstrdup(local_conf.forward_path);
    bp = paths;

    /*
     * As Postfix: each forward_path element is expanded on its own and
     * skipped when it names an undefined attribute (e.g. ${extension} for
     * an address without one); the first path that lstat() finds, as the
     * user, decides.
     */
    while ((elem = mystrtok(&bp, CHARS_COMMA_SP)) != 0) {
	int     err;
	int     status;

	path = attr_expand_status(attr, elem, "forward_expansion_filter", &status);
	if ((status & (MAC_UNDEF | MAC_ERROR)) == 0 && *path
	    && !local_cache_no_file(path, attr->pw_uid)) {
	    local_set_eugid(attr->pw_uid, attr->pw_gid);
	    err = lstat(path, &st) < 0 ? errno : 0;
	    local_restore_root();
	    if (err == 0)
		break;
	    if (err == ENOENT)
		local_cache_set_no_file(path, attr->pw_uid);
	}
	free(path);
	path = 0;
    }
    /*
     * Once per file and delivery, keyed by the path as Postfix: while the
     * file is being expanded, the user found in it again (in the file
     * itself, or through an alias listed there) gets the mailbox; once
     * expanded, a user reached again by another path gets nothing more.
     */
    if (path != 0) {
	if (local_been_here(state, "forward %s %s", state->top->address, path))
	    done = local_been_here_check(state, "forward-done %s %s",
					 state->top->address, path);
	else
	    done = dotforward_expand(state, attr, path, &st);
	free(path);
    }
    free(paths);
    return done;
}

/* Hand the recipient to another transport (mailbox_ or fallback_transport). */
static void deliver_pass(LOCAL_STATE *state, LOCAL_ATTR *attr, const char *transport)
{
    VSTR   *why = vstr_alloc(100);
    LOCAL_RCPT leaf = *state->top;

    leaf.address = attr->recipient;
    leaf.orig_rcpt = state->orig;
    if (state->flags & LOCAL_FLAG_VERIFY)
	local_report(state, attr, LOCAL_STAT_SENT, "2.0.0", "delivers via %s", transport);
    else if (state->rep->pass == 0
	     || state->rep->pass(state->rep->ctx, transport, &leaf, why) < 0)
	local_report(state, attr, LOCAL_STAT_DEFER, "4.3.0", "cannot pass to %s: %s",
		     transport, vstr_len(why) ? vstr_str(why) : "not available");
    vstr_free(why);
}

static void deliver_unknown(LOCAL_STATE *state, LOCAL_ATTR *attr)
{
    VSTR   *transport = vstr_alloc(100);
    int     rc = local_transport(state, attr, local_conf.fallback_transport_maps,
				 local_conf.fallback_transport, transport);

    if (rc != 0) {
	if (rc > 0)
	    deliver_pass(state, attr, vstr_str(transport));
	vstr_free(transport);
	return;
    }
    vstr_free(transport);
    if (*local_conf.luser_relay) {
	char   *relay = attr_expand(attr, local_conf.luser_relay, "forward_expansion_filter");
	LOCAL_ATTR tmp = *attr;

	tmp.no_alias = 0;
	deliver_address(state, &tmp, relay, 0, 0);
	free(relay);
	return;
    }
    /*
     * Postfix: no alias for a required name (mailer-daemon, postmaster,
     * e.g. reached through the empty address ""): a warning, and the mail
     * is discarded ("sent", not bounced: a bounce could loop).
     */
    if (strcasecmp(attr->user, "mailer-daemon") == 0 || strcasecmp(attr->user, "postmaster") == 0) {
	msg_warn("required alias not found: %s", attr->user);
	local_report(state, attr, LOCAL_STAT_SENT, "2.0.0", "discarded");
	return;
    }
    local_report(state, attr, LOCAL_STAT_BOUNCE, "5.1.1", "unknown user: \"%s\"", attr->user);
}

static int deliver_recipient(LOCAL_STATE *state, LOCAL_ATTR *attr)
{
    attr_parse(attr);

    /* Delivered-To: loop detection. */
    if (attr->level == 0) {
	size_t  i;

	for (i = 0; i < state->msg->delivered_to->argc; i++) {
	    if (strcasecmp(state->msg->delivered_to->argv[i], state->delivered) == 0) {
		local_report(state, attr, LOCAL_STAT_BOUNCE, "5.4.6",
			     "mail forwarding loop for %s", attr->recipient);
		return 0;
	    }
	}
    }
    if (attr->level > LOCAL_LEVEL_LIMIT + 1) {
	local_report(state, attr, LOCAL_STAT_BOUNCE, "5.4.6",
		     "mail forwarding loop for %s", attr->recipient);
	return 0;
    }
    if (!attr->no_alias) {
	if (deliver_alias(state, attr, attr->local))
	    return 0;
	if (attr->extension && deliver_alias(state, attr, attr->user))
	    return 0;
    }
    /*
     * An address from an expansion that is not an alias: resubmitted when
     * it came from an :include: file, or when an owner (owner- alias,
     * .forward) is set and is someone else; delivered here otherwise.
     */
    if (attr->level > 0 && (!attr->no_alias || attr->self_ref)
	&& ((attr->owner && strcasecmp(attr->owner, attr->user) != 0)
	    || attr->class == LOCAL_CLASS_INCLUDE)) {
	LOCAL_ATTR from = *attr;

	from.recipient = (char *) attr->parent;
	local_forward_add(state, &from, attr->recipient);
	return 0;
    }
    if (!attr->no_forward && deliver_dotforward(state, attr))
	return 0;
    {
	/* mailbox_transport(_maps): for all local recipients, users or not. */
	VSTR   *transport = vstr_alloc(100);
	int     rc = local_transport(state, attr, local_conf.mailbox_transport_maps,
				     local_conf.mailbox_transport, transport);

	if (rc > 0)
	    deliver_pass(state, attr, vstr_str(transport));
	vstr_free(transport);
	if (rc != 0)
	    return 0;
    }
    if (!attr->have_pw) {
	deliver_unknown(state, attr);
	return 0;
    }
    local_mailbox(state, attr);
    return 0;
}

int     local_deliver(LOCAL_MSG *msg, const LOCAL_RCPT *rcpt, const LOCAL_REPORT *rep, int flags)
{
    LOCAL_STATE state;
    LOCAL_ATTR attr;
    size_t  i;

    need_init();
    memset(&state, 0, sizeof(state));
    state.msg = msg;
    state.rep = rep;
    state.top = rcpt;
    state.flags = flags;
    if (msg->dup == 0)
	msg->dup = htable_create(32);
    state.dup = msg->dup;
    state.delivered = xstrdup(rcpt->address);
    state.orig = (rcpt->orig_rcpt && *rcpt->orig_rcpt) ? rcpt->orig_rcpt : rcpt->address;
    state.notify = rcpt->dsn_notify;
    state.orcpt = rcpt->dsn_orcpt ? rcpt->dsn_orcpt : "";
    memset(&attr, 0, sizeof(attr));
    attr.recipient = xstrdup(rcpt->address);
    attr.sender = msg->sender;
    deliver_recipient(&state, &attr);
    local_forward_flush(&state);
    attr_free(&attr);
    for (i = 0; i < state.nfwd; i++) {
	free(state.fwd[i].sender);
	argv_free(state.fwd[i].rcpt);
	argv_free(state.fwd[i].orig);
	argv_free(state.fwd[i].orcpt);
	free(state.fwd[i].notify);
    }
    free(state.fwd);
    free(state.delivered);
    return state.status;
}

int     local_verify(const char *addr, const LOCAL_REPORT *rep)
{
    LOCAL_MSG msg;
    LOCAL_RCPT rcpt;
    int     rc;

    local_msg_init(&msg, "", "", "", 0);
    memset(&rcpt, 0, sizeof(rcpt));
    rcpt.address = addr;
    rcpt.orig_rcpt = addr;
    rc = local_deliver(&msg, &rcpt, rep, LOCAL_FLAG_VERIFY);
    local_msg_free(&msg);
    return rc;
}
