// Randomised bit-exact tests against the reference (reference.h), on every x86 code path, with
// deterministic seeds. Coverage: ranks 0-6 and every axis (positive and negative), sizes around the
// vector widths and the parallel threshold, exact ties, signed zeros, denormals, infinities, NaN,
// empty tensors, in-place calls, every attribute combination, float and double, SliceRanges, and
// many threads calling at once.
#include <doctest/doctest.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "qdq/qdq.h"
#include "qdq_runtime_hooks.h"
#include "random_cases.h"
#include "reference.h"
#include "test_util.h"

namespace {

using namespace qdq_test;

// Every num_bits worth distinguishing: small grids, the float/double mantissa edges, the maximum.
const std::vector<int> &num_bits_list() {
    static const std::vector<int> v = {1, 2, 3, 4, 5, 6, 7, 8, 16, 23, 24, 25, 31, 32, 52, 53, 61, 62};
    return v;
}

std::vector<qdq::QuantizeOptions> all_attribute_combinations() {
    std::vector<qdq::QuantizeOptions> all;
    for (bool signed_input : {true, false})
        for (int num_bits : num_bits_list()) {
            if (signed_input && num_bits > 61) continue;
            for (bool narrow : {false, true})
                for (qdq::RoundMode mode : {qdq::RoundMode::HALF_TO_EVEN, qdq::RoundMode::HALF_UP})
                    for (bool range_given : {false, true}) {
                        qdq::QuantizeOptions o;
                        o.signed_input = signed_input;
                        o.num_bits = num_bits;
                        o.narrow_range = narrow;
                        o.round_mode = mode;
                        o.range_given = range_given;
                        all.push_back(o);
                    }
        }
    return all;
}

qdq::QuantizeOptions random_options(Rng &rng) {
    static const std::vector<qdq::QuantizeOptions> all = all_attribute_combinations();
    return rng.pick(all);
}

RunOptions random_run(Rng &rng) {
    RunOptions ro;
    ro.in_place = rng.chance(0.3);
    ro.ranges = rng.chance(0.5);
    ro.offset = static_cast<size_t>(rng.integer(0, 3));
    return ro;
}

void report(const FailureLog &log, const char *what) {
    for (const std::string &e : log.first) FAIL_CHECK(e);
    CHECK_MESSAGE(log.count == 0, log.count << " failing calls in " << std::string(what));
}

uint64_t isa_seed(qdq::Isa isa, uint64_t base) {
    return base * 16 + static_cast<uint64_t>(isa);
}

template <typename T>
void attribute_sweep(Rng &rng, FailureLog &log) {
    for (qdq::QuantizeOptions o : all_attribute_combinations()) {
        const int rank = static_cast<int>(rng.integer(0, 4));
        const std::vector<int64_t> shape = random_shape(rng, rank, 9, 0.03);
        o.axis = random_axis(rng, rank);
        log.add(run_forward(make_forward_case<T>(rng, shape, o, ValueStyle{}), random_run(rng)));
    }
}

}  // namespace

TEST_CASE("random forward: every attribute combination, float and double, every ISA") {
    for_each_isa([](qdq::Isa isa) {
        Rng rng(isa_seed(isa, 101));
        FailureLog log;
        for (int rep = 0; rep < 2; ++rep) {
            attribute_sweep<float>(rng, log);
            attribute_sweep<double>(rng, log);
        }
        report(log, "the attribute sweep");
    });
}

TEST_CASE("random forward: ranks 0-6, every axis positive and negative") {
    for_each_isa([](qdq::Isa isa) {
        Rng rng(isa_seed(isa, 202));
        FailureLog log;
        for (int rank = 0; rank <= 6; ++rank) {
            std::vector<std::optional<int>> axes = {std::nullopt};
            for (int a = -rank; a < rank; ++a) axes.push_back(a);
            for (std::optional<int> axis : axes) {
                for (int rep = 0; rep < 2; ++rep) {
                    const std::vector<int64_t> shape = random_shape(rng, rank, rank >= 5 ? 4 : 7);
                    qdq::QuantizeOptions o = random_options(rng);
                    o.axis = axis;
                    if (rep == 0)
                        log.add(run_forward(make_forward_case<float>(rng, shape, o, ValueStyle{}), random_run(rng)));
                    else
                        log.add(run_forward(make_forward_case<double>(rng, shape, o, ValueStyle{}), random_run(rng)));
                }
            }
        }
        report(log, "the rank/axis sweep");
    });
}

