// Random case generation and bit-exact runners for the randomised suites. Nothing here uses doctest
// macros, so the runners can be called from worker threads; they return "" on success, else a
// description of the first difference.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "qdq/qdq.h"
#include "reference.h"
#include "test_util.h"

namespace qdq_test {

class Rng {
public:
    explicit Rng(uint64_t seed) : engine_(seed) {}
    double uniform() { return std::uniform_real_distribution<double>(0.0, 1.0)(engine_); }
    double uniform(double a, double b) { return std::uniform_real_distribution<double>(a, b)(engine_); }
    int64_t integer(int64_t a, int64_t b) { return std::uniform_int_distribution<int64_t>(a, b)(engine_); }
    bool chance(double p) { return uniform() < p; }
    uint64_t bits() { return engine_(); }
    template <typename V>
    const typename V::value_type &pick(const V &v) {
        return v[static_cast<size_t>(integer(0, static_cast<int64_t>(v.size()) - 1))];
    }

private:
    std::mt19937_64 engine_;
};

// double -> T without the undefined out-of-range conversion.
template <typename T>
T to_t(double v) {
    const double top = static_cast<double>(std::numeric_limits<T>::max());
    if (v > top && !std::isinf(v)) return std::numeric_limits<T>::max();
    if (v < -top && !std::isinf(v)) return -std::numeric_limits<T>::max();
    return static_cast<T>(v);
}

template <typename T>
T random_denormal(Rng &rng) {
    using B = typename BitsOf<T>::type;
    const B mantissa_mask = (B{1} << (std::numeric_limits<T>::digits - 1)) - 1;
    B b = static_cast<B>(rng.bits()) & mantissa_mask;
    if (b == 0) b = 1;
    if (rng.chance(0.5)) b |= B{1} << (sizeof(B) * 8 - 1);
    return from_bits<T>(b);
}

// A [lo, hi] pair, lo <= hi, of one of many shapes: symmetric, one-sided, degenerate, tiny (denormal),
// huge, signed zeros; infinite bounds only when allow_inf.
template <typename T>
std::pair<T, T> random_range(Rng &rng, bool allow_inf) {
    const double top = std::numeric_limits<T>::max_exponent10;  // 38 or 308
    const double bottom = std::numeric_limits<T>::min_exponent10 - (std::numeric_limits<T>::digits10 - 1);
    auto mag = [&] { return to_t<T>(std::pow(10.0, rng.uniform(-3.0, 3.0))); };
    auto sorted = [](T a, T b) { return a <= b ? std::make_pair(a, b) : std::make_pair(b, a); };
    const T inf = std::numeric_limits<T>::infinity();
    switch (rng.integer(0, allow_inf ? 12 : 11)) {
        case 0: {
            const T a = mag();
            return {-a, a};
        }
        case 1:
            return {-mag(), mag()};
        case 2:
            return sorted(mag(), mag());
        case 3: {
            const auto p = sorted(mag(), mag());
            return {-p.second, -p.first};
        }
        case 4:
            return {T(0), mag()};
        case 5:
            return {-mag(), T(0)};
        case 6: {
            const T c = rng.chance(0.5) ? mag() : -mag();
            return {c, c};
        }
        case 7: {
            const T z = rng.chance(0.5) ? T(0) : -T(0);
            return {z, z};
        }
        case 8: {  // tiny: denormal-sized bounds
            const T a = to_t<T>(std::pow(10.0, rng.uniform(bottom, bottom + 8)));
            const T b = to_t<T>(std::pow(10.0, rng.uniform(bottom, bottom + 8)));
            return rng.chance(0.5) ? std::make_pair(-a, b) : sorted(a, b);
        }
        case 9: {  // huge
            const T a = to_t<T>(std::pow(10.0, rng.uniform(top - 4, top + 0.6)));
            const T b = to_t<T>(std::pow(10.0, rng.uniform(top - 4, top + 0.6)));
            return {-a, b};
        }
        case 10:
            return {-T(0), mag()};
        case 11: {  // a bound that is exactly a power of two or a small integer
            const T a = std::ldexp(T(1), static_cast<int>(rng.integer(-10, 10)));
            return {-a, rng.chance(0.5) ? a : T(static_cast<double>(rng.integer(1, 1000)))};
        }
        default:  // infinite bounds (range given only)
            switch (rng.integer(0, 2)) {
                case 0:
                    return {-inf, mag()};
                case 1:
                    return {-mag(), inf};
                default:
                    return {-inf, inf};
            }
    }
}

// How values are drawn. Weights are relative.
struct ValueStyle {
    double uniform = 35, grid = 15, tie = 25, zero = 6, denormal = 4, bound = 5, outside = 6, nan = 2, inf = 2;
    double special_slice = 0.04;  // chance that a slice (range not given) is all-NaN or holds an infinity
};

inline ValueStyle tie_heavy_style() {
    ValueStyle s;
    s.uniform = 10;
    s.grid = 5;
    s.tie = 80;
    s.outside = 2;
    s.nan = 0;
    s.inf = 0;
    s.special_slice = 0;
    return s;
}

inline ValueStyle special_heavy_style() {
    ValueStyle s;
    s.uniform = 10;
    s.grid = 5;
    s.tie = 5;
    s.zero = 20;
    s.denormal = 20;
    s.bound = 10;
    s.outside = 15;
    s.nan = 10;
    s.inf = 10;
    s.special_slice = 0.3;
    return s;
}

struct GenStats {
    int64_t ties = 0;  // values that are exact ties of the slice's quantisation grid
};

template <typename T>
struct SliceGen {
    T lo, hi;                  // inside bounds: the data range (range not given) or the given range
    qdq_ref::SliceRange<T> r;  // the adjusted range the kernel will use
    int64_t min_q, max_q;
    bool range_given;
};

template <typename T>
bool fits(const SliceGen<T> &s, T x) {
    if (std::isnan(x)) return false;
    if (!s.range_given) return x >= s.lo && x <= s.hi;
    // Given range: stay inside the adjusted range too, so the clamp leaves the value alone.
    return x >= s.lo && x <= s.hi && x >= s.r.min && x <= s.r.max;
}

template <typename T>
T uniform_between(Rng &rng, T lo, T hi) {
    const double a = std::isfinite(lo) ? static_cast<double>(lo) : -1e3;
    const double b = std::isfinite(hi) ? static_cast<double>(hi) : 1e3;
    const double t = rng.uniform();
    T v = to_t<T>(a * (1.0 - t) + b * t);
    if (v < lo) v = lo;
    if (v > hi) v = hi;
    return v;
}

template <typename T>
int64_t random_level(Rng &rng, int64_t a, int64_t b) {
    // Half the time a level near zero, where most data lands for wide grids.
    if (rng.chance(0.5)) return rng.integer(std::max<int64_t>(a, -300), std::min<int64_t>(b, 300));
    return rng.integer(a, b);
}

template <typename T>
T random_value(Rng &rng, const SliceGen<T> &s, const ValueStyle &style, GenStats &stats) {
    const T inf = std::numeric_limits<T>::infinity();
    const double total = style.uniform + style.grid + style.tie + style.zero + style.denormal + style.bound +
                         (s.range_given ? style.outside + style.nan + style.inf : style.nan);
    double u = rng.uniform(0.0, total);
    auto take = [&](double w) {
        if (u < w) return true;
        u -= w;
        return false;
    };
    if (take(style.uniform)) return uniform_between(rng, s.lo, s.hi);
    if (take(style.grid)) {
        if (std::isfinite(s.r.inv) && s.r.inv != T(0)) {
            const T x = static_cast<T>(random_level<T>(rng, s.min_q, s.max_q)) * s.r.inv;
            if (fits(s, x)) return x;
        }
        return uniform_between(rng, s.lo, s.hi);
    }
    if (take(style.tie)) {
        if (s.max_q > s.min_q && std::isfinite(s.r.inv) && s.r.inv != T(0)) {
            for (int attempt = 0; attempt < 4; ++attempt) {
                const T k = static_cast<T>(random_level<T>(rng, s.min_q, s.max_q - 1));
                const T half = k + T(0.5);
                if (half - k != T(0.5)) continue;  // k + 0.5 not representable
                const T x = half * s.r.inv;
                const T scaled = x * s.r.scale;
                if (scaled == half && fits(s, x)) {
                    ++stats.ties;
                    return x;
                }
            }
        }
        return uniform_between(rng, s.lo, s.hi);
    }
    if (take(style.zero)) {
        const T z = rng.chance(0.5) ? T(0) : -T(0);
        return fits(s, z) || s.range_given ? z : uniform_between(rng, s.lo, s.hi);
    }
    if (take(style.denormal)) {
        const T d = random_denormal<T>(rng);
        return fits(s, d) || s.range_given ? d : uniform_between(rng, s.lo, s.hi);
    }
    if (take(style.bound)) {
        switch (rng.integer(0, 3)) {
            case 0:
                return s.lo;
            case 1:
                return s.hi;
            case 2: {
                const T v = std::nextafter(s.lo, inf);
                return v <= s.hi ? v : s.lo;
            }
            default: {
                const T v = std::nextafter(s.hi, -inf);
                return v >= s.lo ? v : s.hi;
            }
        }
    }
    if (take(style.nan)) return std::numeric_limits<T>::quiet_NaN();
    if (take(style.outside)) {  // range given only: values the clamp must move
        switch (rng.integer(0, 5)) {
            case 0:
                return s.lo - std::fabs(uniform_between(rng, T(0), T(1000)));
            case 1:
                return s.hi + std::fabs(uniform_between(rng, T(0), T(1000)));
            case 2:
                return std::nextafter(s.r.min, -inf);
            case 3:
                return std::nextafter(s.r.max, inf);
            case 4:
                return rng.chance(0.5) ? std::numeric_limits<T>::max() : std::numeric_limits<T>::lowest();
            default:
                return s.hi * T(1e6);
        }
    }
    return rng.chance(0.5) ? inf : -inf;  // style.inf, range given only
}

template <typename T>
struct ForwardCase {
    std::vector<int64_t> shape;
    qdq::QuantizeOptions options;
    std::vector<T> x, mn, mx;
    std::vector<int64_t> mn_shape, mx_shape;
};

// Fills a case. Range not given: each slice holds its lo and hi (when it has two elements), so its data
// range is exactly [lo, hi] and the generated ties are ties of the grid the kernel computes.
template <typename T>
ForwardCase<T> make_forward_case(Rng &rng, const std::vector<int64_t> &shape, const qdq::QuantizeOptions &options,
                                 const ValueStyle &style, GenStats *stats = nullptr) {
    GenStats local;
    GenStats &st = stats ? *stats : local;
    ForwardCase<T> c;
    c.shape = shape;
    c.options = options;
    const qdq_ref::Layout l = qdq_ref::layout_of(shape, options.axis);
    c.x.assign(static_cast<size_t>(num_elements(shape)), T(0));
    const int64_t min_q = qdq_ref::min_quantized(options.signed_input, options.num_bits, options.narrow_range);
    const int64_t max_q = qdq_ref::max_quantized(options.signed_input, options.num_bits);
    const bool shared_range = rng.chance(0.3);
    const std::pair<T, T> shared = random_range<T>(rng, options.range_given);
    std::vector<T> los, his;
    for (int64_t ch = 0; ch < l.depth; ++ch) {
        const std::pair<T, T> b = shared_range ? shared : random_range<T>(rng, options.range_given);
        SliceGen<T> s{b.first,
                      b.second,
                      qdq_ref::compute_quantization_range(b.first, b.second, options.signed_input, options.num_bits,
                                                          options.narrow_range),
                      min_q,
                      max_q,
                      options.range_given};
        los.push_back(b.first);
        his.push_back(b.second);
        std::vector<size_t> idx;
        idx.reserve(static_cast<size_t>(l.outer * l.inner));
        for (int64_t o = 0; o < l.outer; ++o)
            for (int64_t i = 0; i < l.inner; ++i) idx.push_back(static_cast<size_t>(qdq_ref::flat_index(l, o, ch, i)));
        for (size_t k : idx) c.x[k] = random_value(rng, s, style, st);
        if (options.range_given || idx.empty()) continue;
        if (idx.size() >= 2) {
            c.x[idx.front()] = b.first;
            c.x[idx.back()] = b.second;
        }
        if (rng.chance(style.special_slice)) {
            if (rng.chance(0.5)) {
                for (size_t k : idx) c.x[k] = std::numeric_limits<T>::quiet_NaN();
            } else {
                const T inf = std::numeric_limits<T>::infinity();
                c.x[idx[static_cast<size_t>(rng.integer(0, static_cast<int64_t>(idx.size()) - 1))]] =
                    rng.chance(0.5) ? inf : -inf;
            }
        }
    }
    if (options.range_given) {
        c.mn = los;
        c.mx = his;
        if (options.axis) {
            c.mn_shape = c.mx_shape = {l.depth};
        } else {  // per-tensor: scalars (TF 2.21 rejects any other shape)
            c.mn_shape = c.mx_shape = {};
        }
    } else {
        // Not read: garbage, min > max, shaped as TF's graph mode would want.
        const size_t n = options.axis ? static_cast<size_t>(l.depth) : 1;
        c.mn.assign(n, T(5));
        c.mx.assign(n, std::numeric_limits<T>::quiet_NaN());
        if (options.axis) c.mn_shape = c.mx_shape = {l.depth};
    }
    return c;
}

struct RunOptions {
    bool in_place = false;
    bool ranges = false;
    size_t offset = 0;  // elements of misalignment for the data pointers
};

template <typename T>
std::string describe_forward(const ForwardCase<T> &c) {
    return "shape " + shape_str(c.shape) + " " + options_str(c.options);
}

// Runs the library once and compares the output (and SliceRanges) bit for bit with `ref`.
template <typename T>
std::string check_forward(const ForwardCase<T> &c, const qdq_ref::ForwardResult<T> &ref, const RunOptions &ro) {
    constexpr size_t kGuard = 5;
    const size_t n = c.x.size();
    const size_t depth = ref.ranges.size();
    std::vector<T> out_buf(ro.offset + n + kGuard), in_buf;
    fill_sentinel(out_buf);
    T *out = out_buf.data() + ro.offset;
    const T *in;
    if (ro.in_place) {
        std::copy(c.x.begin(), c.x.end(), out);
        in = out;
    } else {
        in_buf.assign(ro.offset + n, T(0));
        std::copy(c.x.begin(), c.x.end(), in_buf.begin() + static_cast<std::ptrdiff_t>(ro.offset));
        in = in_buf.data() + ro.offset;
    }
    std::vector<T> rb[4];
    for (std::vector<T> &v : rb) {
        v.assign(depth + kGuard, T(0));
        fill_sentinel(v);
    }
    const qdq::Shape ds{static_cast<int64_t>(depth)};
    qdq::SliceRanges<T> ranges{{rb[0].data(), ds}, {rb[1].data(), ds}, {rb[2].data(), ds}, {rb[3].data(), ds}};
    const qdq::Status s = qdq::quantize_and_dequantize_v2(
        qdq::ConstTensorView<T>{in, make_shape(c.shape)}, qdq::ConstTensorView<T>{c.mn.data(), make_shape(c.mn_shape)},
        qdq::ConstTensorView<T>{c.mx.data(), make_shape(c.mx_shape)}, qdq::TensorView<T>{out, make_shape(c.shape)},
        c.options, ro.ranges ? &ranges : nullptr);
    const std::string where =
        describe_forward(c) + (ro.in_place ? " in-place" : "") + " offset " + std::to_string(ro.offset) + ": ";
    if (!s.ok()) return where + "unexpected " + s.ToString();

    const qdq_ref::Layout l = qdq_ref::layout_of(c.shape, c.options.axis);
    size_t bad = 0, first = 0;
    for (size_t k = 0; k < n; ++k) {
        if (!same_bits(out[k], ref.output[k])) {
            if (bad++ == 0) first = k;
        }
    }
    if (bad) {
        const size_t ch = static_cast<size_t>((static_cast<int64_t>(first) / l.inner) % l.depth);
        const qdq_ref::SliceRange<T> &r = ref.ranges[ch];
        return where + std::to_string(bad) + " of " + std::to_string(n) + " outputs differ; first at [" +
               std::to_string(first) + "] (slice " + std::to_string(ch) + ") x=" + fmt(c.x[first]) + " got " +
               fmt(out[first]) + " want " + fmt(ref.output[first]) + "; slice range min " + fmt(r.min) + " max " +
               fmt(r.max) + " scale " + fmt(r.scale) + " inv " + fmt(r.inv);
    }
    if (!all_sentinel(out_buf.data(), ro.offset) || !all_sentinel(out + n, kGuard))
        return where + "wrote outside the output";
    for (int v = 0; v < 4; ++v) {
        const char *names[4] = {"min", "max", "scale", "inverse_scale"};
        if (!ro.ranges) {
            if (!all_sentinel(rb[v])) return where + "wrote SliceRanges that were not asked for";
            continue;
        }
        for (size_t ch = 0; ch < depth; ++ch) {
            const qdq_ref::SliceRange<T> &r = ref.ranges[ch];
            const T want = v == 0 ? r.min : v == 1 ? r.max : v == 2 ? r.scale : r.inv;
            if (!same_bits(rb[v][ch], want))
                return where + "SliceRanges." + names[v] + "[" + std::to_string(ch) + "] got " + fmt(rb[v][ch]) +
                       " want " + fmt(want);
        }
        if (!all_sentinel(rb[v].data() + depth, kGuard)) return where + "wrote past a SliceRanges view";
    }
    return {};
}

template <typename T>
std::string run_forward(const ForwardCase<T> &c, const RunOptions &ro) {
    const qdq_ref::ForwardResult<T> ref = qdq_ref::quantize_and_dequantize(c.x, c.shape, c.options, c.mn, c.mx);
    return check_forward(c, ref, ro);
}

// ---------------------------------------------------------------------------------------------
template <typename T>
struct GradCase {
    std::vector<int64_t> shape;
    std::optional<int> axis;
    std::vector<T> g, x, mn, mx;
    std::vector<int64_t> mn_shape;  // also max's shape
};

template <typename T>
T random_gradient(Rng &rng) {
    switch (rng.integer(0, 12)) {
        case 0:
            return rng.chance(0.5) ? T(0) : -T(0);
        case 1:
            return random_denormal<T>(rng);
        case 2:
            return rng.chance(0.5) ? std::numeric_limits<T>::infinity() : -std::numeric_limits<T>::infinity();
        case 3:
            return std::numeric_limits<T>::quiet_NaN();
        default:
            return to_t<T>(rng.uniform(-1.0, 1.0) * std::pow(10.0, rng.uniform(-5.0, 5.0)));
    }
}

template <typename T>
GradCase<T> make_grad_case(Rng &rng, const std::vector<int64_t> &shape, std::optional<int> axis) {
    GradCase<T> c;
    c.shape = shape;
    c.axis = axis;
    const qdq_ref::Layout l = qdq_ref::layout_of(shape, axis);
    const size_t n = static_cast<size_t>(num_elements(shape));
    c.g.resize(n);
    c.x.resize(n);
    for (int64_t ch = 0; ch < l.depth; ++ch) {
        std::pair<T, T> b = random_range<T>(rng, true);
        if (rng.chance(0.05)) std::swap(b.first, b.second);  // min > max: accepted, nothing in range
        if (rng.chance(0.03)) b.first = std::numeric_limits<T>::quiet_NaN();
        if (rng.chance(0.03)) b.second = std::numeric_limits<T>::quiet_NaN();  // either NaN: nothing in range
        const bool nan_bound = std::isnan(b.first) || std::isnan(b.second);
        c.mn.push_back(b.first);
        c.mx.push_back(b.second);
        SliceGen<T> s{b.first, b.second, qdq_ref::compute_quantization_range(b.first, b.second, true, 8, false),
                      -128,    127,      true};
        ValueStyle style;
        style.bound = 25;  // the bounds are inclusive: hit them often
        for (int64_t o = 0; o < l.outer; ++o) {
            for (int64_t i = 0; i < l.inner; ++i) {
                const size_t k = static_cast<size_t>(qdq_ref::flat_index(l, o, ch, i));
                GenStats unused;
                c.x[k] = nan_bound ? uniform_between<T>(rng, T(-1), T(1)) : random_value(rng, s, style, unused);
                c.g[k] = random_gradient<T>(rng);
            }
        }
    }
    if (axis) {
        c.mn_shape = {l.depth};
    } else {
        c.mn.resize(1);
        c.mx.resize(1);
    }
    return c;
}

enum class GradAlias { kNone, kGradients, kInput };

template <typename T>
std::string run_grad(const GradCase<T> &c, GradAlias alias, bool with_backprops, size_t offset) {
    constexpr size_t kGuard = 5;
    const std::vector<T> ref = qdq_ref::gradient(c.g, c.x, c.shape, c.axis, c.mn, c.mx);
    const size_t n = c.x.size();
    std::vector<T> g_buf(offset + n + kGuard), x_buf(offset + n + kGuard), o_buf(offset + n + kGuard);
    fill_sentinel(g_buf);
    fill_sentinel(x_buf);
    fill_sentinel(o_buf);
    T *g = g_buf.data() + offset;
    T *x = x_buf.data() + offset;
    std::copy(c.g.begin(), c.g.end(), g);
    std::copy(c.x.begin(), c.x.end(), x);
    T *out = alias == GradAlias::kGradients ? g : alias == GradAlias::kInput ? x : o_buf.data() + offset;
    const size_t nb = c.mn.size();
    std::vector<T> min_bp(nb + kGuard), max_bp(nb + kGuard);
    fill_sentinel(min_bp);
    fill_sentinel(max_bp);
    const qdq::Shape bs = make_shape(c.mn_shape);
    const qdq::Status s = qdq::quantize_and_dequantize_v2_grad(
        qdq::ConstTensorView<T>{g, make_shape(c.shape)}, qdq::ConstTensorView<T>{x, make_shape(c.shape)},
        qdq::ConstTensorView<T>{c.mn.data(), bs}, qdq::ConstTensorView<T>{c.mx.data(), bs}, c.axis,
        qdq::TensorView<T>{out, make_shape(c.shape)},
        with_backprops ? qdq::TensorView<T>{min_bp.data(), bs} : qdq::TensorView<T>{},
        with_backprops ? qdq::TensorView<T>{max_bp.data(), bs} : qdq::TensorView<T>{});
    const std::string where = "gradient shape " + shape_str(c.shape) + " axis " + axis_str(c.axis) + " alias " +
                              std::to_string(static_cast<int>(alias)) + " offset " + std::to_string(offset) + ": ";
    if (!s.ok()) return where + "unexpected " + s.ToString();
    for (size_t k = 0; k < n; ++k) {
        if (!same_bits(out[k], ref[k])) {
            const qdq_ref::Layout l = qdq_ref::layout_of(c.shape, c.axis);
            const size_t ch = static_cast<size_t>((static_cast<int64_t>(k) / l.inner) % l.depth);
            return where + "at [" + std::to_string(k) + "] g=" + fmt(c.g[k]) + " x=" + fmt(c.x[k]) +
                   " min=" + fmt(c.mn[c.axis ? ch : 0]) + " max=" + fmt(c.mx[c.axis ? ch : 0]) + ": got " +
                   fmt(out[k]) + " want " + fmt(ref[k]);
        }
    }
    // Guards: nothing written around the output; the non-aliased inputs untouched.
    for (const std::vector<T> *buf : {&g_buf, &x_buf, &o_buf}) {
        if (!all_sentinel(buf->data(), offset) || !all_sentinel(buf->data() + offset + n, kGuard))
            return where + "wrote outside a buffer";
    }
    if (alias != GradAlias::kGradients && !same_bits(std::vector<T>(g, g + n), c.g))
        return where + "modified gradients";
    if (alias != GradAlias::kInput && !same_bits(std::vector<T>(x, x + n), c.x)) return where + "modified input";
    if (alias != GradAlias::kNone && !all_sentinel(o_buf)) return where + "wrote to the unused output buffer";
    if (with_backprops) {
        for (size_t k = 0; k < nb; ++k)
            if (to_bits(min_bp[k]) != 0 || to_bits(max_bp[k]) != 0) return where + "min/max backprop not +0";
    }
    if (!all_sentinel(min_bp.data() + (with_backprops ? nb : 0), with_backprops ? kGuard : nb + kGuard) ||
        !all_sentinel(max_bp.data() + (with_backprops ? nb : 0), with_backprops ? kGuard : nb + kGuard))
        return where + "wrote outside the min/max backprops";
    return {};
}

// Shapes and axes.
inline std::vector<int64_t> random_shape(Rng &rng, int rank, int64_t max_dim, double zero_dim_chance = 0.0) {
    std::vector<int64_t> s(static_cast<size_t>(rank));
    for (int64_t &d : s) d = rng.chance(zero_dim_chance) ? 0 : rng.integer(1, max_dim);
    return s;
}

// None (per-tensor) or a random axis in [-rank, rank).
inline std::optional<int> random_axis(Rng &rng, int rank, double none_chance = 0.35) {
    if (rank == 0 || rng.chance(none_chance)) return std::nullopt;
    const int a = static_cast<int>(rng.integer(0, rank - 1));
    return rng.chance(0.5) ? a : a - rank;
}

// Collects failures without flooding the output: the first few are reported in full.
struct FailureLog {
    int count = 0;
    std::vector<std::string> first;
    void add(const std::string &err) {
        if (err.empty()) return;
        if (count++ < 5) first.push_back(err);
    }
};

}  // namespace qdq_test
