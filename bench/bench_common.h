// Shared pieces of the qdq CPU benchmark: test data, page-touched buffers, a small persistent
// thread pool for the all-core limits and the plain-loop peer, and the spec's range arithmetic.
#pragma once

#include "reference.h"  // tests/: the spec's arithmetic, loop by loop

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace qdq_bench {

// ---------------------------------------------------------------------------------------------
// Test data. Element i of stream `seed` is a uniform value in [-1, 1) with 24 random bits, so it
// is exact in float and double and the Python peers (bench/peers.py) rebuild the very same
// tensors with NumPy: x = (splitmix64(i + seed * 2^40) >> 40) * 2^-23 - 1.
inline uint64_t splitmix64(uint64_t z) {
    z += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
inline double test_value(uint64_t seed, uint64_t i) {
    return static_cast<double>(splitmix64(i + (seed << 40)) >> 40) * (1.0 / 8388608.0) - 1.0;
}
constexpr uint64_t kSeedInput = 1;     // the tensor x
constexpr uint64_t kSeedGradient = 2;  // the incoming gradient g
// The given range of the per-tensor benchmarks: x in [-1, 1) so both sides clamp.
constexpr double kGivenMin = -0.75;
constexpr double kGivenMax = 0.75;
// Per-axis given ranges: a different range per channel, inside [-1, -0.5] x [0.5, 1].
inline double given_min(int64_t c) {
    return -0.5 - 0.5 * static_cast<double>(c % 7) / 7.0;
}
inline double given_max(int64_t c) {
    return 0.5 + 0.5 * static_cast<double>(c % 5) / 5.0;
}

// ---------------------------------------------------------------------------------------------
// A 2 MiB-aligned buffer whose pages are all touched (written) on construction, so that no
// timed call pays a first-touch page fault.
class RawBuffer {
public:
    RawBuffer() = default;
    explicit RawBuffer(size_t bytes) : bytes_(bytes) {
        constexpr size_t kAlign = size_t{2} << 20;
        size_t rounded = (std::max<size_t>(bytes, 1) + kAlign - 1) / kAlign * kAlign;
        ptr_ = static_cast<unsigned char *>(std::aligned_alloc(kAlign, rounded));
        if (!ptr_) throw std::bad_alloc();
        std::memset(ptr_, 0, rounded);
    }
    RawBuffer(const RawBuffer &) = delete;
    RawBuffer &operator=(const RawBuffer &) = delete;
    RawBuffer(RawBuffer &&o) noexcept : ptr_(o.ptr_), bytes_(o.bytes_) { o.ptr_ = nullptr; }
    RawBuffer &operator=(RawBuffer &&o) noexcept {
        std::swap(ptr_, o.ptr_);
        std::swap(bytes_, o.bytes_);
        return *this;
    }
    ~RawBuffer() { std::free(ptr_); }
    template <typename T>
    T *as() const {
        return reinterpret_cast<T *>(ptr_);
    }
    size_t bytes() const { return bytes_; }

private:
    unsigned char *ptr_ = nullptr;
    size_t bytes_ = 0;
};

// ---------------------------------------------------------------------------------------------
// A persistent pool: `run(f)` calls f(i, n) on n threads (the caller is i = 0) and returns when
// all are done. Workers spin briefly, then sleep on a condition variable, so a idle pool does not
// steal the second core from single-thread measurements for long.
class ThreadPool {
public:
    explicit ThreadPool(int n) : n_(std::max(1, n)) {
        for (int i = 1; i < n_; ++i) workers_.emplace_back([this, i] { loop(i); });
    }
    ~ThreadPool() {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            stop_ = true;
            generation_.fetch_add(1, std::memory_order_release);
        }
        cv_.notify_all();
        for (auto &t : workers_) t.join();
    }
    int size() const { return n_; }

    template <typename F>
    void run(F &&f) {
        if (n_ == 1) {
            f(0, 1);
            return;
        }
        std::function<void(int, int)> fn(std::ref(f));
        job_ = &fn;
        pending_.store(n_ - 1, std::memory_order_relaxed);
        {
            std::lock_guard<std::mutex> lock(mutex_);
            generation_.fetch_add(1, std::memory_order_release);
        }
        cv_.notify_all();
        fn(0, n_);
        for (int spins = 0; pending_.load(std::memory_order_acquire) != 0; ++spins) {
            if (spins < 1 << 11) {
                relax();
            } else {
                std::this_thread::yield();
            }
        }
        job_ = nullptr;
    }

private:
    static void relax() {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    }
    void loop(int index) {
        uint64_t seen = 0;
        for (;;) {
            uint64_t g = generation_.load(std::memory_order_acquire);
            for (int spins = 0; g == seen; g = generation_.load(std::memory_order_acquire)) {
                if (++spins < kSpins) {
                    relax();
                    continue;
                }
                std::unique_lock<std::mutex> lock(mutex_);
                cv_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen; });
                spins = 0;
            }
            seen = g;
            if (stop_) return;
            (*job_)(index, n_);
            pending_.fetch_sub(1, std::memory_order_acq_rel);
        }
    }
    static constexpr int kSpins = 2048;  // about 50 us of pause instructions
    int n_;
    std::vector<std::thread> workers_;
    std::mutex mutex_;
    std::condition_variable cv_;
    std::atomic<uint64_t> generation_{0};
    std::atomic<int> pending_{0};
    std::function<void(int, int)> *job_ = nullptr;
    bool stop_ = false;
};

// Work below this many bytes per thread runs on the calling thread alone: waking a thread costs
// more than it saves (the usual parallel-for grain size).
constexpr size_t kMinBytesPerThread = size_t{64} << 10;
inline bool worth_splitting(size_t bytes, const ThreadPool *pool) {
    return pool && pool->size() > 1 && bytes >= kMinBytesPerThread * static_cast<size_t>(pool->size());
}

// Thread i's part of [0, n): contiguous chunks, cut at multiples of 16 elements (64 bytes for
// float) so that no two threads write the same cache line.
inline void chunk(int64_t n, int i, int parts, int64_t *begin, int64_t *end) {
    auto cut = [&](int k) { return k >= parts ? n : (n * k / parts) & ~int64_t{15}; };
    *begin = cut(i);
    *end = cut(i + 1);
}

// ---------------------------------------------------------------------------------------------
// Spec section 4.3 (TF's ComputeQuantizationRange), for the C++ peers: the tests' reference
// (tests/reference.h), by default for signed 8-bit, not narrow.
template <typename T>
struct QuantParams {
    T scale, inverse_scale, min_range, max_range;
};
template <typename T>
QuantParams<T> compute_quantization_range(T min_range, T max_range, int num_bits = 8, bool signed_input = true,
                                          bool narrow_range = false) {
    const qdq_ref::SliceRange<T> r =
        qdq_ref::compute_quantization_range(min_range, max_range, signed_input, num_bits, narrow_range);
    return {r.scale, r.inv, r.min, r.max};
}

}  // namespace qdq_bench