TEST_CASE("random forward: sizes around the vector widths, misaligned pointers") {
    std::vector<int64_t> sizes;
    for (int64_t n = 1; n <= 67; ++n) sizes.push_back(n);
    for (int64_t n : {127, 128, 129, 130, 255, 256, 257, 511, 512, 513, 1023, 1024, 1025}) sizes.push_back(n);
    for_each_isa([&](qdq::Isa isa) {
        Rng rng(isa_seed(isa, 303));
        FailureLog log;
        for (int64_t n : sizes) {
            // Per-tensor; per-axis with inner 1; with inner n; many outer rows; a middle axis.
            struct Layout {
                std::vector<int64_t> shape;
                std::optional<int> axis;
            };
            const std::vector<Layout> layouts = {{{n}, std::nullopt}, {{n}, -1},      {{2, n}, 0},
                                                 {{n, 3}, -1},        {{3, n, 2}, 1}, {{n, 5}, std::nullopt}};
            for (const Layout &lay : layouts) {
                qdq::QuantizeOptions o = random_options(rng);
                o.axis = lay.axis;
                if (rng.chance(0.5))
                    log.add(run_forward(make_forward_case<float>(rng, lay.shape, o, ValueStyle{}), random_run(rng)));
                else
                    log.add(run_forward(make_forward_case<double>(rng, lay.shape, o, ValueStyle{}), random_run(rng)));
            }
        }
        report(log, "the size sweep");
    });
}

