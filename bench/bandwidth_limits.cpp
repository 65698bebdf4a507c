// Compiled with -O3 -march=native (see CMakeLists.txt): the limits use the machine's widest
// vectors, as qdq's kernels do.
#include "bandwidth_limits.h"

#include <cstring>
#include <type_traits>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace qdq_bench {
namespace {

template <typename F>
void split_bytes(size_t bytes, ThreadPool *pool, F &&f) {
    if (!worth_splitting(bytes, pool)) {
        f(size_t{0}, bytes);
        return;
    }
    pool->run([&](int i, int parts) {
        // Cut at multiples of 64 bytes.
        auto cut = [&](int k) { return k >= parts ? bytes : (bytes / 64 * static_cast<size_t>(k) / parts) * 64; };
        size_t b = cut(i), e = cut(i + 1);
        if (e > b) f(b, e);
    });
}

template <typename T, typename F>
void split_elems(int64_t n, ThreadPool *pool, F &&f) {
    if (!worth_splitting(static_cast<size_t>(n) * sizeof(T), pool)) {
        f(int64_t{0}, n);
        return;
    }
    pool->run([&](int i, int parts) {
        int64_t b, e;
        chunk(n, i, parts, &b, &e);
        if (e > b) f(b, e);
    });
}

void stream_range(unsigned char *dst, const unsigned char *src, size_t bytes) {
#if defined(__AVX512F__) || defined(__AVX__) || defined(__SSE2__)
    // Head: plain copy up to 64-byte alignment of dst.
    size_t head = (64 - (reinterpret_cast<uintptr_t>(dst) & 63)) & 63;
    if (head > bytes) head = bytes;
    std::memcpy(dst, src, head);
    size_t i = head;
#if defined(__AVX512F__)
    for (; i + 64 <= bytes; i += 64) {
        _mm512_stream_ps(reinterpret_cast<float *>(dst + i), _mm512_loadu_ps(reinterpret_cast<const float *>(src + i)));
    }
#elif defined(__AVX__)
    for (; i + 32 <= bytes; i += 32) {
        _mm256_stream_ps(reinterpret_cast<float *>(dst + i), _mm256_loadu_ps(reinterpret_cast<const float *>(src + i)));
    }
#else
    for (; i + 16 <= bytes; i += 16) {
        _mm_stream_ps(reinterpret_cast<float *>(dst + i), _mm_loadu_ps(reinterpret_cast<const float *>(src + i)));
    }
#endif
    std::memcpy(dst + i, src + i, bytes - i);
    _mm_sfence();
#else
    std::memcpy(dst, src, bytes);
#endif
}

void loop_range(unsigned char *dst, const unsigned char *src, size_t bytes) {
    size_t i = 0;
#if defined(__AVX512F__)
    for (; i + 64 <= bytes; i += 64) {
        _mm512_storeu_ps(reinterpret_cast<float *>(dst + i), _mm512_loadu_ps(reinterpret_cast<const float *>(src + i)));
    }
#elif defined(__AVX__)
    for (; i + 32 <= bytes; i += 32) {
        _mm256_storeu_ps(reinterpret_cast<float *>(dst + i), _mm256_loadu_ps(reinterpret_cast<const float *>(src + i)));
    }
#elif defined(__SSE2__)
    for (; i + 16 <= bytes; i += 16) {
        _mm_storeu_ps(reinterpret_cast<float *>(dst + i), _mm_loadu_ps(reinterpret_cast<const float *>(src + i)));
    }
#endif
    std::memcpy(dst + i, src + i, bytes - i);
}

}  // namespace

const char *copy_stream_isa() {
#if defined(__AVX512F__)
    return "avx512";
#elif defined(__AVX__)
    return "avx";
#elif defined(__SSE2__)
    return "sse2";
#else
    return "memcpy";
#endif
}

void copy_memcpy(void *dst, const void *src, size_t bytes, ThreadPool *pool) {
    auto *d = static_cast<unsigned char *>(dst);
    auto *s = static_cast<const unsigned char *>(src);
    split_bytes(bytes, pool, [&](size_t b, size_t e) { std::memcpy(d + b, s + b, e - b); });
}

