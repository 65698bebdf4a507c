// TensorFlow's own vectors (shared/spec/tf_cases.json) through the qdq API:
//  * the 50 value cases, checked with the tolerance TF's test asserts AND bit for bit against the reference;
//  * the 47 must_reject cases: InvalidArgument, TF's message where one applies, nothing written;
//  * the doc_examples (range adjustment and rounding examples from TF's API docs).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <fstream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "messages.h"
#include "qdq/qdq.h"
#include "reference.h"
#include "test_util.h"

#ifndef QDQ_SPEC_DIR
#error "QDQ_SPEC_DIR must be defined (the absolute path of shared/spec)"
#endif

namespace {

using json = nlohmann::json;
using namespace qdq_test;

const json &spec() {
    static const json j = [] {
        const std::string path = std::string(QDQ_SPEC_DIR) + "/tf_cases.json";
        std::ifstream in(path);
        if (!in) FAIL("cannot open " << path);
        return json::parse(in);
    }();
    return j;
}

// Numbers are doubles; the strings "nan", "inf", "-inf" denote specials.
double number(const json &v) {
    if (v.is_string()) {
        const std::string s = v.get<std::string>();
        if (s == "nan") return std::numeric_limits<double>::quiet_NaN();
        if (s == "inf") return std::numeric_limits<double>::infinity();
        if (s == "-inf") return -std::numeric_limits<double>::infinity();
        FAIL("unknown special number " << s);
    }
    return v.get<double>();
}

// float32 values are rounded from the double, exactly as TF's tests do.
template <typename T>
std::vector<T> values(const json &arr) {
    std::vector<T> out;
    for (const json &v : arr) out.push_back(static_cast<T>(number(v)));
    return out;
}

std::vector<int64_t> dims(const json &arr) {
    return arr.get<std::vector<int64_t>>();
}

bool is_double(const json &c) {
    return c.value("dtype", std::string("float32")) == "float64";
}

bool is_grad(const json &c) {
    return c.at("op").get<std::string>() == "QuantizeAndDequantizeV4Grad";
}

qdq::RoundMode round_mode(const std::string &s) {
    if (s == "HALF_UP") return qdq::RoundMode::HALF_UP;
    REQUIRE(s == "HALF_TO_EVEN");
    return qdq::RoundMode::HALF_TO_EVEN;
}

// Raw-op axis -> API axis (spec 9): -1 is per-tensor; below -1 the raw op rejects, so pick an API axis
// that is rejected too (below -rank); otherwise the same value.
std::optional<int> api_axis(int64_t raw, int rank) {
    if (raw == -1) return std::nullopt;
    if (raw < -1) return raw < -rank ? static_cast<int>(raw) : -rank - 1;
    return static_cast<int>(raw);
}

// Value cases from the Python tests carry the Python axis, which is the API's convention already.
std::optional<int> case_axis(const json &c) {
    if (c.contains("python_axis")) {
        if (c["python_axis"].is_null()) return std::nullopt;
        return c["python_axis"].get<int>();
    }
    return api_axis(c.at("axis").get<int64_t>(), static_cast<int>(c.at("shape").size()));
}

qdq::QuantizeOptions case_options(const json &c) {
    qdq::QuantizeOptions o;
    o.signed_input = c.at("signed_input").get<bool>();
    o.num_bits = c.at("num_bits").get<int>();
    o.range_given = c.at("range_given").get<bool>();
    o.round_mode = round_mode(c.at("round_mode").get<std::string>());
    o.narrow_range = c.at("narrow_range").get<bool>();
    o.axis = case_axis(c);
    return o;
}

// |a-b| checks in double, as TF's tests compare (b = expected).
template <typename T>
std::string check_tolerance(const std::vector<T> &got, const std::vector<T> &expected, const json &tol) {
    if (got.size() != expected.size()) return "size mismatch";
    const std::string kind = tol.at("kind").get<std::string>();
    const double atol = tol.value("atol", 0.0);
    const double rtol = tol.value("rtol", 0.0);
    for (size_t i = 0; i < got.size(); ++i) {
        const double a = got[i], b = expected[i];
        bool ok;
        if (kind == "exact")
            ok = a == b;
        else if (kind == "abs")
            ok = std::fabs(a - b) <= atol;
        else if (kind == "allclose")
            ok = std::fabs(a - b) <= atol + rtol * std::fabs(b);
        else
            return "unknown tolerance kind " + kind;
        if (!ok)
            return kind + " tolerance fails at [" + std::to_string(i) + "]: got " + fmt(got[i]) + ", expected " +
                   fmt(expected[i]);
    }
    return {};
}

template <typename T>
std::string first_bit_mismatch(const std::vector<T> &got, const std::vector<T> &want, const std::vector<T> &input) {
    for (size_t i = 0; i < got.size(); ++i) {
        if (!same_bits(got[i], want[i]))
            return "at [" + std::to_string(i) + "] x=" + fmt(input[i]) + ": got " + fmt(got[i]) + ", reference " +
                   fmt(want[i]);
    }
    return {};
}

template <typename T>
void run_forward_case(const json &c) {
    const std::vector<int64_t> shape = dims(c.at("shape"));
    const std::vector<T> x = values<T>(c.at("input"));
    const std::vector<T> mn = values<T>(c.at("input_min")), mx = values<T>(c.at("input_max"));
    const std::vector<int64_t> mn_shape = dims(c.at("input_min_shape")), mx_shape = dims(c.at("input_max_shape"));
    const qdq::QuantizeOptions o = case_options(c);
    INFO(options_str(o));
    const qdq_ref::ForwardResult<T> ref = qdq_ref::quantize_and_dequantize(x, shape, o, mn, mx);
    const size_t depth = ref.ranges.size();

    for (bool with_ranges : {false, true}) {
        std::vector<T> out(x.size());
        fill_sentinel(out);
        std::vector<T> rmin(depth), rmax(depth), rscale(depth), rinv(depth);
        const qdq::Shape dshape{static_cast<int64_t>(depth)};
        qdq::SliceRanges<T> ranges{
            {rmin.data(), dshape}, {rmax.data(), dshape}, {rscale.data(), dshape}, {rinv.data(), dshape}};
        const qdq::Status s = qdq::quantize_and_dequantize_v2(qdq::ConstTensorView<T>{x.data(), make_shape(shape)},
                                                              qdq::ConstTensorView<T>{mn.data(), make_shape(mn_shape)},
                                                              qdq::ConstTensorView<T>{mx.data(), make_shape(mx_shape)},
                                                              qdq::TensorView<T>{out.data(), make_shape(shape)}, o,
                                                              with_ranges ? &ranges : nullptr);
        REQUIRE_MESSAGE(s.ok(), s.ToString());

        const std::string tol_error = check_tolerance(out, values<T>(c.at("expected")), c.at("tolerance"));
        CHECK_MESSAGE(tol_error.empty(), tol_error);
        const std::string bit_error = first_bit_mismatch(out, ref.output, x);
        CHECK_MESSAGE(bit_error.empty(), "not bit-exact vs reference " << bit_error);
        if (with_ranges) {
            for (size_t k = 0; k < depth; ++k) {
                INFO("slice " << k);
                CHECK_MESSAGE(same_bits(rmin[k], ref.ranges[k].min), fmt(rmin[k]) << " vs " << fmt(ref.ranges[k].min));
                CHECK_MESSAGE(same_bits(rmax[k], ref.ranges[k].max), fmt(rmax[k]) << " vs " << fmt(ref.ranges[k].max));
                CHECK_MESSAGE(same_bits(rscale[k], ref.ranges[k].scale), fmt(rscale[k])
                                                                             << " vs " << fmt(ref.ranges[k].scale));
                CHECK_MESSAGE(same_bits(rinv[k], ref.ranges[k].inv), fmt(rinv[k]) << " vs " << fmt(ref.ranges[k].inv));
            }
        }
    }
    // The op never modifies its inputs (KT asserts this for min/max).
    CHECK(same_bits(mn, values<T>(c.at("input_min"))));
    CHECK(same_bits(mx, values<T>(c.at("input_max"))));
}

template <typename T>
void run_grad_case(const json &c) {
    const std::vector<int64_t> shape = dims(c.at("shape"));
    const std::vector<T> g = values<T>(c.at("gradient")), x = values<T>(c.at("input"));
    const std::vector<T> mn = values<T>(c.at("input_min")), mx = values<T>(c.at("input_max"));
    const std::vector<int64_t> mn_shape = dims(c.at("input_min_shape")), mx_shape = dims(c.at("input_max_shape"));
    const std::optional<int> axis = api_axis(c.at("axis").get<int64_t>(), static_cast<int>(shape.size()));
    INFO("axis=" << axis_str(axis));

    std::vector<T> out(x.size()), min_bp(mn.size()), max_bp(mn.size());
    fill_sentinel(out);
    fill_sentinel(min_bp);
    fill_sentinel(max_bp);
    // Both backprops take input_min's shape (spec 5).
    const qdq::Status s = qdq::quantize_and_dequantize_v2_grad(
        qdq::ConstTensorView<T>{g.data(), make_shape(shape)}, qdq::ConstTensorView<T>{x.data(), make_shape(shape)},
        qdq::ConstTensorView<T>{mn.data(), make_shape(mn_shape)},
        qdq::ConstTensorView<T>{mx.data(), make_shape(mx_shape)}, axis,
        qdq::TensorView<T>{out.data(), make_shape(shape)}, qdq::TensorView<T>{min_bp.data(), make_shape(mn_shape)},
        qdq::TensorView<T>{max_bp.data(), make_shape(mn_shape)});
    REQUIRE_MESSAGE(s.ok(), s.ToString());

    const std::string tol_error = check_tolerance(out, values<T>(c.at("expected_input_backprop")), c.at("tolerance"));
    CHECK_MESSAGE(tol_error.empty(), tol_error);
    const std::vector<T> ref = qdq_ref::gradient(g, x, shape, axis, mn, mx);
    const std::string bit_error = first_bit_mismatch(out, ref, x);
    CHECK_MESSAGE(bit_error.empty(), "not bit-exact vs reference " << bit_error);
    // TF fills them with zeros (setZero: +0).
    CHECK(same_bits(min_bp, values<T>(c.at("expected_input_min_backprop"))));
    CHECK(same_bits(max_bp, values<T>(c.at("expected_input_max_backprop"))));
    CHECK(same_bits(min_bp, std::vector<T>(mn.size(), T(0))));
}

// ---------------------------------------------------------------------------------------------
// must_reject: how each case is checked through the API. Every case in the JSON must have a plan.
enum class Plan {
    kTfMessage,    // InvalidArgument whose message contains the case's tf_message
    kMessage,      // InvalidArgument whose message contains `text` (the V4 wording for a V3 case)
    kSubstringCi,  // InvalidArgument whose message contains `text`, case-insensitive (qdq's own check)
    kStatusOnly,   // InvalidArgument; graph-mode ValueError text does not apply to an eager check
    kNotExpressible,
    kAcceptedByApi,  // a V3-only rejection: the API is V4, which accepts the input
};

struct RejectPlan {
    Plan plan;
    std::string text;
};

const std::map<std::string, RejectPlan> &reject_plans() {
    static const std::map<std::string, RejectPlan> plans = {
        {"cpp/Invalid_range_given", {Plan::kTfMessage, ""}},
        {"cpp/Invalid_range_given_V3", {Plan::kTfMessage, ""}},  // same wording in V3 and V4
        // V3's "Axis requested is larger..." wording has no V4 counterpart; INT32_MIN < -rank for the API.
        {"cpp/Invalid_axis_given_V3", {Plan::kSubstringCi, "axis"}},
        {"py/testBadAxis", {Plan::kTfMessage, ""}},
        {"py/testInvalidAxis/QuantizeAndDequantizeV2/graph", {Plan::kStatusOnly, ""}},
        {"derived/testInvalidAxis/QuantizeAndDequantizeV2/eager", {Plan::kTfMessage, ""}},
        {"py/testInvalidAxis/QuantizeAndDequantizeV3/graph", {Plan::kStatusOnly, ""}},
        {"derived/testInvalidAxis/QuantizeAndDequantizeV3/eager", {Plan::kMessage, msg::shape_rank(2147483647, 1)}},
        {"py/testInvalidAxis/QuantizeAndDequantizeV4/graph", {Plan::kStatusOnly, ""}},
        {"derived/testInvalidAxis/QuantizeAndDequantizeV4/eager", {Plan::kTfMessage, ""}},
        {"py/testInvalidAxis/QuantizeAndDequantizeV4Grad/graph", {Plan::kStatusOnly, ""}},
        {"derived/testInvalidAxis/QuantizeAndDequantizeV4Grad/eager", {Plan::kTfMessage, ""}},
        // num_bits is a plain int in the API: an empty ([0]-shaped) num_bits tensor cannot be formed.
        {"py/QuantizeAndDequantizeV3OpTest.test_invalid_inputs", {Plan::kNotExpressible, ""}},
        {"CVE-2020-15265", {Plan::kTfMessage, ""}},
        // TF rejects on the axis before looking at the [1]-shaped num_bits; the API gets num_bits = 30.
        {"CVE-2021-29553", {Plan::kMessage, msg::shape_rank(3, 1)}},
        {"CVE-2021-29610", {Plan::kTfMessage, ""}},  // rank 1: "at least -1" is also -rank
        {"CVE-2021-29544", {Plan::kTfMessage, ""}},
        {"CVE-2021-37645", {Plan::kTfMessage, ""}},
        {"CVE-2021-41205/QuantizeAndDequantizeV4Grad/graph", {Plan::kStatusOnly, ""}},
        {"CVE-2021-41205/QuantizeAndDequantizeV4Grad/eager", {Plan::kTfMessage, ""}},
        {"CVE-2021-41205/QuantizeAndDequantizeV4/graph", {Plan::kStatusOnly, ""}},
        {"CVE-2021-41205/QuantizeAndDequantizeV4/eager", {Plan::kTfMessage, ""}},
        {"CVE-2021-41205/QuantizeAndDequantizeV3/graph", {Plan::kStatusOnly, ""}},
        {"CVE-2021-41205/QuantizeAndDequantizeV3/eager", {Plan::kMessage, msg::axis_at_least_minus_one(-100)}},
        {"CVE-2021-41205/QuantizeAndDequantizeV2/graph", {Plan::kStatusOnly, ""}},
        {"CVE-2021-41205/QuantizeAndDequantizeV2/eager", {Plan::kTfMessage, ""}},
        {"CVE-2022-29192", {Plan::kTfMessage, ""}},
        {"CVE-2022-36026", {Plan::kNotExpressible, ""}},  // empty num_bits tensor, as above
        {"CVE-2022-41910", {Plan::kStatusOnly, ""}},
        // TF CHECK-fails on these; qdq rejects them (spec 9) with its own wording.
        {"issue-60124", {Plan::kSubstringCi, "input_max"}},
        {"issue-69220", {Plan::kSubstringCi, "input_min"}},
        {"issue-62055", {Plan::kSubstringCi, "input_min"}},
        {"issue-V3-negative-axis", {Plan::kSubstringCi, "axis"}},
        {"derived/num_bits=0", {Plan::kTfMessage, ""}},
        {"derived/num_bits=62/signed", {Plan::kTfMessage, ""}},
        {"derived/num_bits=63/unsigned", {Plan::kTfMessage, ""}},
        {"derived/V3/num_bits=0", {Plan::kMessage, msg::num_bits_out_of_range(0, true)}},  // V4 wording, no backticks
        // V3 rejects a rank-0 input even per-tensor; V4 (the API) accepts it (spec 6.8).
        {"derived/V3/rank0_input", {Plan::kAcceptedByApi, ""}},
        {"derived/per_channel_min_size", {Plan::kTfMessage, ""}},
        {"derived/per_channel_max_size", {Plan::kTfMessage, ""}},
        {"derived/per_channel_min_rank2", {Plan::kSubstringCi, "input_min"}},
        {"derived/range_nan", {Plan::kTfMessage, ""}},
        {"derived/grad_shape_mismatch", {Plan::kTfMessage, ""}},
        {"derived/grad_per_channel_size", {Plan::kTfMessage, ""}},
        {"derived/grad_axis_beyond_rank", {Plan::kTfMessage, ""}},
        {"derived/grad_max_not_scalar", {Plan::kTfMessage, ""}},
        {"derived/grad_per_channel_scalar_min", {Plan::kSubstringCi, "min"}},
    };
    return plans;
}

void check_rejection(const qdq::Status &s, const RejectPlan &plan, const json &c) {
    CHECK_MESSAGE(s.code() == qdq::StatusCode::kInvalidArgument, "got " << s.ToString());
    switch (plan.plan) {
        case Plan::kTfMessage: {
            REQUIRE(c.at("tf_message").is_string());
            const std::string want = c["tf_message"].get<std::string>();
            CHECK_MESSAGE(contains(s.message(), want), "message '" << s.message() << "' lacks '" << want << "'");
            break;
        }
        case Plan::kMessage:
            CHECK_MESSAGE(contains(s.message(), plan.text),
                          "message '" << s.message() << "' lacks '" << plan.text << "'");
            break;
        case Plan::kSubstringCi:
            CHECK_MESSAGE(contains_ci(s.message(), plan.text),
                          "message '" << s.message() << "' lacks '" << plan.text << "'");
            break;
        default:
            break;
    }
}

template <typename T>
struct RejectInputs {
    std::vector<T> x, mn, mx, g;
    std::vector<int64_t> shape, mn_shape, mx_shape, g_shape;
};

template <typename T>
RejectInputs<T> reject_inputs(const json &c) {
    RejectInputs<T> in;
    in.x = values<T>(c.at("input").at("values"));
    in.shape = dims(c["input"].at("shape"));
    in.mn = values<T>(c.at("input_min").at("values"));
    in.mn_shape = dims(c["input_min"].at("shape"));
    in.mx = values<T>(c.at("input_max").at("values"));
    in.mx_shape = dims(c["input_max"].at("shape"));
    if (c.contains("gradient")) {
        in.g = values<T>(c["gradient"].at("values"));
        in.g_shape = dims(c["gradient"].at("shape"));
    }
    return in;
}

template <typename T>
void run_forward_reject(const json &c, const RejectPlan &plan) {
    const RejectInputs<T> in = reject_inputs<T>(c);
    const json &attrs = c.at("attrs");
    const std::string op = c.at("op").get<std::string>();
    const bool v3 = op == "QuantizeAndDequantizeV3";
    qdq::QuantizeOptions o;
    o.signed_input = attrs.value("signed_input", true);
    o.range_given = attrs.value("range_given", v3);  // V3's attr default is range_given=true (spec 2)
    o.narrow_range = attrs.value("narrow_range", false);
    o.round_mode = round_mode(attrs.value("round_mode", std::string("HALF_TO_EVEN")));
    o.num_bits = attrs.value("num_bits", 8);
    if (c.contains("num_bits_tensor")) {
        const std::vector<int> nb = c["num_bits_tensor"].at("values").get<std::vector<int>>();
        REQUIRE(nb.size() == 1);  // the empty ones are planned as not expressible
        o.num_bits = nb[0];
    }
    o.axis = api_axis(attrs.value("axis", int64_t{-1}), static_cast<int>(in.shape.size()));
    INFO(options_str(o));

    std::vector<T> out(in.x.size());
    fill_sentinel(out);
    const qdq::Status s =
        qdq::quantize_and_dequantize_v2(qdq::ConstTensorView<T>{in.x.data(), make_shape(in.shape)},
                                        qdq::ConstTensorView<T>{in.mn.data(), make_shape(in.mn_shape)},
                                        qdq::ConstTensorView<T>{in.mx.data(), make_shape(in.mx_shape)},
                                        qdq::TensorView<T>{out.data(), make_shape(in.shape)}, o);
    if (plan.plan == Plan::kAcceptedByApi) {
        REQUIRE_MESSAGE(s.ok(), s.ToString());
        const qdq_ref::ForwardResult<T> ref = qdq_ref::quantize_and_dequantize(in.x, in.shape, o, in.mn, in.mx);
        CHECK(same_bits(out, ref.output));
        return;
    }
    check_rejection(s, plan, c);
    CHECK_MESSAGE(all_sentinel(out), "output written on error");
}

template <typename T>
void run_grad_reject(const json &c, const RejectPlan &plan) {
    const RejectInputs<T> in = reject_inputs<T>(c);
    const std::optional<int> axis =
        api_axis(c.at("attrs").value("axis", int64_t{-1}), static_cast<int>(in.shape.size()));
    INFO("axis=" << axis_str(axis));
    // The output takes input's shape; the backprops take input_min's shape (the TF convention).
    std::vector<T> out(in.x.size()), min_bp(in.mn.size()), max_bp(in.mn.size());
    fill_sentinel(out);
    fill_sentinel(min_bp);
    fill_sentinel(max_bp);
    const qdq::Status s =
        qdq::quantize_and_dequantize_v2_grad(qdq::ConstTensorView<T>{in.g.data(), make_shape(in.g_shape)},
                                             qdq::ConstTensorView<T>{in.x.data(), make_shape(in.shape)},
                                             qdq::ConstTensorView<T>{in.mn.data(), make_shape(in.mn_shape)},
                                             qdq::ConstTensorView<T>{in.mx.data(), make_shape(in.mx_shape)}, axis,
                                             qdq::TensorView<T>{out.data(), make_shape(in.shape)},
                                             qdq::TensorView<T>{min_bp.data(), make_shape(in.mn_shape)},
                                             qdq::TensorView<T>{max_bp.data(), make_shape(in.mn_shape)});
    check_rejection(s, plan, c);
    CHECK_MESSAGE(all_sentinel(out), "input_backprop written on error");
    CHECK_MESSAGE(all_sentinel(min_bp), "input_min_backprop written on error");
    CHECK_MESSAGE(all_sentinel(max_bp), "input_max_backprop written on error");
}

}  // namespace

