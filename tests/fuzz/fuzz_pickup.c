/*
 * fuzz_pickup - libFuzzer target: pickup's maildrop file reader
 * (src/pickup/pickup_file.c). The maildrop directory is writable by
 * every local user (through postdrop), so its files are untrusted. The
 * input is a maildrop file (records, docs/queue-format.md); it is put in
 * maildrop/ with mode 0700 and processed: a good file becomes an incoming
 * queue file through the cleanup library (sendmail -t recipient
 * extraction, header rewriting for local submissions), a bad one goes to
 * corrupt/.
 *
 * FUZZ_OBJS: src/pickup/pickup_file.o
 */
#include <sys/stat.h>

#include "cleanup_policy.h"
#include "fuzz_common.h"
#include "pickup/pickup.h"

#define FZ_ID	"4B7C21A3F0"

int     LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    int     st;

    if (!init) {
	fuzz_instance("pickup", "message_size_limit = 100000\n");
	fuzz_enter();
	cleanup_policy_init();
	fuzz_leave();
	msg_verbose = getenv("FUZZ_VERBOSE") != 0;
	init = 1;
    }
    fuzz_enter();
    fuzz_write_file("queue/maildrop/" FZ_ID, data, size);
    if (chmod("maildrop/" FZ_ID, 0700) < 0)
	abort();
    st = pickup_file(FZ_ID);
    if (st != PICKUP_OK && st != PICKUP_BAD)
	abort();			/* only for a missing or unfinished file */
    if (access("maildrop/" FZ_ID, F_OK) == 0)
	abort();			/* neither removed nor moved to corrupt */
    fuzz_empty_dir("queue/incoming");
    fuzz_empty_dir("queue/corrupt");
    fuzz_leave();
    return (0);
}
