/*
 * pc_master - master.cf display: -M (entries), -F (fields), -P (-o
 * parameters), in Postfix's formats. Requests are "name", "name/type",
 * "name/type/field" (-F) or "name/type/parameter" (-P); a component "*"
 * matches anything.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "argv.h"
#include "mac_expand.h"
#include "mail_conf.h"
#include "master_conf.h"
#include "mem.h"
#include "msg.h"
#include "postconf.h"
#include "stringops.h"
#include "vstr.h"

/* Column stops of postconf -M output. */
static const int pc_stops[MASTER_FLD_COMMAND + 1] = {0, 11, 17, 25, 33, 41, 49, 57};

static int pc_match(const char *pattern, const char *text)
{
    return (pattern == 0 || *pattern == 0 || strcmp(pattern, "*") == 0
	    || strcmp(pattern, text) == 0);
}

/* Split a request into at most 3 '/'-separated parts (copies). */
static int pc_split_req(const char *req, char **parts, int max)
{
    char   *copy = xstrdup(req);
    char   *cp = copy;
    int     n = 0;

    for (;;) {
	char   *slash = (n < max - 1) ? strchr(cp, '/') : 0;

	if (slash)
	    *slash = 0;
	parts[n++] = xstrdup(cp);
	if (slash == 0)
	    break;
	cp = slash + 1;
    }
    free(copy);
    return (n);
}

static void pc_free_parts(char **parts, int n)
{
    for (int i = 0; i < n; i++)
	free(parts[i]);
}

/* Expansion of a -o value in the service's context. */
typedef struct {
    const MASTER_ENT *ent;
} PC_SVC_CTX;

static const char *pc_svc_lookup(const char *name, void *context)
{
    PC_SVC_CTX *ctx = context;
    int     known;
    const char *v;

    if (strcmp(name, "service_name") == 0)
	return (ctx->ent->name);
    for (size_t i = ctx->ent->ov_names->argc; i-- > 0;)
	if (strcmp(ctx->ent->ov_names->argv[i], name) == 0)
	    return (ctx->ent->ov_values->argv[i]);
    v = pc_param_raw(name, &known);
    return (v ? v : mail_conf_explicit(name));
}

/* Expand a -o value in the service's context (fatal on syntax errors). */
static char *pc_svc_expand(const MASTER_ENT *ent, const char *value)
{
    VSTR   *out = vstr_alloc(100);
    PC_SVC_CTX ctx;
    const char *why;

    ctx.ent = ent;
    if (mac_expand(out, value, pc_svc_lookup, &ctx, &why) & MAC_ERROR) {
	msg_warn("%s: \"%s\"", why, value);
	msg_fatal("macro processing error");
    }
    return (vstr_export(out));
}

/* With -x, -M and -F show -o values expanded: swap in expanded args. */
static ARGV *pc_swap_expanded(MASTER_ENT *ent)
{
    ARGV   *orig = ent->args;
    ARGV   *nargs;

    if (!(pc_flags & PC_FLAG_EXPAND))
	return (0);
    nargs = argv_alloc(orig->argc + 1);
    for (size_t i = 0; i < orig->argc; i++) {
	const char *w = orig->argv[i];
	const char *eq;

	if (i > 0 && i <= ent->first_arg && strcmp(orig->argv[i - 1], "-o") == 0
	    && (eq = strchr(w, '=')) != 0) {
	    char   *ev = pc_svc_expand(ent, eq + 1);
	    VSTR   *vp = vstr_alloc(64);

	    (void) vstr_ncpy(vp, w, (size_t) (eq - w + 1));
	    (void) vstr_cat(vp, ev);
	    argv_add(nargs, vstr_str(vp));
	    vstr_free(vp);
	    free(ev);
	} else {
	    argv_add(nargs, w);
	}
    }
    ent->args = nargs;
    return (orig);
}

static void pc_unswap(MASTER_ENT *ent, ARGV *orig)
{
    if (orig) {
	argv_free(ent->args);
	ent->args = orig;
    }
}

