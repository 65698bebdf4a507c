// The public entry points: validate exactly as TensorFlow does (spec section 3) plus qdq's
// hardening (section 9), then hand a 3-D view [outer, depth, inner] to a Halide kernel.
// Nothing is written to any output before every check has passed.
#include "qdq/qdq.h"
#include "qdq_runtime_hooks.h"

#include "qdq_kernel_contract.h"
#include "qdq_kernels.h"  // generated: every kernel variant

#include <HalideRuntime.h>
#if QDQ_HAS_CUDA
#include <HalideRuntimeCuda.h>
#endif

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <string>

namespace qdq {
namespace {

// Returns the Status of `expr` if it is an error.
#define QDQ_RETURN_IF_ERROR(expr)                                               \
    do {                                                                        \
        if (Status qdq_status_ = (expr); !qdq_status_.ok()) return qdq_status_; \
    } while (0)

// Numbers in messages print like absl::StrCat (six significant digits, "nan", "inf").
template <typename T>
std::string num(T v) {
    if (std::isnan(v)) return "nan";
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%g", static_cast<double>(v));
    return buf;
}

template <typename T>
bool overlap_partially(const T *a, const T *b, int64_t n) {
    if (n <= 0 || a == b) return false;
    auto pa = reinterpret_cast<uintptr_t>(a), pb = reinterpret_cast<uintptr_t>(b);
    const auto bytes = static_cast<uintptr_t>(n) * sizeof(T);
    return pa < pb + bytes && pb < pa + bytes;
}

template <typename T>
Status check_view(const TensorView<T> &t, const char *name, int64_t *count) {
    if (!t.shape.valid()) {
        return Status::InvalidArgument(std::string(name) + " has rank above " + std::to_string(Shape::kMaxRank));
    }
    // num_elements() is 0 for any shape with a zero dimension, negative ones included.
    for (int i = 0; i < t.shape.rank(); ++i) {
        if (t.shape[i] < 0) {
            return Status::InvalidArgument(std::string(name) + " has a negative dimension: " + t.shape.DebugString());
        }
    }
    *count = t.shape.num_elements();
    if (*count < 0)
        return Status::InvalidArgument(std::string(name) + " has too many elements: " + t.shape.DebugString());
    if (*count > 0 && t.data == nullptr) return Status::InvalidArgument(std::string(name) + " data is null");
    return Status::Ok();
}

// Memory for the duration of a call: on the stack up to StackBytes, else a block of the
// runtime's scratch cache (warm pages, no allocation per call). 64-byte aligned either way;
// data() is null only when the cache is out of memory.
template <size_t StackBytes>
class CallScratch {
public:
    explicit CallScratch(size_t bytes)
        : heap_(bytes > StackBytes ? runtime::scratch_malloc(bytes) : nullptr),
          data_(bytes > StackBytes ? heap_ : stack_) {}
    ~CallScratch() { runtime::scratch_free(heap_); }
    CallScratch(const CallScratch &) = delete;
    CallScratch &operator=(const CallScratch &) = delete;
    void *data() const { return data_; }

private:
    alignas(64) unsigned char stack_[StackBytes];
    void *heap_;
    void *data_;
};

// The kernels' view of a tensor: Halide dims (x = inner, c = depth, o = outer).
struct View3 {
    int64_t inner = 1, depth = 1, outer = 1;
};

View3 collapse(const Shape &shape, std::optional<int> axis) {
    View3 v;
    if (!axis || shape[*axis] == 1) {
        // Per-tensor; a single slice along an axis is the same arithmetic, and the per-tensor
        // view lets the kernels split the work freely.
        v.inner = shape.num_elements();
        return v;
    }
    for (int i = 0; i < *axis; ++i) v.outer *= shape[i];
    v.depth = shape[*axis];
    for (int i = *axis + 1; i < shape.rank(); ++i) v.inner *= shape[i];
    return v;
}

constexpr int64_t kMaxExtent = std::numeric_limits<int32_t>::max();

// Halide buffer descriptors live on the stack: no allocation per call. Every field is set once,
// by hand: value-initialising them (`halide_buffer_t buf{}`, default-constructed dimensions) made
// GCC 12 zero each with a `rep stosl` before the real values went in, eight per gradient call,
// whose start-up cost was some 40% of a one-element call's time.
template <typename T>
halide_buffer_t host_buffer(const T *data, int dimensions, halide_dimension_t *dim) {
    halide_buffer_t buf;
    buf.device = 0;
    buf.device_interface = nullptr;
    buf.host = reinterpret_cast<uint8_t *>(const_cast<T *>(data));
    buf.flags = 0;
    buf.type = halide_type_of<T>();
    buf.dimensions = dimensions;
    buf.dim = dim;
    buf.padding = nullptr;
    return buf;
}

template <typename T>
struct HalideBuffer3 {
    halide_dimension_t dims[3];
    halide_buffer_t buf;

    // Dense row-major, as the kernels require (view_fits keeps these within int32).
    HalideBuffer3(const T *data, const View3 &v)
        : dims{halide_dimension_t(0, static_cast<int32_t>(v.inner), 1),
               halide_dimension_t(0, static_cast<int32_t>(v.depth), static_cast<int32_t>(v.inner)),
               halide_dimension_t(0, static_cast<int32_t>(v.outer), static_cast<int32_t>(v.inner * v.depth))},
          buf(host_buffer(data, 3, dims)) {}
    HalideBuffer3(const HalideBuffer3 &) = delete;  // buf points into dims
    HalideBuffer3 &operator=(const HalideBuffer3 &) = delete;
};

template <typename T>
struct HalideBuffer1 {
    halide_dimension_t dim;
    halide_buffer_t buf;

