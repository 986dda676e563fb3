/*
 * pc_dict - the lookup table types postconf -m lists.
 *
 * The authority is the table library's dict_type_names() (src/global/dict.c,
 * built on branch h3-tables). Until that module is on main, this list
 * names the types that library implements, in postconf -m's sorted order.
 */
#include <stddef.h>

extern const char *const *pc_dict_types(void);

const char *const *pc_dict_types(void)
{
    static const char *const types[] = {
	"btree", "cdb", "cidr", "environ", "fail", "hash", "inline", "internal",
	"lmdb", "pcre", "pipemap", "proxy", "randmap", "regexp", "socketmap",
	"static", "tcp", "texthash", "unionmap", "unix", 0,
    };

    return (types);
}
