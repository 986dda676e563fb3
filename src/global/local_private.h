/*
 * local_private - internals shared by local_deliver.c (recipients,
 * aliases, .forward, tokens) and local_mailbox.c (mailbox, file, command
 * deliveries, forwarding). Not for other modules.
 */
#ifndef POSTERN_LOCAL_PRIVATE_H
#define POSTERN_LOCAL_PRIVATE_H

#include <sys/types.h>

#include "htable.h"
#include "local_deliver.h"

/* Expansion contexts for allow_mail_to_files / allow_mail_to_commands. */
#define LOCAL_CLASS_ALIAS	(1<<0)
#define LOCAL_CLASS_FORWARD	(1<<1)
#define LOCAL_CLASS_INCLUDE	(1<<2)

typedef struct LOCAL_CONF {
    char   *alias_maps;
    char   *forward_path;
    char   *recipient_delimiter;
    char   *luser_relay;
    char   *mailbox_transport;
    char   *fallback_transport;
    char   *mailbox_transport_maps;
    char   *fallback_transport_maps;
    char   *mailbox_command_maps;
    char   *home_mailbox;
    char   *mail_spool_directory;
    char   *mailbox_command;
    long    mailbox_size_limit;
    int     lock_mask;
    char   *default_privs;
    int     allow_files;
    int     allow_commands;
    long    command_time_limit;
    char   *local_command_shell;
    char   *export_environment;
    char   *command_execution_directory;
    int     owner_request_special;
    int     expand_owner_alias;
    int     reset_owner_alias;
    int     strict_mailbox_ownership;
    int     enable_original_recipient;
    int     biff;
    long    dup_limit;			/* duplicate_filter_limit (0: none) */
    int     prepend_delivered;		/* LOCAL_CLASS_* plus below */
    char   *myhostname;
    char   *myorigin;
    char   *empty_address_recipient;
    char   *queue_directory;
    char   *command_filter;
    char   *service;			/* our master.cf name ("local") */
} LOCAL_CONF;

#define LOCAL_PREPEND_COMMAND	(1<<0)
#define LOCAL_PREPEND_FILE	(1<<1)
#define LOCAL_PREPEND_FORWARD	(1<<2)

extern LOCAL_CONF local_conf;

/*
 * One pending forward: a new message per envelope sender. Each recipient
 * keeps its own original recipient and DSN attributes (Postfix: "" and
 * SUCCESS-less NOTIFY inside a mailing list).
 */
typedef struct LOCAL_FWD {
    char   *sender;
    ARGV   *rcpt;
    ARGV   *orig;				/* original recipient ("" none) */
    ARGV   *orcpt;				/* DSN ORCPT ("" none) */
    int    *notify;				/* DSN NOTIFY mask (0 none) */
} LOCAL_FWD;

typedef struct LOCAL_STATE {
    LOCAL_MSG *msg;
    const LOCAL_REPORT *rep;
    const LOCAL_RCPT *top;
    int     flags;
    HTABLE *dup;			/* duplicate filter */
    char   *delivered;			/* Delivered-To: address (frozen) */
    const char *orig;			/* X-Original-To / orig_to ("" in an owner- alias) */
    int     notify;			/* DSN NOTIFY for what is delivered now */
    const char *orcpt;			/* DSN ORCPT for it ("" in an owner- alias) */
    int     status;			/* 0, or -1 when something deferred */
    LOCAL_FWD *fwd;
    size_t  nfwd;
} LOCAL_STATE;

typedef struct LOCAL_ATTR {
    int     level;
    char   *recipient;			/* the address being delivered */
    const char *sender;			/* envelope sender for this branch */
    /*
     * Postfix's "owner" attribute: set by an owner- alias (its address), a
     * .forward file (its user) or an :include: file (the recipient). A local
     * address in the expansion that is not an alias and not this owner is
     * resubmitted as a new message; aliases are expanded here.
     */
    const char *owner;
    const char *parent;			/* address whose expansion this came from */
    int     self_ref;			/* listed in its own expansion */
    char   *local;			/* local part, lower case */
    char   *user;			/* local part without extension */
    char   *extension;			/* or NULL */
    char    delim[2];			/* the delimiter found before it */
    char   *domain;			/* or "" */
    int     class;			/* LOCAL_CLASS_* or 0 */
    int     have_privs;			/* uid/gid valid */
    int     root_privs;			/* rights are root's (uid/gid: default_privs) */
    uid_t   uid;
    gid_t   gid;
    const char *exp_from;		/* alias/.forward/include that got us here */
    int     no_alias;			/* listed in its own alias/.forward */
    int     no_forward;
    /* Recipient's passwd entry, when it is a user. */
    int     have_pw;
    char   *home;
    char   *shell;
    uid_t   pw_uid;
    gid_t   pw_gid;
} LOCAL_ATTR;

