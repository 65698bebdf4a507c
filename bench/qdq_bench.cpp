// qdq CPU benchmark: every kernel, the memory-bandwidth limits and the C++ peers, in one run.
//
//   qdq_bench [--quick] [--sizes=10,12,...] [--axis-sizes=...] [--depths=1,64,...] [--dtypes=f32,f64]
//             [--threads=1,all] [--reps=N] [--min-time=S] [--budget=S] [--csv=PATH] [--run-id=ID]
//             [--no-per-axis] [--no-placements] [--no-peers] [--max-isa=avx2]
//             [Google Benchmark flags, e.g. --benchmark_filter=REGEX]
//
// Each case is timed by Google Benchmark: repeated runs (--reps), each at least --min-time
// seconds, after a warm-up call; the figure kept is the median of the repetitions (a case slower
// than --budget seconds in all stops repeating early, keeping at least one). Every buffer is
// allocated and touched before any timing. For each dtype, size and thread count, the limits
// (memcpy, a streaming-store copy, an in-place read-modify-write stream and the 2-input 1-output
// stream of the gradient) run right before the kernels they bound, and every figure is printed
// as GB/s (logical bytes: each input and output element once) and as a ratio to its matching
// limit from this same run. bench/report.py merges the CSV with the Python peers, checks the
// performance targets and draws the plot; bench/run.sh does everything.
#include "bandwidth_limits.h"
#include "bench_common.h"
#include "plain_loop.h"
#if QDQ_BENCH_HAVE_EIGEN
#include "eigen_peer.h"
#endif
#if QDQ_BENCH_HAVE_XNNPACK
#include "xnnpack_peer.h"
#endif

#include <qdq/qdq.h>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace qdq_bench {
namespace {

// ---------------------------------------------------------------------------------------------
// Command line.
struct Options {
    bool quick = false;
    std::vector<int> sizes;       // log2 of the element counts
    std::vector<int> axis_sizes;  // log2 sizes at which the per-axis kernels run
    std::vector<int64_t> depths = {1, 64, 1024, 4096};
    std::vector<std::string> dtypes;
    std::vector<int> threads = {1, 0};  // 0 = all cores
    int reps = 0;
    double min_time = 0;
    double budget = 0;
    std::string csv;
    std::string run_id;
    bool per_axis = true;
    bool placements = true;
    bool peers = true;
};

std::vector<std::string> split_list(const std::string &s) {
    std::vector<std::string> out;
    std::stringstream ss(s);
    for (std::string item; std::getline(ss, item, ',');) {
        if (!item.empty()) out.push_back(item);
    }
    return out;
}

std::vector<int> parse_log2_list(const std::string &s) {
    std::vector<int> out;
    for (const auto &item : split_list(s)) {
        // Accept "20", "2^20" or an element count that is a power of two.
        std::string v = item.rfind("2^", 0) == 0 ? item.substr(2) : item;
        long long k = std::stoll(v);
        if (k > 40) k = static_cast<long long>(std::lround(std::log2(static_cast<double>(k))));
        out.push_back(static_cast<int>(k));
    }
    return out;
}

bool parse_options(int *argc, char **argv, Options *o) {
    int kept = 1;
    std::string sizes, axis_sizes;
    for (int i = 1; i < *argc; ++i) {
        std::string a = argv[i];
        auto value = [&](const char *flag) -> const char * {
            std::string f = std::string(flag) + "=";
            return a.rfind(f, 0) == 0 ? argv[i] + f.size() : nullptr;
        };
        if (a == "--quick") {
            o->quick = true;
        } else if (a == "--no-per-axis") {
            o->per_axis = false;
        } else if (a == "--no-placements") {
            o->placements = false;
        } else if (a == "--no-peers") {
            o->peers = false;
        } else if (const char *v = value("--sizes")) {
            sizes = v;
        } else if (const char *v2 = value("--axis-sizes")) {
            axis_sizes = v2;
        } else if (const char *v3 = value("--depths")) {
            o->depths.clear();
            for (const auto &d : split_list(v3)) o->depths.push_back(std::stoll(d));
        } else if (const char *v4 = value("--dtypes")) {
            o->dtypes = split_list(v4);
        } else if (const char *v5 = value("--threads")) {
            o->threads.clear();
            for (const auto &t : split_list(v5)) o->threads.push_back(t == "all" ? 0 : std::stoi(t));
        } else if (const char *v6 = value("--reps")) {
            o->reps = std::stoi(v6);
        } else if (const char *v7 = value("--min-time")) {
            o->min_time = std::stod(v7);
        } else if (const char *v10 = value("--budget")) {
            o->budget = std::stod(v10);
        } else if (const char *v8 = value("--csv")) {
            o->csv = v8;
        } else if (const char *v9 = value("--run-id")) {
            o->run_id = v9;
        } else if (const char *v11 = value("--max-isa")) {
            bool known = false;
            for (qdq::Isa isa : {qdq::Isa::kBest, qdq::Isa::kAvx512, qdq::Isa::kAvx2, qdq::Isa::kSse41,
                                 qdq::Isa::kBaseline, qdq::Isa::kNeon}) {
                if (std::string(qdq::isa_name(isa)) == v11) {
                    qdq::set_max_isa(isa);
                    known = true;
                }
            }
            if (!known) {
                std::fprintf(stderr, "qdq_bench: unknown --max-isa %s (best, avx512, avx2, sse41, baseline, neon)\n",
                             v11);
                return false;
            }
        } else if (a == "--help" || a == "-h") {
            std::printf(
                "usage: qdq_bench [--quick] [--sizes=10,12,...] [--axis-sizes=...] [--depths=1,64,1024,4096]\n"
                "                 [--dtypes=f32,f64] [--threads=1,all] [--reps=N] [--min-time=SECONDS] "
                "[--budget=SECONDS]\n"
                "                 [--csv=PATH] [--run-id=ID] [--no-per-axis] [--no-placements] [--no-peers]\n"
                "                 [--max-isa=avx2|...]\n"
                "                 [Google Benchmark flags: --benchmark_filter=REGEX, --benchmark_list_tests, ...]\n"
                "Sizes are log2 element counts (2^10 .. 2^26). --quick: float32, sizes 10,12,16,20,22, per-axis at 16 "
                "and 22.\n");
            return false;
        } else {
            argv[kept++] = argv[i];
            continue;
        }
    }
    *argc = kept;
    for (int t : o->threads) {
        if (t != 0 && t != 1) {
            std::fprintf(stderr, "qdq_bench: --threads takes 1 and/or all\n");
            return false;
        }
    }
    if (o->dtypes.empty())
        o->dtypes = o->quick ? std::vector<std::string>{"f32"} : std::vector<std::string>{"f32", "f64"};
    for (const auto &d : o->dtypes) {
        if (d != "f32" && d != "f64") {
            std::fprintf(stderr, "qdq_bench: unknown dtype %s (f32, f64)\n", d.c_str());
            return false;
        }
    }
    o->sizes = !sizes.empty() ? parse_log2_list(sizes)
               : o->quick     ? std::vector<int>{10, 12, 16, 20, 22}
                              : std::vector<int>{10, 12, 14, 16, 18, 20, 22, 24, 26};
    o->axis_sizes = !axis_sizes.empty() ? parse_log2_list(axis_sizes)
                    : o->quick          ? std::vector<int>{16, 22}
                                        : std::vector<int>{12, 16, 20, 24};
    for (int k : o->sizes) {
        if (k < 4 || k > 30) {
            std::fprintf(stderr, "qdq_bench: size 2^%d is outside 2^4 .. 2^30\n", k);
            return false;
        }
    }
    if (o->reps <= 0) o->reps = o->quick ? 5 : 7;
    if (o->min_time <= 0) o->min_time = o->quick ? 0.003 : 0.005;
    if (o->budget <= 0) o->budget = o->quick ? 0.15 : 0.6;
    if (o->run_id.empty()) {
        char buf[64];
        std::time_t now = std::time(nullptr);
        std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%S", std::localtime(&now));
        o->run_id = buf;
    }
    return true;
}

// ---------------------------------------------------------------------------------------------
// Buffers: one set per dtype, as large as the largest size, filled once; a case of n elements
// uses the first n. x and g are never written by a timed call.
struct Store {
    int64_t cap = 0;
    RawBuffer x, g, y, z, q;  // input, gradient, output, in-place scratch, int8 (XNNPACK)
};

template <typename T>
std::unique_ptr<Store> make_store(int64_t cap) {
    auto s = std::make_unique<Store>();
    s->cap = cap;
    const size_t bytes = static_cast<size_t>(cap) * sizeof(T);
    s->x = RawBuffer(bytes);
    s->g = RawBuffer(bytes);
    s->y = RawBuffer(bytes);
    s->z = RawBuffer(bytes);
    s->q = RawBuffer(static_cast<size_t>(cap));
    T *x = s->x.as<T>(), *g = s->g.as<T>();
    for (int64_t i = 0; i < cap; ++i) {
        x[i] = static_cast<T>(test_value(kSeedInput, static_cast<uint64_t>(i)));
        g[i] = static_cast<T>(test_value(kSeedGradient, static_cast<uint64_t>(i)));
    }
    return s;
}

// ---------------------------------------------------------------------------------------------
// One benchmark case and, after the run, its result.
struct Case {
    std::string name;    // Google Benchmark name
    std::string kernel;  // e.g. qdq_fwd_given
    std::string dtype;
    int log2n = 0;
    int64_t n = 0;
    int threads = 1;  // 1, or 0 for all cores
    std::string axis = "none";
    int64_t depth = 1;
    std::string shape;
    double streams = 2;  // logical element streams (inputs + outputs)
    int elem_bytes = 4;
    std::vector<std::string> limits;            // matching limit kernels (times add up)
    std::string pool;                           // whose threads run it: "halide", "copy", "eigen", "xnnpack"
    bool is_limit = false;                      // a bandwidth limit: always run
    std::function<bool(std::string *)> setup;   // once, before the warm-up call
    std::function<bool(std::string *)> verify;  // once, after the warm-up call
    std::function<void()> before;               // before every batch (outside the timer)
    std::function<void()> fn;                   // the timed call

