/*
 * pc_edit - in-place edits of main.cf and master.cf.
 *
 * The file is read as physical lines. An entry is a line that starts
 * with a non-blank, non-'#' character, plus the following lines that
 * start with white space; comment and blank lines inside an entry belong
 * to no entry and are kept where they are. An edited entry replaces the
 * entry's last physical line (its other lines are removed); new entries go
 * at the end. The result is written with safe_file_replace() (temporary
 * file, fsync, rename, directory fsync), keeping the file's mode.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "argv.h"
#include "mail_conf.h"
#include "master_conf.h"
#include "mem.h"
#include "msg.h"
#include "postconf.h"
#include "safe_file.h"
#include "stringops.h"
#include "vstr.h"

#define PC_EDIT_FILE_LIMIT	(64 << 20)

typedef struct {
    char   *path;
    ARGV   *lines;			/* physical lines, without newlines */
    int    *entry;			/* line -> entry number, -1 for none */
    int     nentries;
    mode_t  mode;
} PC_FILE;

static int pc_blank_or_comment(const char *line)
{
    line += strspn(line, " \t\r\f\v");
    return (*line == 0 || *line == '#');
}

static PC_FILE *pc_file_read(const char *path)
{
    PC_FILE *pf = xcalloc(1, sizeof(*pf));
    VSTR   *buf = vstr_alloc(4096);
    struct stat st;
    const char *cp, *end;
    int     cur = -1;

    pf->path = xstrdup(path);
    if (read_file_bounded(path, buf, PC_EDIT_FILE_LIMIT) < 0)
	msg_fatal("open %s for reading: %m", path);
    pf->mode = (stat(path, &st) == 0) ? (st.st_mode & 07777) : 0644;
    pf->lines = argv_alloc(256);
    for (cp = vstr_str(buf), end = vstr_end(buf); cp < end;) {
	const char *nl = memchr(cp, '\n', (size_t) (end - cp));
	size_t  len = nl ? (size_t) (nl - cp) : (size_t) (end - cp);

	argv_addn(pf->lines, cp, len);
	cp += len + (nl ? 1 : 0);
    }
    vstr_free(buf);
    pf->entry = xcalloc(pf->lines->argc + 1, sizeof(int));
    for (size_t i = 0; i < pf->lines->argc; i++) {
	const char *line = pf->lines->argv[i];

	if (pc_blank_or_comment(line)) {
	    pf->entry[i] = -1;
	} else if (isspace((unsigned char) line[0])) {
	    pf->entry[i] = cur;
	} else {
	    cur = pf->nentries++;
	    pf->entry[i] = cur;
	}
    }
    return (pf);
}

static void pc_file_free(PC_FILE *pf)
{
    argv_free(pf->lines);
    free(pf->entry);
    free(pf->path);
    free(pf);
}

/* Text of entry e (first physical line) or NULL. */
static const char *pc_entry_first(PC_FILE *pf, int e, size_t *where)
{
    for (size_t i = 0; i < pf->lines->argc; i++)
	if (pf->entry[i] == e) {
	    if (where)
		*where = i;
	    return (pf->lines->argv[i]);
	}
    return (0);
}

/* Logical text of entry e: its lines joined (as readlline does). */
static char *pc_entry_text(PC_FILE *pf, int e)
{
    VSTR   *vp = vstr_alloc(100);

    for (size_t i = 0; i < pf->lines->argc; i++)
	if (pf->entry[i] == e)
	    (void) vstr_cat(vp, pf->lines->argv[i]);
    vstr_trim_right(vp);
    return (vstr_export(vp));
}

/*
 * Apply one change to entry e: text NULL removes the entry, comment != 0
 * comments its lines out, otherwise text replaces it (may hold newlines).
 */
typedef struct {
    char   *text;			/* replacement or NULL */
    int     comment;
    int     touched;
} PC_CHANGE;

/*
 * Write the file with the changes. A replaced main.cf entry takes the
 * place of its first line; a replaced master.cf entry goes to the end of
 * its span (after the comment and blank lines that follow it, up to the
 * next entry), as Postfix does.
 */
