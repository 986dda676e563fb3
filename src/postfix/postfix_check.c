/*
 * postfix_check - `postfix check` and `postfix set-permissions`.
 *
 * check: main.cf syntax (read by the caller: bad syntax is fatal there),
 * master.cf syntax (fatal), missing queue directories are created with
 * Postfix's owners and modes, then warnings in Postfix's wording:
 *   not owned by root: PATH            config/daemon/queue directory (root instance)
 *   not owned by USER: PATH            queue subdirectories, data directory
 *   not owned by group GROUP: PATH     maildrop, public
 *   group or other writable: PATH      config files, queue directory
 *   wrong permissions PATH: MODE (expected MODE)
 *   missing file: PATH                 main.cf/master.cf/daemon programs
 * In an ordinary user's instance "root" and mail_owner both mean the
 * invoking user, and groups are not checked.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mail_conf.h"
#include "argv.h"
#include "dict.h"
#include "htable.h"
#include "mail_params.h"
#include "master_conf.h"
#include "master_inproc.h"
#include "mem.h"
#include "msg.h"
#include "stringops.h"
#include "postfix.h"
#include "vstr.h"

typedef struct {
    const char *name;
    mode_t  mode;
    int     setgid_group;		/* group is setgid_group */
} QDIR;

static const QDIR qdirs[] = {
    {"active", 0700, 0}, {"bounce", 0700, 0}, {"corrupt", 0700, 0},
    {"defer", 0700, 0}, {"deferred", 0700, 0}, {"flush", 0700, 0},
    {"hold", 0700, 0}, {"incoming", 0700, 0}, {"private", 0700, 0},
    {"recycle", 0700, 0},		/* postern: reusable queue files */
    {"saved", 0700, 0}, {"trace", 0700, 0},
    {"maildrop", 0730, 1}, {"public", 0710, 1},
    {0},
};

typedef struct {
    int     root;			/* root instance */
    uid_t   owner_uid;			/* mail_owner (or the user) */
    gid_t   owner_gid;
    gid_t   sgid;			/* setgid_group */
    const char *owner;			/* names for messages */
    const char *group;
    const char *super;			/* "root" or the user */
} CHECK_IDS;

static void check_ids(CHECK_IDS *ids)
{
    struct passwd *pw;
    struct group *gr;

    memset(ids, 0, sizeof(*ids));
    ids->root = (geteuid() == 0);
    if (!ids->root) {
	pw = getpwuid(geteuid());
	ids->owner_uid = geteuid();
	ids->owner_gid = getegid();
	ids->sgid = getegid();
	ids->owner = ids->super = xstrdup(pw ? pw->pw_name : "?");
	ids->group = "";
	return;
    }
    ids->owner = mail_conf_str("mail_owner");
    ids->group = mail_conf_str("setgid_group");
    ids->super = "root";
    if ((pw = getpwnam(ids->owner)) == 0)
	msg_fatal("file %s/main.cf: parameter mail_owner: unknown user name value: %s",
		  mail_conf_dir(), ids->owner);
    if ((gr = getgrnam(ids->group)) == 0)
	msg_fatal("file %s/main.cf: parameter setgid_group: unknown group name: %s",
		  mail_conf_dir(), ids->group);
    ids->owner_uid = pw->pw_uid;
    ids->owner_gid = pw->pw_gid;
    ids->sgid = gr->gr_gid;
}

static char *path2(const char *dir, const char *name)
{
    VSTR   *vp = vstr_alloc(64);

    (void) vstr_fmt(vp, "%s/%s", dir, name);
    return (vstr_export(vp));
}

/* Create the queue (sub)directories that are missing. */
static void check_create(const CHECK_IDS *ids, int fix)
{
    const char *qdir = mail_conf_str("queue_directory");
    const char *ddir = mail_conf_str("data_directory");

    for (const QDIR *q = qdirs; q->name; q++) {
	char   *p = path2(qdir, q->name);
	struct stat st;
	int     created = 0;

	if (stat(p, &st) < 0) {
	    if (mkdir(p, q->mode) < 0 && errno != EEXIST)
		msg_fatal("create directory %s: %m", p);
	    created = 1;
	}
	if (created || fix) {
	    if (chmod(p, q->mode) < 0)
		msg_warn("chmod %s: %m", p);
	    if (ids->root && chown(p, ids->owner_uid,
			      q->setgid_group ? ids->sgid : (gid_t) 0) < 0)
		msg_warn("chown %s: %m", p);
	}
	free(p);
    }
    if (access(ddir, F_OK) < 0) {
	if (mkdir(ddir, 0700) < 0 && errno != EEXIST)
	    msg_fatal("create directory %s: %m", ddir);
	if (ids->root && chown(ddir, ids->owner_uid, ids->owner_gid) < 0)
	    msg_warn("chown %s: %m", ddir);
    } else if (fix) {
	(void) chmod(ddir, 0700);
	if (ids->root && chown(ddir, ids->owner_uid, ids->owner_gid) < 0)
	    msg_warn("chown %s: %m", ddir);
    }
}