TEST_CASE("random forward: large tensors around the parallel threshold, several thread counts") {
    const std::vector<int64_t> sizes = {65535, 65536, 65537, 131071, 131077, 262144, 262145};
    for_each_isa([&](qdq::Isa isa) {
        Rng rng(isa_seed(isa, 404));
        FailureLog log;
        for (int64_t n : sizes) {
            struct Layout {
                std::vector<int64_t> shape;
                std::optional<int> axis;
            };
            const std::vector<Layout> layouts = {
                {{n}, std::nullopt},
                {{4, n / 4}, 1},
                {{n / 3, 3}, -1},
                {{3, n / 3}, 0},
                {{n / 64, 64}, 0},
                // Rows of 8..255 elements, range computed along them (vectors per channel, the last one
                // shifted back): a power of two, ragged lengths, several outer rows per block.
                {{n / 100, 100}, 0},
                {{7, n / 91, 13}, 1},
                {{n / 2048, 8, 256}, 1},
                // The last axis: short rows (tiles of rows), long rows (blocks of channels), with tails.
                {{n / 40, 40}, 1},
                {{n / 600, 600}, -1},
                {{n / 1030, 1030}, 1},
                // Rows of 2 and 4 elements: vectorised across channels (with a channel tail).
                {{n / 256, 64, 4}, 1},
                {{n / 1002, 501, 2}, -2},
                {{3, 37, 4}, 1},
                {{5, 13, 2}, 1}};
            for (const Layout &lay : layouts) {
                qdq::set_num_threads(rng.pick(std::vector<int>{0, 1, 2, 3, 7}));
                qdq::QuantizeOptions o = random_options(rng);
                o.axis = lay.axis;
                RunOptions ro = random_run(rng);
                if (rng.chance(0.5))
                    log.add(run_forward(make_forward_case<float>(rng, lay.shape, o, ValueStyle{}), ro));
                else
                    log.add(run_forward(make_forward_case<double>(rng, lay.shape, o, ValueStyle{}), ro));
            }
            qdq::set_num_threads(static_cast<int>(rng.integer(0, 4)));
            log.add(run_grad(make_grad_case<float>(rng, {n}, std::nullopt), GradAlias::kNone, true, 0));
            log.add(run_grad(make_grad_case<double>(rng, {n / 8, 8}, 1), GradAlias::kGradients, false, 1));
            log.add(run_grad(make_grad_case<float>(rng, {n / 600, 600}, 1), GradAlias::kInput, true, 0));
            log.add(run_grad(make_grad_case<float>(rng, {n / 40, 40}, -1), GradAlias::kNone, false, 1));
            log.add(run_grad(make_grad_case<float>(rng, {n / 1002, 501, 2}, 1), GradAlias::kInput, true, 0));
            log.add(run_grad(make_grad_case<double>(rng, {7, 19, 2}, 1), GradAlias::kNone, true, 1));
            // Rows of half a vector, two rows a vector (odd channel counts: a ragged last pair).
            log.add(run_grad(make_grad_case<float>(rng, {n / 8008 + 1, 1001, 8}, 1), GradAlias::kNone, false, 0));
            log.add(run_grad(make_grad_case<float>(rng, {n / 2332 + 1, 583, 4}, 1), GradAlias::kInput, true, 1));
            log.add(run_grad(make_grad_case<double>(rng, {n / 1332 + 1, 333, 4}, 1), GradAlias::kGradients, true, 0));
        }
        // The range computed along rows in batches of at most 4096 segments: several batches of
        // channels (first axis) and of outer rows (middle axis), the last ones ragged. Then rows of
        // 2, 4 and 8 elements across many channels (the branches with a constant row length and the
        // vectors along the row), ragged channel counts.
        for (const std::vector<int64_t> &shape :
             {std::vector<int64_t>{5000, 64}, std::vector<int64_t>{70, 64, 64}, std::vector<int64_t>{64, 1001, 4},
              std::vector<int64_t>{33, 515, 2}, std::vector<int64_t>{9, 700, 8}, std::vector<int64_t>{5, 3001, 4}}) {
            qdq::set_num_threads(rng.pick(std::vector<int>{0, 1, 3}));
            qdq::QuantizeOptions o = random_options(rng);
            o.range_given = false;
            o.axis = shape.size() == 2 ? 0 : 1;
            log.add(run_forward(make_forward_case<float>(rng, shape, o, ValueStyle{}), random_run(rng)));
            log.add(run_forward(make_forward_case<double>(rng, shape, o, special_heavy_style()), random_run(rng)));
        }
        qdq::set_num_threads(0);
        report(log, "the large-tensor sweep");
    });
}

TEST_CASE("set_num_threads caps the threads of a call, also after calls that used more") {
    // qdq's pool keeps the workers it has spawned: each parallel loop takes at most the cap's
    // number of them. 2^20 elements are 32 parallel tasks; the tensors (8-12 MiB) are dealt
    // task by task, the 2^16-element calls below in fixed blocks (qdq_thread_pool.cpp).
    GlobalControlsGuard guard;
    const int64_t n = int64_t{1} << 20;
    Rng rng(77);
    std::vector<float> x(static_cast<size_t>(n)), y(x.size()), g(x.size()), dx(x.size());
    for (size_t i = 0; i < x.size(); ++i) {
        x[i] = static_cast<float>(rng.uniform(-2.0, 2.0));
        g[i] = static_cast<float>(rng.uniform(-1.0, 1.0));
    }
    const float lo = -1.0f, hi = 1.5f;
    auto run_all = [&](std::vector<float> *results) {
        qdq::QuantizeOptions given;
        given.range_given = true;
        qdq::QuantizeOptions computed;
        for (const int64_t m : {n, int64_t{1} << 16}) {
            REQUIRE(
                qdq::quantize_and_dequantize_v2({x.data(), {m}}, {&lo, {}}, {&hi, {}}, {y.data(), {m}}, given).ok());
            results->insert(results->end(), y.begin(), y.begin() + m);
            REQUIRE(qdq::quantize_and_dequantize_v2({x.data(), {m}}, {}, {}, {y.data(), {m}}, computed).ok());
            results->insert(results->end(), y.begin(), y.begin() + m);
            REQUIRE(qdq::quantize_and_dequantize_v2_grad({g.data(), {m}}, {x.data(), {m}}, {&lo, {}}, {&hi, {}},
                                                         std::nullopt, {dx.data(), {m}})
                        .ok());
            results->insert(results->end(), dx.begin(), dx.begin() + m);
        }
    };
    qdq::set_num_threads(0);
    std::vector<float> all_cores;
    run_all(&all_cores);  // the pool now has a worker per core
    for (int cap : {1, 2, 3}) {
        CAPTURE(cap);
        qdq::set_num_threads(cap);
        qdq::runtime::task_concurrency_peak(true);
        std::vector<float> capped;
        run_all(&capped);
        const int peak = qdq::runtime::task_concurrency_peak(false);
        CHECK(peak >= 1);
        CHECK(peak <= cap);
        CHECK(std::memcmp(capped.data(), all_cores.data(), capped.size() * sizeof(float)) == 0);
    }
}

