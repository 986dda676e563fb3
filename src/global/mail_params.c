/* mail_params - the parameter table; see mail_params.h. */
#include <stddef.h>
#include <string.h>

#include "htable.h"
#include "mail_params.h"

#define BOOL	PT_BOOL
#define INT	PT_INT
#define STR	PT_STR
#define TIME	PT_TIME
#define PARAM(name, type, def, unit, min, max, flags) \
	{ #name, type, def, unit, min, max, flags },

const PARAM_DEF mail_param_table[] = {
#include "mail_params.def"
};

const int mail_param_count = sizeof(mail_param_table) / sizeof(mail_param_table[0]);

const PARAM_DEF *mail_param_find(const char *name)
{
    static HTABLE *index;

    if (index == 0) {
	index = htable_create(2 * (size_t) mail_param_count);
	for (int i = 0; i < mail_param_count; i++)
	    htable_enter(index, mail_param_table[i].name, (void *) &mail_param_table[i]);
    }
    return ((const PARAM_DEF *) htable_find(index, name));
}
