// Peer: TensorFlow's CPU kernel formulation (quantize_and_dequantize_op.h, OneScale, PerChannel
// and Gradient implementations) written by us with Eigen's Tensor module on a ThreadPoolDevice,
// as TensorFlow runs it: min/max by .minimum()/.maximum(), then one fused element expression
// (clamp only when the range is given), per channel through chip<1>(c).
// Built only when Eigen 3 is found (QDQ_BENCH_HAVE_EIGEN).
#pragma once

#include <cstdint>
#include <memory>

namespace qdq_bench::eigen {

class Device;  // an Eigen::ThreadPool and its ThreadPoolDevice
std::shared_ptr<Device> make_device(int threads);

// [outer, depth, inner] view; per-tensor is depth == 1 with per_channel == false.
template <typename T>
void forward(Device &d, const T *x, T *out, int64_t outer, int64_t depth, int64_t inner, bool per_channel,
             bool range_given, const T *given_min, const T *given_max);
template <typename T>
void gradient(Device &d, const T *g, const T *x, T *dx, int64_t outer, int64_t depth, int64_t inner, bool per_channel,
              const T *min_range, const T *max_range);

}  // namespace qdq_bench::eigen
