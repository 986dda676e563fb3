/*
 * fuzz_local - libFuzzer target: the local delivery agent's expansion of
 * aliases, .forward and :include: files (local_deliver.c: comment and
 * blank line removal, the token parser for "quoted", |command, /file,
 * :include:, \user and address entries, loop detection, owner- aliases).
 * The input is the content of an :include: file that an alias names;
 * local_verify() expands it as "sendmail -bv" does: every outcome is
 * reported, nothing is delivered and no command runs.
 */
#include "fuzz_common.h"
#include "local_deliver.h"

static int fz_status(void *ctx, int stat, const LOCAL_RCPT *leaf, const char *dsn,
		             const char *text)
{
    (void) ctx;
    if (leaf == 0 || dsn == 0 || text == 0 || stat < 0 || stat > LOCAL_STAT_BOUNCE)
	abort();
    if (msg_verbose)
	msg_info("%s: stat=%d dsn=%s (%s)", leaf->address, stat, dsn, text);
    return (0);
}

static int fz_pass(void *ctx, const char *transport, const LOCAL_RCPT *leaf, VSTR *why)
{
    (void) ctx;
    (void) transport;
    (void) leaf;
    (void) why;
    return (0);
}

int     LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    static const LOCAL_REPORT rep = {fz_status, fz_pass, 0};
    static char inc[300];

    if (!init) {
	char    extra[1024], aliases[1024];

	fuzz_instance("local", "");
	snprintf(inc, sizeof(inc), "%s/inc", fuzz_dir);
	snprintf(aliases, sizeof(aliases),
		 "fz :include:%s\nowner-fz fzowner\nfzowner /dev/null\n"
		 "list a@postern.test, :include:%s, \"|cat\"\n"
		 "loop loop2\nloop2 loop\n", inc, inc);
	fuzz_write_file("aliases", (const uint8_t *) aliases, strlen(aliases));
	/* texthash: is postmap's "key value" format. */
	snprintf(extra, sizeof(extra), "alias_maps = texthash:%s/aliases\n"
		 "mydestination = localhost, postern.test\n", fuzz_dir);
	{
	    char    path[512];
	    FILE   *fp;

	    snprintf(path, sizeof(path), "%s/main.cf", fuzz_dir);
	    if ((fp = fopen(path, "a")) == 0)
		abort();
	    fputs(extra, fp);
	    fclose(fp);
	    mail_conf_read();
	}
	local_deliver_init();
	msg_verbose = getenv("FUZZ_VERBOSE") != 0;
	init = 1;
    }
    if (size > 65536)
	return (0);
    fuzz_write_file("inc", data, size);
    fuzz_enter();
    (void) local_verify("fz", &rep);
    (void) local_verify("list@postern.test", &rep);
    fuzz_leave();
    return (0);
}