/* Queue files inside the queue directories belong to mail_owner too. */
static void fix_tree(const CHECK_IDS *ids, const char *dir, int depth)
{
    DIR    *dp;
    struct dirent *de;

    if (depth > 3 || (dp = opendir(dir)) == 0)
	return;
    while ((de = readdir(dp)) != 0) {
	char   *p;
	struct stat st;

	if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
	    continue;
	p = path2(dir, de->d_name);
	if (lstat(p, &st) == 0 && !S_ISLNK(st.st_mode)) {
	    if (ids->root && st.st_uid != ids->owner_uid)
		(void) lchown(p, ids->owner_uid, (gid_t) -1);
	    if (S_ISDIR(st.st_mode))
		fix_tree(ids, p, depth + 1);
	}
	free(p);
    }
    (void) closedir(dp);
}

static void warn_owner(const char *path, uid_t want, const char *name)
{
    struct stat st;

    if (stat(path, &st) == 0 && st.st_uid != want)
	msg_warn("not owned by %s: %s", name, path);
}

static void warn_writable(const char *path)
{
    struct stat st;

    if (lstat(path, &st) == 0 && !S_ISLNK(st.st_mode) && !S_ISSOCK(st.st_mode)
	&& !S_ISFIFO(st.st_mode) && (st.st_mode & 022))
	msg_warn("group or other writable: %s", path);
}

static void check_master_cf(int programs)
{
    char   *path = path2(mail_conf_dir(), "master.cf");
    MASTER_CONF *conf;
    const char *ddir = mail_conf_str("daemon_directory");
    MASTER_MISSING missing;

    if (access(path, F_OK) < 0) {
	msg_warn("missing file: %s", path);
	free(path);
	return;
    }
    conf = master_conf_read(path, MASTER_CONF_STYLE_MASTER);
    if (*mail_conf_str("maillog_file")
	&& master_conf_find(conf, mail_conf_str("postlog_service_name"), "unix-dgram") == 0)
	msg_warn("maillog_file is set, but %s has no \"%s unix-dgram\" (postlogd) service: "
		 "processes that cannot open %s will not log", path,
		 mail_conf_str("postlog_service_name"), mail_conf_str("maillog_file"));
    master_missing_init(&missing);
    for (size_t i = 0; i < conf->count; i++) {
	char   *prog = path2(ddir, conf->ent[i]->command);

	/* In-process services (cleanup etc.) are fine; the rest: one warning. */
	if (programs && access(prog, X_OK) < 0 && master_inproc(conf->ent[i]->command) == 0)
	    master_missing_add(&missing, conf->ent[i]);
	free(prog);
    }
    master_missing_warn(&missing, ddir);
    master_conf_free(conf);
    free(path);
}

/*
 * hash: and btree: tables named in main.cf (defaults included) whose .db
 * file postern cannot read (a Berkeley DB file left by Postfix): the same
 * warning the lookup code logs when mail needs the table, which says how
 * to rebuild it (newaliases/postalias, postmap).
 */
static void check_one_table(HTABLE *seen, const char *spec)
{
    const char *cp = strncmp(spec, "proxy:", 6) == 0 ? spec + 6 : spec;
    char   *type = 0, *name = 0;
    DICT   *dict;

    if (htable_find(seen, cp) != 0)
	return;
    htable_enter(seen, cp, (void *) 1);
    if (dict_split_spec(cp, &type, &name) > 0
	&& (strcmp(type, "hash") == 0 || strcmp(type, "btree") == 0) && *name == '/') {
	VSTR   *db = vstr_alloc(64);

	(void) vstr_fmt(db, "%s.db", name);
	if (access(vstr_str(db), F_OK) == 0) {
	    dict = dict_open(cp, O_RDONLY, DICT_FLAG_DEFAULT);
	    if (dict_is_surrogate(dict) && strstr(dict->reason, "Berkeley DB") != 0)
		msg_warn("%s is unavailable. %s", cp, dict->reason);
	    dict_close(dict);
	}
	vstr_free(db);
    }
    free(type);
    free(name);
}