static void pc_file_write(PC_FILE *pf, PC_CHANGE *chg, ARGV *append, int at_end)
{
    VSTR   *out = vstr_alloc(8192);
    int     pending = -1;

    for (size_t i = 0; i < pf->lines->argc; i++) {
	int     e = pf->entry[i];
	int     first = (e >= 0 && (i == 0 || pf->entry[i - 1] != e)
			     && !isspace((unsigned char) pf->lines->argv[i][0]));

	if (pending >= 0 && e >= 0 && e != pending) {
	    (void) vstr_cat(out, chg[pending].text);
	    (void) vstr_addch(out, '\n');
	    pending = -1;
	}
	if (e < 0 || !chg[e].touched) {
	    (void) vstr_cat(out, pf->lines->argv[i]);
	    (void) vstr_addch(out, '\n');
	    continue;
	}
	if (chg[e].comment) {
	    (void) vstr_addch(out, '#');
	    (void) vstr_cat(out, pf->lines->argv[i]);
	    (void) vstr_addch(out, '\n');
	    continue;
	}
	if (first && chg[e].text) {
	    if (at_end) {
		pending = e;
	    } else {
		(void) vstr_cat(out, chg[e].text);
		(void) vstr_addch(out, '\n');
	    }
	}
    }
    if (pending >= 0) {
	(void) vstr_cat(out, chg[pending].text);
	(void) vstr_addch(out, '\n');
    }
    for (size_t i = 0; append && i < append->argc; i++) {
	(void) vstr_cat(out, append->argv[i]);
	(void) vstr_addch(out, '\n');
    }
    /* Postfix writes PATH.tmp; report an unwritable directory its way. */
    {
	char   *dir = xstrdup(pf->path);
	char   *slash = strrchr(dir, '/');

	if (slash)
	    *slash = 0;
	if (access(slash ? (*dir ? dir : "/") : ".", W_OK) < 0)
	    msg_fatal("open %s.tmp: %m", pf->path);
	free(dir);
    }
    if (safe_file_replace(pf->path, vstr_str(out), vstr_len(out), pf->mode) < 0)
	msg_fatal("write %s: %m", pf->path);
    vstr_free(out);
}

/* main.cf: name of entry e, copied into a VSTR. */
/* Write the edited file and release the per-run state. */
static void pc_edit_finish(PC_FILE *pf, PC_CHANGE *chg, ARGV *append, int at_end)
{
    pc_file_write(pf, chg, append, at_end);
    for (int e = 0; e < pf->nentries; e++)
	free(chg[e].text);
    free(chg);
    if (append)
	argv_free(append);
    pc_file_free(pf);
}

static const char *pc_main_entry_name(PC_FILE *pf, int e, VSTR *name)
{
    const char *line = pc_entry_first(pf, e, 0);
    size_t  len = strcspn(line, " \t=");

    (void) vstr_ncpy(name, line, len);
    return (vstr_str(name));
}

void    pc_edit_main(int mode, char **args, int count)
{
    PC_FILE *pf = pc_file_read(mail_conf_path());
    PC_CHANGE *chg = xcalloc((size_t) pf->nentries + 1, sizeof(*chg));
    ARGV   *append = argv_alloc(4);
    VSTR   *name = vstr_alloc(64);
    VSTR   *line = vstr_alloc(256);

    for (int a = 0; a < count; a++) {
	char   *copy = xstrdup(args[a]);
	char   *pname, *pvalue;
	const char *err;
	int     hits = 0;

	if (mode == PC_EDIT_SET) {
	    if ((err = split_nameval(copy, &pname, &pvalue)) != 0)
		msg_fatal("%s: \"%s\"", err, args[a]);
	    (void) vstr_fmt(line, "%s = %s", pname, pvalue);
	} else {
	    pname = trim(copy);
	}
	for (int e = 0; e < pf->nentries; e++)
	    if (strcmp(pc_main_entry_name(pf, e, name), pname) == 0)
		hits++;
	if (hits > 1)
	    msg_warn("%s: multiple entries for \"%s\"", pf->path, pname);
	for (int e = 0; e < pf->nentries; e++) {
	    if (strcmp(pc_main_entry_name(pf, e, name), pname) != 0)
		continue;
	    free(chg[e].text);
	    chg[e].text = (mode == PC_EDIT_SET) ? xstrdup(vstr_str(line)) : 0;
	    chg[e].comment = (mode == PC_EDIT_COMMENT);
	    chg[e].touched = 1;
	}
	if (hits == 0 && mode == PC_EDIT_SET) {
	    /* A later argument for the same new name replaces the earlier. */
	    size_t  nlen = strlen(pname);
	    int     done = 0;

	    for (size_t i = 0; i < append->argc; i++)
		if (strncmp(append->argv[i], pname, nlen) == 0
		    && append->argv[i][nlen] == ' ') {
		    msg_warn("ignoring earlier request: '%s'", append->argv[i]);
		    free(append->argv[i]);
		    append->argv[i] = xstrdup(vstr_str(line));
		    done = 1;
		}
	    if (!done)
		argv_add(append, vstr_str(line));
	}
	free(copy);
    }
    pc_edit_finish(pf, chg, append, 0);
    vstr_free(name);
    vstr_free(line);
}

