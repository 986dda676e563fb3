/* maps - ordered lists of tables; see maps.h. */
#include <stdlib.h>
#include <string.h>

#include "dict.h"
#include "maps.h"
#include "mem.h"
#include "msg.h"
#include "stringops.h"

MAPS   *maps_create(const char *title, const char *map_names, int dict_flags)
{
    MAPS   *maps = xcalloc(1, sizeof(*maps));
    char   *copy = xstrdup(map_names ? map_names : "");
    char   *bp = copy;
    char   *spec;
    size_t  cap = 0;

    maps->title = xstrdup(title);
    while ((spec = mystrtok_cw(&bp, CHARS_COMMA_SP, 0)) != 0) {
	DICT   *d;

	if (strchr(spec, ':') == 0) {
	    d = dict_surrogate("unknown", spec, O_RDONLY, dict_flags,
			       "%s: need \"type:name\" instead of \"%s\"", title, spec);
	} else {
	    d = dict_open(spec, O_RDONLY, dict_flags);
	    if (dict_is_surrogate(d))
		msg_error("%s", d->reason);
	}
	if (maps->count == cap) {
	    cap = cap ? 2 * cap : 4;
	    maps->dicts = xrealloc(maps->dicts, cap * sizeof(DICT *));
	}
	maps->dicts[maps->count++] = d;
    }
    free(copy);
    return (maps);
}

const char *maps_find(MAPS *maps, const char *key, int flags)
{
    const char *v;

    maps->error = DICT_ERR_NONE;
    maps->error_dict = 0;
    if (key == 0 || *key == 0)
	return (0);
    for (size_t i = 0; i < maps->count; i++) {
	DICT   *d = maps->dicts[i];

	if (flags != 0 && (d->flags & flags) == 0)
	    continue;
	if ((v = dict_lookup(d, key)) != 0) {
	    if (msg_verbose)
		msg_info("maps_find: %s: %s:%s: %s = %s", maps->title, d->type, d->name, key, v);
	    return (v);
	}
	if (d->error != DICT_ERR_NONE) {
	    maps->error = d->error;
	    maps->error_dict = d;
	    return (0);
	}
    }
    return (0);
}

const char *maps_open_error(MAPS *maps)
{
    for (size_t i = 0; i < maps->count; i++)
	if (dict_is_surrogate(maps->dicts[i]))
	    return (maps->dicts[i]->reason);
    return (0);
}

void    maps_free(MAPS *maps)
{
    for (size_t i = 0; i < maps->count; i++)
	dict_close(maps->dicts[i]);
    free(maps->dicts);
    free(maps->title);
    free(maps);
}