/* One -M line: the fields at postconf's column stops, then the command. */
static void pc_format_entry_text(VSTR *out, const MASTER_ENT *ent);

static void pc_format_entry(VSTR *out, const MASTER_ENT *cent)
{
    MASTER_ENT *ent = (MASTER_ENT *) cent;
    ARGV   *orig = pc_swap_expanded(ent);

    pc_format_entry_text(out, ent);
    pc_unswap(ent, orig);
}

static void pc_format_entry_text(VSTR *out, const MASTER_ENT *ent)
{
    if (pc_flags & PC_FLAG_FOLD) {
	char   *text = pc_master_format(ent);

	(void) vstr_cat(out, text);
	(void) vstr_addch(out, '\n');
	free(text);
	return;
    }
    {
    VSTR   *head = vstr_alloc(100);
    char   *cmd = master_ent_command_text(ent);

    for (int i = 0; i < MASTER_FLD_COMMAND; i++) {
	if (i > 0) {
	    if ((int) vstr_len(head) < pc_stops[i])
		while ((int) vstr_len(head) < pc_stops[i])
		    (void) vstr_addch(head, ' ');
	    else
		(void) vstr_addch(head, ' ');
	}
	(void) vstr_cat(head, ent->field[i]);
    }
    if ((int) vstr_len(head) < pc_stops[MASTER_FLD_COMMAND])
	while ((int) vstr_len(head) < pc_stops[MASTER_FLD_COMMAND] - 1)
	    (void) vstr_addch(head, ' ');
    /* Command words are printed as parsed ({} groups keep their spaces). */
    (void) vstr_cat(out, vstr_str(head));
    (void) vstr_addch(out, ' ');
    (void) vstr_cat(out, cmd);
    (void) vstr_addch(out, '\n');
    vstr_free(head);
    free(cmd);
    }
}

/*
 * Format an entry as postconf writes it: fields at the -M column stops,
 * the command, each "-o name=value" on its own continuation line, other
 * words folded before column 80 (Postfix folds master.cf lines one
 * column earlier than main.cf lines).
 */
char   *pc_master_format(const MASTER_ENT *ent)
{
    static const int stops[] = {0, 11, 17, 25, 33, 41, 49, 57};
    VSTR   *out = vstr_alloc(256);
    size_t  line_start = 0;
    int     after_o = 0;

    for (int i = 0; i < MASTER_FLD_COMMAND; i++) {
	if (i > 0) {
	    if ((int) vstr_len(out) < stops[i])
		while ((int) vstr_len(out) < stops[i])
		    (void) vstr_addch(out, ' ');
	    else
		(void) vstr_addch(out, ' ');
	}
	(void) vstr_cat(out, ent->field[i]);
    }
    while ((int) vstr_len(out) < stops[MASTER_FLD_COMMAND])
	(void) vstr_addch(out, ' ');
    if ((int) vstr_len(out) > stops[MASTER_FLD_COMMAND]
	&& out->data[vstr_len(out) - 1] != ' ')
	(void) vstr_addch(out, ' ');
    (void) vstr_cat(out, ent->command);
    for (size_t i = 0; i < ent->args->argc; i++) {
	const char *word = ent->args->argv[i];
	VSTR   *unit = vstr_alloc(64);
	int     own_line = 0;

	if (i < ent->first_arg && strcmp(word, "-o") == 0 && i + 1 < ent->args->argc) {
	    const char *nv = ent->args->argv[++i];

	    if (nv[strcspn(nv, " \t")])
		(void) vstr_fmt(unit, "-o {%s}", nv);
	    else
		(void) vstr_fmt(unit, "-o %s", nv);
	    own_line = 1;
	} else {
	    (void) vstr_cpy(unit, word);
	}
	if (own_line || after_o || vstr_len(out) - line_start + 1 + vstr_len(unit) > 79) {
	    (void) vstr_addch(out, '\n');
	    line_start = vstr_len(out);
	    (void) vstr_cat(out, "    ");
	} else {
	    (void) vstr_addch(out, ' ');
	}
	(void) vstr_cat(out, vstr_str(unit));
	after_o = own_line;
	vstr_free(unit);
    }
    return (vstr_export(out));
}