static void check_tables(void)
{
    HTABLE *seen = htable_create(32);
    const char *const *names = mail_conf_names();
    ARGV   *all = argv_alloc(mail_param_count + 16);

    for (int i = 0; i < mail_param_count; i++)
	argv_add(all, mail_param_table[i].name);
    for (int i = 0; names && names[i]; i++)
	argv_add(all, names[i]);
    for (size_t i = 0; i < all->argc; i++) {
	const char *value = mail_conf_raw(all->argv[i]) ? mail_conf_str(all->argv[i]) : 0;
	char   *copy, *bp, *word;

	if (value == 0 || (strstr(value, "hash:") == 0 && strstr(value, "btree:") == 0))
	    continue;
	copy = xstrdup(value);
	bp = copy;
	while ((word = mystrtok(&bp, CHARS_COMMA_SP)) != 0)
	    check_one_table(seen, word);
	free(copy);
    }
    argv_free(all);
    htable_free(seen, 0);
}

void    postfix_check(int programs)
{
    CHECK_IDS ids;
    const char *qdir = mail_conf_str("queue_directory");
    const char *ddir = mail_conf_str("data_directory");
    const char *cdir = mail_conf_dir();
    const char *dmdir = mail_conf_str("daemon_directory");
    struct stat st;
    char   *p;

    check_ids(&ids);
    if (stat(dmdir, &st) < 0)
	msg_warn("missing directory: %s", dmdir);
    check_master_cf(programs);
    check_tables();				/* check and start */
    check_create(&ids, 0);

    /* Ownership. */
    warn_owner(cdir, ids.root ? 0 : ids.owner_uid, ids.super);
    warn_owner(qdir, ids.root ? 0 : ids.owner_uid, ids.super);
    for (const QDIR *q = qdirs; q->name; q++) {
	struct stat qst;

	p = path2(qdir, q->name);
	warn_owner(p, ids.owner_uid, ids.owner);
	if (stat(p, &qst) == 0) {
	    if (ids.root && q->setgid_group && qst.st_gid != ids.sgid)
		msg_warn("not owned by group %s: %s", ids.group, p);
	    if ((qst.st_mode & 07777) != q->mode)
		msg_warn("wrong permissions %s: %04o (expected %04o)", p,
			 (unsigned) (qst.st_mode & 07777), (unsigned) q->mode);
	}
	free(p);
    }
    warn_owner(ddir, ids.owner_uid, ids.owner);

    /* Modes. */
    if (stat(qdir, &st) == 0 && (st.st_mode & 022))
	msg_warn("group or other writable: %s", qdir);
    p = path2(cdir, "main.cf");
    warn_writable(p);
    free(p);
    p = path2(cdir, "master.cf");
    warn_writable(p);
    free(p);
}

void    postfix_check_syntax(void)
{
    char   *path = path2(mail_conf_dir(), "master.cf");

    /* main.cf was read by the caller; a bad master.cf is fatal here. */
    master_conf_free(master_conf_read(path, MASTER_CONF_STYLE_MASTER));
    free(path);
}

void    postfix_set_permissions(void)
{
    CHECK_IDS ids;
    const char *qdir = mail_conf_str("queue_directory");
    const char *cmd = mail_conf_str("command_directory");
    static const char *const sgid_cmds[] = {"postdrop", "postqueue", 0};

    check_ids(&ids);
    check_create(&ids, 1);
    for (const QDIR *q = qdirs; q->name; q++) {
	char   *p = path2(qdir, q->name);

	fix_tree(&ids, p, 0);
	free(p);
    }
    if (!ids.root)
	return;
    for (int i = 0; sgid_cmds[i]; i++) {
	char   *p = path2(cmd, sgid_cmds[i]);

	if (access(p, F_OK) == 0) {
	    if (chown(p, (uid_t) -1, ids.sgid) < 0 || chmod(p, 02755) < 0)
		msg_warn("set-permissions %s: %m", p);
	}
	free(p);
    }
}
