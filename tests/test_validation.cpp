// Validation through the API: every rule of spec 3.1 / 3.3, TF's check order where TF fixes it, and the
// hardening of spec 9. Each rejection must be InvalidArgument with the message listed in messages.h, and
// must leave every output (output, SliceRanges, backprops) untouched.
#include <doctest/doctest.h>

#include <climits>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "messages.h"
#include "qdq/qdq.h"
#include "reference.h"
#include "test_util.h"

namespace {

using namespace qdq_test;

enum class Match {
    kContains,    // exact TF wording, as a substring
    kContainsCi,  // qdq's own wording: a robust case-insensitive substring
    kCodeOnly,    // only the status code is fixed
};

template <typename T>
std::vector<T> sample_values(size_t n) {
    std::vector<T> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = static_cast<T>(static_cast<double>(i % 7) * 0.25 - 0.75);
    return v;
}

// One forward call with every output pre-filled with the sentinel.
template <typename T>
struct ForwardCall {
    std::vector<int64_t> shape{2, 3};
    std::vector<int64_t> min_shape{}, max_shape{};
    std::vector<T> mn{T(-1)}, mx{T(1)};
    qdq::QuantizeOptions options;
    std::optional<std::vector<int64_t>> output_shape;  // defaults to `shape`
    size_t ranges_size = 1;                            // length of each SliceRanges view; 0 = no SliceRanges
    bool null_input = false, null_output = false, null_min = false;

    std::vector<T> x, out, rmin, rmax, rscale, rinv;

    qdq::Status run() {
        const std::vector<int64_t> os = output_shape ? *output_shape : shape;
        const int64_t n = num_elements(shape) > 0 ? num_elements(shape) : 0;
        const int64_t on = num_elements(os) > 0 ? num_elements(os) : 0;
        x = sample_values<T>(static_cast<size_t>(n));
        out.assign(static_cast<size_t>(on), T(0));
        fill_sentinel(out);
        for (std::vector<T> *r : {&rmin, &rmax, &rscale, &rinv}) {
            r->assign(ranges_size, T(0));
            fill_sentinel(*r);
        }
        const qdq::Shape rs{static_cast<int64_t>(ranges_size)};
        qdq::SliceRanges<T> ranges{{rmin.data(), rs}, {rmax.data(), rs}, {rscale.data(), rs}, {rinv.data(), rs}};
        return qdq::quantize_and_dequantize_v2(
            qdq::ConstTensorView<T>{null_input ? nullptr : x.data(), make_shape(shape)},
            qdq::ConstTensorView<T>{null_min ? nullptr : mn.data(), make_shape(min_shape)},
            qdq::ConstTensorView<T>{mx.data(), make_shape(max_shape)},
            qdq::TensorView<T>{null_output ? nullptr : out.data(), make_shape(os)}, options,
            ranges_size ? &ranges : nullptr);
    }

    bool nothing_written() const {
        return all_sentinel(out) && all_sentinel(rmin) && all_sentinel(rmax) && all_sentinel(rscale) &&
               all_sentinel(rinv);
    }
};

template <typename T>
struct GradCall {
    std::vector<int64_t> shape{2, 3};
    std::optional<std::vector<int64_t>> gradients_shape;  // defaults to `shape`
    std::vector<int64_t> min_shape{}, max_shape{};
    std::vector<T> mn{T(-0.5)}, mx{T(0.5)};
    std::optional<int> axis;
    std::optional<std::vector<int64_t>> output_shape;  // defaults to `shape`
    std::optional<std::vector<int64_t>> min_bp_shape;  // defaults to min_shape
    std::optional<std::vector<int64_t>> max_bp_shape;  // defaults to min_shape
    bool with_backprops = true, null_gradients = false;

    std::vector<T> g, x, out, min_bp, max_bp;

