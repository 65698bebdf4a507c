// Compiled with -O3 -march=native (see CMakeLists.txt): the limits use the machine's widest
// vectors, as qdq's kernels do.
#include "bandwidth_limits.h"

#include <cstring>

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

template void inplace_negate<float>(float *, int64_t, ThreadPool *);
template void inplace_negate<double>(double *, int64_t, ThreadPool *);
template void stream3_add<float>(const float *, const float *, float *, int64_t, ThreadPool *);
template void stream3_add<double>(const double *, const double *, double *, int64_t, ThreadPool *);

}  // namespace qdq_bench
