// CUDA benchmark: each qdq kernel on device memory, as GB/s and as a ratio to a device-to-device
// copy moving the same bytes per element, measured in the same run. Medians of repeated runs.
// Output: a table on stdout and CSV lines for scripts/gpu-check ("csv,": the synchronised
// latency and ratios; "pipe,": the pipelined and host-side times, see measure()).
#include <qdq/qdq.h>

#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

namespace {

#define CUDA_OK(call)                                                               \
    do {                                                                            \
        cudaError_t e_ = (call);                                                    \
        if (e_ != cudaSuccess) {                                                    \
            std::fprintf(stderr, "%s failed: %s\n", #call, cudaGetErrorString(e_)); \
            std::exit(1);                                                           \
        }                                                                           \
    } while (0)

double median(std::vector<double> t) {
    std::nth_element(t.begin(), t.begin() + t.size() / 2, t.end());
    return t[t.size() / 2];
}

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// One kernel's times, medians over `reps`:
// - latency: one call and a device sync (the figure the ratios use);
// - pipelined: kPipelined calls back to back, then one sync, per call (how a framework that
//   does not sync between ops sees it: the host's work overlaps the GPU's);
// - host: the call alone, until it returns (what the library costs the calling thread).
struct Times {
    double latency, pipelined, host;
};
constexpr int kPipelined = 10;

Times measure(const std::function<void()> &run, int reps) {
    run();
    run();
    CUDA_OK(cudaDeviceSynchronize());
    std::vector<double> latency, pipelined, host;
    for (int i = 0; i < reps; ++i) {
        auto start = std::chrono::steady_clock::now();
        run();
        host.push_back(seconds_since(start));
        CUDA_OK(cudaDeviceSynchronize());
        latency.push_back(seconds_since(start));
        start = std::chrono::steady_clock::now();
        for (int k = 0; k < kPipelined; ++k) run();
        CUDA_OK(cudaDeviceSynchronize());
        pipelined.push_back(seconds_since(start) / kPipelined);
    }
    return {median(latency), median(pipelined), median(host)};
}

// What the driver operations a qdq call makes cost the calling thread here (host time per
// operation, median): the floor under the host_us column.
void driver_costs() {
    float *d = nullptr;
    CUDA_OK(cudaMalloc(&d, 1 << 20));
    float h[8] = {};
    cudaMemPool_t pool = nullptr;
    CUDA_OK(cudaDeviceGetDefaultMemPool(&pool, 0));
    auto host_us = [](const std::function<void()> &op) {
        std::vector<double> t;
        for (int i = 0; i < 200; ++i) {
            const auto start = std::chrono::steady_clock::now();
            op();
            t.push_back(seconds_since(start));
            if (i % 16 == 15) CUDA_OK(cudaDeviceSynchronize());
        }
        CUDA_OK(cudaDeviceSynchronize());
        return median(t) * 1e6;
    };
    std::printf(
        "driver costs (host us per operation): pageable 32-byte H2D %.2f, memset (a launch) %.2f, "
        "pool alloc+free %.2f\n",
        host_us([&] { CUDA_OK(cudaMemcpyAsync(d, h, sizeof(h), cudaMemcpyHostToDevice)); }),
        host_us([&] { CUDA_OK(cudaMemsetAsync(d, 0, 4096)); }), host_us([&] {
            void *p = nullptr;
            CUDA_OK(cudaMallocFromPoolAsync(&p, 4096, pool, nullptr));
            CUDA_OK(cudaFreeAsync(p, nullptr));
        }));
    CUDA_OK(cudaFree(d));
}

bool g_failed = false;  // the kernel being timed returned an error: reported, not timed

void check(const qdq::Status &s) {
    if (!s.ok() && !g_failed) std::printf("qdq error: %s\n", s.ToString().c_str());
    if (!s.ok()) g_failed = true;
}

}  // namespace

int main(int argc, char **argv) {
    std::string why;
    if (!qdq::device_available(qdq::DeviceKind::kCuda, &why)) {
        std::printf("CUDA benchmark skipped: %s\n", why.c_str());
        return 0;
    }
    const int max_log2 = argc > 1 ? std::atoi(argv[1]) : 28;
    cudaDeviceProp prop{};
    CUDA_OK(cudaGetDeviceProperties(&prop, 0));
    std::printf("device: %s\n", prop.name);
    std::printf("%-34s %6s %10s %10s %8s %10s %8s\n", "kernel", "log2n", "time_us", "GB/s", "vs_copy", "pipe_us",
                "host_us");

    driver_costs();
    for (int lg = 20; lg <= max_log2; lg += 2) {
        const int64_t n = int64_t{1} << lg;
        float *x = nullptr, *y = nullptr, *g = nullptr, *copy = nullptr;
        CUDA_OK(cudaMalloc(&x, n * sizeof(float)));
        CUDA_OK(cudaMalloc(&y, n * sizeof(float)));
        CUDA_OK(cudaMalloc(&g, n * sizeof(float)));
        CUDA_OK(cudaMalloc(&copy, n * sizeof(float)));
        {
            std::vector<float> h(static_cast<size_t>(n));
            for (int64_t i = 0; i < n; ++i)
                h[static_cast<size_t>(i)] = static_cast<float>((i * 7919) % 20011) / 5000.0f - 2.0f;
            CUDA_OK(cudaMemcpy(x, h.data(), n * sizeof(float), cudaMemcpyHostToDevice));
            CUDA_OK(cudaMemcpy(g, h.data(), n * sizeof(float), cudaMemcpyHostToDevice));
        }
        const int reps = lg >= 26 ? 10 : 30;
        const double bytes = static_cast<double>(n) * sizeof(float);
        const Times t_copy = measure([&] { CUDA_OK(cudaMemcpyAsync(copy, x, bytes, cudaMemcpyDeviceToDevice)); }, reps);
        const double copy_bw = 2 * bytes / t_copy.latency;  // read + write
        auto report = [&](const char *name, const Times &t, double streams) {
            if (g_failed) {
                std::printf("%-34s %6d    FAILED\n", name, lg);
                g_failed = false;
                return;
            }
            const double bw = streams * bytes / t.latency;
            std::printf("%-34s %6d %10.1f %10.1f %8.3f %10.1f %8.1f\n", name, lg, t.latency * 1e6, bw / 1e9,
                        bw / copy_bw, t.pipelined * 1e6, t.host * 1e6);
            std::printf("csv,%s,%d,%.3f,%.2f,%.4f\n", name, lg, t.latency * 1e6, bw / 1e9, bw / copy_bw);
            std::printf("pipe,%s,%d,%.3f,%.3f\n", name, lg, t.pipelined * 1e6, t.host * 1e6);
        };
        report("d2d_copy", t_copy, 2);

        const qdq::Device dev = qdq::Device::Cuda();
        float lo = -1.5f, hi = 2.0f;
        const int64_t depth = 1024;
        std::vector<float> los(depth, lo), his(depth, hi);
        const qdq::Shape flat{n}, rows{n / depth, depth};
        for (bool given : {true, false}) {
            qdq::QuantizeOptions o;
            o.range_given = given;
            report(given ? "forward_given_per_tensor" : "forward_computed_per_tensor",
                   measure(
                       [&] {
                           check(qdq::quantize_and_dequantize_v2({x, flat}, {&lo, {}}, {&hi, {}}, {y, flat}, o, nullptr,
                                                                 dev));
                       },
                       reps),
                   2);
            o.axis = -1;
            report(given ? "forward_given_last_axis_1024" : "forward_computed_last_axis_1024",
                   measure(
                       [&] {
                           check(qdq::quantize_and_dequantize_v2({x, rows}, {los.data(), {depth}},
                                                                 {his.data(), {depth}}, {y, rows}, o, nullptr, dev));
                       },
                       reps),
                   2);
            o.axis = 0;
            const qdq::Shape first{depth, n / depth};
            report(given ? "forward_given_first_axis_1024" : "forward_computed_first_axis_1024",
                   measure(
                       [&] {
                           check(qdq::quantize_and_dequantize_v2({x, first}, {los.data(), {depth}},
                                                                 {his.data(), {depth}}, {y, first}, o, nullptr, dev));
                       },
                       reps),
                   2);
        }
        report("gradient_per_tensor",
               measure(
                   [&] {
                       check(qdq::quantize_and_dequantize_v2_grad({g, flat}, {x, flat}, {&lo, {}}, {&hi, {}},
                                                                  std::nullopt, {y, flat}, {}, {}, dev));
                   },
                   reps),
               3);
        report("gradient_last_axis_1024",
               measure(
                   [&] {
                       check(qdq::quantize_and_dequantize_v2_grad({g, rows}, {x, rows}, {los.data(), {depth}},
                                                                  {his.data(), {depth}}, -1, {y, rows}, {}, {}, dev));
                   },
                   reps),
               3);
        cudaFree(x);
        cudaFree(y);
        cudaFree(g);
        cudaFree(copy);
    }
    return g_failed ? 1 : 0;
}