    bool ready = false;
    bool warmed = false;
    std::chrono::steady_clock::time_point started;  // first entry
    double wall = NAN;                              // seconds from first entry to the report
    bool slow = false;              // the warm-up call alone took longer than the budget: it is the figure
    double warm_time = NAN;         // seconds of the warm-up call
    double spent = 0;               // seconds spent in timed batches so far
    int calls = 0;                  // repetitions started
    int64_t batch = 1;              // calls per timed batch
    std::vector<int> ignored_reps;  // repetitions skipped for the budget (empty batches)
    std::string error;
    std::vector<double> times;  // seconds per call, one per repetition
    double median = NAN, best = NAN;
    std::string note;

    double bytes() const { return streams * static_cast<double>(n) * elem_bytes; }
    std::string threads_name() const { return threads == 1 ? "1" : "all"; }
    std::string group_key() const { return dtype + "/" + std::to_string(log2n) + "/" + threads_name(); }
};

std::vector<std::unique_ptr<Case>> g_cases;
std::map<std::string, Case *> g_by_name;
std::map<std::string, Case *> g_by_key;  // group_key + "/" + kernel, for limits
std::string g_last_pool;
int g_cores = 1;
double g_case_budget = 1.0;  // seconds of timed calls per case, see run_case
double g_min_time = 0.01;    // seconds per timed batch
constexpr const char *kBudgetMessage = "time budget used";
// The last warm-up time of each case family (the same case at another size): (elements, seconds).
std::map<std::string, std::pair<int64_t, double>> g_family_time;

std::string family(const Case &c) {
    return c.kernel + "/" + c.axis + "/" + std::to_string(c.depth) + "/" + c.dtype + "/" + c.threads_name();
}

double median_of(std::vector<double> v) {
    if (v.empty()) return NAN;
    std::sort(v.begin(), v.end());
    size_t m = v.size() / 2;
    return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

double limit_time(const Case &c) {
    if (c.limits.empty()) return NAN;
    double t = 0;
    for (const auto &l : c.limits) {
        auto it = g_by_key.find(c.group_key() + "/" + l);
        if (it == g_by_key.end() || std::isnan(it->second->median)) return NAN;
        t += it->second->median;
    }
    return t;
}

void run_case(benchmark::State &st, Case *c) {
    // Google Benchmark runs this once per repetition, with one iteration (Iterations(1)); that
    // iteration is a batch of c->batch calls, sized at the warm-up to last --min-time.
    const int rep = c->calls++;
    if (rep == 0) c->started = std::chrono::steady_clock::now();
    if (!c->ready) {
        c->ready = true;
        if (c->setup && !c->setup(&c->error) && c->error.empty()) c->error = "set-up failed";
    }
    if (!c->error.empty() || c->slow) {  // the same for every repetition
        st.SkipWithError(c->error.empty() ? kBudgetMessage : c->error.c_str());
        return;
    }
    // Another library's thread pool may still be spinning: let it fall asleep first.
    if (c->pool != g_last_pool) {
        std::this_thread::sleep_for(std::chrono::milliseconds(g_last_pool.empty() ? 0 : 20));
        g_last_pool = c->pool;
    }
    // A case that has used its time budget stops repeating (at least one repetition is kept):
    // the remaining repetitions run an empty batch that the reporter leaves out.
    if (c->spent > g_case_budget) {
        c->ignored_reps.push_back(rep);
        for (auto _ : st) {
        }
        return;
    }
    if (c->before) c->before();
    if (!c->warmed) {
        c->warmed = true;
        // One predicted (from the same case at a smaller size) to take over 8 budgets per call
        // is not run at all.
        auto it = g_family_time.find(family(*c));
        if (!c->is_limit && it != g_family_time.end() && it->second.first < c->n) {
            const double predicted =
                it->second.second * static_cast<double>(c->n) / static_cast<double>(it->second.first);
            if (predicted > 8 * g_case_budget) {
                char why[160];
                std::snprintf(why, sizeof why,
                              "too slow: about %.1f s per call, predicted from %.3g s at %" PRId64 " elements",
                              predicted, it->second.second, it->second.first);
                c->error = why;
                st.SkipWithError(c->error.c_str());
                return;
            }
        }
        // Warm-up: thread pools started, caches and TLBs as in use. A case whose single call is
        // slower than the budget is timed by this call alone.
        auto w0 = std::chrono::steady_clock::now();
        c->fn();
        c->warm_time = std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count();
        if (c->verify && !c->verify(&c->error)) {  // e.g. qdq's status of that call
            st.SkipWithError(c->error.c_str());
            return;
        }
        if (c->warm_time > g_case_budget) {  // maybe one-time set-up: a second call decides
            w0 = std::chrono::steady_clock::now();
            c->fn();
            c->warm_time = std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count();
        }
        if (c->warm_time > g_case_budget) {
            // Predictions only from calls long enough not to be fixed costs or scheduling noise.
            if (c->n >= (int64_t{1} << 16)) g_family_time[family(*c)] = {c->n, c->warm_time};
            c->slow = true;
            st.SkipWithError(kBudgetMessage);
            return;
        }
        // Calibrate the batch: calls for about a fifth of --min-time, then scale.
        int64_t k = 0;
        double elapsed = 0;
        w0 = std::chrono::steady_clock::now();
        while (elapsed < 0.2 * g_min_time && k < 1000000) {
            c->fn();
            ++k;
            elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count();
        }
        const double per_call = elapsed / static_cast<double>(std::max<int64_t>(k, 1));
        if (c->n >= (int64_t{1} << 16) && per_call > 1e-3) g_family_time[family(*c)] = {c->n, per_call};
        c->batch = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(g_min_time / std::max(per_call, 1e-9))));
    }
    const int64_t batch = c->batch;
    const auto t0 = std::chrono::steady_clock::now();
    for (auto _ : st) {
        for (int64_t i = 0; i < batch; ++i) c->fn();
    }
    c->spent += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// ---------------------------------------------------------------------------------------------
// Reporter: keeps every repetition, prints one line per case (median, GB/s, ratio to its limit).
class Reporter : public benchmark::BenchmarkReporter {
public:
    bool ReportContext(const Context &context) override {
        std::printf("qdq_bench: %d cores, qdq %s, best qdq ISA %s (capped at %s), streaming copy %s; %s\n", g_cores,
                    qdq::version(), qdq::isa_name(qdq::best_supported_isa()), qdq::isa_name(qdq::max_isa()),
                    copy_stream_isa(), context.executable_name ? context.executable_name : "");
        std::printf("%-9s %-44s %12s %9s %9s  %s\n", "case", "kernel", "median", "GB/s", "ratio", "vs");
        std::fflush(stdout);
        return true;
    }
    void ReportRuns(const std::vector<Run> &runs) override {
        for (const auto &r : runs) {
            auto it = g_by_name.find(r.run_name.function_name);
            if (it == g_by_name.end()) continue;
            Case *c = it->second;
            if (r.error_occurred) {
                if (r.error_message != kBudgetMessage && c->error.empty()) c->error = r.error_message;
                continue;
            }
            if (r.run_type != Run::RT_Iteration || r.iterations <= 0) continue;
            const int rep = static_cast<int>(r.repetition_index);
            if (std::find(c->ignored_reps.begin(), c->ignored_reps.end(), rep) != c->ignored_reps.end()) continue;
            c->times.push_back(r.real_accumulated_time / static_cast<double>(r.iterations * c->batch));
        }
        // One call per benchmark: all repetitions arrive together, then the aggregates.
        if (runs.empty()) return;
        auto it = g_by_name.find(runs.front().run_name.function_name);
        if (it == g_by_name.end() || runs.front().run_type != Run::RT_Iteration) return;
        Case *c = it->second;
        c->wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - c->started).count();
        if (c->group_key() != last_group_) {
            last_group_ = c->group_key();
            std::printf("-- %s 2^%d (%" PRId64 " elements), %s thread%s\n", c->dtype.c_str(), c->log2n, c->n,
                        c->threads == 1 ? "1" : "all", c->threads == 1 ? "" : "s");
        }
        std::string label = c->kernel;
        if (c->axis != "none") label += " axis=" + c->axis + " depth=" + std::to_string(c->depth);
        if (c->error.empty() && c->times.empty() && c->slow) {
            c->times.push_back(c->warm_time);
            c->note = "slow: one call timed";
        }
        if (c->error.empty() && c->times.empty()) c->error = "no repetition finished";
        if (!c->error.empty()) {
            std::printf("%-9s %-44s skipped: %s\n", "", label.c_str(), c->error.c_str());
            std::fflush(stdout);
            return;
        }
        c->median = median_of(c->times);
        c->best = *std::min_element(c->times.begin(), c->times.end());
        const double lt = limit_time(*c);
        char ratio[32] = "";
        if (!std::isnan(lt)) std::snprintf(ratio, sizeof ratio, "%.3fx", lt / c->median);
        std::string vs;
        for (const auto &l : c->limits) vs += (vs.empty() ? "" : "+") + l;
        std::printf("%-9s %-44s %9.3f us %9.2f %9s  %s%s%s\n", "", label.c_str(), c->median * 1e6,
                    c->bytes() / c->median * 1e-9, ratio, vs.c_str(), c->note.empty() ? "" : "  ", c->note.c_str());
        std::fflush(stdout);
    }

private:
    std::string last_group_;
};

