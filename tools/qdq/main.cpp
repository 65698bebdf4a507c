// qdq: command-line front end to the qdq library (TensorFlow's quantize_and_dequantize_v2 and its gradient).
#include <qdq/qdq.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <unordered_set>
#include <vector>

#include "npy.h"

namespace {

using qdq_cli::CliError;
using qdq_cli::DType;
using qdq_cli::NpyArray;

const char kUsage[] =
    R"(qdq: TensorFlow's quantize_and_dequantize_v2 (QuantizeAndDequantizeV4) and its gradient, bit for bit.

Usage:
  qdq forward --input X.npy --input-min MIN --input-max MAX --output Y.npy
              [--signed-input true|false] [--num-bits N] [--range-given true|false]
              [--round-mode HALF_TO_EVEN|HALF_UP] [--narrow-range true|false] [--axis A]
  qdq grad    --gradients G.npy --input X.npy --input-min MIN --input-max MAX --output DX.npy
              [--axis A] [--output-min-backprop F.npy] [--output-max-backprop F.npy]
  qdq demo    [--size N] [--threads T]
  qdq --version | --help

Tensors are .npy files: float32 or float64, little-endian, C order, any rank. Outputs have the input's
dtype and shape. MIN and MAX are .npy files of the input's dtype, or numbers (-1, 0.5, nan, inf), which
are scalars converted to the input's dtype. Flags may also be written --flag=value.

forward: defaults are TensorFlow's: signed input, 8 bits, range computed from the data, HALF_TO_EVEN,
  no narrow range, no --axis (one range for the whole tensor). With --axis A each slice along A gets its
  own range (MIN/MAX then hold shape[A] values); a negative A counts from the end. MIN/MAX are read only
  with --range-given true.
grad: input_backprop = gradients where MIN <= input <= MAX (bounds inclusive), else 0. No --axis means
  per-tensor (scalar MIN/MAX). The min/max backprops (zeros shaped like MIN) are written only when asked.
demo: quantizes built-in data and reports ranges, errors, levels and speed against memcpy.

On error the exit status is 1, stderr says why, and no output file is written.
)";

// A failed qdq call; printed as TensorFlow prints a Status.
struct StatusError {
    qdq::Status status;
};

// Bad command line: printed with a hint to the usage.
struct UsageError : CliError {
    using CliError::CliError;
};

// ---------------------------------------------------------------------------------------------
// Flags

class Flags {
public:
    Flags(const std::vector<std::string> &args, const std::vector<std::string> &known,
          const std::vector<std::string> &required, const std::string &command) {
        for (size_t i = 0; i < args.size(); ++i) {
            const std::string &a = args[i];
            if (a.size() < 3 || a.compare(0, 2, "--") != 0)
                throw UsageError("unexpected argument '" + a + "' for 'qdq " + command + "'");
            std::string name = a.substr(2), value;
            size_t eq = name.find('=');
            if (eq != std::string::npos) {
                value = name.substr(eq + 1);
                name = name.substr(0, eq);
            }
            if (std::find(known.begin(), known.end(), name) == known.end())
                throw UsageError("unknown flag '--" + name + "' for 'qdq " + command + "'");
            if (eq == std::string::npos) {
                // The value is always the next word, so that negative numbers (--axis -1) work.
                if (i + 1 >= args.size()) throw UsageError("flag '--" + name + "' needs a value");
                value = args[++i];
            }
            if (!values_.emplace(name, value).second) throw UsageError("flag '--" + name + "' given twice");
        }
        for (const std::string &r : required)
            if (!has(r)) throw UsageError("'qdq " + command + "' needs --" + r);
    }

    bool has(const std::string &name) const { return values_.count(name) != 0; }
    const std::string &get(const std::string &name) const { return values_.at(name); }

    bool get_bool(const std::string &name, bool def) const {
        if (!has(name)) return def;
        const std::string &v = get(name);
        if (v == "true" || v == "1") return true;
        if (v == "false" || v == "0") return false;
        throw UsageError("bad value '" + v + "' for --" + name + " (expected true or false)");
    }

    int get_int(const std::string &name, int def) const {
        if (!has(name)) return def;
        const std::string &v = get(name);
        errno = 0;
        char *end = nullptr;
        long long n = std::strtoll(v.c_str(), &end, 10);
        if (v.empty() || *end != '\0' || errno == ERANGE || n < std::numeric_limits<int>::min() ||
            n > std::numeric_limits<int>::max())
            throw UsageError("bad number '" + v + "' for --" + name + " (expected an integer)");
        return static_cast<int>(n);
    }

private:
    std::map<std::string, std::string> values_;
};