TEST_CASE("random forward: the last axis of tensors from 2^21 elements (four rows a parameter vector)") {
    // From kLastAxisFourRowsElements elements, the last axis with long rows runs four rows per
    // vector of per-channel values: ragged row counts (not a multiple of four) and channel tails.
    for_each_isa([](qdq::Isa isa) {
        Rng rng(isa_seed(isa, 2121));
        FailureLog log;
        for (const std::vector<int64_t> &shape :
             {std::vector<int64_t>{2037, 1030}, std::vector<int64_t>{3497, 600}, std::vector<int64_t>{2, 515, 2049}}) {
            qdq::set_num_threads(rng.pick(std::vector<int>{0, 1, 3}));
            qdq::QuantizeOptions o = random_options(rng);
            o.axis = -1;
            log.add(run_forward(make_forward_case<float>(rng, shape, o, ValueStyle{}), random_run(rng)));
            o.range_given = !o.range_given;
            log.add(run_forward(make_forward_case<double>(rng, shape, o, special_heavy_style()), random_run(rng)));
        }
        qdq::set_num_threads(0);
        report(log, "the last axis from 2^21 elements");
    });
}

TEST_CASE("random forward: exact ties at (k+0.5)/scale, both rounding modes") {
    for_each_isa([](qdq::Isa isa) {
        Rng rng(isa_seed(isa, 505));
        FailureLog log;
        GenStats f_stats, d_stats;
        for (qdq::QuantizeOptions o : all_attribute_combinations()) {
            o.axis = rng.chance(0.5) ? std::nullopt : std::optional<int>(1);
            const std::vector<int64_t> shape = {3, 4, 67};
            log.add(run_forward(make_forward_case<float>(rng, shape, o, tie_heavy_style(), &f_stats), random_run(rng)));
            log.add(
                run_forward(make_forward_case<double>(rng, shape, o, tie_heavy_style(), &d_stats), random_run(rng)));
        }
        report(log, "the tie sweep");
        // The generator must really produce ties, or this test proves nothing.
        CHECK(f_stats.ties > 20000);
        CHECK(d_stats.ties > 20000);
    });
}

TEST_CASE("random forward: signed zeros, denormals, infinities and NaN") {
    for_each_isa([](qdq::Isa isa) {
        Rng rng(isa_seed(isa, 606));
        FailureLog log;
        for (int rep = 0; rep < 300; ++rep) {
            const int rank = static_cast<int>(rng.integer(1, 3));
            const std::vector<int64_t> shape = random_shape(rng, rank, 40);
            qdq::QuantizeOptions o = random_options(rng);
            o.axis = random_axis(rng, rank);
            if (rep % 2)
                log.add(run_forward(make_forward_case<float>(rng, shape, o, special_heavy_style()), random_run(rng)));
            else
                log.add(run_forward(make_forward_case<double>(rng, shape, o, special_heavy_style()), random_run(rng)));
        }
        report(log, "the special-value sweep");
    });
}

