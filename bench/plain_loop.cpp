#include "plain_loop.h"

#include <cmath>
#include <limits>
#include <vector>

namespace qdq_bench::plain {
namespace {

template <typename T, typename F>
void split(int64_t n, ThreadPool *pool, F &&f) {
    if (!worth_splitting(static_cast<size_t>(n) * sizeof(T), pool)) {
        f(0, int64_t{0}, n);
        return;
    }
    pool->run([&](int i, int parts) {
        int64_t b, e;
        chunk(n, i, parts, &b, &e);
        f(i, b, e);
    });
}

// Per-axis: rows(begin, end) over the outer rows [0, outer), in contiguous blocks over the pool when
// the tensor's bytes are worth splitting and each thread gets a row, else on this thread.
template <typename F>
void split_outer_rows(int64_t outer, size_t bytes, ThreadPool *pool, const F &rows) {
    if (!worth_splitting(bytes, pool) || outer < pool->size()) {
        rows(0, outer);
        return;
    }
    pool->run([rows, outer](int i, int parts) {
        auto local = rows;  // on the worker's stack (see gradient)
        local(outer * i / parts, outer * (i + 1) / parts);
    });
}

// Spec 4.4: clamp only when the range is given (hi first, then lo; NaN passes), then
// round(y * scale) * inverse_scale, HALF_TO_EVEN = rint.
template <typename T, bool kClamp>
void scale_and_round(const T *__restrict x, T *__restrict out, int64_t b, int64_t e, QuantParams<T> p) {
    for (int64_t i = b; i < e; ++i) {
        T y = x[i];
        if (kClamp) {
            y = p.max_range < y ? p.max_range : y;
            y = y < p.min_range ? p.min_range : y;
        }
        out[i] = std::rint(y * p.scale) * p.inverse_scale;
    }
}

}  // namespace

template <typename T>
void forward_given(const T *x, T *out, int64_t n, T min_range, T max_range, ThreadPool *pool) {
    const QuantParams<T> p = compute_quantization_range(min_range, max_range);
    split<T>(n, pool, [=](int, int64_t b, int64_t e) { scale_and_round<T, true>(x, out, b, e, p); });
}

template <typename T>
void forward_computed(const T *x, T *out, int64_t n, ThreadPool *pool) {
    // Pass 1: min and max, NaN skipped (spec section 9).
    constexpr int kMaxParts = 256;
    T mins[kMaxParts], maxs[kMaxParts];
    const int parts = worth_splitting(static_cast<size_t>(n) * sizeof(T), pool) ? std::min(pool->size(), kMaxParts) : 1;
    split<T>(n, parts > 1 ? pool : nullptr, [&](int i, int64_t b, int64_t e) {
        T lo = std::numeric_limits<T>::infinity(), hi = -std::numeric_limits<T>::infinity();
        for (int64_t k = b; k < e; ++k) {
            const T v = x[k];
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
        }
        mins[i] = lo;
        maxs[i] = hi;
    });
    T lo = mins[0], hi = maxs[0];
    for (int i = 1; i < parts; ++i) {
        lo = mins[i] < lo ? mins[i] : lo;
        hi = maxs[i] > hi ? maxs[i] : hi;
    }
    // Pass 2: no clamp.
    const QuantParams<T> p = compute_quantization_range(lo, hi);
    split<T>(n, pool, [=](int, int64_t b, int64_t e) { scale_and_round<T, false>(x, out, b, e, p); });
}

template <typename T>
void gradient(const T *g, const T *x, T *dx, int64_t n, T min_range, T max_range, ThreadPool *pool) {
    // Everything the loop reads is copied into the lambda: a reference into the calling thread's
    // stack would share a cache line with the pool's spin-wait and make the loop crawl.
    split<T>(n, pool, [=](int, int64_t b, int64_t e) {
        const T *__restrict gg = g;
        const T *__restrict xx = x;
        T *__restrict out = dx;
        const T lo = min_range, hi = max_range;
        for (int64_t i = b; i < e; ++i) {
            out[i] = gg[i] * ((xx[i] >= lo && xx[i] <= hi) ? T(1) : T(0));
        }
    });
}

template <typename T>
void forward_per_axis(const T *x, T *out, int64_t outer, int64_t depth, int64_t inner, const T *mins, const T *maxs,
                      ThreadPool *pool) {
    std::vector<QuantParams<T>> params(static_cast<size_t>(depth));
    if (mins) {
        for (int64_t c = 0; c < depth; ++c) params[c] = compute_quantization_range(mins[c], maxs[c]);
    } else {
        // Each channel's min and max, NaN skipped, on the calling thread.
        std::vector<T> lo(static_cast<size_t>(depth), std::numeric_limits<T>::infinity());
        std::vector<T> hi(static_cast<size_t>(depth), -std::numeric_limits<T>::infinity());
        for (int64_t o = 0; o < outer; ++o) {
            for (int64_t c = 0; c < depth; ++c) {
                const T *row = x + (o * depth + c) * inner;
                T l = lo[c], h = hi[c];
                for (int64_t i = 0; i < inner; ++i) {
                    l = row[i] < l ? row[i] : l;
                    h = row[i] > h ? row[i] : h;
                }
                lo[c] = l;
                hi[c] = h;
            }
        }
        for (int64_t c = 0; c < depth; ++c) params[c] = compute_quantization_range(lo[c], hi[c]);
    }
    const QuantParams<T> *p = params.data();
    const bool clamp = mins != nullptr;
    auto element = [clamp](T y, const QuantParams<T> &q) {
        if (clamp) {
            y = q.max_range < y ? q.max_range : y;
            y = y < q.min_range ? q.min_range : y;
        }
        return std::rint(y * q.scale) * q.inverse_scale;
    };
    auto rows = [=](int64_t ob, int64_t oe) {
        for (int64_t o = ob; o < oe; ++o) {
            if (inner == 1) {
                for (int64_t c = 0; c < depth; ++c) out[o * depth + c] = element(x[o * depth + c], p[c]);
            } else {
                for (int64_t c = 0; c < depth; ++c) {
                    const T *row = x + (o * depth + c) * inner;
                    T *dst = out + (o * depth + c) * inner;
                    const QuantParams<T> q = p[c];
                    for (int64_t i = 0; i < inner; ++i) dst[i] = element(row[i], q);
                }
            }
        }
    };
    split_outer_rows(outer, static_cast<size_t>(outer * depth * inner) * sizeof(T), pool, rows);
}

template <typename T>
void gradient_per_axis(const T *g, const T *x, T *dx, int64_t outer, int64_t depth, int64_t inner, const T *mins,
                       const T *maxs, ThreadPool *pool) {
    auto rows = [=](int64_t ob, int64_t oe) {
        for (int64_t o = ob; o < oe; ++o) {
            if (inner == 1) {
                for (int64_t c = 0; c < depth; ++c) {
                    const int64_t k = o * depth + c;
                    dx[k] = g[k] * ((x[k] >= mins[c] && x[k] <= maxs[c]) ? T(1) : T(0));
                }
            } else {
                for (int64_t c = 0; c < depth; ++c) {
                    const int64_t k0 = (o * depth + c) * inner;
                    const T lo = mins[c], hi = maxs[c];
                    for (int64_t i = k0; i < k0 + inner; ++i) dx[i] = g[i] * ((x[i] >= lo && x[i] <= hi) ? T(1) : T(0));
                }
            }
        }
    };
    split_outer_rows(outer, static_cast<size_t>(outer * depth * inner) * sizeof(T), pool, rows);
}

template void forward_given<float>(const float *, float *, int64_t, float, float, ThreadPool *);
template void forward_given<double>(const double *, double *, int64_t, double, double, ThreadPool *);
template void forward_computed<float>(const float *, float *, int64_t, ThreadPool *);
template void forward_computed<double>(const double *, double *, int64_t, ThreadPool *);
template void gradient<float>(const float *, const float *, float *, int64_t, float, float, ThreadPool *);
template void gradient<double>(const double *, const double *, double *, int64_t, double, double, ThreadPool *);
template void forward_per_axis<float>(const float *, float *, int64_t, int64_t, int64_t, const float *, const float *,
                                      ThreadPool *);
template void forward_per_axis<double>(const double *, double *, int64_t, int64_t, int64_t, const double *,
                                       const double *, ThreadPool *);
template void gradient_per_axis<float>(const float *, const float *, float *, int64_t, int64_t, int64_t, const float *,
                                       const float *, ThreadPool *);
template void gradient_per_axis<double>(const double *, const double *, double *, int64_t, int64_t, int64_t,
                                        const double *, const double *, ThreadPool *);

}  // namespace qdq_bench::plain
