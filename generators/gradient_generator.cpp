// QuantizeAndDequantizeV4Grad (spec section 5), per-tensor and per-axis:
//   input_backprop = gradients * (input_min <= input <= input_max ? 1 : 0)
// with the raw given range (not the adjusted one), bounds inclusive, and a real multiply in
// T so that -0, NaN and Inf behave as in TF (g * 0 is -0 for negative g, NaN for Inf).
// The min/max backprops are zeros; the library writes them without a kernel.
#include "qdq_halide_helpers.h"

#include <cmath>

namespace qdq_gen {

class QuantizeDequantizeGradient : public Generator<QuantizeDequantizeGradient> {
public:
    GeneratorParam<Type> value_type{"value_type", Float(32)};

    GeneratorInput<Buffer<>> *gradients = nullptr;  // (x, c, o)
    GeneratorInput<Buffer<>> *input = nullptr;      // (x, c, o)
    GeneratorInput<Buffer<>> *input_min = nullptr;  // (c)
    GeneratorInput<Buffer<>> *input_max = nullptr;  // (c)
    GeneratorOutput<Buffer<>> *input_backprop = nullptr;

    void configure() {
        gradients = add_input<Buffer<>>("gradients", value_type, 3);
        input = add_input<Buffer<>>("input", value_type, 3);
        input_min = add_input<Buffer<>>("input_min", value_type, 1);
        input_max = add_input<Buffer<>>("input_max", value_type, 1);
        input_backprop = add_output<Buffer<>>("input_backprop", value_type, 3);
    }

    void generate() {
        const Type t = value_type;
        const TensorVars v;
        Expr x = (*input)(v.x, v.c, v.o);
        Expr lo = (*input_min)(v.c), hi = (*input_max)(v.c);
        Expr dy = (*gradients)(v.x, v.c, v.o);
        // lo <= x <= hi. Explicit NaN tests: without NaN, x >= lo is !(x < lo), which Halide may
        // produce anyway. A NaN bound leaves no x in range. Where SIMD flushes subnormals, the
        // comparisons go on bit patterns.
        const bool flushes = simd_flushes_subnormals(get_target(), t);
        Expr nan_bound = is_nan(lo) || is_nan(hi);
        Expr in_range;
        if (get_target().has_feature(Target::AVX512)) {
            // The NaN test in the vector mask (a mask register, one more kor a vector). On
            // AVX-512 the select below became a masked load of the infinity from the constant pool
            // (vmovss mem, xmm{k}) per row, and perf put 80% of some calls on it: [64, 64] axis 0,
            // 1 thread, float32, 2.33 -> 0.46 us; [8, 64, 8] middle axis 7.5 -> 0.53-0.65 us.
            // Most likely a masked load cannot take a forwarded store and waits for in-flight
            // stores to addresses equal modulo 4 KiB (it depended on the buffers' placement: with
            // the benchmark's, 0.86-1.07x, median 0.99).
            in_range = !nan_bound && !is_nan(x) && !less_than(x, lo, flushes) && !less_than(hi, x, flushes);
        } else {
            // The empty range [+inf, -inf] for a NaN bound, a per-channel select (the NaN test in
            // the vector mask cost as much as a row of 8 elements: AVX2 median 1.15x, SSE4.1 1.35x).
            Expr lo_or_empty = select(nan_bound, cast(t, INFINITY), lo);
            Expr hi_or_empty = select(nan_bound, cast(t, -INFINITY), hi);
            in_range = !is_nan(x) && !less_than(x, lo_or_empty, flushes) && !less_than(hi_or_empty, x, flushes);
        }
        // TF's dy * mask; where SIMD flushes subnormals, dy passes by selection (dy * 1 would
        // flush a subnormal dy; dy * 0 has the right sign and NaN).
        (*input_backprop)(v.x, v.c, v.o) =
            flushes ? select_bits(in_range, dy, dy * cast(t, 0)) : dy * select(in_range, cast(t, 1), cast(t, 0));

        require_dense(*gradients);
        require_dense(*input);
        require_dense(*input_backprop);
        require_same_shape(*gradients, *input);
        require_same_shape(*input_backprop, *input);
        Expr inner = input->dim(0).extent(), depth = input->dim(1).extent(), outer = input->dim(2).extent();
        if (get_target().has_gpu_feature()) {
            schedule_elementwise_gpu(Func(*input_backprop), v, inner, depth, t, get_target());
        } else {
            schedule_elementwise_cpu(Func(*input_backprop), v, inner, depth, outer, t, get_target(), 2, false);
        }
    }
};

}  // namespace qdq_gen

HALIDE_REGISTER_GENERATOR(qdq_gen::QuantizeDequantizeGradient, qdq_gradient)