// A slice of zeros of one sign plus, where `odd` >= 0, one zero of the other sign at index odd of
// the slice; elements that are not zeros are NaN or values of `sign` (0: none), one magnitude a
// slice. Min/max comparisons cannot tell -0 from +0, and the range reductions must still find the
// ordered extremes.
template <typename T>
ForwardCase<T> signed_zero_case(Rng &rng, const std::vector<int64_t> &shape, const qdq::QuantizeOptions &o) {
    ForwardCase<T> c;
    c.shape = shape;
    c.options = o;
    c.x.assign(static_cast<size_t>(num_elements(shape)), T(0));
    const qdq_ref::Layout l = qdq_ref::layout_of(shape, o.axis);
    const int64_t per_slice = l.outer * l.inner;
    for (int64_t ch = 0; ch < l.depth; ++ch) {
        const bool negative_base = rng.chance(0.5);
        const int sign = static_cast<int>(rng.integer(-1, 1));
        const double other = rng.pick(std::vector<double>{0.0, 0.01, 0.3});  // values of `sign`, NaN
        const int64_t odd = rng.chance(0.75) && per_slice > 0 ? rng.integer(0, per_slice - 1) : -1;
        // Tiny magnitudes make max_q / max overflow to inf, so that the min side decides the grid:
        // only then does the sign of a zero min show (in the inverse scale and the adjusted min).
        const T magnitude = rng.chance(0.5) ? T(rng.uniform(1e-3, 5.0))
                                            : std::numeric_limits<T>::denorm_min() * T(rng.integer(1, 1000));
        int64_t k = 0;
        for (int64_t out = 0; out < l.outer; ++out) {
            for (int64_t i = 0; i < l.inner; ++i, ++k) {
                T v = negative_base != (k == odd) ? -T(0) : T(0);
                if (k != odd && rng.chance(other)) {
                    v = sign != 0 && rng.chance(0.9) ? T(sign) * magnitude : std::numeric_limits<T>::quiet_NaN();
                }
                c.x[static_cast<size_t>(qdq_ref::flat_index(l, out, ch, i))] = v;
            }
        }
    }
    const size_t n = o.axis ? static_cast<size_t>(l.depth) : 1;
    c.mn.assign(n, T(0));
    c.mx.assign(n, T(0));
    if (o.axis) c.mn_shape = c.mx_shape = {l.depth};
    return c;
}

TEST_CASE("random forward: range computed from zeros of both signs, every reduction path") {
    // Per tensor from one element (fewer than the small kernel's lanes: 1-31) to past the parallel
    // threshold; per axis with long rows (first and middle axes), rows of 8-255 elements and the
    // last axis: few channels, and 16-2047 in chunks of 4 vectors (whole and ragged last chunks for
    // every ISA's vector width), in cache.
    const std::vector<std::pair<std::vector<int64_t>, std::optional<int>>> cases = {
        {{1}, std::nullopt},      {{2}, std::nullopt},   {{5}, std::nullopt},    {{17}, std::nullopt},
        {{31}, std::nullopt},     {{33}, std::nullopt},  {{63}, std::nullopt},   {{64}, std::nullopt},
        {{255}, std::nullopt},    {{256}, std::nullopt}, {{1000}, std::nullopt}, {{3, 4097}, std::nullopt},
        {{200000}, std::nullopt}, {{3, 600}, 0},         {{2, 5, 300}, 1},       {{4, 20, 9}, 1},
        {{6, 40, 130}, 1},        {{300, 5}, 1},         {{64, 33}, -1},         {{2, 70000}, 0},
        {{1500, 100}, 1},         {{40, 64}, -1},        {{2, 9, 130}, -1},      {{3, 1000}, -1},
        {{2, 2047}, -1}};
    for_each_isa([&](qdq::Isa isa) {
        Rng rng(isa_seed(isa, 909));
        FailureLog log;
        for (int rep = 0; rep < 6; ++rep) {
            for (const auto &[shape, axis] : cases) {
                qdq::QuantizeOptions o = random_options(rng);
                o.range_given = false;
                o.axis = axis;
                RunOptions ro = random_run(rng);
                ro.ranges = true;  // the slice ranges show the sign of each zero bound
                if (rep % 2)
                    log.add(run_forward(signed_zero_case<float>(rng, shape, o), ro));
                else
                    log.add(run_forward(signed_zero_case<double>(rng, shape, o), ro));
            }
        }
        report(log, "the signed-zero range sweep");
    });
}

