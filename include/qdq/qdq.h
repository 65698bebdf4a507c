// qdq: bit-exact TensorFlow QuantizeAndDequantizeV4 / V4Grad kernels.
//
// The public API. No Halide type appears here: tensors are plain dense row-major views.
// Semantics are TensorFlow's (tf.quantization.quantize_and_dequantize_v2 and
// tf.raw_ops.QuantizeAndDequantizeV4Grad), bit for bit; see README.md for the few places
// where qdq is stricter than TensorFlow.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

namespace qdq {

// ---------------------------------------------------------------------------------------------
// Status: ok, or an error code with a message worded like TensorFlow's.
enum class StatusCode { kOk = 0, kInvalidArgument = 3, kInternal = 13, kUnavailable = 14 };

class Status {
public:
    Status() = default;  // ok
    Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

    static Status Ok() { return {}; }
    static Status InvalidArgument(std::string msg) { return {StatusCode::kInvalidArgument, std::move(msg)}; }
    static Status Internal(std::string msg) { return {StatusCode::kInternal, std::move(msg)}; }
    static Status Unavailable(std::string msg) { return {StatusCode::kUnavailable, std::move(msg)}; }

    bool ok() const { return code_ == StatusCode::kOk; }
    StatusCode code() const { return code_; }
    const std::string &message() const { return message_; }
    // "INVALID_ARGUMENT: <message>", as TensorFlow prints a Status.
    std::string ToString() const;

private:
    StatusCode code_ = StatusCode::kOk;
    std::string message_;
};

// ---------------------------------------------------------------------------------------------
// Shape: up to kMaxRank int64 dimensions, stored inline (no allocation).
class Shape {
public:
    static constexpr int kMaxRank = 32;

    Shape() = default;  // rank 0: a scalar
    Shape(std::initializer_list<int64_t> dims) : Shape(dims.begin(), static_cast<int>(dims.size())) {}
    Shape(const int64_t *dims, int rank) {
        if (rank < 0 || rank > kMaxRank) {
            valid_ = false;
            return;
        }
        set(dims, rank);
    }
    // Copies move the dimensions in use only: a view is built on every call, and copying or
    // clearing all kMaxRank slots cost more than a small tensor's kernel.
    Shape(const Shape &other) : valid_(other.valid_) { set(other.dims_, other.rank_); }
    Shape &operator=(const Shape &other) {
        valid_ = other.valid_;
        set(other.dims_, other.rank_);
        return *this;
    }

    int rank() const { return rank_; }
    int64_t dim(int i) const { return dims_[i]; }
    int64_t operator[](int i) const { return dim(i); }
    const int64_t *data() const { return dims_; }
    // Product of the dimensions (1 for a scalar). Negative dimensions make the shape invalid;
    // the kernels reject such shapes before reading this.
    int64_t num_elements() const;
    bool valid() const { return valid_; }  // false if constructed with rank > kMaxRank
    std::string DebugString() const;       // "[2,3]", like TensorShape::DebugString

    friend bool operator==(const Shape &a, const Shape &b);
    friend bool operator!=(const Shape &a, const Shape &b) { return !(a == b); }

private:
    void set(const int64_t *dims, int rank) {
        rank_ = rank;
        for (int i = 0; i < rank; ++i) dims_[i] = dims[i];
    }

    int64_t dims_[kMaxRank];  // the first rank_ are set
    int rank_ = 0;
    bool valid_ = true;
};

// A non-owning view of a dense, row-major tensor. `data` may be null only if the tensor is
// empty (or, for an optional output, to say "not wanted").
template <typename T>
struct TensorView {
    T *data = nullptr;
    Shape shape;

    TensorView() = default;
    TensorView(T *d, const Shape &s) : data(d), shape(s) {}  // one copy of the shape, not two
    // A const view can be made from a mutable one.
    template <typename U, typename = std::enable_if_t<std::is_same<const U, T>::value>>
    TensorView(const TensorView<U> &other) : data(other.data), shape(other.shape) {}
};

template <typename T>
using ConstTensorView = TensorView<const T>;

// ---------------------------------------------------------------------------------------------
// Options of QuantizeAndDequantizeV4, with TensorFlow's names and defaults.
enum class RoundMode { HALF_TO_EVEN = 0, HALF_UP = 1 };

struct QuantizeOptions {
    bool signed_input = true;
    int num_bits = 8;  // 1..61 when signed_input, 1..62 otherwise
    bool range_given = false;
    RoundMode round_mode = RoundMode::HALF_TO_EVEN;
    bool narrow_range = false;
    // No axis: one range for the whole tensor. Otherwise one range per slice along `axis`;
    // a negative axis counts from the end; outside [-rank, rank) is InvalidArgument.
    std::optional<int> axis;
};

// The range each slice actually used, after TensorFlow's adjustment, so that integer
// quantisation parameters can be exported: q = round(clamp(x) * scale), x' = q * inverse_scale.
// Each view must have `depth` elements (1 per-tensor, shape[axis] per-axis); a view with a null
// `data` is not wanted. For an empty tensor they hold the ranges of empty slices (from the
// given range, or min +inf / max -inf when computed).
template <typename T>
struct SliceRanges {
    TensorView<T> min;            // adjusted min_range
    TensorView<T> max;            // adjusted max_range
    TensorView<T> scale;          // scale factor
    TensorView<T> inverse_scale;  // the step between quantised levels
};

// ---------------------------------------------------------------------------------------------
// Where a call runs. The caller chooses per call; qdq never guesses from a pointer.
enum class DeviceKind { kHost = 0, kCuda = 1, kOpenCL = 2 };

struct Device {
    DeviceKind kind = DeviceKind::kHost;
    // kCuda: `input`, `output`, `gradients` and `input_backprop` are CUDA device pointers
    // (CUdeviceptr values) in `cuda_context` (a CUcontext; null: the context current on the
    // calling thread, else device 0's primary context, the one the CUDA runtime API and
    // frameworks such as PyTorch use). Kernels run on `cuda_stream` (a CUstream; null: the
    // legacy default stream). As in TensorFlow (HostMemory), input_min/input_max, ranges_used
    // and the min/max backprops stay in host memory. A CUDA call is asynchronous, like a kernel
    // launch: it returns once its work is queued on the stream (the host ranges already copied,
    // so their memory may be reused at once), and the outputs are there when the stream has run
    // it. With ranges_used and the range computed, the call waits for the stream.
    void *cuda_context = nullptr;
    void *cuda_stream = nullptr;

