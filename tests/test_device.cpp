// The GPU schedules, bit for bit against the reference (reference.h):
// - OpenCL (qdq::Device::OpenCL(), host memory staged through the device): runs on PoCL in CI,
//   so the GPU tiling, bounds and reduction trees are tested on every commit without a GPU.
// - CUDA (qdq::Device::Cuda(), tensors in device memory): in qdq_tests_cuda, built whenever the
//   CUDA toolkit is found; reported as skipped where no GPU or driver is present.
// The shapes hit every specialisation of the GPU schedules: whole tiles, ragged rows, the last
// axis, short rows, and multi-segment reductions; values include near-ties, whose products must
// not be contracted into an FMA.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "qdq/qdq.h"
#include "random_cases.h"
#include "reference.h"
#include "test_util.h"

#if QDQ_TEST_CUDA
#include <cuda_runtime.h>
#endif

namespace {

using namespace qdq_test;

// Shapes and axes chosen for the GPU schedules' specialisations.
struct DeviceShape {
    std::vector<int64_t> shape;
    std::optional<int> axis;
};

std::vector<DeviceShape> device_shapes(bool large) {
    std::vector<DeviceShape> v = {
        {{4096}, std::nullopt},  // whole 1024-element tiles
        {{3000}, std::nullopt},  // a ragged last tile
        {{1}, std::nullopt},
        {{7, 33}, std::nullopt},
        {{5, 2048}, 0},             // rows of whole tiles, per-axis
        {{3, 1500}, -2},            // ragged rows
        {{300, 3}, 1},              // the last axis, few channels
        {{40, 200}, -1},            // the last axis, many channels
        {{6, 17, 9}, 1},            // short rows
        {{4, 64, 300}, 1},          // rows >= 256: the GPU "rows" reduction
        {{1 << 22}, std::nullopt},  // segments of several unrolled loads per thread
        {{65536, 3}, -1},           // > 1024 partials per channel for the combining block
        {{2, 3, 4, 5}, 2},
        {{0, 5}, 1},
        {{5, 0}, std::nullopt},
    };
    if (large) {
        v.push_back({{1 << 20}, std::nullopt});  // many segments per row
        v.push_back({{3, 100003}, 0});
        v.push_back({{9000, 64}, 1});  // many row blocks per channel
    }
    return v;
}

qdq::QuantizeOptions device_options(Rng &rng) {
    static const int bits[] = {1, 2, 4, 8, 8, 8, 16, 24, 25, 32, 53, 61};
    qdq::QuantizeOptions o;
    o.signed_input = rng.chance(0.75);
    o.num_bits = bits[rng.integer(0, 11)];
    o.narrow_range = rng.chance(0.3);
    o.round_mode = rng.chance(0.5) ? qdq::RoundMode::HALF_UP : qdq::RoundMode::HALF_TO_EVEN;
    o.range_given = rng.chance(0.5);
    return o;
}

// Moves some values one ulp off their exact value: x * scale then lands next to a tie, where a
// contracted fma(x, scale, 0.5) and TF's separately rounded x * scale + 0.5 can differ.
template <typename T>
void nudge(Rng &rng, std::vector<T> &x) {
    for (T &v : x) {
        if (std::isfinite(v) && rng.chance(0.2)) v = std::nextafter(v, rng.chance(0.5) ? T(INFINITY) : T(-INFINITY));
    }
}

// Host or device memory for one tensor of a call.
template <typename T>
class Memory {
public:
    Memory(const std::vector<T> &data, bool on_cuda) : host_(data), on_cuda_(on_cuda) {
#if QDQ_TEST_CUDA
        if (on_cuda_ && !host_.empty()) {
            REQUIRE(cudaMalloc(&device_, host_.size() * sizeof(T)) == cudaSuccess);
            REQUIRE(cudaMemcpy(device_, host_.data(), host_.size() * sizeof(T), cudaMemcpyHostToDevice) == cudaSuccess);
        }
#endif
    }
    ~Memory() {
#if QDQ_TEST_CUDA
        if (device_) cudaFree(device_);
#endif
    }
    Memory(const Memory &) = delete;
    Memory &operator=(const Memory &) = delete;

