// Counts the heap allocations of the process that links it (see malloc_count.c).
#ifndef C_MALLOC_COUNT_H
#define C_MALLOC_COUNT_H

/// Allocations made so far (malloc, calloc, realloc of NULL, posix_memalign, aligned_alloc, memalign).
unsigned long mesos_bench_allocations(void);
/// Bytes asked for by those allocations.
unsigned long mesos_bench_allocated_bytes(void);

#endif
