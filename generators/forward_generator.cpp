// QuantizeAndDequantizeV4 forward (spec sections 4.1-4.5), per-tensor and per-axis.
//
//   range_given = true:  the range comes from input_min/input_max, the element is clamped.
//   range_given = false: the range is the min/max of each slice (NaN skipped), no clamp.
// Then, per slice, TF's ComputeQuantizationRange adjusts the range (4.3), and each element
// becomes round(y * scale) * inverse_scale: three separately rounded operations.
//
// All attributes except range_given are run-time inputs. Every target carries strict_float,
// so no FMA contraction or reassociation touches the arithmetic.
#include "qdq_halide_helpers.h"

#include <algorithm>
#include <limits>

namespace qdq_gen {

class QuantizeDequantizeForward : public Generator<QuantizeDequantizeForward> {
public:
    GeneratorParam<Type> value_type{"value_type", Float(32)};
    GeneratorParam<bool> range_given{"range_given", true};
    // How the range-computed kernel walks memory for its reduction; the library picks one
    // per call. "rows": along x in segments, for rows of >= kMinRowLength elements (per-tensor,
    // first and middle axes). "columns": for shorter rows, across channels (the last axis, rows
    // shorter than min(8, a vector)) or a vector at a time along each row (longer rows).
    // "small": one non-empty tensor-wide slice (depth and outer 1) below the parallel threshold:
    // one serial pass (see range_keys_small).
    GeneratorParam<std::string> reduction{"reduction", "rows"};
    // Devices, range given: the per-slice values come in as a table (computed on the host, see
    // src/), so a call is one kernel launch; the range-given semantics (clamp) apply.
    GeneratorParam<bool> ranges_input{"ranges_input", false};

    Input<int> num_bits{"num_bits"};
    Input<bool> signed_input{"signed_input"};
    Input<bool> narrow_range{"narrow_range"};
    Input<int> round_mode{"round_mode"};  // 0 = HALF_TO_EVEN, 1 = HALF_UP

    GeneratorInput<Buffer<>> *input = nullptr;      // (x, c, o)
    GeneratorInput<Buffer<>> *input_min = nullptr;  // (c), range_given only
    GeneratorInput<Buffer<>> *input_max = nullptr;  // (c), range_given only
    GeneratorOutput<Buffer<>> *output = nullptr;    // (x, c, o)
    // (c, k): k = 0 adjusted min, 1 adjusted max, 2 scale, 3 inverse scale.
    GeneratorOutput<Buffer<>> *slice_ranges = nullptr;
    GeneratorInput<Buffer<>> *slice_table = nullptr;  // the same, ranges_input only

    static constexpr int kMinRowLength = qdq_contract::kMinRowLength;
    static constexpr int kGpuMinRowLength = qdq_contract::kGpuMinRowLength;
    // Segments whose keys the CPU row reduction holds at once (range_keys_along_rows).
    static constexpr int kItemsPerBatch = 4096;
    // The "columns" kernels' tasks: 2^15 elements whatever the type (blocks of 2^14 float64
    // elements, as the element pass has, made float64 2^17, middle axis, depth 1024 1.47x slower:
    // twice the blocks' partial keys to fold).
    static constexpr int kColumnsTaskElements = 1 << 15;
    // GPU range reduction (range_keys_along_rows_gpu): loads in flight per thread, the
    // largest segment a block reduces, and the number of blocks to aim for.
    static constexpr int kGpuUnroll = 8;
    static constexpr int kGpuMaxSegment = kGpuThreads * 64;
    static constexpr int kGpuReduceBlocks = 1024;
    static constexpr int kGpuReduceThreads = 1 << 19;

    void configure() {
        input = add_input<Buffer<>>("input", value_type, 3);
        if (ranges_input) {
            slice_table = add_input<Buffer<>>("slice_table", value_type, 2);
            output = add_output<Buffer<>>("output", value_type, 3);
            return;
        }
        if (range_given) {
            input_min = add_input<Buffer<>>("input_min", value_type, 1);
            input_max = add_input<Buffer<>>("input_max", value_type, 1);
        }
        output = add_output<Buffer<>>("output", value_type, 3);
        slice_ranges = add_output<Buffer<>>("slice_ranges", value_type, 2);
    }

