#define EIGEN_USE_THREADS
#include "eigen_peer.h"

#include "bench_common.h"

#include <climits>

#include <Eigen/Core>
#include <unsupported/Eigen/CXX11/Tensor>

#include <vector>

namespace qdq_bench::eigen {

class Device {
public:
    explicit Device(int threads) : pool(threads), device(&pool, threads) {}
    Eigen::ThreadPool pool;
    Eigen::ThreadPoolDevice device;
};

std::shared_ptr<Device> make_device(int threads) {
    return std::make_shared<Device>(threads);
}

namespace {

template <typename T>
using Vec = Eigen::TensorMap<Eigen::Tensor<T, 1, Eigen::RowMajor, Eigen::DenseIndex>, Eigen::Aligned>;
template <typename T>
using ConstVec = Eigen::TensorMap<Eigen::Tensor<const T, 1, Eigen::RowMajor, Eigen::DenseIndex>, Eigen::Aligned>;
template <typename T>
using Tensor3 = Eigen::TensorMap<Eigen::Tensor<T, 3, Eigen::RowMajor, Eigen::DenseIndex>, Eigen::Aligned>;
template <typename T>
using ConstTensor3 = Eigen::TensorMap<Eigen::Tensor<const T, 3, Eigen::RowMajor, Eigen::DenseIndex>, Eigen::Aligned>;

// TF's ClampScaleAndRound / ScaleAndRound with the HALF_TO_EVEN functor (rint on x86).
template <typename D, typename In, typename Out, typename T>
void clamp_scale_and_round(const D &d, const In &input, Out output, const QuantParams<T> &p) {
    output.device(d) = (input.cwiseMin(p.max_range).cwiseMax(p.min_range) * p.scale).rint() * p.inverse_scale;
}
template <typename D, typename In, typename Out, typename T>
void scale_and_round(const D &d, const In &input, Out output, const QuantParams<T> &p) {
    output.device(d) = (input * p.scale).rint() * p.inverse_scale;
}

}  // namespace

template <typename T>
void forward(Device &dev, const T *x, T *out, int64_t outer, int64_t depth, int64_t inner, bool per_channel,
             bool range_given, const T *given_min, const T *given_max) {
    const auto &d = dev.device;
    if (!per_channel) {
        const Eigen::DenseIndex n = outer * depth * inner;
        ConstVec<T> input(x, n);
        Vec<T> output(out, n);
        T min_range, max_range;
        if (!range_given) {
            Eigen::Tensor<T, 0, Eigen::RowMajor> mn, mx;
            mn.device(d) = input.minimum();
            mx.device(d) = input.maximum();
            min_range = mn();
            max_range = mx();
        } else {
            min_range = *given_min;
            max_range = *given_max;
        }
        const QuantParams<T> p = compute_quantization_range(min_range, max_range);
        if (range_given) {
            clamp_scale_and_round(d, input, output, p);
        } else {
            scale_and_round(d, input, output, p);
        }
        return;
    }
    ConstTensor3<T> input(x, outer, depth, inner);
    Tensor3<T> output(out, outer, depth, inner);
    // TF keeps the computed ranges in temporaries of length depth.
    thread_local std::vector<T> mins, maxs;
    mins.resize(static_cast<size_t>(depth));
    maxs.resize(static_cast<size_t>(depth));
    if (!range_given) {
        Eigen::TensorMap<Eigen::Tensor<T, 1, Eigen::RowMajor, Eigen::DenseIndex>> input_min(mins.data(), depth);
        Eigen::TensorMap<Eigen::Tensor<T, 1, Eigen::RowMajor, Eigen::DenseIndex>> input_max(maxs.data(), depth);
        Eigen::IndexList<Eigen::type2index<0>, Eigen::type2index<2>> reduce_dims;
        input_min.device(d) = input.minimum(reduce_dims);
        input_max.device(d) = input.maximum(reduce_dims);
    }
    for (Eigen::DenseIndex c = 0; c < depth; ++c) {
        const T lo = range_given ? given_min[c] : mins[static_cast<size_t>(c)];
        const T hi = range_given ? given_max[c] : maxs[static_cast<size_t>(c)];
        const QuantParams<T> p = compute_quantization_range(lo, hi);
        const auto input_chip = input.template chip<1>(c);
        auto output_chip = output.template chip<1>(c);
        if (range_given) {
            clamp_scale_and_round(d, input_chip, output_chip, p);
        } else {
            scale_and_round(d, input_chip, output_chip, p);
        }
    }
}

template <typename T>
void gradient(Device &dev, const T *g, const T *x, T *dx, int64_t outer, int64_t depth, int64_t inner, bool per_channel,
              const T *min_range, const T *max_range) {
    const auto &d = dev.device;
    if (!per_channel) {
        const Eigen::DenseIndex n = outer * depth * inner;
        ConstVec<T> gradient(g, n), input(x, n);
        Vec<T> input_backprop(dx, n);
        const T min_val = *min_range, max_val = *max_range;
        const auto in_range = (input >= min_val && input <= max_val).select(input.constant(T(1)), input.constant(T(0)));
        input_backprop.device(d) = gradient * in_range;
        return;
    }
    ConstTensor3<T> gradient(g, outer, depth, inner), input(x, outer, depth, inner);
    Tensor3<T> input_backprop(dx, outer, depth, inner);
    for (Eigen::DenseIndex c = 0; c < depth; ++c) {
        const T min_val = min_range[c], max_val = max_range[c];
        const auto input_chip = input.template chip<1>(c);
        const auto in_range = (input_chip >= min_val && input_chip <= max_val)
                                  .select(input_chip.constant(T(1)), input_chip.constant(T(0)));
        input_backprop.template chip<1>(c).device(d) = gradient.template chip<1>(c) * in_range;
    }
}

template void forward<float>(Device &, const float *, float *, int64_t, int64_t, int64_t, bool, bool, const float *,
                             const float *);
template void forward<double>(Device &, const double *, double *, int64_t, int64_t, int64_t, bool, bool, const double *,
                              const double *);
template void gradient<float>(Device &, const float *, const float *, float *, int64_t, int64_t, int64_t, bool,
                              const float *, const float *);
template void gradient<double>(Device &, const double *, const double *, double *, int64_t, int64_t, int64_t, bool,
                               const double *, const double *);

}  // namespace qdq_bench::eigen
