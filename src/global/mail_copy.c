/* mail_copy - delivered-message formatting; see mail_copy.h. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "mail_copy.h"
#include "stringops.h"

/* Characters that need quoting in a local-part (RFC 5322 specials + space). */
static int needs_quote(const char *s, size_t len)
{
    size_t  i;

    if (len == 0)
	return 0;
    if (s[0] == '.' || s[len - 1] == '.')
	return 1;
    for (i = 0; i < len; i++) {
	unsigned char c = (unsigned char) s[i];

	if (c <= ' ' || c >= 0x7f || strchr("()<>@,;:\\\".[]", c) != 0) {
	    if (c == '.' && i + 1 < len && s[i + 1] != '.')
		continue;
	    if (c >= 0x80)
		continue;			/* SMTPUTF8: leave as is */
	    return 1;
	}
    }
    return 0;
}

void    quote_822_local(VSTR *out, const char *addr)
{
    const char *at = strrchr(addr, '@');
    size_t  llen = at ? (size_t) (at - addr) : strlen(addr);
    size_t  i;

    vstr_reset(out);
    if (!needs_quote(addr, llen)) {
	vstr_cpy(out, addr);
	return;
    }
    vstr_addch(out, '"');
    for (i = 0; i < llen; i++) {
	if (addr[i] == '"' || addr[i] == '\\')
	    vstr_addch(out, '\\');
	vstr_addch(out, addr[i]);
    }
    vstr_addch(out, '"');
    if (at)
	vstr_cat(out, at);
}

void    mail_copy_format(VSTR *out, const MAIL_COPY_INFO *info, int flags)
{
    VSTR   *buf = vstr_alloc(100);
    const char *cp;
    const char *end;

    vstr_reset(out);
    if (flags & MAIL_COPY_FROM) {
	char    tbuf[64];
	struct tm tm;
	time_t  now = info->now ? info->now : time((time_t *) 0);

	quote_822_local(buf, info->sender);
	localtime_r(&now, &tm);
	strftime(tbuf, sizeof(tbuf), "%a %b %e %H:%M:%S %Y", &tm);
	vstr_fmt_append(out, "From %s  %s\n",
			*info->sender ? vstr_str(buf) : "MAILER-DAEMON", tbuf);
    }
    if (flags & MAIL_COPY_RETURN_PATH) {
	quote_822_local(buf, info->sender);
	vstr_fmt_append(out, "Return-Path: <%s>\n", vstr_str(buf));
    }
    if ((flags & MAIL_COPY_ORIG_RCPT) && info->orig_rcpt && *info->orig_rcpt) {
	quote_822_local(buf, info->orig_rcpt);
	vstr_fmt_append(out, "X-Original-To: %s\n", vstr_str(buf));
    }
    if ((flags & MAIL_COPY_DELIVERED) && info->delivered && *info->delivered) {
	quote_822_local(buf, info->delivered);
	vstr_lower(buf);
	vstr_fmt_append(out, "Delivered-To: %s\n", vstr_str(buf));
    }
    vstr_free(buf);

    /* The message, with >From quoting at line starts. */
    cp = info->text;
    end = info->text + info->text_len;
    if (flags & MAIL_COPY_QUOTE) {
	while (cp < end) {
	    const char *nl = memchr(cp, '\n', (size_t) (end - cp));
	    size_t  n = nl ? (size_t) (nl - cp) + 1 : (size_t) (end - cp);

	    if (n >= 5 && memcmp(cp, "From ", 5) == 0)
		vstr_addch(out, '>');
	    vstr_append(out, cp, n);
	    cp += n;
	}
    } else {
	vstr_append(out, cp, info->text_len);
    }
    if (info->text_len > 0 && info->text[info->text_len - 1] != '\n')
	vstr_addch(out, '\n');
    if (flags & MAIL_COPY_BLANK)
	vstr_addch(out, '\n');
}

int     mail_copy_write(int fd, const char *buf, size_t len)
{
    while (len > 0) {
	ssize_t n = write(fd, buf, len);

	if (n < 0) {
	    if (errno == EINTR)
		continue;
	    return -1;
	}
	if (n == 0) {
	    errno = EIO;
	    return -1;
	}
	buf += n;
	len -= (size_t) n;
    }
    return 0;
}