void copy_loop(void *dst, const void *src, size_t bytes, ThreadPool *pool) {
    auto *d = static_cast<unsigned char *>(dst);
    auto *s = static_cast<const unsigned char *>(src);
    split_bytes(bytes, pool, [&](size_t b, size_t e) { loop_range(d + b, s + b, e - b); });
}

void copy_stream(void *dst, const void *src, size_t bytes, ThreadPool *pool) {
    auto *d = static_cast<unsigned char *>(dst);
    auto *s = static_cast<const unsigned char *>(src);
    split_bytes(bytes, pool, [&](size_t b, size_t e) { stream_range(d + b, s + b, e - b); });
}

template <typename T>
void inplace_negate(T *x, int64_t n, ThreadPool *pool) {
    split_elems<T>(n, pool, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) x[i] = -x[i];
    });
}

template <typename T>
void stream3_add(const T *a, const T *b, T *out, int64_t n, ThreadPool *pool) {
    split_elems<T>(n, pool, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) out[i] = a[i] + b[i];
    });
}

template <typename T>
void slice_divisions(const T *lo, const T *hi, T *out, int64_t n) {
    const T min_q = -128, max_q = 127;  // signed 8 bits
    int64_t i = 0;
#if defined(__AVX512F__)
    // 512-bit vectors, as the kernels divide on AVX-512 (GCC's -march=native keeps to 256 bits
    // there, some 15% slower a slice).
    if constexpr (std::is_same<T, float>::value) {
        const __m512 vmin_q = _mm512_set1_ps(min_q), vmax_q = _mm512_set1_ps(max_q);
        for (; i + 16 <= n; i += 16) {
            const __m512 l = _mm512_loadu_ps(lo + i), h = _mm512_loadu_ps(hi + i);
            const __m512 from_min = _mm512_div_ps(vmin_q, l), from_max = _mm512_div_ps(vmax_q, h);
            const __mmask16 min_side = _mm512_cmp_ps_mask(from_min, from_max, _CMP_LT_OQ);
            _mm512_storeu_ps(out + i, from_min);
            _mm512_storeu_ps(out + n + i, from_max);
            _mm512_storeu_ps(out + 2 * n + i, _mm512_div_ps(_mm512_mask_blend_ps(min_side, h, l),
                                                            _mm512_mask_blend_ps(min_side, vmax_q, vmin_q)));
        }
    } else {
        const __m512d vmin_q = _mm512_set1_pd(min_q), vmax_q = _mm512_set1_pd(max_q);
        for (; i + 8 <= n; i += 8) {
            const __m512d l = _mm512_loadu_pd(lo + i), h = _mm512_loadu_pd(hi + i);
            const __m512d from_min = _mm512_div_pd(vmin_q, l), from_max = _mm512_div_pd(vmax_q, h);
            const __mmask8 min_side = _mm512_cmp_pd_mask(from_min, from_max, _CMP_LT_OQ);
            _mm512_storeu_pd(out + i, from_min);
            _mm512_storeu_pd(out + n + i, from_max);
            _mm512_storeu_pd(out + 2 * n + i, _mm512_div_pd(_mm512_mask_blend_pd(min_side, h, l),
                                                            _mm512_mask_blend_pd(min_side, vmax_q, vmin_q)));
        }
    }
#endif
    for (; i < n; ++i) {
        const T from_min = min_q / lo[i], from_max = max_q / hi[i];
        const bool min_side = from_min < from_max;
        out[i] = from_min;
        out[n + i] = from_max;
        out[2 * n + i] = (min_side ? lo[i] : hi[i]) / (min_side ? min_q : max_q);
    }
}

template void inplace_negate<float>(float *, int64_t, ThreadPool *);
template void inplace_negate<double>(double *, int64_t, ThreadPool *);
template void stream3_add<float>(const float *, const float *, float *, int64_t, ThreadPool *);
template void stream3_add<double>(const double *, const double *, double *, int64_t, ThreadPool *);
template void slice_divisions<float>(const float *, const float *, float *, int64_t);
template void slice_divisions<double>(const double *, const double *, double *, int64_t);

}  // namespace qdq_bench
