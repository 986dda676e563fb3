/*
 * master_args - the command line master(8) gives a service, as Postfix 3.7:
 *
 *	COMMAND [-l|-z] [-n NAME] -t TYPE [-v] [-u] [-c] [master.cf arguments]
 *
 * -l: process limit 1, -z: no limit, -n only when the service name is not
 * the program name, -u unprivileged, -c chroot (accepted and ignored: postern
 * does not chroot). The configuration directory comes from $MAIL_CONFIG.
 *
 * A daemon run by hand may also be given "-c DIR" (a directory) to name its
 * configuration directory; master_args_config() takes that pair out of argv
 * (setting the directory) before getopt() sees "-c" as the chroot flag.
 * Returns the new argc.
 */
#ifndef POSTERN_MASTER_ARGS_H
#define POSTERN_MASTER_ARGS_H

extern int master_args_config(int argc, char **argv);

#endif
