/*
 * mail_server - the service side of the master <-> service interface.
 *
 * Every postern daemon calls mail_server_main() from main(). It parses
 * the standard service arguments (see docs/ARCHITECTURE.md):
 *
 *	-n SERVICE -t TYPE [-u] [-v] [-o name=value]... [-c DIR] [-S ENDPOINT]...
 *
 * reads main.cf, applies -o overrides, finds its listeners (inherited
 * from master at fd MAIL_SERVER_LISTEN_FD.. with POSTERN_LISTEN_FDS set, or
 * opened itself with -S for stand-alone use), calls pre_init (still
 * privileged), drops privileges to mail_owner when running as root with
 * -u, calls post_init, and runs a libevent loop. Stream connections are
 * accepted non-blocking and handed to on_accept; services count their
 * clients with mail_server_client_begin/end so the skeleton can report
 * busy/idle to master and drain on reload. A fifo listener's bytes (and,
 * for services that ask for it, unix-stream connections that only send
 * wakeup bytes) trigger on_wakeup.
 *
 * On SIGTERM the service stops; when master closes the status channel
 * (reload) the service stops accepting and exits once its clients are
 * done.
 */
#ifndef POSTERN_MAIL_SERVER_H
#define POSTERN_MAIL_SERVER_H

#include <sys/types.h>

#include <event2/event.h>

#define MAIL_SERVER_STATUS_FD	5
#define MAIL_SERVER_LISTEN_FD	6
#define MAIL_SERVER_MAX_LISTEN	64

typedef struct MAIL_SERVER_CB {
    void    (*pre_init) (const char *service, int argc, char **argv);
    void    (*post_init) (const char *service, int argc, char **argv);
    void    (*on_accept) (int fd, const char *service);	/* stream client */
    void    (*on_wakeup) (const char *service);	/* fifo trigger */
    void    (*on_exit) (void);		/* before a normal exit */
    int     max_clients;		/* report busy at this many; 0 = 1 */
    int     idle_exit;			/* exit after max_idle seconds idle */
    int     wakeup_on_accept;		/* unix conn = trigger: read & call on_wakeup */
    int     stderr_standalone;		/* with -S, diagnostics also go to stderr */
    /* fifo services: the trigger bytes as read (before on_wakeup); optional */
    void    (*on_trigger) (const char *buf, ssize_t len);
    int     privileged;			/* keep root in -S mode (local, pipe) */
    int     exit_on_reload;		/* reload: exit now, do not wait for clients */
} MAIL_SERVER_CB;

extern int mail_server_main(int argc, char **argv, const MAIL_SERVER_CB *cb) __attribute__((noreturn));
extern struct event_base *mail_server_base(void);
extern const char *mail_server_service_name(void);
extern const char *mail_server_service_type(void);
extern int mail_server_standalone(void);
extern void mail_server_client_begin(void);
extern void mail_server_client_end(void);
extern void mail_server_stop(void);	/* leave the loop after this turn */
/* Parse "host:port", "[v6]:port", "port", "unix:/path": open a listener. */
extern int mail_server_listen(const char *endpoint, int backlog);

#endif
