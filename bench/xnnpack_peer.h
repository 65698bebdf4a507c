// Peer: XNNPACK's SIMD quantisation micro-kernels, float32 only: convert f32 -> qs8 (scale, zero
// point 0, clamp to [-128, 127]) into an int8 buffer, then qs8 -> f32. Not TF's arithmetic (it
// rounds x / scale, not x * (1/scale)), but the same memory traffic plus an int8 round trip.
// Built only when XNNPACK and pthreadpool are found (QDQ_BENCH_HAVE_XNNPACK).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace qdq_bench::xnnpack {

class Pair;  // the two convert operators and their thread pool, set up for one size
// threads: 1, or 0 for one per core. nullptr (and *error set) if XNNPACK refuses.
std::shared_ptr<Pair> make_pair(const float *x, int8_t *q, float *out, int64_t n, float inverse_scale, int threads,
                                std::string *error);
void run(Pair &p);

}  // namespace qdq_bench::xnnpack
