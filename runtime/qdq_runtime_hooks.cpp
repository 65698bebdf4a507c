#include "qdq_runtime_hooks.h"

#include "qdq_kernels.h"  // generated: says which GPU back ends are compiled in
#include "qdq_thread_pool.h"

#include <HalideRuntime.h>
#if QDQ_HAS_CUDA
#include <HalideRuntimeCuda.h>
#endif

#include <dlfcn.h>
#include <pthread.h>
#if defined(__x86_64__)
#include <cpuid.h>
#endif

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <mutex>

namespace qdq::runtime {
namespace {

std::atomic<int> g_isa_cap{0};

void error_handler(void *user_context, const char *message) {
    if (user_context != nullptr) {
        auto *ctx = static_cast<CallContext *>(user_context);
        if (ctx->error.empty()) ctx->error = message;
    }
}

// ---- Host scratch memory (see scratch_malloc in the header).
// A block is [64-byte header holding its size class][payload]: the header keeps the payload
// 64-byte aligned and makes the 8 bytes before it readable, as halide_malloc requires.
constexpr size_t kScratchHeader = 64;
constexpr int kMaxCachedBlocks = 32;

struct ScratchCache {
    std::mutex mutex;
    void *blocks[kMaxCachedBlocks] = {};  // headers of free blocks, most recently freed last
    int count = 0;
    size_t bytes = 0;
};

ScratchCache &scratch_cache() {
    static ScratchCache *cache = new ScratchCache;  // never destroyed: kernels may run at exit
    return *cache;
}

size_t &size_class_of(void *header) {
    return *static_cast<size_t *>(header);
}

// In front of the shared cache, each thread keeps the last few small blocks it freed, without a
// lock: a kernel allocates and frees the same few blocks on every call, and the shared cache's
// mutex took ~15% of a small call (per-axis, range computed, 2 elements: 4 blocks, 8 lock/unlock
// pairs). Trivially destructible, so it stays valid for the thread's whole life (kernels may run
// in other objects' destructors); a pthread key frees the blocks when a thread ends.
constexpr int kLocalBlocks = 8;
constexpr size_t kLocalMaxClass = size_t(64) << 10;  // so at most 512 KiB a thread

struct LocalScratch {
    void *blocks[kLocalBlocks];  // headers, the first `count` set
    int count;
    bool registered;  // with local_scratch_key, for the clean-up at thread exit
};
thread_local LocalScratch t_local_scratch;  // zero-initialised

// A free block of `size_class` from a list of `*count` block headers, taken out of it; null if none.
void *take_block(void **blocks, int *count, size_t size_class) {
    for (int i = *count - 1; i >= 0; --i) {
        void *header = blocks[i];
        if (size_class_of(header) != size_class) continue;
        blocks[i] = blocks[--*count];
        return header;
    }
    return nullptr;
}

void free_blocks(void **blocks, int *count) {
    for (int i = 0; i < *count; ++i) std::free(blocks[i]);
    *count = 0;
}

void free_local_blocks(LocalScratch *local) {
    free_blocks(local->blocks, &local->count);
}

pthread_key_t local_scratch_key() {
    static const pthread_key_t key = [] {
        pthread_key_t k;
        pthread_key_create(&k, [](void *p) {
            auto *local = static_cast<LocalScratch *>(p);
            free_local_blocks(local);
            local->registered = false;  // a later free (another exit-time destructor) registers again
        });
        return k;
    }();
    return key;
}

void *halide_scratch_malloc(void *, size_t bytes) {
    return scratch_malloc(bytes);
}
void halide_scratch_free(void *, void *block) {
    scratch_free(block);
}

#if QDQ_HAS_CUDA
// ---- CUDA: the driver API, loaded at run time (no GPU or driver is needed to build or link).
using CUresult = int;
using CUcontext = void *;
using CUdevice = int;
struct CudaDriver {
    bool loaded = false;
    std::string why;
    CUresult (*cuInit)(unsigned) = nullptr;
    CUresult (*cuDeviceGetCount)(int *) = nullptr;
    CUresult (*cuDeviceGet)(CUdevice *, int) = nullptr;
    CUresult (*cuCtxGetCurrent)(CUcontext *) = nullptr;
    CUresult (*cuDevicePrimaryCtxRetain)(CUcontext *, CUdevice) = nullptr;
    CUcontext primary = nullptr;  // device 0's primary context, retained once
    // Stream-ordered memory and copies (CUDA 11.2 drivers and later), for the call tables.
    CUresult (*cuCtxPushCurrent)(CUcontext) = nullptr;
    CUresult (*cuCtxPopCurrent)(CUcontext *) = nullptr;
    CUresult (*cuCtxGetDevice)(CUdevice *) = nullptr;
    CUresult (*cuMemPoolCreate)(void **, const void *) = nullptr;
    CUresult (*cuMemPoolSetAttribute)(void *, int, void *) = nullptr;
    CUresult (*cuMemPoolTrimTo)(void *, size_t) = nullptr;
    CUresult (*cuMemAllocFromPoolAsync)(uint64_t *, size_t, void *, void *) = nullptr;
    CUresult (*cuMemFreeAsync)(uint64_t, void *) = nullptr;
    CUresult (*cuMemcpyHtoDAsync)(uint64_t, const void *, size_t, void *) = nullptr;
    CUresult (*cuMemcpyDtoHAsync)(void *, uint64_t, size_t, void *) = nullptr;
    CUresult (*cuStreamSynchronize)(void *) = nullptr;
};

template <typename F>
bool load_symbol(void *lib, const char *name, F *fn) {
    *fn = reinterpret_cast<F>(dlsym(lib, name));
    return *fn != nullptr;
}

CudaDriver &cuda_driver() {
    static CudaDriver driver = [] {
        CudaDriver d;
        void *lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_GLOBAL);
        if (!lib) lib = dlopen("libcuda.so", RTLD_NOW | RTLD_GLOBAL);
        if (!lib) {
            d.why = "the CUDA driver (libcuda.so.1) was not found";
            return d;
        }
        d.cuInit = reinterpret_cast<decltype(d.cuInit)>(dlsym(lib, "cuInit"));
        d.cuDeviceGetCount = reinterpret_cast<decltype(d.cuDeviceGetCount)>(dlsym(lib, "cuDeviceGetCount"));
        d.cuDeviceGet = reinterpret_cast<decltype(d.cuDeviceGet)>(dlsym(lib, "cuDeviceGet"));
        d.cuCtxGetCurrent = reinterpret_cast<decltype(d.cuCtxGetCurrent)>(dlsym(lib, "cuCtxGetCurrent"));
        d.cuDevicePrimaryCtxRetain =
            reinterpret_cast<decltype(d.cuDevicePrimaryCtxRetain)>(dlsym(lib, "cuDevicePrimaryCtxRetain"));
        if (!d.cuInit || !d.cuDeviceGetCount || !d.cuDeviceGet || !d.cuCtxGetCurrent || !d.cuDevicePrimaryCtxRetain) {
            d.why = "the CUDA driver lacks a required entry point";
            return d;
        }
        const bool stream_ordered = load_symbol(lib, "cuCtxPushCurrent_v2", &d.cuCtxPushCurrent) &&
                                    load_symbol(lib, "cuCtxPopCurrent_v2", &d.cuCtxPopCurrent) &&
                                    load_symbol(lib, "cuCtxGetDevice", &d.cuCtxGetDevice) &&
                                    load_symbol(lib, "cuMemPoolCreate", &d.cuMemPoolCreate) &&
                                    load_symbol(lib, "cuMemPoolSetAttribute", &d.cuMemPoolSetAttribute) &&
                                    load_symbol(lib, "cuMemPoolTrimTo", &d.cuMemPoolTrimTo) &&
                                    load_symbol(lib, "cuMemAllocFromPoolAsync", &d.cuMemAllocFromPoolAsync) &&
                                    load_symbol(lib, "cuMemFreeAsync", &d.cuMemFreeAsync) &&
                                    load_symbol(lib, "cuMemcpyHtoDAsync_v2", &d.cuMemcpyHtoDAsync) &&
                                    load_symbol(lib, "cuMemcpyDtoHAsync_v2", &d.cuMemcpyDtoHAsync) &&
                                    load_symbol(lib, "cuStreamSynchronize", &d.cuStreamSynchronize);
        if (!stream_ordered) {
            d.why = "the CUDA driver is older than CUDA 11.2 (no stream-ordered memory allocation)";
            return d;
        }
        int count = 0;
        if (d.cuInit(0) != 0 || d.cuDeviceGetCount(&count) != 0 || count <= 0) {
            d.why = "the CUDA driver found no usable device";
            return d;
        }
        d.loaded = true;
        return d;
    }();
    return driver;
}

// The context a call runs in: the caller's, else the current one, else device 0's primary
// context (retained on first use when `create`).
int acquire_cuda_context(void *user_context, void **ctx, bool create) {
    auto *call = static_cast<CallContext *>(user_context);
    if (call && call->cuda_context) {
        *ctx = call->cuda_context;
        return 0;
    }
    CudaDriver &d = cuda_driver();
    if (!d.loaded) {
        if (call && call->error.empty()) call->error = "CUDA unavailable: " + d.why;
        return -1;
    }
    CUcontext current = nullptr;
    if (d.cuCtxGetCurrent(&current) == 0 && current) {
        *ctx = current;
        return 0;
    }
    static std::mutex mutex;
    std::lock_guard<std::mutex> lock(mutex);
    if (!d.primary && create) {
        CUdevice dev = 0;
        if (d.cuDeviceGet(&dev, 0) != 0 || d.cuDevicePrimaryCtxRetain(&d.primary, dev) != 0) {
            if (call && call->error.empty()) call->error = "CUDA: could not retain device 0's primary context";
            return -1;
        }
    }
    *ctx = d.primary;
    return 0;
}

int release_cuda_context(void *) {
    return 0;
}

// ---- The call tables' device memory: qdq's own memory pool per device, so that its release
// threshold (memory kept between calls) is ours to set, not the device's default pool's.
constexpr int kMaxCudaDevices = 64;
constexpr uint64_t kPoolKeepBytes = uint64_t(64) << 20;

struct CudaPools {
    std::mutex mutex;
    void *pool[kMaxCudaDevices] = {};
};
CudaPools &cuda_pools() {
    static CudaPools *pools = new CudaPools;  // never destroyed: calls may run at exit
    return *pools;
}

// CUmemPoolProps (cuda.h), pinned device memory on one device; the rest zero.
struct PoolProps {
    int alloc_type = 1;     // CU_MEM_ALLOCATION_TYPE_PINNED
    int handle_types = 0;   // CU_MEM_HANDLE_TYPE_NONE
    int location_type = 1;  // CU_MEM_LOCATION_TYPE_DEVICE
    int location_id = 0;
    unsigned char rest[72] = {};
};
static_assert(sizeof(PoolProps) == 88, "CUmemPoolProps is 88 bytes");

// Runs `op` with the call's context current; an error goes to call->error.
template <typename Op>
int with_cuda_context(CallContext *call, const char *what, Op op) {
    CudaDriver &d = cuda_driver();
    void *ctx = nullptr;
    if (acquire_cuda_context(call, &ctx, true) != 0) return -1;
    // Usually the caller's context is current already (frameworks make it so): then no push/pop.
    CUcontext current = nullptr;
    const bool push = d.cuCtxGetCurrent(&current) != 0 || current != ctx;
    if (push && d.cuCtxPushCurrent(ctx) != 0) {
        if (call->error.empty()) call->error = "CUDA: could not make the call's context current";
        return -1;
    }
    const CUresult rc = op(d);
    CUcontext popped = nullptr;
    if (push) d.cuCtxPopCurrent(&popped);
    if (rc != 0 && call->error.empty())
        call->error = std::string("CUDA: ") + what + " failed (CUresult " + std::to_string(rc) + ")";
    return rc == 0 ? 0 : -1;
}

int get_cuda_stream(void *user_context, void *, void **stream) {
    auto *call = static_cast<CallContext *>(user_context);
    *stream = call ? call->cuda_stream : nullptr;
    return 0;
}
#endif

}  // namespace