    void generate() {
        const Type t = value_type;
        Var k("k");
        Expr inner = input->dim(0).extent(), depth = input->dim(1).extent(), outer = input->dim(2).extent();

        if (ranges_input) {
            // The elements only, from the table (devices; see ranges_input).
            define_output(*slice_table, true);
            require_slice_layout(slice_table);
            schedule_output(inner, depth, outer);
            return;
        }
        // The range of each slice, before TF's adjustment.
        Func raw_range("raw_range");
        if (range_given) {
            raw_range(v.c) = Tuple((*input_min)(v.c), (*input_max)(v.c));
        } else {
            Func keys = reduction.value() == "rows"    ? range_keys_along_rows(inner, depth, outer)
                        : reduction.value() == "small" ? range_keys_small(inner)
                                                       : range_keys_across_channels(inner, depth, outer);
            raw_range(v.c) = Tuple(from_ordered_key(keys(v.c)[0], t), from_ordered_key(keys(v.c)[1], t));
        }

        // TF's ComputeQuantizationRange (spec 4.3), literally, in T. min_q/max_q are int64
        // first and rounded to T by the conversion, as in TF.
        Expr half = cast<int64_t>(1) << cast<int64_t>(num_bits - 1);
        Expr min_q = cast(t, select(signed_input, select(narrow_range, 1 - half, -half), cast<int64_t>(0)));
        Expr max_q = cast(t, select(signed_input, half - 1, 2 * half - 1));
        Expr lo = raw_range(v.c)[0], hi = raw_range(v.c)[1];
        Expr t_max = largest_finite(t);
        Expr scale_from_min = select(min_q * lo > 0, min_q / lo, t_max);
        Expr scale_from_max = select(max_q * hi > 0, max_q / hi, t_max);
        Expr min_side = scale_from_min < scale_from_max;  // ties: the max side decides
        // One division for either side (the same IEEE operation on the chosen operands).
        Expr inverse = select(min_side, lo, hi) / select(min_side, min_q, max_q);
        Func slice("slice");  // {adjusted min, adjusted max, scale, inverse scale}, inlined
        slice(v.c) = Tuple(select(min_side, lo, min_q * inverse), select(min_side, max_q * inverse, hi),
                           select(min_side, scale_from_min, scale_from_max), inverse);
        // The per-slice values live in the slice_ranges output, computed first; the elements read
        // them from there (no scratch allocation per call).
        (*slice_ranges)(v.c, k) = mux(k, {slice(v.c)[0], slice(v.c)[1], slice(v.c)[2], slice(v.c)[3]});

        define_output(*slice_ranges, range_given);
        const bool flushes = simd_flushes_subnormals(get_target(), t);

        // ---- schedule ----
        (*slice_ranges).bound(k, 0, 4);
        require_slice_layout(slice_ranges);
        if (get_target().has_gpu_feature()) {
            Var ct("ct"), ci("ci");
            // The four values of a slice in one thread (k inside c): with k outermost, each k was
            // a kernel launch of its own, some 4 us of the calling thread's time apiece.
            Func(*slice_ranges).reorder(k, v.c).unroll(k);
            if (range_given) {
                Func(*slice_ranges).gpu_tile(v.c, ct, ci, 64, TailStrategy::GuardWithIf);
            } else {
                Func(*slice_ranges).gpu_blocks(v.c);  // each block folds its channel's keys first
            }
        } else {
            const int natural = get_target().natural_vector_size(t);
            // The four values of a slice together (their divisions shared), slices a vector at a
            // time: with thousands of short slices (per-axis, large depth) this stage would
            // otherwise cost more than the elements. Scalar where SIMD flushes subnormals: the
            // range arithmetic must be IEEE.
            Func(*slice_ranges).reorder(k, v.c).unroll(k);
            if (!flushes) Func(*slice_ranges).vectorize(v.c, natural, TailStrategy::GuardWithIf);
        }
        schedule_output(inner, depth, outer);
    }

    // The output (x, c, o) from the per-slice values ranges(c, k); `clamp`: range given.
    void define_output(Func ranges, bool clamp) {
        const Type t = value_type;
        Expr depth = input->dim(1).extent(), outer = input->dim(2).extent();
        const bool flushes = simd_flushes_subnormals(get_target(), t);
        // One element of slice c: clamp (range given), round(y * scale), times the inverse scale.
        auto quantize = [&](Expr x, Expr c) {
            Expr y = clamp ? clamp_like_eigen(x, ranges(c, 0), ranges(c, 1), get_target(), flushes) : x;
            Expr scaled = separately_rounded_product(y, ranges(c, 2), get_target());
            Expr half_up_input = scaled + cast(t, Expr(0.5));
            Expr rounded =
                native_rounding()
                    ? select(round_mode == 0, native_round(scaled, "roundeven"), native_round(half_up_input, "floor"))
                    : select(round_mode == 0, round_half_to_even(scaled), floor_exact(half_up_input));
            return rounded * ranges(c, 3);
        };
        Expr x = (*input)(v.x, v.c, v.o);
        if (!flushes) {
            (*output)(v.x, v.c, v.o) = quantize(x, v.c);
        } else {
            // ARMv7 NEON flushes subnormals (see simd_flushes_subnormals). With the comparisons on
            // bit patterns, the vector code is exact for a slice whose scale lies in
            // [2^-126, 2^125] and whose inverse scale is zero or normal: a subnormal y then gives
            // |y * scale| < 0.5, which rounds to the same signed zero as the flushed y, and
            // round(...) * inverse is an integer times a normal number, never subnormal. Other
            // slices (tiny or enormous ranges, NaN) keep their input here and are quantised by
            // the scalar (VFP, IEEE) update below, which reads them back; in place as well.
            auto vector_exact = [&](Expr c) {
                Expr scale_bits = reinterpret(Int(32), ranges(c, 2));
                Expr inverse_magnitude = magnitude_bits(ranges(c, 3));
                Expr scale_ok = scale_bits >= INT32_C(0x00800000) && scale_bits <= INT32_C(0x7e000000);
                Expr inverse_ok = inverse_magnitude == 0 || (inverse_magnitude >= INT32_C(0x00800000) &&
                                                             inverse_magnitude <= INT32_C(0x7f800000));
                return scale_ok && inverse_ok;
            };
            (*output)(v.x, v.c, v.o) = select_bits(vector_exact(v.c), quantize(x, v.c), x);
            RDom r(0, depth, 0, outer, "scalar_slices");  // (c, o); x stays a pure loop inside
            r.where(!vector_exact(r.x));
            (*output)(v.x, r.x, r.y) = quantize((*output)(v.x, r.x, r.y), r.x);
            Func(*output).update(0).reorder(v.x, r.x, r.y);  // scalar on purpose: VFP is IEEE
        }
    }

