/*
 * postconf - Postfix configuration utility (postern implementation).
 *
 * Same options, outputs and diagnostics as Postfix 3.7's postconf(1):
 *   postconf [-dfhHnx] [-c dir] [-o name=value] [name ...]   main.cf
 *   postconf [-e] name=value ...; postconf -X name ...; postconf -# name ...
 *   postconf -M [-f] [name[/type] ...]; -Me name/type=entry; -MX; -M#
 *   postconf -F [name[/type[/field]] ...]; -Fe name/type/field=value
 *   postconf -P [-x] [name[/type[/param]] ...]; -Pe ...=value; -PX
 *   postconf -l (lock methods); -m (lookup table types); -a; -A
 * See docs/configuration.md for the differences from Postfix.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/opensslv.h>

#include "mail_conf.h"
#include "mem.h"
#include "msg.h"
#include "postconf.h"
#include "stringops.h"
#include "vstr.h"

int     pc_flags;
int     pc_classes = PC_CLASS_ALL;
char   *pc_override_names[64];		/* postconf -o names */
int     pc_override_count;

/* Lookup table types; see dict_type_names() in src/global/dict.c. */
extern const char *const *pc_dict_types(void);

#define PC_USAGE "usage: %s [-a (server SASL types)] [-A (client SASL types)] " \
    "[-b (bounce templates)] [-c config_dir] [-c param_class] [-d (parameter defaults)] " \
    "[-e (edit configuration)] [-f (fold lines)] [-F (master.cf fields)] [-h (no names)] " \
    "[-H (no values)] [-l (lock types)] [-m (map types)] [-M (master.cf)] " \
    "[-n (non-default parameters)] [-o name=value (override parameter value)] " \
    "[-p (main.cf, default)] [-P (master.cf parameters)] [-t (bounce templates)] " \
    "[-T compile-version|run-version|public-key-algorithms] [-v (verbose)] " \
    "[-x (expand parameter values)] [-X (exclude)] [-# (comment-out)] [name...]"

/* Order in which conflicting options are named ("specify one of -F -M"). */
static const char pc_opt_order[] = "aAbdefFhHlmMnpPtTxX#";

static void pc_conflict(const char *set, const char *given)
{
    char    seen[2];
    int     n = 0;

    for (const char *cp = pc_opt_order; *cp; cp++)
	if (strchr(set, *cp) && strchr(given, *cp) && n < 2)
	    seen[n++] = *cp;
    if (n == 2)
	msg_fatal("specify one of -%c -%c", seen[0], seen[1]);
}

/* -C builtin,service,user,all: which parameter classes a listing shows. */
static void pc_set_classes(const char *list)
{
    char   *copy = xstrdup(list);
    char   *bp = copy, *word;

    pc_classes = 0;
    while ((word = mystrtok(&bp, CHARS_COMMA_SP)) != 0) {
	if (strcmp(word, "builtin") == 0)
	    pc_classes |= PC_CLASS_BUILTIN;
	else if (strcmp(word, "service") == 0)
	    pc_classes |= PC_CLASS_SERVICE;
	else if (strcmp(word, "user") == 0)
	    pc_classes |= PC_CLASS_USER;
	else if (strcmp(word, "all") == 0)
	    pc_classes |= PC_CLASS_ALL;
	else
	    msg_fatal("unknown -C option value \"%s\" in \"%s\"", word, list);
    }
    free(copy);
}

/* -T: TLS library information, as Postfix prints it. */
static void pc_tls_info(const char *what)
{
    if (strcmp(what, "compile-version") == 0) {
	printf("%s\n", OPENSSL_VERSION_TEXT);
    } else if (strcmp(what, "run-version") == 0) {
	printf("%s\n", OpenSSL_version(OPENSSL_VERSION));
    } else if (strcmp(what, "public-key-algorithms") == 0) {
	printf("dsa\necdsa\nrsa\n");
    } else {
	msg_warn("unknown 'postconf -T' mode: %s", what);
	exit(1);
    }
    exit(0);
}

