/* local_mailbox - final deliveries: mailbox, file, command, forward. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netdb.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/time.h>
#include <unistd.h>

#include "cleanup.h"
#include "deliver_request.h"
#include "local_private.h"
#include "mac_expand.h"
#include "mail_conf.h"
#include "mail_copy.h"
#include "maillog_as.h"
#include "mail_queue.h"
#include "maildir.h"
#include "mbox_lock.h"
#include "mem.h"
#include "msg.h"
#include "pipe_command.h"
#include "rec_type.h"
#include "record.h"
#include "safe_file.h"
#include "stringops.h"

/* ---------- privileges ---------- */

static int is_root(void)
{
    return getuid() == 0;
}

void    local_set_eugid(uid_t uid, gid_t gid)
{
    if (!is_root())
	return;
    if (geteuid() == uid && getegid() == gid)
	return;					/* already there: no syscalls */
    if (geteuid() != 0 && seteuid(0) < 0)
	msg_fatal("seteuid(0): %s", strerror(errno));
    if (setgroups(1, &gid) < 0 || setegid(gid) < 0)
	msg_fatal("setegid(%ld): %s", (long) gid, strerror(errno));
    if (uid != 0 && seteuid(uid) < 0)
	msg_fatal("seteuid(%ld): %s", (long) uid, strerror(errno));
}

void    local_restore_root(void)
{
    gid_t   g = 0;

    if (!is_root())
	return;
    if (geteuid() == 0 && getegid() == 0)
	return;
    if (seteuid(0) < 0 || setegid(0) < 0 || setgroups(1, &g) < 0)
	msg_fatal("restore root privileges: %s", strerror(errno));
}

int     local_default_privs(uid_t *uid, gid_t *gid)
{
    struct passwd *pw = getpwnam(local_conf.default_privs);

    if (pw == 0)
	return -1;
    if (pw->pw_uid == 0)
	msg_fatal("%s: user %s has privileged user ID", "default_privs", local_conf.default_privs);
    *uid = pw->pw_uid;
    *gid = pw->pw_gid;
    return 0;
}

/* ---------- formatting ---------- */

static void format_msg(LOCAL_STATE *state, VSTR *out, int flags)
{
    MAIL_COPY_INFO info;

    memset(&info, 0, sizeof(info));
    info.sender = state->msg->sender;
    info.orig_rcpt = local_conf.enable_original_recipient ? state->orig : 0;
    info.delivered = state->delivered;
    info.now = 0;
    info.text = vstr_str(state->msg->text);
    info.text_len = vstr_len(state->msg->text);
    mail_copy_format(out, &info, flags);
}

/*
 * Append messages to an mbox file under one lock and one fsync. spool:
 * open/lock as root, create owned by uid/gid. Each item fails or succeeds
 * on its own (size limit; a write error takes the file back to where
 * that item started); when the final fsync fails, the file goes back to
 * where the first item started and all fail. Returns the number
 * delivered; failures leave dsn/why (why without the prefix).
 */
