/*
 * pickup.h - one maildrop file (pickup_file.c), separate from the
 * service loop (pickup.c) so that tests/fuzz/fuzz_pickup.c can feed it.
 */
#ifndef POSTERN_PICKUP_H
#define POSTERN_PICKUP_H

#define PICKUP_OK	0
#define PICKUP_RETRY	1		/* leave the file, try later */
#define PICKUP_BAD	2		/* moved to corrupt */

/*
 * Process maildrop/NAME (relative to the queue directory): check it
 * record by record, write it through the cleanup library into incoming
 * (durable), remove it (PICKUP_OK); a bad file goes to corrupt/.
 */
extern int pickup_file(const char *name);
#endif