/* Report an outcome for the address of attr; aggregates state->status. */
extern void local_report(LOCAL_STATE *, const LOCAL_ATTR *, int stat,
			         const char *dsn, const char *fmt,...)
		__attribute__((format(printf, 5, 6)));
extern int local_been_here(LOCAL_STATE *, const char *fmt,...)
		__attribute__((format(printf, 2, 3)));
/* The same without entering the key. */
extern int local_been_here_check(LOCAL_STATE *, const char *fmt,...)
		__attribute__((format(printf, 2, 3)));

extern int local_maps_find(const char *maps, const char *key, VSTR *value);
extern char *local_attr_expand(LOCAL_ATTR *, const char *pattern, const char *filter_param);

/* local_mailbox.c */
extern void local_mailbox(LOCAL_STATE *, LOCAL_ATTR *);
extern void local_file(LOCAL_STATE *, LOCAL_ATTR *, const char *path);
extern void local_command(LOCAL_STATE *, LOCAL_ATTR *, const char *command, int mailbox_cmd);
extern void local_forward_add(LOCAL_STATE *, LOCAL_ATTR *, const char *addr);
extern void local_forward_flush(LOCAL_STATE *);
extern void local_set_eugid(uid_t, gid_t);
extern void local_restore_root(void);
extern int local_default_privs(uid_t *, gid_t *);

/* Append several formatted messages to one mbox: one lock, one fsync. */
typedef struct LOCAL_MBOX_ITEM {
    VSTR   *data;			/* in: formatted message */
    VSTR   *why;			/* in: required; out: failure text */
    int     status;			/* out: 0 delivered, -1 not */
    off_t   offset;			/* out: where it starts (biff) */
    char    dsn[8];			/* out: DSN of the failure */
} LOCAL_MBOX_ITEM;

extern int local_mbox_append_many(const char *path, int spool, int check_owner,
				          uid_t, gid_t, int lock_mask,
				          LOCAL_MBOX_ITEM *, size_t n);
extern void local_biff_notify(const char *user, off_t offset);
extern void local_maildir_warn(int err, uid_t, gid_t, const VSTR *why);

/*
 * local_batch.c: inside local_deliver_many(), keep a formatted Maildir
 * delivery (takes data) to be written and reported at the end of the
 * pass; -1 (nothing kept) outside of it.
 */
extern int local_batch_add_maildir(LOCAL_STATE *, const LOCAL_ATTR *, const char *dir,
				           uid_t, gid_t, VSTR *data, const char *prefix);
/* The same for an mbox append (local_mbox_append_many's arguments). */
extern int local_batch_add_mbox(LOCAL_STATE *, const LOCAL_ATTR *, const char *path,
				        int spool, int check_owner, uid_t, gid_t, int lock_mask,
				        VSTR *data, const char *prefix);

/*
 * local_cache.c: lookups reused within one local_deliver_many() pass
 * (between local_cache_begin and local_cache_end; outside a pass nothing
 * is kept). local_cache_getpw: 1 and *pw (strings owned by the cache,
 * valid until the pass ends or the next call outside a pass) when the
 * user exists, else 0. local_cache_no_file: path was found missing for
 * uid earlier in this pass (local_cache_set_no_file).
 */
typedef struct LOCAL_PW {
    char   *dir;
    char   *shell;
    uid_t   uid;
    gid_t   gid;
} LOCAL_PW;
extern void local_cache_begin(void);
extern void local_cache_end(void);
extern int local_cache_getpw(const char *name, LOCAL_PW *pw);
extern int local_cache_no_file(const char *path, uid_t uid);
extern void local_cache_set_no_file(const char *path, uid_t uid);

#endif