int     local_mbox_append_many(const char *path, int spool, int check_owner,
			               uid_t uid, gid_t gid, int lock_mask,
			               LOCAL_MBOX_ITEM *items, size_t n)
{
    MBOX   *mp;
    off_t   orig;
    off_t   end;
    size_t  i;
    size_t  done = 0;
    int     truncated = 0;
    int     err;

    for (i = 0; i < n; i++) {
	items[i].status = -1;
	items[i].offset = 0;
	safe_strlcpy(items[i].dsn, "4.3.0", sizeof(items[i].dsn));
	vstr_reset(items[i].why);
    }
    if (n == 0)
	return 0;
    if (spool)
	local_restore_root();
    else
	local_set_eugid(uid, gid);
    mp = mbox_open(path, 0600, (spool && is_root()) ? uid : (uid_t) -1, gid, lock_mask, "5.2.0",
		   items[0].why, items[0].dsn);
    if (mp == 0) {
	local_restore_root();
	for (i = 1; i < n; i++) {
	    vstr_cpy(items[i].why, vstr_str(items[0].why));
	    safe_strlcpy(items[i].dsn, items[0].dsn, sizeof(items[i].dsn));
	}
	return 0;
    }
    local_set_eugid(uid, gid);
    if (check_owner && is_root() && mp->st.st_uid != uid) {
	for (i = 0; i < n; i++) {
	    safe_strlcpy(items[i].dsn, "5.2.0", sizeof(items[i].dsn));
	    vstr_fmt(items[i].why, "destination %s is not owned by recipient", path);
	}
	goto release;
    }
    orig = end = lseek(mp->fd, 0, SEEK_END);
    for (i = 0; i < n; i++) {
	VSTR   *out = items[i].data;

	if (local_conf.mailbox_size_limit > 0
	    && (long long) end + (long long) vstr_len(out) > local_conf.mailbox_size_limit) {
	    safe_strlcpy(items[i].dsn, "5.2.2", sizeof(items[i].dsn));
	    vstr_fmt(items[i].why, "error writing message: %s", strerror(EFBIG));
	    continue;
	}
	if (mail_copy_write(mp->fd, vstr_str(out), vstr_len(out)) < 0) {
	    err = errno;
	    safe_strlcpy(items[i].dsn, mbox_dsn(err, "5.3.0"), sizeof(items[i].dsn));
	    vstr_fmt(items[i].why, "error writing message: %s", strerror(err));
	    /* Take this one back; the ones before it stay. */
	    if (ftruncate(mp->fd, end) < 0 || lseek(mp->fd, end, SEEK_SET) < 0)
		msg_warn("truncate %s to %ld bytes: %s", path, (long) end, strerror(errno));
	    truncated = 1;
	    continue;
	}
	items[i].offset = end;
	items[i].status = 0;
	end += (off_t) vstr_len(out);
	done++;
    }
    if (done > 0 && fsync(mp->fd) < 0) {
	err = errno;
	/* Leave the mailbox as it was. */
	if (ftruncate(mp->fd, orig) < 0 || fsync(mp->fd) < 0)
	    msg_warn("truncate %s to %ld bytes: %s", path, (long) orig, strerror(errno));
	for (i = 0; i < n; i++) {
	    if (items[i].status != 0)
		continue;
	    items[i].status = -1;
	    safe_strlcpy(items[i].dsn, mbox_dsn(err, "5.3.0"), sizeof(items[i].dsn));
	    vstr_fmt(items[i].why, "error writing message: %s", strerror(err));
	}
	done = 0;
    } else if (done == 0 && truncated && fsync(mp->fd) < 0) {
	msg_warn("truncate %s to %ld bytes: %s", path, (long) orig, strerror(errno));
    }
    if (done > 0 && mp->st.st_size == 0 && orig == 0)
	(void) fsync_dir_of(path);		/* a new file: make its name durable */

release:
    local_restore_root();
    mbox_release(mp);
    return done;
}

/* One message; mbox_last_offset gets where it starts. */
static off_t mbox_last_offset;

static int mbox_append(LOCAL_STATE *state, const char *path, int spool, int check_owner,
		               uid_t uid, gid_t gid, int lock_mask, int flags,
		               VSTR *why, char *dsn)
{
    LOCAL_MBOX_ITEM item;

    memset(&item, 0, sizeof(item));
    item.data = vstr_alloc(vstr_len(state->msg->text) + 512);
    item.why = why;
    format_msg(state, item.data, flags);
    (void) local_mbox_append_many(path, spool, check_owner, uid, gid, lock_mask, &item, 1);
    vstr_free(item.data);
    if (item.status < 0) {
	safe_strlcpy(dsn, item.dsn, 8);
	return -1;
    }
    mbox_last_offset = item.offset;
    return 0;
}

static void report_failure(LOCAL_STATE *state, LOCAL_ATTR *attr, const char *dsn,
			           const char *prefix, const VSTR *why)
{
    local_report(state, attr, dsn[0] == '4' ? LOCAL_STAT_DEFER : LOCAL_STAT_BOUNCE,
		 dsn, "%s%s", prefix, vstr_str(why));
}

/* biff = yes: tell comsat (UDP localhost:biff) "user@offset", as Postfix. */
void    local_biff_notify(const char *user, off_t offset)
{
    static int sock = -1;
    static struct sockaddr_in sin;
    VSTR   *text;

    if (!local_conf.biff)
	return;
    if (sock < 0) {
	struct servent *sp = getservbyname("biff", "udp");

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = sp ? (in_port_t) sp->s_port : htons(512);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0)
	    return;
    }
    text = vstr_alloc(64);
    vstr_fmt(text, "%s@%ld", user, (long) offset);
    (void) sendto(sock, vstr_str(text), vstr_len(text) + 1, 0,
		  (struct sockaddr *) &sin, sizeof(sin));
    vstr_free(text);
}

/* Postfix's warnings when a Maildir cannot be written for lack of permission. */
void    local_maildir_warn(int err, uid_t uid, gid_t gid, const VSTR *why)
{
    if (err != EACCES)
	return;
    msg_warn("maildir access problem for UID/GID=%lu/%lu: %s",
	     (unsigned long) uid, (unsigned long) gid, vstr_str(why));
    msg_warn("perhaps you need to create the maildirs in advance");
}

/*
 * Maildir delivery as uid/gid; failures are reported as Postfix words
 * them: "maildir delivery failed: " + the reason.
 */
#define MAILDIR_PREFIX	"maildir delivery failed: "