    T *data() {
        return on_cuda_ ? static_cast<T *>(device_) : host_.data();
    }
    // After the call's work: qdq runs on the caller's stream without waiting for it, as a
    // framework's kernels do, so the copy back waits for the device first.
    const std::vector<T> &read() {
#if QDQ_TEST_CUDA
        if (on_cuda_ && !host_.empty()) {
            REQUIRE(cudaDeviceSynchronize() == cudaSuccess);
            REQUIRE(cudaMemcpy(host_.data(), device_, host_.size() * sizeof(T), cudaMemcpyDeviceToHost) == cudaSuccess);
        }
#endif
        return host_;
    }

private:
    std::vector<T> host_;
    bool on_cuda_;
    void *device_ = nullptr;
};

// `with_ranges`: asks for the SliceRanges too (on CUDA, the call then waits for them).
template <typename T>
std::string forward_on(const ForwardCase<T> &c, const qdq::Device &device, bool in_place, bool with_ranges) {
    const qdq_ref::ForwardResult<T> ref = qdq_ref::quantize_and_dequantize(c.x, c.shape, c.options, c.mn, c.mx);
    const bool cuda = device.kind == qdq::DeviceKind::kCuda;
    Memory<T> in(c.x, cuda);
    Memory<T> out(std::vector<T>(c.x.size(), sentinel<T>()), cuda);
    T *out_ptr = in_place ? in.data() : out.data();
    const size_t depth = ref.ranges.size();
    std::vector<T> rb[4];
    for (auto &v : rb) v.assign(depth, sentinel<T>());
    const qdq::Shape ds{static_cast<int64_t>(depth)};
    qdq::SliceRanges<T> ranges{{rb[0].data(), ds}, {rb[1].data(), ds}, {rb[2].data(), ds}, {rb[3].data(), ds}};
    const qdq::Status s = qdq::quantize_and_dequantize_v2(qdq::ConstTensorView<T>{in.data(), make_shape(c.shape)},
                                                          qdq::ConstTensorView<T>{c.mn.data(), make_shape(c.mn_shape)},
                                                          qdq::ConstTensorView<T>{c.mx.data(), make_shape(c.mx_shape)},
                                                          qdq::TensorView<T>{out_ptr, make_shape(c.shape)}, c.options,
                                                          with_ranges ? &ranges : nullptr, device);
    const std::string where = describe_forward(c) + (in_place ? " in-place: " : ": ");
    if (!s.ok()) return where + s.ToString();
    const std::vector<T> &got = in_place ? in.read() : out.read();
    for (size_t k = 0; k < got.size(); ++k) {
        if (!same_bits(got[k], ref.output[k])) {
            return where + "output [" + std::to_string(k) + "] x=" + fmt(c.x[k]) + " got " + fmt(got[k]) + " want " +
                   fmt(ref.output[k]);
        }
    }
    // An empty tensor writes nothing, SliceRanges included (as TF writes nothing).
    for (size_t ch = 0; ch < (c.x.empty() || !with_ranges ? 0 : depth); ++ch) {
        const qdq_ref::SliceRange<T> &r = ref.ranges[ch];
        const T want[4] = {r.min, r.max, r.scale, r.inv};
        for (int v = 0; v < 4; ++v) {
            if (!same_bits(rb[v][ch], want[v])) return where + "SliceRanges differ at slice " + std::to_string(ch);
        }
    }
    return {};
}

template <typename T>
std::string grad_on(const GradCase<T> &c, const qdq::Device &device) {
    const std::vector<T> ref = qdq_ref::gradient(c.g, c.x, c.shape, c.axis, c.mn, c.mx);
    const bool cuda = device.kind == qdq::DeviceKind::kCuda;
    Memory<T> g(c.g, cuda), x(c.x, cuda), out(std::vector<T>(c.x.size(), sentinel<T>()), cuda);
    const qdq::Shape ms = make_shape(c.mn_shape);
    const qdq::Status s = qdq::quantize_and_dequantize_v2_grad(
        qdq::ConstTensorView<T>{g.data(), make_shape(c.shape)}, qdq::ConstTensorView<T>{x.data(), make_shape(c.shape)},
        qdq::ConstTensorView<T>{c.mn.data(), ms}, qdq::ConstTensorView<T>{c.mx.data(), ms}, c.axis,
        qdq::TensorView<T>{out.data(), make_shape(c.shape)}, {}, {}, device);
    const std::string where = "grad shape " + shape_str(c.shape) + ": ";
    if (!s.ok()) return where + s.ToString();
    const std::vector<T> &got = out.read();
    for (size_t k = 0; k < got.size(); ++k) {
        if (!same_bits(got[k], ref[k]))
            return where + "[" + std::to_string(k) + "] got " + fmt(got[k]) + " want " + fmt(ref[k]);
    }
    return {};
}

// PoCL runs kernels with denormals flushed to zero (OpenCL makes single-precision denormals
// optional), so the OpenCL suite replaces them by zeros of the same sign; CUDA keeps them.
template <typename T>
void flush_denormals(std::vector<T> &v) {
    for (T &e : v) {
        if (e != 0 && std::fpclassify(e) == FP_SUBNORMAL) e = std::signbit(e) ? -T(0) : T(0);
    }
}

// Whether a case's reference result passes through a subnormal (flushed on PoCL).
template <typename T>
bool touches_subnormals(const ForwardCase<T> &c) {
    const qdq_ref::ForwardResult<T> ref = qdq_ref::quantize_and_dequantize(c.x, c.shape, c.options, c.mn, c.mx);
    auto sub = [](T v) { return v != 0 && std::fpclassify(v) == FP_SUBNORMAL; };
    for (T v : ref.output)
        if (sub(v)) return true;
    for (const auto &r : ref.ranges)
        if (sub(r.min) || sub(r.max) || sub(r.scale) || sub(r.inv)) return true;
    return false;
}

// Runs the device suite; returns the number of cases.
template <typename T>
int device_suite(const qdq::Device &device, uint64_t seed, bool large) {
    Rng rng(seed);
    int cases = 0;
    for (const DeviceShape &ds : device_shapes(large)) {
        for (int rep = 0; rep < 3; ++rep) {
            qdq::QuantizeOptions o = device_options(rng);
            o.axis = ds.axis;
            ForwardCase<T> c = make_forward_case<T>(rng, ds.shape, o, rep == 0 ? tie_heavy_style() : ValueStyle{});
            if (rep == 1) nudge(rng, c.x);
            if (device.kind == qdq::DeviceKind::kOpenCL) {
                for (std::vector<T> *v : {&c.x, &c.mn, &c.mx}) flush_denormals(*v);
                if (touches_subnormals(c)) {
                    --rep;  // draw another case
                    continue;
                }
            }
            const std::string err = forward_on(c, device, rep == 2, rep != 1);
            CHECK_MESSAGE(err.empty(), err);
            ++cases;
        }
        GradCase<T> gc = make_grad_case<T>(rng, ds.shape, ds.axis);
        if (device.kind == qdq::DeviceKind::kOpenCL) {
            for (std::vector<T> *v : {&gc.g, &gc.x, &gc.mn, &gc.mx}) flush_denormals(*v);
        }
        const std::string err = grad_on(gc, device);
        CHECK_MESSAGE(err.empty(), err);
        ++cases;
    }
    return cases;
}

}  // namespace