    HalideBuffer1(const T *data, int64_t n) : dim(0, static_cast<int32_t>(n), 1), buf(host_buffer(data, 1, &dim)) {}
    HalideBuffer1(const HalideBuffer1 &) = delete;
    HalideBuffer1 &operator=(const HalideBuffer1 &) = delete;
};

Status view_fits(const View3 &v) {
    const bool fits =
        v.inner <= kMaxExtent && v.depth <= kMaxExtent && v.outer <= kMaxExtent && v.inner * v.depth <= kMaxExtent;
    if (fits) return Status::Ok();
    return Status::InvalidArgument(
        "tensor too large for qdq: each slice (and each row of slices) must hold at most 2^31-1 elements");
}

// Normalises an API axis (Python-like: negative counts from the end).
Status normalise_axis(std::optional<int> axis, int rank, bool gradient, std::optional<int> *out) {
    *out = std::nullopt;
    if (!axis) return Status::Ok();
    const int a = *axis;
    if (a >= rank) {
        if (gradient) {
            return Status::InvalidArgument("Axis should be -1 or 0 or a positive value less than " +
                                           std::to_string(rank) + "but given axis value was " + std::to_string(a));
        }
        // TF computes axis + 1 in int32 (so INT32_MAX prints as -2147483648).
        const auto wanted_rank = static_cast<int32_t>(static_cast<uint32_t>(a) + 1u);
        return Status::InvalidArgument("Shape must be at least rank " + std::to_string(wanted_rank) + " but is rank " +
                                       std::to_string(rank));
    }
    if (a < -rank) {
        // TF's wording, with the API's lower bound (-rank) in place of the raw op's -1.
        return Status::InvalidArgument("Axis must be at least " + std::to_string(-rank) + ". Found " +
                                       std::to_string(a));
    }
    *out = a < 0 ? a + rank : a;
    return Status::Ok();
}

// Dispatch tables: the kernels of each instruction-set variant, best variant first. The
// generated C functions take untyped halide_buffer_t, so float and double kernels share one type.
using GivenKernel = int (*)(const void *user_context, int32_t num_bits, bool signed_input, bool narrow_range,
                            int32_t round_mode, halide_buffer_t *input, halide_buffer_t *input_min,
                            halide_buffer_t *input_max, halide_buffer_t *output, halide_buffer_t *slice_ranges);
using ComputedKernel = int (*)(const void *user_context, int32_t num_bits, bool signed_input, bool narrow_range,
                               int32_t round_mode, halide_buffer_t *input, halide_buffer_t *output,
                               halide_buffer_t *slice_ranges);
using GradientKernel = int (*)(const void *user_context, halide_buffer_t *gradients, halide_buffer_t *input,
                               halide_buffer_t *input_min, halide_buffer_t *input_max, halide_buffer_t *input_backprop);
// Devices, range given: the elements from a table of per-slice values (slice_ranges' layout).
using TableKernel = int (*)(const void *user_context, int32_t num_bits, bool signed_input, bool narrow_range,
                            int32_t round_mode, halide_buffer_t *input, halide_buffer_t *slice_table,
                            halide_buffer_t *output);

struct KernelSet {
    GivenKernel given;
    ComputedKernel rows, columns;
    GradientKernel gradient;
    // CPU variants: the same given and gradient kernels without Halide's run-time checks of their
    // arguments, for small calls (see unchecked()); null on devices.
    GivenKernel given_unchecked = nullptr;
    GradientKernel gradient_unchecked = nullptr;
    // CPU: the range-computed forward of small per-tensor calls (see small_computed()); null on devices.
    ComputedKernel small = nullptr;
};

#define QDQ_KERNEL_SET(T, isa)                                                                        \
    {                                                                                                 \
        qdq_forward_given_##T##_##isa, qdq_forward_rows_##T##_##isa, qdq_forward_columns_##T##_##isa, \
            qdq_gradient_##T##_##isa                                                                  \
    }
#define QDQ_CPU_KERNEL_SET(T, isa)                                                                                 \
    {                                                                                                              \
        qdq_forward_given_##T##_##isa, qdq_forward_rows_##T##_##isa, qdq_forward_columns_##T##_##isa,              \
            qdq_gradient_##T##_##isa, qdq_forward_given_unchecked_##T##_##isa, qdq_gradient_unchecked_##T##_##isa, \
            qdq_forward_small_##T##_##isa                                                                          \
    }
#define QDQ_F32_SET(isa, level) QDQ_CPU_KERNEL_SET(f32, isa),
#define QDQ_F64_SET(isa, level) QDQ_CPU_KERNEL_SET(f64, isa),
#define QDQ_ISA_LEVEL(isa, level) level,
constexpr KernelSet kF32Kernels[] = {QDQ_FOR_EACH_ISA(QDQ_F32_SET)};
constexpr KernelSet kF64Kernels[] = {QDQ_FOR_EACH_ISA(QDQ_F64_SET)};
constexpr int kVariantLevels[] = {QDQ_FOR_EACH_ISA(QDQ_ISA_LEVEL)};  // qdq::Isa of each, best first
constexpr int kNumVariants = static_cast<int>(sizeof(kF32Kernels) / sizeof(kF32Kernels[0]));
#if QDQ_HAS_CUDA
constexpr KernelSet kF32Cuda = QDQ_KERNEL_SET(f32, cuda);
constexpr KernelSet kF64Cuda = QDQ_KERNEL_SET(f64, cuda);
#endif
#if QDQ_HAS_OPENCL
constexpr KernelSet kF32OpenCL = QDQ_KERNEL_SET(f32, opencl);
constexpr KernelSet kF64OpenCL = QDQ_KERNEL_SET(f64, opencl);
#endif

// The host variant for ISA level `level` (qdq::Isa; larger = older).
template <typename T>
const KernelSet &host_kernels(int level) {
    constexpr bool f32 = std::is_same_v<T, float>;
    int index = kNumVariants - 1;  // the most basic variant, if none is as old as asked
    for (int i = 0; i < kNumVariants; ++i) {
        if (kVariantLevels[i] >= level) {
            index = i;
            break;
        }
    }
    if constexpr (f32) {
        return kF32Kernels[index];
    } else {
        return kF64Kernels[index];
    }
}

// The kernels to run now: on the host, the best variant the CPU has, no better than
// qdq::set_max_isa allows; else the device's. (Availability is checked before.)
template <typename T>
const KernelSet &kernels(DeviceKind kind) {
    constexpr bool f32 = std::is_same_v<T, float>;
#if QDQ_HAS_CUDA
    if (kind == DeviceKind::kCuda) {
        if constexpr (f32)
            return kF32Cuda;
        else
            return kF64Cuda;
    }
#endif
#if QDQ_HAS_OPENCL
    if (kind == DeviceKind::kOpenCL) {
        if constexpr (f32)
            return kF32OpenCL;
        else
            return kF64OpenCL;
    }
#endif
    (void)kind;
    (void)f32;  // builds without device kernels
    return host_kernels<T>(std::max(runtime::isa_cap(), runtime::best_isa_level()));
}

// The device's table kernel (range given), or null on the host.
template <typename T>
TableKernel table_kernel(DeviceKind kind) {
    constexpr bool f32 = std::is_same_v<T, float>;
#if QDQ_HAS_CUDA
    if (kind == DeviceKind::kCuda) return f32 ? qdq_forward_table_f32_cuda : qdq_forward_table_f64_cuda;
#endif
#if QDQ_HAS_OPENCL
    if (kind == DeviceKind::kOpenCL) return f32 ? qdq_forward_table_f32_opencl : qdq_forward_table_f64_opencl;
#endif
    (void)kind;
    (void)f32;
    return nullptr;
}

// The bytes of a call's distinct tensors of `elements` elements of T (an output aliasing an input
// counts once): CallContext::working_set_bytes, by which the thread pool places the tasks.
template <typename T>
int64_t distinct_tensor_bytes(int64_t elements, std::initializer_list<const void *> tensors) {
    int64_t distinct = 0;
    for (auto it = tensors.begin(); it != tensors.end(); ++it) {
        distinct += std::find(tensors.begin(), it, *it) == it;
    }
    return distinct * elements * static_cast<int64_t>(sizeof(T));
}

// Whether a call runs the kernels built without Halide's run-time checks (no_asserts): host calls
// that run on one thread (qdq_contract::runs_on_one_thread). Those checks verify the buffers'
// types, shapes and strides, which src/ builds itself from views it has validated, and the results
// of allocations and parallel loops, of which the range-given forward and the gradient have none
// on one thread. In small calls they cost as much as the elements (some 75 ns of a 170 ns kernel
// at 1024 elements).
template <typename T>
bool unchecked(DeviceKind kind, const View3 &view, bool forward) {
    return kind == DeviceKind::kHost &&
           qdq_contract::runs_on_one_thread(view.inner * view.depth * view.outer, view.depth, forward, sizeof(T));
}

// Whether a range-computed call runs the "small" kernel: on the host, one non-empty tensor-wide
// slice on one thread (the kernel assumes all three, unchecked).
template <typename T>
bool small_computed(DeviceKind kind, const View3 &view) {
    return unchecked<T>(kind, view, true) && view.depth == 1 && view.outer == 1 && view.inner > 0;
}

// The range-given forward kernel to run. On a CPU that executes 512-bit operations as two 256-bit
// halves (AMD Zen 4), the AVX2 build is as fast as the AVX-512 build in cache and faster from
// memory out of place (1 thread, 2^16-2^22: 4-36%; in place AVX-512 is 3-13% ahead), for rows of 16
// elements and more. (First measured when Halide's 512-bit round was two 256-bit ones plus an
// extract and an insert; rechecked with the one-instruction round, see native_round in the forward
// generator.) Shorter rows (the last axis among them) keep AVX-512: its schedules there measured
// as fast or faster.
// Only without a set_max_isa cap, so that every variant stays testable. Small calls take that
// variant's unchecked build.
template <typename T>
GivenKernel given_kernel(const KernelSet &set, DeviceKind kind, const View3 &view) {
    constexpr int kAvx2 = static_cast<int>(Isa::kAvx2);
    const KernelSet &chosen =
        kind == DeviceKind::kHost && runtime::isa_cap() == 0 && runtime::splits_512_bit_vectors() && view.inner >= 16
            ? host_kernels<T>(kAvx2)
            : set;
    return unchecked<T>(kind, view, true) ? chosen.given_unchecked : chosen.given;
}

Status check_device(const Device &device) {
    std::string why;
    switch (device.kind) {
        case DeviceKind::kHost:
            return Status::Ok();
        case DeviceKind::kCuda:
            if (runtime::cuda_available(&why)) return Status::Ok();
            return Status::Unavailable("CUDA is not available: " + why);
        case DeviceKind::kOpenCL:
            if (runtime::opencl_available(&why)) return Status::Ok();
            return Status::Unavailable("OpenCL is not available: " + why);
    }
    return Status::InvalidArgument("unknown device kind " + std::to_string(static_cast<int>(device.kind)));
}

// The Status of a kernel's return code; the message is the first error Halide reported.
Status kernel_status(int rc, const runtime::CallContext &ctx, DeviceKind kind) {
    if (rc == 0) return Status::Ok();
    const std::string what = ctx.error.empty() ? std::string("no message") : ctx.error;
    if (kind != DeviceKind::kHost && what.find("unavailable") != std::string::npos) {
        return Status::Unavailable(what);
    }
    return Status::Internal("Halide kernel failed (" + std::to_string(rc) + "): " + what);
}

// Runs a host kernel, `run(ctx)`, with a context that collects Halide's error message. On the host
// the kernels read and write the caller's memory: nothing to stage or wrap (a DeviceCall would cost
// a small call as much as a tenth of its kernel).
template <typename Run>
Status run_on_host(const Run &run) {
    runtime::CallContext ctx;
    return kernel_status(run(&ctx), ctx, DeviceKind::kHost);
}

// The Halide side of one call on a device: wraps the caller's device pointers, moves the
// small host-memory tables (ranges in, slice ranges out) to and from the device, and releases
// what it allocated.
// - CUDA: everything is ordered on the caller's stream. All of a call's tables share one block
//   of qdq's stream-ordered pool, the input tables go up in one async copy, and the block is
//   freed with cuMemFreeAsync; nothing waits for the GPU unless the caller asked for the slice
//   ranges. (Halide's own staging copies on the legacy default stream, which a framework's
//   non-blocking stream does not wait for.) Each driver call costs the calling thread a few
//   microseconds, so a call makes as few as it can: a block, a copy, a free.
// - OpenCL: Halide's staging (host-dirty buffers, copied back after the kernel).
// Host calls need none of this and call their kernels directly.
class DeviceCall {
public:
    explicit DeviceCall(const Device &device) : device_(device) {
        ctx.cuda_context = device.cuda_context;
        ctx.cuda_stream = device.cuda_stream;
    }
    DeviceCall(const DeviceCall &) = delete;
    DeviceCall &operator=(const DeviceCall &) = delete;
    ~DeviceCall() { release(); }