TEST_CASE("tf_cases.json: value cases match TF's tolerance and the reference bit for bit") {
    const json &cases = spec().at("cases");
    REQUIRE(cases.size() == 50);
    for (const json &c : cases) {
        INFO("case " << c.at("name").get<std::string>());
        if (is_grad(c)) {
            if (is_double(c))
                run_grad_case<double>(c);
            else
                run_grad_case<float>(c);
        } else {
            if (is_double(c))
                run_forward_case<double>(c);
            else
                run_forward_case<float>(c);
        }
    }
}

TEST_CASE("tf_cases.json: value cases on every ISA") {
    const json &cases = spec().at("cases");
    for_each_isa([&](qdq::Isa) {
        for (const json &c : cases) {
            INFO("case " << c.at("name").get<std::string>());
            if (is_grad(c))
                is_double(c) ? run_grad_case<double>(c) : run_grad_case<float>(c);
            else
                is_double(c) ? run_forward_case<double>(c) : run_forward_case<float>(c);
        }
    });
}

TEST_CASE("tf_cases.json: must_reject cases are rejected and write nothing") {
    const json &rejects = spec().at("must_reject");
    REQUIRE(rejects.size() == 47);
    std::set<std::string> seen;
    int checked = 0, skipped = 0;
    for (const json &c : rejects) {
        const std::string name = c.at("name").get<std::string>();
        INFO("must_reject case " << name << " (" << c.at("op").get<std::string>() << ")");
        const auto it = reject_plans().find(name);
        REQUIRE_MESSAGE(it != reject_plans().end(), "no plan for this must_reject case");
        seen.insert(name);
        const RejectPlan &plan = it->second;
        if (plan.plan == Plan::kNotExpressible) {
            MESSAGE("skipped must_reject case " << name
                                                << ": its num_bits tensor is empty (shape [0]); the API's num_bits is "
                                                   "an int, so this input cannot be formed");
            ++skipped;
            continue;
        }
        if (plan.plan == Plan::kAcceptedByApi)
            MESSAGE("must_reject case " << name
                                        << " is a V3-only rejection (rank-0 input); the API follows V4, which accepts "
                                           "it: checked as accepted and bit-exact instead");
        if (is_grad(c))
            is_double(c) ? run_grad_reject<double>(c, plan) : run_grad_reject<float>(c, plan);
        else
            is_double(c) ? run_forward_reject<double>(c, plan) : run_forward_reject<float>(c, plan);
        ++checked;
    }
    CHECK(seen.size() == reject_plans().size());  // no stale plan entries
    CHECK(checked == 45);
    CHECK(skipped == 2);
}

