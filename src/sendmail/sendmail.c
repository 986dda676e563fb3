/*
 * sendmail - Sendmail-compatible interface. MINIMAL VERSION written by the
 * lookup-table work: it implements only the alias-database rebuild,
 *
 *	newaliases [-C config_file_or_dir] [-v]
 *	sendmail -bi [-C config_file_or_dir] [-v]
 *	sendmail -I [-C config_file_or_dir] [-v]
 *
 * which rebuild every table in $alias_database (alias_rebuild_all(),
 * src/global/mkmap.c). TO BE EXTENDED by the receiving-mail work (posting
 * a message through postdrop/maildrop, -bp/mailq, -bs, -t, -f, ...);
 * until then every other mode fails with a clear message.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mail_conf.h"
#include "mem.h"
#include "mkmap.h"
#include "msg.h"

static void sendmail_config(const char *arg)
{
    struct stat st;

    /* Postfix: -C names main.cf or its directory. */
    if (stat(arg, &st) == 0 && !S_ISDIR(st.st_mode)) {
	char   *dir = xstrdup(arg);
	char   *slash = strrchr(dir, '/');

	if (slash == 0)
	    mail_conf_set_dir(".");
	else {
	    *slash = 0;
	    mail_conf_set_dir(*dir ? dir : "/");
	}
	free(dir);
    } else {
	mail_conf_set_dir(arg);
    }
}

int     main(int argc, char **argv)
{
    const char *slash = strrchr(argv[0], '/');
    const char *name = slash ? slash + 1 : argv[0];
    int     rebuild = strcmp(name, "newaliases") == 0;
    int     mode_other = 0;
    int     ch;

    msg_init("sendmail", 1);
    if (strcmp(name, "newaliases") == 0)
	msg_init("newaliases", 1);
    opterr = 0;
    while ((ch = getopt(argc, argv, "B:C:F:GIL:N:O:R:UV:X:b:ce:f:h:imno:p:r:q:tvx")) != -1) {
	switch (ch) {
	case 'C':
	    sendmail_config(optarg);
	    break;
	case 'I':
	    rebuild = 1;
	    break;
	case 'b':
	    if (strcmp(optarg, "i") == 0)
		rebuild = 1;
	    else
		mode_other = 1;
	    break;
	case 'v':
	    msg_verbose++;
	    break;
	default:
	    break;
	}
    }
    if (!rebuild || mode_other)
	msg_fatal("this minimal sendmail implements only newaliases (-bi, -I); "
		  "message submission is not built yet");
    mail_conf_read();
    (void) alias_rebuild_all();
    return (0);
}