// A whole-string number: decimal, hex float, nan, inf.
bool parse_number(const std::string &s, double *out) {
    if (s.empty() || std::isspace(static_cast<unsigned char>(s[0]))) return false;
    errno = 0;
    char *end = nullptr;
    double v = std::strtod(s.c_str(), &end);
    if (*end != '\0') return false;
    *out = v;  // ERANGE: overflow gives +-inf and underflow a denormal or 0, which is what a user means
    return true;
}

// MIN/MAX: a number (a scalar of the input's dtype) or an .npy file of the input's dtype.
NpyArray load_range(const std::string &arg, DType dtype, const std::string &flag) {
    double v;
    if (parse_number(arg, &v)) {
        NpyArray a;
        a.dtype = dtype;
        if (dtype == DType::kFloat32)
            a.f32.push_back(static_cast<float>(v));
        else
            a.f64.push_back(v);
        return a;
    }
    NpyArray a = qdq_cli::read_npy(arg);
    if (a.dtype != dtype)
        throw CliError("--" + flag + " '" + arg + "' is " + qdq_cli::dtype_name(a.dtype) + " but the input is " +
                       qdq_cli::dtype_name(dtype));
    return a;
}

qdq::Shape to_shape(const NpyArray &a, const std::string &what) {
    if (a.shape.size() > static_cast<size_t>(qdq::Shape::kMaxRank))
        throw CliError(what + " has rank " + std::to_string(a.shape.size()) + "; qdq supports up to " +
                       std::to_string(qdq::Shape::kMaxRank));
    return qdq::Shape(a.shape.data(), static_cast<int>(a.shape.size()));
}

template <typename T>
qdq::TensorView<const T> cview(const NpyArray &a, const std::string &what) {
    return {a.data<T>().data(), to_shape(a, what)};
}

template <typename T>
qdq::TensorView<T> mview(NpyArray &a, const std::string &what) {
    return {a.data<T>().data(), to_shape(a, what)};
}

NpyArray zeros_like(const NpyArray &a) {
    NpyArray z;
    z.dtype = a.dtype;
    z.shape = a.shape;
    z.f32.assign(a.f32.size(), 0.0f);
    z.f64.assign(a.f64.size(), 0.0);
    return z;
}

qdq_cli::PendingFile pending(const std::string &path, const NpyArray &a) {
    const void *data = a.dtype == DType::kFloat32 ? static_cast<const void *>(a.f32.data()) : a.f64.data();
    return {path, qdq_cli::serialize_npy(a.dtype, a.shape, data, static_cast<size_t>(a.num_elements()))};
}

void check(const qdq::Status &s) {
    if (!s.ok()) throw StatusError{s};
}

// ---------------------------------------------------------------------------------------------
// forward / grad

template <typename T>
void forward_typed(const NpyArray &x, const NpyArray &mn, const NpyArray &mx, const qdq::QuantizeOptions &opt,
                   NpyArray *y) {
    check(qdq::quantize_and_dequantize_v2(cview<T>(x, "--input"), cview<T>(mn, "--input-min"),
                                          cview<T>(mx, "--input-max"), mview<T>(*y, "--input"), opt));
}

int cmd_forward(const std::vector<std::string> &args) {
    const Flags f(args,
                  {"input", "input-min", "input-max", "output", "signed-input", "num-bits", "range-given", "round-mode",
                   "narrow-range", "axis"},
                  {"input", "input-min", "input-max", "output"}, "forward");
    qdq::QuantizeOptions opt;
    opt.signed_input = f.get_bool("signed-input", true);
    opt.num_bits = f.get_int("num-bits", 8);
    opt.range_given = f.get_bool("range-given", false);
    opt.narrow_range = f.get_bool("narrow-range", false);
    if (f.has("axis")) opt.axis = f.get_int("axis", 0);
    if (f.has("round-mode")) {
        const std::string &m = f.get("round-mode");
        if (m == "HALF_TO_EVEN") {
            opt.round_mode = qdq::RoundMode::HALF_TO_EVEN;
        } else if (m == "HALF_UP") {
            opt.round_mode = qdq::RoundMode::HALF_UP;
        } else {
            // TensorFlow's wording for the same mistake.
            throw StatusError{
                qdq::Status::InvalidArgument("Round mode string must be 'HALF_UP' or 'HALF_TO_EVEN', is '" + m + "'")};
        }
    }

    const NpyArray x = qdq_cli::read_npy(f.get("input"));
    const NpyArray mn = load_range(f.get("input-min"), x.dtype, "input-min");
    const NpyArray mx = load_range(f.get("input-max"), x.dtype, "input-max");
    NpyArray y = zeros_like(x);
    if (x.dtype == DType::kFloat32)
        forward_typed<float>(x, mn, mx, opt, &y);
    else
        forward_typed<double>(x, mn, mx, opt, &y);
    qdq_cli::write_files_atomically({pending(f.get("output"), y)});
    return 0;
}

