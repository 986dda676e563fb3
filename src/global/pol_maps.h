/*
 * pol_maps - a list of lookup tables, searched in order (Postfix's
 * "maps"), as used by the policy code: access tables, relay_domains-style
 * lists, canonical/virtual maps, header/body checks.
 *
 * pol_maps_create("check_sender_access", "hash:/etc/postfix/a, pcre:/x", 0)
 * never fails: a table that cannot be opened makes every lookup return NULL
 * with pol_maps_error() == POL_MAPS_ERR_RETRY (the caller defers), after a
 * warning naming the table.
 *
 * pol_maps_find(maps, key, flags) returns the first table's value (valid
 * until the next lookup in the same maps) or NULL. With POL_MAPS_FIXED_ONLY,
 * pattern tables (regexp, pcre) are skipped: that is how partial keys
 * (parent domains, "user@") are looked up. Fixed-string tables get the key
 * folded to lower case, as Postfix does.
 *
 * Backend: the maps/dict_* library (maps.h), so every table type postmap
 * knows works here with the same semantics (postmap -q agrees).
 */
#ifndef POSTERN_POL_MAPS_H
#define POSTERN_POL_MAPS_H

#define POL_MAPS_ERR_NONE	0
#define POL_MAPS_ERR_RETRY	(-1)
#define POL_MAPS_ERR_CONFIG	(-2)

#define POL_MAPS_FIXED_ONLY	(1<<0)	/* skip pattern tables */

typedef struct POL_MAPS POL_MAPS;

extern POL_MAPS *pol_maps_create(const char *title, const char *list, int flags);
extern const char *pol_maps_find(POL_MAPS *, const char *key, int flags);
extern int pol_maps_error(const POL_MAPS *);
/* "type:name" of the table that failed the last pol_maps_find. */
extern const char *pol_maps_error_spec(const POL_MAPS *);
extern const char *pol_maps_title(const POL_MAPS *);
extern int pol_maps_empty(const POL_MAPS *);
extern void pol_maps_free(POL_MAPS *);

/* Cache of maps by "title\0list", for daemons that evaluate a spec repeatedly. */
extern POL_MAPS *pol_maps_cached(const char *title, const char *list);
extern void pol_maps_cache_flush(void);

#endif