// Where SIMD flushes subnormals to zero (ARMv7 NEON, the arm-32 build) the kernels compare on bit
// patterns and send slices with tiny or enormous scales to scalar code (forward_generator.cpp).
// These cases sit on each side of that line, per tensor and per axis with mixed slices, in place
// too: subnormal inputs against +0 / subnormal bounds, scales above 2^125 and below 2^-126,
// subnormal inverse scales and subnormal outputs.
TEST_CASE("forward: subnormal inputs, bounds, scales and outputs (flush-to-zero hazards)") {
    const float d = std::numeric_limits<float>::denorm_min();
    const float tiny = std::numeric_limits<float>::min();  // 2^-126
    const std::vector<float> xs = {-d,      d,      -0.0f, 0.0f,   -tiny / 2, tiny / 2,  tiny,  -tiny,  3 * d,  1e-39f,
                                   -1e-39f, 1e-30f, 0.75f, -0.75f, 1.5e-38f,  -2.5e-38f, 1e38f, -3e38f, 512.0f, -7.0f};
    // {min, max} per slice: ordinary, +0 bounds, subnormal bounds, a tiny range (scale > 2^125,
    // subnormal inverse scale), a huge range with few bits (scale < 2^-126), a zero range.
    const std::vector<std::pair<float, float>> ranges = {
        {0.0f, 512.0f}, {-0.0f, 0.0f}, {-d, d}, {-1e-38f, 1e-38f}, {0.0f, 2e-37f}, {-3e38f, 3e38f}, {-1.0f, 1.0f}};
    for_each_isa([&](qdq::Isa isa) {
        FailureLog log;
        for (int num_bits : {1, 2, 8, 23}) {
            for (bool signed_input : {true, false}) {
                for (qdq::RoundMode mode : {qdq::RoundMode::HALF_TO_EVEN, qdq::RoundMode::HALF_UP}) {
                    for (bool range_given : {true, false}) {
                        qdq::QuantizeOptions o;
                        o.num_bits = num_bits;
                        o.signed_input = signed_input;
                        o.round_mode = mode;
                        o.range_given = range_given;
                        for (bool in_place : {false, true}) {
                            RunOptions ro;
                            ro.in_place = in_place;
                            ro.ranges = true;
                            // Per axis: one slice per range, each holding every x (computed ranges then
                            // span the data, so add the bounds to each slice).
                            ForwardCase<float> c;
                            const int64_t per_slice = static_cast<int64_t>(xs.size()) + 2;
                            c.shape = {static_cast<int64_t>(ranges.size()), per_slice};
                            c.options = o;
                            c.options.axis = 0;
                            for (const auto &r : ranges) {
                                c.x.insert(c.x.end(), xs.begin(), xs.end());
                                c.x.push_back(r.first);
                                c.x.push_back(r.second);
                                c.mn.push_back(r.first);
                                c.mx.push_back(r.second);
                            }
                            if (range_given)
                                c.mn_shape = c.mx_shape = {static_cast<int64_t>(ranges.size())};
                            else
                                c.mn.clear(), c.mx.clear();
                            log.add(run_forward(c, ro));
                            // Per tensor, once per range.
                            for (const auto &r : ranges) {
                                ForwardCase<float> t;
                                t.shape = {per_slice};
                                t.options = o;
                                t.x = xs;
                                t.x.push_back(r.first);
                                t.x.push_back(r.second);
                                if (range_given) {
                                    t.mn = {r.first};
                                    t.mx = {r.second};
                                    t.mn_shape = t.mx_shape = {};
                                }
                                log.add(run_forward(t, ro));
                            }
                        }
                    }
                }
            }
        }
        report(log, "the subnormal cases");
    });
}