static void deliver_maildir(LOCAL_STATE *state, LOCAL_ATTR *attr, const char *dir,
			            uid_t uid, gid_t gid, int flags)
{
    const char *prefix = MAILDIR_PREFIX;
    VSTR   *out = vstr_alloc(vstr_len(state->msg->text) + 512);
    VSTR   *why = vstr_alloc(100);
    char    dsn[8] = "4.3.0";
    int     rc;
    int     err;

    format_msg(state, out, flags);
    if (local_batch_add_maildir(state, attr, dir, uid, gid, out, prefix) == 0) {
	vstr_free(why);				/* written and reported later */
	return;
    }
    local_set_eugid(uid, gid);
    rc = maildir_deliver(dir, vstr_str(out), vstr_len(out), local_conf.mailbox_size_limit,
			 0, why, dsn);
    err = errno;
    local_restore_root();
    if (rc < 0) {
	local_maildir_warn(err, uid, gid, why);
	report_failure(state, attr, dsn, prefix, why);
    }
    else
	local_report(state, attr, LOCAL_STAT_SENT, "2.0.0", "delivered to maildir");
    vstr_free(out);
    vstr_free(why);
}

/* ---------- mailbox ---------- */

/* The user's mailbox file (spool: in mail_spool_directory, locked as root). */
static void deliver_mbox(LOCAL_STATE *state, LOCAL_ATTR *attr, const char *path, int spool,
			         int lock_mask)
{
    VSTR   *why = vstr_alloc(100);
    VSTR   *prefix = vstr_alloc(100);
    VSTR   *out;
    char    dsn[8] = "4.3.0";

    vstr_fmt(prefix, "cannot update mailbox %s for user %s. ", path, attr->user);
    out = vstr_alloc(vstr_len(state->msg->text) + 512);
    format_msg(state, out, MAIL_COPY_MBOX);
    if (local_batch_add_mbox(state, attr, path, spool, local_conf.strict_mailbox_ownership,
			     attr->pw_uid, attr->pw_gid, lock_mask, out, vstr_str(prefix)) == 0) {
	vstr_free(why);				/* written and reported later */
	vstr_free(prefix);
	return;
    }
    vstr_free(out);
    if (mbox_append(state, path, spool, local_conf.strict_mailbox_ownership,
		    attr->pw_uid, attr->pw_gid, lock_mask, MAIL_COPY_MBOX, why, dsn) < 0) {
	report_failure(state, attr, dsn, vstr_str(prefix), why);
    } else {
	local_report(state, attr, LOCAL_STAT_SENT, "2.0.0", "delivered to mailbox");
	local_biff_notify(attr->user, mbox_last_offset);
    }
    vstr_free(why);
    vstr_free(prefix);
}

void    local_mailbox(LOCAL_STATE *state, LOCAL_ATTR *attr)
{
    VSTR   *why = vstr_alloc(100);
    VSTR   *path = vstr_alloc(100);
    VSTR   *prefix = vstr_alloc(100);
    const char *hm = local_conf.home_mailbox;
    uid_t   uid = attr->pw_uid;
    gid_t   gid = attr->pw_gid;

    if (local_been_here(state, "mailbox %s", attr->user))
	goto done;
    if (*local_conf.mailbox_command_maps) {
	int     rc = local_maps_find(local_conf.mailbox_command_maps, attr->user, why);

	if (rc < 0) {
	    local_report(state, attr, LOCAL_STAT_DEFER, "4.3.0", "table lookup failure");
	    goto done;
	}
	if (rc > 0) {
	    char   *cmd = xstrdup(vstr_str(why));

	    vstr_reset(why);
	    local_command(state, attr, cmd, 1);
	    free(cmd);
	    goto done;
	}
    }
    if (*local_conf.mailbox_command) {
	local_command(state, attr, local_conf.mailbox_command, 1);
	goto done;
    }
    if (*hm) {
	vstr_fmt(path, "%s/%s", attr->home, hm);
	if (hm[strlen(hm) - 1] == '/') {
	    if (state->flags & LOCAL_FLAG_VERIFY) {
		local_report(state, attr, LOCAL_STAT_SENT, "2.0.0", "delivers to maildir");
		goto done;
	    }
	    deliver_maildir(state, attr, vstr_str(path), uid, gid, MAIL_COPY_MAILDIR);
	    goto done;
	}
	if (state->flags & LOCAL_FLAG_VERIFY) {
	    local_report(state, attr, LOCAL_STAT_SENT, "2.0.0", "delivers to mailbox");
	    goto done;
	}
	deliver_mbox(state, attr, vstr_str(path), 0,
		     local_conf.lock_mask | MBOX_DOT_LOCK_MAY_FAIL);
	goto done;
    }
    {
	/* mail_spool_directory ending in "/": a Maildir per user there. */
	const char *sd = local_conf.mail_spool_directory;

	if (*sd && sd[strlen(sd) - 1] == '/') {
	    if (state->flags & LOCAL_FLAG_VERIFY) {
		local_report(state, attr, LOCAL_STAT_SENT, "2.0.0", "delivers to maildir");
		goto done;
	    }
	    vstr_fmt(path, "%s%s/", sd, attr->user);
	    deliver_maildir(state, attr, vstr_str(path), uid, gid, MAIL_COPY_MAILDIR);
	    goto done;
	}
    }
    if (state->flags & LOCAL_FLAG_VERIFY) {
	local_report(state, attr, LOCAL_STAT_SENT, "2.0.0", "delivers to mailbox");
	goto done;
    }
    vstr_fmt(path, "%s/%s", local_conf.mail_spool_directory, attr->user);
    deliver_mbox(state, attr, vstr_str(path), 1, local_conf.lock_mask);

done:
    vstr_free(why);
    vstr_free(path);
    vstr_free(prefix);
}