int     main(int argc, char **argv)
{
    VSTR   *given = vstr_alloc(32);
    const char *overrides[64];
    int     noverride = 0;
    int     ch;
    char    mode = 'p';			/* p M F P l m a A */
    char    edit = 0;			/* e X # */

    msg_init(argv[0], 1);
    opterr = 0;
    while ((ch = getopt(argc, argv, "+:aAbc:C:deEfFhHlmMno:pPtT:vxX#")) > 0) {
	if (ch != '?' && ch != 'c' && ch != 'o' && ch != 'v' && ch != 'C')
	    (void) vstr_addch(given, ch);
	switch (ch) {
	case 'c':
	    mail_conf_set_dir(optarg);
	    break;
	case 'C':
	    pc_set_classes(optarg);
	    break;
	case 'd':
	    pc_flags |= PC_FLAG_DEFAULT;
	    break;
	case 'n':
	    pc_flags |= PC_FLAG_NONDEFAULT;
	    break;
	case 'h':
	    pc_flags |= PC_FLAG_HIDE_NAME;
	    break;
	case 'H':
	    pc_flags |= PC_FLAG_HIDE_VALUE;
	    break;
	case 'x':
	    pc_flags |= PC_FLAG_EXPAND;
	    break;
	case 'f':
	    pc_flags |= PC_FLAG_FOLD;
	    break;
	case 'e':
	case 'X':
	case '#':
	    edit = (char) ch;
	    break;
	case 'M':
	case 'F':
	case 'P':
	case 'l':
	case 'm':
	case 'a':
	case 'A':
	    mode = (char) ch;
	    break;
	case 'p':
	    break;
	case 'o':
	    if (noverride >= (int) (sizeof(overrides) / sizeof(overrides[0])))
		msg_fatal("too many -o options");
	    overrides[noverride++] = optarg;
	    break;
	case 'v':
	    msg_verbose++;
	    break;
	case 'T':
	    pc_tls_info(optarg);
	    break;
	case 'b':
	case 't':
	case 'E':
	    msg_fatal("option -%c is not supported by postern's postconf", ch);
	case ':':
	    fprintf(stderr, "%s: option requires an argument -- '%c'\n", argv[0], optopt);
	    msg_fatal(PC_USAGE, argv[0]);
	default:
	    fprintf(stderr, "%s: invalid option -- '%c'\n", argv[0], optopt);
	    msg_fatal(PC_USAGE, argv[0]);
	}
    }
    /* A bare name=value argument means -e. */
    if (optind < argc && strchr(argv[optind], '=') && !strchr(vstr_str(given), 'e')
	&& !strchr("MFP", mode))
	(void) vstr_addch(given, 'e');
    pc_conflict("dn", vstr_str(given));
    pc_conflict("hH", vstr_str(given));
    pc_conflict("eX#", vstr_str(given));
    for (const char *cp = "eX#"; *cp; cp++) {
	if (strchr(vstr_str(given), *cp)) {
	    char    pair[3] = {*cp, 0, 0};

	    for (const char *op = "dfhHnx"; *op; op++) {
		pair[1] = *op;
		pc_conflict(pair, vstr_str(given));
	    }
	}
    }
    pc_conflict("aAbFlmMPtT", vstr_str(given));
    {
	const char *bad = mode == 'M' ? "dnhH" : (mode == 'F' || mode == 'P') ? "dn"
	    : strchr("lmaA", mode) ? "dfhHnx" : "";

	for (const char *cp = vstr_str(given); *cp; cp++)
	    if (strchr(bad, *cp))
		msg_fatal("with option -%c, do not specify -%c", mode, *cp);
    }
    if (mode == 'P' && strchr(vstr_str(given), '#'))
	msg_fatal("with option -P, do not specify -#");
    if (strchr(vstr_str(given), 'e') && optind >= argc)
	msg_fatal("-e requires name=value argument");
    if ((strchr(vstr_str(given), 'X') || strchr(vstr_str(given), '#')) && optind >= argc)
	msg_fatal("missing service argument");

    if (mode == 'l') {
	printf("flock\nfcntl\ndotlock\n");
	exit(0);
    }
    if (mode == 'm') {
	const char *const *types = pc_dict_types();

	for (int i = 0; types[i]; i++)
	    printf("%s\n", types[i]);
	exit(0);
    }
    if (mode == 'a') {
	printf("cyrus\ndovecot\n");
	exit(0);
    }
    if (mode == 'A') {
	printf("cyrus\n");
	exit(0);
    }

    if (mode == 'p' && edit == 0 && strchr(vstr_str(given), 'e'))
	edit = 'e';

    if (mode == 'p' && edit) {
	int     em = edit == 'e' ? PC_EDIT_SET : edit == 'X' ? PC_EDIT_REMOVE : PC_EDIT_COMMENT;

	/* Like Postfix, edit the file as text without parsing it first. */
	pc_edit_main(em, argv + optind, argc - optind);
	exit(0);
    }
    if (mode == 'M' && edit) {
	pc_edit_master_entries(edit == 'e' ? PC_EDIT_SET : edit == 'X' ?
			       PC_EDIT_REMOVE : PC_EDIT_COMMENT,
			       argv + optind, argc - optind);
	exit(0);
    }
    if (mode == 'F' && edit) {
	if (edit != 'e')
	    msg_fatal("-F%c is not supported", edit);
	pc_edit_master_fields(argv + optind, argc - optind);
	exit(0);
    }
    if (mode == 'P' && edit) {
	if (edit == '#')
	    msg_fatal("-P# is not supported");
	pc_edit_master_params(edit == 'e' ? PC_EDIT_SET : PC_EDIT_REMOVE,
			      argv + optind, argc - optind);
	exit(0);
    }

    /*
     * Display modes read main.cf and master.cf. With -d, Postfix shows
     * defaults computed from defaults only (mynetworks from the default
     * mynetworks_style, myhostname without main.cf's mydomain).
     */
    if (pc_flags & PC_FLAG_DEFAULT)
	(void) mail_conf_dir();
    else
	mail_conf_read();
    for (int i = 0; i < noverride; i++) {
	char   *copy = xstrdup(overrides[i]);
	char   *name, *value;
	const char *err;

	if ((err = split_nameval(copy, &name, &value)) != 0)
	    msg_fatal("invalid parameter override: %s: %s", overrides[i], err);
	mail_conf_override(name, value);
	pc_override_names[pc_override_count++] = xstrdup(name);
	free(copy);
    }
    if (mode == 'p') {
	pc_main_init();
	pc_show_params(argv + optind, argc - optind);
	if (!(pc_flags & PC_FLAG_DEFAULT)) {
	    pc_check_unused();
	    pc_check_master_unused();
	}
    } else {
	pc_read_master(1);
	pc_main_init();
	if (mode == 'M')
	    pc_show_master_entries(argv + optind, argc - optind);
	else if (mode == 'F')
	    pc_show_master_fields(argv + optind, argc - optind);
	else
	    pc_show_master_params(argv + optind, argc - optind);
	pc_check_undefined();
	pc_check_master_unused();
    }
    if (fflush(stdout) != 0 || ferror(stdout))
	msg_fatal("write error on standard output: %m");
    exit(0);
}
