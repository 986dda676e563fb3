/*
 * pc_main - main.cf parameters as postconf shows them.
 *
 * The known parameters are: every parameter of the table
 * (mail_params.def); the per-service parameters that master.cf services
 * imply (relay_destination_concurrency_limit for a "relay" smtp service,
 * master_conf_service_params()); and "user-defined" parameters: names
 * defined in main.cf that are used, i.e. referenced as $name (or ${name},
 * $(name), ${name?...}, ${name:...}) from a main.cf value or a master.cf
 * -o value, or listed in smtpd_restriction_classes. Every other name set
 * in main.cf (or with master.cf -o) gets Postfix's "unused parameter"
 * warning.
 */
#include <ctype.h>
#include <errno.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "argv.h"
#include "htable.h"
#include "mac_expand.h"
#include "mail_conf.h"
#include "mail_params.h"
#include "master_conf.h"
#include "mem.h"
#include "msg.h"
#include "postconf.h"
#include "stringops.h"
#include "vstr.h"

MASTER_CONF *pc_master;
static HTABLE *pc_service;		/* per-service name -> default */
static HTABLE *pc_user;			/* used user-defined names */

void    pc_read_master(int must_exist)
{
    VSTR   *path = vstr_alloc(100);

    if (pc_master)
	return;
    (void) vstr_fmt(path, "%s/master.cf", mail_conf_dir());
    if (!must_exist && access(vstr_str(path), F_OK) < 0 && errno == ENOENT)
	msg_warn("open %s: %m", vstr_str(path));
    pc_master = master_conf_read(vstr_str(path), MASTER_CONF_STYLE_POSTCONF
				 | (must_exist ? 0 : MASTER_CONF_FLAG_MISSING_OK));
    vstr_free(path);
}

static void pc_add_service_param(const char *name, const char *defval, void *ctx)
{
    if (mail_param_find(name) == 0 && htable_find(pc_service, name) == 0)
	htable_enter(pc_service, name, (void *) defval);
}

/* Collect $name references of a value into the used set. */
static void pc_scan_refs(const char *value, HTABLE *defined)
{
    const char *cp = value;

    while ((cp = strchr(cp, '$')) != 0) {
	const char *start;
	size_t  len;

	cp++;
	if (*cp == '$') {
	    cp++;
	    continue;
	}
	if (*cp == '{' || *cp == '(') {
	    cp++;
	    if (*cp == '{')		/* relational ${{...}}: scan inside */
		continue;
	}
	start = cp;
	while (isalnum((unsigned char) *cp) || *cp == '_' || *cp == '-')
	    cp++;
	len = (size_t) (cp - start);
	if (len > 0 && len < 256) {
	    char    name[256];

	    memcpy(name, start, len);
	    name[len] = 0;
	    if (htable_find(defined, name) && mail_param_find(name) == 0
		&& htable_find(pc_service, name) == 0)
		htable_enter(pc_user, name, (void *) 1);
	}
    }
}

static void pc_add_classes(const char *classes, HTABLE *defined)
{
    ARGV   *av = argv_split(classes, CHARS_COMMA_SP);

    for (size_t i = 0; i < av->argc; i++)
	if (htable_find(defined, av->argv[i]) && mail_param_find(av->argv[i]) == 0)
	    htable_enter(pc_user, av->argv[i], (void *) 1);
    argv_free(av);
}

void    pc_main_init(void)
{
    HTABLE *defined = mail_conf_table();
    const char *const *names = mail_conf_names();
    const char *classes;

    pc_read_master(0);
    pc_service = htable_create(64);
    pc_user = htable_create(16);
    master_conf_service_params(pc_master, pc_add_service_param, 0);
    /* Names in smtpd_restriction_classes (main.cf or a master.cf -o). */
    if ((classes = mail_conf_explicit("smtpd_restriction_classes")) != 0)
	pc_add_classes(classes, defined);
    for (size_t i = 0; i < pc_master->count; i++) {
	MASTER_ENT *ent = pc_master->ent[i];

	for (size_t j = 0; j < ent->ov_names->argc; j++)
	    if (strcmp(ent->ov_names->argv[j], "smtpd_restriction_classes") == 0)
		pc_add_classes(ent->ov_values->argv[j], defined);
    }
    /* $name references from main.cf values, defaults and master.cf -o values. */
    for (size_t i = 0; names[i]; i++)
	pc_scan_refs(htable_find(defined, names[i]), defined);
    for (int i = 0; i < mail_param_count; i++)
	if (strchr(mail_param_table[i].defval, '$'))
	    pc_scan_refs(mail_param_table[i].defval, defined);
    for (size_t i = 0; i < pc_master->count; i++) {
	MASTER_ENT *ent = pc_master->ent[i];

	for (size_t j = 0; j < ent->ov_values->argc; j++)
	    pc_scan_refs(ent->ov_values->argv[j], defined);
    }
}

