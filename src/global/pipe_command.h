/*
 * pipe_command - run an external command with a message on its standard
 * input, as a given user, with a clean environment and a time limit; map
 * its exit status to a delivery status the way Postfix does (sysexits,
 * an enhanced status code at the start of its output, "Command died with
 * status N", "Command time limit exceeded").
 */
#ifndef POSTERN_PIPE_COMMAND_H
#define POSTERN_PIPE_COMMAND_H

#include <sys/types.h>

#include "argv.h"
#include "vstr.h"

#define PIPE_STAT_OK		0
#define PIPE_STAT_DEFER		1
#define PIPE_STAT_BOUNCE	2

typedef struct PIPE_CMD {
    const char *command;		/* shell command text */
    uid_t   uid;			/* run as (ignored unless root) */
    gid_t   gid;
    const ARGV *env;			/* "NAME=value" to add (may be NULL) */
    const char *export_env;		/* export_environment value */
    const char *cwd;			/* working directory or NULL */
    const char *shell;			/* local_command_shell or NULL/"" */
    long    time_limit;			/* seconds */
    const char *input;			/* message as the command reads it */
    size_t  input_len;
} PIPE_CMD;

/* Returns PIPE_STAT_*; on failure *dsn ("5.3.0") and why are set. */
extern int pipe_command(const PIPE_CMD *, VSTR *why, char *dsn);

#endif
