/* maps - ordered lists of tables; see maps.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dict.h"
#include "htable.h"
#include "maps.h"
#include "mem.h"
#include "msg.h"
#include "stringops.h"
#include "vstr.h"

/*
 * Tables are per-process objects, shared as in Postfix: one "type:name"
 * (with the same flags) named in several lists is opened once, so an open
 * error is logged once. By key "flags\nspec", and by handle for release.
 */
typedef struct MAPS_SHARED {
    DICT   *dict;
    int     refs;
    char   *key;
} MAPS_SHARED;

static HTABLE *maps_by_spec;
static HTABLE *maps_by_dict;

static void maps_handle_key(char *buf, size_t len, const DICT *d)
{
    (void) snprintf(buf, len, "%p", (const void *) d);
}

static DICT *maps_dict_open(const char *spec, int dict_flags)
{
    VSTR   *key = vstr_alloc(64);
    MAPS_SHARED *sh;
    char    hkey[32];

    vstr_fmt(key, "%d\n%s", dict_flags, spec);
    if (maps_by_spec == 0) {
	maps_by_spec = htable_create(16);
	maps_by_dict = htable_create(16);
    }
    if ((sh = htable_find(maps_by_spec, vstr_str(key))) == 0) {
	sh = xcalloc(1, sizeof(*sh));
	sh->dict = dict_open(spec, O_RDONLY, dict_flags);
	if (dict_is_surrogate(sh->dict))
	    msg_error("%s", sh->dict->reason);
	sh->key = vstr_export(key);
	key = 0;
	htable_enter(maps_by_spec, sh->key, sh);
	maps_handle_key(hkey, sizeof(hkey), sh->dict);
	htable_enter(maps_by_dict, hkey, sh);
    }
    sh->refs++;
    if (key)
	vstr_free(key);
    return (sh->dict);
}

static void maps_dict_close(DICT *d)
{
    MAPS_SHARED *sh;
    char    hkey[32];

    maps_handle_key(hkey, sizeof(hkey), d);
    if (maps_by_dict == 0 || (sh = htable_find(maps_by_dict, hkey)) == 0) {
	dict_close(d);				/* a surrogate for a bad spec */
	return;
    }
    if (--sh->refs > 0)
	return;
    htable_delete(maps_by_dict, hkey, 0);
    htable_delete(maps_by_spec, sh->key, 0);
    dict_close(sh->dict);
    free(sh->key);
    free(sh);
}

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
	    d = maps_dict_open(spec, dict_flags);
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
	maps_dict_close(maps->dicts[i]);
    free(maps->dicts);
    free(maps->title);
    free(maps);
}
