/* record - typed records; see record.h. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "record.h"
#include "vstr.h"

/* rec_header - type byte and varint length; returns the header size. */
static size_t rec_header(unsigned char *hdr, int type, size_t len)
{
    size_t  n = 0;

    hdr[n++] = (unsigned char) type;
    do {
	unsigned char b = len & 0x7f;

	len >>= 7;
	if (len)
	    b |= 0x80;
	hdr[n++] = b;
    } while (len);
    return (n);
}

void    rec_encode(VSTR *out, int type, const void *data, size_t len)
{
    unsigned char hdr[16];

    (void) vstr_append(out, hdr, rec_header(hdr, type, len));
    (void) vstr_append(out, data, len);
}

int     rec_put(FILE *fp, int type, const void *data, size_t len)
{
    unsigned char hdr[16];
    size_t  n = rec_header(hdr, type, len);

    if (fwrite(hdr, 1, n, fp) != n || (len && fwrite(data, 1, len, fp) != len))
	return (REC_ERROR);
    return (type);
}

int     rec_fputs(FILE *fp, int type, const char *str)
{
    return (rec_put(fp, type, str, strlen(str)));
}

int     rec_fprintf(FILE *fp, int type, const char *fmt,...)
{
    VSTR   *buf = vstr_alloc(128);
    va_list ap;
    int     ret;

    va_start(ap, fmt);
    (void) vstr_vfmt_append(buf, fmt, ap);
    va_end(ap);
    ret = rec_put(fp, type, vstr_str(buf), vstr_len(buf));
    vstr_free(buf);
    return (ret);
}

int     rec_get(FILE *fp, VSTR *buf, size_t limit)
{
    int     type;
    int     ch;
    size_t  len = 0;
    int     shift = 0;
    char    chunk[4096];

    vstr_reset(buf);
    if ((type = getc(fp)) == EOF)
	return (ferror(fp) ? REC_ERROR : REC_EOF);
    for (;;) {
	if ((ch = getc(fp)) == EOF || shift > 56)
	    return (REC_ERROR);
	len |= (size_t) (ch & 0x7f) << shift;
	if ((ch & 0x80) == 0)
	    break;
	shift += 7;
    }
    if (len > limit)
	return (REC_ERROR);
    while (len > 0) {
	size_t  want = len < sizeof(chunk) ? len : sizeof(chunk);

	if (fread(chunk, 1, want, fp) != want)
	    return (REC_ERROR);
	if (vstr_append(buf, chunk, want) < 0)
	    return (REC_ERROR);
	len -= want;
    }
    return (type);
}

int     rec_get_mem(const char *data, size_t dlen, size_t *pos, VSTR *buf, size_t limit)
{
    size_t  p = *pos;
    size_t  len = 0;
    int     shift = 0;
    int     type;

    vstr_reset(buf);
    if (p >= dlen)
	return (REC_EOF);
    type = (unsigned char) data[p++];
    for (;;) {
	unsigned char ch;

	if (p >= dlen || shift > 56)
	    return (REC_ERROR);
	ch = (unsigned char) data[p++];
	len |= (size_t) (ch & 0x7f) << shift;
	if ((ch & 0x80) == 0)
	    break;
	shift += 7;
    }
    if (len > limit || len > dlen - p)
	return (REC_ERROR);
    if (vstr_append(buf, data + p, len) < 0)
	return (REC_ERROR);
    *pos = p + len;
    return (type);
}
