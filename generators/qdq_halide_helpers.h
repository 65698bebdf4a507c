// Pieces shared by the qdq generators: the tensor view, bit-exact arithmetic helpers and
// the CPU schedule of the element-wise stage (the same for forward and gradient).
#pragma once

#include "Halide.h"
#include "qdq_kernel_contract.h"

#include <cstdint>
#include <cstring>
#include <vector>

namespace qdq_gen {

using namespace Halide;
using qdq_contract::kGpuThreads;
using qdq_contract::kParallelSliceElements;
using qdq_contract::kParallelThresholdBytes;

// Every kernel sees its tensor as the row-major view [outer, depth, inner] of TF's
// flat_inner_outer_dims (spec 4.1); Halide orders dimensions innermost first, so the
// buffers are (x = inner, c = depth/channel, o = outer). Per-tensor is depth == 1.
struct TensorVars {
    Var x{"x"}, c{"c"}, o{"o"};
};

// Declares a (x, c, o) buffer dense, row-major and zero-based, as the library always passes it: lets
// Halide prove alignment (for whole vector loads) and drop stride arithmetic.
template <typename B>
void require_dense(B &buf) {
    for (int d = 0; d < 3; ++d) buf.dim(d).set_min(0);
    buf.dim(0).set_stride(1);
    buf.dim(1).set_stride(buf.dim(0).extent());
    buf.dim(2).set_stride(buf.dim(0).extent() * buf.dim(1).extent());
}

// Declares `buf` the same shape as `ref` (the library passes tensors of one shape), so the
// schedules' conditions on ref's extents (inner == 1, ...) also simplify buf's strides; without it
// a last-axis vector of buf is addressed with a run-time stride, i.e. gathered and scattered.
template <typename B, typename R>
void require_same_shape(B &buf, const R &ref) {
    for (int d = 0; d < 3; ++d) buf.dim(d).set_extent(ref.dim(d).extent());
}

// Bytes of tensor handed to one parallel task (2^15 float32 elements, 2^14 float64: two tasks at
// the parallel threshold). The rows reduction's tasks cover the same parts of a tensor as the
// element pass's that follow, so in place each core's part stays in its cache between the two
// (float64 2^15 in place with a one-task reduction: 8.8 -> 37 us, the lines moving between cores);
// the columns kernels keep tasks of their own (kColumnsTaskElements in forward_generator.cpp).
constexpr int kTaskBytes = 1 << 17;
inline int task_elements(Type t) {
    return kTaskBytes / t.bytes();
}

// qdq_contract::runs_on_one_thread, negated, in Halide: whether a CPU kernel's loops split over
// threads. t: the element type; forward: the per-slice values are computed by the call itself.
inline Expr splits_over_threads(Expr total, Expr depth, bool forward, Type t) {
    const int threshold = static_cast<int>(kParallelThresholdBytes / t.bytes());
    Expr big = total >= threshold;
    if (!forward) return big;
    return big && (total >= 2 * threshold || cast<int64_t>(depth) * kParallelSliceElements <= total);
}

// Last-axis schedules (see schedule_elementwise_cpu): rows of a tile for short rows, channels of
// a block for long ones.
constexpr int kLastAxisShortRow = 256;
constexpr int kLastAxisRows = 8;
constexpr int kLastAxisBlockBytes = 4096;  // per row: 1024 float32 channels, 512 float64
// From this many elements (beyond the last-level cache here), the forward's long last-axis rows
// share a vector of per-channel values four rows at a time instead of two.
constexpr int kLastAxisFourRowsElements = 1 << 21;

// select(cond, a, b) for floats, done on the bit patterns: an integer select, which no pass
// can turn into a float min/max with another target's NaN or signed-zero rules.
inline Expr select_bits(Expr cond, Expr a, Expr b) {
    const Type it = Int(a.type().bits());
    return reinterpret(a.type(), select(cond, reinterpret(it, a), reinterpret(it, b)));
}

// ARMv7 NEON (arm-32) float32 arithmetic and comparisons always flush subnormal operands and
// results to zero (the FPSCR.FZ setting only governs scalar VFP code, which Linux and Android
// leave IEEE). Where this holds, the kernels compare floats on their bit patterns and hand the
// slices whose arithmetic could meet a subnormal to scalar code (forward_generator.cpp).
inline bool simd_flushes_subnormals(const Target &target, Type t) {
    return t == Float(32) && target.arch == Target::ARM && target.bits == 32 && !target.has_feature(Target::NoNEON);
}

// All bits of a signed integer of `bits` bits but the sign.
inline Expr magnitude_mask(int bits) {
    return cast(Int(bits), Expr(bits == 32 ? INT64_C(0x7fffffff) : INT64_C(0x7fffffffffffffff)));
}

// The magnitude bits of a float (sign cleared), as a signed integer of the same width.
inline Expr magnitude_bits(Expr v) {
    const int bits = v.type().bits();
    return reinterpret(Int(bits), v) & magnitude_mask(bits);
}

// The bit pattern of +infinity.
inline Expr infinity_bits(Type t) {
    return t.bits() == 32 ? Expr(INT32_C(0x7f800000)) : Expr(INT64_C(0x7ff0000000000000));
}

// The integer image of a float that orders like the float, with -0 < +0: flip the
// magnitude bits of negatives. min/max over these keys are exact, associative and
// commutative, so the computed range does not depend on vector width or thread split.
inline Expr ordered_key(Expr v) {
    const int bits = v.type().bits();
    Expr b = reinterpret(Int(bits), v);
    return b ^ ((b >> (bits - 1)) & magnitude_mask(bits));
}

// IEEE a < b computed with integer operations only (false if either is NaN; -0 == +0), so
// exact where the SIMD unit flushes subnormals. Otherwise the plain comparison.
inline Expr less_than(Expr a, Expr b, bool on_bits) {
    if (!on_bits) return a < b;
    Expr ma = magnitude_bits(a), mb = magnitude_bits(b);
    Expr inf = infinity_bits(a.type());
    Expr no_nan = ma <= inf && mb <= inf;
    Expr not_both_zero = (ma | mb) != cast(ma.type(), 0);
    return no_nan && not_both_zero && ordered_key(a) < ordered_key(b);
}

// TF's clamp, in Eigen's operand order: cwiseMin(hi) then cwiseMax(lo), i.e.
// t = hi < v ? hi : v; y = t < lo ? lo : t. A NaN element stays NaN (TF propagates it; spec
// 6.12) and -0 stays -0 against a +0 bound. on_bits: compare on bit patterns (less_than).
// On CPUs the selects are float selects: LLVM lowers them to x86's vminps(hi, v) and
// vmaxps(lo, t), whose NaN and signed-zero rules are exactly these selects' (one instruction each
// instead of a compare and a blend; under strict_float the comparison is an intrinsic that
// Halide's simplifier does not rewrite into its own min/max). GPU code keeps integer selects.
inline Expr clamp_like_eigen(Expr v, Expr lo, Expr hi, const Target &target, bool on_bits) {
    if (!on_bits && !target.has_gpu_feature()) {
        Expr t = select(hi < v, hi, v);
        return select(t < lo, lo, t);
    }
    Expr t = select_bits(less_than(hi, v, on_bits), hi, v);
    return select_bits(less_than(t, lo, on_bits), lo, t);
}

// 2^23 (float) or 2^52 (double): at and above it every value is an integer.
inline Expr integer_threshold(Type t) {
    return t.bits() == 32 ? Expr(8388608.0f) : Expr(4503599627370496.0);
}

// IEEE round-half-to-even (rint; TF's HALF_TO_EVEN on CPUs, spec 4.5), exact for every input:
// |x| + 2^23 - 2^23 rounds to even in the default rounding mode; the sign is x's (so -0.3 gives
// -0); NaN, infinities and |x| >= 2^23 pass through. Halide's round() is not used: on some
// targets it goes through an integer conversion and breaks for large values and NaN.
inline Expr round_half_to_even(Expr x) {
    const Type t = x.type();
    const Type it = Int(t.bits());
    Expr big = integer_threshold(t);
    Expr ax = abs(x);
    Expr r = (ax + big) - big;
    Expr sign = reinterpret(it, x) & cast(it, Expr(t.bits() == 32 ? INT64_C(-2147483648) : INT64_MIN));
    Expr signed_r = reinterpret(t, reinterpret(it, r) | sign);
    return select_bits(ax < big, signed_r, x);
}

// floor(x), exact for every input, from round_half_to_even (TF's HALF_UP is floor(x + 0.5)).
inline Expr floor_exact(Expr x) {
    Expr r = round_half_to_even(x);
    return select_bits(x < r, r - cast(x.type(), 1), r);
}

// a * b, rounded to T on its own even where the product feeds an addition. On CPUs
// strict_float already guarantees that; LLVM's NVPTX back end and ptxas contract a mul
// followed by an add into an FMA regardless, so on CUDA the product is the mul.rn
// intrinsic, which is never contracted. (TF's HALF_UP is floor(fl(x * scale) + 0.5).)
inline Expr separately_rounded_product(Expr a, Expr b, const Target &target) {
    if (target.has_feature(Target::CUDA)) {
        const char *name = a.type().bits() == 64 ? "llvm.nvvm.mul.rn.d" : "llvm.nvvm.mul.rn.f";
        return Internal::Call::make(a.type(), name, {a, b}, Internal::Call::PureExtern);
    }
    return a * b;
}

// ordered_key is an involution on the bit pattern.
inline Expr from_ordered_key(Expr k, Type float_type) {
    return reinterpret(float_type, ordered_key(reinterpret(float_type, k)));
}

// The key of a constant, folded here to an integer literal (Halide's OpenCL C for a
// reinterpreted float constant does not compile on PoCL).
inline Expr key_of_constant(Type float_type, double value) {
    if (float_type.bits() == 32) {
        const float f = static_cast<float>(value);
        int32_t b;
        std::memcpy(&b, &f, sizeof b);
        return Expr(b ^ ((b >> 31) & INT32_C(0x7fffffff)));
    }
    int64_t b;
    std::memcpy(&b, &value, sizeof b);
    return Expr(b ^ ((b >> 63) & INT64_C(0x7fffffffffffffff)));
}

// Vectorises `lanes` (a loop of w elements, from a split) as w / natural vectors of one register
// each, unrolled. Returns the loops it leaves innermost, for the caller's reorder: {lanes}, or
// {lanes, the unrolled registers}. At the register width LLVM turns TF's clamp, a float select of a
// comparison, into one vminps/vmaxps; on a vector of two registers it stayed a compare and a blend.
inline std::vector<VarOrRVar> vectorize_in_registers(Stage s, Var lanes, int w, int natural, const std::string &name) {
    if (w <= natural) {
        s.vectorize(lanes);
        return {lanes};
    }
    Var registers(name);
    s.split(lanes, registers, lanes, natural).vectorize(lanes).unroll(registers);
    return {lanes, registers};
}

// CPU schedule of an element-wise output of type t over the (x, c, o) view, which reads
// row_parameters per-channel values for each row. parameters_written_by_call: those values are
// computed by the same call just before the elements (the forward's slice ranges).
inline void schedule_elementwise_cpu(Stage out, const TensorVars &v, Expr inner, Expr depth, Expr outer, Type t,
                                     const Target &target, int row_parameters, bool parameters_written_by_call) {
    const int natural = target.natural_vector_size(t);  // lanes of one vector register
    const int vec = natural * 2;                        // two registers per iteration hide load latency
    Expr total = cast<int64_t>(inner) * depth * outer;
    Expr big = splits_over_threads(total, depth, parameters_written_by_call, t);
    const int per_task = task_elements(t);  // elements
    Var xo("xo"), xi("xi"), xc("xc"), task("task"), co("co"), xl("xl");

    // Rows of at least per_task elements (per-tensor, first axes): parallel over chunks of
    // per_task, so each core streams contiguous memory. GuardWithIf everywhere: no element
    // is computed twice, so the output may alias the input.
    Stage long_rows = out.specialize(inner >= per_task && big);
    long_rows.split(v.x, xo, xi, per_task, TailStrategy::GuardWithIf)
        .fuse(xo, v.c, xc)
        .fuse(xc, v.o, task)
        .parallel(task)
        .split(xi, xi, xl, vec, TailStrategy::GuardWithIf);
    vectorize_in_registers(long_rows, xl, vec, natural, "xu");
    // Rows of 2 or 4 elements (middle axes with many channels): x and c fused into one
    // contiguous dimension and vectorised across rows; a vector's per-channel parameters come
    // from a dense load of its channels, repeated s-fold by a permute.
    Var xcf("xcf"), ot3("ot3");
    for (int s : {2, 4}) {
        if (s * 4 > natural) continue;  // fewer than 4 channels a vector: Halide gathers lane by lane
        Stage fused = out.specialize(inner == s && depth * s >= natural);
        fused.specialize(big)
            .fuse(v.x, v.c, xcf)
            .split(v.o, ot3, v.o, max(1, per_task / (depth * s)), TailStrategy::GuardWithIf)
            .parallel(ot3)
            .vectorize(xcf, natural, TailStrategy::GuardWithIf);
        fused.fuse(v.x, v.c, xcf).vectorize(xcf, natural, TailStrategy::GuardWithIf);
    }

    // Shorter rows (middle and first axes with many channels): whole rows, in tasks of about
    // per_task elements (a block of channels by a block of outer rows), vectorised along x with the
    // widest vector a row fills (down to 4 lanes). The tasks split c and o themselves: a fused
    // (c, o) loop would divide by depth once per row, which costs as much as a short row.
    Var ct("ct"), ob("ob");
    Expr task_rows = max(1, per_task / max(inner, 1));
    Expr task_channels = clamp(depth, 1, task_rows);
    auto in_row_tasks = [&](Stage s) -> Stage {
        return s.split(v.c, ct, v.c, task_channels, TailStrategy::GuardWithIf)
            .split(v.o, ob, v.o, max(1, task_rows / task_channels), TailStrategy::GuardWithIf)
            .reorder(v.x, v.c, v.o, ct, ob)
            .fuse(ct, ob, task)
            .parallel(task);
    };
    std::vector<int> widths = {vec};
    for (int w = natural; w >= 4; w /= 2) widths.push_back(w);
    // Rows of half a vector (8 float32 lanes on AVX-512) with at most 2 parameters a row (the
    // gradient): two rows a vector, their parameters loaded as pairs and spread by a shuffle (a
    // 2-D vector over x and c). Measured at [8, 1024, 8], 1 thread: gradient 15.5 -> 10.1 us;
    // the forward, with 4 parameters to spread, went 7.8 -> 9.9 us, so it keeps half vectors.
    if (natural >= 8 && row_parameters <= 2) {
        const int half = natural / 2;
        in_row_tasks(out.specialize(inner == half && big)).vectorize(v.x).vectorize(v.c, 2, TailStrategy::GuardWithIf);
        out.specialize(inner == half).vectorize(v.x).vectorize(v.c, 2, TailStrategy::GuardWithIf);
    }
    for (int w : widths) {
        for (Stage s : {in_row_tasks(out.specialize(inner >= w && big)), out.specialize(inner >= w)}) {
            s.split(v.x, v.x, xl, w, TailStrategy::GuardWithIf);
            vectorize_in_registers(s, xl, w, natural, "xu");
        }
    }

    // The last axis (inner == 1): channels are contiguous, vectorise along c, and keep the
    // per-channel parameters in L1. Short rows (depth <= kLastAxisShortRow): tiles of
    // kLastAxisRows rows inside each channel vector, so a parameter vector is loaded once per
    // tile. Long rows: blocks of kLastAxisBlockBytes of channels, each over all the rows of a
    // task, so the block's parameters (4x its bytes) stay in L1 while the rows stream past; rows
    // of up to one block run in memory order. (Blocks of 512 float32 channels, the first try,
    // moved depth 1024 at 2^22 as two blocks of strided 2 KiB pieces: 1.3-1.5x slower.) The
    // forward loads 4 values per vector of elements, so 2 rows share them, 4 from
    // kLastAxisFourRowsElements on (2^22 float32, all cores, depth 1024 and 4096: 15-19% faster;
    // 4 rows were slower at 2^20 and in cache, 8 slower than 4 at 2^22).
    Expr rows_per_task = max(1, per_task / max(depth, 1));
    Var cv("cv"), cl("cl"), cb("cb"), ot2("ot2"), oi("oi");
    // Loops from innermost: those of a vector of channels, then `outer_loops`.
    auto reorder_after_vector = [](Stage s, std::vector<VarOrRVar> loops,
                                   std::initializer_list<VarOrRVar> outer_loops) {
        loops.insert(loops.end(), outer_loops);
        s.reorder(loops);
    };
    for (int w : widths) {
        auto rows_in_vector = [&](Stage s) {
            s.split(v.c, cv, cl, w, TailStrategy::GuardWithIf);
            std::vector<VarOrRVar> vector = vectorize_in_registers(s, cl, w, natural, "cu");
            s.split(v.o, ot2, oi, kLastAxisRows, TailStrategy::GuardWithIf);
            reorder_after_vector(s, vector, {oi, cv, v.x, ot2});
        };
        auto channel_blocks = [&](Stage s, int rows_per_parameters) {
            s.split(v.c, cb, v.c, kLastAxisBlockBytes / t.bytes(), TailStrategy::GuardWithIf)
                .split(v.c, cv, cl, w, TailStrategy::GuardWithIf);
            std::vector<VarOrRVar> vector = vectorize_in_registers(s, cl, w, natural, "cu");
            if (rows_per_parameters > 1) {
                s.split(v.o, v.o, oi, rows_per_parameters, TailStrategy::GuardWithIf).unroll(oi);
                reorder_after_vector(s, vector, {oi, cv, v.x, v.o, cb});
            } else {
                reorder_after_vector(s, vector, {cv, v.x, v.o, cb});
            }
        };
        for (bool short_rows : {true, false}) {
            Expr shape =
                inner == 1 && depth >= w && (short_rows ? depth <= kLastAxisShortRow : depth > kLastAxisShortRow);
            Stage parallel_rows = out.specialize(shape && big);
            parallel_rows.split(v.o, co, v.o, rows_per_task, TailStrategy::GuardWithIf).parallel(co);
            if (!short_rows && row_parameters >= 4) {
                Stage from_memory = parallel_rows.specialize(total >= kLastAxisFourRowsElements);
                channel_blocks(from_memory, 4);
            }
            for (Stage s : {parallel_rows, out.specialize(shape)}) {
                if (short_rows) {
                    rows_in_vector(s);
                } else {
                    channel_blocks(s, row_parameters >= 4 ? 2 : 1);
                }
            }
        }
    }

    // Anything else (short rows, few channels): blocks of outer rows in parallel, scalar inside.
    Var ot("ot");
    out.specialize(big)
        .split(v.o, ot, v.o, max(1, per_task / max(1, inner * depth)), TailStrategy::GuardWithIf)
        .parallel(ot);
}

// GPU schedule of an element-wise output over the (x, c, o) view. A CUDA float32 thread moves a
// vector of 4 elements (the PTX has four 32-bit loads and stores, not a 16-byte one: Halide cannot
// assume a caller's device pointer 16-byte aligned). Blocks are numbered in one fused grid dimension, so no
// extent meets the 65535 limit of the others. GuardWithIf: nothing is computed twice, so the
// output may alias the input.
inline void schedule_elementwise_gpu(Stage out, const TensorVars &v, Expr inner, Expr depth, Type t,
                                     const Target &target) {
    // Halide 21's OpenCL back end cannot emit guarded vector loads (EliminateBoolVectors), and
    // its PTX back end mis-declares the f64 mul.rn intrinsic on vectors, so those threads move
    // one element: the same tiling, one lane.
    const int vec = target.has_feature(Target::CUDA) && t.bits() == 32 ? 4 : 1;
    Var xo("xo"), xi("xi"), xt("xt"), xv("xv"), co("co"), ci("ci"), oo("oo"), oi("oi"), b("b"), b2("b2");

    // Rows of at least one block's tile: tile along x.
    // Rows that are a whole number of tiles (sizes 2^k and most real shapes) need no bounds
    // guard on each element.
    // A block does kTilesPerBlock tiles, each thread a vector of each (fewer, longer-lived blocks
    // and several loads in flight per thread); a ragged group of tiles skips the missing ones.
    constexpr int kTilesPerBlock = 4;
    Var xs("xs");
    for (TailStrategy tail : {TailStrategy::RoundUp, TailStrategy::GuardWithIf}) {
        const int tile = kGpuThreads * vec;
        Stage rows = tail == TailStrategy::RoundUp ? out.specialize(inner % tile == 0) : out.specialize(inner >= tile);
        rows.split(v.x, xo, xi, tile, tail)
            .split(xo, xo, xs, kTilesPerBlock, TailStrategy::GuardWithIf)
            .split(xi, xt, xv, vec)
            .reorder(xv, xs, xt, xo);
        if (vec > 1) rows.vectorize(xv);
        rows.unroll(xs).fuse(xo, v.c, b).fuse(b, v.o, b2).gpu_blocks(b2).gpu_threads(xt);
    }

    // The last axis (inner == 1): channels are contiguous; 32 x vec channels by 8 threads a
    // block (whole vectors when the channels fill whole tiles). Each thread does kRowsPerThread
    // rows of its channels, so their per-channel values are loaded once for several rows.
    constexpr int kRowsPerThread = 4;
    Var os("os");
    for (TailStrategy tail : {TailStrategy::RoundUp, TailStrategy::GuardWithIf}) {
        const int tile = 32 * vec;
        Stage last_axis = tail == TailStrategy::RoundUp ? out.specialize(inner == 1 && depth % tile == 0)
                                                        : out.specialize(inner == 1);
        last_axis.split(v.c, co, ci, tile, tail).split(ci, xt, xv, vec);
        if (vec > 1) last_axis.vectorize(xv);
        last_axis.split(v.o, oo, oi, 8 * kRowsPerThread, TailStrategy::GuardWithIf)
            .split(oi, oi, os, kRowsPerThread, TailStrategy::GuardWithIf)
            .reorder(xv, os, xt, oi, v.x, co, oo)
            .fuse(co, oo, b)
            .gpu_blocks(b)
            .gpu_threads(xt, oi);
    }

    // Short rows: 32 x-positions by 8 (channel, outer) rows a block.
    out.split(v.x, xo, xt, 32, TailStrategy::GuardWithIf)
        .fuse(v.c, v.o, co)
        .split(co, oo, oi, 8, TailStrategy::GuardWithIf)
        .reorder(xt, oi, xo, oo)
        .fuse(xo, oo, b)
        .gpu_blocks(b)
        .gpu_threads(xt, oi);
}

}  // namespace qdq_gen
