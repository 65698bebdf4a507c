// The README's example, built and run as a test so that it stays true.
#include <qdq/qdq.h>
#include <cstdio>
#include <vector>

int main() {
    std::vector<float> x = {-0.5f, 0.0f, 0.3f, 0.8f, -2.0f, 7.0f};
    std::vector<float> y(x.size());
    float lo = -1.0f, hi = 1.0f;  // read only with range_given

    qdq::QuantizeOptions options;  // TF's defaults: signed, 8 bits, HALF_TO_EVEN, per-tensor
    options.range_given = true;

    // Optional: the range each slice actually used, after TF's adjustment, and its scale.
    float used_min, used_max, scale, inv;
    qdq::SliceRanges<float> ranges{{&used_min, {1}}, {&used_max, {1}}, {&scale, {1}}, {&inv, {1}}};

    qdq::Status s = qdq::quantize_and_dequantize_v2({x.data(), {2, 3}}, {&lo, {}}, {&hi, {}},
                                                    {y.data(), {2, 3}}, options, &ranges);
    if (!s.ok()) { std::fprintf(stderr, "%s\n", s.ToString().c_str()); return 1; }
    std::printf("range [%g, %g], scale %g\n", used_min, used_max, scale);  // [-1.00787, 1], 127

    // Per-axis: one range per slice along `axis` (negative counts from the end).
    options.range_given = false;
    options.axis = -1;
    s = qdq::quantize_and_dequantize_v2({x.data(), {2, 3}}, {}, {}, {x.data(), {2, 3}}, options);  // in place

    // Gradient (QuantizeAndDequantizeV4Grad): gradients where min <= input <= max, else 0.
    std::vector<float> g(x.size(), 1.0f), dx(x.size());
    s = qdq::quantize_and_dequantize_v2_grad({g.data(), {2, 3}}, {x.data(), {2, 3}}, {&lo, {}}, {&hi, {}},
                                             /*axis=*/std::nullopt, {dx.data(), {2, 3}});
    return s.ok() ? 0 : 1;
}