// ---------------------------------------------------------------------------------------------
// Case registration.
struct Context {
    const Options *opt;
    ThreadPool *copy_pool;  // all cores
    Store *store;
    std::map<int, std::shared_ptr<void>> keep;  // per-thread-count peer devices
};

Case *add_case(std::unique_ptr<Case> c, const Options &opt) {
    std::string name = c->kernel;
    if (c->axis != "none") name += "/axis:" + c->axis + "/depth:" + std::to_string(c->depth);
    name += "/" + c->dtype + "/2^" + std::to_string(c->log2n) + "/t:" + c->threads_name();
    c->name = name;
    Case *raw = c.get();
    g_by_name[name] = raw;
    if (c->axis == "none") g_by_key[c->group_key() + "/" + c->kernel] = raw;
    g_cases.push_back(std::move(c));
    benchmark::RegisterBenchmark(raw->name.c_str(), run_case, raw)
        ->Repetitions(opt.reps)
        ->Iterations(1)
        ->UseRealTime()
        ->Unit(benchmark::kMicrosecond);
    return raw;
}

std::string shape_string(const std::vector<int64_t> &dims) {
    std::string s = "[";
    for (size_t i = 0; i < dims.size(); ++i) s += (i ? "," : "") + std::to_string(dims[i]);
    return s + "]";
}

