// Status, Shape and the small runtime controls of the public API.
#include "qdq/qdq.h"
#include "qdq_runtime_hooks.h"

#include <string>

namespace qdq {

std::string Status::ToString() const {
    switch (code_) {
        case StatusCode::kOk:
            return "OK";
        case StatusCode::kInvalidArgument:
            return "INVALID_ARGUMENT: " + message_;
        case StatusCode::kInternal:
            return "INTERNAL: " + message_;
        case StatusCode::kUnavailable:
            return "UNAVAILABLE: " + message_;
    }
    return "UNKNOWN: " + message_;
}

int64_t Shape::num_elements() const {
    // One pass (every call asks this of every tensor): a zero dimension makes the product 0 whatever
    // the others are; otherwise a negative dimension or an overflow makes it -1.
    int64_t n = 1;
    bool zero = false, invalid = false;
    for (int i = 0; i < rank_; ++i) {
        const int64_t d = dims_[static_cast<size_t>(i)];
        zero |= d == 0;
        invalid |= d < 0 || __builtin_mul_overflow(n, d, &n);
    }
    return zero ? 0 : invalid ? -1 : n;
}

std::string Shape::DebugString() const {
    std::string s = "[";
    for (int i = 0; i < rank_; ++i) {
        if (i) s += ",";
        s += std::to_string(dims_[static_cast<size_t>(i)]);
    }
    return s + "]";
}

bool operator==(const Shape &a, const Shape &b) {
    if (a.rank_ != b.rank_ || a.valid_ != b.valid_) return false;
    for (int i = 0; i < a.rank_; ++i) {
        if (a.dims_[static_cast<size_t>(i)] != b.dims_[static_cast<size_t>(i)]) return false;
    }
    return true;
}

void set_num_threads(int n) {
    runtime::install_hooks();
    runtime::set_num_threads(n);
}

void release_cached_memory() {
    runtime::release_scratch_cache();
}

void set_max_isa(Isa isa) {
    runtime::set_isa_cap(static_cast<int>(isa));
}
Isa max_isa() {
    return static_cast<Isa>(runtime::isa_cap());
}
Isa best_supported_isa() {
    return static_cast<Isa>(runtime::best_isa_level());
}

const char *isa_name(Isa isa) {
    switch (isa) {
        case Isa::kBest:
            return "best";
        case Isa::kAvx512:
            return "avx512";
        case Isa::kAvx2:
            return "avx2";
        case Isa::kSse41:
            return "sse41";
        case Isa::kBaseline:
            return "baseline";
        case Isa::kNeon:
            return "neon";
    }
    return "unknown";
}

const char *version() {
    return QDQ_VERSION;
}

}  // namespace qdq
