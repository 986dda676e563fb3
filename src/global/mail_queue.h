/*
 * mail_queue - queue directory names, queue IDs, hashed subdirectories.
 *
 * Every postern process that touches the queue runs with its working
 * directory at $queue_directory; paths here are relative to it, e.g.
 * "incoming/3A1F42B7C9" or "deferred/3/3A1F42B7C9" (hashed per
 * hash_queue_names and hash_queue_depth, one character of the queue ID
 * per level, as Postfix does).
 *
 * Queue IDs are Postfix's: short ones are 5 upper-case hex digits of the
 * microseconds and the file's inode number in upper-case hex; long ones
 * (enable_long_queue_ids = yes) are 10 base-52 characters of the time,
 * 'z', and the inode number in base 51.
 */
#ifndef POSTERN_MAIL_QUEUE_H
#define POSTERN_MAIL_QUEUE_H
#include <stdio.h>
#include <sys/time.h>
#include <sys/types.h>

#include "vstr.h"

#define MAIL_QUEUE_MAILDROP	"maildrop"
#define MAIL_QUEUE_INCOMING	"incoming"
#define MAIL_QUEUE_ACTIVE	"active"
#define MAIL_QUEUE_DEFERRED	"deferred"
#define MAIL_QUEUE_HOLD		"hold"
#define MAIL_QUEUE_CORRUPT	"corrupt"
#define MAIL_QUEUE_DEFER	"defer"		/* per-message deferral logs */
#define MAIL_QUEUE_BOUNCE	"bounce"	/* per-message bounce logs */
#define MAIL_QUEUE_TRACE	"trace"		/* per-message delivery reports */
#define MAIL_QUEUE_FLUSH	"flush"
#define MAIL_QUEUE_SAVED	"saved"

#define MAIL_QUEUE_ID_MAX	64

/*
 * Inode recycling (postern_queue_recycle): not a queue (not in
 * mail_queue_names), a pool of finished files whose inodes cleanup reuses;
 * see mail_queue_recycle.c and docs/queue-format.md.
 */
#define MAIL_QUEUE_RECYCLE	"recycle"

/* All queue directories, in the order Postfix creates them. */
extern const char *const mail_queue_names[];

extern int mail_queue_id_ok(const char *id);
extern int mail_queue_hashed(const char *queue);
/* "queue[/h[/h]]" for this id; returns vstr_str(buf). */
extern const char *mail_queue_dir(VSTR *buf, const char *queue, const char *id);
/* "queue[/h..]/id"; returns vstr_str(buf). */
extern const char *mail_queue_path(VSTR *buf, const char *queue, const char *id);
/* Make the queue ID for a file with this inode, created at tv. */
extern void mail_queue_make_id(VSTR *id, ino_t ino, const struct timeval *tv);
/*
 * Create a new, empty queue file in queue with a fresh queue ID
 * (hashed subdirectories made on demand). Returns an fd opened O_RDWR
 * with mode (Postfix: 0600 while being written), the ID in id_out and
 * the relative path in path_out; -1 with errno on failure.
 */
extern int mail_queue_create(const char *queue, mode_t mode, VSTR *id_out, VSTR *path_out);
/* Move a queue file between queues (rename, mkdir of hash dirs on demand). */
extern int mail_queue_rename(const char *id, const char *from, const char *to);
/*
 * Remove a queue file. A finished file of the active queue is moved into
 * recycle/ for reuse when recycling is on and the pool has room (see
 * mail_queue_recycle_path); everything else is unlinked.
 */
extern int mail_queue_remove(const char *queue, const char *id);
/*
 * Always unlink: for removals while the message may still be in use
 * (postsuper -d of an active message being delivered must never let its
 * inode be rewritten under a delivery agent).
 */
extern int mail_queue_unlink(const char *queue, const char *id);

struct stat;

/* Recycling on (parameter, and the file system can do it)? */
extern int mail_queue_recycle_enabled(void);
/* Move the finished file at path into a free recycle slot; -1 if none. */
extern int mail_queue_recycle_path(const char *path);
/*
 * Claim a recycled file: renamed to a name private to this process
 * (claim_path), opened O_RDWR, mode set to 0600, fstat in *st. Returns
 * the fd, or -1 when there is none (caller creates a new file).
 */
extern int mail_queue_claim(VSTR *claim_path, struct stat *st);
/*
 * Remove recycle debris in dir: everything (min_age < 0, `postfix start`,
 * nothing running) or claims older than min_age seconds (postsuper -p).
 * Returns the number removed, -1 on error.
 */
extern long mail_queue_recycle_purge(const char *dir, long min_age);
/* chdir to $queue_directory (fatal on failure). */
extern void mail_queue_chdir(void);

#endif
