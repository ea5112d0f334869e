#ifndef STRATA_SUPPORT_H
#define STRATA_SUPPORT_H
#include <stddef.h>
#include <stdint.h>

/// CRC-32C (Castagnoli). Start with crc = 0; pass the previous result to continue a running checksum.
/// Uses the SSE4.2 crc32 instruction when the CPU has it, slicing-by-8 otherwise.
uint32_t strata_crc32c_update(uint32_t crc, const void *buf, size_t len);

/// 1 when the hardware path is in use (for logs and benchmarks).
int strata_crc32c_hardware(void);

/// Returns free heap memory to the system (glibc's malloc_trim(0)); a no-op elsewhere.
void strata_release_free_memory(void);

/// Usable bytes of a heap allocation (glibc's malloc_usable_size); 0 where it cannot be known.
/// Tests use it to hold the head's per-series record to its size.
size_t strata_allocation_size(const void *p);

/// Bytes the allocator has handed out and not yet been given back, in every arena and in
/// mmapped chunks (glibc's mallinfo2); 0 where unknown. For measuring, not for decisions.
size_t strata_allocated_bytes(void);

/// Copies `length` bytes from `in_fd` to `out_fd` at their current offsets, in the kernel where it
/// can (copy_file_range, then sendfile), else through a buffer. 0 on success, -1 with errno set.
int strata_copy_file_range(int in_fd, int out_fd, size_t length);

/// Asks the CPU to bring the cache line at `p` in for writing, without waiting for it: replay
/// fetches the series of samples further on while it appends the current one.
static inline void strata_prefetch(const void *p) { __builtin_prefetch(p, 1, 3); }

#endif