void install_hooks() {
    static std::once_flag once;
    std::call_once(once, [] {
        halide_set_error_handler(error_handler);
        halide_set_custom_malloc(halide_scratch_malloc);
        halide_set_custom_free(halide_scratch_free);
        halide_set_custom_do_par_for(pool_do_par_for);
        // Device staging buffers (host-memory ranges) come from a cache, not cuMemAlloc/cuMemFree
        // per call.
        halide_reuse_device_allocations(nullptr, true);
#if QDQ_HAS_CUDA
        halide_set_cuda_acquire_context(acquire_cuda_context);
        halide_set_cuda_release_context(release_cuda_context);
        halide_set_cuda_get_stream(get_cuda_stream);
#endif
    });
}

#if QDQ_HAS_CUDA
int cuda_table_alloc(CallContext *call, size_t bytes, uint64_t *device) {
    return with_cuda_context(call, "allocating a call table (cuMemAllocFromPoolAsync)", [&](CudaDriver &d) {
        CUdevice dev = 0;
        if (CUresult rc = d.cuCtxGetDevice(&dev); rc != 0) return rc;
        if (dev < 0 || dev >= kMaxCudaDevices) return CUresult(101);  // CUDA_ERROR_INVALID_DEVICE
        CudaPools &pools = cuda_pools();
        void *pool = nullptr;
        {
            std::lock_guard<std::mutex> lock(pools.mutex);
            if (!pools.pool[dev]) {
                PoolProps props;
                props.location_id = dev;
                void *created = nullptr;
                if (CUresult rc = d.cuMemPoolCreate(&created, &props); rc != 0) return rc;
                uint64_t keep = kPoolKeepBytes;
                d.cuMemPoolSetAttribute(created, 4 /* CU_MEMPOOL_ATTR_RELEASE_THRESHOLD */, &keep);
                pools.pool[dev] = created;
            }
            pool = pools.pool[dev];
        }
        return d.cuMemAllocFromPoolAsync(device, bytes, pool, call->cuda_stream);
    });
}