    qdq::Status run() {
        const std::vector<int64_t> gs = gradients_shape ? *gradients_shape : shape;
        const std::vector<int64_t> os = output_shape ? *output_shape : shape;
        const std::vector<int64_t> mbs = min_bp_shape ? *min_bp_shape : min_shape;
        const std::vector<int64_t> xbs = max_bp_shape ? *max_bp_shape : min_shape;
        x = sample_values<T>(static_cast<size_t>(num_elements(shape)));
        g = sample_values<T>(static_cast<size_t>(num_elements(gs)));
        for (T &v : g) v = v * T(3) + T(1);
        out.assign(static_cast<size_t>(num_elements(os)), T(0));
        min_bp.assign(static_cast<size_t>(num_elements(mbs)), T(0));
        max_bp.assign(static_cast<size_t>(num_elements(xbs)), T(0));
        fill_sentinel(out);
        fill_sentinel(min_bp);
        fill_sentinel(max_bp);
        return qdq::quantize_and_dequantize_v2_grad(
            qdq::ConstTensorView<T>{null_gradients ? nullptr : g.data(), make_shape(gs)},
            qdq::ConstTensorView<T>{x.data(), make_shape(shape)},
            qdq::ConstTensorView<T>{mn.data(), make_shape(min_shape)},
            qdq::ConstTensorView<T>{mx.data(), make_shape(max_shape)}, axis,
            qdq::TensorView<T>{out.data(), make_shape(os)},
            with_backprops ? qdq::TensorView<T>{min_bp.data(), make_shape(mbs)} : qdq::TensorView<T>{},
            with_backprops ? qdq::TensorView<T>{max_bp.data(), make_shape(xbs)} : qdq::TensorView<T>{});
    }

    bool nothing_written() const { return all_sentinel(out) && all_sentinel(min_bp) && all_sentinel(max_bp); }
};

template <typename Call>
void expect_invalid(Call &call, Match match, const std::string &text) {
    const qdq::Status s = call.run();
    CHECK_MESSAGE(s.code() == qdq::StatusCode::kInvalidArgument, "got " << s.ToString());
    if (match == Match::kContains)
        CHECK_MESSAGE(contains(s.message(), text), "message '" << s.message() << "' lacks '" << text << "'");
    else if (match == Match::kContainsCi)
        CHECK_MESSAGE(contains_ci(s.message(), text), "message '" << s.message() << "' lacks '" << text << "'");
    CHECK_MESSAGE(call.nothing_written(), "an output was written on error");
}

template <typename Call>
void expect_ok(Call &call) {
    const qdq::Status s = call.run();
    CHECK_MESSAGE(s.ok(), s.ToString());
}

}  // namespace

TEST_CASE("Status prints like TensorFlow") {
    const qdq::Status s = qdq::Status::InvalidArgument("gradient and input must be the same size");
    CHECK(s.ToString() == "INVALID_ARGUMENT: gradient and input must be the same size");
    CHECK(qdq::Status::Ok().ok());
    CHECK(qdq::version() != nullptr);
    for (qdq::Isa isa : all_isas()) CHECK(qdq::isa_name(isa) != nullptr);
}

TEST_CASE_TEMPLATE("forward: num_bits range (spec 3.1.1)", T, float, double) {
    struct Bad {
        bool signed_input;
        int num_bits;
    };
    for (Bad b : {Bad{true, 0}, Bad{true, -1}, Bad{true, 62}, Bad{true, 63}, Bad{true, INT_MAX}, Bad{true, INT_MIN},
                  Bad{false, 0}, Bad{false, 63}, Bad{false, -5}, Bad{false, 64}}) {
        INFO("signed=" << b.signed_input << " num_bits=" << b.num_bits);
        ForwardCall<T> call;
        call.options.signed_input = b.signed_input;
        call.options.num_bits = b.num_bits;
        expect_invalid(call, Match::kContains, msg::num_bits_out_of_range(b.num_bits, b.signed_input));
        call.options.range_given = true;  // the constructor check runs whatever the other attributes
        expect_invalid(call, Match::kContains, msg::num_bits_out_of_range(b.num_bits, b.signed_input));
    }
    for (Bad g : {Bad{true, 1}, Bad{true, 61}, Bad{false, 1}, Bad{false, 62}}) {
        INFO("signed=" << g.signed_input << " num_bits=" << g.num_bits);
        ForwardCall<T> call;
        call.options.signed_input = g.signed_input;
        call.options.num_bits = g.num_bits;
        expect_ok(call);
    }
}