    // The output's schedule, whichever way its per-slice values come: dense tensors of one shape,
    // one branch per call for the rounding mode (not per element), the element-wise schedules.
    void schedule_output(Expr inner, Expr depth, Expr outer) {
        const Type t = value_type;
        require_dense(*input);
        require_dense(*output);
        require_same_shape(*output, *input);
        Stage even = Func(*output).specialize(round_mode == 0);
        if (get_target().has_gpu_feature()) {
            schedule_elementwise_gpu(even, v, inner, depth, t, get_target());
            schedule_elementwise_gpu(Func(*output), v, inner, depth, t, get_target());
        } else {
            schedule_elementwise_cpu(even, v, inner, depth, outer, t, get_target(), 4, true);
            schedule_elementwise_cpu(Func(*output), v, inner, depth, outer, t, get_target(), 4, true);
        }
    }

    // The (c, k) layout of the per-slice values, output or table: channels dense, k = 0..3.
    template <typename SliceBuffer>
    static void require_slice_layout(SliceBuffer *b) {
        b->dim(0).set_min(0).set_stride(1);
        b->dim(1).set_min(0).set_extent(4).set_stride(b->dim(0).extent());
    }

private:
    TensorVars v;

    // Where Halide's round()/floor() are single IEEE instructions (x86 roundps from SSE4.1 on,
    // AArch64 frintn/frintm, PTX cvt.rni/cvt.rmi, OpenCL rint/floor), use them; elsewhere the
    // exact versions of qdq_halide_helpers.h: baseline x86-64 goes through an integer conversion,
    // and ARMv7 has no vector rounding instruction (LLVM calls floorf once per lane). Every
    // variant is tested bit for bit.
    bool native_rounding() const {
        const Target &target = get_target();
        if (target.has_gpu_feature()) return true;
        if (target.arch == Target::X86) return target.has_feature(Target::SSE41);
        return target.arch == Target::ARM && target.bits == 64;
    }

    // round (half to even) or floor of x in one instruction where native_rounding() holds. On
    // CPUs, as LLVM's own intrinsics, which Halide widens to the vector: Halide 21's x86 table rounds
    // at most 8 floats at a time, so on AVX-512 its round() was two vroundps ymm plus an extract
    // and an insert, where llvm.roundeven.v16f32 is one vrndscaleps zmm (and the same instructions
    // as before on SSE4.1, AVX2 and AArch64).
    Expr native_round(Expr x, const std::string &op) const {
        if (get_target().has_gpu_feature()) return op == "floor" ? floor(x) : round(x);
        const std::string name = "llvm." + op + (x.type().bits() == 64 ? ".f64" : ".f32");
        return Internal::Call::make(x.type(), name, {x}, Internal::Call::PureExtern);
    }

    // numeric_limits<T>::max(), TF's "no constraint" scale. (Halide's Type::max() is +inf for
    // floating-point types, which would turn 0 * scale into NaN.) Halide 21's OpenCL C printer
    // rounds a double constant this large up to infinity, so there it is built from its bits
    // plus a run-time zero (num_bits >> 8; num_bits < 63) that cannot be folded back.
    Expr largest_finite(Type t) {
        if (get_target().has_feature(Target::OpenCL)) {
            const Expr bits = t.bits() == 32 ? Expr(INT32_C(0x7f7fffff)) : Expr(INT64_C(0x7fefffffffffffff));
            return reinterpret(t, bits + cast(Int(t.bits()), num_bits >> 8));
        }
        return t.bits() == 32 ? Expr(std::numeric_limits<float>::max()) : Expr(std::numeric_limits<double>::max());
    }

    Expr min_key(Expr value) {
        return select(is_nan(value), key_of_constant(value.type(), INFINITY), ordered_key(value));
    }
    Expr max_key(Expr value) {
        return select(is_nan(value), key_of_constant(value.type(), -INFINITY), ordered_key(value));
    }
    Tuple identity_keys() {
        const Type t = value_type;
        return Tuple(key_of_constant(t, INFINITY), key_of_constant(t, -INFINITY));
    }
    // One step of a key reduction: the keys `acc` (min, max) with those of an element `value`...
    Tuple keys_with_value(FuncRef acc, Expr value) {
        return Tuple(min(acc[0], min_key(value)), max(acc[1], max_key(value)));
    }
    // ... or with a partial result's keys.
    Tuple keys_with_keys(FuncRef acc, Expr min_key_part, Expr max_key_part) {
        return Tuple(min(acc[0], min_key_part), max(acc[1], max_key_part));
    }
    Tuple keys_with_keys(FuncRef acc, FuncRef part) { return keys_with_keys(acc, part[0], part[1]); }

    // The exact range of the values `value` (an expression of a reduction's RDom) feeds `acc` (a Func
    // of `vars`, defined here with that reduction as its update), as the
    // ordered keys of its min and max (NaN skipped, -0 below +0), in four quantities that each cost
    // one SIMD instruction per vector (x86: vminps, vmaxps, vpminsd, vpminud), where the keys of
    // every element cost eight: the float min and max, as selects that a NaN element loses, and the
    // signed and unsigned integer minimum of the bit patterns, which say whether -0 (the smallest
    // signed pattern) and +0 (the smallest unsigned one) occurred, as min/max cannot tell them
    // apart. Returns the keys as a Func to inline where the partial ranges are folded. Exact only
    // where SIMD compares subnormals as IEEE (not ARMv7 float32, see simd_flushes_subnormals).
    // For partial results held in registers (the row reductions, the last axis's chunks): the
    // other across-channels reductions keep their partial keys in memory, where four arrays cost
    // more than the instructions saved (tried, before the chunks: last axis, depth 1024, 2^20
    // float32 elements, 223 -> 500 us).
    Func keys_of_float_range(Func acc, Expr value, const std::vector<Var> &vars) {
        const Type t = value_type;
        const Type st = Int(t.bits()), ut = UInt(t.bits());
        acc(vars) = Tuple(cast(t, Expr(INFINITY)), cast(t, Expr(-INFINITY)), st.max(), ut.max());
        FuncRef a = acc(vars);
        acc(vars) = Tuple(select(value < a[0], value, a[0]), select(a[1] < value, value, a[1]),
                          min(a[2], reinterpret(st, value)), min(a[3], reinterpret(ut, value)));
        Func keys(acc.name() + "_keys");
        Expr lo = acc(vars)[0], hi = acc(vars)[1];
        Expr negative_zero_seen = acc(vars)[2] == st.min(), positive_zero_seen = acc(vars)[3] == ut.min();
        // lo (hi) is an element's value, or the identity: zero means a zero of either sign was the min.
        keys(vars) = Tuple(select(lo == 0 && negative_zero_seen, key_of_constant(t, -0.0), ordered_key(lo)),
                           select(hi == 0 && positive_zero_seen, key_of_constant(t, 0.0), ordered_key(hi)));
        return keys;
    }