int cuda_table_free(CallContext *call, uint64_t device) {
    return with_cuda_context(call, "cuMemFreeAsync",
                             [&](CudaDriver &d) { return d.cuMemFreeAsync(device, call->cuda_stream); });
}

int cuda_copy_to_device(CallContext *call, uint64_t device, const void *host, size_t bytes) {
    return with_cuda_context(call, "cuMemcpyHtoDAsync", [&](CudaDriver &d) {
        return d.cuMemcpyHtoDAsync(device, host, bytes, call->cuda_stream);
    });
}

int cuda_copy_to_host(CallContext *call, void *host, uint64_t device, size_t bytes) {
    return with_cuda_context(call, "copying a call table back (cuMemcpyDtoHAsync)", [&](CudaDriver &d) {
        if (CUresult rc = d.cuMemcpyDtoHAsync(host, device, bytes, call->cuda_stream); rc != 0) return rc;
        return d.cuStreamSynchronize(call->cuda_stream);
    });
}
#endif

void set_isa_cap(int level) {
    g_isa_cap.store(level, std::memory_order_relaxed);
}
int isa_cap() {
    return g_isa_cap.load(std::memory_order_relaxed);
}

int best_isa_level() {
#if defined(__x86_64__)
    // Asked on every call: the CPU's answer, once.
    static const int level = [] {
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
            __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
            __builtin_cpu_supports("avx512cd"))
            return 1;
        if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c")) return 2;
        if (__builtin_cpu_supports("sse4.1")) return 3;
        return 4;
    }();
    return level;
