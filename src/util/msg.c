/* msg - diagnostics; see msg.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "msg.h"

#define MSG_MAX_OUTPUTS	4
#define MSG_TEXT_MAX	4096

int     msg_verbose;
static const char *msg_prog = "postern";
static int msg_to_stderr = 1;
static MSG_OUTPUT_FN msg_outputs[MSG_MAX_OUTPUTS];
static int msg_noutputs;
static int msg_errors;
static void (*msg_cleanup_fn) (void);
static int msg_in_progress;

void    msg_init(const char *progname, int to_stderr)
{
    const char *slash = strrchr(progname, '/');

    msg_prog = slash ? slash + 1 : progname;
    msg_to_stderr = to_stderr;
}

const char *msg_progname(void)
{
    return (msg_prog);
}

void    msg_stderr_enable(int on)
{
    msg_to_stderr = on;
}

void    msg_output_add(MSG_OUTPUT_FN fn)
{
    if (msg_noutputs >= MSG_MAX_OUTPUTS)
	msg_panic("msg_output_add: too many outputs");
    msg_outputs[msg_noutputs++] = fn;
}

void    msg_cleanup_set(void (*fn) (void))
{
    msg_cleanup_fn = fn;
}

const char *msg_severity_name(int level)
{
    static const char *names[] = {"", "warning", "error", "fatal", "panic"};

    return (level >= 0 && level <= MSG_PANIC ? names[level] : "");
}

int     msg_error_count(void)
{
    return (msg_errors);
}

void    msg_vprintf(int level, const char *fmt, va_list ap)
{
    char    text[MSG_TEXT_MAX];
    int     saved_errno = errno;
    int     i;

    if (msg_in_progress > 1)			/* recursion from an output */
	return;
    msg_in_progress++;
    (void) vsnprintf(text, sizeof(text), fmt, ap);
    /* Never emit control characters into a log line. */
    for (char *cp = text; *cp; cp++)
	if ((unsigned char) *cp < 32 && *cp != '\t')
	    *cp = '?';
    if (msg_to_stderr) {
	if (level == MSG_INFO)
	    fprintf(stderr, "%s: %s\n", msg_prog, text);
	else
	    fprintf(stderr, "%s: %s: %s\n", msg_prog, msg_severity_name(level), text);
	fflush(stderr);
    }
    for (i = 0; i < msg_noutputs; i++)
	msg_outputs[i] (level, text);
    msg_in_progress--;
    errno = saved_errno;
}

#define MSG_FN(name, level) \
    void name(const char *fmt,...) { \
	va_list ap; va_start(ap, fmt); msg_vprintf(level, fmt, ap); va_end(ap); }

MSG_FN(msg_info, MSG_INFO)
MSG_FN(msg_warn, MSG_WARN)

void    msg_error(const char *fmt,...)
{
    va_list ap;

    va_start(ap, fmt);
    msg_vprintf(MSG_ERROR, fmt, ap);
    va_end(ap);
    if (++msg_errors >= 13)
	msg_fatal("too many errors - program terminated");
}

static void msg_vfatal(int, const char *, va_list) __attribute__((noreturn));

static void msg_vfatal(int status, const char *fmt, va_list ap)
{
    msg_vprintf(MSG_FATAL, fmt, ap);
    if (msg_cleanup_fn) {
	void    (*fn) (void) = msg_cleanup_fn;

	msg_cleanup_fn = 0;
	fn();
    }
    exit(status);
}

void    msg_fatal_status(int status, const char *fmt,...)
{
    va_list ap;

    va_start(ap, fmt);
    msg_vfatal(status, fmt, ap);
}

void    msg_fatal(const char *fmt,...)
{
    va_list ap;

    va_start(ap, fmt);
    msg_vfatal(1, fmt, ap);
}

void    msg_panic(const char *fmt,...)
{
    va_list ap;

    va_start(ap, fmt);
    msg_vprintf(MSG_PANIC, fmt, ap);
    va_end(ap);
    abort();
}

/*
 * Sanitizer builds: leak checking stays off by default (as tests/run sets
 * it), also in processes whose environment was cleaned or that changed
 * their uid (LeakSanitizer cannot run in a non-dumpable process).
 */
extern const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return ("detect_leaks=0");
}