TEST_CASE("forward: check order follows TF (constructor, then axis, then range)") {
    ForwardCall<float> call;
    call.options.num_bits = 0;
    call.options.axis = 7;
    call.options.range_given = true;
    call.mn = {2.0f};  // also an invalid range
    expect_invalid(call, Match::kContains, msg::num_bits_out_of_range(0, true));
    call.options.num_bits = 8;
    expect_invalid(call, Match::kContains, msg::shape_rank(7, 2));
    call.options.axis.reset();
    expect_invalid(call, Match::kContains, msg::invalid_range("2", "1"));
}

TEST_CASE("forward: round_mode outside the enum is rejected") {
    for (int bad : {2, -1, 77}) {
        ForwardCall<float> call;
        call.options.round_mode = static_cast<qdq::RoundMode>(bad);
        expect_invalid(call, Match::kContainsCi, "round");
    }
}

TEST_CASE_TEMPLATE("forward: axis (spec 3.1.3-4 and section 9)", T, float, double) {
    SUBCASE("axis >= rank: TF's wording, including the int32 wrap-around of axis+1") {
        for (int axis : {2, 3, 100, INT_MAX}) {
            INFO("axis=" << axis);
            ForwardCall<T> call;  // rank 2
            call.options.axis = axis;
            expect_invalid(call, Match::kContains, msg::shape_rank(axis, 2));
            call.options.range_given = true;
            call.min_shape = call.max_shape = {3};
            call.mn = {T(-1), T(-1), T(-1)};
            call.mx = {T(1), T(1), T(1)};
            expect_invalid(call, Match::kContains, msg::shape_rank(axis, 2));
        }
        ForwardCall<T> scalar;
        scalar.shape = {};
        scalar.options.axis = 0;
        expect_invalid(scalar, Match::kContains, msg::shape_rank(0, 0));
    }
    SUBCASE("axis < -rank") {
        for (int axis : {-3, -4, -100, INT_MIN}) {
            INFO("axis=" << axis);
            ForwardCall<T> call;  // rank 2
            call.options.axis = axis;
            expect_invalid(call, Match::kContainsCi, "axis");
        }
        ForwardCall<T> scalar;
        scalar.shape = {};
        scalar.options.axis = -1;
        expect_invalid(scalar, Match::kContainsCi, "axis");
        // Rank 1: TF's "at least -1" is exactly -rank.
        for (int axis : {-2, -100}) {
            ForwardCall<T> call;
            call.shape = {4};
            call.options.axis = axis;
            expect_invalid(call, Match::kContains, msg::axis_at_least_minus_one(axis));
        }
    }
    SUBCASE("every axis in [-rank, rank) is accepted") {
        for (int rank = 1; rank <= 5; ++rank) {
            for (int axis = -rank; axis < rank; ++axis) {
                INFO("rank=" << rank << " axis=" << axis);
                ForwardCall<T> call;
                call.shape.assign(static_cast<size_t>(rank), 2);
                call.options.axis = axis;
                call.ranges_size = 2;
                expect_ok(call);
            }
        }
    }
}

