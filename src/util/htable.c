/* htable - string-keyed hash table; see htable.h. */
#include <stdlib.h>
#include <string.h>

#include "htable.h"
#include "mem.h"

size_t  htable_hash(const char *s)
{
    size_t  h = 1469598103934665603ULL;	/* FNV-1a */

    while (*s) {
	h ^= (unsigned char) *s++;
	h *= 1099511628211ULL;
    }
    return (h);
}

HTABLE *htable_create(size_t size)
{
    HTABLE *ht = xmalloc(sizeof(*ht));
    size_t  n = 16;

    while (n < size)
	n <<= 1;
    ht->buckets = xcalloc(n, sizeof(HTABLE_ENT *));
    ht->size = n;
    ht->used = 0;
    return (ht);
}

static void htable_grow(HTABLE *ht)
{
    size_t  nsize = ht->size * 2;
    HTABLE_ENT **nb = xcalloc(nsize, sizeof(HTABLE_ENT *));

    for (size_t i = 0; i < ht->size; i++) {
	HTABLE_ENT *e = ht->buckets[i];

	while (e) {
	    HTABLE_ENT *next = e->next;
	    size_t  b = htable_hash(e->key) & (nsize - 1);

	    e->next = nb[b];
	    nb[b] = e;
	    e = next;
	}
    }
    free(ht->buckets);
    ht->buckets = nb;
    ht->size = nsize;
}

HTABLE_ENT *htable_locate(HTABLE *ht, const char *key)
{
    HTABLE_ENT *e;

    for (e = ht->buckets[htable_hash(key) & (ht->size - 1)]; e; e = e->next)
	if (strcmp(e->key, key) == 0)
	    return (e);
    return (0);
}

void   *htable_find(HTABLE *ht, const char *key)
{
    HTABLE_ENT *e = htable_locate(ht, key);

    return (e ? e->value : 0);
}

HTABLE_ENT *htable_enter(HTABLE *ht, const char *key, void *value)
{
    HTABLE_ENT *e = htable_locate(ht, key);
    size_t  b;

    if (e) {
	e->value = value;
	return (e);
    }
    if (ht->used >= ht->size)
	htable_grow(ht);
    b = htable_hash(key) & (ht->size - 1);
    e = xmalloc(sizeof(*e));
    e->key = xstrdup(key);
    e->value = value;
    e->next = ht->buckets[b];
    ht->buckets[b] = e;
    ht->used++;
    return (e);
}

void    htable_delete(HTABLE *ht, const char *key, void (*free_fn) (void *))
{
    HTABLE_ENT **pp = &ht->buckets[htable_hash(key) & (ht->size - 1)];

    for (; *pp; pp = &(*pp)->next) {
	if (strcmp((*pp)->key, key) == 0) {
	    HTABLE_ENT *e = *pp;

	    *pp = e->next;
	    if (free_fn)
		free_fn(e->value);
	    free(e->key);
	    free(e);
	    ht->used--;
	    return;
	}
    }
}

void    htable_free(HTABLE *ht, void (*free_fn) (void *))
{
    if (ht == 0)
	return;
    for (size_t i = 0; i < ht->size; i++) {
	HTABLE_ENT *e = ht->buckets[i];

	while (e) {
	    HTABLE_ENT *next = e->next;

	    if (free_fn)
		free_fn(e->value);
	    free(e->key);
	    free(e);
	    e = next;
	}
    }
    free(ht->buckets);
    free(ht);
}

static int ent_cmp(const void *a, const void *b)
{
    return (strcmp((*(HTABLE_ENT * const *) a)->key, (*(HTABLE_ENT * const *) b)->key));
}

HTABLE_ENT **htable_list(HTABLE *ht, int sorted)
{
    HTABLE_ENT **list = xmalloc((ht->used + 1) * sizeof(*list));
    size_t  n = 0;

    for (size_t i = 0; i < ht->size; i++)
	for (HTABLE_ENT *e = ht->buckets[i]; e; e = e->next)
	    list[n++] = e;
    list[n] = 0;
    if (sorted)
	qsort(list, n, sizeof(*list), ent_cmp);
    return (list);
}