/* The -C class of a known name. */
static int pc_class(const char *name)
{
    if (mail_param_find(name))
	return (PC_CLASS_BUILTIN);
    if (htable_find(pc_service, name))
	return (PC_CLASS_SERVICE);
    return (PC_CLASS_USER);
}

static int pc_known(const char *name)
{
    return (mail_param_find(name) != 0 || htable_find(pc_service, name) != 0
	    || htable_find(pc_user, name) != 0);
}

/* Raw value: explicit (main.cf / -o), else default; NULL if unknown. */
const char *pc_param_raw(const char *name, int *known)
{
    const char *v;

    *known = pc_known(name);
    if (!*known)
	return (0);
    if (!(pc_flags & PC_FLAG_DEFAULT) && (v = mail_conf_explicit(name)) != 0)
	return (v);
    if ((v = htable_find(pc_service, name)) != 0)
	return (v);
    if (htable_find(pc_user, name))
	return ((pc_flags & PC_FLAG_DEFAULT) ? 0 : mail_conf_explicit(name));
    return (mail_conf_default(name));
}

static const char *pc_lookup(const char *name, void *ctx)
{
    int     known;
    const char *v = pc_param_raw(name, &known);

    if (v == 0)
	v = mail_conf_explicit(name);
    return (v);
}

/* Postfix's wording of expansion errors. */
static void pc_macro_fatal(const char *why, const char *value)
{
    msg_warn("%s: \"%s\"", why, value);
    msg_fatal("macro processing error");
}

char   *pc_expand(const char *value)
{
    VSTR   *out = vstr_alloc(strlen(value) + 16);
    const char *why;

    if (mac_expand(out, value, pc_lookup, 0, &why) & MAC_ERROR)
	pc_macro_fatal(why, value);
    return (vstr_export(out));
}

/* Every main.cf value must at least parse (Postfix checks at startup). */
static void pc_check_syntax(void)
{
    HTABLE *defined = mail_conf_table();
    const char *const *names = mail_conf_names();

    for (size_t i = 0; names[i]; i++) {
	const char *value = htable_find(defined, names[i]);
	VSTR   *out = vstr_alloc(64);
	const char *why;

	if (mac_expand(out, value, pc_lookup, 0, &why) & MAC_ERROR) {
	    if (strcmp(why, "unreasonable macro call nesting") != 0)
		pc_macro_fatal(why, value);
	}
	vstr_free(out);
    }
}

static int pc_cmp(const void *a, const void *b)
{
    return (strcmp(*(const char *const *) a, *(const char *const *) b));
}

static void pc_show_one(const char *name, const char *value)
{
    char   *expanded = 0;
    const PARAM_DEF *p = mail_param_find(name);

    if ((pc_flags & PC_FLAG_EXPAND) && !(p && (p->flags & PF_RAW)))
	value = expanded = pc_expand(value);
    if (pc_flags & PC_FLAG_HIDE_VALUE)
	pc_print_line(name, "", "");
    else if (pc_flags & PC_FLAG_HIDE_NAME)
	pc_print_line("", "", value);
    else
	pc_print_line(name, " =", value);
    free(expanded);
}