#if !QDQ_TEST_CUDA
TEST_CASE("OpenCL: the GPU schedules on PoCL, bit-exact") {
    std::string why;
    if (!qdq::device_available(qdq::DeviceKind::kOpenCL, &why)) {
        std::printf("OpenCL tests skipped: %s\n", why.c_str());
        MESSAGE("OpenCL tests skipped: " << why);
        return;
    }
#if !QDQ_TEST_OPENCL
    MESSAGE("OpenCL tests skipped in this binary (run by qdq_tests)");
    return;
#endif
    const int cases = device_suite<float>(qdq::Device::OpenCL(), 7001, false) +
                      device_suite<double>(qdq::Device::OpenCL(), 7002, false);
    MESSAGE("OpenCL: " << cases << " cases");
}

TEST_CASE("CUDA: without a GPU or driver a device call returns a Status, never aborts") {
    std::string why;
    if (qdq::device_available(qdq::DeviceKind::kCuda, &why)) return;  // qdq_tests_cuda covers it
    float x[4] = {0, 1, 2, 3}, y[4] = {9, 9, 9, 9};
    const qdq::Status s = qdq::quantize_and_dequantize_v2({x, {4}}, {}, {}, {y, {4}}, {}, nullptr, qdq::Device::Cuda());
    CHECK(s.code() == qdq::StatusCode::kUnavailable);
    CHECK(s.message().find("CUDA is not available") != std::string::npos);
    CHECK(y[0] == 9);
}
#endif

