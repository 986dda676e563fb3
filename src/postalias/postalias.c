/* postalias - build, query, list and update alias tables (see map_cmd.c). */
#include "map_cmd.h"

int     main(int argc, char **argv)
{
    return (map_cmd_main(argc, argv, 1));
}