    // Defines `keys` (of `vars`) as the range keys of `value`, an expression of a reduction's RDom:
    // through keys_of_float_range's four quantities in `range` where SIMD compares subnormals as
    // IEEE, else as every element's keys folded into `keys` itself. Returns the Func that holds the
    // reduction, the one to schedule.
    Func define_range_keys(Func &keys, Func range, Expr value, const std::vector<Var> &vars) {
        if (simd_flushes_subnormals(get_target(), value_type)) {
            keys(vars) = identity_keys();
            keys(vars) = keys_with_value(keys(vars), value);
            return keys;
        }
        keys = keys_of_float_range(range, value, vars);
        return range;
    }

    // Rows of >= kMinRowLength (CPU) / kGpuMinRowLength (GPU): each row is cut into segments
    // (the last one shifted back to end at the row's end; min/max do not mind an element read
    // twice), and `lanes` interleaved partial results per segment keep the loads dense and
    // vectorised (CPU) or coalesced across threads (GPU).
    Func range_keys_along_rows(Expr inner, Expr depth, Expr outer) {
        if (get_target().has_gpu_feature()) return range_keys_along_rows_gpu(inner, depth, outer);
        const Type t = value_type;
        const bool flushes = simd_flushes_subnormals(get_target(), t);
        const int lanes = lanes_along_rows();
        const int max_seg = task_elements(t);
        Expr seg_len = min(max_seg, (inner / lanes) * lanes);
        Expr num_segs = (inner + seg_len - 1) / seg_len;
        Var u("u"), item("item"), s("s");

        // One work item per segment: item = s + num_segs * (c + depth * o). A 1-D item keeps
        // each item's scratch (lanes x 2 keys) exact: no fused-variable bounds to over-allocate.
        Expr seg = item % num_segs, row = item / num_segs;
        Expr c_of = row % depth, o_of = row / depth;
        Func lane_keys("lane_keys");  // (u, item)
        RDom j(0, seg_len / lanes, "j");
        Expr start = min(seg * seg_len, inner - seg_len);
        Expr value = (*input)(start + j * lanes + u, c_of, o_of);
        Func lane_range("lane_range");  // (u, item); not where SIMD flushes subnormals
        define_range_keys(lane_keys, lane_range, value, {u, item});

        // The fold of a segment's lanes, a shuffle tree (one lane at a time, it cost more than a
        // short segment's elements), into seg_keys: a Func of its own, computed per item inside
        // the parallel loop over items, whose vectorised update needs atomic(). In seg_keys itself,
        // inside that loop, Halide made each of its stores a compare-and-swap loop (lock cmpxchg):
        // a third of the reduction's time for 256 rows of 256 elements.
        Func seg_fold("seg_fold");  // (item)
        RDom ru(0, lanes, "ru");
        seg_fold(item) = identity_keys();
        seg_fold(item) = keys_with_keys(seg_fold(item), lane_keys(ru, item));
        Func seg_keys("seg_keys");  // (item)
        seg_keys(item) = seg_fold(item);
        Func partials("partials");  // (s, c, o): the keys of segment s of row (c, o)
        partials(s, v.c, v.o) = seg_keys(s + num_segs * (v.c + depth * v.o));

        // Batches of at most kItemsPerBatch segments, so the segment keys never take more
        // scratch than one batch whatever the tensor's size. A batch is bs segments of each of bc
        // channels by bo outer rows (for each outer row, bc contiguous rows of memory; bs < num_segs
        // only for rows longer than kItemsPerBatch segments). In a batch, tasks of about
        // task_elements(t) elements (several short segments per task) run in parallel; then each segment's
        // keys are folded into its channel's.
        Expr bs = min(num_segs, kItemsPerBatch);
        Expr bc = clamp(kItemsPerBatch / bs, 1, depth);
        Expr bo = clamp(kItemsPerBatch / (bs * bc), 1, outer);
        Expr s_batches = (num_segs + bs - 1) / bs;
        Expr c_batches = (depth + bc - 1) / bc, o_batches = (outer + bo - 1) / bo;
        Func keys("range_keys");  // (c)
        RDom rb(0, bs, 0, bc, 0, bo, 0, s_batches, 0, c_batches, 0, o_batches, "rb");
        // Ragged last batches re-read the last segment / channel / row: folding one twice is harmless.
        Expr s_b = min(rb[3] * bs + rb.x, num_segs - 1);
        Expr c_b = min(rb[4] * bc + rb.y, depth - 1), o_b = min(rb[5] * bo + rb.z, outer - 1);
        keys(v.c) = identity_keys();
        keys(c_b) = keys_with_keys(keys(c_b), partials(s_b, c_b, o_b));
        keys.compute_root();

        Expr big = splits_over_threads(cast<int64_t>(inner) * depth * outer, depth, true, value_type);
        Var it("it");
        // One buffer of kItemsPerBatch for all batches (a batch's items are consecutive and
        // batches advance through memory): allocated once per call, whatever the tensor's size.
        seg_keys.store_root().compute_at(keys, rb[3]).fold_storage(item, kItemsPerBatch);
        seg_keys.specialize(big)
            .split(item, it, item, max(1, task_elements(t) / seg_len), TailStrategy::GuardWithIf)
            .parallel(it);
        seg_fold.compute_at(seg_keys, item);
        if (!flushes) seg_fold.update().atomic().vectorize(ru);
        schedule_lane_reduction(lane_keys, lane_range, u, j, LoopLevel(seg_fold, item));
        return keys;
    }