// doc_examples.range_examples: the range adjustment quoted in api_def_QuantizeAndDequantizeV2.
TEST_CASE_TEMPLATE("tf_cases.json: doc range examples via SliceRanges", T, float, double) {
    for (const json &e : spec().at("doc_examples").at("range_examples")) {
        INFO(e.at("text").get<std::string>());
        qdq::QuantizeOptions o;
        o.signed_input = e.at("signed_input").get<bool>();
        o.num_bits = e.at("num_bits").get<int>();
        o.narrow_range = e.at("narrow_range").get<bool>();
        o.range_given = true;
        const std::vector<T> mn{static_cast<T>(e.at("input_min").get<double>())};
        const std::vector<T> mx{static_cast<T>(e.at("input_max").get<double>())};
        const std::vector<T> x{T(0)};
        std::vector<T> out(1), rmin(1), rmax(1), rscale(1), rinv(1);
        const qdq::Shape one{1};
        qdq::SliceRanges<T> ranges{{rmin.data(), one}, {rmax.data(), one}, {rscale.data(), one}, {rinv.data(), one}};
        const qdq::Status s = qdq::quantize_and_dequantize_v2(
            qdq::ConstTensorView<T>{x.data(), one}, qdq::ConstTensorView<T>{mn.data(), qdq::Shape{}},
            qdq::ConstTensorView<T>{mx.data(), qdq::Shape{}}, qdq::TensorView<T>{out.data(), one}, o, &ranges);
        REQUIRE_MESSAGE(s.ok(), s.ToString());
        // The doc rounds its numbers; the reference fixes the bits.
        CHECK(static_cast<double>(rscale[0]) == doctest::Approx(e.at("expected_scale").get<double>()).epsilon(1e-6));
        CHECK(static_cast<double>(rmin[0]) == doctest::Approx(e.at("expected_min_range").get<double>()).epsilon(1e-6));
        CHECK(static_cast<double>(rmax[0]) == doctest::Approx(e.at("expected_max_range").get<double>()).epsilon(1e-6));
        const qdq_ref::SliceRange<T> r =
            qdq_ref::compute_quantization_range(mn[0], mx[0], o.signed_input, o.num_bits, o.narrow_range);
        CHECK(same_bits(rmin[0], r.min));
        CHECK(same_bits(rmax[0], r.max));
        CHECK(same_bits(rscale[0], r.scale));
        CHECK(same_bits(rinv[0], r.inv));
    }
}