/* Privileges for a file or command from an alias, .forward or include. */
static int ctx_privs(LOCAL_STATE *state, LOCAL_ATTR *attr, uid_t *uid, gid_t *gid)
{
    if (attr->have_privs) {
	*uid = attr->uid;
	*gid = attr->gid;
    } else if (local_default_privs(uid, gid) < 0) {
	local_report(state, attr, LOCAL_STAT_DEFER, "4.3.5",
		     "unknown default_privs user: %s", local_conf.default_privs);
	return -1;
    }
    if (*uid == 0 && local_default_privs(uid, gid) < 0)
	return -1;
    return 0;
}

/* ---------- file ---------- */

void    local_file(LOCAL_STATE *state, LOCAL_ATTR *attr, const char *path)
{
    VSTR   *why = vstr_alloc(100);
    VSTR   *prefix = vstr_alloc(100);
    char    dsn[8] = "4.3.0";
    uid_t   uid;
    gid_t   gid;
    int     flags = MAIL_COPY_MBOX;

    if (attr->class && !(attr->class & local_conf.allow_files)) {
	local_report(state, attr, LOCAL_STAT_BOUNCE, "5.7.1", "mail to file is restricted");
	goto done;
    }
    if (local_been_here(state, "file %s", path))
	goto done;
    if (state->flags & LOCAL_FLAG_VERIFY) {
	local_report(state, attr, LOCAL_STAT_SENT, "2.0.0", "delivers to file: %s", path);
	goto done;
    }
    if (ctx_privs(state, attr, &uid, &gid) < 0)
	goto done;
    if (!(local_conf.prepend_delivered & LOCAL_PREPEND_FILE))
	flags &= ~MAIL_COPY_DELIVERED;
    if (path[strlen(path) - 1] == '/') {
	deliver_maildir(state, attr, path, uid, gid, flags & MAIL_COPY_MAILDIR);
	goto done;
    }
    {
	/* A character device (/dev/null): write, no locking, no truncation. */
	struct stat st;

	local_set_eugid(uid, gid);
	if (stat(path, &st) == 0 && S_ISCHR(st.st_mode)) {
	    VSTR   *out = vstr_alloc(vstr_len(state->msg->text) + 512);
	    int     fd;
	    int     err = 0;

	    format_msg(state, out, flags & ~(MAIL_COPY_TOFILE));
	    if ((fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC)) < 0
		|| mail_copy_write(fd, vstr_str(out), vstr_len(out)) < 0)
		err = errno;
	    if (fd >= 0)
		close(fd);
	    local_restore_root();
	    vstr_free(out);
	    if (err) {
		vstr_fmt(why, "cannot append message to file %s: %s", path, strerror(err));
		local_report(state, attr, LOCAL_STAT_DEFER, "4.3.0", "%s", vstr_str(why));
	    } else {
		local_report(state, attr, LOCAL_STAT_SENT, "2.0.0", "delivered to file: %s", path);
	    }
	    goto done;
	}
	local_restore_root();
    }
    if (mbox_append(state, path, 0, 0, uid, gid,
		    MBOX_FCNTL_LOCK | MBOX_DOT_LOCK | MBOX_DOT_LOCK_MAY_FAIL, flags, why, dsn) < 0) {
	vstr_fmt(prefix, "cannot append message to file %s: ", path);
	report_failure(state, attr, dsn, vstr_str(prefix), why);
    } else {
	local_report(state, attr, LOCAL_STAT_SENT, "2.0.0", "delivered to file: %s", path);
    }

done:
    vstr_free(why);
    vstr_free(prefix);
}

/* ---------- command ---------- */

static void env_add(ARGV *env, const char *name, const char *value)
{
    VSTR   *vp;
    size_t  i;
    size_t  start;

    if (value == 0)
	return;
    vp = vstr_alloc(100);
    vstr_fmt(vp, "%s=", name);
    start = vp->len;
    vstr_cat(vp, value);
    for (i = start; i < vp->len; i++)
	if (strchr(local_conf.command_filter, vp->data[i]) == 0)
	    vp->data[i] = '_';
    argv_add(env, vstr_str(vp));
    vstr_free(vp);
}

