/*
 * fuzz_addr - libFuzzer target: address parsing from message headers and
 * SMTP arguments. The input is one header value / address:
 *   - cleanup_addr_list() (To:/Cc:/From: lists: groups, comments, quoted
 *     strings, route addresses) with and without rewriting;
 *   - cleanup_complete_addr() (myorigin / mydomain completion);
 *   - smtpd_policy_addr_internal() (SMTP address -> internal form),
 *     resolve_policy_addr() (source routes, percent hack, bang paths)
 *     and resolve_class() of the domain part.
 */
#include "argv.h"
#include "cleanup.h"
#include "fuzz_common.h"
#include "resolve_class.h"
#include "smtpd_policy.h"
#include "vstr.h"

int     LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    char   *in;
    ARGV   *addrs;
    VSTR   *out, *res;
    char   *internal;
    const char *at;

    if (!init) {
	fuzz_instance("cleanup", "relay_domains = relay.test\n"
		      "virtual_alias_domains = virt.test\n"
		      "allow_percent_hack = yes\nswap_bangpath = yes\n");
	init = 1;
    }
    if (size > 8192)
	return (0);
    in = malloc(size + 1);
    memcpy(in, data, size);
    in[size] = 0;
    addrs = argv_alloc(4);
    out = vstr_alloc(64);
    res = vstr_alloc(64);
    for (int rewrite = 0; rewrite <= 1; rewrite++) {
	argv_truncate(addrs, 0);
	cleanup_addr_list(in, addrs, out, rewrite);
	if (rewrite == 0 && strcmp(vstr_str(out), in) != 0)
	    abort();			/* no rewriting: the value is kept as is */
	for (size_t i = 0; i < addrs->argc; i++) {
	    vstr_cpy(res, addrs->argv[i]);
	    cleanup_complete_addr(res);
	}
    }
    internal = smtpd_policy_addr_internal(in);
    (void) resolve_policy_addr(internal, res);
    if ((at = strrchr(internal, '@')) != 0)
	(void) resolve_class(at + 1);
    (void) resolve_class(in);
    free(internal);
    argv_free(addrs);
    vstr_free(out);
    vstr_free(res);
    free(in);
    return (0);
}
