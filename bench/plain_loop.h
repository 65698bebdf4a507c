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

// Per-axis, over the [outer, depth, inner] view: one range per channel c, given (mins/maxs) or
// computed (mins == nullptr) from the channel's elements; rows of `inner` elements, or, on the
// last axis (inner == 1), the channels of an outer row in the inner loop.
template <typename T>
void forward_per_axis(const T *x, T *out, int64_t outer, int64_t depth, int64_t inner, const T *mins, const T *maxs,
                      ThreadPool *pool);
template <typename T>
void gradient_per_axis(const T *g, const T *x, T *dx, int64_t outer, int64_t depth, int64_t inner, const T *mins,
                       const T *maxs, ThreadPool *pool);

}  // namespace qdq_bench::plain
