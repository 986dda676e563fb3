/* master_args - a service's "-c" flag vs. "-c DIR"; see master_args.h. */
#include <string.h>
#include <sys/stat.h>

#include "mail_conf.h"
#include "master_args.h"

int     master_args_config(int argc, char **argv)
{
    struct stat st;
    int     i, j;

    for (i = j = 0; i < argc; i++) {
	if (i > 0 && strcmp(argv[i], "-c") == 0 && i + 1 < argc
	    && argv[i + 1][0] != '-' && stat(argv[i + 1], &st) == 0 && S_ISDIR(st.st_mode)) {
	    mail_conf_set_dir(argv[i + 1]);
	    i++;
	    continue;
	}
	if (strcmp(argv[i], "--") == 0) {
	    while (i < argc)
		argv[j++] = argv[i++];
	    break;
	}
	argv[j++] = argv[i];
    }
    argv[j] = 0;
    return (j);
}
