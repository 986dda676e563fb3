/* maillog_client - main.cf driven logging setup; see maillog_client.h. */
#include <stdlib.h>
#include <string.h>

#include "argv.h"
#include "mail_conf.h"
#include "maillog_client.h"
#include "mem.h"
#include "msg.h"
#include "msg_log.h"
#include "stringops.h"
#include "vstr.h"

char   *maillog_client_tag(const char *name)
{
    VSTR   *vp = vstr_alloc(64);

    if (name && *name)
	(void) vstr_fmt(vp, "%s/%s", mail_conf_str("syslog_name"), name);
    else
	(void) vstr_cpy(vp, mail_conf_str("syslog_name"));
    return (vstr_export(vp));
}

char   *maillog_client_socket(void)
{
    VSTR   *vp = vstr_alloc(64);

    (void) vstr_fmt(vp, "%s/public/%s", mail_conf_str("queue_directory"),
		    mail_conf_str("postlog_service_name"));
    return (vstr_export(vp));
}

static void maillog_check_prefix(const char *file)
{
    ARGV   *prefixes = argv_split(mail_conf_str("maillog_file_prefixes"), CHARS_COMMA_SP);
    int     ok = 0;

    for (size_t i = 0; i < prefixes->argc; i++)
	if (strncmp(file, prefixes->argv[i], strlen(prefixes->argv[i])) == 0)
	    ok = 1;
    argv_free(prefixes);
    if (!ok)
	msg_fatal("maillog_file value '%s' does not match any prefix in "
		  "maillog_file_prefixes", file);
}

void    maillog_client_init(const char *name, int flags)
{
    char   *tag = maillog_client_tag(name);
    const char *file = mail_conf_str("maillog_file");
    const char *fac;

    msg_log_set_tag(tag);
    free(tag);
    msg_log_set_host(mail_conf_str("myhostname"));
    if (*file == 0) {
	fac = mail_conf_str("syslog_facility");
	if (msg_log_syslog(fac) < 0)
	    msg_fatal("unknown syslog facility: %s", fac);
	return;
    }
    maillog_check_prefix(file);
    if (flags & MAILLOG_DIRECT) {
	if (msg_log_file(file) < 0)
	    msg_fatal("open maillog_file %s: %m", file);
    } else {
	char   *sock = maillog_client_socket();

	msg_log_socket(sock, (flags & MAILLOG_FALLBACK) ? file : 0);
	free(sock);
    }
}