    // Partial results along a row: two registers per quantity where the float reduction runs
    // (keys_of_float_range; two chains hide its latency), else 64 bytes of keys.
    int lanes_along_rows() const {
        const Type t = value_type;
        if (simd_flushes_subnormals(get_target(), t)) return 64 / t.bytes();
        return std::max(64 / t.bytes(), 2 * get_target().natural_vector_size(t));
    }

    // The schedule of a reduction along rows into lanes_along_rows() partial results (u) by the
    // RVar j: lane_keys itself where SIMD flushes subnormals, else lane_range (the four
    // quantities, a register each) and the lanes' keys computed from it, both at `at`.
    void schedule_lane_reduction(Func lane_keys, Func lane_range, Var u, RVar j, LoopLevel at) {
        const Type t = value_type;
        const int lanes = lanes_along_rows();
        const int natural = get_target().natural_vector_size(Int(t.bits()));
        if (simd_flushes_subnormals(get_target(), t)) {
            lane_keys.compute_at(at).vectorize(u, natural);
            lane_keys.update().reorder(u, j).vectorize(u, natural);
            return;
        }
        const int natural_float = get_target().natural_vector_size(t);
        lane_range.compute_at(at);
        vectorize_in_registers(lane_range, u, lanes, natural_float, "uv");
        Stage update = lane_range.update();
        std::vector<VarOrRVar> inside = vectorize_in_registers(update, u, lanes, natural_float, "uv");
        inside.push_back(j);
        update.reorder(inside);
        lane_keys.compute_at(at).vectorize(u, natural);
    }

    // "small": a non-empty tensor-wide slice (depth and outer 1, assumed: this variant is built
    // without asserts, and src/ calls it for such views only), below the parallel threshold. One
    // pass of lanes along the row (its last vector shifted back to end at the row's end: min/max
    // do not mind an element read twice), then their fold. The segments and batches of
    // range_keys_along_rows cost a 1024-element call more than its elements (some 2,300
    // instructions of index arithmetic, integer divisions among them); here every buffer has a
    // constant size and lives on the stack, so nothing can fail at run time. A row shorter than
    // the lanes (a bias vector, say) is one pass in which lane u reads element min(u, inner - 1):
    // the columns kernel took 0.37 us for such a call, 0.08 us for 64 elements here.
    Func range_keys_small(Expr inner) {
        const int lanes = lanes_along_rows();
        Var u("u");
        RDom j(0, (inner + lanes - 1) / lanes, "j");
        Expr x = select(inner >= lanes, min(j * lanes, inner - lanes) + u, min(u, inner - 1));
        Expr value = (*input)(x, 0, 0);
        Func lane_keys("lane_keys"), lane_range("lane_range");  // (u)
        Func reads = define_range_keys(lane_keys, lane_range, value, {u});
        Func keys("range_keys");  // (c), c = 0 only
        RDom ru(0, lanes, "ru");
        keys(v.c) = identity_keys();
        keys(v.c) = keys_with_keys(keys(v.c), lane_keys(ru));
        keys.compute_root();
        keys.update().atomic().vectorize(ru);
        schedule_lane_reduction(lane_keys, lane_range, u, j, LoopLevel(keys, v.c));
        // Whole vectors (the select above folds away); after the schedule, which it copies.
        reads.update().specialize(inner >= lanes);
        input->dim(1).set_bounds(0, 1);  // the output has the input's shape (schedule_output)
        input->dim(2).set_bounds(0, 1);
        slice_ranges->dim(0).set_bounds(0, 1);
        return keys;
    }

    // GPU, rows of >= kGpuMinRowLength: one block per segment of a row. Thread u reads the
    // segment's elements u, u + kGpuThreads, ... (each load coalesced across the warp), kGpuUnroll
    // loads in flight: one load at a time per thread left the memory system idle (the reduction
    // ran at a fifth of the copy bandwidth). Indices past the segment's end read its last element
    // again (harmless for min/max), so there is no guard. Segments: kGpuThreads x kGpuUnroll to
    // kGpuMaxSegment elements (a shorter row is one segment), sized for about kGpuReduceBlocks
    // blocks so that small tensors fill the GPU too.
    Func range_keys_along_rows_gpu(Expr inner, Expr depth, Expr outer) {
        const int lanes = kGpuThreads;
        Expr total = cast<int64_t>(inner) * depth * outer;
        Expr wanted =
            cast<int32_t>(min(total / kGpuReduceBlocks, kGpuMaxSegment)) / (lanes * kGpuUnroll) * (lanes * kGpuUnroll);
        Expr seg_len = min(max(wanted, lanes * kGpuUnroll), (inner / lanes) * lanes);
        Expr num_segs = (inner + seg_len - 1) / seg_len;
        Var u("u"), item("item"), s("s");

        // item = s + num_segs * (c + depth * o), as on the CPU.
        Expr seg = item % num_segs, row = item / num_segs;
        Expr c_of = row % depth, o_of = row / depth;
        Expr start = min(seg * seg_len, inner - seg_len);
        Func lane_keys("lane_keys");  // (u, item)
        RDom j(0, kGpuUnroll, 0, (seg_len / lanes + kGpuUnroll - 1) / kGpuUnroll, "j");
        Expr offset = min((j.y * kGpuUnroll + j.x) * lanes + u, seg_len - 1);
        Expr value = (*input)(start + offset, c_of, o_of);
        lane_keys(u, item) = identity_keys();
        lane_keys(u, item) = keys_with_value(lane_keys(u, item), value);
        Func seg_keys = fold_threads_gpu(lane_keys, u, "seg_keys");
        lane_keys.update().unroll(j.x);

        Func partials("partials");  // (s, c, o): the keys of segment s of row (c, o)
        partials(s, v.c, v.o) = seg_keys(s + num_segs * (v.c + depth * v.o));
        return combine_partials_gpu(partials, num_segs, outer);
    }