TEST_CASE_TEMPLATE("forward: per-tensor given range (spec 3.1.5 and section 9)", T, float, double) {
    const T nan = std::numeric_limits<T>::quiet_NaN();
    const T inf = std::numeric_limits<T>::infinity();
    SUBCASE("min > max and NaN bounds: TF's wording") {
        struct Bad {
            T min, max;
            const char *min_text, *max_text;
        };
        for (Bad b : {Bad{T(1), T(0), "1", "0"}, Bad{nan, T(1), "nan", "1"}, Bad{T(0), nan, "0", "nan"},
                      Bad{T(0.5), T(-2.5), "0.5", "-2.5"}, Bad{inf, -inf, "inf", "-inf"}}) {
            ForwardCall<T> call;
            call.options.range_given = true;
            call.mn = {b.min};
            call.mx = {b.max};
            expect_invalid(call, Match::kContains, msg::invalid_range(b.min_text, b.max_text));
        }
    }
    SUBCASE("min == max and infinite bounds are accepted (as TF)") {
        for (auto shape : {std::vector<int64_t>{}}) {
            ForwardCall<T> call;
            call.options.range_given = true;
            call.min_shape = call.max_shape = shape;
            call.mn = {T(0.25)};
            call.mx = {T(0.25)};
            expect_ok(call);
            call.mn = {-inf};
            call.mx = {inf};
            expect_ok(call);
        }
    }
    SUBCASE("a non-scalar min or max is rejected (TF 2.21: 'input_min must be a scalar.'; older TF CHECK-fails)") {
        struct Bad {
            std::vector<int64_t> min_shape, max_shape;
            const char *which;
        };
        for (const Bad &b : {Bad{{2}, {}, "input_min must be a scalar."}, Bad{{}, {2}, "input_max must be a scalar."},
                             Bad{{0}, {}, "input_min must be a scalar."}, Bad{{1}, {}, "input_min must be a scalar."},
                             Bad{{}, {1, 1}, "input_max must be a scalar."}, Bad{{0, 5}, {1, 8, 5}, "input_min"},
                             Bad{{}, {3, 1}, "input_max"}}) {
            INFO("min shape " << shape_str(b.min_shape) << ", max shape " << shape_str(b.max_shape));
            ForwardCall<T> call;
            call.options.range_given = true;
            call.min_shape = b.min_shape;
            call.max_shape = b.max_shape;
            call.mn.assign(static_cast<size_t>(num_elements(b.min_shape)), T(-1));
            call.mx.assign(static_cast<size_t>(num_elements(b.max_shape)), T(1));
            expect_invalid(call, Match::kContainsCi, b.which);
        }
    }
    SUBCASE("range not given: min/max are never read, whatever they hold") {
        ForwardCall<T> call;
        call.mn = {T(1)};
        call.mx = {nan};
        expect_ok(call);
        call.min_shape = {7};
        call.mn.assign(7, T(3));
        call.max_shape = {2, 2};
        call.mx.assign(4, T(0));
        expect_ok(call);
        // Empty views (null data, as a caller without a range would pass) are fine too.
        std::vector<T> x = sample_values<T>(6), out(6);
        const qdq::Status s = qdq::quantize_and_dequantize_v2(qdq::ConstTensorView<T>{x.data(), qdq::Shape{2, 3}}, {},
                                                              {}, qdq::TensorView<T>{out.data(), qdq::Shape{2, 3}});
        CHECK_MESSAGE(s.ok(), s.ToString());
    }
    SUBCASE("range given with null min data is rejected") {
        ForwardCall<T> call;
        call.options.range_given = true;
        call.null_min = true;
        expect_invalid(call, Match::kCodeOnly, "");
    }
}

TEST_CASE_TEMPLATE("forward: per-axis given range (spec 3.1.5 and section 9)", T, float, double) {
    const T nan = std::numeric_limits<T>::quiet_NaN();
    auto per_axis = [](int axis) {
        ForwardCall<T> call;  // shape [2,3]: depth 3 on axis 1
        call.options.range_given = true;
        call.options.axis = axis;
        call.min_shape = call.max_shape = {3};
        call.mn = {T(-1), T(-2), T(-3)};
        call.mx = {T(1), T(2), T(3)};
        call.ranges_size = 3;
        return call;
    };
    for (int axis : {1, -1}) {
        INFO("axis=" << axis);
        ForwardCall<T> ok = per_axis(axis);
        expect_ok(ok);

        ForwardCall<T> c1 = per_axis(axis);
        c1.min_shape = {2};
        c1.mn = {T(-1), T(-1)};
        expect_invalid(c1, Match::kContains, msg::per_axis_size("input_min", 2, 3, 1, "[2]"));

        ForwardCall<T> c2 = per_axis(axis);
        c2.max_shape = {4};
        c2.mx = {T(1), T(1), T(1), T(1)};
        expect_invalid(c2, Match::kContains, msg::per_axis_size("input_max", 4, 3, 1, "[4]"));

        // Not rank 1 (TF reads dim_size(0) and then CHECK-fails, or misbehaves on a scalar).
        ForwardCall<T> c3 = per_axis(axis);
        c3.min_shape = {3, 1};
        expect_invalid(c3, Match::kContainsCi, "input_min");
        ForwardCall<T> c4 = per_axis(axis);
        c4.max_shape = {1, 3};
        expect_invalid(c4, Match::kContainsCi, "input_max");
        ForwardCall<T> c5 = per_axis(axis);
        c5.min_shape = {};
        c5.mn = {T(-1)};
        expect_invalid(c5, Match::kContainsCi, "input_min");

        // min > max or NaN in one channel (TF accepts and computes garbage).
        ForwardCall<T> c6 = per_axis(axis);
        c6.mn[1] = T(5);
        expect_invalid(c6, Match::kContainsCi, "range");
        ForwardCall<T> c7 = per_axis(axis);
        c7.mn[2] = nan;
        expect_invalid(c7, Match::kContainsCi, "range");
        ForwardCall<T> c8 = per_axis(axis);
        c8.mx[0] = nan;
        expect_invalid(c8, Match::kContainsCi, "range");

        // Equal bounds are fine.
        ForwardCall<T> c9 = per_axis(axis);
        c9.mn[1] = c9.mx[1] = T(0.5);
        expect_ok(c9);
    }
    SUBCASE("depth 0 with [0]-shaped min/max is accepted and writes nothing") {
        ForwardCall<T> call = per_axis(1);
        call.shape = {2, 0};
        call.min_shape = call.max_shape = {0};
        call.mn.clear();
        call.mx.clear();
        call.ranges_size = 0;
        expect_ok(call);
    }
    SUBCASE("range not given: per-axis min/max of any shape are not read") {
        ForwardCall<T> call = per_axis(1);
        call.options.range_given = false;
        call.min_shape = {2, 2};
        call.mn.assign(4, T(7));
        call.max_shape = {};
        call.mx = {nan};
        expect_ok(call);
    }
}

