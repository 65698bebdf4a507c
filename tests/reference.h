// A plain, loop-by-loop reference of QuantizeAndDequantizeV4 / V4Grad, written from the spec
// (/work/shared/spec/quantize_and_dequantize.md, sections 4, 5 and 9) and nothing else.
//
// Every floating-point operation is a separate, rounded T operation. The test targets are built
// with -ffp-contract=off so that the compiler cannot fuse `x * scale + 0.5` into an FMA.
// Inputs must be valid (the reference does no validation).
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

#include "qdq/qdq.h"

namespace qdq_ref {

// The adjusted range of one slice and its quantisation step (spec 4.3).
template <typename T>
struct SliceRange {
    T min;    // adjusted min_range
    T max;    // adjusted max_range
    T scale;  // scale factor
    T inv;    // inverse scale, computed by division
};

// The [outer, depth, inner] row-major view of spec 4.1; no axis means one slice of everything.
struct Layout {
    int64_t outer = 1;
    int64_t depth = 1;
    int64_t inner = 1;
};

inline int64_t product(const std::vector<int64_t> &dims, size_t begin, size_t end) {
    int64_t p = 1;
    for (size_t i = begin; i < end; ++i) p *= dims[i];
    return p;
}

// `axis` is an API axis: none, or in [-rank, rank).
inline Layout layout_of(const std::vector<int64_t> &shape, std::optional<int> axis) {
    Layout l;
    if (!axis) {
        l.inner = product(shape, 0, shape.size());
        return l;
    }
    const int rank = static_cast<int>(shape.size());
    const size_t a = static_cast<size_t>(*axis < 0 ? *axis + rank : *axis);
    l.outer = product(shape, 0, a);
    l.depth = shape[a];
    l.inner = product(shape, a + 1, shape.size());
    return l;
}

inline int64_t flat_index(const Layout &l, int64_t o, int64_t c, int64_t i) {
    return (o * l.depth + c) * l.inner + i;
}

// Quantised integer bounds, int64 as in TF (computed through 1ULL << ..., spec 4.3).
inline int64_t min_quantized(bool signed_input, int num_bits, bool narrow_range) {
    if (!signed_input) return 0;
    const uint64_t half = uint64_t{1} << (num_bits - 1);
    return narrow_range ? -static_cast<int64_t>(half) + 1 : -static_cast<int64_t>(half);
}

inline int64_t max_quantized(bool signed_input, int num_bits) {
    if (signed_input) return static_cast<int64_t>((uint64_t{1} << (num_bits - 1)) - 1);
    return static_cast<int64_t>((uint64_t{1} << num_bits) - 1);
}

// TF's ComputeQuantizationRange (spec 4.3), exactly: the side with the smaller scale keeps its bound,
// ties go to the max side, `inv` is a division (not 1/scale).
template <typename T>
SliceRange<T> compute_quantization_range(T min_range, T max_range, bool signed_input, int num_bits, bool narrow_range) {
    const T min_q = static_cast<T>(min_quantized(signed_input, num_bits, narrow_range));
    const T max_q = static_cast<T>(max_quantized(signed_input, num_bits));
    const T s_min = (min_q * min_range > T(0)) ? min_q / min_range : std::numeric_limits<T>::max();
    const T s_max = (max_q * max_range > T(0)) ? max_q / max_range : std::numeric_limits<T>::max();
    SliceRange<T> r;
    if (s_min < s_max) {
        r.scale = s_min;
        r.inv = min_range / min_q;
        r.min = min_range;
        r.max = max_q * r.inv;
    } else {
        r.scale = s_max;
        r.inv = max_range / max_q;
        r.max = max_range;
        r.min = min_q * r.inv;
    }
    return r;
}

// HALF_TO_EVEN is IEEE ties-to-even (spec 9: rint in the default rounding mode); HALF_UP is
// floor(v + 0.5) with the addition rounded first (spec 4.5).
template <typename T>
T round_value(T v, qdq::RoundMode mode) {
    if (mode == qdq::RoundMode::HALF_TO_EVEN) return std::nearbyint(v);
    const T shifted = v + T(0.5);
    return std::floor(shifted);
}

// One element (spec 4.4). The clamp is Eigen's order (min with hi first, then max with lo) written as
// selects on the comparison, so that NaN propagates.
template <typename T>
T quantize_element(T x, const SliceRange<T> &r, bool clamp, qdq::RoundMode mode) {
    T y = x;
    if (clamp) {
        const T t = (r.max < x) ? r.max : x;
        y = (t < r.min) ? r.min : t;
    }
    const T scaled = y * r.scale;
    const T q = round_value(scaled, mode);
    return q * r.inv;
}

template <typename T>
struct ForwardResult {
    std::vector<T> output;
    std::vector<SliceRange<T>> ranges;  // one per slice (depth entries)
};

// The ranges each slice uses. Range not given: min/max of the slice skipping NaN (spec 9); an empty
// or all-NaN slice gives min = +inf, max = -inf (the reductions' initial values).
template <typename T>
std::vector<SliceRange<T>> slice_ranges(const std::vector<T> &x, const std::vector<int64_t> &shape,
                                        const qdq::QuantizeOptions &options, const std::vector<T> &given_min,
                                        const std::vector<T> &given_max) {
    const Layout l = layout_of(shape, options.axis);
    std::vector<SliceRange<T>> ranges(static_cast<size_t>(l.depth));
    for (int64_t c = 0; c < l.depth; ++c) {
        T lo, hi;
        if (options.range_given) {
            lo = given_min[static_cast<size_t>(options.axis ? c : 0)];
            hi = given_max[static_cast<size_t>(options.axis ? c : 0)];
        } else {
            lo = std::numeric_limits<T>::infinity();
            hi = -std::numeric_limits<T>::infinity();
            for (int64_t o = 0; o < l.outer; ++o) {
                for (int64_t i = 0; i < l.inner; ++i) {
                    const T v = x[static_cast<size_t>(flat_index(l, o, c, i))];
                    if (std::isnan(v)) continue;
                    // qdq orders -0 below +0, so the range does not depend on reduction order.
                    if (v < lo || (v == lo && std::signbit(v))) lo = v;
                    if (v > hi || (v == hi && !std::signbit(v))) hi = v;
                }
            }
        }
        ranges[static_cast<size_t>(c)] =
            compute_quantization_range(lo, hi, options.signed_input, options.num_bits, options.narrow_range);
    }
    return ranges;
}

// Forward: tf.quantization.quantize_and_dequantize_v2 with the API's axis convention.
// given_min / given_max: 1 value per-tensor, depth values per-axis (read only when range_given).
template <typename T>
ForwardResult<T> quantize_and_dequantize(const std::vector<T> &x, const std::vector<int64_t> &shape,
                                         const qdq::QuantizeOptions &options, const std::vector<T> &given_min,
                                         const std::vector<T> &given_max) {
    ForwardResult<T> result;
    result.ranges = slice_ranges(x, shape, options, given_min, given_max);
    result.output.resize(x.size());
    const Layout l = layout_of(shape, options.axis);
    for (int64_t o = 0; o < l.outer; ++o) {
        for (int64_t c = 0; c < l.depth; ++c) {
            const SliceRange<T> &r = result.ranges[static_cast<size_t>(c)];
            for (int64_t i = 0; i < l.inner; ++i) {
                const size_t k = static_cast<size_t>(flat_index(l, o, c, i));
                result.output[k] = quantize_element(x[k], r, options.range_given, options.round_mode);
            }
        }
    }
    return result;
}

// Gradient (spec 5): g * (min <= x <= max ? 1 : 0) as a T multiply, with the raw given bounds.
template <typename T>
std::vector<T> gradient(const std::vector<T> &gradients, const std::vector<T> &x, const std::vector<int64_t> &shape,
                        std::optional<int> axis, const std::vector<T> &min, const std::vector<T> &max) {
    std::vector<T> out(x.size());
    const Layout l = layout_of(shape, axis);
    for (int64_t o = 0; o < l.outer; ++o) {
        for (int64_t c = 0; c < l.depth; ++c) {
            const T lo = min[static_cast<size_t>(axis ? c : 0)];
            const T hi = max[static_cast<size_t>(axis ? c : 0)];
            for (int64_t i = 0; i < l.inner; ++i) {
                const size_t k = static_cast<size_t>(flat_index(l, o, c, i));
                const T in_range = (x[k] >= lo && x[k] <= hi) ? T(1) : T(0);
                out[k] = gradients[k] * in_range;
            }
        }
    }
    return out;
}

}  // namespace qdq_ref