    // A tensor: in the caller's device memory on CUDA, in host memory elsewhere (OpenCL
    // stages it through Halide).
    Status tensor(halide_buffer_t *buf, bool is_output) {
#if QDQ_HAS_CUDA
        if (device_.kind == DeviceKind::kCuda) return wrap(buf, reinterpret_cast<uint64_t>(buf->host));
#endif
        return host_table(buf, is_output);
    }

    // A buffer in host memory (the ranges, the slice ranges; every tensor on OpenCL). An output
    // comes back to host memory only when `wanted`. On CUDA it gets its device memory in ready().
    Status host_table(halide_buffer_t *buf, bool is_output, bool wanted = true) {
#if QDQ_HAS_CUDA
        if (device_.kind == DeviceKind::kCuda) {
            tables_[num_tables_++] = Table{buf, buf->host, buf->size_in_bytes(), 0, is_output, is_output && wanted};
            return Status::Ok();
        }
#endif
        if (is_output) {
            if (wanted) to_host_[num_to_host_++] = buf;
        } else {
            buf->set_host_dirty(true);
        }
        staged_[num_staged_++] = buf;
        return Status::Ok();
    }

    // Before the kernel. CUDA: one pool block for the tables, inputs first, each at a 256-byte
    // offset; the inputs go up in one copy from a host image of that layout.
    Status ready() {
#if QDQ_HAS_CUDA
        if (device_.kind != DeviceKind::kCuda || num_tables_ == 0) return Status::Ok();
        auto align = [](size_t bytes) { return (bytes + 255) & ~size_t(255); };
        size_t end = 0, inputs_end = 0;
        for (bool outputs : {false, true}) {
            for (int i = 0; i < num_tables_; ++i) {
                if (tables_[i].is_output != outputs) continue;
                tables_[i].offset = end;
                end += align(tables_[i].bytes);
            }
            if (!outputs) inputs_end = end;
        }
        if (runtime::cuda_table_alloc(&ctx, end, &block_) != 0) return error(-1);
        if (inputs_end > 0) {
            CallScratch<1024> image_memory(inputs_end);
            auto *image = static_cast<uint8_t *>(image_memory.data());
            if (!image) return Status::Internal("OOM when staging " + std::to_string(inputs_end) + " bytes of ranges");
            for (int i = 0; i < num_tables_; ++i) {
                if (!tables_[i].is_output) std::memcpy(image + tables_[i].offset, tables_[i].host, tables_[i].bytes);
            }
            if (runtime::cuda_copy_to_device(&ctx, block_, image, inputs_end) != 0) return error(-1);
        }
        for (int i = 0; i < num_tables_; ++i) QDQ_RETURN_IF_ERROR(wrap(tables_[i].buf, block_ + tables_[i].offset));
#endif
        return Status::Ok();
    }