template <typename T>
void grad_typed(const NpyArray &g, const NpyArray &x, const NpyArray &mn, const NpyArray &mx, std::optional<int> axis,
                NpyArray *dx, NpyArray *dmin, NpyArray *dmax) {
    qdq::TensorView<T> vmin, vmax;
    if (dmin) vmin = mview<T>(*dmin, "--input-min");
    if (dmax) vmax = mview<T>(*dmax, "--input-min");
    check(qdq::quantize_and_dequantize_v2_grad(cview<T>(g, "--gradients"), cview<T>(x, "--input"),
                                               cview<T>(mn, "--input-min"), cview<T>(mx, "--input-max"), axis,
                                               mview<T>(*dx, "--input"), vmin, vmax));
}

int cmd_grad(const std::vector<std::string> &args) {
    const Flags f(args,
                  {"gradients", "input", "input-min", "input-max", "output", "axis", "output-min-backprop",
                   "output-max-backprop"},
                  {"gradients", "input", "input-min", "input-max", "output"}, "grad");
    std::optional<int> axis;
    if (f.has("axis")) axis = f.get_int("axis", 0);

    const NpyArray g = qdq_cli::read_npy(f.get("gradients"));
    const NpyArray x = qdq_cli::read_npy(f.get("input"));
    if (g.dtype != x.dtype)
        throw CliError("--gradients '" + f.get("gradients") + "' is " + qdq_cli::dtype_name(g.dtype) +
                       " but the input is " + qdq_cli::dtype_name(x.dtype));
    const NpyArray mn = load_range(f.get("input-min"), x.dtype, "input-min");
    const NpyArray mx = load_range(f.get("input-max"), x.dtype, "input-max");
    NpyArray dx = zeros_like(x);
    // Both backprops take input_min's shape, as in TensorFlow.
    NpyArray dmin = zeros_like(mn), dmax = zeros_like(mn);
    NpyArray *pmin = f.has("output-min-backprop") ? &dmin : nullptr;
    NpyArray *pmax = f.has("output-max-backprop") ? &dmax : nullptr;
    if (x.dtype == DType::kFloat32)
        grad_typed<float>(g, x, mn, mx, axis, &dx, pmin, pmax);
    else
        grad_typed<double>(g, x, mn, mx, axis, &dx, pmin, pmax);

    std::vector<qdq_cli::PendingFile> out{pending(f.get("output"), dx)};
    if (pmin) out.push_back(pending(f.get("output-min-backprop"), dmin));
    if (pmax) out.push_back(pending(f.get("output-max-backprop"), dmax));
    qdq_cli::write_files_atomically(out);
    return 0;
}

// ---------------------------------------------------------------------------------------------
// demo

