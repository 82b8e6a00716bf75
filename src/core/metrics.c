/*
 * metrics.c - the shared region the workers count into (see metrics.h).
 */
#include "core/metrics.h"

#include <sys/mman.h>

const uint64_t metrics_bounds_us[METRICS_BOUNDS] = {
    5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000,
};

size_t metrics_slot_size(size_t nroutes)
{
    size_t n = sizeof(struct metrics_slot) + (nroutes + 1) * METRICS_CODES * sizeof(uint64_t);
    return (n + 63) & ~(size_t)63;
}

void *metrics_region_new(size_t nslots, size_t nroutes)
{
    /* Pages are zero and cost nothing until a worker first writes them: a
     * route's status counters mostly stay on one page. */
    void *p = mmap(NULL, nslots * metrics_slot_size(nroutes), PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void metrics_region_free(void *region, size_t nslots, size_t nroutes)
{
    if (region)
        munmap(region, nslots * metrics_slot_size(nroutes));
}