    // After the kernel: the wanted outputs come back to host memory.
    Status finish(int rc) {
#if QDQ_HAS_CUDA
        for (int i = 0; rc == 0 && i < num_tables_; ++i) {
            const Table &t = tables_[i];
            if (t.copy_back) rc = runtime::cuda_copy_to_host(&ctx, t.host, block_ + t.offset, t.bytes);
        }
#endif
        for (int i = 0; rc == 0 && i < num_to_host_; ++i) {
            if (to_host_[i]->device_dirty()) rc = halide_copy_to_host(&ctx, to_host_[i]);
        }
        release();
        return rc == 0 ? Status::Ok() : error(rc);
    }

    runtime::CallContext ctx;

private:
    Status error(int rc) const {
        return kernel_status(rc, ctx, device_.kind);
    }

#if QDQ_HAS_CUDA
    Status wrap(halide_buffer_t *buf, uint64_t device) {
        buf->host = nullptr;
        buf->flags = 0;  // neither dirty: the data is on the device (a host kernel may have set host_dirty)
        if (halide_cuda_wrap_device_ptr(&ctx, buf, device) != 0)
            return Status::Internal("CUDA: could not wrap a device pointer");
        wrapped_[num_wrapped_++] = buf;
        return Status::Ok();
    }
#endif

