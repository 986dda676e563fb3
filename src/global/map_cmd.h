/* map_cmd - the postmap and postalias command bodies (see map_cmd.c). */
#ifndef POSTERN_MAP_CMD_H
#define POSTERN_MAP_CMD_H

/* alias: 0 for postmap, 1 for postalias. Returns the exit status. */
extern int map_cmd_main(int argc, char **argv, int alias);

#endif
