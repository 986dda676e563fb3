/* maillog_as - log under another program's name; see maillog_as.h. */
#include <stdarg.h>
#include <stdlib.h>

#include "maillog_as.h"
#include "maillog_client.h"
#include "mem.h"
#include "msg.h"
#include "msg_log.h"

void    maillog_as(const char *prog, const char *fmt,...)
{
    char   *saved = xstrdup(msg_log_tag());
    char   *tag = maillog_client_tag(prog);
    va_list ap;

    msg_log_set_tag(tag);
    va_start(ap, fmt);
    msg_vprintf(MSG_INFO, fmt, ap);
    va_end(ap);
    msg_log_set_tag(saved);
    free(tag);
    free(saved);
}
