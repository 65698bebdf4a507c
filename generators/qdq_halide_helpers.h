// Pieces shared by the qdq generators: the tensor view, bit-exact arithmetic helpers and
// the CPU schedule of the element-wise stage (the same for forward and gradient).
#pragma once

#include "Halide.h"

namespace qdq_gen {

using namespace Halide;

// Every kernel sees its tensor as the row-major view [outer, depth, inner] of TF's
// flat_inner_outer_dims (spec 4.1); Halide orders dimensions innermost first, so the
// buffers are (x = inner, c = depth/channel, o = outer). Per-tensor is depth == 1.
struct TensorVars {
    Var x{"x"}, c{"c"}, o{"o"};
};

// Below this many elements one thread does everything: a parallel region costs a few
// microseconds, which is more than the whole call at these sizes.
constexpr int kParallelThreshold = 1 << 17;

// Elements handed to one parallel task.
constexpr int kTaskElements = 1 << 15;

// TF's clamp, in Eigen's operand order: cwiseMin(hi) then cwiseMax(lo). Written with
// selects because Halide's min/max lower to vminps/vmaxps, which return the bound for a
// NaN element; TF propagates the NaN (spec 6.12 and "measured pitfalls").
inline Expr clamp_like_eigen(Expr v, Expr lo, Expr hi) {
    Expr t = select(hi < v, hi, v);
    return select(t < lo, lo, t);
}

// The integer image of a float that orders like the float, with -0 < +0: flip the
// magnitude bits of negatives. min/max over these keys are exact, associative and
// commutative, so the computed range does not depend on vector width or thread split.
inline Expr ordered_key(Expr v) {
    const int bits = v.type().bits();
    Type kt = Int(bits);
    Expr b = reinterpret(kt, v);
    Expr magnitude = cast(kt, Expr(bits == 32 ? INT64_C(0x7fffffff) : INT64_C(0x7fffffffffffffff)));
    return b ^ ((b >> (bits - 1)) & magnitude);
}

// ordered_key is an involution on the bit pattern.
inline Expr from_ordered_key(Expr k, Type float_type) {
    return reinterpret(float_type, ordered_key(reinterpret(float_type, k)));
}

inline Expr key_of_constant(Type float_type, double value) {
    return ordered_key(cast(float_type, Expr(value)));
}

// CPU schedule of an element-wise output over the (x, c, o) view. `natural` is the number
// of lanes of one vector register for the element type.
inline void schedule_elementwise_cpu(Stage out, const TensorVars &v, Expr inner, Expr depth, Expr outer,
                                     int natural) {
    const int vec = natural * 2;  // two registers per iteration hide load latency
    Expr total = cast<int64_t>(inner) * depth * outer;
    Expr big = total >= kParallelThreshold;
    Var xo("xo"), xi("xi"), xc("xc"), task("task"), co("co");

    // Rows of at least a vector (per-tensor, first and middle axes): vectorise along x.
    // Large tensors: parallel over chunks of kTaskElements, each core streams contiguous
    // memory. GuardWithIf everywhere: no element is computed twice, so the output may alias
    // the input.
    out.specialize(inner >= vec && big)
        .split(v.x, xo, xi, kTaskElements, TailStrategy::GuardWithIf)
        .fuse(xo, v.c, xc)
        .fuse(xc, v.o, task)
        .parallel(task)
        .vectorize(xi, vec, TailStrategy::GuardWithIf);
    out.specialize(inner >= vec).vectorize(v.x, vec, TailStrategy::GuardWithIf);

    // The last axis (inner == 1): channels are contiguous, vectorise along c.
    Expr rows_per_task = max(1, kTaskElements / max(depth, 1));
    out.specialize(inner == 1 && depth >= vec && big)
        .split(v.o, co, v.o, rows_per_task, TailStrategy::GuardWithIf)
        .parallel(co)
        .vectorize(v.c, vec, TailStrategy::GuardWithIf);
    out.specialize(inner == 1 && depth >= vec).vectorize(v.c, vec, TailStrategy::GuardWithIf);

    // Anything else (short rows, few channels): parallel over outer, scalar inside.
    out.specialize(big).parallel(v.o);
}

}  // namespace qdq_gen