TEST_CASE_TEMPLATE("forward: output, null data, overlap, SliceRanges, invalid shapes", T, float, double) {
    SUBCASE("output shape must equal input shape") {
        for (auto os : {std::vector<int64_t>{3, 2}, std::vector<int64_t>{6}, std::vector<int64_t>{2, 3, 1},
                        std::vector<int64_t>{2, 2}}) {
            INFO("output shape " << shape_str(os));
            ForwardCall<T> call;
            call.output_shape = os;
            expect_invalid(call, Match::kContainsCi, "output");
        }
    }
    SUBCASE("null data with a non-empty shape") {
        ForwardCall<T> a;
        a.null_input = true;
        expect_invalid(a, Match::kCodeOnly, "");
        ForwardCall<T> b;
        b.null_output = true;
        expect_invalid(b, Match::kCodeOnly, "");
    }
    SUBCASE("null data with an empty shape is fine") {
        ForwardCall<T> call;
        call.shape = {4, 0, 2};
        call.null_input = call.null_output = true;
        expect_ok(call);
    }
    SUBCASE("output partially overlapping the input is rejected; exactly in place is fine") {
        for (int shift : {1, -1, 3, -5}) {
            INFO("output = input + " << shift);
            std::vector<T> buf(32);
            for (size_t i = 0; i < buf.size(); ++i) buf[i] = static_cast<T>(static_cast<double>(i) * 0.125 - 2.0);
            const std::vector<T> before = buf;
            T *in = buf.data() + 8;
            const qdq::Status s = qdq::quantize_and_dequantize_v2(qdq::ConstTensorView<T>{in, qdq::Shape{2, 3}}, {}, {},
                                                                  qdq::TensorView<T>{in + shift, qdq::Shape{2, 3}});
            CHECK_MESSAGE(s.code() == qdq::StatusCode::kInvalidArgument, s.ToString());
            CHECK_MESSAGE(same_bits(buf, before), "memory written on error");
        }
        std::vector<T> x = sample_values<T>(6);
        const std::vector<T> ref = qdq_ref::quantize_and_dequantize(x, {2, 3}, qdq::QuantizeOptions{}, {}, {}).output;
        const qdq::Status s = qdq::quantize_and_dequantize_v2(qdq::ConstTensorView<T>{x.data(), qdq::Shape{2, 3}}, {},
                                                              {}, qdq::TensorView<T>{x.data(), qdq::Shape{2, 3}});
        REQUIRE_MESSAGE(s.ok(), s.ToString());
        CHECK(same_bits(x, ref));
    }
    SUBCASE("SliceRanges views must have depth elements") {
        ForwardCall<T> per_tensor;
        per_tensor.ranges_size = 2;
        expect_invalid(per_tensor, Match::kCodeOnly, "");
        ForwardCall<T> per_axis;
        per_axis.options.axis = 0;  // depth 2
        per_axis.ranges_size = 3;
        expect_invalid(per_axis, Match::kCodeOnly, "");
        per_axis.ranges_size = 1;
        expect_invalid(per_axis, Match::kCodeOnly, "");
        per_axis.ranges_size = 2;
        expect_ok(per_axis);
    }
    SUBCASE("invalid shapes") {
        ForwardCall<T> neg;
        neg.shape = {2, -3};
        expect_invalid(neg, Match::kCodeOnly, "");
        // Element count overflowing int64: must be rejected before anything is read.
        ForwardCall<T> huge;
        huge.shape = {int64_t{1} << 40, int64_t{1} << 40};
        huge.output_shape = std::vector<int64_t>{1};
        std::vector<T> x(4), out(4);
        fill_sentinel(out);
        const qdq::Shape big{int64_t{1} << 40, int64_t{1} << 40};
        qdq::Status s = qdq::quantize_and_dequantize_v2(qdq::ConstTensorView<T>{x.data(), big}, {}, {},
                                                        qdq::TensorView<T>{out.data(), big});
        CHECK_MESSAGE(s.code() == qdq::StatusCode::kInvalidArgument, s.ToString());
        CHECK_MESSAGE(s.message().find("input has too many elements") != std::string::npos, s.ToString());
        CHECK(all_sentinel(out));
        // A zero dimension makes any product empty, and a negative one is rejected even then.
        const qdq::Shape huge_empty{int64_t{1} << 40, int64_t{1} << 40, 0};
        s = qdq::quantize_and_dequantize_v2(qdq::ConstTensorView<T>{x.data(), huge_empty}, {}, {},
                                            qdq::TensorView<T>{out.data(), huge_empty});
        CHECK_MESSAGE(s.ok(), s.ToString());
        const qdq::Shape negative_and_zero{0, -3};
        s = qdq::quantize_and_dequantize_v2(qdq::ConstTensorView<T>{x.data(), negative_and_zero}, {}, {},
                                            qdq::TensorView<T>{out.data(), negative_and_zero});
        CHECK_MESSAGE(s.message().find("input has a negative dimension: [0,-3]") != std::string::npos, s.ToString());
        CHECK(all_sentinel(out));
        // Rank above Shape::kMaxRank makes an invalid Shape.
        std::vector<int64_t> dims(qdq::Shape::kMaxRank + 1, 1);
        const qdq::Shape too_deep(dims.data(), static_cast<int>(dims.size()));
        REQUIRE_FALSE(too_deep.valid());
        s = qdq::quantize_and_dequantize_v2(qdq::ConstTensorView<T>{x.data(), too_deep}, {}, {},
                                            qdq::TensorView<T>{out.data(), too_deep});
        CHECK_MESSAGE(s.code() == qdq::StatusCode::kInvalidArgument, s.ToString());
        CHECK(all_sentinel(out));
        // Rank exactly kMaxRank is fine.
        dims.pop_back();
        const qdq::Shape deepest(dims.data(), static_cast<int>(dims.size()));
        qdq::QuantizeOptions o;
        o.axis = -1;
        T one[1] = {T(0.5)};
        T res[1] = {T(0)};
        T r1[1], r2[1], r3[1], r4[1];
        const qdq::Shape rs{1};
        qdq::SliceRanges<T> ranges{{r1, rs}, {r2, rs}, {r3, rs}, {r4, rs}};
        s = qdq::quantize_and_dequantize_v2(qdq::ConstTensorView<T>{one, deepest}, {}, {},
                                            qdq::TensorView<T>{res, deepest}, o, &ranges);
        CHECK_MESSAGE(s.ok(), s.ToString());
    }
}

