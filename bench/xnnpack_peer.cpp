#include "xnnpack_peer.h"

#include <pthreadpool.h>
#include <xnnpack.h>

#include <cstdlib>

namespace qdq_bench::xnnpack {

class Pair {
public:
    ~Pair() {
        if (to_int8) xnn_delete_operator(to_int8);
        if (to_float) xnn_delete_operator(to_float);
        if (pool) pthreadpool_destroy(pool);
    }
    pthreadpool_t pool = nullptr;
    xnn_operator_t to_int8 = nullptr;
    xnn_operator_t to_float = nullptr;
};

std::shared_ptr<Pair> make_pair(const float *x, int8_t *q, float *out, int64_t n, float inverse_scale, int threads,
                                std::string *error) {
    static const xnn_status init = xnn_initialize(nullptr);
    if (init != xnn_status_success) {
        *error = "xnn_initialize failed (status " + std::to_string(init) + ")";
        return nullptr;
    }
    auto p = std::make_shared<Pair>();
    p->pool = pthreadpool_create(threads == 1 ? 1 : 0);
    const auto channels = static_cast<size_t>(n);
    xnn_status s =
        xnn_create_convert_nc_f32_qs8(channels, channels, channels, inverse_scale, 0, -128, 127, 0, &p->to_int8);
    if (s == xnn_status_success) {
        s = xnn_create_convert_nc_qs8_f32(channels, channels, channels, inverse_scale, 0, 0, &p->to_float);
    }
    if (s == xnn_status_success) s = xnn_setup_convert_nc_f32_qs8(p->to_int8, 1, x, q, p->pool);
    if (s == xnn_status_success) s = xnn_setup_convert_nc_qs8_f32(p->to_float, 1, q, out, p->pool);
    if (s != xnn_status_success) {
        *error = "XNNPACK convert operator set-up failed (status " + std::to_string(s) + ")";
        return nullptr;
    }
    return p;
}

void run(Pair &p) {
    xnn_run_operator(p.to_int8, p.pool);
    xnn_run_operator(p.to_float, p.pool);
}

}  // namespace qdq_bench::xnnpack