// doc_examples.round_examples: with a given signed 8-bit range [-128, 127] the scale is exactly 1, so
// the output is the rounded input.
TEST_CASE_TEMPLATE("tf_cases.json: doc rounding examples", T, float, double) {
    for (const json &e : spec().at("doc_examples").at("round_examples")) {
        const double xv = e.at("x").get<double>();
        INFO(e.at("mode").get<std::string>() << " x=" << xv);
        qdq::QuantizeOptions o;
        o.range_given = true;
        o.round_mode = round_mode(e.at("mode").get<std::string>());
        const std::vector<T> mn{T(-128)}, mx{T(127)}, x{static_cast<T>(xv)};
        std::vector<T> out(1);
        const qdq::Status s = qdq::quantize_and_dequantize_v2(
            qdq::ConstTensorView<T>{x.data(), qdq::Shape{1}}, qdq::ConstTensorView<T>{mn.data(), qdq::Shape{}},
            qdq::ConstTensorView<T>{mx.data(), qdq::Shape{}}, qdq::TensorView<T>{out.data(), qdq::Shape{1}}, o);
        REQUIRE_MESSAGE(s.ok(), s.ToString());
        CHECK(static_cast<double>(out[0]) == e.at("expected").get<double>());
    }
}

// ---------------------------------------------------------------------------------------------
// The worked examples of spec sections 4-6 and 9, as literal values. They pin the reference as much as
// the library: both must produce them.
namespace {

template <typename T>
std::vector<T> forward_api(const std::vector<T> &x, const qdq::QuantizeOptions &o, T lo = T(0), T hi = T(0)) {
    std::vector<T> out(x.size());
    const qdq::Status s = qdq::quantize_and_dequantize_v2(
        qdq::ConstTensorView<T>{x.data(), qdq::Shape{static_cast<int64_t>(x.size())}},
        qdq::ConstTensorView<T>{&lo, qdq::Shape{}}, qdq::ConstTensorView<T>{&hi, qdq::Shape{}},
        qdq::TensorView<T>{out.data(), qdq::Shape{static_cast<int64_t>(x.size())}}, o);
    REQUIRE_MESSAGE(s.ok(), s.ToString());
    const std::vector<T> ref =
        qdq_ref::quantize_and_dequantize(x, {static_cast<int64_t>(x.size())}, o, {lo}, {hi}).output;
    for (size_t i = 0; i < x.size(); ++i)
        CHECK_MESSAGE(same_bits(out[i], ref[i]), "x=" << fmt(x[i]) << " got " << fmt(out[i]) << " ref " << fmt(ref[i]));
    return out;
}

}  // namespace

