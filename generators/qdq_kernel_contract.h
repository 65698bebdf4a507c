// What the kernels and the library calling them (src/) must agree on. Plain C++ (no Halide), so
// that both include it; the Android kernel set ships it with the kernels' headers.
#pragma once

namespace qdq_contract {

// Below this many elements a CPU kernel runs on the calling thread: a parallel region costs a few
// microseconds, which is more than the whole call at these sizes. src/ also runs its kernels
// built without Halide's run-time checks below it.
constexpr int kParallelThreshold = 1 << 17;

// The range-computed "rows" kernels reduce along rows of at least this many elements, in
// segments; src/ sends shorter rows to the "columns" kernels. On the CPU a row must hold a few
// vectors; on GPUs, one block's threads.
constexpr int kMinRowLength = 256;
// Host, below kParallelThreshold: a tensor-wide slice (per-tensor) of at least this many elements
// goes to the "small" kernel (one serial pass, no run-time checks), shorter ones to "columns".
constexpr int kSmallMinRow = 64;
constexpr int kGpuThreads = 256;  // threads per GPU block
constexpr int kGpuMinRowLength = kGpuThreads;

}  // namespace qdq_contract
