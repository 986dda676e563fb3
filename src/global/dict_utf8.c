/* dict_utf8 - UTF-8 checks and case folding for tables; see dict_utf8.h. */
#include <locale.h>
#include <stdint.h>
#include <string.h>
#include <wctype.h>

#include "dict_utf8.h"
#include "mail_conf.h"
#include "vstr.h"

/* Decode one code point; returns its length, 0 when invalid. */
static size_t utf8_decode(const unsigned char *s, uint32_t *cp)
{
    if (s[0] < 0x80) {
	*cp = s[0];
	return (1);
    }
    if (s[0] >= 0xc2 && s[0] <= 0xdf && (s[1] & 0xc0) == 0x80) {
	*cp = ((uint32_t) (s[0] & 0x1f) << 6) | (s[1] & 0x3f);
	return (2);
    }
    if (s[0] >= 0xe0 && s[0] <= 0xef && (s[1] & 0xc0) == 0x80 && (s[2] & 0xc0) == 0x80) {
	*cp = ((uint32_t) (s[0] & 0x0f) << 12) | ((uint32_t) (s[1] & 0x3f) << 6) | (s[2] & 0x3f);
	if (*cp < 0x800 || (*cp >= 0xd800 && *cp <= 0xdfff))
	    return (0);
	return (3);
    }
    if (s[0] >= 0xf0 && s[0] <= 0xf4 && (s[1] & 0xc0) == 0x80 && (s[2] & 0xc0) == 0x80
	&& (s[3] & 0xc0) == 0x80) {
	*cp = ((uint32_t) (s[0] & 0x07) << 18) | ((uint32_t) (s[1] & 0x3f) << 12)
	    | ((uint32_t) (s[2] & 0x3f) << 6) | (s[3] & 0x3f);
	if (*cp < 0x10000 || *cp > 0x10ffff)
	    return (0);
	return (4);
    }
    return (0);
}

static size_t utf8_encode(uint32_t cp, char *out)
{
    if (cp < 0x80) {
	out[0] = (char) cp;
	return (1);
    }
    if (cp < 0x800) {
	out[0] = (char) (0xc0 | (cp >> 6));
	out[1] = (char) (0x80 | (cp & 0x3f));
	return (2);
    }
    if (cp < 0x10000) {
	out[0] = (char) (0xe0 | (cp >> 12));
	out[1] = (char) (0x80 | ((cp >> 6) & 0x3f));
	out[2] = (char) (0x80 | (cp & 0x3f));
	return (3);
    }
    out[0] = (char) (0xf0 | (cp >> 18));
    out[1] = (char) (0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char) (0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char) (0x80 | (cp & 0x3f));
    return (4);
}

int     dict_utf8_valid(const char *str)
{
    const unsigned char *s = (const unsigned char *) str;
    uint32_t cp;
    size_t  n;

    while (*s) {
	if (*s < 0x80) {
	    s++;
	    continue;
	}
	if ((n = utf8_decode(s, &cp)) == 0)
	    return (0);
	s += n;
    }
    return (1);
}

void    dict_utf8_fold(VSTR *buf, int utf8)
{
    static locale_t loc;
    const unsigned char *s;
    VSTR   *out;
    uint32_t cp;
    size_t  n;
    char    enc[4];

    if (!utf8) {
	vstr_lower(buf);
	return;
    }
    /* All ASCII (the usual case): nothing else to do. */
    for (s = (const unsigned char *) vstr_str(buf); *s && *s < 0x80; s++)
	 /* void */ ;
    if (*s == 0) {
	vstr_lower(buf);
	return;
    }
    if (loc == 0 && (loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t) 0)) == 0) {
	vstr_lower(buf);
	return;
    }
    out = vstr_alloc(vstr_len(buf) + 1);
    for (s = (const unsigned char *) vstr_str(buf); *s; s += n) {
	if ((n = utf8_decode(s, &cp)) == 0) {	/* invalid: copy the byte */
	    (void) vstr_addch(out, *s);
	    n = 1;
	    continue;
	}
	cp = (uint32_t) towlower_l((wint_t) cp, loc);
	(void) vstr_append(out, enc, utf8_encode(cp, enc));
    }
    (void) vstr_cpy(buf, vstr_str(out));
    vstr_free(out);
}

int     dict_utf8_conf_enabled(void)
{
    static int enabled = -1;

    if (enabled < 0)
	enabled = mail_conf_bool("smtputf8_enable");
    return (enabled);
}