TEST_CASE_TEMPLATE("spec examples: quirks of sections 4-6 and 9", T, float, double) {
    const T inf = std::numeric_limits<T>::infinity();
    const T nan = std::numeric_limits<T>::quiet_NaN();
    qdq::QuantizeOptions o;
    SUBCASE("6.1 unsigned, negative data, range not given: negatives are not clamped") {
        o.signed_input = false;
        const std::vector<T> out = forward_api<T>({T(-1), T(0.5)}, o);
        CHECK(static_cast<double>(out[0]) == doctest::Approx(-1.0).epsilon(1e-6));
    }
    SUBCASE("6.2 unsigned, all data <= 0: outputs explode") {
        o.signed_input = false;
        const std::vector<T> out = forward_api<T>({T(-2), T(-1)}, o);
        if (std::is_same<T, float>::value) CHECK(out[0] == inf);
        CHECK(static_cast<double>(out[1]) ==
              doctest::Approx(static_cast<double>(std::numeric_limits<T>::max()) / 255).epsilon(1e-6));
    }
    SUBCASE("6.3 all zeros, and a given [0,0] range maps -x to -0") {
        for (T v : forward_api<T>({T(0), T(0), T(0)}, o)) CHECK(to_bits(v) == to_bits(T(0)));
        o.range_given = true;
        const std::vector<T> out = forward_api<T>({T(-3), T(2)}, o, T(0), T(0));
        CHECK(out[0] == T(0));
        CHECK(out[1] == T(0));
    }
    SUBCASE("6.4 a single value reproduces exactly") {
        CHECK(forward_api<T>({T(-3.5)}, o)[0] == T(-3.5));
    }
    SUBCASE("6.5 signed num_bits=1") {
        o.num_bits = 1;
        const std::vector<T> out = forward_api<T>({T(-1), T(1)}, o);
        CHECK(out[0] == T(-1));
        CHECK(out[1] == T(1));
        o.narrow_range = true;  // min_q = max_q = 0: inv = inf
        const std::vector<T> narrow = forward_api<T>({T(-1), T(0), T(1)}, o);
        CHECK(narrow[0] == -inf);
        CHECK(std::isnan(narrow[1]));
        CHECK(narrow[2] == inf);
    }
    SUBCASE("4.4 a given [-1,1] range clamps -2 to -128/127 and 33 to 1") {
        o.range_given = true;
        const std::vector<T> out = forward_api<T>({T(-2), T(33)}, o, T(-1), T(1));
        CHECK(static_cast<double>(out[0]) == doctest::Approx(-128.0 / 127.0).epsilon(1e-6));
        CHECK(out[1] == T(1));
    }
    SUBCASE("9 HALF_TO_EVEN is rint: small negatives give -0; HALF_UP gives +0") {
        const std::vector<T> even = forward_api<T>({T(-0.001), T(1)}, o);
        CHECK(to_bits(even[0]) == to_bits(-T(0)));
        o.round_mode = qdq::RoundMode::HALF_UP;
        const std::vector<T> up = forward_api<T>({T(-0.001), T(1)}, o);
        CHECK(to_bits(up[0]) == to_bits(T(0)));
    }
    SUBCASE("6.12 NaN propagates through a given range; infinities clamp") {
        o.range_given = true;
        const std::vector<T> out = forward_api<T>({nan, inf, -inf}, o, T(-1), T(1));
        CHECK(std::isnan(out[0]));
        CHECK(out[1] == T(1));
        CHECK(static_cast<double>(out[2]) == doctest::Approx(-128.0 / 127.0).epsilon(1e-6));
    }
    SUBCASE("6.12 and 9: an infinity in the data makes the whole slice NaN; NaN is skipped by the reduction") {
        for (T v : forward_api<T>({T(-1), inf, T(0.5)}, o)) CHECK(std::isnan(v));
        for (T v : forward_api<T>({-inf, T(1)}, o)) CHECK(std::isnan(v));
        const std::vector<T> out = forward_api<T>({nan, T(-1), T(0.25), T(1)}, o);
        CHECK(std::isnan(out[0]));
        CHECK(static_cast<double>(out[2]) == doctest::Approx(32.0 / 127.0).epsilon(1e-6));
        CHECK(out[3] == T(1));
    }
    SUBCASE("5 gradient: inclusive bounds, raw range, g*0 signs") {
        const std::vector<T> g = {T(2), T(3), T(-3), inf, T(5), T(7)};
        const std::vector<T> x = {T(0.8), T(-1), T(2), T(5), nan, T(-1.0078125)};
        const T lo = T(-1), hi = T(0.8);
        std::vector<T> out(g.size());
        const qdq::Status s = qdq::quantize_and_dequantize_v2_grad(
            qdq::ConstTensorView<T>{g.data(), qdq::Shape{6}}, qdq::ConstTensorView<T>{x.data(), qdq::Shape{6}},
            qdq::ConstTensorView<T>{&lo, qdq::Shape{}}, qdq::ConstTensorView<T>{&hi, qdq::Shape{}}, std::nullopt,
            qdq::TensorView<T>{out.data(), qdq::Shape{6}});
        REQUIRE_MESSAGE(s.ok(), s.ToString());
        CHECK(out[0] == T(2));                     // x == max: in range
        CHECK(out[1] == T(3));                     // x == min: in range
        CHECK(to_bits(out[2]) == to_bits(-T(0)));  // -3 * 0
        CHECK(std::isnan(out[3]));                 // inf * 0
        CHECK(to_bits(out[4]) == to_bits(T(0)));   // NaN input: not in range
        CHECK(to_bits(out[5]) == to_bits(T(0)));   // below the raw min (the forward's adjusted min is lower)
        CHECK(same_bits(out, qdq_ref::gradient(g, x, {6}, std::nullopt, {lo}, {hi})));
    }
}
