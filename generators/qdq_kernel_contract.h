// What the kernels and the library calling them (src/) must agree on. Plain C++ (no Halide), so
// that both include it; the Android kernel set ships it with the kernels' headers.
#pragma once

namespace qdq_contract {

// Below this many bytes of tensor (2^16 float32 or 2^15 float64 elements) a CPU kernel runs on
// the calling thread: even with qdq's pool, whose workers spin between calls
// (runtime/qdq_thread_pool.cpp), a parallel loop costs about a microsecond (0.85 us measured
// on 2 cores), a quarter of a call at this size.
constexpr long long kParallelThresholdBytes = 1LL << 18;
// Below twice the threshold, a forward call (its per-slice values are computed by the call
// itself, and reach the other threads from the writer's cache, line by line) splits only with
// slices of at least this many elements: float32 2^16 elements in 1024 slices took 6.3 us on one
// thread, 7.2-10 us on two.
constexpr int kParallelSliceElements = 256;

// Whether a CPU call of `elements` elements of `element_bytes` bytes in `depth` slices runs on
// the calling thread; the generators' splits_over_threads is the same rule in Halide. src/ runs
// the kernels built without Halide's run-time checks for those calls.
constexpr bool runs_on_one_thread(long long elements, long long depth, bool forward, int element_bytes) {
    const long long threshold = kParallelThresholdBytes / element_bytes;
    if (elements < threshold) return true;
    return forward && elements < 2 * threshold && depth * kParallelSliceElements > elements;
}

// The range-computed "rows" kernels reduce along rows of at least this many elements, in
// segments; src/ sends shorter rows to the "columns" kernels. On the CPU a row must hold a few
// vectors; on GPUs, one block's threads.
constexpr int kMinRowLength = 256;
constexpr int kGpuThreads = 256;  // threads per GPU block
constexpr int kGpuMinRowLength = kGpuThreads;

}  // namespace qdq_contract
