/*
 * pc_dict - the lookup table types postconf -m lists: those of the table
 * library (dict_type_names() in src/global/dict.c), one per line.
 */
#include <stddef.h>

#include "dict.h"

extern const char *const *pc_dict_types(void);

const char *const *pc_dict_types(void)
{
    return (dict_type_names());
}