void    local_command(LOCAL_STATE *state, LOCAL_ATTR *attr, const char *command, int mailbox_cmd)
{
    VSTR   *why = vstr_alloc(100);
    VSTR   *input;
    ARGV   *env;
    PIPE_CMD cmd;
    char    dsn[8] = "4.3.0";
    uid_t   uid;
    gid_t   gid;
    int     flags = MAIL_COPY_COMMAND;
    int     rc;
    int     user_ctx = mailbox_cmd || attr->class == LOCAL_CLASS_FORWARD;
    char   *cwd = 0;

    if (!mailbox_cmd && attr->class && !(attr->class & local_conf.allow_commands)) {
	local_report(state, attr, LOCAL_STAT_BOUNCE, "5.7.1", "mail to command is restricted");
	vstr_free(why);
	return;
    }
    if (local_been_here(state, "command %s %s", attr->user, command)) {
	vstr_free(why);
	return;
    }
    if (state->flags & LOCAL_FLAG_VERIFY) {
	local_report(state, attr, LOCAL_STAT_SENT, "2.0.0", "delivers to command: %s", command);
	vstr_free(why);
	return;
    }
    if (mailbox_cmd) {
	uid = attr->pw_uid;
	gid = attr->pw_gid;
	if (uid == 0 && local_default_privs(&uid, &gid) < 0) {
	    local_report(state, attr, LOCAL_STAT_DEFER, "4.3.5",
			 "unknown default_privs user: %s", local_conf.default_privs);
	    vstr_free(why);
	    return;
	}
    } else if (ctx_privs(state, attr, &uid, &gid) < 0) {
	vstr_free(why);
	return;
    }
    if (!(local_conf.prepend_delivered & LOCAL_PREPEND_COMMAND))
	flags &= ~MAIL_COPY_DELIVERED;
    input = vstr_alloc(vstr_len(state->msg->text) + 512);
    format_msg(state, input, flags);
    env = argv_alloc(16);
    if (user_ctx && attr->have_pw) {
	env_add(env, "SHELL", attr->shell);
	env_add(env, "HOME", attr->home);
    }
    env_add(env, "USER", attr->user);
    env_add(env, "EXTENSION", attr->extension);
    env_add(env, "DOMAIN", attr->domain);
    env_add(env, "LOGNAME", attr->user);
    env_add(env, "LOCAL", attr->local);
    env_add(env, "ORIGINAL_RECIPIENT", state->orig);
    env_add(env, "RECIPIENT", attr->recipient);
    env_add(env, "SENDER", state->msg->sender);
    if (*state->msg->client_addr)
	env_add(env, "CLIENT_ADDRESS", state->msg->client_addr);
    if (*state->msg->client_helo)
	env_add(env, "CLIENT_HELO", state->msg->client_helo);
    if (*state->msg->client_name)
	env_add(env, "CLIENT_HOSTNAME", state->msg->client_name);
    if (*state->msg->client_proto)
	env_add(env, "CLIENT_PROTOCOL", state->msg->client_proto);
    if (*state->msg->sasl_username)
	env_add(env, "SASL_USERNAME", state->msg->sasl_username);
    if (*local_conf.command_execution_directory)
	cwd = local_attr_expand(attr, local_conf.command_execution_directory,
				"execution_directory_expansion_filter");
    memset(&cmd, 0, sizeof(cmd));
    cmd.command = command;
    cmd.uid = uid;
    cmd.gid = gid;
    cmd.env = env;
    cmd.export_env = local_conf.export_environment;
    cmd.cwd = cwd;
    cmd.shell = local_conf.local_command_shell;
    cmd.time_limit = local_conf.command_time_limit;
    cmd.input = vstr_str(input);
    cmd.input_len = vstr_len(input);
    rc = pipe_command(&cmd, why, dsn);
    if (rc == PIPE_STAT_OK)
	local_report(state, attr, LOCAL_STAT_SENT, "2.0.0", "delivered to command: %s", command);
    else
	local_report(state, attr, rc == PIPE_STAT_DEFER ? LOCAL_STAT_DEFER : LOCAL_STAT_BOUNCE,
		     dsn, "%s", vstr_str(why));
    free(cwd);
    argv_free(env);
    vstr_free(input);
    vstr_free(why);
}

/* ---------- forwarding: resubmit as a new queue file ---------- */