// The per-axis views: axis first [d, n/d], middle [o, d, i] with o ~ i, last [n/d, d].
bool axis_shape(const std::string &axis, int64_t n, int64_t d, std::vector<int64_t> *dims, int *axis_index) {
    if (d > n || n % d) return false;
    const int64_t rest = n / d;
    if (axis == "first") {
        *dims = {d, rest};
        *axis_index = 0;
    } else if (axis == "last") {
        *dims = {rest, d};
        *axis_index = 1;
    } else {
        int64_t o = int64_t{1} << (static_cast<int>(std::log2(static_cast<double>(rest))) / 2);
        *dims = {o, d, rest / o};
        *axis_index = 1;
    }
    return true;
}

// [outer, depth, inner] of a per-axis shape.
void collapse(const std::vector<int64_t> &dims, int axis, int64_t *outer, int64_t *depth, int64_t *inner) {
    *outer = 1;
    *inner = 1;
    for (int i = 0; i < axis; ++i) *outer *= dims[static_cast<size_t>(i)];
    *depth = dims[static_cast<size_t>(axis)];
    for (size_t i = static_cast<size_t>(axis) + 1; i < dims.size(); ++i) *inner *= dims[i];
}

// One per-axis case: the shape, its axis, its [outer, depth, inner] view and per-channel given
// ranges (different per channel), shared by the cases' closures. axis -1: per-tensor (the placement
// cases), one given range.
template <typename T>
struct PerAxisCase {
    std::vector<int64_t> dims;
    int axis = 0;
    int64_t outer = 1, depth = 1, inner = 1;
    std::shared_ptr<std::vector<T>> mins, maxs;
};

template <typename T>
bool make_per_axis_case(const char *axis, int64_t n, int64_t d, PerAxisCase<T> *p) {
    if (!axis_shape(axis, n, d, &p->dims, &p->axis)) return false;
    collapse(p->dims, p->axis, &p->outer, &p->depth, &p->inner);
    p->mins = std::make_shared<std::vector<T>>(static_cast<size_t>(d));
    p->maxs = std::make_shared<std::vector<T>>(static_cast<size_t>(d));
    for (int64_t k = 0; k < d; ++k) {
        (*p->mins)[static_cast<size_t>(k)] = static_cast<T>(given_min(k));
        (*p->maxs)[static_cast<size_t>(k)] = static_cast<T>(given_max(k));
    }
    return true;
}

// qdq on a per-axis (or per-tensor) case, writing `out`: kind 0 the forward with the given ranges,
// 1 the forward with computed ranges, 2 the gradient (gradients g).
template <typename T>
std::function<qdq::Status()> qdq_per_axis_call(const PerAxisCase<T> &p, int kind, const T *x, const T *g, T *out) {
    const qdq::Shape shape(p.dims.data(), static_cast<int>(p.dims.size()));
    const qdq::Shape range_shape = p.axis < 0 ? qdq::Shape{} : qdq::Shape{p.depth};
    const auto mins = p.mins, maxs = p.maxs;
    const std::optional<int> ax = p.axis < 0 ? std::nullopt : std::optional<int>(p.axis);
    if (kind < 2) {
        qdq::QuantizeOptions o;
        o.range_given = kind == 0;
        o.axis = ax;
        return [=] {
            return qdq::quantize_and_dequantize_v2(
                qdq::ConstTensorView<T>{x, shape}, qdq::ConstTensorView<T>{mins->data(), range_shape},
                qdq::ConstTensorView<T>{maxs->data(), range_shape}, qdq::TensorView<T>{out, shape}, o);
        };
    }
    return [=] {
        return qdq::quantize_and_dequantize_v2_grad(
            qdq::ConstTensorView<T>{g, shape}, qdq::ConstTensorView<T>{x, shape},
            qdq::ConstTensorView<T>{mins->data(), range_shape}, qdq::ConstTensorView<T>{maxs->data(), range_shape}, ax,
            qdq::TensorView<T>{out, shape});
    };
}

