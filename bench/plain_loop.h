// Peer: the spec (sections 4.3-4.5 and 5) as the obvious C++ loops, compiled with
// -O3 -march=native -ffp-contract=off. Per-tensor; on 1 thread (pool == nullptr) or split into
// contiguous chunks over the pool. Bit-exact with qdq (HALF_TO_EVEN = rint).
#pragma once

#include "bench_common.h"

#include <cstdint>

namespace qdq_bench::plain {

template <typename T>
void forward_given(const T *x, T *out, int64_t n, T min_range, T max_range, ThreadPool *pool);
template <typename T>
void forward_computed(const T *x, T *out, int64_t n, ThreadPool *pool);
template <typename T>
void gradient(const T *g, const T *x, T *dx, int64_t n, T min_range, T max_range, ThreadPool *pool);

}  // namespace qdq_bench::plain
