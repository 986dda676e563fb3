/*
 * smtpd_io - the session's byte stream: an input and an output evbuffer
 * over a socket, driven by the event loop, with as few system calls as
 * possible per SMTP command.
 *
 * Input: one read(2) of at most SMTPD_IO_READ_MAX bytes per readiness
 * event into the input buffer (no FIONREAD first), then the read callback.
 * Output: replies are appended to the output buffer; at the end of the
 * current event-loop turn the buffer is written with one writev(2)
 * straight away (no poll for writability first, so no epoll_ctl per
 * reply); only what the socket does not take at once waits for a write
 * event. Log lines of the turn are sent before the replies (msg_log_flush),
 * so that the log never lags behind what a client has seen.
 *
 * Timeouts and events mirror libevent's bufferevent, which this replaces
 * for plain TCP: a read timeout while reading is enabled, a write timeout
 * while output waits for the socket; EOF, errors and timeouts go to the
 * event callback (SMTPD_IO_EOF, _ERROR, _TIMEOUT, with _READING or
 * _WRITING); reading stops at EOF, on errors and at the input high-water
 * mark (and resumes when the input is drained below it).
 *
 * STARTTLS (later): the two places that move bytes, io_fill() and
 * io_write(), are the only ones that touch the socket; a TLS layer
 * replaces them with SSL_read/SSL_write over the same buffers (a
 * want-write during a read or a want-read during a write then only changes
 * which event is armed).
 */
#ifndef POSTERN_SMTPD_IO_H
#define POSTERN_SMTPD_IO_H
#include <event2/buffer.h>
#include <event2/event.h>

#define SMTPD_IO_EOF		0x01
#define SMTPD_IO_ERROR		0x02
#define SMTPD_IO_TIMEOUT	0x04
#define SMTPD_IO_READING	0x10
#define SMTPD_IO_WRITING	0x20

#define SMTPD_IO_READ_MAX	16384	/* bytes per read(2) */

typedef struct SMTPD_IO SMTPD_IO;
typedef void (*SMTPD_IO_FN) (void *context);
typedef void (*SMTPD_IO_EVENT_FN) (void *context, int what);

extern SMTPD_IO *smtpd_io_create(struct event_base *, int fd, long timeout, size_t input_high,
			              SMTPD_IO_FN read_fn, SMTPD_IO_FN drained_fn,
				         SMTPD_IO_EVENT_FN event_fn, void *context);
extern void smtpd_io_free(SMTPD_IO *);	/* closes the socket */
extern struct evbuffer *smtpd_io_input(SMTPD_IO *);
extern struct evbuffer *smtpd_io_output(SMTPD_IO *);
/*
 * Reading: ON delivers input to the read callback; PAUSE keeps reading
 * ahead into the input buffer (bounded by the high-water mark) without
 * delivering it and without a read timeout, and keeps an EOF for later,
 * so a pause around a durable commit costs no epoll_ctl; STOP stops.
 * The session calls smtpd_io_input_drained() after consuming input: a
 * pending EOF is reported then (after the input sent before it).
 */
#define SMTPD_IO_READ_STOP	0
#define SMTPD_IO_READ_ON	1
#define SMTPD_IO_READ_PAUSE	2
extern void smtpd_io_read_enable(SMTPD_IO *, int how);
extern void smtpd_io_hold_output(SMTPD_IO *, int on);
extern void smtpd_io_flush(SMTPD_IO *);	/* at the end of this loop turn */
extern void smtpd_io_no_timeouts(SMTPD_IO *);
extern void smtpd_io_input_drained(SMTPD_IO *);	/* after consuming input */

#endif
