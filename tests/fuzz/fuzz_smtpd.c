/*
 * fuzz_smtpd - libFuzzer target: one whole SMTP session from the client's
 * side. The input is what a client sends (commands, DATA content, BDAT
 * chunks); it is cut into lines exactly as smtpd.c's reader does and fed
 * to smtpd_command(), smtpd_data_line() and smtpd_bdat_bytes()
 * (smtpd_proto.c, smtpd_check.c with the policy engine, the cleanup
 * library with header_checks/body_checks, address rewriting, virtual
 * aliases and MIME processing). See smtpd_harness.h.
 *
 * FUZZ_OBJS: src/smtpd/smtpd_proto.o src/smtpd/smtpd_check.o src/smtpd/smtpd_anvil.o src/smtpd/smtpd_etrn.o src/smtpd/smtpd_io.o
 */
#include "smtpd_harness.h"

int     LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;

    if (!init) {
	fz_init(0);
	msg_verbose = getenv("FUZZ_VERBOSE") != 0;
	init = 1;
    }
    fz_session(data, size);
    return (0);
}
