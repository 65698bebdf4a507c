// qdq's hooks into the Halide runtime (errors, threads, the CUDA context and stream) and the
// CPU feature check behind the instruction-set dispatch in src/.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace qdq::runtime {

// Passed as the Halide user_context of every kernel call: the runtime's error handler writes
// the message here instead of printing it (and never aborts); the CUDA hooks read the
// caller's context and stream from it.
struct CallContext {
    std::string error;
    void *cuda_context = nullptr;  // CUcontext; null: current, else device 0's primary context
    void *cuda_stream = nullptr;   // CUstream; null: the legacy default stream
    // Host calls: the bytes of the distinct tensors the kernel reads and writes, by which qdq's
    // thread pool places the tasks (qdq_thread_pool.cpp).
    int64_t working_set_bytes = 0;
};

// Installs the hooks once; cheap to call on every API call.
void install_hooks();

// Caps the instruction-set variant src/ dispatches to:
// 0 = best, 1 = AVX-512, 2 = AVX2, 3 = SSE4.1, 4 = baseline x86-64, 5 = NEON (qdq::Isa).
void set_isa_cap(int level);
int isa_cap();
// The best level this CPU supports (1..4 on x86, 5 on ARM; 0 elsewhere).
int best_isa_level();

// The most threads a kernel call may run on at once (qdq::set_num_threads; 0: one per core).
// Kept by qdq's thread pool (qdq_thread_pool.cpp).
void set_num_threads(int n);
// The most threads seen running parallel loops' tasks at once since the last reset (for tests).
int task_concurrency_peak(bool reset);

// Whether this CPU executes 512-bit vector operations as two 256-bit halves (AMD Zen 4), where
// some AVX2 kernels beat their AVX-512 builds (src/ picks per kernel).
bool splits_512_bit_vectors();

// Host scratch memory: what the kernels allocate (Halide's halide_malloc, installed by
// install_hooks) and src/'s per-call slice ranges. Freed blocks are kept for the next call,
// by power-of-two size class, up to kScratchCacheBytes in all: on the virtual machines qdq runs
// on, a page costs 12-20 us on its first touch, and glibc hands freed memory back to the
// kernel (heap trim, munmap), so without the cache every call would fault its scratch in again.
// Each thread also keeps up to 8 freed blocks of up to 64 KiB for itself, without a lock (freed
// when it ends). Blocks are 64-byte aligned.
constexpr size_t kScratchCacheBytes = size_t(64) << 20;
void *scratch_malloc(size_t bytes);
void scratch_free(void *block);
// Frees the cached blocks, and the CUDA pool memory no call is using (qdq::release_cached_memory).
void release_scratch_cache();

// CUDA: device memory for a call's small host-side tables (the given ranges going in, the
// slice ranges coming out), ordered on the call's stream: allocated from qdq's memory pool
// (cuMemAllocFromPoolAsync), filled and read back by copies on that stream, freed with
// cuMemFreeAsync. No device-wide sync, and a block is never reused before the work queued
// on it has run. Each runs in the call's context and returns 0, or sets call->error.
// cuda_copy_to_host returns once the data is in host memory.
int cuda_table_alloc(CallContext *call, size_t bytes, uint64_t *device);
int cuda_table_free(CallContext *call, uint64_t device);
int cuda_copy_to_device(CallContext *call, uint64_t device, const void *host, size_t bytes);
int cuda_copy_to_host(CallContext *call, void *host, uint64_t device, size_t bytes);

// Whether a CUDA driver and device / an OpenCL platform with a device can be used here.
bool cuda_available(std::string *why);
bool opencl_available(std::string *why);

}  // namespace qdq::runtime
