#include "qdq_runtime_hooks.h"

#include <HalideRuntime.h>

#include <atomic>
#include <cstdint>
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

}  // namespace

void install_hooks() {
    static std::once_flag once;
    std::call_once(once, [] {
        halide_set_error_handler(error_handler);
    });
}

void set_isa_cap(int level) { g_isa_cap.store(level, std::memory_order_relaxed); }
int isa_cap() { return g_isa_cap.load(std::memory_order_relaxed); }

int best_isa_level() {
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512cd"))
        return 1;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c")) return 2;
    if (__builtin_cpu_supports("sse4.1")) return 3;
    return 4;
#else
    return 0;
#endif
}

void set_num_threads(int n) { halide_set_num_threads(n); }

}  // namespace qdq::runtime
