/* smtpd_io - session byte stream over a socket; see smtpd_io.h. */
#include <errno.h>
#include <stdlib.h>
#include <sys/uio.h>
#include <unistd.h>

#include "mem.h"
#include "msg.h"
#include "msg_log.h"
#include "smtpd_io.h"

struct SMTPD_IO {
    int     fd;
    struct evbuffer *in;
    struct evbuffer *out;
    struct event *rev;			/* readable (persistent, read timeout) */
    struct event *wev;			/* writable (persistent, write timeout) */
    SMTPD_IO *flush_prev;		/* on the end-of-turn flush list */
    SMTPD_IO *flush_next;
    int     flush_listed;
    struct timeval tmo;
    int     has_tmo;
    size_t  high;			/* input high-water mark */
    int     want_read;			/* SMTPD_IO_READ_STOP, _ON or _PAUSE */
    int     reading;			/* rev is added */
    int     read_done;			/* EOF or read error: no more reading */
    int     eof_pending;		/* EOF/error read, not reported yet */
    int     held;			/* output held (error sleep) */
    int     writing;			/* wev is added: output waits for the socket */
    SMTPD_IO_FN read_fn;
    SMTPD_IO_FN drained_fn;
    SMTPD_IO_EVENT_FN event_fn;
    void   *context;
};

/*
 * Streams with new output this loop turn. One event writes them all at the
 * end of the turn, after sending the turn's log lines in one datagram.
 */
static SMTPD_IO *io_flush_head, *io_flush_tail;
static struct event *io_flush_ev;

static void io_unlist(SMTPD_IO *io)
{
    if (!io->flush_listed)
	return;
    if (io->flush_prev)
	io->flush_prev->flush_next = io->flush_next;
    else
	io_flush_head = io->flush_next;
    if (io->flush_next)
	io->flush_next->flush_prev = io->flush_prev;
    else
	io_flush_tail = io->flush_prev;
    io->flush_prev = io->flush_next = 0;
    io->flush_listed = 0;
}

/* Poll for input exactly when the session wants it and has room for it. */
static void io_update_read(SMTPD_IO *io)
{
    int     want = io->want_read != SMTPD_IO_READ_STOP && !io->read_done
    && evbuffer_get_length(io->in) < io->high;

    if (want && !io->reading) {
	(void) event_add(io->rev, io->has_tmo ? &io->tmo : 0);
	io->reading = 1;
    } else if (!want && io->reading) {
	(void) event_del(io->rev);
	io->reading = 0;
    }
}

/* One read(2) into the input buffer: >0 bytes, 0 EOF, -1 error (errno). */
static ssize_t io_fill(SMTPD_IO *io)
{
    struct evbuffer_iovec v;
    ssize_t n;

    if (evbuffer_reserve_space(io->in, SMTPD_IO_READ_MAX, &v, 1) < 1)
	msg_fatal("out of memory for session input");
    if (v.iov_len > SMTPD_IO_READ_MAX)
	v.iov_len = SMTPD_IO_READ_MAX;
    n = read(io->fd, v.iov_base, v.iov_len);
    if (n > 0) {
	v.iov_len = (size_t) n;
	(void) evbuffer_commit_space(io->in, &v, 1);
    }
    return (n);
}