void    local_forward_add(LOCAL_STATE *state, LOCAL_ATTR *attr, const char *addr)
{
    size_t  i;
    LOCAL_FWD *fp = 0;

    if (local_been_here(state, "forward-to %s %s", attr->sender, addr))
	return;
    if (state->flags & LOCAL_FLAG_VERIFY) {
	LOCAL_ATTR leaf = *attr;

	leaf.recipient = (char *) addr;
	local_report(state, &leaf, LOCAL_STAT_SENT, "2.0.0", "forwards to %s", addr);
	return;
    }
    for (i = 0; i < state->nfwd; i++)
	if (strcmp(state->fwd[i].sender, attr->sender) == 0)
	    fp = &state->fwd[i];
    if (fp == 0) {
	state->fwd = xrealloc(state->fwd, (state->nfwd + 1) * sizeof(*state->fwd));
	fp = &state->fwd[state->nfwd++];
	fp->sender = xstrdup(attr->sender);
	fp->rcpt = argv_alloc(4);
	fp->orig = argv_alloc(4);
	fp->orcpt = argv_alloc(4);
	fp->notify = 0;
    }
    fp->notify = xrealloc(fp->notify, (fp->rcpt->argc + 1) * sizeof(*fp->notify));
    fp->notify[fp->rcpt->argc] = state->notify;
    argv_add(fp->rcpt, addr);
    argv_add(fp->orig, state->orig ? state->orig : "");	/* "" in a list */
    argv_add(fp->orcpt, state->orcpt ? state->orcpt : "");
}

/* An envelope attribute record, when it has a value. */
static void forward_attr(VSTR *out, VSTR *tmp, const char *name, const char *value)
{
    if (value && *value) {
	vstr_fmt(tmp, "%s=%s", name, value);
	rec_encode(out, REC_TYPE_ATTR, vstr_str(tmp), vstr_len(tmp));
    }
}

/*
 * Write one queue file into incoming; returns 0 and the queue ID. As
 * Postfix's local(8) through cleanup(8): the sender, the message's ENVID
 * and RET, its client attributes for the logs, per recipient the original
 * recipient, ORCPT and NOTIFY; the content starts with "Received: by
 * $myhostname ($mail_name) id QUEUEID; DATE" and Delivered-To:.
 */
