/*
 * master - the supervisor: master.cf services, listeners, processes.
 *
 * master.c        main(): options, pid file lock, daemon mode, signals,
 *                 the event loop, start/reload/stop/abort.
 * master_serv.c   services from master.cf: listeners (inet, unix,
 *                 unix-dgram, fifo, pass), reload reconciliation, wakeups.
 * master_spawn.c  child processes: fork/exec with the service interface
 *                 (docs/ARCHITECTURE.md), status channel, reaping,
 *                 throttling.
 */
#ifndef POSTERN_MASTER_H
#define POSTERN_MASTER_H

#include <sys/types.h>
#include <event2/event.h>

#include "argv.h"

typedef struct MASTER_SERV {
    char   *name;			/* master.cf service name */
    int     type;			/* MASTER_TYPE_* */
    char   *type_name;
    char   *key;			/* "name/type": identity across reloads */
    char   *path;			/* $daemon_directory/command */
    ARGV   *argv;			/* exec argv */
    int     max_proc;			/* 0: no limit */
    int     wakeup;			/* seconds, 0: none */
    int     wakeup_if_used;
    int     used;			/* a process was ever started */
    int     missing;			/* program not built: disabled */
    int     postlog;			/* the postlogd unix-dgram service */
    char   *sock_path;			/* unix/fifo/dgram listener path */
    int    *listen_fd;
    int     nlisten;
    char   *endpoints;		/* listener identity (for reload) */
    struct event **listen_ev;
    int     watching;			/* listen events are armed */
    int     total;			/* processes of this generation */
    int     avail;			/* ... of which available */
    int     throttled;
    struct event *throttle_ev;
    struct event *wakeup_ev;
    struct MASTER_SERV *next;
} MASTER_SERV;

typedef struct MASTER_PROC {
    pid_t   pid;
    MASTER_SERV *serv;			/* NULL after reload (retired) */
    char   *path;			/* for log messages */
    char   *key;			/* service "name/type" (also when retired) */
    int     status_fd;			/* master's end of the status channel */
    struct event *status_ev;
    int     avail;
    int     use_count;
    struct MASTER_PROC *next;
} MASTER_PROC;

extern struct event_base *master_base;
extern MASTER_SERV *master_services;
extern MASTER_PROC *master_procs;
extern int master_is_root;
extern uid_t master_owner_uid;
extern gid_t master_owner_gid;
extern gid_t master_setgid_gid;
extern int master_stopping;

/* master_serv.c */
extern void master_serv_load(void);	/* (re)read master.cf, reconcile */
extern void master_serv_close_all(void);
extern void master_serv_start_eager(void);	/* after startup/reload */
extern void master_serv_update_watch(MASTER_SERV *);
extern void master_serv_throttle(MASTER_SERV *);

/* master_spawn.c */
extern void master_spawn(MASTER_SERV *);
extern void master_reap(void);
extern void master_proc_status(MASTER_PROC *, int ch);
extern void master_retire_all(void);	/* reload: old processes drain */
extern void master_signal_all(int sig);
extern int master_proc_count(void);
/* Processes of a service (by key) from before the last reload, still running. */
extern int master_retired_count(const char *key);

#endif