    // Short rows (the last axis, or small inner): a block of outer rows per task, the
    // channels of each row in vector lanes (CPU) or threads (GPU); contiguous when inner == 1.
    Func range_keys_across_channels(Expr inner, Expr depth, Expr outer) {
        if (get_target().has_gpu_feature()) return range_keys_across_channels_gpu(inner, depth, outer);
        const Type t = value_type;
        Expr row_elems = max(1, depth * inner);
        Expr rows_per_block = max(1, kColumnsTaskElements / row_elems);
        // Many channels give enough parallel work on their own: fewer blocks, less scratch.
        Expr max_blocks = max(1, (16 * 1024) / max(depth, 1));
        Expr num_blocks = min((outer + rows_per_block - 1) / rows_per_block, max_blocks);
        rows_per_block = max(rows_per_block, (outer + num_blocks - 1) / max(num_blocks, 1));
        // Never more rows per block than there are rows (re-reading the last row is harmless
        // but would cost a whole block of reads for a tiny tensor).
        rows_per_block = clamp(rows_per_block, 1, max(outer, 1));
        Var b("b");

        Func block_keys("block_keys");  // (c, b)
        RDom r(0, inner, 0, rows_per_block, "r");
        // Rows past the end re-read the last row: harmless for min/max, and no branch.
        Expr row = clamp(b * rows_per_block + r.y, 0, max(outer - 1, 0));
        Expr value = (*input)(r.x, v.c, row);
        block_keys(v.c, b) = identity_keys();
        block_keys(v.c, b) = keys_with_value(block_keys(v.c, b), value);

        Var co("co"), ci("ci"), task("task");
        block_keys.compute_root();
        const int natural = get_target().natural_vector_size(Int(t.bits()));
        Expr big = splits_over_threads(cast<int64_t>(inner) * depth * outer, depth, true, value_type);
        block_keys.vectorize(v.c, natural, TailStrategy::GuardWithIf);
        // inner == 1 (the last axis) and inner == 2, 4 get their own branches: with the row
        // length a constant, a vector of channels is one dense load (plus a shuffle for 2 and 4:
        // Halide turns a load of stride 2 or 4 into that) instead of a gather.
        for (int row_length : {1, 2, 4, 0}) {
            Stage update = row_length ? block_keys.update().specialize(inner == row_length) : block_keys.update();
            // Many channels: chunks of 1024 channels are tasks of their own too.
            Stage wide = update.specialize(depth >= 2048);
            wide.split(v.c, co, ci, 1024, TailStrategy::GuardWithIf)
                .reorder(ci, r.x, r.y, co, b)
                .vectorize(ci, natural, TailStrategy::GuardWithIf)
                .fuse(co, b, task);
            wide.specialize(big).parallel(task);
            if (row_length > 1) wide.unroll(r.x);
            update.reorder(v.c, r.x, r.y, b).vectorize(v.c, natural, TailStrategy::GuardWithIf);
            if (row_length > 1) update.unroll(r.x);
            update.specialize(big).parallel(b);
        }

        // Rows of 8 (or a vector, if shorter) to kMinRowLength - 1 elements (first and middle
        // axes with many channels): across channels, every load above is a gather, which LLVM
        // scalarises here. Along the row instead: `lanes` partial keys per channel and block (a
        // power of two, up to a vector; the row's last vector shifted back to end at the row's
        // end, as min/max do not mind an element read twice), then a horizontal reduction per
        // channel, a shuffle tree. Shorter rows keep the gathers, which are cheaper there than
        // vectors of 2 or 4 lanes per channel.
        const int min_lanes = std::min(natural, 8);
        Expr along_rows = inner >= min_lanes;
        // Rows the path above takes get 1 lane (0 for empty rows): keeps the unused loads in bounds.
        Expr lanes = min(inner, 1);
        for (int l = min_lanes; l <= natural; l *= 2) lanes = select(inner >= l, l, lanes);
        Var u("u");
        Func lane_keys("lane_keys");  // (u, c, b)
        RDom rl(0, (inner + lanes - 1) / lanes, 0, rows_per_block, "rl");
        Expr lane_value =
            (*input)(min(rl.x * lanes, inner - lanes) + u, v.c, clamp(b * rows_per_block + rl.y, 0, max(outer - 1, 0)));
        lane_keys(u, v.c, b) = identity_keys();
        lane_keys(u, v.c, b) = keys_with_value(lane_keys(u, v.c, b), lane_value);
        Func row_keys("row_keys");  // (c, b)
        RDom ru(0, lanes, "ru");
        row_keys(v.c, b) = identity_keys();
        row_keys(v.c, b) = keys_with_keys(row_keys(v.c, b), lane_keys(ru, v.c, b));
        // Tasks of about kColumnsTaskElements: chunks of channels of a block of rows. row_keys is
        // computed per task, inside the parallel loop of a copy (row_keys_of_tasks): with that loop
        // on its own update, Halide made each of the fold's atomic() stores a compare-and-swap
        // loop (lock cmpxchg).
        Expr chunk = max(1, kColumnsTaskElements / max(1, inner * rows_per_block));
        Var ct("ct");
        Func row_keys_of_tasks("row_keys_of_tasks");  // (c, b)
        row_keys_of_tasks(v.c, b) = row_keys(v.c, b);
        row_keys_of_tasks.compute_root()
            .split(v.c, ct, v.c, chunk, TailStrategy::GuardWithIf)
            .fuse(ct, b, task)
            .vectorize(v.c, natural, TailStrategy::GuardWithIf);
        row_keys_of_tasks.specialize(big).parallel(task);
        row_keys.compute_at(row_keys_of_tasks, task).vectorize(v.c, natural, TailStrategy::GuardWithIf);
        lane_keys.compute_at(row_keys, v.c);
        for (int l = natural; l >= min_lanes; l /= 2) {
            row_keys.update().specialize(lanes == l).atomic().vectorize(ru);
            lane_keys.specialize(lanes == l).vectorize(u);
            lane_keys.update().specialize(lanes == l).reorder(u, rl.x, rl.y).vectorize(u);
        }

        // The last axis with a chunk (4 vectors) to 2047 channels, tensors of up to 4 MiB: with all
        // of a row's channels in block_keys' inner loop, each row loads and stores every key
        // vector, a chain through memory per vector (store-to-load forwarding; perf, depth 64: the
        // two stores took 43% of the kernel). Chunks of 4 vectors of channels instead, each over
        // all the block's rows, with the chunk's keys in registers (a constant-size buffer,
        // unrolled). 1 thread, float32: depth 64 2^16 13.2 -> 10.1 us, 2^20 214 -> 182 us; depth
        // 1024 2^16 12.7 -> 11.8 us, 2^20 315 -> 242 us. From memory the chunks read each row in
        // pieces (depth 1024: 256 bytes of every 4 KiB), which lost there (2^22 float32, depth 256
        // and 1024: 1.06-1.39x slower), hence the size limit.
        const int chunk_lanes = 4 * natural;
        Expr in_cache = cast<int64_t>(inner) * depth * outer * t.bytes() <= (4 << 20);
        Expr last_axis_chunks = inner == 1 && depth >= chunk_lanes && depth < 2048 && in_cache;
        Var cc("cc");
        Func chunk_keys("chunk_keys");               // (u, cc, b): channel cc * chunk_lanes + u of block b
        RDom rr(0, inner, 0, rows_per_block, "rr");  // inner is 1 where this is used (0: empty tensor)
        // Channels past the end re-read the last one; the max with the chunk's first channel
        // changes nothing but keeps the bounds of an empty tensor (depth 0) empty.
        Expr chunk_channel = max(min(cc * chunk_lanes + u, depth - 1), cc * chunk_lanes);
        Expr chunk_value = (*input)(rr.x, chunk_channel, clamp(b * rows_per_block + rr.y, 0, max(outer - 1, 0)));
        // The chunk's range as the four quantities of keys_of_float_range (16 registers on
        // AVX-512 and AVX2), where SIMD compares subnormals as IEEE: 4 instructions a vector where
        // each element's keys cost 8. 1 thread, float32, depth 64 / 256 / 1024 at 2^16: AVX-512
        // 0.87 / 0.90 / 0.93x the time, AVX2 0.70 / 0.71 / 0.74x, SSE4.1 0.87 (depth 64); 2^12
        // depth 64 0.79x; from 2^20 on within the noise; 4 rows of 1024 channels 1.02-1.06x.
        Func chunk_range("chunk_range");  // (u, cc, b)
        Func chunk_acc = define_range_keys(chunk_keys, chunk_range, chunk_value, {u, cc, b});
        Func last_axis_keys("last_axis_keys");  // (c, b)
        last_axis_keys(v.c, b) = chunk_keys(v.c % chunk_lanes, v.c / chunk_lanes, b);
        Var cl("cl");
        last_axis_keys.compute_root()
            .split(v.c, cc, cl, chunk_lanes, TailStrategy::GuardWithIf)
            .vectorize(cl, natural, TailStrategy::GuardWithIf);
        // Used for rows of one element only: a branch where the channels are dense vectors.
        last_axis_keys.specialize(inner == 1).specialize(big).parallel(b);
        chunk_acc.compute_at(last_axis_keys, cc).bound_storage(cc, 1);
        vectorize_in_registers(chunk_acc, u, chunk_lanes, natural, "cu");
        std::vector<VarOrRVar> in_chunk = vectorize_in_registers(chunk_acc.update(), u, chunk_lanes, natural, "cu");
        in_chunk.insert(in_chunk.end(), {rr.x, rr.y});
        chunk_acc.update().reorder(in_chunk);

        Func keys("range_keys");  // (c)
        RDom rb(0, num_blocks, "rb");
        auto part = [&](int i) {
            return select(along_rows, row_keys_of_tasks(v.c, rb)[i], last_axis_chunks, last_axis_keys(v.c, rb)[i],
                          block_keys(v.c, rb)[i]);
        };
        keys(v.c) = identity_keys();
        keys(v.c) = keys_with_keys(keys(v.c), part(0), part(1));
        keys.compute_root().vectorize(v.c, natural, TailStrategy::GuardWithIf);
        keys.update().vectorize(v.c, natural, TailStrategy::GuardWithIf);
        // One branch per call, so that only the partial keys it uses are computed.
        keys.update().specialize(along_rows);
        keys.update().specialize(last_axis_chunks);
        return keys;
    }