#if QDQ_TEST_CUDA
TEST_CASE("CUDA: the bit-exact suite on device memory") {
    std::string why;
    if (!qdq::device_available(qdq::DeviceKind::kCuda, &why)) {
        std::printf("CUDA tests skipped: %s\n", why.c_str());
        MESSAGE("CUDA tests skipped: " << why);
        return;
    }
    int cases = 0;
    SUBCASE("the current context (the CUDA runtime's primary context), default stream") {
        REQUIRE(cudaFree(nullptr) == cudaSuccess);  // makes the primary context current, as frameworks do
        cases += device_suite<float>(qdq::Device::Cuda(), 8001, true);
        cases += device_suite<double>(qdq::Device::Cuda(), 8002, true);
    }
    SUBCASE("a framework's non-blocking stream") {
        cudaStream_t stream = nullptr;
        REQUIRE(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking) == cudaSuccess);
        cases += device_suite<float>(qdq::Device::Cuda(nullptr, stream), 8003, true);
        cases += device_suite<double>(qdq::Device::Cuda(nullptr, stream), 8004, false);
        REQUIRE(cudaStreamSynchronize(stream) == cudaSuccess);
        cudaStreamDestroy(stream);
    }
    SUBCASE("a thread with no current context: qdq uses device 0's primary context") {
        std::thread t([&] { cases += device_suite<float>(qdq::Device::Cuda(), 8005, false); });
        t.join();
    }
    MESSAGE("CUDA: " << cases << " cases");
}

TEST_CASE("CUDA: a call is queued on the stream; the host ranges may be reused once it returns") {
    std::string why;
    if (!qdq::device_available(qdq::DeviceKind::kCuda, &why)) {
        MESSAGE("CUDA tests skipped: " << why);
        return;
    }
    REQUIRE(cudaFree(nullptr) == cudaSuccess);
    cudaStream_t stream = nullptr;
    REQUIRE(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking) == cudaSuccess);
    Rng rng(8101);
    for (std::optional<int> axis : {std::optional<int>(), std::optional<int>(1)}) {
        qdq::QuantizeOptions o;
        o.range_given = true;
        o.axis = axis;
        ForwardCase<float> c = make_forward_case<float>(rng, {64, 4096}, o, ValueStyle{});
        const qdq_ref::ForwardResult<float> ref = qdq_ref::quantize_and_dequantize(c.x, c.shape, o, c.mn, c.mx);
        Memory<float> in(c.x, true), out(std::vector<float>(c.x.size(), sentinel<float>()), true);
        std::vector<float> mn = c.mn, mx = c.mx;
        const qdq::Status s = qdq::quantize_and_dequantize_v2(
            {in.data(), make_shape(c.shape)}, {mn.data(), make_shape(c.mn_shape)}, {mx.data(), make_shape(c.mx_shape)},
            {out.data(), make_shape(c.shape)}, o, nullptr, qdq::Device::Cuda(nullptr, stream));
        REQUIRE(s.ok());
        std::fill(mn.begin(), mn.end(), NAN);  // the call has returned: its ranges are no longer read
        std::fill(mx.begin(), mx.end(), NAN);
        const std::vector<float> &got = out.read();
        size_t wrong = 0;
        for (size_t k = 0; k < got.size(); ++k) wrong += !same_bits(got[k], ref.output[k]);
        CHECK_MESSAGE(wrong == 0, "axis " << (axis ? *axis : -1) << ": " << wrong << " elements differ");
    }
    cudaStreamDestroy(stream);
}
#endif