    void release() {
#if QDQ_HAS_CUDA
        for (int i = 0; i < num_wrapped_; ++i) halide_cuda_detach_device_ptr(&ctx, wrapped_[i]);
        // Stream-ordered: the block returns to the pool once the work queued before has run.
        if (block_) runtime::cuda_table_free(&ctx, block_);
        block_ = 0;
        num_tables_ = 0;
#endif
        // Staging buffers go back to Halide's allocation cache (halide_reuse_device_allocations),
        // so the next call may refill them: wait for this call's kernels first.
        if (num_staged_ > 0) halide_device_sync(&ctx, staged_[0]);
        for (int i = 0; i < num_staged_; ++i) halide_device_free(&ctx, staged_[i]);
        num_wrapped_ = num_staged_ = num_to_host_ = 0;
    }

    struct Table {
        halide_buffer_t *buf;
        uint8_t *host;         // the caller's host memory
        size_t bytes, offset;  // offset: in the call's block
        bool is_output, copy_back;
    };

    // The arrays are filled up to their counts and never read past them: left uninitialised.
    Device device_;
    static constexpr int kMaxBuffers = 8;  // a kernel has at most 5 buffers
    halide_buffer_t *wrapped_[kMaxBuffers], *staged_[kMaxBuffers], *to_host_[kMaxBuffers];
    int num_wrapped_ = 0, num_staged_ = 0, num_to_host_ = 0;
    Table tables_[kMaxBuffers];
    int num_tables_ = 0;
    uint64_t block_ = 0;  // CUDA: the call's block of the pool
};

// Runs a kernel, `run(ctx)`, on `device`: on the host directly (run_on_host); on a device through a
// DeviceCall, once `stage(call)` has wrapped the call's tensors and tables.
template <typename Stage, typename Run>
Status run_kernel(const Device &device, const Stage &stage, const Run &run) {
    if (device.kind == DeviceKind::kHost) return run_on_host(run);
    DeviceCall call(device);
    QDQ_RETURN_IF_ERROR(stage(call));
    QDQ_RETURN_IF_ERROR(call.ready());
    return call.finish(run(&call.ctx));
}

template <typename T>
Status check_slice_view(const TensorView<T> &t, const char *name, int64_t depth) {
    if (t.data == nullptr && depth > 0) return Status::Ok();  // not wanted
    int64_t n = 0;
    QDQ_RETURN_IF_ERROR(check_view(t, name, &n));
    if (n != depth) {
        return Status::InvalidArgument(std::string("ranges_used.") + name + " must hold " + std::to_string(depth) +
                                       " elements, has shape " + t.shape.DebugString());
    }
    return Status::Ok();
}

template <typename T>
Status forward(const ConstTensorView<T> &input, const ConstTensorView<T> &input_min,
               const ConstTensorView<T> &input_max, const TensorView<T> &output, const QuantizeOptions &options,
               SliceRanges<T> *ranges_used, const Device &device) {
    runtime::install_hooks();
    if (Status d = check_device(device); !d.ok()) return d;

    // TF's constructor checks.
    const int bits_limit = options.signed_input ? 62 : 63;
    if (!(options.num_bits > 0 && options.num_bits < bits_limit)) {
        return Status::InvalidArgument("num_bits is out of range: " + std::to_string(options.num_bits) +
                                       " with signed_input_ " + (options.signed_input ? "1" : "0"));
    }
    if (options.round_mode != RoundMode::HALF_TO_EVEN && options.round_mode != RoundMode::HALF_UP) {
        return Status::InvalidArgument("Round mode string must be 'HALF_UP' or 'HALF_TO_EVEN', is '" +
                                       std::to_string(static_cast<int>(options.round_mode)) + "'");
    }

    int64_t n = 0;
    QDQ_RETURN_IF_ERROR(check_view(input, "input", &n));
    std::optional<int> axis;
    QDQ_RETURN_IF_ERROR(normalise_axis(options.axis, input.shape.rank(), false, &axis));
    const View3 view = collapse(input.shape, axis);

    if (options.range_given) {
        int64_t nmin = 0, nmax = 0;
        QDQ_RETURN_IF_ERROR(check_view(input_min, "input_min", &nmin));
        QDQ_RETURN_IF_ERROR(check_view(input_max, "input_max", &nmax));
        if (!axis) {
            // TF 2.21 rejects a non-scalar range here ("input_min must be a scalar."); older TF
            // CHECK-failed (aborted) unless it held one element.
            if (input_min.shape.rank() != 0) {
                return Status::InvalidArgument("input_min must be a scalar. Got shape " +
                                               input_min.shape.DebugString() + " with axis unspecified");
            }
            if (input_max.shape.rank() != 0) {
                return Status::InvalidArgument("input_max must be a scalar. Got shape " +
                                               input_max.shape.DebugString() + " with axis unspecified");
            }
            const T lo = input_min.data[0], hi = input_max.data[0];
            if (!(lo <= hi))
                return Status::InvalidArgument("Invalid range: input_min " + num(lo) + " > input_max " + num(hi));
        } else {
            const std::string dim = std::to_string(*axis);
            for (auto [t, name] : {std::pair{&input_min, "input_min"}, std::pair{&input_max, "input_max"}}) {
                if (t->shape.rank() == 1 && t->shape[0] != view.depth) {
                    return Status::InvalidArgument(std::string(name) + "_tensor has incorrect size, was " +
                                                   std::to_string(t->shape[0]) + " expected " +
                                                   std::to_string(view.depth) + " to match dim " + dim +
                                                   " of the input " + t->shape.DebugString());
                }
                if (t->shape.rank() != 1) {
                    return Status::InvalidArgument(std::string(name) + "_tensor must be rank 1 with " +
                                                   std::to_string(view.depth) + " elements to match dim " + dim +
                                                   " of the input, got shape " + t->shape.DebugString());
                }
            }
            // A branch-free test of all slices first (the compiler vectorises it: with thousands
            // of slices this check would otherwise cost as much as the kernel; an OR of 32-bit
            // lanes, where a 64-bit count cost widening shuffles and half the lanes: 1024 slices,
            // 15% of a 2^12-element call); the message is built only for a failing slice.
            uint32_t bad = 0;
            for (int64_t c = 0; c < view.depth; ++c) bad |= !(input_min.data[c] <= input_max.data[c]);
            for (int64_t c = 0; bad != 0 && c < view.depth; ++c) {
                const T lo = input_min.data[c], hi = input_max.data[c];
                if (!(lo <= hi)) {
                    return Status::InvalidArgument("Invalid range: input_min " + num(lo) + " > input_max " + num(hi) +
                                                   " at index " + std::to_string(c) + " of axis " + dim);
                }
            }
        }
    }

    int64_t nout = 0;
    QDQ_RETURN_IF_ERROR(check_view(output, "output", &nout));
    if (output.shape != input.shape) {
        return Status::InvalidArgument("output shape " + output.shape.DebugString() + " does not match input shape " +
                                       input.shape.DebugString());
    }
    if (overlap_partially<T>(input.data, output.data, n)) {
        return Status::InvalidArgument("output must either be the input itself or not overlap it");
    }
    if (ranges_used) {
        for (auto [t, name] :
             {std::pair{&ranges_used->min, "min"}, std::pair{&ranges_used->max, "max"},
              std::pair{&ranges_used->scale, "scale"}, std::pair{&ranges_used->inverse_scale, "inverse_scale"}}) {
            QDQ_RETURN_IF_ERROR(check_slice_view(*t, name, view.depth));
        }
    }
    QDQ_RETURN_IF_ERROR(view_fits(view));
    // An empty tensor: nothing to compute or write, as in TF, except the SliceRanges asked for
    // (the ranges of empty slices), which the host kernel computes.
    const bool empty = n == 0;
    if (empty && !ranges_used) return Status::Ok();
    const Device where = empty ? Device::Host() : device;
    T dummy[1] = {T(0)};  // a null host pointer would make Halide run a bounds query

    // Per-slice results: (c, k), k = min, max, scale, inverse scale; up to 64 slices on the stack.
    // The kernels read this buffer back as whole vectors and Halide treats it as its own
    // allocation, aligned to a vector: ARMv7's aligned NEON loads fault otherwise (CallScratch
    // aligns to 64 bytes).
    CallScratch<4 * 64 * sizeof(T)> slice_memory(static_cast<size_t>(4 * view.depth) * sizeof(T));
    T *slices = static_cast<T *>(slice_memory.data());
    if (!slices) {
        return Status::Internal("OOM when allocating the per-slice ranges of " + std::to_string(view.depth) +
                                " slices");
    }
    halide_dimension_t slice_dims[2] = {halide_dimension_t(0, static_cast<int32_t>(view.depth), 1),
                                        halide_dimension_t(0, 4, static_cast<int32_t>(view.depth))};
    halide_buffer_t slice_buf = host_buffer(slices, 2, slice_dims);

    // Empty: the kernel sees rows of no elements (outer 1, inner 0), so it reads nothing.
    View3 kview = view;
    if (empty) {
        kview.inner = 0;
        kview.outer = 1;
    }
    HalideBuffer3<T> in_buf(empty ? dummy : input.data, kview), out_buf(empty ? dummy : output.data, kview);
    HalideBuffer1<T> min_buf(input_min.data ? input_min.data : dummy, view.depth),
        max_buf(input_max.data ? input_max.data : dummy, view.depth);
    const int round_mode = static_cast<int>(options.round_mode);

    // Devices, range given: the slice values are computed here, by the host kernel on rows of no
    // elements (as for an empty tensor), and go up as a table with the call's other tables. A call
    // is then one kernel launch (each costs the calling thread some 4 us), and SliceRanges need
    // no wait for the device.
    const TableKernel table = options.range_given ? table_kernel<T>(where.kind) : nullptr;
    if (table) {
        const View3 no_elements{0, view.depth, 1};
        HalideBuffer3<T> none_in(dummy, no_elements), none_out(dummy, no_elements);
        QDQ_RETURN_IF_ERROR(run_on_host([&](runtime::CallContext *ctx) {
            return kernels<T>(DeviceKind::kHost)
                .given(ctx, options.num_bits, options.signed_input, options.narrow_range, round_mode, &none_in.buf,
                       &min_buf.buf, &max_buf.buf, &none_out.buf, &slice_buf);
        }));
    }

    const KernelSet &set = kernels<T>(where.kind);
    const int64_t working_set =
        distinct_tensor_bytes<T>(view.inner * view.depth * view.outer, {input.data, output.data});
    auto run = [&](runtime::CallContext *ctx) {
        ctx->working_set_bytes = working_set;
        if (table) {
            return table(ctx, options.num_bits, options.signed_input, options.narrow_range, round_mode, &in_buf.buf,
                         &slice_buf, &out_buf.buf);
        }
        if (options.range_given) {
            return given_kernel<T>(set, where.kind, kview)(ctx, options.num_bits, options.signed_input,
                                                           options.narrow_range, round_mode, &in_buf.buf, &min_buf.buf,
                                                           &max_buf.buf, &out_buf.buf, &slice_buf);
        }
        const int64_t min_row =
            where.kind == DeviceKind::kHost ? qdq_contract::kMinRowLength : qdq_contract::kGpuMinRowLength;
        auto kernel = small_computed<T>(where.kind, kview) ? set.small
                      : kview.inner >= min_row             ? set.rows
                                                           : set.columns;
        return kernel(ctx, options.num_bits, options.signed_input, options.narrow_range, round_mode, &in_buf.buf,
                      &out_buf.buf, &slice_buf);
    };
    auto stage = [&](DeviceCall &call) -> Status {
        QDQ_RETURN_IF_ERROR(call.tensor(&in_buf.buf, false));
        QDQ_RETURN_IF_ERROR(call.tensor(&out_buf.buf, true));
        if (table) return call.host_table(&slice_buf, false);
        QDQ_RETURN_IF_ERROR(call.host_table(&slice_buf, true, ranges_used != nullptr));
        if (options.range_given) {
            QDQ_RETURN_IF_ERROR(call.host_table(&min_buf.buf, false));
            QDQ_RETURN_IF_ERROR(call.host_table(&max_buf.buf, false));
        }
        return Status::Ok();
    };
    QDQ_RETURN_IF_ERROR(run_kernel(where, stage, run));

    if (ranges_used) {
        TensorView<T> *dest[4] = {&ranges_used->min, &ranges_used->max, &ranges_used->scale,
                                  &ranges_used->inverse_scale};
        for (int k = 0; k < 4; ++k) {
            if (dest[k]->data) std::copy_n(slices + k * view.depth, view.depth, dest[k]->data);
        }
    }
    return Status::Ok();
}

template <typename T>
Status gradient(const ConstTensorView<T> &gradients, const ConstTensorView<T> &input,
                const ConstTensorView<T> &input_min, const ConstTensorView<T> &input_max, std::optional<int> api_axis,
                const TensorView<T> &input_backprop, const TensorView<T> &input_min_backprop,
                const TensorView<T> &input_max_backprop, const Device &device) {
    runtime::install_hooks();
    if (Status d = check_device(device); !d.ok()) return d;

    int64_t n = 0, ng = 0, nmin = 0, nmax = 0;
    QDQ_RETURN_IF_ERROR(check_view(input, "input", &n));
    std::optional<int> axis;
    QDQ_RETURN_IF_ERROR(normalise_axis(api_axis, input.shape.rank(), true, &axis));
    QDQ_RETURN_IF_ERROR(check_view(gradients, "gradients", &ng));
    if (gradients.shape != input.shape) return Status::InvalidArgument("gradient and input must be the same size");
    QDQ_RETURN_IF_ERROR(check_view(input_min, "input_min", &nmin));
    QDQ_RETURN_IF_ERROR(check_view(input_max, "input_max", &nmax));
    if (input_min.shape.rank() > 1) {
        return Status::InvalidArgument("Input min tensor must have dimension 0 or 1. Received " +
                                       std::to_string(input_min.shape.rank()) + ".");
    }
    if (input_max.shape.rank() > 1) {
        return Status::InvalidArgument("Input max tensor must have dimension 0 or 1. Received " +
                                       std::to_string(input_max.shape.rank()) + ".");
    }
    const View3 view = collapse(input.shape, axis);
    if (axis) {
        for (auto [t, name] : {std::pair{&input_min, "min"}, std::pair{&input_max, "max"}}) {
            if (t->shape.rank() != 1) {
                // TF reads dim_size(0) of a scalar here; qdq rejects it.
                return Status::InvalidArgument(std::string(name) + " has incorrect size, expected " +
                                               std::to_string(view.depth) + " was a scalar");
            }
            if (t->shape[0] != view.depth) {
                return Status::InvalidArgument(std::string(name) + " has incorrect size, expected " +
                                               std::to_string(view.depth) + " was " + std::to_string(t->shape[0]));
            }
        }
    } else {
        if (input_min.shape.rank() != 0)
            return Status::InvalidArgument("input_min must be a scalar if axis is unspecified");
        if (input_max.shape.rank() != 0)
            return Status::InvalidArgument("input_max must be a scalar if axis is unspecified");
    }

    int64_t nout = 0;
    QDQ_RETURN_IF_ERROR(check_view(input_backprop, "input_backprop", &nout));
    if (input_backprop.shape != input.shape) {
        return Status::InvalidArgument("input_backprop shape " + input_backprop.shape.DebugString() +
                                       " does not match input shape " + input.shape.DebugString());
    }
    if (overlap_partially<T>(input_backprop.data, gradients.data, n) ||
        overlap_partially<T>(input_backprop.data, input.data, n)) {
        return Status::InvalidArgument(
            "input_backprop must either be the gradients or the input itself, or not overlap them");
    }
    for (auto [t, name] :
         {std::pair{&input_min_backprop, "input_min_backprop"}, std::pair{&input_max_backprop, "input_max_backprop"}}) {
        if (t->data == nullptr && t->shape.num_elements() != 0) continue;  // omitted
        int64_t nb = 0;
        QDQ_RETURN_IF_ERROR(check_view(*t, name, &nb));
        if (t->shape != input_min.shape) {
            return Status::InvalidArgument(std::string(name) + " shape " + t->shape.DebugString() +
                                           " does not match input_min shape " + input_min.shape.DebugString());
        }
    }
    QDQ_RETURN_IF_ERROR(view_fits(view));

    if (n > 0) {
        HalideBuffer3<T> g_buf(gradients.data, view), in_buf(input.data, view), out_buf(input_backprop.data, view);
        HalideBuffer1<T> min_buf(input_min.data, view.depth), max_buf(input_max.data, view.depth);
        const KernelSet &set = kernels<T>(device.kind);
        const GradientKernel kernel = unchecked<T>(device.kind, view, false) ? set.gradient_unchecked : set.gradient;
        const int64_t working_set = distinct_tensor_bytes<T>(n, {gradients.data, input.data, input_backprop.data});
        auto run = [&](runtime::CallContext *ctx) {
            ctx->working_set_bytes = working_set;
            return kernel(ctx, &g_buf.buf, &in_buf.buf, &min_buf.buf, &max_buf.buf, &out_buf.buf);
        };
        auto stage = [&](DeviceCall &call) -> Status {
            QDQ_RETURN_IF_ERROR(call.tensor(&g_buf.buf, false));
            QDQ_RETURN_IF_ERROR(call.tensor(&in_buf.buf, false));
            QDQ_RETURN_IF_ERROR(call.tensor(&out_buf.buf, true));
            QDQ_RETURN_IF_ERROR(call.host_table(&min_buf.buf, false));
            return call.host_table(&max_buf.buf, false);
        };
        QDQ_RETURN_IF_ERROR(run_kernel(device, stage, run));
    }
    // No learned-range gradient in TF: both are zeros shaped like input_min.
    if (input_min_backprop.data) std::fill_n(input_min_backprop.data, nmin, T(0));
    if (input_max_backprop.data) std::fill_n(input_max_backprop.data, nmin, T(0));
    return Status::Ok();
}

}  // namespace

bool device_available(DeviceKind kind, std::string *why) {
    Device d;
    d.kind = kind;
    Status s = check_device(d);
    if (!s.ok() && why) *why = s.message();
    return s.ok();
}

Status quantize_and_dequantize_v2(const ConstTensorView<float> &input, const ConstTensorView<float> &input_min,
                                  const ConstTensorView<float> &input_max, const TensorView<float> &output,
                                  const QuantizeOptions &options, SliceRanges<float> *ranges_used,
                                  const Device &device) {
    return forward<float>(input, input_min, input_max, output, options, ranges_used, device);
}

Status quantize_and_dequantize_v2(const ConstTensorView<double> &input, const ConstTensorView<double> &input_min,
                                  const ConstTensorView<double> &input_max, const TensorView<double> &output,
                                  const QuantizeOptions &options, SliceRanges<double> *ranges_used,
                                  const Device &device) {
    return forward<double>(input, input_min, input_max, output, options, ranges_used, device);
}

Status quantize_and_dequantize_v2_grad(const ConstTensorView<float> &gradients, const ConstTensorView<float> &input,
                                       const ConstTensorView<float> &input_min, const ConstTensorView<float> &input_max,
                                       std::optional<int> axis, const TensorView<float> &input_backprop,
                                       const TensorView<float> &input_min_backprop,
                                       const TensorView<float> &input_max_backprop, const Device &device) {
    return gradient<float>(gradients, input, input_min, input_max, axis, input_backprop, input_min_backprop,
                           input_max_backprop, device);
}

Status quantize_and_dequantize_v2_grad(const ConstTensorView<double> &gradients, const ConstTensorView<double> &input,
                                       const ConstTensorView<double> &input_min,
                                       const ConstTensorView<double> &input_max, std::optional<int> axis,
                                       const TensorView<double> &input_backprop,
                                       const TensorView<double> &input_min_backprop,
                                       const TensorView<double> &input_max_backprop, const Device &device) {
    return gradient<double>(gradients, input, input_min, input_max, axis, input_backprop, input_min_backprop,
                            input_max_backprop, device);
}

}  // namespace qdq
