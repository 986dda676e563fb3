/* master_inproc - in-process services, missing programs; see master_inproc.h. */
#include <string.h>

#include "master_inproc.h"
#include "msg.h"

static const struct {
    const char *command;
    const char *where;
}       inproc[] = {
    {"cleanup", "smtpd, pickup and local (the cleanup library)"},
    {"trivial-rewrite", "smtpd, cleanup and qmgr (the address resolver library)"},
    {"bounce", "qmgr (delivery status notices)"},
    {"proxymap", "the processes that use proxy: tables (opened directly)"},
    {0, 0},
};

const char *master_inproc(const char *command)
{
    const char *base = strrchr(command, '/');

    base = base ? base + 1 : command;
    for (int i = 0; inproc[i].command; i++)
	if (strcmp(inproc[i].command, base) == 0)
	    return (inproc[i].where);
    return (0);
}

void    master_missing_init(MASTER_MISSING *mm)
{
    mm->list = vstr_alloc(128);
    mm->count = 0;
}

void    master_missing_add(MASTER_MISSING *mm, const MASTER_ENT *ent)
{
    (void) vstr_fmt_append(mm->list, "%s%s/%s (%s)", mm->count ? ", " : "",
			   ent->name, ent->type_name, ent->command);
    mm->count++;
}

void    master_missing_warn(MASTER_MISSING *mm, const char *daemon_dir)
{
    if (mm->count > 0)
	msg_warn("master.cf: %s disabled, missing program in %s: %s",
		 mm->count == 1 ? "service" : "services", daemon_dir, vstr_str(mm->list));
    vstr_free(mm->list);
    mm->list = 0;
}