int g_failures = 0;  // peers that disagree with qdq, qdq calls that failed: the exit status

bool check_status(const qdq::Status &s, std::string *error) {
    if (s.ok()) return true;
    ++g_failures;
    *error = s.ToString();
    return false;
}

template <typename T>
int64_t count_mismatches(const T *a, const T *b, int64_t n) {
    int64_t bad = 0;
    for (int64_t i = 0; i < n; ++i) bad += std::memcmp(&a[i], &b[i], sizeof(T)) != 0;
    return bad;
}

void c_note(int64_t bad, int64_t n, const char *what) {
    ++g_failures;
    std::fprintf(stderr, "qdq_bench: %s differs from qdq in %" PRId64 " of %" PRId64 " elements\n", what, bad, n);
}

// The placement cases: qdq's kernels at 2^12 elements, 1 thread, with the buffers at other byte
// offsets from their 2 MiB-aligned bases. Every other case runs at offset 0, and a stall that depends
// on the addresses' low bits can hide there: session 9 found the AVX-512 per-axis gradient 4-14x
// slower with page-aligned buffers (a masked load waiting on in-flight stores whose addresses
// matched it modulo 4 KiB) than in this benchmark. report.py prints each case's time at each
// placement over its time at "aligned".
struct Placement {
    const char *name;
    int input, gradients, output;  // bytes
};
constexpr Placement kPlacements[] = {
    {"aligned", 0, 0, 0},   {"out+16", 0, 0, 16}, {"out+64", 0, 0, 64},
    {"out+2K", 0, 0, 2048}, {"in+16", 16, 16, 0}, {"grad+1K", 0, 1024, 0},
};
constexpr int kPlacementLog2 = 12;
constexpr int64_t kPlacementDepths[] = {64, 1024};

template <typename T>
T *at_offset(const RawBuffer &b, int bytes) {
    return reinterpret_cast<T *>(b.as<unsigned char>() + bytes);
}