static void io_read_cb(evutil_socket_t fd, short what, void *arg)
{
    SMTPD_IO *io = arg;
    ssize_t n;

    if (io->eof_pending) {			/* activated by smtpd_io_input_drained */
	int     ev = io->eof_pending;

	if (io->want_read != SMTPD_IO_READ_ON)
	    return;
	io->eof_pending = 0;
	io->event_fn(io->context, ev | SMTPD_IO_READING);
	return;
    }
    if (what & EV_TIMEOUT) {
	if (io->want_read != SMTPD_IO_READ_ON)
	    return;				/* paused: no timeout (persists) */
	io->want_read = SMTPD_IO_READ_STOP;	/* as bufferevent: reading stops */
	io_update_read(io);
	io->event_fn(io->context, SMTPD_IO_TIMEOUT | SMTPD_IO_READING);
	return;
    }
    if ((n = io_fill(io)) > 0) {
	io_update_read(io);			/* high-water mark */
	if (io->want_read == SMTPD_IO_READ_ON)
	    io->read_fn(io->context);		/* may free io */
	return;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
	return;
    io->read_done = 1;
    io_update_read(io);
    /*
     * Input sent before the EOF is still served first (a pipelined burst
     * ending in QUIT, then a half-close): the EOF is reported only once
     * the session has consumed what it could and wants more input.
     */
    io->eof_pending = (n == 0 ? SMTPD_IO_EOF : SMTPD_IO_ERROR);
    if (io->want_read == SMTPD_IO_READ_ON) {
	if (evbuffer_get_length(io->in) > 0)
	    io->read_fn(io->context);		/* ends in smtpd_io_input_drained */
	else
	    event_active(io->rev, EV_READ, 0);
    }
}

/* Write what is queued; 0 drained, 1 waiting for the socket, -1 error. */
static int io_write(SMTPD_IO *io)
{
    if (evbuffer_get_length(io->out) > 0
	&& evbuffer_write(io->out, io->fd) < 0
	&& errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
	return (-1);
    return (evbuffer_get_length(io->out) > 0);
}

static void io_write_stop(SMTPD_IO *io)
{
    if (io->writing) {
	(void) event_del(io->wev);
	io->writing = 0;
    }
}

static void io_write_cb(evutil_socket_t fd, short what, void *arg)
{
    SMTPD_IO *io = arg;
    int     status;

    if (what & EV_TIMEOUT) {
	io_write_stop(io);
	io->event_fn(io->context, SMTPD_IO_TIMEOUT | SMTPD_IO_WRITING);
	return;
    }
    if ((status = io_write(io)) > 0)
	return;
    io_write_stop(io);
    if (status < 0)
	io->event_fn(io->context, SMTPD_IO_ERROR | SMTPD_IO_WRITING);
    else
	io->drained_fn(io->context);
}

/* Write one stream's output now (callbacks may free it). */
static void io_flush_one(SMTPD_IO *io)
{
    int     status;

    if (io->held || io->writing)
	return;
    if ((status = io_write(io)) > 0) {
	(void) event_add(io->wev, io->has_tmo ? &io->tmo : 0);
	io->writing = 1;
    } else if (status < 0) {
	io->event_fn(io->context, SMTPD_IO_ERROR | SMTPD_IO_WRITING);
    } else {
	io->drained_fn(io->context);
    }
}

/* End of the loop turn: the turn's log lines first, then the replies. */
static void io_flush_cb(evutil_socket_t fd, short what, void *arg)
{
    SMTPD_IO *io;

    msg_log_flush();
    while ((io = io_flush_head) != 0) {
	io_unlist(io);
	io_flush_one(io);
    }
}

SMTPD_IO *smtpd_io_create(struct event_base *base, int fd, long timeout, size_t input_high,
			          SMTPD_IO_FN read_fn, SMTPD_IO_FN drained_fn,
			          SMTPD_IO_EVENT_FN event_fn, void *context)
{
    SMTPD_IO *io = xcalloc(1, sizeof(*io));

    io->fd = fd;
    io->in = evbuffer_new();
    io->out = evbuffer_new();
    io->rev = event_new(base, fd, EV_READ | EV_PERSIST, io_read_cb, io);
    io->wev = event_new(base, fd, EV_WRITE | EV_PERSIST, io_write_cb, io);
    if (io_flush_ev == 0 && (io_flush_ev = event_new(base, -1, 0, io_flush_cb, 0)) == 0)
	msg_fatal("out of memory for a session");
    if (!io->in || !io->out || !io->rev || !io->wev)
	msg_fatal("out of memory for a session");
    io->tmo.tv_sec = timeout;
    io->has_tmo = timeout > 0;
    io->high = input_high;
    io->read_fn = read_fn;
    io->drained_fn = drained_fn;
    io->event_fn = event_fn;
    io->context = context;
    return (io);
}

void    smtpd_io_free(SMTPD_IO *io)
{
    event_free(io->rev);
    event_free(io->wev);
    io_unlist(io);
    evbuffer_free(io->in);
    evbuffer_free(io->out);
    (void) close(io->fd);
    free(io);
}

struct evbuffer *smtpd_io_input(SMTPD_IO *io)
{
    return (io->in);
}

struct evbuffer *smtpd_io_output(SMTPD_IO *io)
{
    return (io->out);
}

void    smtpd_io_read_enable(SMTPD_IO *io, int how)
{
    int     was = io->want_read;

    io->want_read = how;
    io_update_read(io);
    /* Back from a pause: the read timeout starts now (no epoll_ctl). */
    if (how == SMTPD_IO_READ_ON && was != SMTPD_IO_READ_ON && io->reading && io->has_tmo)
	(void) event_add(io->rev, &io->tmo);
}

void    smtpd_io_input_drained(SMTPD_IO *io)
{
    io_update_read(io);
    if (io->eof_pending && io->want_read == SMTPD_IO_READ_ON)
	event_active(io->rev, EV_READ, 0);	/* report it after this callback */
}

void    smtpd_io_hold_output(SMTPD_IO *io, int on)
{
    io->held = on;
    if (on)
	io_write_stop(io);
    else
	smtpd_io_flush(io);
}

void    smtpd_io_flush(SMTPD_IO *io)
{
    if (io->flush_listed)
	return;
    io->flush_listed = 1;
    io->flush_prev = io_flush_tail;
    io->flush_next = 0;
    if (io_flush_tail)
	io_flush_tail->flush_next = io;
    else
	io_flush_head = io;
    io_flush_tail = io;
    /* Activating an already active event is a no-op. */
    event_active(io_flush_ev, EV_TIMEOUT, 0);
}

void    smtpd_io_no_timeouts(SMTPD_IO *io)
{
    io->has_tmo = 0;
    if (io->reading) {
	(void) event_del(io->rev);
	(void) event_add(io->rev, 0);
    }
    if (io->writing) {
	(void) event_del(io->wev);
	(void) event_add(io->wev, 0);
    }
}