/* master.cf */

static char *pc_master_path(void)
{
    VSTR   *vp = vstr_alloc(100);

    (void) vstr_fmt(vp, "%s/master.cf", mail_conf_dir());
    return (vstr_export(vp));
}

/* Parse one master.cf entry text (for -Me, and to reformat entries). */
static MASTER_CONF *pc_master_parse_text(const char *path, const char *text)
{
    return (master_conf_parse(path, text, strlen(text), MASTER_CONF_STYLE_POSTCONF));
}

/* Entry number in pf for name/type; -1 if none. */
static int pc_master_find(PC_FILE *pf, const char *service, const char *type,
			          int *count)
{
    int     found = -1;

    *count = 0;
    for (int e = 0; e < pf->nentries; e++) {
	char   *text = pc_entry_text(pf, e);
	char   *bp = text;
	char   *s = mystrtok(&bp, BLANKS);
	char   *t = s ? mystrtok(&bp, BLANKS) : 0;

	if (s && t && strcmp(s, service) == 0 && strcmp(t, type) == 0) {
	    if (found < 0)
		found = e;
	    ++*count;
	}
	free(text);
    }
    return (found);
}

static void pc_split_service(const char *req, const char *opt, char **service,
			             char **type, char **rest, int want_rest)
{
    char   *copy = xstrdup(req);
    char   *s1 = strchr(copy, '/');
    char   *s2 = s1 ? strchr(s1 + 1, '/') : 0;

    if (s1 == 0 || (want_rest && s2 == 0) || (!want_rest && s2 != 0)) {
	free(copy);
	if (want_rest)
	    msg_fatal("%se or %sX requires service_name/type/%s", opt, opt,
		      strcmp(opt, "-F") == 0 ? "field_name" : "parameter");
	msg_fatal("%s option requires service_name/type", opt);
    }
    *s1 = 0;
    if (s2)
	*s2 = 0;
    *service = xstrdup(copy);
    *type = xstrdup(s1 + 1);
    *rest = s2 ? xstrdup(s2 + 1) : 0;
    free(copy);
}

/* Re-parse entry e of pf (postconf style) for field/parameter edits. */
static MASTER_CONF *pc_master_entry_conf(PC_FILE *pf, int e, const char *edit_text)
{
    char   *text = edit_text ? xstrdup(edit_text) : pc_entry_text(pf, e);
    MASTER_CONF *mc = pc_master_parse_text(pf->path, text);

    free(text);
    if (mc->count != 1)
	msg_panic("pc_master_entry_conf: bad entry count %zu", mc->count);
    return (mc);
}