    // GPU, short rows: a thread per channel and block of rows, the threads of a block 128
    // consecutive channels (each load coalesced on the last axis), kGpuUnroll rows in flight
    // per thread; then combine_partials_gpu folds each channel's blocks.
    Func range_keys_across_channels_gpu(Expr inner, Expr depth, Expr outer) {
        // About kGpuReduceThreads threads (two waves on an H100/H200), so that the partial keys,
        // depth x blocks of rows, stay a small fraction of the traffic (the combining block
        // reads them a column at a time); whole groups of kGpuUnroll rows (rows past the end
        // re-read the last row: harmless for min/max).
        Expr row_blocks = clamp(kGpuReduceThreads / max(depth, 1), 1, max(outer, 1));
        Expr rows_per_block = (outer + row_blocks - 1) / row_blocks;
        rows_per_block = (rows_per_block + kGpuUnroll - 1) / kGpuUnroll * kGpuUnroll;
        Expr num_blocks = (outer + rows_per_block - 1) / rows_per_block;
        Var b("b"), co("co"), ci("ci"), s("s");

        Func block_keys("block_keys");  // (c, b)
        RDom r(0, kGpuUnroll, 0, inner, 0, rows_per_block / kGpuUnroll, "r");
        Expr row = min(b * rows_per_block + r.z * kGpuUnroll + r.x, outer - 1);
        Expr value = (*input)(r.y, v.c, row);
        block_keys(v.c, b) = identity_keys();
        block_keys(v.c, b) = keys_with_value(block_keys(v.c, b), value);
        // Computed per thread inside one kernel (at the root, its two stages were two launches).
        Func block_out("block_keys_out");
        block_out(v.c, b) = block_keys(v.c, b);
        block_out.compute_root().gpu_tile(v.c, b, co, ci, 128, 1, TailStrategy::GuardWithIf);
        block_keys.compute_at(block_out, co);
        block_keys.update().unroll(r.x);

        Func per_channel("per_channel");  // (s, c, o) view of the partials for the combiner
        per_channel(s, v.c, v.o) = block_out(v.c, s);
        return combine_partials_gpu(per_channel, num_blocks, 1);
    }