static int forward_write(LOCAL_STATE *state, LOCAL_FWD *fp, VSTR *id, VSTR *why)
{
    VSTR   *all = 0;
    VSTR   *body = vstr_alloc(vstr_len(state->msg->text) + 1024);
    VSTR   *tmp = vstr_alloc(100);
    VSTR   *path = vstr_alloc(100);
    VSTR   *dir = vstr_alloc(100);
    VSTR   *tmpname = vstr_alloc(100);
    char    size_buf[128];
    struct timeval tv;
    struct stat st;
    const char *cp;
    const char *end;
    size_t  i;
    long    content_len;
    int     fd = -1;
    int     ret = -1;
    struct passwd *owner;

    gettimeofday(&tv, 0);

    /* The file first: its inode names it, and the name goes into Received:. */
    vstr_fmt(dir, "%s/%s", local_conf.queue_directory, MAIL_QUEUE_INCOMING);
    vstr_fmt(tmpname, "%s/%ld.%ld.fwd", vstr_str(dir), (long) getpid(), (long) tv.tv_usec);
    local_restore_root();
    if ((fd = open(vstr_str(tmpname), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
	vstr_fmt(why, "create file %s: %s", vstr_str(tmpname), strerror(errno));
	goto done;
    }
    if (fstat(fd, &st) < 0) {
	vstr_fmt(why, "fstat %s: %s", vstr_str(tmpname), strerror(errno));
	goto fail;
    }
    mail_queue_make_id(id, st.st_ino, &tv);

    /*
     * Content: Received:, Delivered-To: (loop detection downstream), the
     * message. content_len, the size qmgr logs, is counted in record bytes
     * below, as Postfix's cleanup counts it.
     */
    rec_encode(body, REC_TYPE_MESG, "", 0);
    vstr_fmt(tmp, "Received: by %s (%s)", local_conf.myhostname, mail_conf_str("mail_name"));
    rec_encode(body, REC_TYPE_NORM, vstr_str(tmp), vstr_len(tmp));
    vstr_fmt(tmp, "\tid %s; %s", vstr_str(id), mail_date(tv.tv_sec));
    rec_encode(body, REC_TYPE_NORM, vstr_str(tmp), vstr_len(tmp));
    if (local_conf.prepend_delivered & LOCAL_PREPEND_FORWARD) {
	VSTR   *q = vstr_alloc(100);

	quote_822_local(q, state->delivered);
	vstr_lower(q);
	vstr_fmt(tmp, "Delivered-To: %s", vstr_str(q));
	rec_encode(body, REC_TYPE_NORM, vstr_str(tmp), vstr_len(tmp));
	vstr_free(q);
    }
    cp = vstr_str(state->msg->text);
    end = cp + vstr_len(state->msg->text);
    while (cp < end) {
	const char *nl = memchr(cp, '\n', (size_t) (end - cp));
	size_t  n = nl ? (size_t) (nl - cp) : (size_t) (end - cp);

	rec_encode(body, REC_TYPE_NORM, cp, n);
	cp += n + 1;
    }
    rec_encode(body, REC_TYPE_XTRA, "", 0);

    /* Envelope; the fixed-width size record needs the data offset: 2 passes. */
    {
	size_t  data_offset;
	int     pass;

	all = vstr_alloc(vstr_len(body) + 1024);
	data_offset = 0;
	for (pass = 0; pass < 2; pass++) {
	    vstr_reset(all);
	    rec_encode(all, REC_TYPE_VERSION, REC_QUEUE_VERSION, strlen(REC_QUEUE_VERSION));
	    /* Postfix's fields: the records between M and X (body holds M..X). */
	    content_len = (long) vstr_len(body) - 2 * REC_MESG_LEN;
	    snprintf(size_buf, sizeof(size_buf), REC_TYPE_SIZE_FORMAT, content_len,
		     (long) data_offset + REC_MESG_LEN, (long) fp->rcpt->argc, 0L, content_len, 0L);
	    rec_encode(all, REC_TYPE_SIZE, size_buf, strlen(size_buf));
	    vstr_fmt(tmp, "%ld %ld", (long) tv.tv_sec, (long) tv.tv_usec);
	    rec_encode(all, REC_TYPE_TIME, vstr_str(tmp), vstr_len(tmp));
	    rec_encode(all, REC_TYPE_CTIME, vstr_str(tmp), vstr_len(tmp));
	    rec_encode(all, REC_TYPE_FROM, fp->sender, strlen(fp->sender));
	    /* Postfix keeps ENVID and RET, for lists too (forward_open). */
	    if (state->msg->dsn_ret) {
		vstr_fmt(tmp, "%s=%d", MAIL_ATTR_DSN_RET, state->msg->dsn_ret);
		rec_encode(all, REC_TYPE_ATTR, vstr_str(tmp), vstr_len(tmp));
	    }
	    forward_attr(all, tmp, MAIL_ATTR_DSN_ENVID, state->msg->dsn_envid);
	    forward_attr(all, tmp, MAIL_ATTR_LOG_CLIENT_NAME, state->msg->client_name);
	    forward_attr(all, tmp, MAIL_ATTR_LOG_CLIENT_ADDR, state->msg->client_addr);
	    forward_attr(all, tmp, MAIL_ATTR_LOG_PROTO_NAME, state->msg->client_proto);
	    forward_attr(all, tmp, MAIL_ATTR_LOG_HELO_NAME, state->msg->client_helo);
	    /*
	     * As Postfix's forward_open: what the delivery request carries,
	     * empty values left out. log_ident stays the first message's ID
	     * however often the mail is forwarded (none for local submissions).
	     */
	    forward_attr(all, tmp, MAIL_ATTR_SASL_METHOD, state->msg->sasl_method);
	    forward_attr(all, tmp, MAIL_ATTR_SASL_USERNAME, state->msg->sasl_username);
	    forward_attr(all, tmp, MAIL_ATTR_SASL_SENDER, state->msg->sasl_sender);
	    forward_attr(all, tmp, MAIL_ATTR_LOG_IDENT, state->msg->log_ident);
	    forward_attr(all, tmp, MAIL_ATTR_RWR_CONTEXT, "local");
	    forward_attr(all, tmp, MAIL_ATTR_ENCODING, state->msg->encoding);
	    snprintf(size_buf, sizeof(size_buf), "%15ld", 0L);
	    rec_encode(all, REC_TYPE_WARN, size_buf, strlen(size_buf));
	    for (i = 0; i < fp->rcpt->argc; i++) {
		const char *orig = fp->orig->argv[i];
		const char *orcpt = fp->orcpt->argv[i];

		/*
		 * Postfix's cleanup order: NOTIFY, ORCPT, original, recipient;
		 * what was reset (owner- lists) cleanup derives from the recipient.
		 */
		if (*orig == 0)
		    orig = fp->rcpt->argv[i];
		if (fp->notify[i]) {
		    vstr_fmt(tmp, "%d", fp->notify[i]);
		    rec_encode(all, REC_TYPE_DSN_NOTIFY, vstr_str(tmp), vstr_len(tmp));
		}
		if (*orcpt)
		    rec_encode(all, REC_TYPE_DSN_ORCPT, orcpt, strlen(orcpt));
		else {
		    vstr_fmt(tmp, "rfc822;%s", fp->rcpt->argv[i]);
		    rec_encode(all, REC_TYPE_DSN_ORCPT, vstr_str(tmp), vstr_len(tmp));
		}
		rec_encode(all, REC_TYPE_ORCP, orig, strlen(orig));
		rec_encode(all, REC_TYPE_RCPT, fp->rcpt->argv[i], strlen(fp->rcpt->argv[i]));
	    }
	    data_offset = vstr_len(all);
	}
	vstr_append(all, vstr_str(body), vstr_len(body));
	rec_encode(all, REC_TYPE_END, "", 0);
    }

    /* Write, fsync, name by inode, make complete (0700), fsync dir. */
    if (mail_copy_write(fd, vstr_str(all), vstr_len(all)) < 0) {
	vstr_fmt(why, "write queue file: %s", strerror(errno));
	goto fail;
    }
    if (is_root() && (owner = getpwnam(mail_conf_str("mail_owner"))) != 0)
	if (fchown(fd, owner->pw_uid, owner->pw_gid) < 0)
	    msg_warn("fchown %s: %s", vstr_str(tmpname), strerror(errno));
    vstr_fmt(path, "%s/%s", vstr_str(dir), vstr_str(id));
    if (fchmod(fd, 0700) < 0 || fsync(fd) < 0 || rename(vstr_str(tmpname), vstr_str(path)) < 0
	|| fsync_dir(vstr_str(dir)) < 0) {
	vstr_fmt(why, "write queue file: %s", strerror(errno));
	goto fail;
    }
    ret = 0;
    goto done;

fail:
    unlink(vstr_str(tmpname));
done:
    if (fd >= 0)
	close(fd);
    if (all)
	vstr_free(all);
    vstr_free(body);
    vstr_free(tmp);
    vstr_free(path);
    vstr_free(dir);
    vstr_free(tmpname);
    return ret;
}

/* Tell qmgr about new mail in incoming (docs/delivery-protocol.md). */
static void forward_trigger(void)
{
    struct sockaddr_un sun;
    VSTR   *path = vstr_alloc(100);
    int     fd;

    vstr_fmt(path, "%s/public/qmgr", local_conf.queue_directory);
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    if (vstr_len(path) < sizeof(sun.sun_path)
	&& (fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) >= 0) {
	memcpy(sun.sun_path, vstr_str(path), vstr_len(path));
	if (connect(fd, (struct sockaddr *) &sun, sizeof(sun)) == 0)
	    (void) write(fd, "A", 1);
	close(fd);
    }
    vstr_free(path);
}

/* The message's Message-Id: value (first line, trimmed); 0 when it has none. */
static const char *forward_msgid(LOCAL_STATE *state, VSTR *out)
{
    const char *cp = vstr_str(state->msg->text);
    const char *end = cp + vstr_len(state->msg->text);

    while (cp < end && *cp != '\n') {
	const char *nl = memchr(cp, '\n', (size_t) (end - cp));
	size_t  n = nl ? (size_t) (nl - cp) : (size_t) (end - cp);

	if (n > 11 && strncasecmp(cp, "Message-Id:", 11) == 0) {
	    const char *v = cp + 11;

	    while (v < cp + n && (*v == ' ' || *v == '\t'))
		v++;
	    while (n > 0 && (cp[n - 1] == ' ' || cp[n - 1] == '\t' || cp[n - 1] == '\r'))
		n--;
	    if (v >= cp + n)
		return (0);
	    (void) vstr_ncpy(out, v, (size_t) (cp + n - v));
	    return (vstr_str(out));
	}
	cp += n + 1;
    }
    return (0);
}

void    local_forward_flush(LOCAL_STATE *state)
{
    size_t  i;
    VSTR   *id = vstr_alloc(32);
    VSTR   *why = vstr_alloc(100);
    VSTR   *msgid_buf = vstr_alloc(100);

    for (i = 0; i < state->nfwd; i++) {
	LOCAL_FWD *fp = &state->fwd[i];
	int     ok = forward_write(state, fp, id, why) == 0;
	const char *msgid;

	/* Postfix's cleanup(8) logs the new file's message-id (the original's). */
	if (ok && (msgid = forward_msgid(state, msgid_buf)) != 0)
	    maillog_as("cleanup", "%s: message-id=%s", vstr_str(id), msgid);

	/*
	 * One line per new queue file, as Postfix: it names the recipient of
	 * the delivery request (to=<list>, orig_to=...), "forwarded as ID".
	 * Its NOTIFY loses SUCCESS: the expansion has its own success DSN.
	 */
	{
	    LOCAL_ATTR leaf;
	    int     saved_notify = state->notify;

	    memset(&leaf, 0, sizeof(leaf));
	    leaf.recipient = (char *) state->top->address;
	    state->notify = saved_notify == DSN_NOTIFY_SUCCESS ? DSN_NOTIFY_NEVER
		: saved_notify & ~DSN_NOTIFY_SUCCESS;
	    if (ok)
		local_report(state, &leaf, LOCAL_STAT_SENT, "2.0.0", "forwarded as %s", vstr_str(id));
	    else
		local_report(state, &leaf, LOCAL_STAT_DEFER, "4.3.0", "cannot forward: %s",
			     vstr_str(why));
	    state->notify = saved_notify;
	}
    }
    if (state->nfwd > 0)
	forward_trigger();
    vstr_free(id);
    vstr_free(why);
    vstr_free(msgid_buf);
}