// Deterministic data: splitmix64 feeding Box-Muller, so every run and every machine sees the same values.
struct Rng {
    uint64_t s;
    uint64_t next() {
        uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    double uniform() { return (static_cast<double>(next() >> 11) + 0.5) * 0x1p-53; }  // (0, 1)
    double normal() { return std::sqrt(-2.0 * std::log(uniform())) * std::cos(6.283185307179586 * uniform()); }
};

double median_seconds(const std::function<void()> &fn, int runs) {
    std::vector<double> t;
    for (int r = 0; r <= runs; ++r) {
        auto t0 = std::chrono::steady_clock::now();
        fn();
        auto t1 = std::chrono::steady_clock::now();
        if (r > 0) t.push_back(std::chrono::duration<double>(t1 - t0).count());  // the first run warms up
    }
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
}

struct Speed {
    double qdq_s, memcpy_s;
    double bytes;  // bytes the kernel reads and writes
};

// Times `fn` and, in the same run, a memcpy of `copy_bytes` from `src` into `dst`.
Speed measure(const std::function<void()> &fn, double bytes, const void *src, void *dst, size_t copy_bytes) {
    constexpr int kRuns = 9;
    Speed s;
    s.bytes = bytes;
    s.qdq_s = median_seconds(fn, kRuns);
    s.memcpy_s = median_seconds([&] { std::memcpy(dst, src, copy_bytes); }, kRuns);
    volatile unsigned char sink = static_cast<unsigned char *>(dst)[copy_bytes / 2];
    (void)sink;
    return s;
}

void print_speed(const Speed &s, size_t n, size_t copy_bytes) {
    double gbs = s.bytes / s.qdq_s / 1e9;
    double mcpy = 2.0 * static_cast<double>(copy_bytes) / s.memcpy_s / 1e9;  // memcpy reads and writes
    std::printf("  speed      %.3f ms  %.1f GB/s  %.0f M elements/s   | memcpy %.3f ms %.1f GB/s -> %.2fx memcpy\n",
                s.qdq_s * 1e3, gbs, static_cast<double>(n) / s.qdq_s / 1e6, s.memcpy_s * 1e3, mcpy, gbs / mcpy);
}

struct ErrorStats {
    double max_abs = 0, sum_sq = 0;
    size_t count = 0;
    void add(float x, float y) {
        double e = std::fabs(static_cast<double>(y) - static_cast<double>(x));
        max_abs = std::max(max_abs, e);
        sum_sq += e * e;
        ++count;
    }
    double rms() const { return count ? std::sqrt(sum_sq / static_cast<double>(count)) : 0.0; }
};

uint32_t value_key(float v) {
    if (v == 0.0f) v = 0.0f;  // -0 and +0 are one level
    uint32_t u;
    std::memcpy(&u, &v, sizeof u);
    return u;
}

int cmd_demo(const std::vector<std::string> &args) {
    const Flags f(args, {"size", "threads"}, {}, "demo");
    const int size = f.get_int("size", 1 << 22);
    const int threads = f.get_int("threads", 0);
    if (size < 64) throw UsageError("--size must be at least 64");
    if (threads < 0) throw UsageError("--threads must be >= 0 (0: one per core)");
    qdq::set_num_threads(threads);
    const size_t n = static_cast<size_t>(size);

    // Gaussian data with a few values a user will meet: outliers, zeros of both signs, a denormal, a NaN.
    std::vector<float> x(n), y(n), g(n), copy(n);
    Rng rng{20240611};
    for (size_t i = 0; i < n; ++i) x[i] = static_cast<float>(rng.normal());
    for (size_t i = 0; i < n; ++i) g[i] = static_cast<float>(rng.normal());
    x[1] = -0.0f;
    x[2] = 0.0f;
    x[3] = 1e-40f;
    x[4] = 7.5f;
    x[5] = -6.25f;
    x[n - 1] = std::numeric_limits<float>::quiet_NaN();

    std::printf(
        "qdq %s demo: %zu float32 values (seeded Gaussian, sigma 1, outliers 7.5 and -6.25, +-0, a denormal, "
        "one NaN)\n",
        qdq::version(), n);
    // The code path the library picks: the best this CPU runs, capped by set_max_isa (lower enum = better).
    const qdq::Isa best = qdq::best_supported_isa(), cap = qdq::max_isa();
    const qdq::Isa used = cap == qdq::Isa::kBest || static_cast<int>(cap) < static_cast<int>(best) ? best : cap;
    std::printf("threads %s, code path %s\n\n", threads ? std::to_string(threads).c_str() : "one per core",
                qdq::isa_name(used));

    const double rw_bytes = 2.0 * static_cast<double>(n) * sizeof(float);
    const size_t copy_bytes = n * sizeof(float);
    const qdq::Shape flat({static_cast<int64_t>(n)});
    float unused = 0.0f;
    const qdq::TensorView<const float> none(&unused, qdq::Shape());

    // 1. Per-tensor, range from the data (TensorFlow's default).
    {
        qdq::QuantizeOptions opt;
        float rmin, rmax, rscale, rinv;
        qdq::SliceRanges<float> r{
            {&rmin, qdq::Shape({1})}, {&rmax, qdq::Shape({1})}, {&rscale, qdq::Shape({1})}, {&rinv, qdq::Shape({1})}};
        check(qdq::quantize_and_dequantize_v2({x.data(), flat}, none, none, {y.data(), flat}, opt, &r));
        ErrorStats e;
        std::unordered_set<uint32_t> levels;
        for (size_t i = 0; i < n; ++i) {
            if (!std::isfinite(x[i])) continue;
            e.add(x[i], y[i]);
            levels.insert(value_key(y[i]));
        }
        std::printf("[1] forward, per-tensor, range from the data       shape %s\n", flat.DebugString().c_str());
        std::printf(
            "  attrs      signed_input=true num_bits=8 range_given=false round_mode=HALF_TO_EVEN "
            "narrow_range=false\n");
        std::printf("  range used [%.7g, %.7g]  scale %.7g  step %.7g   (NaN is skipped by the range and stays NaN)\n",
                    rmin, rmax, rscale, rinv);
        std::printf("  error      max |y-x| %.4g  rms %.4g  over %zu finite values\n", e.max_abs, e.rms(), e.count);
        std::printf("  levels     %zu distinct values of 256\n", levels.size());
        print_speed(measure(
                        [&] {
                            check(qdq::quantize_and_dequantize_v2({x.data(), flat}, none, none, {y.data(), flat}, opt));
                        },
                        rw_bytes, x.data(), copy.data(), copy_bytes),
                    n, copy_bytes);
    }

    // 2. Per-axis: 64 channels along the last dimension of an [n/64, 64] tensor.
    {
        constexpr int kDepth = 64;
        const size_t rows = n / kDepth, m = rows * kDepth;
        const qdq::Shape shape({static_cast<int64_t>(rows), kDepth});
        qdq::QuantizeOptions opt;
        opt.axis = 1;
        std::vector<float> rmin(kDepth), rmax(kDepth), rscale(kDepth), rinv(kDepth);
        const qdq::Shape d({kDepth});
        qdq::SliceRanges<float> r{{rmin.data(), d}, {rmax.data(), d}, {rscale.data(), d}, {rinv.data(), d}};
        check(qdq::quantize_and_dequantize_v2({x.data(), shape}, none, none, {y.data(), shape}, opt, &r));
        ErrorStats e;
        std::vector<std::unordered_set<uint32_t>> levels(kDepth);
        for (size_t i = 0; i < m; ++i) {
            if (!std::isfinite(x[i])) continue;
            e.add(x[i], y[i]);
            levels[i % kDepth].insert(value_key(y[i]));
        }
        size_t lv_min = SIZE_MAX, lv_max = 0;
        for (const auto &s : levels) {
            lv_min = std::min(lv_min, s.size());
            lv_max = std::max(lv_max, s.size());
        }
        auto sc = std::minmax_element(rscale.begin(), rscale.end());
        std::printf("\n[2] forward, per-axis (axis=1, %d channels)        shape %s\n", kDepth,
                    shape.DebugString().c_str());
        std::printf(
            "  attrs      signed_input=true num_bits=8 range_given=false round_mode=HALF_TO_EVEN "
            "narrow_range=false axis=1\n");
        for (size_t c = 0; c < 3; ++c)
            std::printf("  channel %zu  range used [%.7g, %.7g]  scale %.7g  step %.7g\n", c, rmin[c], rmax[c],
                        rscale[c], rinv[c]);
        std::printf("  all        scale from %.7g to %.7g\n", *sc.first, *sc.second);
        std::printf("  error      max |y-x| %.4g  rms %.4g  over %zu finite values\n", e.max_abs, e.rms(), e.count);
        std::printf("  levels     %zu to %zu distinct values per channel\n", lv_min, lv_max);
        print_speed(
            measure(
                [&] {
                    check(qdq::quantize_and_dequantize_v2({x.data(), shape}, none, none, {y.data(), shape}, opt));
                },
                2.0 * static_cast<double>(m) * sizeof(float), x.data(), copy.data(), m * sizeof(float)),
            m, m * sizeof(float));
    }

    // 3. Per-tensor, range given [-3, 3]: values outside are clamped.
    const float given_min = -3.0f, given_max = 3.0f;
    const qdq::TensorView<const float> vmin(&given_min, qdq::Shape()), vmax(&given_max, qdq::Shape());
    {
        qdq::QuantizeOptions opt;
        opt.range_given = true;
        opt.narrow_range = true;
        float rmin, rmax, rscale, rinv;
        qdq::SliceRanges<float> r{
            {&rmin, qdq::Shape({1})}, {&rmax, qdq::Shape({1})}, {&rscale, qdq::Shape({1})}, {&rinv, qdq::Shape({1})}};
        check(qdq::quantize_and_dequantize_v2({x.data(), flat}, vmin, vmax, {y.data(), flat}, opt, &r));
        ErrorStats e;
        size_t clamped = 0;
        std::unordered_set<uint32_t> levels;
        for (size_t i = 0; i < n; ++i) {
            if (!std::isfinite(x[i])) continue;
            levels.insert(value_key(y[i]));
            if (x[i] < rmin || x[i] > rmax)
                ++clamped;
            else
                e.add(x[i], y[i]);
        }
        std::printf("\n[3] forward, per-tensor, range given [%g, %g]      shape %s\n", given_min, given_max,
                    flat.DebugString().c_str());
        std::printf(
            "  attrs      signed_input=true num_bits=8 range_given=true round_mode=HALF_TO_EVEN "
            "narrow_range=true\n");
        std::printf("  range used [%.7g, %.7g]  scale %.7g  step %.7g\n", rmin, rmax, rscale, rinv);
        std::printf("  error      max |y-x| %.4g  rms %.4g  over %zu values in range; %zu clamped\n", e.max_abs,
                    e.rms(), e.count, clamped);
        std::printf("  levels     %zu distinct values of 255\n", levels.size());
        print_speed(measure(
                        [&] {
                            check(qdq::quantize_and_dequantize_v2({x.data(), flat}, vmin, vmax, {y.data(), flat}, opt));
                        },
                        rw_bytes, x.data(), copy.data(), copy_bytes),
                    n, copy_bytes);
    }

    // 4. Gradient with the same given range: gradients pass where -3 <= x <= 3.
    {
        check(qdq::quantize_and_dequantize_v2_grad({g.data(), flat}, {x.data(), flat}, vmin, vmax, std::nullopt,
                                                   {y.data(), flat}));
        size_t passed = 0;
        for (size_t i = 0; i < n; ++i) passed += (x[i] >= given_min && x[i] <= given_max);
        std::printf("\n[4] gradient, per-tensor, range [%g, %g]            shape %s\n", given_min, given_max,
                    flat.DebugString().c_str());
        std::printf("  passed     %zu of %zu gradients (%.3f%%); the rest are 0\n", passed, n,
                    100.0 * static_cast<double>(passed) / static_cast<double>(n));
        print_speed(measure(
                        [&] {
                            check(qdq::quantize_and_dequantize_v2_grad({g.data(), flat}, {x.data(), flat}, vmin, vmax,
                                                                       std::nullopt, {y.data(), flat}));
                        },
                        3.0 * static_cast<double>(n) * sizeof(float), x.data(), copy.data(), copy_bytes),
                    n, copy_bytes);
    }
    std::printf(
        "\nGB/s counts the bytes a kernel reads plus writes (8 per float32 element forward, 12 for the "
        "gradient), and memcpy's read plus write.\n");
    return 0;
}

}  // namespace

int main(int argc, char **argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    try {
        if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
            std::fputs(kUsage, stdout);
            return 0;
        }
        if (args[0] == "--version") {
            std::printf("%s\n", qdq::version());
            return 0;
        }
        const std::string cmd = args[0];
        args.erase(args.begin());
        if (std::find(args.begin(), args.end(), "--help") != args.end()) {
            std::fputs(kUsage, stdout);
            return 0;
        }
        if (cmd == "forward") return cmd_forward(args);
        if (cmd == "grad") return cmd_grad(args);
        if (cmd == "demo") return cmd_demo(args);
        throw UsageError("unknown command '" + cmd + "' (expected forward, grad or demo)");
    } catch (const StatusError &e) {
        std::fprintf(stderr, "qdq: %s\n", e.status.ToString().c_str());
    } catch (const UsageError &e) {
        std::fprintf(stderr, "qdq: %s\nRun 'qdq --help' for usage.\n", e.what());
    } catch (const std::exception &e) {
        std::fprintf(stderr, "qdq: %s\n", e.what());
    }
    return 1;
}
