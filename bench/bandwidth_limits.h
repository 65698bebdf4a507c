// The memory-bandwidth limits that every qdq figure is compared with, each on 1 thread (pool ==
// nullptr) or on all the pool's threads, split into contiguous chunks.
#pragma once

#include "bench_common.h"

#include <cstddef>
#include <cstdint>

namespace qdq_bench {

// memcpy of `bytes` bytes (glibc's, which itself switches to non-temporal stores for very
// large copies).
void copy_memcpy(void *dst, const void *src, size_t bytes, ThreadPool *pool);
// Copy with the widest plain vector loads and stores (what a kernel's store stream does; glibc's
// memcpy picks other strategies by size).
void copy_loop(void *dst, const void *src, size_t bytes, ThreadPool *pool);
// Copy with streaming (non-temporal) stores: no read-for-ownership of the destination.
void copy_stream(void *dst, const void *src, size_t bytes, ThreadPool *pool);
// The instruction set copy_stream uses: "avx512", "avx", "sse2", or "memcpy" where none applies.
const char *copy_stream_isa();
// In-place read-modify-write stream (x = -x): what an in-place kernel can reach at best.
template <typename T>
void inplace_negate(T *x, int64_t n, ThreadPool *pool);
// The 2-input, 1-output stream of the gradient: out = a + b.
template <typename T>
void stream3_add(const T *a, const T *b, T *out, int64_t n, ThreadPool *pool);

// Not a bandwidth limit but an arithmetic one: the divisions of a per-axis call's slice table.
// TF's ComputeQuantizationRange (spec 4.3) takes three correctly rounded divisions per slice
// (min_q / min, max_q / max, and the inverse scale, by division), which no formulation with the
// same results avoids; here over n slices in the widest vectors (slice_divisions.cpp). out: 3 n
// values. bench/report.py turns its time per slice into the least a per-axis call of that depth
// must spend beyond a per-tensor one.
template <typename T>
void slice_divisions(const T *lo, const T *hi, T *out, int64_t n);

}  // namespace qdq_bench