static void pc_reject_hH(const char *opt)
{
    if (pc_flags & PC_FLAG_HIDE_NAME)
	msg_fatal("with option %s, do not specify -h", opt);
    if (pc_flags & PC_FLAG_HIDE_VALUE)
	msg_fatal("with option %s, do not specify -H", opt);
}

void    pc_show_master_entries(char **names, int count)
{
    VSTR   *out = vstr_alloc(256);
    char   *parts[3];

    pc_reject_hH("-M");
    pc_read_master(1);
    for (int i = 0; i < count; i++) {
	int     n = pc_split_req(names[i], parts, 3);

	pc_free_parts(parts, n);
	if (n > 2)
	    msg_fatal("-M option requires service_name[/type]");
    }
    if (count == 0) {
	for (size_t j = 0; j < pc_master->count; j++)
	    pc_format_entry(out, pc_master->ent[j]);
    } else {
	int    *found = xcalloc((size_t) count, sizeof(int));

	/* Postfix walks master.cf once, trying every request per entry. */
	for (size_t j = 0; j < pc_master->count; j++) {
	    MASTER_ENT *ent = pc_master->ent[j];

	    for (int i = 0; i < count; i++) {
		int     n = pc_split_req(names[i], parts, 3);

		if (pc_match(parts[0], ent->name)
		    && pc_match(n > 1 ? parts[1] : 0, ent->field[MASTER_FLD_TYPE])) {
		    pc_format_entry(out, ent);
		    found[i] = 1;
		}
		pc_free_parts(parts, n);
	    }
	}
	for (int i = 0; i < count; i++)
	    if (!found[i])
		msg_warn("unmatched request: \"%s\"", names[i]);
	free(found);
    }
    (void) fwrite(vstr_str(out), 1, vstr_len(out), stdout);
    vstr_free(out);
}

static int pc_field_index(const char *name)
{
    for (int i = 0; i < MASTER_NFIELDS; i++)
	if (strcmp(master_field_names[i], name) == 0)
	    return (i);
    return (-1);
}

static void pc_show_field(const MASTER_ENT *cent, int fld)
{
    MASTER_ENT *ent = (MASTER_ENT *) cent;
    VSTR   *head = vstr_alloc(100);
    char   *cmd = 0;
    const char *value = ent->field[fld];

    if (fld == MASTER_FLD_COMMAND) {
	ARGV   *orig = pc_swap_expanded(ent);

	value = cmd = master_ent_command_text(ent);
	pc_unswap(ent, orig);
    }
    (void) vstr_fmt(head, "%s/%s/%s", ent->name, ent->field[MASTER_FLD_TYPE],
		    master_field_names[fld]);
    if (pc_flags & PC_FLAG_HIDE_VALUE)
	pc_print_line(vstr_str(head), "", "");
    else if (fld == MASTER_FLD_COMMAND && !(pc_flags & PC_FLAG_FOLD))
	/* Command words as parsed: {} groups keep their inner spaces. */
	printf("%s%s%s\n", (pc_flags & PC_FLAG_HIDE_NAME) ? "" : vstr_str(head),
	       (pc_flags & PC_FLAG_HIDE_NAME) ? "" : " = ", value);
    else if (pc_flags & PC_FLAG_HIDE_NAME)
	pc_print_line("", "", value);
    else
	pc_print_line(vstr_str(head), " =", value);
    free(cmd);
    vstr_free(head);
}

/*
 * For each master.cf entry and each "service/type[/name]" request that
 * matches it, show what the request's third part selects (all when
 * absent); warn about requests that matched nothing. No request: all
 * of every entry.
 */
typedef int (*PC_SHOW_FN) (const MASTER_ENT *, const char *);