void    pc_edit_master_entries(int mode, char **args, int count)
{
    char   *path = pc_master_path();
    PC_FILE *pf = pc_file_read(path);
    PC_CHANGE *chg = xcalloc((size_t) pf->nentries + 1, sizeof(*chg));
    ARGV   *append = argv_alloc(4);

    for (int a = 0; a < count; a++) {
	char   *service, *type, *rest, *req, *eq = 0;
	int     e, hits;

	req = xstrdup(args[a]);
	if (mode == PC_EDIT_SET) {
	    if ((eq = strchr(req, '=')) == 0)
		msg_fatal("missing '=' after attribute name: \"%s\"", args[a]);
	    *eq++ = 0;
	}
	pc_split_service(trim(req), mode == PC_EDIT_SET ? "-Me" :
			 mode == PC_EDIT_REMOVE ? "-MX" : "-M#",
			 &service, &type, &rest, 0);
	e = pc_master_find(pf, service, type, &hits);
	if (mode == PC_EDIT_SET) {
	    MASTER_CONF *mc;
	    char   *copy = xstrdup(eq), *bp = copy;
	    int     nf = 0;

	    while (mystrtok(&bp, BLANKS))
		nf++;
	    free(copy);
	    if (nf < MASTER_NFIELDS)
		msg_fatal("bad field count: \"%s\"", args[a]);
	    mc = pc_master_parse_text(path, eq);
	    if (mc->count != 1)
		msg_fatal("bad field count: \"%s\"", args[a]);
	    if (e >= 0) {
		free(chg[e].text);
		chg[e].text = pc_master_format(mc->ent[0]);
		chg[e].touched = 1;
	    } else {
		char   *t = pc_master_format(mc->ent[0]);

		argv_add(append, t);
		free(t);
	    }
	    master_conf_free(mc);
	} else if (e >= 0) {
	    for (int k = 0; k < pf->nentries; k++) {
		char   *text = pc_entry_text(pf, k);
		char   *bp = text;
		char   *s = mystrtok(&bp, BLANKS);
		char   *t = s ? mystrtok(&bp, BLANKS) : 0;

		if (s && t && strcmp(s, service) == 0 && strcmp(t, type) == 0) {
		    chg[k].touched = 1;
		    chg[k].comment = (mode == PC_EDIT_COMMENT);
		    free(chg[k].text);
		    chg[k].text = 0;
		}
		free(text);
	    }
	}
	free(service);
	free(type);
	free(rest);
	free(req);
    }
    pc_edit_finish(pf, chg, append, 0);
    free(path);
}

/* Current text of entry e: an earlier edit in this run, or the file's. */
static char *pc_current(PC_FILE *pf, PC_CHANGE *chg, int e)
{
    return (chg[e].touched && chg[e].text ? xstrdup(chg[e].text) : pc_entry_text(pf, e));
}

/* Entry e becomes the (normalized) master.cf line TEXT. */
static void pc_master_replace(PC_FILE *pf, PC_CHANGE *chg, int e, const char *text)
{
    MASTER_CONF *mc = pc_master_parse_text(pf->path, text);

    free(chg[e].text);
    chg[e].text = pc_master_format(mc->ent[0]);
    chg[e].touched = 1;
    master_conf_free(mc);
}

/* Append "-o NAME=VALUE" to an argument list. */
static void pc_add_oparam(ARGV *args, const char *name, const char *value)
{
    VSTR   *vp = vstr_alloc(64);

    (void) vstr_fmt(vp, "%s=%s", name, value);
    argv_add(args, "-o");
    argv_add(args, vstr_str(vp));
    vstr_free(vp);
}

void    pc_edit_master_fields(char **args, int count)
{
    char   *path = pc_master_path();
    PC_FILE *pf = pc_file_read(path);
    PC_CHANGE *chg = xcalloc((size_t) pf->nentries + 1, sizeof(*chg));

    for (int a = 0; a < count; a++) {
	char   *service, *type, *field, *req, *eq, *value;
	int     e, hits, fld = -1;

	req = xstrdup(args[a]);
	if ((eq = strchr(req, '=')) == 0)
	    msg_fatal("missing '=' after attribute name: \"%s\"", args[a]);
	*eq++ = 0;
	value = trim(eq);
	pc_split_service(trim(req), "-F", &service, &type, &field, 1);
	for (int i = 0; i < MASTER_NFIELDS; i++)
	    if (strcmp(master_field_names[i], field) == 0)
		fld = i;
	if (fld < 0)
	    msg_fatal("invalid service attribute name: \"%s\"", field);
	if (fld != MASTER_FLD_COMMAND && value[strcspn(value, " \t")])
	    msg_fatal("-Fe does not accept whitespace in non-command field");
	if ((e = pc_master_find(pf, service, type, &hits)) < 0) {
	    msg_warn("unmatched service_name/type: \"%s\"", args[a]);
	} else {
	    char   *text = pc_current(pf, chg, e);
	    MASTER_CONF *mc = pc_master_entry_conf(pf, e, text);
	    MASTER_ENT *ent = mc->ent[0];
	    VSTR   *nt = vstr_alloc(256);
	    char   *cmd = master_ent_command_text(ent);

	    for (int i = 0; i < MASTER_FLD_COMMAND; i++) {
		(void) vstr_cat(nt, i == fld ? value : ent->field[i]);
		(void) vstr_addch(nt, ' ');
	    }
	    (void) vstr_cat(nt, fld == MASTER_FLD_COMMAND ? value : cmd);
	    free(cmd);
	    master_conf_free(mc);
	    pc_master_replace(pf, chg, e, vstr_str(nt));
	    vstr_free(nt);
	    free(text);
	}
	free(service);
	free(type);
	free(field);
	free(req);
    }
    pc_edit_finish(pf, chg, 0, 1);
    free(path);
}

