/*
 * local_cache - what one local_deliver_many() pass looks up again and
 * again: passwd entries, and .forward files that do not exist.
 *
 * A batch of messages for one user would otherwise read /etc/passwd (NSS
 * "files": open, read, close) and try to open ~/.forward (with the
 * set-uid dance around it) once per message. Within one pass (the
 * messages of one delivery request, a few milliseconds) the answers are
 * reused; outside a pass nothing is cached, so every single delivery
 * looks again, as Postfix's local(8) does. Bounded: LOCAL_CACHE_MAX
 * entries of each kind, the oldest replaced first.
 */
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

#include "local_private.h"
#include "mem.h"

#define LOCAL_CACHE_MAX	16

typedef struct LC_PW {
    char   *name;
    int     found;
    LOCAL_PW pw;
} LC_PW;

typedef struct LC_NOFILE {
    char   *path;
    uid_t   uid;
} LC_NOFILE;

static int lc_active;
static LC_PW lc_pw[LOCAL_CACHE_MAX];
static size_t lc_npw, lc_pw_next;
static LC_NOFILE lc_nofile[LOCAL_CACHE_MAX];
static size_t lc_nnofile, lc_nofile_next;

static void lc_pw_clear(LC_PW *e)
{
    free(e->name);
    free(e->pw.dir);
    free(e->pw.shell);
    memset(e, 0, sizeof(*e));
}

void    local_cache_begin(void)
{
    lc_active = 1;
}

void    local_cache_end(void)
{
    for (size_t i = 0; i < lc_npw; i++)
	lc_pw_clear(lc_pw + i);
    for (size_t i = 0; i < lc_nnofile; i++)
	free(lc_nofile[i].path);
    lc_npw = lc_pw_next = lc_nnofile = lc_nofile_next = 0;
    lc_active = 0;
}

int     local_cache_getpw(const char *name, LOCAL_PW *out)
{
    struct passwd *pw;
    LC_PW  *e;

    if (lc_active)
	for (size_t i = 0; i < lc_npw; i++)
	    if (strcmp(lc_pw[i].name, name) == 0) {
		*out = lc_pw[i].pw;
		return (lc_pw[i].found);
	    }
    pw = getpwnam(name);
    if (!lc_active) {
	static LC_PW one;			/* valid until the next call */

	lc_pw_clear(&one);
	e = &one;
    } else {
	if (lc_npw < LOCAL_CACHE_MAX)
	    e = lc_pw + lc_npw++;
	else {
	    e = lc_pw + lc_pw_next;
	    lc_pw_next = (lc_pw_next + 1) % LOCAL_CACHE_MAX;
	    lc_pw_clear(e);
	}
    }
    e->name = xstrdup(name);
    if ((e->found = (pw != 0)) != 0) {
	e->pw.dir = xstrdup(pw->pw_dir);
	e->pw.shell = xstrdup(pw->pw_shell);
	e->pw.uid = pw->pw_uid;
	e->pw.gid = pw->pw_gid;
    }
    *out = e->pw;
    return (e->found);
}

int     local_cache_no_file(const char *path, uid_t uid)
{
    if (lc_active)
	for (size_t i = 0; i < lc_nnofile; i++)
	    if (lc_nofile[i].uid == uid && strcmp(lc_nofile[i].path, path) == 0)
		return (1);
    return (0);
}

void    local_cache_set_no_file(const char *path, uid_t uid)
{
    LC_NOFILE *e;

    if (!lc_active)
	return;
    if (lc_nnofile < LOCAL_CACHE_MAX)
	e = lc_nofile + lc_nnofile++;
    else {
	e = lc_nofile + lc_nofile_next;
	lc_nofile_next = (lc_nofile_next + 1) % LOCAL_CACHE_MAX;
	free(e->path);
    }
    e->path = xstrdup(path);
    e->uid = uid;
}
