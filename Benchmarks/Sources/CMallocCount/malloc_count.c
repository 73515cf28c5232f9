// Replaces the C allocator's entry points in the executable that links this target, so that every allocation the
// process makes (the Swift runtime's included: it allocates through malloc and posix_memalign) is counted before
// glibc serves it. Only the decode allocation benchmark links it; the timed benchmarks do not pay for the count.
#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>

#include "CMallocCount.h"

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *pointer, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);
extern void __libc_free(void *pointer);

static _Atomic unsigned long allocations;
static _Atomic unsigned long allocatedBytes;

static inline void count(size_t size) {
    atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&allocatedBytes, size, memory_order_relaxed);
}

unsigned long mesos_bench_allocations(void) { return atomic_load(&allocations); }
unsigned long mesos_bench_allocated_bytes(void) { return atomic_load(&allocatedBytes); }

void *malloc(size_t size) {
    count(size);
    return __libc_malloc(size);
}

void *calloc(size_t number, size_t size) {
    count(number * size);
    return __libc_calloc(number, size);
}

void *realloc(void *pointer, size_t size) {
    // Growing a block in place or moving it is one allocation as far as the caller is concerned.
    count(size);
    return __libc_realloc(pointer, size);
}

void free(void *pointer) { __libc_free(pointer); }

void *memalign(size_t alignment, size_t size) {
    count(size);
    return __libc_memalign(alignment, size);
}

void *aligned_alloc(size_t alignment, size_t size) {
    count(size);
    return __libc_memalign(alignment, size);
}

int posix_memalign(void **result, size_t alignment, size_t size) {
    count(size);
    void *pointer = __libc_memalign(alignment, size);
    if (pointer == NULL) return ENOMEM;
    *result = pointer;
    return 0;
}