    // GPU: combines partial keys (s, c, o), s < num_parts, o < outer, into one per channel.
    // One block per channel; kGpuThreads threads stride over the flattened (s, o) partials,
    // kGpuUnroll at a time (past the end: the last partial again), then fold_threads_gpu.
    Func combine_partials_gpu(Func partials, Expr num_parts, Expr outer) {
        Var u("u");
        Expr items = num_parts * outer;
        Func thread_keys("thread_keys");  // (u, c)
        const int stride = kGpuThreads * kGpuUnroll;
        RDom j(0, kGpuUnroll, 0, (items + stride - 1) / stride, "j");
        Expr item = min((j.y * kGpuUnroll + j.x) * kGpuThreads + u, items - 1);
        FuncRef part = partials(item % num_parts, v.c, item / num_parts);
        thread_keys(u, v.c) = identity_keys();
        thread_keys(u, v.c) = keys_with_keys(thread_keys(u, v.c), part);
        // Computed in the slice_ranges kernel, one block per channel: a launch fewer.
        Func keys = fold_threads_gpu(thread_keys, u, "range_keys", true);
        thread_keys.update().unroll(j.x);
        return keys;
    }

    // GPU: folds the keys of kGpuThreads threads, per_thread(u, i), into one per i, in one block
    // per i, computing per_thread there too (its threads are u). A tree of two levels: 32 threads
    // fold 8 keys each, then one thread folds those 32 (one thread folding all 256 kept the block
    // resident for longer than its loads took). The blocks are a kernel of their own, or with
    // `in_slice_ranges` those of slice_ranges over c (one block per channel, see generate()).
    Func fold_threads_gpu(Func per_thread, Var u, const std::string &name, bool in_slice_ranges = false) {
        static_assert(kGpuThreads % 32 == 0, "whole warps");
        Var w("w"), i("i");
        Func warp_keys(name + "_warps");  // (w, i)
        RDom r(0, kGpuThreads / 32, name + "_r");
        warp_keys(w, i) = identity_keys();
        warp_keys(w, i) = keys_with_keys(warp_keys(w, i), per_thread(w + 32 * r, i));
        Func total(name + "_total");  // (i)
        RDom rw(0, 32, name + "_rw");
        total(i) = identity_keys();
        total(i) = keys_with_keys(total(i), warp_keys(rw, i));
        Func result = total;
        LoopLevel at(Func(*slice_ranges), v.c);
        if (!in_slice_ranges) {
            // Everything inside the block of a wrapper: one kernel (a Func computed at the root
            // runs each of its stages as a kernel of its own).
            result = Func(name);
            result(i) = total(i);
            result.compute_root().gpu_blocks(i);
            at = LoopLevel(result, i);
        }
        total.compute_at(at);
        warp_keys.compute_at(at).gpu_threads(w);
        warp_keys.update().gpu_threads(w);
        per_thread.compute_at(at).gpu_threads(u);
        per_thread.update().gpu_threads(u);
        return result;
    }
};

}  // namespace qdq_gen

HALIDE_REGISTER_GENERATOR(qdq_gen::QuantizeDequantizeForward, qdq_forward)
