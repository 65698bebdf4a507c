// An edge app's use of qdq: fake-quantise a weight tensor per output channel, as quantisation-aware
// training does, check the result, and see a bad call rejected with TensorFlow's message.
#include <qdq/qdq.h>

#include <cmath>
#include <cstdio>
#include <vector>

int main() {
    constexpr int kChannels = 4, kPerChannel = 37;  // odd length: vector body and tail both run
    std::vector<float> weights(kChannels * kPerChannel), fake_quantised(weights.size());
    for (size_t i = 0; i < weights.size(); ++i) weights[i] = std::sin(0.37f * static_cast<float>(i)) * (1 + i % 3);

    qdq::QuantizeOptions options;  // signed 8-bit, HALF_TO_EVEN
    options.axis = 0;              // one range per channel, computed from the data
    std::vector<float> used_min(kChannels), used_max(kChannels), scale(kChannels), inverse(kChannels);
    qdq::SliceRanges<float> ranges{{used_min.data(), {kChannels}},
                                   {used_max.data(), {kChannels}},
                                   {scale.data(), {kChannels}},
                                   {inverse.data(), {kChannels}}};
    qdq::Status s =
        qdq::quantize_and_dequantize_v2({weights.data(), {kChannels, kPerChannel}}, {}, {},
                                        {fake_quantised.data(), {kChannels, kPerChannel}}, options, &ranges);
    if (!s.ok()) {
        std::fprintf(stderr, "quantize_and_dequantize_v2 failed: %s\n", s.ToString().c_str());
        return 1;
    }
    // Every value moves by at most half a step and lands on the channel's grid.
    int bad = 0;
    for (int c = 0; c < kChannels; ++c) {
        for (int i = 0; i < kPerChannel; ++i) {
            const float x = weights[c * kPerChannel + i], y = fake_quantised[c * kPerChannel + i];
            const float steps = y * scale[c];
            if (std::fabs(y - x) > 0.5f * inverse[c] * 1.0001f || std::fabs(steps - std::nearbyint(steps)) > 1e-3f)
                ++bad;
        }
        std::printf("channel %d: range [%.6f, %.6f], scale %.4f\n", c, used_min[c], used_max[c], scale[c]);
    }

    // A bad attribute is an error with TensorFlow's text, and nothing is written.
    options.num_bits = 0;
    std::vector<float> untouched(weights.size(), 42.0f);
    s = qdq::quantize_and_dequantize_v2({weights.data(), {kChannels, kPerChannel}}, {}, {},
                                        {untouched.data(), {kChannels, kPerChannel}}, options);
    std::printf("num_bits = 0: %s\n", s.ToString().c_str());
    for (float v : untouched) bad += v != 42.0f;

    std::printf("qdq %s, code path %s: %s\n", qdq::version(), qdq::isa_name(qdq::best_supported_isa()),
                bad || s.ok() ? "FAILED" : "ok");
    return bad || s.ok() ? 1 : 0;
}
