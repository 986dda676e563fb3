/*
 * master_conf - master.cf as master(5) defines it.
 *
 * A master.cf entry is one logical line (continuation lines start with
 * white space; '#' lines and blank lines are skipped) with eight fields:
 *
 *   service type private unpriv chroot wakeup maxproc command [args...]
 *
 * "-" in fields 3-7 selects the built-in default: private y, unpriv y,
 * chroot n (Postfix >= 3.0; Debian's stock master.cf spells out y/n on
 * every line that matters), wakeup never (0), maxproc
 * $default_process_limit. A wakeup time may end in "?" (wake only after
 * the service was used once). Types: inet, unix, unix-dgram, fifo, pass.
 *
 * Command arguments are words separated by white space; a word that
 * starts with "{" extends to the matching "}" and may contain white space
 * ("-o { name = value with spaces }"). Options at the start of the
 * argument list are recognized: "-o name=value" (a main.cf override for
 * this service), "-o{name=value}" is accepted too, and "-v" (verbose).
 *
 * Errors. Two reporting styles, because Postfix's master daemon and its
 * postconf command word them differently:
 *   MASTER_CONF_STYLE_MASTER    "PATH: line N: missing "chroot" field",
 *                               (a repeated name/type: the last entry wins; for
 *                               inet, "duplicate master.cf entry for service ...")
 *                               "PATH: line N: field "private": bad value: "x"",
 *                               "PATH: line N: inet service cannot be private", ...
 *   MASTER_CONF_STYLE_POSTCONF  "file PATH: line N: bad field count",
 *                               "invalid private field "x" in "LINE"", ...
 * Errors are fatal (msg_fatal) unless MASTER_CONF_FLAG_NOFATAL is given,
 * in which case master_conf_read() returns NULL and the error text is
 * available from master_conf_error() (for fuzzing and unit tests).
 * A logical line that starts with white space is skipped with Postfix's
 * warning "PATH: logical line must not start with whitespace: "LINE"".
 *
 * Inet service names: "smtp", "2525", "127.0.0.1:2525", "[::1]:25",
 * "localhost:smtp", "[::1]:submission". master_inet_split() separates
 * host and port; without a host the listener uses $inet_interfaces.
 */
#ifndef POSTERN_MASTER_CONF_H
#define POSTERN_MASTER_CONF_H

#include <stddef.h>

#include "argv.h"

/* Service types. */
#define MASTER_TYPE_INET	1
#define MASTER_TYPE_UNIX	2
#define MASTER_TYPE_UNIX_DGRAM	3
#define MASTER_TYPE_FIFO	4
#define MASTER_TYPE_PASS	5

/* Raw field indexes (MASTER_ENT.field[]). */
#define MASTER_FLD_SERVICE	0
#define MASTER_FLD_TYPE		1
#define MASTER_FLD_PRIVATE	2
#define MASTER_FLD_UNPRIV	3
#define MASTER_FLD_CHROOT	4
#define MASTER_FLD_WAKEUP	5
#define MASTER_FLD_MAXPROC	6
#define MASTER_FLD_COMMAND	7	/* the whole command + arguments text */
#define MASTER_NFIELDS		8

/* postconf(1) -F names of the fields, in order. */
extern const char *const master_field_names[MASTER_NFIELDS];

typedef struct MASTER_ENT {
    char   *name;			/* service name as written */
    int     type;			/* MASTER_TYPE_* */
    const char *type_name;		/* "inet", "unix", ... */
    char   *field[MASTER_NFIELDS];	/* fields as written ("-" kept) */
    int     private_;			/* resolved: 1 or 0 */
    int     unpriv;			/* resolved: 1 or 0 */
    int     chroot;			/* resolved: 1 or 0 */
    int     wakeup;			/* seconds; 0 = never */
    int     wakeup_if_used;		/* wakeup ends in '?' */
    int     maxproc;			/* -1 = "-" ($default_process_limit) */
    char   *command;			/* program name (first command word) */
    ARGV   *args;			/* words after the command; -o values
					 * normalized to "name=value" */
    ARGV   *ov_names;			/* -o overrides in order: names */
    ARGV   *ov_values;			/* ... and their values (unexpanded) */
    int     verbose;			/* number of -v options */
    size_t  first_arg;			/* args->argv[first_arg..]: the words
					 * after the leading -o/-v options */
    int     line;			/* master.cf line number (first line) */
} MASTER_ENT;

typedef struct MASTER_CONF {
    char   *path;			/* file name as opened */
    MASTER_ENT **ent;			/* entries in file order */
    size_t  count;
} MASTER_CONF;

#define MASTER_CONF_STYLE_MASTER	0
#define MASTER_CONF_STYLE_POSTCONF	(1<<0)
#define MASTER_CONF_FLAG_NOFATAL	(1<<1)	/* return NULL, don't exit */
#define MASTER_CONF_FLAG_MISSING_OK	(1<<2)	/* no file: empty result */

/* Read DIR/master.cf (path given in full). */
extern MASTER_CONF *master_conf_read(const char *path, int flags);
/* Parse from memory (for tests and fuzzing); path is used in messages. */
extern MASTER_CONF *master_conf_parse(const char *path, const char *text,
				              size_t len, int flags);
extern void master_conf_free(MASTER_CONF *);
extern const char *master_conf_error(void);	/* last NOFATAL error */

/* Find "name/type" (type NULL: any type); NULL when absent. */
extern MASTER_ENT *master_conf_find(MASTER_CONF *, const char *name, const char *type);
/* Process limit, with "-" resolved to $default_process_limit. */
extern int master_ent_maxproc(const MASTER_ENT *);
/* The word-normalized command field as postconf -M prints it. */
extern char *master_ent_command_text(const MASTER_ENT *);	/* caller frees */

/*
 * Per-service main.cf parameters that master.cf services imply, as
 * Postfix's postconf -d shows them: for a delivery service NAME (command
 * smtp, lmtp, local, virtual, pipe or error) NAME_destination_concurrency_limit
 * = $default_destination_concurrency_limit and 15 more scheduler
 * parameters; for pipe and spawn services NAME_time_limit =
 * $command_time_limit. Calls fn(name, default, ctx) for each.
 */
typedef void (*MASTER_PARAM_FN) (const char *name, const char *defval, void *ctx);
extern void master_conf_service_params(const MASTER_CONF *, MASTER_PARAM_FN fn, void *ctx);

/* Type name <-> code; 0 / NULL when unknown. */
extern int master_type_code(const char *name);
extern const char *master_type_name(int code);

/*
 * Split an inet service name into host (NULL when none: use
 * $inet_interfaces) and port (service name or number). Brackets around a
 * host are removed. Returns 0, or -1 with *why set to a static text in
 * Postfix's wording ("missing \"]\" in ..." etc.). Caller frees *host and
 * *port.
 */
extern int master_inet_split(const char *name, char **host, char **port,
			             const char **why);

/*
 * Listener endpoints for an inet entry: "host port" pairs after applying
 * $inet_interfaces when the name has no host ("all" gives one wildcard
 * entry with an empty host; "loopback-only" gives 127.0.0.1 and/or ::1
 * per $inet_protocols). Returns an ARGV of alternating host, port.
 */
extern ARGV *master_inet_endpoints(const MASTER_ENT *ent, const char *inet_interfaces);

/*
 * Numeric port for a service name or number (getservbyname "tcp");
 * -1 when unknown.
 */
extern int master_inet_port(const char *port);

/* Hostname / address syntax checks used for inet service names. */
extern int master_valid_hostname(const char *);
extern int master_valid_hostaddr(const char *);

#endif