void    pc_edit_master_params(int mode, char **args, int count)
{
    char   *path = pc_master_path();
    PC_FILE *pf = pc_file_read(path);
    PC_CHANGE *chg = xcalloc((size_t) pf->nentries + 1, sizeof(*chg));
    const char *opt = mode == PC_EDIT_SET ? "-Pe" : mode == PC_EDIT_REMOVE ? "-PX" : "-P#";

    for (int a = 0; a < count; a++) {
	char   *service, *type, *param, *req, *eq = 0, *value = 0;
	int     e, hits;

	req = xstrdup(args[a]);
	if (mode == PC_EDIT_SET) {
	    if ((eq = strchr(req, '=')) == 0)
		msg_fatal("missing '=' after attribute name: \"%s\"", args[a]);
	    *eq++ = 0;
	    value = trim(eq);
	    if (value[strcspn(value, " \t")])
		msg_fatal("%s does not accept whitespace in parameter value", opt);
	}
	pc_split_service(trim(req), "-P", &service, &type, &param, 1);
	if ((e = pc_master_find(pf, service, type, &hits)) < 0) {
	    msg_warn("unmatched service_name/type: \"%s\"", args[a]);
	} else {
	    char   *text = pc_current(pf, chg, e);
	    MASTER_CONF *mc = pc_master_entry_conf(pf, e, text);
	    MASTER_ENT *ent = mc->ent[0];
	    ARGV   *nargs = argv_alloc(ent->args->argc + 2);
	    int     done = 0;

	    /* Rebuild the argument list with the change. */
	    for (size_t i = 0; i < ent->args->argc; i++) {
		const char *w = ent->args->argv[i];

		if (i < ent->first_arg && strcmp(w, "-o") == 0 && i + 1 < ent->args->argc) {
		    const char *nv = ent->args->argv[i + 1];
		    size_t  plen = strlen(param);

		    i++;
		    if (strncmp(nv, param, plen) == 0 && nv[plen] == '=') {
			if (mode == PC_EDIT_SET && !done) {
			    pc_add_oparam(nargs, param, value);
			    done = 1;
			}
			continue;
		    }
		    argv_add(nargs, "-o");
		    argv_add(nargs, nv);
		    continue;
		}
		if (i == ent->first_arg && mode == PC_EDIT_SET && !done) {
		    pc_add_oparam(nargs, param, value);
		    done = 1;
		}
		argv_add(nargs, w);
	    }
	    if (mode == PC_EDIT_SET && !done)
		pc_add_oparam(nargs, param, value);
	    {
		VSTR   *nt = vstr_alloc(256);

		for (int i = 0; i < MASTER_FLD_COMMAND; i++) {
		    (void) vstr_cat(nt, ent->field[i]);
		    (void) vstr_addch(nt, ' ');
		}
		(void) vstr_cat(nt, ent->command);
		for (size_t i = 0; i < nargs->argc; i++) {
		    const char *w = nargs->argv[i];

		    (void) vstr_addch(nt, ' ');
		    if (i > 0 && strcmp(nargs->argv[i - 1], "-o") == 0 && w[strcspn(w, " \t")])
			(void) vstr_fmt_append(nt, "{%s}", w);
		    else
			(void) vstr_cat(nt, w);
		}
		master_conf_free(mc);
		pc_master_replace(pf, chg, e, vstr_str(nt));
		vstr_free(nt);
	    }
	    argv_free(nargs);
	    free(text);
	}
	free(service);
	free(type);
	free(param);
	free(req);
    }
    pc_edit_finish(pf, chg, 0, 1);
    free(path);
}