    static Device Host() { return {}; }
    static Device Cuda(void *context = nullptr, void *stream = nullptr) {
        Device d;
        d.kind = DeviceKind::kCuda;
        d.cuda_context = context;
        d.cuda_stream = stream;
        return d;
    }
    // kOpenCL: every tensor is in host memory; qdq runs the GPU kernels on the first OpenCL
    // device (PoCL on a CPU is enough) and copies through it. For testing GPU schedules.
    static Device OpenCL() {
        Device d;
        d.kind = DeviceKind::kOpenCL;
        return d;
    }
};

// Whether calls on `kind` can run here (driver found, a device present); if not, why.
bool device_available(DeviceKind kind, std::string *why = nullptr);

// ---------------------------------------------------------------------------------------------
// Forward: tf.quantization.quantize_and_dequantize_v2 (the QuantizeAndDequantizeV4 op).
// input_min / input_max are read only when options.range_given (a scalar per-tensor,
// a rank-1 tensor of length shape[axis] per-axis). `output` must have input's shape and may be
// the same memory as `input`. On error nothing is written to any output.
Status quantize_and_dequantize_v2(const ConstTensorView<float> &input, const ConstTensorView<float> &input_min,
                                  const ConstTensorView<float> &input_max, const TensorView<float> &output,
                                  const QuantizeOptions &options = {}, SliceRanges<float> *ranges_used = nullptr,
                                  const Device &device = {});
Status quantize_and_dequantize_v2(const ConstTensorView<double> &input, const ConstTensorView<double> &input_min,
                                  const ConstTensorView<double> &input_max, const TensorView<double> &output,
                                  const QuantizeOptions &options = {}, SliceRanges<double> *ranges_used = nullptr,
                                  const Device &device = {});

// Gradient: tf.raw_ops.QuantizeAndDequantizeV4Grad. input_backprop = gradients where
// input_min <= input <= input_max (the raw given range, bounds inclusive), 0 elsewhere.
// input_min / input_max: a scalar per-tensor, a rank-1 tensor of length shape[axis] per-axis.
// The min/max backprops (zeros, shaped like input_min) may be omitted (data == nullptr).
// input_backprop may be the same memory as gradients or input.
Status quantize_and_dequantize_v2_grad(const ConstTensorView<float> &gradients, const ConstTensorView<float> &input,
                                       const ConstTensorView<float> &input_min, const ConstTensorView<float> &input_max,
                                       std::optional<int> axis, const TensorView<float> &input_backprop,
                                       const TensorView<float> &input_min_backprop = {},
                                       const TensorView<float> &input_max_backprop = {}, const Device &device = {});
Status quantize_and_dequantize_v2_grad(const ConstTensorView<double> &gradients, const ConstTensorView<double> &input,
                                       const ConstTensorView<double> &input_min,
                                       const ConstTensorView<double> &input_max, std::optional<int> axis,
                                       const TensorView<double> &input_backprop,
                                       const TensorView<double> &input_min_backprop = {},
                                       const TensorView<double> &input_max_backprop = {}, const Device &device = {});

// ---------------------------------------------------------------------------------------------
// Runtime controls.

// The most threads one call's kernels may run on at once (0 = one per core, the default), the
// calling thread included; 1 runs them on the calling thread; never more than the cores this
// process may run on. Takes effect at the next call. qdq's worker threads are started on first
// use; after a call's parallel loop they spin for up to 50 us, so that a call following soon
// starts at once, then sleep. A call made while another thread's call is using the workers
// runs on its calling thread.
void set_num_threads(int n);

// Host scratch memory (per-slice ranges, the range reduction's partial results) is kept
// between calls, up to 64 MiB, so that repeated calls do not fault fresh pages in; the
// kernels never allocate in proportion to the tensor, only to its number of slices. On CUDA,
// a call's small tables (ranges, slice ranges) come from qdq's stream-ordered memory pool,
// which likewise keeps up to 64 MiB. This returns the cached blocks to the system, except the
// few small ones (up to 512 KiB) each other thread that called qdq keeps until it ends.
void release_cached_memory();

// CPU code paths, best first. An x86-64 build carries the four x86 ones, an ARM build (arm-64 or
// arm-32) the NEON one. The library picks the best one compiled in that this CPU supports at each
// call; `set_max_isa` caps that choice (for tests and comparisons; a cap a build has no code path
// for selects its most basic one).
enum class Isa { kBest = 0, kAvx512 = 1, kAvx2 = 2, kSse41 = 3, kBaseline = 4, kNeon = 5 };
void set_max_isa(Isa isa);
Isa max_isa();
const char *isa_name(Isa isa);
// The most capable code path this CPU can run (ignoring set_max_isa).
Isa best_supported_isa();

const char *version();

}  // namespace qdq