// ---------------------------------------------------------------------------------------------
TEST_CASE_TEMPLATE("gradient: axis (spec 3.3.1-2 and section 9)", T, float, double) {
    for (int axis : {2, 5, INT_MAX}) {
        INFO("axis=" << axis);
        GradCall<T> call;  // rank 2
        call.axis = axis;
        call.min_shape = call.max_shape = {3};
        call.mn.assign(3, T(-1));
        call.mx.assign(3, T(1));
        expect_invalid(call, Match::kContains, msg::grad_axis_beyond_rank(2, axis));
    }
    GradCall<T> scalar;
    scalar.shape = {};
    scalar.axis = 0;
    expect_invalid(scalar, Match::kContains, msg::grad_axis_beyond_rank(0, 0));
    for (int axis : {-3, -100, INT_MIN}) {
        INFO("axis=" << axis);
        GradCall<T> call;
        call.axis = axis;
        expect_invalid(call, Match::kContainsCi, "axis");
    }
    GradCall<T> rank1;
    rank1.shape = {2};
    rank1.axis = -100;
    expect_invalid(rank1, Match::kContains, msg::axis_at_least_minus_one(-100));
    // Negative axes count from the end.
    GradCall<T> last;
    last.axis = -1;
    last.min_shape = last.max_shape = {3};
    last.mn.assign(3, T(-1));
    last.mx.assign(3, T(1));
    expect_ok(last);
}

