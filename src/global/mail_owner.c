/* mail_owner - the $mail_owner account; see mail_owner.h. */
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include "mail_conf.h"
#include "mail_owner.h"
#include "msg.h"

const struct passwd *mail_owner_lookup(void)
{
    const char *owner = mail_conf_str("mail_owner");
    struct passwd *pw;

    if ((pw = getpwnam(owner)) == 0)
	msg_fatal("file %s/main.cf: parameter mail_owner: unknown user name value: %s",
		  mail_conf_dir(), owner);
    if (pw->pw_uid == 0)
	msg_fatal("file %s/main.cf: parameter mail_owner: user %s has privileged user ID",
		  mail_conf_dir(), owner);
    return (pw);
}

void    mail_owner_drop_privileges(void)
{
    const struct passwd *pw;
    uid_t   uid;
    gid_t   gid;

    if (geteuid() != 0)
	return;
    pw = mail_owner_lookup();
    uid = pw->pw_uid;
    gid = pw->pw_gid;
    if (setgroups(1, &gid) < 0 || setgid(gid) < 0 || setuid(uid) < 0)
	msg_fatal("set privileges to %s: %m", mail_conf_str("mail_owner"));
}