static void pc_master_select(char **names, int count, PC_SHOW_FN show)
{
    int    *found;
    char   *parts[3];

    if (count == 0) {
	for (size_t j = 0; j < pc_master->count; j++)
	    (void) show(pc_master->ent[j], 0);
	return;
    }
    found = xcalloc((size_t) count, sizeof(int));
    for (size_t j = 0; j < pc_master->count; j++) {
	MASTER_ENT *ent = pc_master->ent[j];

	for (int i = 0; i < count; i++) {
	    int     n = pc_split_req(names[i], parts, 3);

	    if (pc_match(parts[0], ent->name)
		&& pc_match(n > 1 ? parts[1] : 0, ent->field[MASTER_FLD_TYPE])
		&& show(ent, n > 2 ? parts[2] : 0))
		found[i] = 1;
	    pc_free_parts(parts, n);
	}
    }
    for (int i = 0; i < count; i++)
	if (!found[i])
	    msg_warn("unmatched request: \"%s\"", names[i]);
    free(found);
}

static int pc_show_fields_of(const MASTER_ENT *ent, const char *which)
{
    int     shown = 0;

    for (int f = 0; f < MASTER_NFIELDS; f++) {
	if (which && !pc_match(which, master_field_names[f]))
	    continue;
	pc_show_field(ent, f);
	shown = 1;
    }
    return (shown);
}

void    pc_show_master_fields(char **names, int count)
{
    char   *parts[3];

    pc_read_master(1);
    for (int i = 0; i < count; i++) {
	int     n = pc_split_req(names[i], parts, 3);

	if (n > 2 && strcmp(parts[2], "*") != 0 && pc_field_index(parts[2]) < 0)
	    msg_fatal("invalid service attribute name: \"%s\"", parts[2]);
	pc_free_parts(parts, n);
    }
    pc_master_select(names, count, pc_show_fields_of);
}

static void pc_show_param(const MASTER_ENT *ent, size_t idx)
{
    VSTR   *head = vstr_alloc(100);
    const char *value = ent->ov_values->argv[idx];
    char   *expanded = 0;

    if (pc_flags & PC_FLAG_EXPAND)
	value = expanded = pc_svc_expand(ent, value);
    (void) vstr_fmt(head, "%s/%s/%s", ent->name, ent->field[MASTER_FLD_TYPE],
		    ent->ov_names->argv[idx]);
    if (pc_flags & PC_FLAG_HIDE_VALUE)
	pc_print_line(vstr_str(head), "", "");
    else if (pc_flags & PC_FLAG_HIDE_NAME)
	pc_print_line("", "", value);
    else
	pc_print_line(vstr_str(head), " =", value);
    free(expanded);
    vstr_free(head);
}

/* -o parameters of an entry in name order (postconf -P sorts them). */
static const MASTER_ENT *pc_sort_ent;

static int pc_param_cmp(const void *a, const void *b)
{
    size_t  x = *(const size_t *) a, y = *(const size_t *) b;
    int     r = strcmp(pc_sort_ent->ov_names->argv[x], pc_sort_ent->ov_names->argv[y]);

    return (r ? r : (x < y ? -1 : x > y));
}

static size_t *pc_param_order(const MASTER_ENT *ent)
{
    size_t  n = ent->ov_names->argc;
    size_t *order = xcalloc(n + 1, sizeof(size_t));

    for (size_t i = 0; i < n; i++)
	order[i] = i;
    pc_sort_ent = ent;
    qsort(order, n, sizeof(size_t), pc_param_cmp);
    return (order);
}

static int pc_show_params_of(const MASTER_ENT *ent, const char *which)
{
    size_t *order = pc_param_order(ent);
    int     shown = 0;

    for (size_t o = 0; o < ent->ov_names->argc; o++) {
	size_t  k = order[o];

	if (which && !pc_match(which, ent->ov_names->argv[k]))
	    continue;
	pc_show_param(ent, k);
	shown = 1;
    }
    free(order);
    return (shown);
}

void    pc_show_master_params(char **names, int count)
{
    pc_read_master(1);
    pc_master_select(names, count, pc_show_params_of);
}
