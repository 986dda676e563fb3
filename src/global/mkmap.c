/* mkmap - build tables from source files (postmap, postalias, newaliases); see mkmap.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "argv.h"
#include "dict.h"
#include "dict_build.h"
#include "dict_src.h"
#include "dict_utf8.h"
#include "mail_conf.h"
#include "mem.h"
#include "mkmap.h"
#include "msg.h"
#include "safe_file.h"
#include "stringops.h"

int     mkmap_can_build(const char *type)
{
    return (strcmp(type, "hash") == 0 || strcmp(type, "btree") == 0
	    || strcmp(type, "lmdb") == 0 || strcmp(type, "cdb") == 0);
}

#define MKMAP_FILE_LIMIT	(1 << 20)	/* per -F file */

int     mkmap_file_value(VSTR *out, const char *value, VSTR *why)
{
    char   *copy = xstrdup(value);
    char   *bp = copy;
    char   *name;
    VSTR   *raw = vstr_alloc(1024);
    VSTR   *one = vstr_alloc(1024);
    int     first = 1;
    int     ret = 0;

    while ((name = mystrtok(&bp, CHARS_COMMA_SP)) != 0) {
	if (read_file_bounded(name, one, MKMAP_FILE_LIMIT) < 0) {
	    (void) vstr_fmt(why, "open %s: %s", name, strerror(errno));
	    ret = -1;
	    break;
	}
	if (!first)
	    (void) vstr_addch(raw, '\n');
	first = 0;
	(void) vstr_append(raw, vstr_str(one), vstr_len(one));
    }
    if (ret == 0) {
	size_t  need = 4 * ((vstr_len(raw) + 2) / 3) + 1;
	char   *enc = xmalloc(need);
	int     n = EVP_EncodeBlock((unsigned char *) enc, (unsigned char *) vstr_str(raw),
				    (int) vstr_len(raw));

	(void) vstr_ncpy(out, enc, (size_t) n);
	free(enc);
    }
    free(copy);
    vstr_free(raw);
    vstr_free(one);
    return (ret);
}

int     mkmap_base64_decode(VSTR *out, const char *in)
{
    size_t  len = strlen(in);
    unsigned char *dec;
    int     n;
    size_t  pad = 0;

    if (len % 4 != 0)
	return (-1);
    dec = xmalloc(len / 4 * 3 + 1);
    if ((n = EVP_DecodeBlock(dec, (const unsigned char *) in, (int) len)) < 0) {
	free(dec);
	return (-1);
    }
    while (pad < 2 && len > pad && in[len - 1 - pad] == '=')
	pad++;
    (void) vstr_ncpy(out, (char *) dec, (size_t) n - pad);
    free(dec);
    return (0);
}

void    mkmap_load(void *vdict, FILE *fp, const char *src_name, int syntax)
{
    int     rhs_file = (syntax & MKMAP_RHS_FILE) != 0;
    VSTR   *file_buf = rhs_file ? vstr_alloc(1024) : 0;
    VSTR   *why = rhs_file ? vstr_alloc(100) : 0;

    DICT   *dict = vdict;
    DICT_SRC *src = dict_src_open(src_name, fp);
    VSTR   *value_buf = vstr_alloc(100);
    char   *line;
    char   *key;
    char   *value;

    while ((line = dict_src_read(src)) != 0) {
	if ((dict->flags & DICT_FLAG_UTF8) && !dict_utf8_valid(line)) {
	    msg_warn("%s, line %d: non-UTF-8 input \"%s\" -- ignoring this line",
		     src_name, src->lineno, dict_src_printable(value_buf, line));
	    continue;
	}
	if ((syntax & ~MKMAP_RHS_FILE) == MKMAP_ALIAS) {
	    if (dict_src_split_alias(line, &key, &value) < 0 || *key == 0) {
		msg_warn("%s, line %d: need name:value pair", src_name, src->lineno);
		continue;
	    }
	    dict_src_alias_value(value_buf, value);
	    if (vstr_len(value_buf) == 0) {
		msg_warn("%s, line %d: need name:value pair", src_name, src->lineno);
		continue;
	    }
	    value = vstr_str(value_buf);
	} else {
	    int     rc;

	    (void) dict_src_printable(value_buf, line);
	    if ((rc = dict_src_split(line, &key, &value)) == DICT_SRC_UNBALANCED) {
		msg_warn("%s, line %d: unbalanced '\"' in '%s' -- ignoring this line",
			 src_name, src->lineno, vstr_str(value_buf));
		continue;
	    }
	    if (rc < 0) {
		msg_warn("%s, line %d: expected format: key whitespace value",
			 src_name, src->lineno);
		continue;
	    }
	}
	if (rhs_file) {
	    if (mkmap_file_value(file_buf, value, why) < 0) {
		msg_warn("%s, line %d: %s: skipping this entry", src_name, src->lineno,
			 vstr_str(why));
		continue;
	    }
	    value = vstr_str(file_buf);
	}
	if (dict_update(dict, key, value) == DICT_STAT_ERROR)
	    msg_fatal("table %s:%s: write error", dict->type, dict->name);
    }
    dict_src_close(src);
    vstr_free(value_buf);
    if (file_buf) {
	vstr_free(file_buf);
	vstr_free(why);
    }
}