void    pc_show_params(char **names, int count)
{
    ARGV   *all;
    int     known;
    const char *v;

    pc_check_syntax();
    if (count > 0) {
	for (int i = 0; i < count; i++) {
	    v = pc_param_raw(names[i], &known);
	    if (!known) {
		msg_warn("%s: unknown parameter", names[i]);
		continue;
	    }
	    if ((pc_flags & PC_FLAG_NONDEFAULT) && mail_conf_explicit(names[i]) == 0)
		continue;
	    pc_show_one(names[i], v ? v : "");
	}
	return;
    }
    all = argv_alloc(1024);
    if (pc_flags & PC_FLAG_NONDEFAULT) {
	const char *const *mc = mail_conf_names();

	for (size_t i = 0; mc[i]; i++)
	    if (pc_known(mc[i]) && (pc_class(mc[i]) & pc_classes))
		argv_add(all, mc[i]);
	if (mail_conf_explicit("config_directory") && !htable_find(mail_conf_table(), "config_directory")
	    && (pc_classes & PC_CLASS_BUILTIN))
	    argv_add(all, "config_directory");
    } else {
	HTABLE_ENT **list;

	if (pc_classes & PC_CLASS_BUILTIN)
	    for (int i = 0; i < mail_param_count; i++)
		if (!(mail_param_table[i].flags & PF_OWN))	/* postern's own: when named */
		    argv_add(all, mail_param_table[i].name);
	list = htable_list(pc_service, 0);
	for (size_t i = 0; list[i] && (pc_classes & PC_CLASS_SERVICE); i++)
	    argv_add(all, list[i]->key);
	free(list);
	if (!(pc_flags & PC_FLAG_DEFAULT) && (pc_classes & PC_CLASS_USER)) {
	    list = htable_list(pc_user, 0);
	    for (size_t i = 0; list[i]; i++)
		argv_add(all, list[i]->key);
	    free(list);
	}
    }
    qsort(all->argv, all->argc, sizeof(all->argv[0]), pc_cmp);
    for (size_t i = 0; i < all->argc; i++) {
	v = pc_param_raw(all->argv[i], &known);
	pc_show_one(all->argv[i], v ? v : "");
    }
    argv_free(all);
}

/* Warn about $name references (in main.cf values) to names defined nowhere. */
void    pc_check_undefined(void)
{
    HTABLE *defined = mail_conf_table();
    const char *const *names = mail_conf_names();
    HTABLE *warned = htable_create(8);

    for (size_t i = 0; names[i]; i++) {
	const PARAM_DEF *p = mail_param_find(names[i]);
	const char *cp = htable_find(defined, names[i]);

	if (p && (p->flags & PF_RAW))
	    continue;
	while ((cp = strchr(cp, '$')) != 0) {
	    const char *start;
	    size_t  len;
	    char    name[256];

	    cp++;
	    if (*cp == '$') {
		cp++;
		continue;
	    }
	    if (*cp == '{' || *cp == '(') {
		cp++;
		if (*cp == '{')
		    continue;
	    }
	    start = cp;
	    while (isalnum((unsigned char) *cp) || *cp == '_' || *cp == '-')
		cp++;
	    len = (size_t) (cp - start);
	    if (len == 0 || len >= sizeof(name))
		continue;
	    memcpy(name, start, len);
	    name[len] = 0;
	    if (!pc_known(name) && htable_find(defined, name) == 0
		&& strcmp(name, "service_name") != 0
		&& htable_find(warned, name) == 0) {
		msg_warn("%s: undefined parameter: %s", mail_conf_path(), name);
		htable_enter(warned, name, (void *) 1);
	    }
	}
    }
    htable_free(warned, 0);
}

void    pc_check_unused(void)
{
    HTABLE *defined = mail_conf_table();
    const char *const *names = mail_conf_names();

    pc_check_undefined();

    for (size_t i = 0; names[i]; i++)
	if (!pc_known(names[i]))
	    msg_warn("%s: unused parameter: %s=%s", mail_conf_path(), names[i],
		     (char *) htable_find(defined, names[i]));
    for (int i = 0; i < pc_override_count; i++)
	if (!pc_known(pc_override_names[i]) && htable_find(defined, pc_override_names[i]) == 0)
	    msg_warn("%s: unused parameter: %s=%s", mail_conf_path(), pc_override_names[i],
		     mail_conf_explicit(pc_override_names[i]));
}

void    pc_check_master_unused(void)
{
    for (size_t i = 0; i < pc_master->count; i++) {
	MASTER_ENT *ent = pc_master->ent[i];

	for (size_t j = 0; j < ent->ov_names->argc; j++)
	    if (!pc_known(ent->ov_names->argv[j]))
		msg_warn("%s: unused parameter: %s=%s", pc_master->path,
			 ent->ov_names->argv[j], ent->ov_values->argv[j]);
    }
}
