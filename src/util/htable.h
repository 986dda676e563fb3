/* htable - string-keyed hash table (keys are copied; values are opaque). */
#ifndef POSTERN_HTABLE_H
#define POSTERN_HTABLE_H
#include <stddef.h>

typedef struct HTABLE_ENT {
    char   *key;
    void   *value;
    struct HTABLE_ENT *next;
} HTABLE_ENT;

typedef struct HTABLE {
    HTABLE_ENT **buckets;
    size_t  size;			/* number of buckets, power of 2 */
    size_t  used;			/* number of entries */
} HTABLE;

extern HTABLE *htable_create(size_t);
extern HTABLE_ENT *htable_enter(HTABLE *, const char *key, void *value);	/* replaces */
extern HTABLE_ENT *htable_locate(HTABLE *, const char *key);
extern void *htable_find(HTABLE *, const char *key);
extern void htable_delete(HTABLE *, const char *key, void (*free_fn) (void *));
extern void htable_free(HTABLE *, void (*free_fn) (void *));
/* Snapshot of all entries, sorted by key if sorted != 0; caller frees array. */
extern HTABLE_ENT **htable_list(HTABLE *, int sorted);
extern size_t htable_hash(const char *);

#endif