/* The entries Postfix's postalias adds for sendmail and NIS compatibility. */
static void mkmap_alias_trailer(DICT *dict)
{
    char    host[256];
    char    stamp[32];
    int     saved = dict->flags;

    dict->flags = (dict->flags & ~(DICT_FLAG_DUP_WARN | DICT_FLAG_DUP_IGNORE))
	| DICT_FLAG_DUP_REPLACE;
    (void) snprintf(stamp, sizeof(stamp), "%010ld", (long) time((time_t *) 0));
    if (gethostname(host, sizeof(host)) < 0)
	safe_strlcpy(host, "localhost", sizeof(host));
    host[sizeof(host) - 1] = 0;
    /* Not case-folded: call the table's own update. */
    (void) dict->update(dict, "YP_LAST_MODIFIED", stamp);
    (void) dict->update(dict, "YP_MASTER_NAME", host);
    (void) dict->update(dict, "@", "@");
    dict->flags = saved;
}

static DICT *mkmap_open(const char *type, const char *path, int open_flags, int dict_flags)
{
    DICT   *dict;

    if (!mkmap_can_build(type))
	msg_fatal("unsupported dictionary type: %s does not support bulk-mode creation.",
		  type);
    dict = dict_open3(type, path, open_flags, dict_flags);
    if (dict_is_surrogate(dict))
	msg_fatal("%s", dict->reason);
    return (dict);
}

void    mkmap_build(const char *type, const char *path, int syntax, int dict_flags,
		            int options)
{
    FILE   *fp;
    struct stat st;
    DICT   *dict;
    uid_t   saved_euid = geteuid();
    gid_t   saved_egid = getegid();
    int     dropped = 0;

    /* The source first, then the type: the order of Postfix's messages. */
    if ((fp = fopen(path, "r")) == 0)
	msg_fatal("open %s: %s", path, strerror(errno));
    if (!dict_type_known(type))
	msg_fatal("unsupported dictionary type: %s. Is the postfix-%s package installed?",
		  type, type);
    if (!mkmap_can_build(type))
	msg_fatal("unsupported dictionary type: %s does not support bulk-mode creation.",
		  type);
    if (fstat(fileno(fp), &st) < 0)
	msg_fatal("fstat %s: %s", path, strerror(errno));
    /* As root, build as the owner of the source file (unless -o). */
    if (saved_euid == 0 && st.st_uid != 0 && !(options & MKMAP_OPT_KEEP_ROOT)) {
	if (setegid(st.st_gid) < 0 || seteuid(st.st_uid) < 0)
	    msg_fatal("set privileges to uid %ld: %s", (long) st.st_uid, strerror(errno));
	dropped = 1;
    }
    dict_build_set_mode((options & MKMAP_OPT_NO_PERM_INHERIT) ? 0644 : (st.st_mode & 0777));
    dict = mkmap_open(type, path, O_RDWR | O_CREAT | O_TRUNC,
		      dict_flags | DICT_FLAG_BULK_UPDATE);
    mkmap_load(dict, fp, path, syntax);
    if ((syntax & ~MKMAP_RHS_FILE) == MKMAP_ALIAS)
	mkmap_alias_trailer(dict);
    dict_close(dict);			/* mkmap_load() closed fp */
    if (dropped && (seteuid(saved_euid) < 0 || setegid(saved_egid) < 0))
	msg_fatal("restore privileges: %s", strerror(errno));
}

void    mkmap_update_stdin(const char *type, const char *path, int syntax, int dict_flags)
{
    DICT   *dict;

    if (!dict_type_known(type))
	msg_fatal("unsupported dictionary type: %s", type);
    if (strcmp(type, "cdb") == 0)
	msg_fatal("unsupported dictionary type: %s does not support incremental updates.",
		  type);
    dict = mkmap_open(type, path, O_RDWR | O_CREAT, dict_flags | DICT_FLAG_BULK_UPDATE);
    mkmap_load(dict, stdin, "stdin", syntax);
    dict_close(dict);
}

int     alias_rebuild_all(void)
{
    const char *list = mail_conf_str("alias_database");
    char   *copy = xstrdup(list ? list : "");
    char   *bp = copy;
    char   *spec;
    int     count = 0;

    while ((spec = mystrtok_cw(&bp, CHARS_COMMA_SP, 0)) != 0) {
	char   *type;
	char   *name;

	if (dict_split_spec(spec, &type, &name) < 0)
	    msg_fatal(DICT_SPEC_ERROR_FMT, spec);
	mkmap_build(type, name, MKMAP_ALIAS,
		    DICT_FLAG_DUP_WARN | DICT_FLAG_FOLD_FIX | DICT_FLAG_LOCK, 0);
	free(type);
	free(name);
	count++;
    }
    free(copy);
    return (count);
}