#elif defined(__aarch64__) || defined(__arm__)
    // AArch64 always has NEON. The arm-32 kernels are ARMv7-A NEON code, which Android's
    // armeabi-v7a requires (NDK r21 on) and every ARMv8 core running 32-bit code has.
    return 5;
#else
    return 0;
#endif
}

bool splits_512_bit_vectors() {
#if defined(__x86_64__)
    static const bool split = [] {
        unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
        if (!__get_cpuid(0, &eax, &ebx, &ecx, &edx)) return false;
        const bool amd = ebx == 0x68747541 && edx == 0x69746e65 && ecx == 0x444d4163;  // "AuthenticAMD"
        if (!amd || !__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return false;
        unsigned family = (eax >> 8) & 0xf;
        if (family == 0xf) family += (eax >> 20) & 0xff;
        // Family 19h with AVX-512 is Zen 4 (Zen 3 has none). Zen 5 (1Ah) has full-width units.
        return family == 0x19 && best_isa_level() == 1;
    }();
    return split;
#else
    return false;
#endif
}

void *scratch_malloc(size_t bytes) {
    // Power-of-two classes from 4 KiB, with room for the header and for reads just past the end.
    if (bytes > (SIZE_MAX >> 2)) return nullptr;  // also keeps bytes + the slack from wrapping
    size_t size_class = 4096;
    while (size_class < bytes + kScratchHeader + 64) size_class <<= 1;
    LocalScratch &local = t_local_scratch;
    if (void *header = take_block(local.blocks, &local.count, size_class)) {
        return static_cast<char *>(header) + kScratchHeader;
    }
    ScratchCache &cache = scratch_cache();
    {
        std::lock_guard<std::mutex> lock(cache.mutex);
        if (void *header = take_block(cache.blocks, &cache.count, size_class)) {
            cache.bytes -= size_class;
            return static_cast<char *>(header) + kScratchHeader;
        }
    }
    void *header = nullptr;
    if (posix_memalign(&header, 64, size_class) != 0) return nullptr;
    size_class_of(header) = size_class;
    return static_cast<char *>(header) + kScratchHeader;
}

void scratch_free(void *block) {
    if (block == nullptr) return;
    void *header = static_cast<char *>(block) - kScratchHeader;
    const size_t size_class = size_class_of(header);
    if (size_class > kScratchCacheBytes) {
        std::free(header);
        return;
    }
    LocalScratch &local = t_local_scratch;
    if (size_class <= kLocalMaxClass && local.count < kLocalBlocks) {
        if (!local.registered) {
            local.registered = true;
            pthread_setspecific(local_scratch_key(), &local);
        }
        local.blocks[local.count++] = header;
        return;
    }
    ScratchCache &cache = scratch_cache();
    std::lock_guard<std::mutex> lock(cache.mutex);
    // Make room: the least recently freed blocks go first.
    while (cache.count == kMaxCachedBlocks || cache.bytes + size_class > kScratchCacheBytes) {
        void *oldest = cache.blocks[0];
        cache.bytes -= size_class_of(oldest);
        --cache.count;
        for (int i = 0; i < cache.count; ++i) cache.blocks[i] = cache.blocks[i + 1];
        std::free(oldest);
    }
    cache.blocks[cache.count++] = header;
    cache.bytes += size_class;
}

void release_scratch_cache() {
    free_local_blocks(&t_local_scratch);  // other threads keep theirs (at most 512 KiB each)
    ScratchCache &cache = scratch_cache();
    {
        std::lock_guard<std::mutex> lock(cache.mutex);
        free_blocks(cache.blocks, &cache.count);
        cache.bytes = 0;
    }
#if QDQ_HAS_CUDA
    // Pool memory no call is using goes back to the driver (memory still in use stays).
    CudaDriver &d = cuda_driver();
    if (d.loaded) {
        CudaPools &pools = cuda_pools();
        std::lock_guard<std::mutex> lock(pools.mutex);
        for (void *pool : pools.pool) {
            if (pool) d.cuMemPoolTrimTo(pool, 0);
        }
    }
#endif
}

bool cuda_available(std::string *why) {
#if QDQ_HAS_CUDA
    CudaDriver &d = cuda_driver();
    if (!d.loaded && why) *why = d.why;
    return d.loaded;
#else
    if (why) *why = "this build of qdq has no CUDA kernels";
    return false;
#endif
}

bool opencl_available(std::string *why) {
#if QDQ_HAS_OPENCL
    static const std::string reason = [] {
        void *lib = dlopen("libOpenCL.so.1", RTLD_NOW | RTLD_GLOBAL);
        if (!lib) lib = dlopen("libOpenCL.so", RTLD_NOW | RTLD_GLOBAL);
        if (!lib) return std::string("the OpenCL loader (libOpenCL.so.1) was not found");
        using GetPlatforms = int (*)(unsigned, void **, unsigned *);
        auto get_platforms = reinterpret_cast<GetPlatforms>(dlsym(lib, "clGetPlatformIDs"));
        unsigned count = 0;
        if (!get_platforms || get_platforms(0, nullptr, &count) != 0 || count == 0) {
            return std::string("no OpenCL platform is installed");
        }
        return std::string();
    }();
    if (!reason.empty() && why) *why = reason;
    return reason.empty();
#else
    if (why) *why = "this build of qdq has no OpenCL kernels";
    return false;
#endif
}

}  // namespace qdq::runtime
