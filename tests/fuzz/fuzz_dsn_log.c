/*
 * fuzz_dsn_log - libFuzzer target: the per-message delivery status logs
 * (defer/ID, bounce/ID, trace/ID) as qmgr's notice generation and showq
 * read them with dsn_log_read(). The input is the log file's content.
 */
#include "dsn_log.h"
#include "fuzz_common.h"

#define FZ_ID	"4B7C21A3F0"

int     LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    DSN_ENTRY *ent = 0;
    long    n;

    if (!init) {
	fuzz_instance("qmgr", "");
	init = 1;
    }
    fuzz_enter();
    fuzz_write_file("queue/bounce/" FZ_ID, data, size);
    n = dsn_log_read("bounce", FZ_ID, &ent);
    for (long i = 0; i < n; i++)
	if (ent[i].recipient == 0 || ent[i].status == 0 || ent[i].reason == 0)
	    abort();			/* readers use these unchecked */
    if (n > 0)
	dsn_log_free(ent, n);
    fuzz_leave();
    return (0);
}
