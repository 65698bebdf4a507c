// Small helpers shared by the test suites: bit comparison, sentinels, shapes, ISA loops.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "qdq/qdq.h"

namespace qdq_test {

template <typename T>
struct BitsOf;
template <>
struct BitsOf<float> {
    using type = uint32_t;
};
template <>
struct BitsOf<double> {
    using type = uint64_t;
};

template <typename T>
typename BitsOf<T>::type to_bits(T v) {
    typename BitsOf<T>::type b;
    std::memcpy(&b, &v, sizeof b);
    return b;
}

template <typename T>
T from_bits(typename BitsOf<T>::type b) {
    T v;
    std::memcpy(&v, &b, sizeof v);
    return v;
}

// Results are compared bit for bit (spec 9 fixes the sign of zero); any NaN equals any NaN.
template <typename T>
bool same_bits(T a, T b) {
    return (std::isnan(a) && std::isnan(b)) || to_bits(a) == to_bits(b);
}

// A signalling NaN with a distinctive payload: no kernel produces it, so "still the sentinel"
// means "not written".
template <typename T>
T sentinel();
template <>
inline float sentinel<float>() {
    return from_bits<float>(0x7fa5a5a5u);
}
template <>
inline double sentinel<double>() {
    return from_bits<double>(0x7ff5a5a5a5a5a5a5ull);
}

template <typename T>
void fill_sentinel(std::vector<T> &v) {
    std::fill(v.begin(), v.end(), sentinel<T>());
}

template <typename T>
bool all_sentinel(const T *p, size_t n) {
    for (size_t i = 0; i < n; ++i)
        if (to_bits(p[i]) != to_bits(sentinel<T>())) return false;
    return true;
}

template <typename T>
bool all_sentinel(const std::vector<T> &v) {
    return all_sentinel(v.data(), v.size());
}

template <typename T>
bool same_bits(const std::vector<T> &a, const std::vector<T> &b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (to_bits(a[i]) != to_bits(b[i])) return false;
    return true;
}

inline qdq::Shape make_shape(const std::vector<int64_t> &dims) {
    return qdq::Shape(dims.data(), static_cast<int>(dims.size()));
}

inline int64_t num_elements(const std::vector<int64_t> &dims) {
    int64_t n = 1;
    for (int64_t d : dims) n *= d;
    return n;
}

inline std::string shape_str(const std::vector<int64_t> &dims) {
    std::string s = "[";
    for (size_t i = 0; i < dims.size(); ++i) s += (i ? "," : "") + std::to_string(dims[i]);
    return s + "]";
}

// A value as decimal and as its exact hex form, for failure messages; the sentinel reads "not written".
template <typename T>
std::string fmt(T v) {
    char buf[96];
    if (std::isnan(v)) {
        const auto bits = static_cast<unsigned long long>(to_bits(v));
        const bool untouched = to_bits(v) == to_bits(sentinel<T>());
        std::snprintf(buf, sizeof buf, "%snan (bits 0x%llx%s)", std::signbit(v) ? "-" : "", bits,
                      untouched ? ": the sentinel, not written" : "");
        return buf;
    }
    std::snprintf(buf, sizeof buf, "%.17g (%a)", static_cast<double>(v), static_cast<double>(v));
    return buf;
}

inline std::string axis_str(std::optional<int> axis) {
    return axis ? std::to_string(*axis) : std::string("none");
}

inline std::string options_str(const qdq::QuantizeOptions &o) {
    std::ostringstream s;
    s << "signed=" << o.signed_input << " num_bits=" << o.num_bits << " range_given=" << o.range_given
      << " round=" << (o.round_mode == qdq::RoundMode::HALF_UP ? "HALF_UP" : "HALF_TO_EVEN")
      << " narrow=" << o.narrow_range << " axis=" << axis_str(o.axis);
    return s.str();
}

inline std::string lower(std::string s) {
    for (char &ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return s;
}

inline bool contains(const std::string &haystack, const std::string &needle) {
    return haystack.find(needle) != std::string::npos;
}

inline bool contains_ci(const std::string &haystack, const std::string &needle) {
    return contains(lower(haystack), lower(needle));
}

// The CPU code paths of this build, best first; ISAs this CPU cannot run are skipped with a message.
inline const std::vector<qdq::Isa> &all_isas() {
#if defined(__x86_64__)
    static const std::vector<qdq::Isa> isas = {qdq::Isa::kAvx512, qdq::Isa::kAvx2, qdq::Isa::kSse41,
                                               qdq::Isa::kBaseline};
#else
    static const std::vector<qdq::Isa> isas = {qdq::Isa::kNeon};
#endif
    return isas;
}

inline bool isa_supported(qdq::Isa isa) {
    return static_cast<int>(isa) >= static_cast<int>(qdq::best_supported_isa());
}

// Restores the library-wide controls even if an assertion throws.
struct GlobalControlsGuard {
    GlobalControlsGuard() = default;
    GlobalControlsGuard(const GlobalControlsGuard &) = delete;
    GlobalControlsGuard &operator=(const GlobalControlsGuard &) = delete;
    ~GlobalControlsGuard() {
        qdq::set_max_isa(qdq::Isa::kBest);
        qdq::set_num_threads(0);
    }
};

// Runs f(isa) once per CPU code path, with set_max_isa(isa) in force.
template <typename F>
void for_each_isa(F &&f) {
    GlobalControlsGuard guard;
    for (qdq::Isa isa : all_isas()) {
        if (!isa_supported(isa)) {
            MESSAGE("skipping ISA " << std::string(qdq::isa_name(isa)) << ": this CPU supports at most "
                                    << std::string(qdq::isa_name(qdq::best_supported_isa())));
            continue;
        }
        qdq::set_max_isa(isa);
        REQUIRE(qdq::max_isa() == isa);
        INFO("isa = " << std::string(qdq::isa_name(isa)));
        f(isa);
    }
}

}  // namespace qdq_test
