// The arithmetic floor of a per-axis call's slice table (see bandwidth_limits.h): a plain loop,
// compiled for this machine's widest vectors (bench/CMakeLists.txt: -march=native, and 512-bit
// vectors where the compiler would otherwise keep to 256 bits on AVX-512, as the kernels divide in
// 512-bit vectors there: 0.60 -> 0.51 ns a float32 slice here). Exact division vectorises without
// fast-math.
#include "bandwidth_limits.h"

namespace qdq_bench {

template <typename T>
void slice_divisions(const T *lo, const T *hi, T *out, int64_t n) {
    const T min_q = -128, max_q = 127;  // signed 8 bits
    for (int64_t i = 0; i < n; ++i) {
        const T from_min = min_q / lo[i], from_max = max_q / hi[i];
        const bool min_side = from_min < from_max;
        out[i] = from_min;
        out[n + i] = from_max;
        out[2 * n + i] = (min_side ? lo[i] : hi[i]) / (min_side ? min_q : max_q);
    }
}

template void slice_divisions<float>(const float *, const float *, float *, int64_t);
template void slice_divisions<double>(const double *, const double *, double *, int64_t);

}  // namespace qdq_bench
