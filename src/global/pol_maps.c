/*
 * pol_maps - lists of lookup tables for the policy code (see pol_maps.h),
 * a thin layer over maps.h that adds the error codes and a cache keyed by
 * (title, list) for restriction arguments evaluated per command.
 */
#include <stdlib.h>
#include <string.h>

#include "dict.h"
#include "htable.h"
#include "maps.h"
#include "mem.h"
#include "pol_maps.h"
#include "vstr.h"

struct POL_MAPS {
    MAPS   *maps;
    int     error;
};

POL_MAPS *pol_maps_create(const char *title, const char *list, int flags)
{
    POL_MAPS *mp = xcalloc(1, sizeof(*mp));

    mp->maps = maps_create(title, list ? list : "", DICT_FLAG_DEFAULT);
    return (mp);
}

const char *pol_maps_find(POL_MAPS *mp, const char *key, int flags)
{
    const char *v = maps_find(mp->maps, key, (flags & POL_MAPS_FIXED_ONLY) ? DICT_FLAG_FIXED : 0);

    switch (mp->maps->error) {
    case DICT_ERR_NONE:
	mp->error = POL_MAPS_ERR_NONE;
	break;
    case DICT_ERR_CONFIG:
	mp->error = POL_MAPS_ERR_CONFIG;
	break;
    default:
	mp->error = POL_MAPS_ERR_RETRY;
	break;
    }
    return (v);
}

int     pol_maps_error(const POL_MAPS *mp)
{
    return (mp->error);
}

const char *pol_maps_error_spec(const POL_MAPS *mp)
{
    return (mp->maps->error_dict ? dict_spec(mp->maps->error_dict) : mp->maps->title);
}

const char *pol_maps_title(const POL_MAPS *mp)
{
    return (mp->maps->title);
}

int     pol_maps_empty(const POL_MAPS *mp)
{
    return (mp->maps->count == 0);
}

void    pol_maps_free(POL_MAPS *mp)
{
    maps_free(mp->maps);
    free(mp);
}

static HTABLE *maps_cache;

POL_MAPS *pol_maps_cached(const char *title, const char *list)
{
    VSTR   *key = vstr_alloc(64);
    POL_MAPS *mp;

    vstr_fmt(key, "%s\n%s", title, list);
    if (maps_cache == 0)
	maps_cache = htable_create(32);
    if ((mp = htable_find(maps_cache, vstr_str(key))) == 0) {
	mp = pol_maps_create(title, list, 0);
	htable_enter(maps_cache, vstr_str(key), mp);
    }
    vstr_free(key);
    return (mp);
}

static void maps_free_void(void *p)
{
    pol_maps_free(p);
}

void    pol_maps_cache_flush(void)
{
    if (maps_cache)
	htable_free(maps_cache, maps_free_void);
    maps_cache = 0;
}
