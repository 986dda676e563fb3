/*
 * libFuzzer target: the master.cf parser (both error styles) and the inet
 * service name splitter. Build and run: see tests/fuzz/README.md.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "master_conf.h"
#include "msg.h"

int     LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int     LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;

    if (!init) {
	msg_init("fuzz_master_conf", 0);
	msg_stderr_enable(0);
	init = 1;
    }
    for (int style = 0; style < 2; style++) {
	MASTER_CONF *mc = master_conf_parse("fuzz/master.cf", (const char *) data, size,
					    MASTER_CONF_FLAG_NOFATAL
				      | (style ? MASTER_CONF_STYLE_POSTCONF : 0));

	if (mc == 0)
	    continue;
	for (size_t i = 0; i < mc->count; i++) {
	    MASTER_ENT *ent = mc->ent[i];
	    char   *text = master_ent_command_text(ent);
	    char   *host, *port;
	    const char *why;

	    free(text);
	    if (master_inet_split(ent->name, &host, &port, &why) == 0) {
		free(host);
		free(port);
	    }
	    (void) master_conf_find(mc, ent->name, ent->type_name);
	}
	master_conf_free(mc);
    }
    return (0);
}