template <typename T>
void register_group(Context &ctx, const std::string &dtype, int log2n, int threads) {
    const Options &opt = *ctx.opt;
    Store &st = *ctx.store;
    const int64_t n = int64_t{1} << log2n;
    T *x = st.x.as<T>(), *g = st.g.as<T>(), *y = st.y.as<T>(), *z = st.z.as<T>();
    ThreadPool *pool = threads == 1 ? nullptr : ctx.copy_pool;
    const size_t bytes = static_cast<size_t>(n) * sizeof(T);
    // The given per-tensor range, shared by every case (static storage: captured by pointer).
    static T lo_given, hi_given;
    lo_given = static_cast<T>(kGivenMin);
    hi_given = static_cast<T>(kGivenMax);
    const T *lo = &lo_given, *hi = &hi_given;

    auto base = [&](const std::string &kernel, double streams, std::vector<std::string> limits,
                    const std::string &owner) {
        auto c = std::make_unique<Case>();
        c->kernel = kernel;
        c->dtype = dtype;
        c->log2n = log2n;
        c->n = n;
        c->threads = threads;
        c->shape = shape_string({n});
        c->streams = streams;
        c->elem_bytes = sizeof(T);
        c->limits = std::move(limits);
        c->pool = threads == 1 ? "none" : owner;
        return c;
    };
    auto qdq_threads = [threads] { qdq::set_num_threads(threads == 1 ? 1 : 0); };
    // A per-axis case of `who` (qdq, plain, eigen): kind 0 the forward with given ranges
    // (<who>_fwd_given), 1 with computed ranges (_fwd_computed), 2 the gradient (_grad).
    auto per_axis_base = [&](const std::string &who, int kind, const std::string &owner, const char *axis,
                             const PerAxisCase<T> &pa) {
        static const char *const kSuffix[] = {"_fwd_given", "_fwd_computed", "_grad"};
        auto c = base(who + kSuffix[kind], kind == 2 ? 3 : 2, {kind == 2 ? "stream3" : "memcpy"}, owner);
        c->axis = axis;
        c->depth = pa.depth;
        c->shape = shape_string(pa.dims);
        return c;
    };

    // ---- Limits.
    {
        auto c = base("memcpy", 2, {"memcpy"}, "copy");
        c->is_limit = true;
        c->fn = [=] { copy_memcpy(y, x, bytes, pool); };
        add_case(std::move(c), opt);
        c = base("copy_loop", 2, {"memcpy"}, "copy");
        c->is_limit = true;
        c->fn = [=] { copy_loop(y, x, bytes, pool); };
        add_case(std::move(c), opt);
        c = base("copy_stream", 2, {"memcpy"}, "copy");
        c->is_limit = true;
        c->fn = [=] { copy_stream(y, x, bytes, pool); };
        add_case(std::move(c), opt);
        c = base("inplace_rmw", 2, {"memcpy"}, "copy");
        c->is_limit = true;
        c->setup = [=](std::string *) {
            std::memcpy(z, x, bytes);
            return true;
        };
        c->fn = [=] { inplace_negate(z, n, pool); };
        add_case(std::move(c), opt);
        c = base("stream3", 3, {"stream3"}, "copy");
        c->is_limit = true;
        c->fn = [=] { stream3_add(g, x, y, n, pool); };
        add_case(std::move(c), opt);
    }

    // ---- The slice table's divisions (slice_divisions), once per dtype: 4096 slices on 1 thread,
    // in the group of the first size. report.py divides the time by the slices.
    if (threads == 1 && log2n == opt.sizes.front()) {
        constexpr int64_t kSlices = 4096;
        auto c = base("slice_divisions", 0, {}, "copy");
        c->is_limit = true;
        c->shape = "[" + std::to_string(kSlices) + " slices]";
        c->depth = kSlices;
        auto table = std::make_shared<std::vector<T>>(static_cast<size_t>(5 * kSlices));
        for (int64_t k = 0; k < kSlices; ++k) {
            (*table)[static_cast<size_t>(k)] = static_cast<T>(given_min(k));
            (*table)[static_cast<size_t>(kSlices + k)] = static_cast<T>(given_max(k));
        }
        c->fn = [=] { slice_divisions(table->data(), table->data() + kSlices, table->data() + 2 * kSlices, kSlices); };
        add_case(std::move(c), opt);
    }

    // ---- qdq, per-tensor.
    const qdq::Shape flat{n};
    {
        qdq::QuantizeOptions given;
        given.range_given = true;
        qdq::QuantizeOptions computed;
        auto fwd = [=](const T *in, T *out, const qdq::QuantizeOptions &o) {
            return qdq::quantize_and_dequantize_v2(qdq::ConstTensorView<T>{in, flat}, qdq::ConstTensorView<T>{lo, {}},
                                                   qdq::ConstTensorView<T>{hi, {}}, qdq::TensorView<T>{out, flat}, o);
        };
        struct Fwd {
            const char *name;
            bool in_place;
            qdq::QuantizeOptions o;
        };
        for (const Fwd &f :
             {Fwd{"qdq_fwd_given", false, given}, Fwd{"qdq_fwd_computed", false, computed},
              Fwd{"qdq_fwd_given_inplace", true, given}, Fwd{"qdq_fwd_computed_inplace", true, computed}}) {
            auto c = base(f.name, 2, {f.in_place ? "inplace_rmw" : "memcpy"}, "halide");
            const bool in_place = f.in_place;
            const qdq::QuantizeOptions o = f.o;
            if (in_place) {
                c->setup = [=](std::string *) {
                    std::memcpy(z, x, bytes);
                    return true;
                };
            }
            c->before = qdq_threads;
            auto status = std::make_shared<qdq::Status>();
            if (in_place) {
                c->fn = [=] { *status = fwd(z, z, o); };
            } else {
                c->fn = [=] { *status = fwd(x, y, o); };
            }
            c->verify = [=](std::string *err) { return check_status(*status, err); };
            add_case(std::move(c), opt);
        }
        auto c = base("qdq_grad", 3, {"stream3"}, "halide");
        auto grad = [=] {
            return qdq::quantize_and_dequantize_v2_grad(
                qdq::ConstTensorView<T>{g, flat}, qdq::ConstTensorView<T>{x, flat}, qdq::ConstTensorView<T>{lo, {}},
                qdq::ConstTensorView<T>{hi, {}}, std::nullopt, qdq::TensorView<T>{y, flat});
        };
        auto status = std::make_shared<qdq::Status>();
        c->before = qdq_threads;
        c->fn = [=] { *status = grad(); };
        c->verify = [=](std::string *err) { return check_status(*status, err); };
        add_case(std::move(c), opt);
    }

    // ---- qdq, per-axis.
    const bool axis_here =
        opt.per_axis && std::find(opt.axis_sizes.begin(), opt.axis_sizes.end(), log2n) != opt.axis_sizes.end();
    // Calls f(axis, case) for every per-axis case of this size (if it has any): the three axes by `depths`.
    auto for_each_per_axis_case = [&](const std::vector<int64_t> &depths, const auto &f) {
        if (!axis_here) return;
        for (const char *axis : {"first", "middle", "last"}) {
            for (int64_t d : depths) {
                PerAxisCase<T> pa;
                if (make_per_axis_case(axis, n, d, &pa)) f(axis, pa);
            }
        }
    };
    for_each_per_axis_case(opt.depths, [&](const char *axis, const PerAxisCase<T> &pa) {
        for (int kind = 0; kind < 3; ++kind) {
            auto c = per_axis_base("qdq", kind, "halide", axis, pa);
            std::function<qdq::Status()> call = qdq_per_axis_call(pa, kind, x, g, y);
            auto status = std::make_shared<qdq::Status>();
            c->before = qdq_threads;
            c->fn = [=] { *status = call(); };
            c->verify = [=](std::string *err) { return check_status(*status, err); };
            add_case(std::move(c), opt);
        }
    });

    // ---- qdq with the buffers at other placements (see kPlacements): per-tensor and the per-axis
    // cases of kPlacementDepths, each kernel, named <kernel>@<placement>.
    if (opt.placements && log2n == kPlacementLog2 && threads == 1) {
        // The Store's buffers, with room for the largest offset.
        std::shared_ptr<Store> ps = make_store<T>(n + static_cast<int64_t>(4096 / sizeof(T)));
        ctx.keep[2000 + static_cast<int>(sizeof(T))] = ps;
        std::vector<std::pair<const char *, PerAxisCase<T>>> cases;
        PerAxisCase<T> per_tensor;
        per_tensor.dims = {n};
        per_tensor.axis = -1;
        per_tensor.mins = std::make_shared<std::vector<T>>(1, static_cast<T>(kGivenMin));
        per_tensor.maxs = std::make_shared<std::vector<T>>(1, static_cast<T>(kGivenMax));
        cases.emplace_back("none", per_tensor);
        for (const char *axis : {"first", "middle", "last"}) {
            for (int64_t d : kPlacementDepths) {
                PerAxisCase<T> pa;
                if (make_per_axis_case(axis, n, d, &pa)) cases.emplace_back(axis, pa);
            }
        }
        for (const auto &[axis, pa] : cases) {
            for (const Placement &where : kPlacements) {
                for (int kind = 0; kind < 3; ++kind) {
                    auto c = per_axis_base("qdq", kind, "halide", axis, pa);
                    c->kernel += std::string("@") + where.name;
                    c->limits.clear();  // compared with its own "aligned" time, not a copy
                    std::function<qdq::Status()> call =
                        qdq_per_axis_call(pa, kind, at_offset<T>(ps->x, where.input),
                                          at_offset<T>(ps->g, where.gradients), at_offset<T>(ps->y, where.output));
                    auto status = std::make_shared<qdq::Status>();
                    c->before = qdq_threads;
                    c->fn = [=] { *status = call(); };
                    c->verify = [=](std::string *err) { return check_status(*status, err); };
                    add_case(std::move(c), opt);
                }
            }
        }
    }

    if (!opt.peers) return;

    // ---- The peers' results are compared with qdq's once, at sizes up to 2^20, before timing.
    auto ref_given = [=] {
        qdq::QuantizeOptions o;
        o.range_given = true;
        return qdq::quantize_and_dequantize_v2(qdq::ConstTensorView<T>{x, flat}, qdq::ConstTensorView<T>{lo, {}},
                                               qdq::ConstTensorView<T>{hi, {}}, qdq::TensorView<T>{z, flat}, o);
    };
    auto ref_computed = [=] {
        return qdq::quantize_and_dequantize_v2(qdq::ConstTensorView<T>{x, flat}, {}, {}, qdq::TensorView<T>{z, flat});
    };
    auto ref_grad = [=] {
        return qdq::quantize_and_dequantize_v2_grad(qdq::ConstTensorView<T>{g, flat}, qdq::ConstTensorView<T>{x, flat},
                                                    qdq::ConstTensorView<T>{lo, {}}, qdq::ConstTensorView<T>{hi, {}},
                                                    std::nullopt, qdq::TensorView<T>{z, flat});
    };
    auto bit_exact = [=](const char *name, std::function<qdq::Status()> ref,
                         std::function<void()> peer) -> std::function<bool(std::string *)> {
        if (n > (int64_t{1} << 20)) return nullptr;
        return [=](std::string *err) {
            if (!check_status(ref(), err)) return false;
            peer();
            if (int64_t bad = count_mismatches(y, z, n)) c_note(bad, n, name);
            return true;
        };
    };

    // ---- Peer: the plain C++ loop (1 thread, or the copy pool's threads).
    {
        auto c = base("plain_fwd_given", 2, {"memcpy"}, "copy");
        c->fn = [=] { plain::forward_given(x, y, n, *lo, *hi, pool); };
        c->setup = bit_exact("plain_fwd_given", ref_given, c->fn);
        add_case(std::move(c), opt);

        c = base("plain_fwd_computed", 2, {"memcpy"}, "copy");
        c->fn = [=] { plain::forward_computed(x, y, n, pool); };
        c->setup = bit_exact("plain_fwd_computed", ref_computed, c->fn);
        add_case(std::move(c), opt);

        c = base("plain_grad", 3, {"stream3"}, "copy");
        c->fn = [=] { plain::gradient(g, x, y, n, *lo, *hi, pool); };
        c->setup = bit_exact("plain_grad", ref_grad, c->fn);
        add_case(std::move(c), opt);

        // Per-axis: the same loops per channel, at every axis and depth qdq runs.
        for_each_per_axis_case(opt.depths, [&](const char *axis, const PerAxisCase<T> &pa) {
            const int64_t outer = pa.outer, depth = pa.depth, inner = pa.inner;
            const auto mins = pa.mins, maxs = pa.maxs;
            for (int kind = 0; kind < 3; ++kind) {
                auto p = per_axis_base("plain", kind, "copy", axis, pa);
                if (kind < 2) {
                    const T *range_min = kind == 0 ? mins->data() : nullptr;
                    p->fn = [=] { plain::forward_per_axis(x, y, outer, depth, inner, range_min, maxs->data(), pool); };
                } else {
                    p->fn = [=] {
                        plain::gradient_per_axis(g, x, y, outer, depth, inner, mins->data(), maxs->data(), pool);
                    };
                }
                p->setup = bit_exact(p->kernel.c_str(), qdq_per_axis_call(pa, kind, x, g, z), p->fn);
                add_case(std::move(p), opt);
            }
        });
    }

#if QDQ_BENCH_HAVE_EIGEN
    // ---- Peer: TF's formulation in Eigen on a ThreadPoolDevice (1 thread or all cores).
    {
        const int eigen_threads = threads == 1 ? 1 : g_cores;
        auto &dev_slot = ctx.keep[1000 + eigen_threads];
        if (!dev_slot) dev_slot = eigen::make_device(eigen_threads);
        auto dev = std::static_pointer_cast<eigen::Device>(dev_slot);
        auto c = base("eigen_fwd_given", 2, {"memcpy"}, "eigen");
        c->fn = [=] { eigen::forward(*dev, x, y, 1, 1, n, false, true, lo, hi); };
        c->setup = bit_exact("eigen_fwd_given", ref_given, c->fn);
        add_case(std::move(c), opt);

        c = base("eigen_fwd_computed", 2, {"memcpy"}, "eigen");
        c->fn = [=] { eigen::forward<T>(*dev, x, y, 1, 1, n, false, false, nullptr, nullptr); };
        c->setup = bit_exact("eigen_fwd_computed", ref_computed, c->fn);
        add_case(std::move(c), opt);

        c = base("eigen_grad", 3, {"stream3"}, "eigen");
        c->fn = [=] { eigen::gradient(*dev, g, x, y, 1, 1, n, false, lo, hi); };
        c->setup = bit_exact("eigen_grad", ref_grad, c->fn);
        add_case(std::move(c), opt);

        // Per-channel, TF's chip<1>(c) loop: depth 64 only (the loop is slow at large depths).
        for_each_per_axis_case({64}, [&](const char *axis, const PerAxisCase<T> &pa) {
            const int64_t outer = pa.outer, depth = pa.depth, inner = pa.inner;
            const auto mins = pa.mins, maxs = pa.maxs;
            for (int kind = 0; kind < 3; ++kind) {
                auto e = per_axis_base("eigen", kind, "eigen", axis, pa);
                if (kind < 2) {
                    const bool given_range = kind == 0;
                    e->fn = [=] {
                        eigen::forward(*dev, x, y, outer, depth, inner, true, given_range, mins->data(), maxs->data());
                    };
                } else {
                    e->fn = [=] {
                        eigen::gradient(*dev, g, x, y, outer, depth, inner, true, mins->data(), maxs->data());
                    };
                }
                add_case(std::move(e), opt);
            }
        });
    }
#endif

#if QDQ_BENCH_HAVE_XNNPACK
    // ---- Peer: XNNPACK f32 -> qs8 -> f32 (float32 only).
    if constexpr (std::is_same<T, float>::value) {
        auto c = base("xnnpack_qs8_roundtrip", 2, {"memcpy"}, "xnnpack");
        auto pair = std::make_shared<std::shared_ptr<xnnpack::Pair>>();
        int8_t *q = st.q.as<int8_t>();
        c->setup = [=](std::string *err) {
            const QuantParams<float> p = compute_quantization_range(*lo, *hi);
            *pair = xnnpack::make_pair(x, q, y, n, p.inverse_scale, threads, err);
            if (!*pair) return false;
            // Sanity check: within one quantisation step of qdq's result everywhere.
            if (n > (int64_t{1} << 20)) return true;
            xnnpack::run(**pair);
            qdq::QuantizeOptions o;
            o.range_given = true;
            qdq::quantize_and_dequantize_v2(qdq::ConstTensorView<float>{x, flat}, qdq::ConstTensorView<float>{lo, {}},
                                            qdq::ConstTensorView<float>{hi, {}}, qdq::TensorView<float>{z, flat}, o);
            int64_t far = 0;
            for (int64_t i = 0; i < n; ++i) far += !(std::fabs(y[i] - z[i]) <= 1.001f * p.inverse_scale);
            if (far) c_note(far, n, "xnnpack_qs8_roundtrip (by more than one step)");
            return true;
        };
        c->fn = [=] { xnnpack::run(**pair); };
        add_case(std::move(c), opt);
    }
#endif
}