TEST_CASE("gradient: subnormal gradients, inputs and bounds (flush-to-zero hazards)") {
    const float d = std::numeric_limits<float>::denorm_min();
    const std::vector<float> xs = {-d, d, -0.0f, 0.0f, 2 * d, -2 * d, 1e-39f, -1e-39f, 1.0f, -1.0f};
    const std::vector<float> gs = {d,      -d,
                                   3e-39f, -0.0f,
                                   1.0f,   std::numeric_limits<float>::infinity(),
                                   5e-39f, -d,
                                   2.5f,   std::numeric_limits<float>::quiet_NaN()};
    const std::vector<std::pair<float, float>> ranges = {{0.0f, 0.0f}, {-0.0f, d}, {d, 2 * d}, {-1e-39f, 0.0f}};
    for_each_isa([&](qdq::Isa isa) {
        FailureLog log;
        GradCase<float> c;
        c.shape = {static_cast<int64_t>(ranges.size()), static_cast<int64_t>(xs.size())};
        c.axis = 0;
        c.mn_shape = {static_cast<int64_t>(ranges.size())};
        for (const auto &r : ranges) {
            c.x.insert(c.x.end(), xs.begin(), xs.end());
            c.g.insert(c.g.end(), gs.begin(), gs.end());
            c.mn.push_back(r.first);
            c.mx.push_back(r.second);
        }
        for (GradAlias alias : {GradAlias::kNone, GradAlias::kGradients}) log.add(run_grad(c, alias, true, 0));
        report(log, "the subnormal gradient cases");
    });
}

TEST_CASE("random forward: empty tensors") {
    const std::vector<std::vector<int64_t>> shapes = {{0}, {0, 3}, {3, 0}, {2, 0, 5}, {0, 0}, {4, 3, 0}, {1, 0, 1, 7}};
    for_each_isa([&](qdq::Isa isa) {
        Rng rng(isa_seed(isa, 707));
        FailureLog log;
        for (const std::vector<int64_t> &shape : shapes) {
            const int rank = static_cast<int>(shape.size());
            for (int a = -rank - 1; a < rank; ++a) {  // -rank-1 stands for "no axis"
                for (bool range_given : {false, true}) {
                    qdq::QuantizeOptions o = random_options(rng);
                    o.range_given = range_given;
                    if (a >= -rank) o.axis = a;
                    // SliceRanges asked for are written even for an empty tensor (empty slices: min +inf,
                    // max -inf, adjusted as TF would).
                    RunOptions ro = random_run(rng);
                    ro.ranges = true;
                    log.add(run_forward(make_forward_case<float>(rng, shape, o, ValueStyle{}), ro));
                    log.add(run_forward(make_forward_case<double>(rng, shape, o, ValueStyle{}), ro));
                }
            }
            // Null data is fine for an empty tensor.
            std::vector<float> mn{-1.0f}, mx{1.0f};
            qdq::QuantizeOptions o;
            o.range_given = true;
            const qdq::Status s = qdq::quantize_and_dequantize_v2(
                qdq::ConstTensorView<float>{nullptr, make_shape(shape)}, qdq::ConstTensorView<float>{mn.data(), {}},
                qdq::ConstTensorView<float>{mx.data(), {}}, qdq::TensorView<float>{nullptr, make_shape(shape)}, o);
            if (!s.ok()) log.add("empty " + shape_str(shape) + " with null data: " + s.ToString());
            const qdq::Status gs = qdq::quantize_and_dequantize_v2_grad(
                qdq::ConstTensorView<float>{nullptr, make_shape(shape)},
                qdq::ConstTensorView<float>{nullptr, make_shape(shape)}, qdq::ConstTensorView<float>{mn.data(), {}},
                qdq::ConstTensorView<float>{mx.data(), {}}, std::nullopt,
                qdq::TensorView<float>{nullptr, make_shape(shape)});
            if (!gs.ok()) log.add("gradient, empty " + shape_str(shape) + " with null data: " + gs.ToString());
            for (int a = -rank; a < rank; ++a)
                log.add(run_grad(make_grad_case<double>(rng, shape, a), GradAlias::kNone, true, 0));
        }
        report(log, "the empty-tensor sweep");
    });
}

