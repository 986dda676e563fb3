/* qflush - make deferred mail due now; see qflush.h. */
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

#include "mail_conf.h"
#include "mail_queue.h"
#include "mail_trigger.h"
#include "qfile.h"
#include "qflush.h"
#include "vstr.h"

static int qflush_site_match(const char *path, const char *site)
{
    FILE   *fp = fopen(path, "r");
    QFILE_INFO info;
    VSTR   *why = vstr_alloc(32);
    int     match = 0;

    if (fp && qfile_read(fp, &info, why) == 0) {
	for (size_t i = 0; i < info.nrcpt && !match; i++) {
	    const char *at = strrchr(info.rcpt[i].address, '@');

	    match = !info.rcpt[i].done && at && strcasecmp(at + 1, site) == 0;
	}
	qfile_info_free(&info);
    }
    if (fp)
	fclose(fp);
    vstr_free(why);
    return (match);
}

static int qflush_dir(const char *dir, int depth, const char *site, const char *id)
{
    DIR    *dp;
    struct dirent *de;
    VSTR   *sub;
    int     count = 0;

    if ((dp = opendir(dir)) == 0)
	return (0);
    sub = vstr_alloc(64);
    while ((de = readdir(dp)) != 0) {
	if (de->d_name[0] == '.')
	    continue;
	(void) vstr_fmt(sub, "%s/%s", dir, de->d_name);
	if (depth > 0 && strlen(de->d_name) == 1) {
	    count += qflush_dir(vstr_str(sub), depth - 1, site, id);
	    continue;
	}
	if (id && strcmp(id, de->d_name) != 0)
	    continue;
	if (site && !qflush_site_match(vstr_str(sub), site))
	    continue;
	if (utimes(vstr_str(sub), 0) == 0)
	    count++;
    }
    closedir(dp);
    vstr_free(sub);
    return (count);
}

int     qflush_depth(void)
{
    return (mail_queue_hashed(MAIL_QUEUE_DEFERRED) ? (int) mail_conf_int("hash_queue_depth") : 0);
}

int     qflush_due_depth(int depth, const char *site, const char *id)
{
    return (qflush_dir(MAIL_QUEUE_DEFERRED, depth, site, id));
}

int     qflush_due(const char *site, const char *id)
{
    return (qflush_due_depth(qflush_depth(), site, id));
}

int     qflush_trigger(const char *what)
{
    VSTR   *path = vstr_alloc(64);
    int     ret;

    (void) vstr_fmt(path, "%s/public/qmgr", mail_conf_str("queue_directory"));
    ret = mail_trigger(vstr_str(path), what);
    vstr_free(path);
    return (ret);
}
