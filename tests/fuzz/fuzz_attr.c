/*
 * fuzz_attr - libFuzzer target: the attribute protocol between postern
 * processes (qmgr <-> delivery agents, the bounce/verify clients). The
 * input is what a peer writes on the socket. It is read twice:
 *   - line by line with attr_parse_line() (the event-driven readers), and
 *     each complete list decoded as a delivery request
 *     (deliver_request_parse(), what every delivery agent does first);
 *   - through a socket with attr_read() (the blocking readers, buffered,
 *     with the ATTR_MAX_LINE bound), until EOF or a protocol error.
 * Every decoded list is encoded again and must parse back to the same.
 */
#include <sys/socket.h>

#include "attr.h"
#include "deliver_request.h"
#include "fuzz_common.h"
#include "vstr.h"

static void fz_roundtrip(const ATTR_LIST *list)
{
    VSTR   *enc = vstr_alloc(256);
    ATTR_LIST *back = attr_list_alloc();
    const char *cp, *end;
    int     rc = 0;

    attr_encode(enc, list);
    for (cp = vstr_str(enc), end = cp + vstr_len(enc); cp < end && rc == 0;) {
	const char *nl = memchr(cp, '\n', (size_t) (end - cp));

	if (nl == 0)
	    abort();			/* encoder wrote an unterminated line */
	rc = attr_parse_line(back, cp, (size_t) (nl - cp), ATTR_MAX_COUNT);
	cp = nl + 1;
    }
    if (rc != 1 || back->count != list->count)
	abort();			/* encode/parse disagree */
    for (size_t i = 0; i < list->count; i++)
	if (strcmp(back->names[i], list->names[i]) != 0
	    || strcmp(back->values[i], list->values[i]) != 0)
	    abort();
    attr_list_free(back);
    vstr_free(enc);
}

static void fz_request(const ATTR_LIST *list)
{
    const char *why = 0;
    DELIVER_REQUEST *req = deliver_request_parse(list, &why);

    if (req)
	deliver_request_free(req);
}

int     LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    ATTR_LIST *list = attr_list_alloc();
    const char *cp = (const char *) data, *end = cp + size;
    int     sv[2];

    if (!init) {
	fuzz_instance("qmgr", "");
	init = 1;
    }
    /* Event-driven reader: lines. */
    while (cp < end) {
	const char *nl = memchr(cp, '\n', (size_t) (end - cp));
	size_t  len = nl ? (size_t) (nl - cp) : (size_t) (end - cp);
	int     rc;

	if (nl == 0)
	    break;			/* incomplete last line: not parsed */
	rc = attr_parse_line(list, cp, len, 1000);
	cp = nl + 1;
	if (rc < 0) {
	    attr_list_reset(list);
	    continue;
	}
	if (rc == 1) {
	    fz_roundtrip(list);
	    fz_request(list);
	    attr_list_reset(list);
	}
    }
    /* Blocking reader, through a socket (the input fits its buffer). */
    if (size <= 65536 && socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0) {
	int     bufsz = 262144;
	ATTR_STREAM *st;

	(void) setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof(bufsz));
	(void) setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof(bufsz));
	if (size > 0 && write(sv[0], data, size) != (ssize_t) size)
	    abort();
	close(sv[0]);
	st = attr_stream_open(sv[1], 5);
	while (attr_read(st, list, 1000) == 0)
	    fz_roundtrip(list);
	attr_stream_free(st);
	close(sv[1]);
    }
    attr_list_free(list);
    return (0);
}