void write_csv(const Options &opt) {
    std::ofstream f(opt.csv);
    if (!f) {
        std::fprintf(stderr, "qdq_bench: cannot write %s\n", opt.csv.c_str());
        return;
    }
    f << "run_id,source,kernel,dtype,log2n,n,threads,cores,axis,depth,shape,streams,limits,seconds_median,"
         "seconds_min,reps,gbps,ratio,note,wall_s\n";
    for (const auto &cp : g_cases) {
        const Case &c = *cp;
        if (c.times.empty() && c.error.empty()) continue;  // filtered out
        std::string limits;
        for (const auto &l : c.limits) limits += (limits.empty() ? "" : "+") + l;
        const double lt = limit_time(c);
        char buf[512];
        std::snprintf(buf, sizeof buf,
                      "%s,cpp,%s,%s,%d,%" PRId64 ",%s,%d,%s,%" PRId64
                      ",\"%s\",%g,%s,%.9g,%.9g,%zu,%.6g,%.6g,\"%s\",%.3f\n",
                      opt.run_id.c_str(), c.kernel.c_str(), c.dtype.c_str(), c.log2n, c.n, c.threads_name().c_str(),
                      c.threads == 1 ? 1 : g_cores, c.axis.c_str(), c.depth, c.shape.c_str(), c.streams, limits.c_str(),
                      c.median, c.best, c.times.size(), c.bytes() / c.median * 1e-9, lt / c.median,
                      c.error.empty() ? c.note.c_str() : ("skipped: " + c.error).c_str(), c.wall);
        f << buf;
    }
    std::printf("qdq_bench: wrote %s\n", opt.csv.c_str());
}

}  // namespace
}  // namespace qdq_bench