TEST_CASE_TEMPLATE("gradient: shapes of gradients, min and max (spec 3.3.3-6)", T, float, double) {
    SUBCASE("gradients and input must have the same shape") {
        for (auto gs : {std::vector<int64_t>{3, 2}, std::vector<int64_t>{6}, std::vector<int64_t>{2, 4},
                        std::vector<int64_t>{2, 3, 1}}) {
            INFO("gradients shape " << shape_str(gs));
            GradCall<T> call;
            call.gradients_shape = gs;
            expect_invalid(call, Match::kContains, msg::grad_same_size());
        }
    }
    SUBCASE("min/max of rank >= 2, with and without an axis") {
        for (std::optional<int> axis : {std::optional<int>{}, std::optional<int>{1}}) {
            INFO("axis=" << axis_str(axis));
            GradCall<T> a;
            a.axis = axis;
            a.min_shape = {1, 1};
            a.max_shape = axis ? std::vector<int64_t>{3} : std::vector<int64_t>{};
            a.mx.assign(static_cast<size_t>(num_elements(a.max_shape)), T(1));
            expect_invalid(a, Match::kContains, msg::grad_min_max_rank("min", 2));
            GradCall<T> b;
            b.axis = axis;
            b.min_shape = axis ? std::vector<int64_t>{3} : std::vector<int64_t>{};
            b.mn.assign(static_cast<size_t>(num_elements(b.min_shape)), T(-1));
            b.max_shape = {1, 1, 1};
            expect_invalid(b, Match::kContains, msg::grad_min_max_rank("max", 3));
        }
    }
    SUBCASE("per-axis min/max length") {
        GradCall<T> a;
        a.axis = 1;
        a.min_shape = {2};
        a.mn.assign(2, T(-1));
        a.max_shape = {3};
        a.mx.assign(3, T(1));
        expect_invalid(a, Match::kContains, msg::grad_per_axis_size("min", 3, 2));
        GradCall<T> b;
        b.axis = 1;
        b.min_shape = {3};
        b.mn.assign(3, T(-1));
        b.max_shape = {4};
        b.mx.assign(4, T(1));
        expect_invalid(b, Match::kContains, msg::grad_per_axis_size("max", 3, 4));
        // A scalar min with an axis: TF reads dim_size(0) of a scalar.
        GradCall<T> c;
        c.shape = {2, 1};
        c.axis = 1;
        expect_invalid(c, Match::kContainsCi, "min");
        GradCall<T> d;
        d.axis = 1;
        d.min_shape = {3};
        d.mn.assign(3, T(-1));
        expect_invalid(d, Match::kContainsCi, "max");
    }
    SUBCASE("per-tensor min/max must be scalars (stricter than the forward op)") {
        GradCall<T> a;
        a.min_shape = {1};
        expect_invalid(a, Match::kContains, msg::grad_scalar("input_min"));
        GradCall<T> b;
        b.max_shape = {1};
        expect_invalid(b, Match::kContains, msg::grad_scalar("input_max"));
        GradCall<T> c;
        c.min_shape = {0};
        c.mn.clear();
        expect_invalid(c, Match::kContains, msg::grad_scalar("input_min"));
    }
    SUBCASE("TF's check order: axis, same size, min/max rank, then size") {
        GradCall<T> a;
        a.axis = 9;
        a.gradients_shape = std::vector<int64_t>{5};
        a.min_shape = {1, 1};
        expect_invalid(a, Match::kContains, msg::grad_axis_beyond_rank(2, 9));
        a.axis.reset();
        expect_invalid(a, Match::kContains, msg::grad_same_size());
        a.gradients_shape.reset();
        expect_invalid(a, Match::kContains, msg::grad_min_max_rank("min", 2));
        a.min_shape = {1};
        expect_invalid(a, Match::kContains, msg::grad_scalar("input_min"));
    }
    SUBCASE("min > max and NaN bounds are accepted (as TF): nothing is in range") {
        const T nan = std::numeric_limits<T>::quiet_NaN();
        for (auto bounds : {std::vector<T>{T(1), T(-1)}, std::vector<T>{nan, T(1)}, std::vector<T>{T(-1), nan}}) {
            GradCall<T> call;
            call.mn = {bounds[0]};
            call.mx = {bounds[1]};
            expect_ok(call);
            const std::vector<T> ref = qdq_ref::gradient(call.g, call.x, call.shape, call.axis, call.mn, call.mx);
            CHECK(same_bits(call.out, ref));
        }
    }
}

