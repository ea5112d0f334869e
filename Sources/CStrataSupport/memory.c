#include "strata_support.h"
#if defined(__GLIBC__)
#include <malloc.h>
#endif

void strata_release_free_memory(void) {
#if defined(__GLIBC__)
    malloc_trim(0);
#endif
}

size_t strata_allocation_size(const void *p) {
#if defined(__GLIBC__)
    return malloc_usable_size((void *)p);
#else
    (void)p;
    return 0;
#endif
}

size_t strata_allocated_bytes(void) {
#if defined(__GLIBC__)
    struct mallinfo2 m = mallinfo2();
    return m.uordblks + m.hblkhd;
#else
    return 0;
#endif
}