int main(int argc, char **argv) {
    using namespace qdq_bench;
    Options opt;
    if (!parse_options(&argc, argv, &opt)) return argc > 1 && std::string(argv[1]) == "--help" ? 0 : 2;
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;

    g_cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    g_case_budget = opt.budget;
    g_min_time = opt.min_time;
    ThreadPool copy_pool(g_cores);
    const int max_log2 = *std::max_element(opt.sizes.begin(), opt.sizes.end());
    const int64_t cap = int64_t{1} << max_log2;

    std::printf("qdq_bench: run %s, %s mode, dtypes", opt.run_id.c_str(), opt.quick ? "quick" : "full");
    for (const auto &d : opt.dtypes) std::printf(" %s", d.c_str());
    std::printf(", sizes 2^");
    for (size_t i = 0; i < opt.sizes.size(); ++i) std::printf("%s%d", i ? ",2^" : "", opt.sizes[i]);
    double buffer_bytes = 0;
    for (const auto &d : opt.dtypes) buffer_bytes += static_cast<double>(cap) * (4.0 * (d == "f32" ? 4 : 8) + 1);
    std::printf(", %d repetitions of >= %g s; allocating and touching %.2f GB of buffers\n", opt.reps, opt.min_time,
                buffer_bytes * 1e-9);
    std::fflush(stdout);

    std::vector<std::unique_ptr<Store>> stores;
    std::vector<std::unique_ptr<Context>> contexts;
    for (const auto &dtype : opt.dtypes) {
        stores.push_back(dtype == "f32" ? make_store<float>(cap) : make_store<double>(cap));
        contexts.push_back(std::make_unique<Context>(Context{&opt, &copy_pool, stores.back().get(), {}}));
        Context &ctx = *contexts.back();
        for (int k : opt.sizes) {
            for (int t : opt.threads) {
                if (dtype == "f32") {
                    register_group<float>(ctx, dtype, k, t);
                } else {
                    register_group<double>(ctx, dtype, k, t);
                }
            }
        }
    }

    Reporter reporter;
    benchmark::RunSpecifiedBenchmarks(&reporter);
    benchmark::Shutdown();
    qdq::set_num_threads(0);
    if (!opt.csv.empty()) write_csv(opt);
    if (g_failures) {
        std::fprintf(stderr, "qdq_bench: %d failure(s): a qdq call failed or a peer disagreed with qdq (see above)\n",
                     g_failures);
        return 1;
    }
    return 0;
}