TEST_CASE_TEMPLATE("gradient: outputs, null data and overlap", T, float, double) {
    SUBCASE("input_backprop shape") {
        GradCall<T> call;
        call.output_shape = std::vector<int64_t>{3, 2};
        expect_invalid(call, Match::kContainsCi, "input_backprop");
    }
    SUBCASE("min/max backprop shapes follow input_min") {
        GradCall<T> a;
        a.min_bp_shape = std::vector<int64_t>{1};
        expect_invalid(a, Match::kContainsCi, "backprop");
        GradCall<T> b;
        b.max_bp_shape = std::vector<int64_t>{2};
        expect_invalid(b, Match::kContainsCi, "backprop");
        GradCall<T> c;
        c.axis = 0;
        c.min_shape = c.max_shape = {2};
        c.mn.assign(2, T(-1));
        c.mx.assign(2, T(1));
        c.max_bp_shape = std::vector<int64_t>{3};
        expect_invalid(c, Match::kContainsCi, "backprop");
        c.max_bp_shape.reset();
        expect_ok(c);
        CHECK(same_bits(c.min_bp, std::vector<T>(2, T(0))));
        CHECK(same_bits(c.max_bp, std::vector<T>(2, T(0))));
    }
    SUBCASE("the backprops may be omitted") {
        GradCall<T> call;
        call.with_backprops = false;
        expect_ok(call);
    }
    SUBCASE("null gradients with a non-empty shape") {
        GradCall<T> call;
        call.null_gradients = true;
        expect_invalid(call, Match::kCodeOnly, "");
    }
    SUBCASE("input_backprop partially overlapping gradients or input is rejected") {
        for (int which = 0; which < 2; ++which) {
            for (int shift : {1, -2}) {
                INFO(std::string(which ? "input" : "gradients") << " + " << shift);
                std::vector<T> buf(40);
                for (size_t i = 0; i < buf.size(); ++i) buf[i] = static_cast<T>(static_cast<double>(i) * 0.1 - 1.0);
                const std::vector<T> before = buf;
                T *g = buf.data() + 4;
                T *x = buf.data() + 24;
                T *out = (which ? x : g) + shift;
                const T lo = T(-0.5), hi = T(0.5);
                const qdq::Status s = qdq::quantize_and_dequantize_v2_grad(
                    qdq::ConstTensorView<T>{g, qdq::Shape{2, 3}}, qdq::ConstTensorView<T>{x, qdq::Shape{2, 3}},
                    qdq::ConstTensorView<T>{&lo, qdq::Shape{}}, qdq::ConstTensorView<T>{&hi, qdq::Shape{}},
                    std::nullopt, qdq::TensorView<T>{out, qdq::Shape{2, 3}});
                CHECK_MESSAGE(s.code() == qdq::StatusCode::kInvalidArgument, s.ToString());
                CHECK_MESSAGE(same_bits(buf, before), "memory written on error");
            }
        }
    }
}
