/*
 * fuzz_qfile - libFuzzer target: queue files as qmgr, showq, postsuper
 * and postcat read them. The input is a queue file (records, see
 * docs/queue-format.md); it goes through rec_get_mem() record by record,
 * qfile_read() (a stdio stream on the bytes), and, placed in the deferred
 * queue, through showq_list() in both output formats (mailq's text and
 * postqueue -j's JSON), which also reads it with its defer log; the local
 * agent's reader local_msg_load() and the delivery agents' content reader
 * deliver_read_line() (from qfile_read()'s data_offset) read it too. A
 * corrupt file must be reported, never crash or hang the reader.
 */
#include "deliver_request.h"
#include "fuzz_common.h"
#include "local_deliver.h"
#include "qfile.h"
#include "record.h"
#include "showq.h"
#include "vstr.h"

#define FZ_ID	"4B7C21A3F0"

int     LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    static FILE *devnull;
    VSTR   *buf = vstr_alloc(64);
    size_t  pos = 0;
    int     type;
    FILE   *fp;

    if (!init) {
	fuzz_instance("showq", "");
	devnull = fopen("/dev/null", "w");
	init = 1;
    }
    /* Records from memory. */
    while ((type = rec_get_mem((const char *) data, size, &pos, buf, 4096)) >= 0)
	 /* void */ ;
    /* The envelope reader. */
    if ((fp = fmemopen((void *) data, size ? size : 1, "r")) != 0) {
	QFILE_INFO info;
	VSTR   *why = vstr_alloc(64);

	if (size == 0)
	    (void) fgetc(fp);		/* fmemopen wants size > 0: start at EOF */
	memset(&info, 0, sizeof(info));
	if (qfile_read(fp, &info, why) == 0) {
	    DELIVER_REQUEST req;
	    VSTR   *line = vstr_alloc(64);
	    int     n = 0;

	    (void) qfile_attr(&info, "log_client_name");
	    memset(&req, 0, sizeof(req));
	    req.fp = fp;
	    req.data_offset = info.data_offset;
	    while (deliver_read_line(&req, line, 4096) > 0 && ++n < 100000)
		 /* void */ ;
	    if (n >= 100000)
		abort();		/* the reader does not advance */
	    vstr_free(line);
	}
	qfile_info_free(&info);
	vstr_free(why);
	fclose(fp);
    }
    /* The local delivery agent's reader. */
    {
	LOCAL_MSG msg;
	VSTR   *why = vstr_alloc(64);
	const char *path = fuzz_write_file("queue/active/" FZ_ID, data, size);

	memset(&msg, 0, sizeof(msg));
	(void) local_msg_load(&msg, path, why);
	local_msg_free(&msg);
	vstr_free(why);
    }
    /* showq over the deferred queue, with the same bytes as defer log. */
    fuzz_enter();
    fuzz_write_file("queue/deferred/" FZ_ID, data, size);
    fuzz_write_file("queue/defer/" FZ_ID, data, size);
    (void) showq_list(devnull, 0);
    (void) showq_list(devnull, 1);
    fuzz_leave();
    vstr_free(buf);
    return (0);
}