TEST_CASE("random gradient: ranks 0-6, every axis, in place, specials") {
    for_each_isa([](qdq::Isa isa) {
        Rng rng(isa_seed(isa, 808));
        FailureLog log;
        for (int rank = 0; rank <= 6; ++rank) {
            std::vector<std::optional<int>> axes = {std::nullopt};
            for (int a = -rank; a < rank; ++a) axes.push_back(a);
            for (std::optional<int> axis : axes) {
                for (GradAlias alias : {GradAlias::kNone, GradAlias::kGradients, GradAlias::kInput}) {
                    const std::vector<int64_t> shape = random_shape(rng, rank, rank >= 5 ? 4 : 9);
                    const bool backprops = rng.chance(0.7);
                    const size_t offset = static_cast<size_t>(rng.integer(0, 3));
                    log.add(run_grad(make_grad_case<float>(rng, shape, axis), alias, backprops, offset));
                    log.add(run_grad(make_grad_case<double>(rng, shape, axis), alias, backprops, offset));
                }
            }
        }
        for (int64_t n : {1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 129, 257, 1025}) {
            log.add(run_grad(make_grad_case<float>(rng, {n}, std::nullopt), GradAlias::kNone, true, 1));
            log.add(run_grad(make_grad_case<double>(rng, {2, n}, -1), GradAlias::kInput, false, 3));
        }
        report(log, "the gradient sweep");
    });
}

TEST_CASE("concurrency: 8 threads calling at once, mixed calls") {
    qdq_test::GlobalControlsGuard guard;
    Rng rng(909);
    // Each task owns its inputs and its precomputed expected result; run() only calls the library.
    std::vector<std::function<std::string()>> tasks;
    auto add_forward = [&](auto tag, std::vector<int64_t> shape, std::optional<int> axis, bool in_place) {
        using T = decltype(tag);
        qdq::QuantizeOptions o = random_options(rng);
        o.axis = axis;
        auto c = std::make_shared<ForwardCase<T>>(make_forward_case<T>(rng, shape, o, ValueStyle{}));
        auto ref = std::make_shared<qdq_ref::ForwardResult<T>>(
            qdq_ref::quantize_and_dequantize(c->x, c->shape, c->options, c->mn, c->mx));
        RunOptions ro;
        ro.in_place = in_place;
        ro.ranges = true;
        tasks.push_back([c, ref, ro] { return check_forward(*c, *ref, ro); });
    };
    auto add_grad = [&](auto tag, std::vector<int64_t> shape, std::optional<int> axis, GradAlias alias) {
        using T = decltype(tag);
        auto c = std::make_shared<GradCase<T>>(make_grad_case<T>(rng, shape, axis));
        tasks.push_back([c, alias] { return run_grad(*c, alias, true, 0); });
    };
    add_forward(float{}, {1000}, std::nullopt, false);
    add_forward(double{}, {17, 33}, 1, true);
    add_forward(float{}, {131072 + 3}, std::nullopt, false);  // above the parallel threshold
    add_forward(double{}, {3, 70000}, 0, false);
    add_forward(float{}, {70000, 3}, -1, true);
    add_forward(float{}, {2, 3, 4, 5}, -2, false);
    // Many slices: per-slice ranges and partial keys come from the scratch cache, shared by all
    // threads and emptied now and then by release_cached_memory below.
    add_forward(float{}, {16, 4096}, -1, false);
    add_forward(double{}, {2000, 24}, 0, true);
    add_forward(float{}, {9, 700, 5}, 1, false);
    add_grad(float{}, {5, 7}, 0, GradAlias::kNone);
    add_grad(double{}, {100000}, std::nullopt, GradAlias::kGradients);
    add_grad(float{}, {4, 40000}, -1, GradAlias::kInput);

    std::atomic<int> failures{0};
    std::mutex mu;
    std::string first_error;
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
        threads.emplace_back([&, t] {
            for (int iter = 0; iter < 12; ++iter) {
                if (t % 3 == 0 && iter % 4 == 3) qdq::release_cached_memory();
                const std::string err = tasks[static_cast<size_t>(t * 5 + iter) % tasks.size()]();
                if (!err.empty()) {
                    ++failures;
                    std::lock_guard<std::mutex> lock(mu);
                    if (first_error.empty()) first_error = err;
                }
            }
        });
    }
    for (std::thread &th : threads) th.join();
    CHECK_MESSAGE(failures.load() == 0, failures.load() << " failing calls; first: " << first_error);
}
